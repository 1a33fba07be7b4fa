//! Service kinds (design §4): one file per kind with its audience, required action, minimal
//! request and response classifier.

use serde::Serialize;

mod classify;
mod content_safety;
mod document_intelligence;
pub mod endpoint;
mod language;
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
}

impl ServiceKind {
    pub const ALL: [ServiceKind; 8] = [
        ServiceKind::Openai,
        ServiceKind::Speech,
        ServiceKind::Vision,
        ServiceKind::Language,
        ServiceKind::Translator,
        ServiceKind::DocumentIntelligence,
        ServiceKind::ContentSafety,
        ServiceKind::Search,
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
            _ => cloud.cognitive_audience,
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
        }
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
        }
    }

    /// The probe call in words (`GET /openai/models`), for messages.
    pub fn operation(self, target: &Target) -> &'static str {
        match self {
            ServiceKind::Openai => openai::OPERATION,
            ServiceKind::Speech => speech::OPERATION,
            ServiceKind::Vision => vision::OPERATION,
            ServiceKind::Language => language::OPERATION,
            ServiceKind::Translator => translator::OPERATION,
            ServiceKind::DocumentIntelligence => document_intelligence::OPERATION,
            ServiceKind::ContentSafety => content_safety::OPERATION,
            ServiceKind::Search => search::operation(target),
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
pub fn build_request(target: &Target, cloud: &ServiceCloud) -> Result<ProbeRequest, Vec<Finding>> {
    let endpoint = endpoint::parse(target)?;
    let shape = endpoint_shape(&endpoint, cloud);
    match target.kind {
        ServiceKind::Openai => Ok(openai::request(&endpoint)),
        ServiceKind::Speech => speech::request(target, &endpoint, &shape, cloud),
        ServiceKind::Vision => Ok(vision::request(&endpoint)),
        ServiceKind::Language => Ok(language::request(&endpoint)),
        ServiceKind::Translator => translator::request(target, &endpoint, &shape, cloud),
        ServiceKind::DocumentIntelligence => Ok(document_intelligence::request(&endpoint)),
        ServiceKind::ContentSafety => Ok(content_safety::request(&endpoint)),
        ServiceKind::Search => Ok(search::request(target, &endpoint)),
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
