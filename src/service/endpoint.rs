//! Endpoint shape checks, run before any token is sent (design §7): a bearer token goes only to
//! the selected cloud's AI service hosts, over https, in the shape the service kind accepts.

use super::{ServiceKind, Target};
use crate::diagnosis::{Code, Finding, Severity};

/// The host names and audiences of one cloud's AI services.
///
/// `crate::cloud::CloudProfile` did not exist when this was written; the cloud profile can hold
/// one of these (or convert to it) so the service layer stays independent of the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServiceCloud {
    pub name: &'static str,
    /// Token audience of every Cognitive Services kind (no trailing slash, no `/.default`).
    pub cognitive_audience: &'static str,
    pub search_audience: &'static str,
    /// Token audience of Foundry project routes (`/api/projects/…`), which accept no other.
    pub foundry_audience: &'static str,
    /// `{subdomain}.{suffix}`: the custom-subdomain hosts of an account (the Foundry host
    /// included, where the cloud has one).
    pub custom_subdomain_suffixes: &'static [&'static str],
    /// `{subdomain}.{suffix}`: the Foundry services host, the only one that serves project
    /// routes; `None` where no Foundry host is known.
    pub foundry_suffix: Option<&'static str>,
    pub openai_suffix: &'static str,
    /// `{region}.{suffix}`: the regional endpoint of an account without a custom subdomain.
    pub regional_suffix: &'static str,
    /// `{region}.{suffix}`: the Speech REST hosts (text to speech first: the probe uses it).
    pub speech_regional_suffixes: &'static [&'static str],
    pub translator_global_host: &'static str,
    /// `{service}.{suffix}`
    pub search_suffix: &'static str,
}

impl ServiceCloud {
    pub const PUBLIC: ServiceCloud = ServiceCloud {
        name: "public",
        cognitive_audience: "https://cognitiveservices.azure.com",
        search_audience: "https://search.azure.com",
        foundry_audience: "https://ai.azure.com",
        custom_subdomain_suffixes: &["cognitiveservices.azure.com", "services.ai.azure.com"],
        foundry_suffix: Some("services.ai.azure.com"),
        openai_suffix: "openai.azure.com",
        regional_suffix: "api.cognitive.microsoft.com",
        speech_regional_suffixes: &["tts.speech.microsoft.com", "stt.speech.microsoft.com"],
        translator_global_host: "api.cognitive.microsofttranslator.com",
        search_suffix: "search.windows.net",
    };

    // The sovereign values come from pain-points.md's cloud table; those marked "verify" there
    // (and the Speech/regional/Search hosts) are unconfirmed [L].
    pub const USGOV: ServiceCloud = ServiceCloud {
        name: "usgov",
        cognitive_audience: "https://cognitiveservices.azure.us",
        search_audience: "https://search.azure.us",
        // Foundry in the sovereign clouds is not covered by the reference: the public-cloud
        // pattern carried over [I]; a 401 names what the service wanted either way.
        foundry_audience: "https://ai.azure.us",
        custom_subdomain_suffixes: &["cognitiveservices.azure.us"],
        // [L] No reference names a Foundry host in the sovereign clouds: no Foundry target there.
        foundry_suffix: None,
        openai_suffix: "openai.azure.us",
        regional_suffix: "api.cognitive.microsoft.us",
        speech_regional_suffixes: &["tts.speech.azure.us", "stt.speech.azure.us"],
        translator_global_host: "api.cognitive.microsofttranslator.us",
        search_suffix: "search.azure.us",
    };

    pub const CHINA: ServiceCloud = ServiceCloud {
        name: "china",
        cognitive_audience: "https://cognitiveservices.azure.cn",
        search_audience: "https://search.azure.cn",
        foundry_audience: "https://ai.azure.cn",
        custom_subdomain_suffixes: &["cognitiveservices.azure.cn"],
        foundry_suffix: None,
        openai_suffix: "openai.azure.cn",
        regional_suffix: "api.cognitive.azure.cn",
        speech_regional_suffixes: &["tts.speech.azure.cn", "stt.speech.azure.cn"],
        translator_global_host: "api.translator.azure.cn",
        search_suffix: "search.azure.cn",
    };

    pub const ALL: [ServiceCloud; 3] = [
        ServiceCloud::PUBLIC,
        ServiceCloud::USGOV,
        ServiceCloud::CHINA,
    ];

    /// `public | usgov | china`, as `--cloud` spells them.
    pub fn by_name(name: &str) -> Option<ServiceCloud> {
        ServiceCloud::ALL.into_iter().find(|c| c.name == name)
    }

    /// The text-to-speech host of a region.
    pub fn tts_host(&self, region: &str) -> String {
        format!("{region}.{}", self.speech_regional_suffixes[0])
    }

    /// `https://{name}.cognitiveservices…/`: an account's custom subdomain endpoint, the one
    /// remedies point to.
    pub fn account_endpoint(&self, name: &str) -> String {
        format!("https://{name}.{}/", self.custom_subdomain_suffixes[0])
    }

    /// `https://{name}.openai…/`
    pub fn openai_endpoint(&self, name: &str) -> String {
        format!("https://{name}.{}/", self.openai_suffix)
    }

    /// `https://{service}.search…`
    pub fn search_endpoint(&self, service: &str) -> String {
        format!("https://{service}.{}", self.search_suffix)
    }

    /// `https://{account}.services.ai…/api/projects/{project}`, where the cloud has a Foundry host.
    pub fn project_endpoint(&self, account: &str, project: &str) -> Option<String> {
        self.foundry_suffix
            .map(|suffix| format!("https://{account}.{suffix}/api/projects/{project}"))
    }

    /// The private DNS zone through which `host` resolves to a private endpoint: the Search zone
    /// for a Search service (whatever host it was reached at), else the zone of the host's kind,
    /// the Cognitive Services zone for any other host (a gateway, a regional host).
    ///
    /// Every zone is `privatelink.` before the host suffix. Public cloud: [D] (Learn, "Azure
    /// Private Endpoint private DNS zone values"). US Government: [D] for Cognitive Services
    /// (`privatelink.cognitiveservices.azure.us`) and Search (`privatelink.search.azure.us`;
    /// older revisions of that page said `privatelink.search.windows.us`); the OpenAI zone is
    /// not on the page [L]. China: the page lists no AI zone, all three follow the pattern [L].
    pub fn private_dns_zone(&self, host: &str, search: bool) -> String {
        let under = |suffix: &str| host.ends_with(&format!(".{suffix}"));
        let suffix = if search {
            self.search_suffix
        } else if under(self.openai_suffix) {
            self.openai_suffix
        } else if let Some(foundry) = self.foundry_suffix.filter(|s| under(s)) {
            foundry
        } else if under(self.search_suffix) {
            self.search_suffix
        } else {
            self.custom_subdomain_suffixes[0]
        };
        format!("privatelink.{suffix}")
    }
}

/// What an endpoint's host says about the resource behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EndpointShape {
    /// `{subdomain}.cognitiveservices.azure.com` (or `.services.ai.azure.com`).
    CustomSubdomain {
        subdomain: String,
    },
    /// `{region}.api.cognitive.microsoft.com`: an account without a custom subdomain.
    Regional {
        region: String,
    },
    OpenAi {
        subdomain: String,
    },
    /// `{region}.tts.speech.microsoft.com` / `{region}.stt.speech.microsoft.com`.
    SpeechRegional {
        region: String,
    },
    TranslatorGlobal,
    Search {
        service: String,
    },
    NotAzure,
}

/// Classify the endpoint's host for `cloud`. Only single-label names under the known suffixes
/// count; everything else (an API Management gateway, a typo, another cloud) is `NotAzure`.
pub fn endpoint_shape(endpoint: &url::Url, cloud: &ServiceCloud) -> EndpointShape {
    let Some(host) = endpoint.host_str() else {
        return EndpointShape::NotAzure;
    };
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host == cloud.translator_global_host {
        return EndpointShape::TranslatorGlobal;
    }
    for suffix in cloud.custom_subdomain_suffixes {
        if let Some(subdomain) = label_under(&host, suffix) {
            return EndpointShape::CustomSubdomain { subdomain };
        }
    }
    if let Some(subdomain) = label_under(&host, cloud.openai_suffix) {
        return EndpointShape::OpenAi { subdomain };
    }
    if let Some(region) = label_under(&host, cloud.regional_suffix) {
        return EndpointShape::Regional { region };
    }
    for suffix in cloud.speech_regional_suffixes {
        if let Some(region) = label_under(&host, suffix) {
            return EndpointShape::SpeechRegional { region };
        }
    }
    if let Some(service) = label_under(&host, cloud.search_suffix) {
        return EndpointShape::Search { service };
    }
    EndpointShape::NotAzure
}

/// `label` when `host` is exactly `{label}.{suffix}` with a DNS label made of `[a-z0-9-]`.
fn label_under(host: &str, suffix: &str) -> Option<String> {
    let label = host.strip_suffix(suffix)?.strip_suffix('.')?;
    let valid = !label.is_empty()
        && label.len() <= 63
        && label
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    valid.then(|| label.to_string())
}

/// Parse the target's endpoint, or say why it is not usable. Without a cloud (building the
/// request, after [`check_endpoint`] has passed the endpoint) the remedy names no host.
pub(crate) fn parse(target: &Target) -> Result<url::Url, Vec<Finding>> {
    parse_in(target, None)
}

fn parse_in(target: &Target, cloud: Option<&ServiceCloud>) -> Result<url::Url, Vec<Finding>> {
    match url::Url::parse(target.endpoint.trim()) {
        Ok(url) if url.host_str().is_some_and(|h| !h.is_empty()) => Ok(url),
        _ => Err(vec![not_a_url(target, cloud)]),
    }
}

fn not_a_url(target: &Target, cloud: Option<&ServiceCloud>) -> Finding {
    let example = cloud
        .map(|c| format!(", for example `{}`", c.account_endpoint("NAME")))
        .unwrap_or_default();
    Finding::new(
        Code::EndpointNotAzure,
        format!(
            "The endpoint of `{}` ({}) is not an absolute URL; no token was sent.",
            target.name,
            short(&target.endpoint)
        ),
        format!(
            "Give the endpoint as ARM shows it in `properties.endpoint`{example} (`az \
             cognitiveservices account show -n NAME -g RG --query properties.endpoint`)."
        ),
    )
}

/// Does the Translator probe for `target` go to the global host (which needs the resource id
/// header, and the region for a regional resource)? The regional endpoint of a Translator
/// account serves its text API from the global host too.
pub(crate) fn translator_uses_global_host(shape: &EndpointShape) -> bool {
    matches!(
        shape,
        EndpointShape::TranslatorGlobal | EndpointShape::Regional { .. }
    )
}

/// The shape of an endpoint in whichever cloud knows its host (the public cloud for hosts no
/// cloud knows), and that cloud.
pub(crate) fn shape_and_cloud(endpoint: &url::Url) -> (EndpointShape, ServiceCloud) {
    ServiceCloud::ALL
        .into_iter()
        .map(|cloud| (endpoint_shape(endpoint, &cloud), cloud))
        .find(|(shape, _)| *shape != EndpointShape::NotAzure)
        .unwrap_or((EndpointShape::NotAzure, ServiceCloud::PUBLIC))
}

/// The shape of `target`'s endpoint in whichever cloud knows its host, for classifiers that do
/// not get the cloud.
pub(crate) fn shape_in_any_cloud(target: &Target) -> EndpointShape {
    match url::Url::parse(target.endpoint.trim()) {
        Ok(url) => shape_and_cloud(&url).0,
        Err(_) => EndpointShape::NotAzure,
    }
}

/// Everything wrong with `target`'s endpoint that is visible without sending anything. An
/// error-severity finding means the token must not be sent; a warning (an allow-listed
/// non-Azure host) means it may.
pub fn check_endpoint(
    target: &Target,
    cloud: &ServiceCloud,
    allow_hosts: &[String],
) -> Vec<Finding> {
    if is_hub_project_endpoint(&target.endpoint) {
        return vec![hub_project_finding(&target.name, cloud)];
    }
    let endpoint = match parse_in(target, Some(cloud)) {
        Ok(url) => url,
        Err(findings) => return findings,
    };
    let host = endpoint
        .host_str()
        .unwrap_or_default()
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let mut findings = Vec::new();
    if endpoint.scheme() != "https" {
        findings.push(Finding::new(
            Code::EndpointNotAzure,
            format!(
                "The endpoint of `{}` uses `{}`, not https; a bearer token is never sent in the \
                 clear, so `{}` was not probed.",
                target.name,
                endpoint.scheme(),
                target.kind
            ),
            format!("Use `https://{host}/`."),
        ));
        return findings;
    }
    let shape = endpoint_shape(&endpoint, cloud);
    if shape == EndpointShape::NotAzure {
        let allowed = allow_hosts
            .iter()
            .any(|h| h.trim().trim_end_matches('.').eq_ignore_ascii_case(&host));
        findings.push(not_azure(target, &host, &endpoint, cloud, allowed));
        if !allowed {
            return findings;
        }
    }
    findings.extend(kind_mismatch(target, &shape, &host, cloud));
    if let EndpointShape::Regional { region } = &shape
        && !matches!(target.kind, ServiceKind::Translator | ServiceKind::Speech)
    {
        findings.push(regional_endpoint(target, region, &host, cloud));
    }
    findings.extend(missing_inputs(target, &shape, cloud));
    findings
}

fn not_azure(
    target: &Target,
    host: &str,
    endpoint: &url::Url,
    cloud: &ServiceCloud,
    allowed: bool,
) -> Finding {
    if allowed {
        return Finding::new(
            Code::EndpointNotAzure,
            format!(
                "`{host}` is not an Azure AI host of the {} cloud; it is on the --allow-host \
                 list, so the token for `{}` will be sent to it.",
                cloud.name, target.name
            ),
            "Keep --allow-host only for gateways you operate (API Management, a proxy); a \
             gateway may answer with its own errors (for example \"missing subscription key\") \
             instead of the service's.",
        )
        .with_severity(Severity::Warning);
    }
    let other_cloud = ServiceCloud::ALL
        .iter()
        .find(|c| c.name != cloud.name && endpoint_shape(endpoint, c) != EndpointShape::NotAzure);
    let remedy = match other_cloud {
        Some(other) => format!(
            "`{host}` belongs to the {} cloud: run with `--cloud {}`.",
            other.name, other.name
        ),
        None => format!(
            "Use the resource's own endpoint (`properties.endpoint` in `az cognitiveservices \
             account show`, e.g. `https://NAME.{}/`), or, if `{host}` is a gateway you operate \
             (API Management), pass `--allow-host {host}`.",
            cloud.custom_subdomain_suffixes[0]
        ),
    };
    Finding::new(
        Code::EndpointNotAzure,
        format!(
            "`{host}` (service `{}`) is not an Azure AI host of the {} cloud; no token was sent \
             to it.",
            target.name, cloud.name
        ),
        remedy,
    )
}

/// An endpoint of one kind of service configured as another: the probe would hit the wrong API
/// (and, for Search, ask for the wrong token audience).
fn kind_mismatch(
    target: &Target,
    shape: &EndpointShape,
    host: &str,
    cloud: &ServiceCloud,
) -> Option<Finding> {
    let account = cloud.account_endpoint("NAME");
    let (what, fix) = match (target.kind, shape) {
        (ServiceKind::Search, EndpointShape::NotAzure | EndpointShape::Search { .. }) => {
            return None;
        }
        (ServiceKind::Search, _) => (
            "an Azure AI services (Cognitive Services) endpoint, but the service is configured \
             as kind `search`"
                .to_string(),
            format!(
                "Use `{}` for Azure AI Search, or change the kind to the account's service \
                 (`openai`, `vision`, …).",
                cloud.search_endpoint("SERVICE")
            ),
        ),
        (_, EndpointShape::Search { .. }) => (
            "an Azure AI Search endpoint, but the service is configured as a Cognitive Services \
             kind"
                .to_string(),
            format!(
                "Change the kind to `search` (it needs a token for {}), or use the Cognitive \
                 Services account's endpoint.",
                cloud.search_audience
            ),
        ),
        (ServiceKind::Translator, EndpointShape::TranslatorGlobal) => return None,
        (_, EndpointShape::TranslatorGlobal) => (
            "the global Translator host, which serves only the Translator API".to_string(),
            format!(
                "Use the account's custom subdomain endpoint (`{account}`), or change the kind \
                 to `translator`."
            ),
        ),
        (ServiceKind::FoundryProject, EndpointShape::NotAzure) => return None,
        (ServiceKind::FoundryProject, _) => not_a_foundry_host(host, cloud)?,
        (ServiceKind::Speech, EndpointShape::SpeechRegional { .. }) => return None,
        (_, EndpointShape::SpeechRegional { .. }) => (
            "a Speech REST host, which serves only the Speech API".to_string(),
            format!(
                "Use the account's custom subdomain endpoint (`{account}`), or change the kind \
                 to `speech`."
            ),
        ),
        _ => return None,
    };
    Some(Finding::new(
        Code::EndpointNotAzure,
        format!(
            "`{host}` is {what} (`{}` is `{}`); no token was sent.",
            target.name, target.kind
        ),
        fix,
    ))
}

/// A Foundry project endpoint off the Foundry services host, which alone serves project routes;
/// in a cloud without a known Foundry host [L], any host.
fn not_a_foundry_host(host: &str, cloud: &ServiceCloud) -> Option<(String, String)> {
    let (what, fix) = match cloud.project_endpoint("ACCOUNT", "PROJECT") {
        Some(_)
            if cloud
                .foundry_suffix
                .is_some_and(|s| host.ends_with(&format!(".{s}"))) =>
        {
            return None;
        }
        Some(project) => (
            "not the Foundry services host, which is the only one that serves project routes"
                .to_string(),
            format!(
                "Use the project endpoint, `{project}` (the project's \
                 `properties.endpoints[\"AI Foundry API\"]`)."
            ),
        ),
        None => (
            format!(
                "not a Foundry project host: entraprobe knows no Foundry host in the {} cloud",
                cloud.name
            ),
            format!(
                "Probe the account's own APIs instead (for example `--service \
                 NAME=openai@{}`); Foundry projects are probed in the public cloud only.",
                cloud.openai_endpoint("NAME")
            ),
        ),
    };
    Some((what, fix))
}

fn regional_endpoint(target: &Target, region: &str, host: &str, cloud: &ServiceCloud) -> Finding {
    Finding::new(
        Code::RegionalEndpoint,
        format!(
            "`{}` points at the regional endpoint `{host}` ({region}); regional endpoints do not \
             accept Microsoft Entra ID tokens, only keys, so `{}` cannot be probed with a token.",
            target.name, target.kind
        ),
        format!(
            "Give the account a custom subdomain (`az cognitiveservices account update -n NAME -g \
             RG --custom-domain NAME`; it cannot be changed or removed once set, and clients \
             using the regional endpoint with keys keep working) and use `{}`.",
            cloud.account_endpoint("NAME")
        ),
    )
}

/// Inputs a kind needs beyond the endpoint: Speech signs its token with the resource id, the
/// global Translator host routes by it.
fn missing_inputs(target: &Target, shape: &EndpointShape, cloud: &ServiceCloud) -> Vec<Finding> {
    let mut findings = Vec::new();
    match target.kind {
        ServiceKind::Speech => findings.extend(speech_resource_id_problem(target)),
        ServiceKind::Translator if translator_uses_global_host(shape) => {
            findings.extend(translator_resource_id_problem(target, shape, cloud));
        }
        _ => {}
    }
    findings
}

/// Is `id` the ARM id of a Cognitive Services account?
pub(crate) fn is_account_resource_id(id: &str) -> bool {
    let parts: Vec<&str> = id.trim_matches('/').split('/').collect();
    parts.len() == 8
        && parts[0].eq_ignore_ascii_case("subscriptions")
        && parts[2].eq_ignore_ascii_case("resourceGroups")
        && parts[4].eq_ignore_ascii_case("providers")
        && parts[5].eq_ignore_ascii_case("Microsoft.CognitiveServices")
        && parts[6].eq_ignore_ascii_case("accounts")
        && parts.iter().all(|p| !p.is_empty() && !p.contains('#'))
        && id.starts_with('/')
}

pub(crate) fn speech_resource_id_problem(target: &Target) -> Option<Finding> {
    const HOW: &str = "Add `resource=/subscriptions/SUB/resourceGroups/RG/providers/\
        Microsoft.CognitiveServices/accounts/NAME` to the service (`az cognitiveservices account \
        show -n NAME -g RG --query id -o tsv`); Speech REST takes Entra ID tokens only as \
        `Authorization: Bearer aad#{resourceId}#{token}`, and the account needs a custom subdomain.";
    match target.resource_id.as_deref().map(str::trim) {
        None | Some("") => Some(Finding::new(
            Code::SpeechResourceIdMissing,
            format!(
                "Speech service `{}` has no resource id; the Speech REST API only accepts an \
                 Entra ID token combined with the account's resource id, so it was not probed.",
                target.name
            ),
            HOW,
        )),
        Some(id) if !is_account_resource_id(id) => Some(Finding::new(
            Code::SpeechResourceIdMissing,
            format!(
                "The resource id of Speech service `{}` (`{}`) is not the ARM id of a Cognitive \
                 Services account; it was not probed.",
                target.name,
                short(id)
            ),
            HOW,
        )),
        Some(_) => None,
    }
}

// No finding code fits a Translator resource id exactly; `regional-endpoint` is the closest
// (the global/regional host cannot take the token on its own). A dedicated code is proposed
// to the catalog owner.
pub(crate) fn translator_resource_id_problem(
    target: &Target,
    shape: &EndpointShape,
    cloud: &ServiceCloud,
) -> Option<Finding> {
    let host_words = match shape {
        EndpointShape::Regional { region } => format!(
            "the regional endpoint ({region}), whose text API is served by the global Translator host"
        ),
        _ => "the global Translator host".to_string(),
    };
    let how = format!(
        "Either use the account's custom subdomain endpoint (`{}`, no extra headers needed), \
         or add `resource=/subscriptions/SUB/resourceGroups/RG/providers/\
         Microsoft.CognitiveServices/accounts/NAME` (sent as `Ocp-Apim-ResourceId`) and, for a \
         regional resource, `region=LOCATION` (sent as `Ocp-Apim-Subscription-Region`).",
        cloud.account_endpoint("NAME")
    );
    match target.resource_id.as_deref().map(str::trim) {
        None | Some("") => Some(Finding::new(
            Code::RegionalEndpoint,
            format!(
                "Translator service `{}` uses {host_words}; with an Entra ID token that host \
                 needs the account's resource id, which is not configured, so it was not probed.",
                target.name
            ),
            how,
        )),
        Some(id) if !is_account_resource_id(id) => Some(Finding::new(
            Code::RegionalEndpoint,
            format!(
                "The resource id of Translator service `{}` (`{}`) is not the ARM id of a \
                 Cognitive Services account; it was not probed.",
                target.name,
                short(id)
            ),
            how,
        )),
        Some(_) => None,
    }
}

/// A user-supplied value shortened for a message.
/// The paths a kind's endpoint may carry: the API's own prefix, which the probe does not double
/// (`https://NAME.openai.azure.com/openai`). Anything else is a copied request URL or a typo.
pub fn own_path_prefixes(kind: ServiceKind) -> &'static [&'static str] {
    match kind {
        ServiceKind::Openai => &["/openai/v1", "/openai"],
        ServiceKind::Speech => &["/tts/cognitiveservices", "/tts"],
        ServiceKind::Vision => &["/vision/v3.2", "/vision"],
        ServiceKind::Language => &["/language"],
        ServiceKind::Translator => &["/translator/text/v3.0", "/translator"],
        ServiceKind::DocumentIntelligence => &["/documentintelligence"],
        ServiceKind::ContentSafety => &["/contentsafety"],
        ServiceKind::Search => &[],
        // A project endpoint's path is its own (`/api/projects/NAME`), checked separately.
        ServiceKind::FoundryProject => &[],
        ServiceKind::ModelInference => &["/models"],
    }
}

/// A hub-based ("classic") Foundry / AI Studio project: an Azure Machine Learning workspace,
/// reached at `REGION.api.azureml.ms` or through a `HOST;SUBSCRIPTION;RG;PROJECT` connection
/// string (reference/foundry.md §1.5). Another system: its own audience (`ml.azure.com`), its
/// own roles; entraprobe recognises it and does not probe it as a Foundry project.
pub fn is_hub_project_endpoint(text: &str) -> bool {
    let lower = text.trim().to_ascii_lowercase();
    let host = lower
        .split("://")
        .nth(1)
        .unwrap_or(&lower)
        .split(['/', ';', ':'])
        .next()
        .unwrap_or_default()
        .trim_end_matches('.')
        .to_string();
    host.ends_with(".api.azureml.ms")
        || host.ends_with(".ml.azure.com")
        || lower.matches(';').count() == 3
}

pub fn hub_project_finding(name: &str, cloud: &ServiceCloud) -> Finding {
    const SDKS: &str = "current SDKs (azure-ai-projects 1.0.0b11 and later) no longer support \
        them. Pin azure-ai-projects 1.0.0b10 or earlier for the hub";
    let remedy = match cloud.project_endpoint("ACCOUNT", "PROJECT") {
        Some(project) => format!(
            "Hub-based projects take tokens for `https://ml.azure.com` and the Azure AI \
             Developer / Azure Machine Learning roles; {SDKS}, or move to a Foundry project \
             (`{project}`) and probe that with `--service NAME=foundry-project@URL`."
        ),
        // [L] Azure Machine Learning's audience in the sovereign clouds is not in the reference.
        None => format!(
            "Hub-based projects take tokens for Azure Machine Learning's audience and the Azure \
             AI Developer / Azure Machine Learning roles; {SDKS}; entraprobe knows no Foundry \
             project host in the {} cloud to probe instead.",
            cloud.name
        ),
    };
    Finding::new(
        Code::HubBasedProject,
        format!(
            "`{name}` is a hub-based project (an Azure Machine Learning workspace), not a Foundry \
             project; it was not probed."
        ),
        remedy,
    )
}

/// `text` with any `user:password@` of a URL in it replaced by `***@`, for echoing input back.
pub fn mask_userinfo(text: &str) -> String {
    let Some(start) = text.find("://").map(|i| i + 3) else {
        return text.to_string();
    };
    let rest = &text[start..];
    let authority_end = rest.find(['/', '?', '#', ',']).unwrap_or(rest.len());
    match rest[..authority_end].rfind('@') {
        Some(at) => format!("{}***{}", &text[..start], &text[start + at..]),
        None => text.to_string(),
    }
}

/// What is wrong with an endpoint as given in a flag or the config file, found before anything
/// is sent (issue 9 item 8): not an https URL with a host; credentials in the URL; a query or
/// fragment; a path other than the kind's own prefix (a gateway on an `--allow-host` may have
/// any path prefix). Returns the endpoint to use, or the problem, never echoing a password.
pub fn check_endpoint_input(
    kind: ServiceKind,
    text: &str,
    allow_hosts: &[String],
) -> Result<String, String> {
    let shown = mask_userinfo(text).escape_debug().to_string();
    if text.chars().any(char::is_control) {
        return Err(format!("`{shown}` contains a control character"));
    }
    if is_hub_project_endpoint(text) {
        return Err(format!(
            "`{shown}` is a hub-based project (Azure Machine Learning workspace, \
             `ml.azure.com`), a different system from Foundry projects; entraprobe does not \
             probe it (`entraprobe explain hub-based-project`)"
        ));
    }
    if text.contains('…') || text.contains("...") || text.contains(['<', '>']) {
        return Err(format!(
            "`{shown}` still holds a placeholder (`…`, `...` or `<…>`) from an example; give the \
             resource's endpoint"
        ));
    }
    let url = url::Url::parse(text).map_err(|e| format!("`{shown}` is not a URL ({e})"))?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(format!(
            "`{shown}` carries a user name or password: credentials do not belong in the URL \
             (entraprobe authenticates with Entra ID tokens); remove the part before `@`"
        ));
    }
    if url.scheme() != "https" {
        return Err(format!(
            "`{shown}` must use https (a bearer token is never sent in clear text)"
        ));
    }
    let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
        return Err(format!("`{shown}` has no host"));
    };
    if url.query().is_some() || url.fragment().is_some() {
        return Err(format!("`{shown}` must not carry a query or fragment"));
    }
    let path = url.path().trim_end_matches('/');
    let gateway = allow_hosts
        .iter()
        .any(|h| h.trim().trim_end_matches('.').eq_ignore_ascii_case(host));
    if kind == ServiceKind::FoundryProject {
        if gateway || super::foundry::project_of_path(url.path()).is_some() {
            return Ok(text.to_string());
        }
        return Err(format!(
            "`{shown}` is not a Foundry project endpoint: give \
             `https://ACCOUNT.services.ai.azure.com/api/projects/PROJECT` (the project's \
             `properties.endpoints[\"AI Foundry API\"]`)"
        ));
    }
    let own = own_path_prefixes(kind);
    if !path.is_empty() && !gateway && !own.iter().any(|p| p.eq_ignore_ascii_case(path)) {
        let accepted = if own.is_empty() {
            "none".to_string()
        } else {
            own.join(", ")
        };
        return Err(format!(
            "`{shown}` has a path (`{path}`): give the resource's base endpoint, \
             `https://{host}/`; the {kind} probe adds its own path (paths accepted: {accepted}; \
             a gateway allowed with --allow-host may have its own prefix)"
        ));
    }
    Ok(text.to_string())
}

pub(crate) fn short(text: &str) -> String {
    // Long enough for any ARM resource id, short enough for one line of a report.
    const MAX: usize = 256;
    let text = text.trim();
    match text.char_indices().nth(MAX) {
        Some((cut, _)) => format!("{}…", &text[..cut]),
        None => text.to_string(),
    }
}

/// The public cloud's host names in `text` (Learn links are documentation, in every cloud):
/// what a remedy for a sovereign cloud must not name.
#[cfg(test)]
pub(crate) fn public_cloud_hosts(text: &str) -> Vec<String> {
    const PUBLIC: [&str; 4] = [
        "azure.com",
        "windows.net",
        "microsoft.com",
        "microsofttranslator.com",
    ];
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.' || c == '-'))
        .map(|word| word.trim_matches('.').to_ascii_lowercase())
        .filter(|word| word != "learn.microsoft.com")
        .filter(|word| {
            PUBLIC
                .iter()
                .any(|s| word == s || word.ends_with(&format!(".{s}")))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(kind: ServiceKind, endpoint: &str) -> Target {
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

    const SPEECH_ID: &str = "/subscriptions/5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/contoso-speech";

    fn shape(url: &str) -> EndpointShape {
        endpoint_shape(&url::Url::parse(url).unwrap(), &ServiceCloud::PUBLIC)
    }

    fn codes(findings: &[Finding]) -> Vec<(&'static str, Severity)> {
        findings
            .iter()
            .map(|f| (f.code.as_str(), f.severity))
            .collect()
    }

    #[test]
    fn shapes_of_public_cloud_hosts() {
        use EndpointShape::*;
        let sub = |s: &str| CustomSubdomain {
            subdomain: s.into(),
        };
        assert_eq!(
            shape("https://contoso-ai.cognitiveservices.azure.com/"),
            sub("contoso-ai")
        );
        assert_eq!(
            shape("https://Contoso-AI.CognitiveServices.Azure.com./x"),
            sub("contoso-ai")
        );
        assert_eq!(
            shape("https://hub1.services.ai.azure.com/api/projects/p"),
            sub("hub1")
        );
        assert_eq!(
            shape("https://contoso-oai.openai.azure.com"),
            OpenAi {
                subdomain: "contoso-oai".into()
            }
        );
        assert_eq!(
            shape("https://westeurope.api.cognitive.microsoft.com/"),
            Regional {
                region: "westeurope".into()
            }
        );
        assert_eq!(
            shape("https://westeurope.tts.speech.microsoft.com/"),
            SpeechRegional {
                region: "westeurope".into()
            }
        );
        assert_eq!(
            shape("https://api.cognitive.microsofttranslator.com/"),
            TranslatorGlobal
        );
        assert_eq!(
            shape("https://contoso-search.search.windows.net"),
            Search {
                service: "contoso-search".into()
            }
        );
        // Look-alikes and other clouds are not this cloud's Azure.
        for url in [
            "https://cognitiveservices.azure.com/",
            "https://a.b.cognitiveservices.azure.com/",
            "https://xcognitiveservices.azure.com/",
            "https://contoso.cognitiveservices.azure.com.evil.example/",
            "https://contoso.azure-api.net/openai",
            "https://contoso.cognitiveservices.azure.us/",
            "https://127.0.0.1/",
        ] {
            assert_eq!(shape(url), NotAzure, "{url}");
        }
        assert_eq!(
            endpoint_shape(
                &url::Url::parse("https://x.cognitiveservices.azure.us/").unwrap(),
                &ServiceCloud::USGOV
            ),
            sub("x")
        );
    }

    #[test]
    fn custom_subdomain_endpoints_pass() {
        for (kind, url) in [
            (ServiceKind::Openai, "https://contoso-oai.openai.azure.com/"),
            (
                ServiceKind::Openai,
                "https://contoso-ai.cognitiveservices.azure.com/",
            ),
            (
                ServiceKind::Vision,
                "https://contoso-ai.cognitiveservices.azure.com",
            ),
            (
                ServiceKind::Translator,
                "https://contoso-ai.cognitiveservices.azure.com/",
            ),
            (
                ServiceKind::Search,
                "https://contoso-search.search.windows.net",
            ),
        ] {
            let findings = check_endpoint(&target(kind, url), &ServiceCloud::PUBLIC, &[]);
            assert!(findings.is_empty(), "{kind} {url}: {findings:?}");
        }
        let mut speech = target(
            ServiceKind::Speech,
            "https://contoso-speech.cognitiveservices.azure.com/",
        );
        speech.resource_id = Some(SPEECH_ID.into());
        assert!(check_endpoint(&speech, &ServiceCloud::PUBLIC, &[]).is_empty());
    }

    #[test]
    fn plain_http_and_non_azure_hosts_get_no_token() {
        let http = check_endpoint(
            &target(
                ServiceKind::Vision,
                "http://contoso.cognitiveservices.azure.com/",
            ),
            &ServiceCloud::PUBLIC,
            &["contoso.cognitiveservices.azure.com".into()],
        );
        assert_eq!(codes(&http), vec![("endpoint-not-azure", Severity::Error)]);
        assert!(http[0].message.contains("not https"), "{}", http[0].message);

        let apim = target(ServiceKind::Openai, "https://contoso.azure-api.net/openai/");
        let blocked = check_endpoint(&apim, &ServiceCloud::PUBLIC, &[]);
        assert_eq!(
            codes(&blocked),
            vec![("endpoint-not-azure", Severity::Error)]
        );
        assert!(
            blocked[0]
                .remedy
                .contains("--allow-host contoso.azure-api.net")
        );

        let allowed = check_endpoint(
            &apim,
            &ServiceCloud::PUBLIC,
            &["Contoso.Azure-API.net".into()],
        );
        assert_eq!(
            codes(&allowed),
            vec![("endpoint-not-azure", Severity::Warning)]
        );
        assert!(
            allowed[0].message.contains("will be sent"),
            "{}",
            allowed[0].message
        );

        let gov = check_endpoint(
            &target(ServiceKind::Vision, "https://x.cognitiveservices.azure.us/"),
            &ServiceCloud::PUBLIC,
            &[],
        );
        assert!(gov[0].remedy.contains("--cloud usgov"), "{}", gov[0].remedy);

        let garbage = check_endpoint(
            &target(ServiceKind::Vision, "contoso"),
            &ServiceCloud::PUBLIC,
            &[],
        );
        assert_eq!(
            codes(&garbage),
            vec![("endpoint-not-azure", Severity::Error)]
        );
    }

    #[test]
    fn regional_endpoint_is_flagged_except_for_translator_and_speech() {
        let url = "https://westeurope.api.cognitive.microsoft.com/";
        for kind in [
            ServiceKind::Openai,
            ServiceKind::Vision,
            ServiceKind::Language,
            ServiceKind::DocumentIntelligence,
            ServiceKind::ContentSafety,
        ] {
            let findings = check_endpoint(&target(kind, url), &ServiceCloud::PUBLIC, &[]);
            assert_eq!(
                codes(&findings),
                vec![("regional-endpoint", Severity::Error)],
                "{kind}"
            );
            assert!(findings[0].remedy.contains("cannot be changed or removed"));
        }
        let mut translator = target(ServiceKind::Translator, url);
        translator.resource_id = Some(SPEECH_ID.into());
        assert!(check_endpoint(&translator, &ServiceCloud::PUBLIC, &[]).is_empty());
        let mut speech = target(ServiceKind::Speech, url);
        speech.resource_id = Some(SPEECH_ID.into());
        assert!(check_endpoint(&speech, &ServiceCloud::PUBLIC, &[]).is_empty());
    }

    #[test]
    fn speech_needs_an_account_resource_id() {
        let mut speech = target(
            ServiceKind::Speech,
            "https://contoso-speech.cognitiveservices.azure.com/",
        );
        let missing = check_endpoint(&speech, &ServiceCloud::PUBLIC, &[]);
        assert_eq!(
            codes(&missing),
            vec![("speech-resource-id-missing", Severity::Error)]
        );
        assert!(missing[0].remedy.contains("aad#"));
        speech.resource_id = Some("/subscriptions/x/resourceGroups/rg".into());
        let wrong = check_endpoint(&speech, &ServiceCloud::PUBLIC, &[]);
        assert_eq!(
            codes(&wrong),
            vec![("speech-resource-id-missing", Severity::Error)]
        );
    }

    #[test]
    fn translator_global_host_needs_the_resource_id() {
        let t = target(
            ServiceKind::Translator,
            "https://api.cognitive.microsofttranslator.com/",
        );
        let findings = check_endpoint(&t, &ServiceCloud::PUBLIC, &[]);
        assert_eq!(
            codes(&findings),
            vec![("regional-endpoint", Severity::Error)]
        );
        assert!(findings[0].remedy.contains("Ocp-Apim-ResourceId"));
    }

    #[test]
    fn endpoints_of_another_kind_are_refused() {
        let search_as_openai = check_endpoint(
            &target(
                ServiceKind::Openai,
                "https://contoso-search.search.windows.net",
            ),
            &ServiceCloud::PUBLIC,
            &[],
        );
        assert_eq!(
            codes(&search_as_openai),
            vec![("endpoint-not-azure", Severity::Error)]
        );
        assert!(
            search_as_openai[0]
                .message
                .contains("Azure AI Search endpoint")
        );
        let ai_as_search = check_endpoint(
            &target(
                ServiceKind::Search,
                "https://contoso-ai.cognitiveservices.azure.com/",
            ),
            &ServiceCloud::PUBLIC,
            &[],
        );
        assert_eq!(
            codes(&ai_as_search),
            vec![("endpoint-not-azure", Severity::Error)]
        );
        let tts_as_vision = check_endpoint(
            &target(
                ServiceKind::Vision,
                "https://westeurope.tts.speech.microsoft.com/",
            ),
            &ServiceCloud::PUBLIC,
            &[],
        );
        assert_eq!(
            codes(&tts_as_vision),
            vec![("endpoint-not-azure", Severity::Error)]
        );
        let translator_as_language = check_endpoint(
            &target(
                ServiceKind::Language,
                "https://api.cognitive.microsofttranslator.com",
            ),
            &ServiceCloud::PUBLIC,
            &[],
        );
        assert_eq!(
            codes(&translator_as_language),
            vec![("endpoint-not-azure", Severity::Error)]
        );
    }

    /// A finding of a sovereign cloud that names none of the public cloud's hosts.
    fn assert_own_names(f: &Finding, cloud: &ServiceCloud) {
        let text = format!("{} {}", f.message, f.remedy);
        let public = public_cloud_hosts(&text);
        assert!(public.is_empty(), "{}: {public:?} in {f:#?}", cloud.name);
    }

    const SOVEREIGN: [ServiceCloud; 2] = [ServiceCloud::USGOV, ServiceCloud::CHINA];

    #[test]
    fn the_public_cloud_host_check_finds_bare_and_templated_names() {
        assert_eq!(
            public_cloud_hosts("zone privatelink.openai.azure.com, {name}.search.windows.net"),
            ["privatelink.openai.azure.com", "search.windows.net"]
        );
        assert!(public_cloud_hosts("https://learn.microsoft.com/azure x.azure.us").is_empty());
        assert!(public_cloud_hosts("westus.api.cognitive.microsoft.us x.azure.cn").is_empty());
    }

    #[test]
    fn a_regional_endpoint_is_remedied_with_the_clouds_custom_subdomain() {
        for cloud in SOVEREIGN {
            let url = format!("https://somewhere.{}/", cloud.regional_suffix);
            let findings = check_endpoint(&target(ServiceKind::Vision, &url), &cloud, &[]);
            assert_eq!(
                codes(&findings),
                vec![("regional-endpoint", Severity::Error)]
            );
            let own = format!("`https://NAME.{}/`", cloud.custom_subdomain_suffixes[0]);
            assert!(findings[0].remedy.contains(&own), "{}", findings[0].remedy);
            assert_own_names(&findings[0], &cloud);
        }
        let public = check_endpoint(
            &target(
                ServiceKind::Vision,
                "https://westeurope.api.cognitive.microsoft.com/",
            ),
            &ServiceCloud::PUBLIC,
            &[],
        );
        assert!(
            public[0]
                .remedy
                .ends_with("and use `https://NAME.cognitiveservices.azure.com/`."),
            "{}",
            public[0].remedy
        );
    }

    #[test]
    fn an_endpoint_of_another_kind_is_remedied_in_the_clouds_names() {
        for cloud in SOVEREIGN {
            let account = format!("https://contoso.{}/", cloud.custom_subdomain_suffixes[0]);
            let search = format!("https://contoso.{}", cloud.search_suffix);
            let tts = format!("https://somewhere.{}/", cloud.speech_regional_suffixes[0]);
            let global = format!("https://{}/", cloud.translator_global_host);
            let cases = [
                (
                    ServiceKind::Search,
                    account.as_str(),
                    cloud.search_endpoint("SERVICE"),
                ),
                (
                    ServiceKind::Openai,
                    search.as_str(),
                    cloud.search_audience.to_string(),
                ),
                (
                    ServiceKind::Vision,
                    tts.as_str(),
                    cloud.account_endpoint("NAME"),
                ),
                (
                    ServiceKind::Language,
                    global.as_str(),
                    cloud.account_endpoint("NAME"),
                ),
            ];
            for (kind, url, named) in cases {
                let findings = check_endpoint(&target(kind, url), &cloud, &[]);
                assert_eq!(
                    codes(&findings),
                    vec![("endpoint-not-azure", Severity::Error)],
                    "{kind} at {url}"
                );
                assert!(
                    findings[0].remedy.contains(&named),
                    "{}",
                    findings[0].remedy
                );
                assert_own_names(&findings[0], &cloud);
            }
        }
    }

    #[test]
    fn a_foundry_project_has_no_host_in_a_sovereign_cloud() {
        for cloud in SOVEREIGN {
            let url = format!(
                "https://contoso.{}/api/projects/p",
                cloud.custom_subdomain_suffixes[0]
            );
            let findings = check_endpoint(&target(ServiceKind::FoundryProject, &url), &cloud, &[]);
            assert_eq!(
                codes(&findings),
                vec![("endpoint-not-azure", Severity::Error)]
            );
            assert!(
                findings[0]
                    .message
                    .contains(&format!("no Foundry host in the {} cloud", cloud.name)),
                "{}",
                findings[0].message
            );
            assert!(findings[0].remedy.contains(&cloud.openai_endpoint("NAME")));
            assert_own_names(&findings[0], &cloud);

            let hub = check_endpoint(
                &target(ServiceKind::FoundryProject, "h.example;sub;rg;proj"),
                &cloud,
                &[],
            );
            assert_eq!(codes(&hub), vec![("hub-based-project", Severity::Error)]);
            assert_own_names(&hub[0], &cloud);
        }
        let public = check_endpoint(
            &target(
                ServiceKind::FoundryProject,
                "https://fdy.services.ai.azure.com/api/projects/agents",
            ),
            &ServiceCloud::PUBLIC,
            &[],
        );
        assert!(public.is_empty(), "{public:?}");
        let hub = hub_project_finding("h", &ServiceCloud::PUBLIC);
        assert!(
            hub.remedy
                .contains("(`https://ACCOUNT.services.ai.azure.com/api/projects/PROJECT`)"),
            "{}",
            hub.remedy
        );
        assert!(!hub.message.contains("  "), "{}", hub.message);
    }

    #[test]
    fn missing_inputs_and_unparsable_endpoints_are_remedied_in_the_clouds_names() {
        for cloud in SOVEREIGN {
            let global = format!("https://{}/", cloud.translator_global_host);
            let findings = check_endpoint(&target(ServiceKind::Translator, &global), &cloud, &[]);
            assert_eq!(
                codes(&findings),
                vec![("regional-endpoint", Severity::Error)]
            );
            assert!(findings[0].remedy.contains(&cloud.account_endpoint("NAME")));
            assert_own_names(&findings[0], &cloud);

            let garbage = check_endpoint(&target(ServiceKind::Vision, "contoso"), &cloud, &[]);
            assert!(garbage[0].remedy.contains(&cloud.account_endpoint("NAME")));
            assert_own_names(&garbage[0], &cloud);

            let gateway = check_endpoint(
                &target(ServiceKind::Vision, "https://gw.example/"),
                &cloud,
                &[],
            );
            assert_own_names(&gateway[0], &cloud);
        }
        // Building the request (the cloud unknown) names no host at all.
        let unparsed = parse(&target(ServiceKind::Vision, "contoso")).unwrap_err();
        assert!(
            public_cloud_hosts(&unparsed[0].remedy).is_empty(),
            "{}",
            unparsed[0].remedy
        );
    }

    #[test]
    fn private_dns_zones_per_cloud_and_host() {
        let zone =
            |cloud: &ServiceCloud, host: &str, search: bool| cloud.private_dns_zone(host, search);
        let public = &ServiceCloud::PUBLIC;
        assert_eq!(
            zone(public, "x.openai.azure.com", false),
            "privatelink.openai.azure.com"
        );
        assert_eq!(
            zone(public, "x.services.ai.azure.com", false),
            "privatelink.services.ai.azure.com"
        );
        assert_eq!(
            zone(public, "x.cognitiveservices.azure.com", false),
            "privatelink.cognitiveservices.azure.com"
        );
        assert_eq!(
            zone(public, "gw.example", true),
            "privatelink.search.windows.net"
        );
        let gov = &ServiceCloud::USGOV;
        assert_eq!(
            zone(gov, "x.openai.azure.us", false),
            "privatelink.openai.azure.us"
        );
        assert_eq!(
            zone(gov, "x.cognitiveservices.azure.us", false),
            "privatelink.cognitiveservices.azure.us"
        );
        assert_eq!(
            zone(gov, "x.search.azure.us", true),
            "privatelink.search.azure.us"
        );
        let china = &ServiceCloud::CHINA;
        assert_eq!(
            zone(china, "x.openai.azure.cn", false),
            "privatelink.openai.azure.cn"
        );
        assert_eq!(
            zone(china, "region.api.cognitive.azure.cn", false),
            "privatelink.cognitiveservices.azure.cn"
        );
        assert_eq!(
            zone(china, "x.search.azure.cn", false),
            "privatelink.search.azure.cn"
        );
        // Where a Foundry host is known, it is one of the custom subdomain hosts.
        for cloud in ServiceCloud::ALL {
            if let Some(foundry) = cloud.foundry_suffix {
                assert!(cloud.custom_subdomain_suffixes.contains(&foundry));
            }
            assert_eq!(
                cloud.project_endpoint("A", "P").is_some(),
                cloud.foundry_suffix.is_some()
            );
        }
    }

    #[test]
    fn scopes_per_cloud() {
        assert_eq!(
            ServiceKind::Openai.scope(&ServiceCloud::PUBLIC),
            "https://cognitiveservices.azure.com/.default"
        );
        assert_eq!(
            ServiceKind::Search.scope(&ServiceCloud::PUBLIC),
            "https://search.azure.com/.default"
        );
        assert_eq!(
            ServiceKind::Speech.scope(&ServiceCloud::USGOV),
            "https://cognitiveservices.azure.us/.default"
        );
        assert_eq!(ServiceCloud::by_name("china"), Some(ServiceCloud::CHINA));
        assert_eq!(ServiceCloud::by_name("mars"), None);
    }

    #[test]
    fn endpoint_input_takes_base_urls_and_documented_prefixes_only() {
        let ok = |kind, text: &str| check_endpoint_input(kind, text, &[]);
        assert!(ok(ServiceKind::Openai, "https://x.openai.azure.com").is_ok());
        assert!(ok(ServiceKind::Openai, "https://x.openai.azure.com/openai/").is_ok());
        assert!(
            ok(
                ServiceKind::Vision,
                "https://x.cognitiveservices.azure.com/vision/v3.2"
            )
            .is_ok()
        );
        let e = ok(
            ServiceKind::Openai,
            "https://x.openai.azure.com/openai/deployments/d",
        )
        .unwrap_err();
        assert!(
            e.contains("has a path") && e.contains("https://x.openai.azure.com/"),
            "{e}"
        );
        assert!(ok(ServiceKind::Search, "https://s.search.windows.net/indexes").is_err());
        assert!(ok(ServiceKind::Openai, "https://x.openai.azure.com/?a=b").is_err());
        assert!(ok(ServiceKind::Openai, "https://x.openai.azure.com/#f").is_err());
        assert!(
            ok(ServiceKind::Openai, "https://…openai.azure.com/")
                .unwrap_err()
                .contains("placeholder")
        );
        // Messages read as one line: no run of spaces from a broken line continuation.
        for text in [
            "h.example;sub;rg;proj",
            "https://fdy.services.ai.azure.com/",
        ] {
            let e = check_endpoint_input(ServiceKind::FoundryProject, text, &[]).unwrap_err();
            assert!(!e.contains("  "), "{e}");
        }
        let gateway = ["apim.contoso.example".to_string()];
        assert!(
            check_endpoint_input(
                ServiceKind::Openai,
                "https://apim.contoso.example/team-a/openai",
                &gateway
            )
            .is_ok()
        );
    }

    #[test]
    fn credentials_in_an_endpoint_are_refused_and_never_echoed() {
        for text in [
            "https://user:Zq48Q~Hk-pw@x.openai.azure.com/",
            "https://Zq48Q~Hk-pw@x.openai.azure.com/",
            "https://user:Zq48Q~Hk-pw@",
        ] {
            let e = check_endpoint_input(ServiceKind::Openai, text, &[]).unwrap_err();
            assert!(!e.contains("Zq48Q"), "{e}");
        }
        assert_eq!(
            mask_userinfo("a=openai@https://u:p@h.example/x,resource=/s"),
            "a=openai@https://***@h.example/x,resource=/s"
        );
        assert_eq!(
            mask_userinfo("https://h.example/a@b"),
            "https://h.example/a@b"
        );
    }
}
