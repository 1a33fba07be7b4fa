//! Service kinds (design §4): one file per kind with its audience, required action, minimal
//! request and response classifier.
//!
//! Everything here is pure. Per cell the runner does:
//! [`check_endpoint`] (no token leaves for a host that fails it) → [`build_request`] →
//! send it with `Authorization: {authorization_value(..)}`, never following redirects →
//! [`classify`] the status, headers and first 64 KiB of the body.

use serde::Serialize;

mod classify;
mod content_safety;
mod document_intelligence;
pub mod endpoint;
mod foundry;
mod language;
mod model_inference;
mod openai;
mod search;
mod speech;
mod translator;
mod vision;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServiceKind {
    Openai,
    Speech,
    Vision,
    Language,
    Translator,
    DocumentIntelligence,
    ContentSafety,
    Search,
    /// A Foundry project's data plane (`https://ACCOUNT.services.ai.azure.com/api/projects/P`).
    FoundryProject,
    /// Foundry Models (`/models` on the services host): non-OpenAI model inference.
    ModelInference,
}

impl ServiceKind {
    pub const ALL: [ServiceKind; 10] = [
        ServiceKind::Openai,
        ServiceKind::Speech,
        ServiceKind::Vision,
        ServiceKind::Language,
        ServiceKind::Translator,
        ServiceKind::DocumentIntelligence,
        ServiceKind::ContentSafety,
        ServiceKind::Search,
        ServiceKind::FoundryProject,
        ServiceKind::ModelInference,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceKind::Openai => "openai",
            ServiceKind::Speech => "speech",
            ServiceKind::Vision => "vision",
            ServiceKind::Language => "language",
            ServiceKind::Translator => "translator",
            ServiceKind::DocumentIntelligence => "document-intelligence",
            ServiceKind::ContentSafety => "content-safety",
            ServiceKind::Search => "search",
            ServiceKind::FoundryProject => "foundry-project",
            ServiceKind::ModelInference => "model-inference",
        }
    }
    pub fn parse(text: &str) -> Option<ServiceKind> {
        ServiceKind::ALL.into_iter().find(|k| k.as_str() == text)
    }
}

impl std::fmt::Display for ServiceKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One configured service to probe (`--service NAME=KIND@URL[,resource=ID][,region=R]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Target {
    pub name: String,
    pub kind: ServiceKind,
    pub endpoint: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Search only: an index whose documents to count.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<String>,
    /// The token audience to probe with, when it is not the one the kind prefers: to replay
    /// what an application requests (`audience=https://cognitiveservices.azure.com` on a
    /// Foundry project shows the 401 such an application gets).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audience: Option<String>,
}

impl Target {
    /// The audience this target's probe requests a token for: the configured one, else the
    /// kind's preferred one.
    pub fn audience(&self, cloud: &ServiceCloud) -> String {
        match self.audience.as_deref().map(str::trim) {
            Some(a) if !a.is_empty() => a.trim_end_matches('/').to_string(),
            _ => self.kind.audience(cloud).to_string(),
        }
    }

    /// The scope to request (`{audience}/.default`).
    pub fn scope(&self, cloud: &ServiceCloud) -> String {
        format!("{}/.default", self.audience(cloud))
    }

    /// Does the v1 OpenAI API (`/openai/v1/...`, no dated api-version) serve this target's
    /// probe? It does when the endpoint says so (`…/openai/v1`) and on the Foundry services
    /// host, where the dated routes answered 404 in 2026 [O] (reference/foundry.md §1.4).
    pub fn uses_openai_v1(&self) -> bool {
        self.kind == ServiceKind::Openai && openai::is_v1_endpoint(&self.endpoint)
    }
}

// ---------------------------------------------------------------------------------------------
// What each kind needs: audience, action, api-version, request, and response classification.
// ---------------------------------------------------------------------------------------------

pub use crate::arm::actions::ActionKind;
pub use classify::{CallOutcome, Response, classify, request_id};
pub use endpoint::{EndpointShape, ServiceCloud, check_endpoint, endpoint_shape};

use crate::diagnosis::Finding;

/// The operation a probe needs permission for, as RBAC names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct RequiredAction {
    pub action: &'static str,
    pub kind: ActionKind,
}

impl ServiceKind {
    /// The token audience (resource) this kind's data plane accepts, without `/.default`.
    pub fn audience(self, cloud: &ServiceCloud) -> &'static str {
        match self {
            ServiceKind::Search => cloud.search_audience,
            ServiceKind::FoundryProject => cloud.foundry_audience,
            _ => cloud.cognitive_audience,
        }
    }

    /// Every audience the surface this target probes accepts, the preferred one first
    /// (reference/foundry.md §2.1). Project routes take only `https://ai.azure.com` [D+O];
    /// account-level OpenAI v1 and Foundry Models take either [O: acceptance has drifted over
    /// 2025-2026, so a denial names what was sent and what the service said, not this list].
    pub fn accepted_audiences(self, target: &Target, cloud: &ServiceCloud) -> Vec<&'static str> {
        match self {
            ServiceKind::Search => vec![cloud.search_audience],
            ServiceKind::FoundryProject => vec![cloud.foundry_audience],
            ServiceKind::ModelInference => vec![cloud.cognitive_audience, cloud.foundry_audience],
            ServiceKind::Openai if target.uses_openai_v1() => {
                vec![cloud.cognitive_audience, cloud.foundry_audience]
            }
            _ => vec![cloud.cognitive_audience],
        }
    }

    /// The scope to request a token for (`{audience}/.default`).
    pub fn scope(self, cloud: &ServiceCloud) -> String {
        format!("{}/.default", self.audience(cloud))
    }

    /// The action the minimal call needs. Search is the odd one: listing indexes is a
    /// control-plane Action, counting documents a data action (reference/data-actions.md §1).
    pub fn required_action(self, target: &Target) -> RequiredAction {
        match self {
            ServiceKind::Openai => openai::REQUIRED,
            ServiceKind::Speech => speech::REQUIRED,
            ServiceKind::Vision => vision::REQUIRED,
            ServiceKind::Language => language::REQUIRED,
            ServiceKind::Translator => translator::REQUIRED,
            ServiceKind::DocumentIntelligence => document_intelligence::REQUIRED,
            ServiceKind::ContentSafety => content_safety::REQUIRED,
            ServiceKind::Search => search::required(target),
            ServiceKind::FoundryProject => foundry::REQUIRED,
            ServiceKind::ModelInference => model_inference::REQUIRED,
        }
    }

    /// The pinned API version of `target`'s probe (the OpenAI kind has two: dated and v1).
    pub fn api_version_for(self, target: &Target) -> &'static str {
        if target.uses_openai_v1() {
            return openai::V1_API_VERSION;
        }
        self.api_version()
    }

    /// The pinned API version of the probe call. Behaviour differs between versions (Document
    /// Intelligence 2024-11-30 vs 2023-07-31 is a known case), so every report names it.
    pub fn api_version(self) -> &'static str {
        match self {
            ServiceKind::Openai => openai::API_VERSION,
            ServiceKind::Speech => speech::API_VERSION,
            ServiceKind::Vision => vision::API_VERSION,
            ServiceKind::Language => language::API_VERSION,
            ServiceKind::Translator => translator::API_VERSION,
            ServiceKind::DocumentIntelligence => document_intelligence::API_VERSION,
            ServiceKind::ContentSafety => content_safety::API_VERSION,
            ServiceKind::Search => search::API_VERSION,
            ServiceKind::FoundryProject => foundry::API_VERSION,
            ServiceKind::ModelInference => model_inference::API_VERSION,
        }
    }

    /// The probe call in words (`GET /openai/models`), for messages.
    pub fn operation(self, target: &Target) -> &'static str {
        match self {
            ServiceKind::Openai if target.uses_openai_v1() => openai::V1_OPERATION,
            ServiceKind::Openai => openai::OPERATION,
            ServiceKind::Speech => speech::OPERATION,
            ServiceKind::Vision => vision::OPERATION,
            ServiceKind::Language => language::OPERATION,
            ServiceKind::Translator => translator::OPERATION,
            ServiceKind::DocumentIntelligence => document_intelligence::OPERATION,
            ServiceKind::ContentSafety => content_safety::OPERATION,
            ServiceKind::Search => search::operation(target),
            ServiceKind::FoundryProject => foundry::OPERATION,
            ServiceKind::ModelInference => model_inference::OPERATION,
        }
    }

    /// Built-in roles that grant [`ServiceKind::required_action`], narrowest first, for remedies.
    pub fn granting_roles(self, target: &Target) -> &'static str {
        match self {
            ServiceKind::Openai => "Cognitive Services OpenAI User (or Cognitive Services User)",
            ServiceKind::Speech => "Cognitive Services Speech User (or Cognitive Services User)",
            ServiceKind::Language => {
                "Cognitive Services Language Reader (or Cognitive Services User)"
            }
            ServiceKind::Vision
            | ServiceKind::Translator
            | ServiceKind::DocumentIntelligence
            | ServiceKind::ContentSafety => "Cognitive Services User",
            ServiceKind::Search if target.index.is_some() => {
                "Search Index Data Reader (or Search Index Data Contributor)"
            }
            ServiceKind::Search => "Search Service Contributor (or Reader)",
            // Azure AI Developer (hub era) and Cognitive Services OpenAI User lack `AIServices/*`.
            ServiceKind::FoundryProject => {
                "Foundry User (formerly Azure AI User), at the project or its account"
            }
            // Cognitive Services OpenAI User lacks `MaaS/*` [O].
            ServiceKind::ModelInference => {
                "Foundry User (formerly Azure AI User) or Cognitive Services User"
            }
        }
    }
}

/// The probe request, without the `Authorization` header: the runner adds it with
/// [`authorization_value`] so the token never sits in a value that may be logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeRequest {
    pub method: &'static str,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<Vec<u8>>,
    pub auth: AuthHeader,
    pub api_version: &'static str,
}

/// How the token goes into the `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthHeader {
    Bearer,
    /// Speech REST: `Bearer aad#{resource_id}#{token}`.
    SpeechAad {
        resource_id: String,
    },
}

/// The `Authorization` header value. The only place it is built; the result is a secret.
pub fn authorization_value(auth: &AuthHeader, token: &str) -> String {
    match auth {
        AuthHeader::Bearer => format!("Bearer {token}"),
        AuthHeader::SpeechAad { resource_id } => format!("Bearer aad#{resource_id}#{token}"),
    }
}

/// The minimal call for `target`, or the findings that say why it cannot be built (for example
/// Speech without the account's resource id). Pure: the runner sends it.
///
/// When the probe moves to another host (Speech's text-to-speech host, Translator's global
/// host), that host belongs to the cloud the endpoint's own host belongs to, so no cloud needs
/// to be passed; [`check_endpoint`] is what holds the endpoint to the selected cloud.
pub fn build_request(target: &Target) -> Result<ProbeRequest, Vec<Finding>> {
    let endpoint = endpoint::parse(target)?;
    let (shape, cloud) = endpoint::shape_and_cloud(&endpoint);
    let cloud = &cloud;
    match target.kind {
        ServiceKind::Openai => Ok(openai::request(target, &endpoint)),
        ServiceKind::Speech => speech::request(target, &endpoint, &shape, cloud),
        ServiceKind::Vision => Ok(vision::request(&endpoint)),
        ServiceKind::Language => Ok(language::request(&endpoint)),
        ServiceKind::Translator => translator::request(target, &endpoint, &shape, cloud),
        ServiceKind::DocumentIntelligence => Ok(document_intelligence::request(&endpoint)),
        ServiceKind::ContentSafety => Ok(content_safety::request(&endpoint)),
        ServiceKind::Search => Ok(search::request(target, &endpoint)),
        ServiceKind::FoundryProject => foundry::request(target, &endpoint, cloud),
        ServiceKind::ModelInference => Ok(model_inference::request(&endpoint)),
    }
}

/// `relative` (a path with its query) under the endpoint's own path, so an endpoint given with
/// or without a trailing slash, or with a gateway prefix, lands on the same call. A path that
/// already ends with the API's own prefix (`…/openai`, `…/translator/text/v3.0`) is not doubled.
fn join(endpoint: &url::Url, own_prefixes: &[&str], relative: &str) -> String {
    let mut base = endpoint.path().trim_end_matches('/').to_string();
    for prefix in own_prefixes {
        if base
            .to_ascii_lowercase()
            .ends_with(&prefix.to_ascii_lowercase())
        {
            base.truncate(base.len() - prefix.len());
            break;
        }
    }
    let port = endpoint.port().map(|p| format!(":{p}")).unwrap_or_default();
    let host = endpoint.host_str().unwrap_or_default();
    format!("{}://{host}{port}{base}{relative}", endpoint.scheme())
}

fn json_headers() -> Vec<(String, String)> {
    vec![
        ("Accept".to_string(), "application/json".to_string()),
        ("Content-Type".to_string(), "application/json".to_string()),
    ]
}

fn accept_json() -> Vec<(String, String)> {
    vec![("Accept".to_string(), "application/json".to_string())]
}

#[cfg(test)]
pub(crate) mod test_support {
    use super::*;

    pub const ACCOUNT_ID: &str = "/subscriptions/5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/contoso-ai";

    pub fn target(kind: ServiceKind, endpoint: &str) -> Target {
        Target {
            name: "svc".into(),
            kind,
            endpoint: endpoint.into(),
            resource_id: None,
            region: None,
            index: None,
            audience: None,
        }
    }

    pub fn build(target: &Target) -> ProbeRequest {
        build_request(target).expect("request builds")
    }

    pub fn header<'r>(request: &'r ProbeRequest, name: &str) -> Option<&'r str> {
        request
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    #[test]
    fn every_kind_pins_an_api_version_and_names_its_action() {
        let plain = target(ServiceKind::Openai, "https://x.openai.azure.com");
        let expected = [
            (
                ServiceKind::Openai,
                "2024-10-21",
                "Microsoft.CognitiveServices/accounts/OpenAI/models/read",
            ),
            (
                ServiceKind::Speech,
                "v1",
                "Microsoft.CognitiveServices/accounts/SpeechServices/unified-speech/frontend/action",
            ),
            (
                ServiceKind::Vision,
                "v3.2",
                "Microsoft.CognitiveServices/accounts/ComputerVision/models/read",
            ),
            (
                ServiceKind::Language,
                "2023-04-01",
                "Microsoft.CognitiveServices/accounts/Language/analyze-text/action",
            ),
            (
                ServiceKind::Translator,
                "3.0",
                "Microsoft.CognitiveServices/accounts/TextTranslation/translate/action",
            ),
            (
                ServiceKind::DocumentIntelligence,
                "2024-11-30",
                "Microsoft.CognitiveServices/accounts/FormRecognizer/info/read",
            ),
            (
                ServiceKind::ContentSafety,
                "2024-09-01",
                "Microsoft.CognitiveServices/accounts/ContentSafety/text/blocklists/read",
            ),
            (
                ServiceKind::Search,
                "2023-11-01",
                "Microsoft.Search/searchServices/indexes/read",
            ),
        ];
        for (kind, version, action) in expected {
            assert_eq!(kind.api_version(), version, "{kind}");
            let required = kind.required_action(&plain);
            assert_eq!(required.action, action, "{kind}");
            let expected_kind = if kind == ServiceKind::Search {
                ActionKind::Action
            } else {
                ActionKind::DataAction
            };
            assert_eq!(required.kind, expected_kind, "{kind}");
        }
        let mut with_index = target(ServiceKind::Search, "https://s.search.windows.net");
        with_index.index = Some("products".into());
        assert_eq!(
            ServiceKind::Search.required_action(&with_index),
            RequiredAction {
                action: "Microsoft.Search/searchServices/indexes/documents/read",
                kind: ActionKind::DataAction
            }
        );
    }

    #[test]
    fn authorization_values() {
        assert_eq!(
            authorization_value(&AuthHeader::Bearer, "T0K"),
            "Bearer T0K"
        );
        assert_eq!(
            authorization_value(
                &AuthHeader::SpeechAad {
                    resource_id: ACCOUNT_ID.into()
                },
                "T0K"
            ),
            format!("Bearer aad#{ACCOUNT_ID}#T0K")
        );
    }

    #[test]
    fn simple_get_kinds_join_any_endpoint_form() {
        let cases = [
            (
                ServiceKind::Openai,
                "/openai/models?api-version=2024-10-21",
                "/openai",
            ),
            (ServiceKind::Vision, "/vision/v3.2/models", "/vision/v3.2"),
            (
                ServiceKind::DocumentIntelligence,
                "/documentintelligence/info?api-version=2024-11-30",
                "/documentintelligence",
            ),
            (
                ServiceKind::ContentSafety,
                "/contentsafety/text/blocklists?api-version=2024-09-01",
                "/contentsafety",
            ),
        ];
        for (kind, path, own_prefix) in cases {
            for endpoint in [
                "https://contoso-ai.cognitiveservices.azure.com",
                "https://contoso-ai.cognitiveservices.azure.com/",
                "https://contoso-ai.cognitiveservices.azure.com/?ignored=1#frag",
                &format!("https://contoso-ai.cognitiveservices.azure.com{own_prefix}/"),
            ] {
                let request = build(&target(kind, endpoint));
                assert_eq!(request.method, "GET");
                assert_eq!(
                    request.url,
                    format!("https://contoso-ai.cognitiveservices.azure.com{path}"),
                    "{kind} {endpoint}"
                );
                assert_eq!(request.body, None);
                assert_eq!(request.auth, AuthHeader::Bearer);
                assert_eq!(request.api_version, kind.api_version());
                assert_eq!(header(&request, "authorization"), None);
            }
            // A gateway prefix is kept.
            let gateway = build(&target(kind, "https://gw.example.net/ai/"));
            assert_eq!(gateway.url, format!("https://gw.example.net/ai{path}"));
        }
        let oai = build(&target(
            ServiceKind::Openai,
            "https://contoso-oai.openai.azure.com",
        ));
        assert_eq!(
            oai.url,
            "https://contoso-oai.openai.azure.com/openai/models?api-version=2024-10-21"
        );
    }

    /// A request built for an Azure endpoint goes to an Azure host of the same cloud, even when
    /// the probe moves to another host (Speech's TTS host, Translator's global host).
    #[test]
    fn derived_hosts_stay_in_the_cloud() {
        for cloud in ServiceCloud::ALL {
            let endpoints = [
                format!("https://contoso.{}/", cloud.custom_subdomain_suffixes[0]),
                format!("https://contoso.{}/", cloud.openai_suffix),
                format!("https://westeurope.{}/", cloud.regional_suffix),
                format!("https://westeurope.{}/", cloud.speech_regional_suffixes[1]),
                format!("https://{}/", cloud.translator_global_host),
                format!("https://contoso.{}", cloud.search_suffix),
            ];
            // A project endpoint has its own path; its host is checked in foundry.rs.
            for kind in ServiceKind::ALL
                .into_iter()
                .filter(|k| *k != ServiceKind::FoundryProject)
            {
                for endpoint in &endpoints {
                    let mut t = target(kind, endpoint);
                    t.resource_id = Some(ACCOUNT_ID.into());
                    let request = build_request(&t).expect("builds");
                    let url = url::Url::parse(&request.url).expect("valid URL");
                    assert_eq!(url.scheme(), "https");
                    assert_ne!(
                        endpoint_shape(&url, &cloud),
                        EndpointShape::NotAzure,
                        "{} {kind} {endpoint} -> {}",
                        cloud.name,
                        request.url
                    );
                }
            }
        }
    }

    #[test]
    fn unparsable_endpoints_give_findings_not_panics() {
        for endpoint in [
            "",
            "not a url",
            "https://",
            "mailto:x@example.com",
            "https://[::1",
        ] {
            for kind in ServiceKind::ALL {
                let err = build_request(&target(kind, endpoint)).expect_err(endpoint);
                assert_eq!(
                    err[0].code,
                    crate::diagnosis::Code::EndpointNotAzure,
                    "{endpoint}"
                );
            }
        }
    }
}
