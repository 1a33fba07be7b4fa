//! Response classification: what one probe answer proves about authorization.
//!
//! Pure. The runner sends the request and hands back status, headers and (at most 64 KiB of)
//! body; this says whether the call was authorized, denied (and why), or inconclusive. The
//! diagnosis stage refines a denial with RBAC and account evidence (a bare `permission-denied`
//! becomes `management-role-only` when only Contributor is assigned, and so on).

use super::{ActionKind, ServiceCloud, ServiceKind, Target};
use crate::diagnosis::{Code, Finding, Severity};

/// A probe's answer. Header names are lower case.
#[derive(Debug, Clone, Copy)]
pub struct Response<'a> {
    pub status: u16,
    pub headers: &'a [(String, String)],
    pub body: &'a [u8],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallOutcome {
    /// Authorization is proven. `findings` carries notes such as `throttled`.
    Authorized {
        note: String,
        findings: Vec<Finding>,
    },
    /// The service refused; the first finding is the cause as the response shows it.
    Denied { findings: Vec<Finding> },
    /// The answer does not decide authorization (server error, redirect, unknown path).
    Inconclusive { findings: Vec<Finding> },
}

impl CallOutcome {
    pub fn findings(&self) -> &[Finding] {
        match self {
            CallOutcome::Authorized { findings, .. }
            | CallOutcome::Denied { findings }
            | CallOutcome::Inconclusive { findings } => findings,
        }
    }
}

/// The request id to quote in a support case, from the headers the services set.
pub fn request_id(headers: &[(String, String)]) -> Option<String> {
    [
        "apim-request-id",
        "x-ms-request-id",
        "request-id",
        "x-request-id",
    ]
    .iter()
    .find_map(|name| header(headers, name))
    .map(|v| crate::redact::redact(v.trim()))
    .filter(|v| !v.is_empty())
}

fn header<'h>(headers: &'h [(String, String)], name: &str) -> Option<&'h str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The error fields of a body, whichever wrapping the service uses:
/// `{"error":{"code","message"}}`, `{"statusCode","message"}` (the AOAI gateway) or
/// `{"code":401000,"message"}` (Translator). Codes may be strings or numbers.
#[derive(Debug, Default)]
pub(crate) struct ErrorBody {
    pub is_json: bool,
    pub code: Option<String>,
    pub message: Option<String>,
}

fn parse_error(body: &[u8]) -> ErrorBody {
    let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) else {
        return ErrorBody::default();
    };
    let fields = value
        .get("error")
        .filter(|e| e.is_object())
        .unwrap_or(&value);
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    ErrorBody {
        is_json: true,
        code: fields.get("code").and_then(text),
        message: fields
            .get("message")
            .or_else(|| fields.get("Message"))
            .and_then(text),
    }
}

/// Everything a classifier looks at, computed once.
pub(crate) struct Ctx<'a> {
    pub target: &'a Target,
    pub status: u16,
    pub headers: &'a [(String, String)],
    pub error: ErrorBody,
    /// The body as text, lower-cased, for wording checks.
    lower: String,
    excerpt: String,
}

impl Ctx<'_> {
    pub fn header(&self, name: &str) -> Option<&str> {
        header(self.headers, name)
    }

    pub fn contains(&self, wording: &str) -> bool {
        self.lower.contains(&wording.to_ascii_lowercase())
    }

    pub fn code_is(&self, code: &str) -> bool {
        self.error
            .code
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case(code))
    }

    /// "HTTP 401 from GET /openai/models (api-version 2024-10-21): `{…}`"
    pub fn seen(&self) -> String {
        format!(
            "HTTP {} from {} (api-version {}): {}",
            self.status,
            self.target.kind.operation(self.target),
            self.target.kind.api_version_for(self.target),
            self.excerpt
        )
    }

    /// The cloud the endpoint belongs to: the probe was sent only because the endpoint is a
    /// host of the selected cloud (or a gateway on --allow-host, taken as the public cloud's).
    pub fn cloud(&self) -> ServiceCloud {
        match url::Url::parse(self.target.endpoint.trim()) {
            Ok(url) => super::endpoint::shape_and_cloud(&url).1,
            Err(_) => ServiceCloud::PUBLIC,
        }
    }

    /// The cloud the endpoint belongs to, and the audience the probe's token was requested for.
    pub fn sent_audience(&self) -> (ServiceCloud, String) {
        let cloud = self.cloud();
        let audience = self.target.audience(&cloud);
        (cloud, audience)
    }

    /// Which role to assign for the probe's action, and the facts people trip over.
    pub fn role_remedy(&self) -> String {
        let action = self.target.kind.required_action(self.target);
        let (resource, caveat) = match (self.target.kind, action.kind) {
            (ServiceKind::Search, ActionKind::Action) => (
                "search service",
                "It is a control-plane Action, so Owner, Contributor and Reader grant it too.",
            ),
            (ServiceKind::Search, ActionKind::DataAction) => (
                "search service (or the index)",
                "Owner, Contributor and Search Service Contributor grant no data actions.",
            ),
            _ => (
                "account",
                "Owner, Contributor and Cognitive Services Contributor grant no data actions.",
            ),
        };
        format!(
            "Assign {} (it grants `{}`) to this identity on the {resource}, its resource group or \
             subscription. {caveat} New assignments take up to 5–10 minutes; after a group \
             membership change, get a new token.",
            self.target.kind.granting_roles(self.target),
            action.action
        )
    }
}

/// A short, redacted excerpt of the body for messages. An Azure error body is quoted as its
/// `code: message`, which is what a reader needs (and what fits); anything else as raw text.
/// Redaction runs on the whole text after JSON decoding (an escape such as `\u0065yJ…` only
/// becomes a recognizable token once decoded) and before cutting (a cut could leave a token the
/// redactor no longer recognizes); a cut falls between words.
fn excerpt(body: &[u8]) -> String {
    const MAX_CHARS: usize = 300;
    let text = String::from_utf8_lossy(body);
    let readable = serde_json::from_str::<serde_json::Value>(&text)
        .ok()
        .and_then(|v| {
            let error = v.get("error").unwrap_or(&v);
            let message = error.get("message")?.as_str()?.trim().to_string();
            Some(match error.get("code").and_then(|c| c.as_str()) {
                Some(code) if !code.trim().is_empty() => format!("{}: {message}", code.trim()),
                _ => message,
            })
        })
        .unwrap_or_else(|| text.to_string());
    let redacted = crate::redact::redact(&readable);
    let flat: String = redacted.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.is_empty() {
        return "(empty body)".to_string();
    }
    match flat.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => {
            let cut = flat[..cut].rfind(' ').filter(|&i| i > 0).unwrap_or(cut);
            format!("`{}…`", &flat[..cut])
        }
        None => format!("`{flat}`"),
    }
}

/// Classify the answer to `target`'s probe.
pub fn classify(target: &Target, response: &Response) -> CallOutcome {
    let text = String::from_utf8_lossy(response.body);
    let ctx = Ctx {
        target,
        status: response.status,
        headers: response.headers,
        error: parse_error(response.body),
        lower: text.to_lowercase(),
        excerpt: excerpt(response.body),
    };
    if let 300..=399 = ctx.status {
        return redirect(&ctx);
    }
    if let 200..=299 = ctx.status {
        return CallOutcome::Authorized {
            note: format!(
                "HTTP {} from {} (api-version {}){}",
                ctx.status,
                target.kind.operation(target),
                target.kind.api_version_for(target),
                audience_used(&ctx)
            ),
            findings: Vec::new(),
        };
    }
    // Network, endpoint and tenant answers come before any kind's own rules: the service
    // decides them before it looks at roles, and their wording is unambiguous.
    before_the_token(&ctx)
        .or_else(|| match target.kind {
            ServiceKind::Search => super::search::classify(&ctx),
            ServiceKind::Translator => super::translator::classify(&ctx),
            ServiceKind::Speech => super::speech::classify(&ctx),
            ServiceKind::ModelInference => super::model_inference::classify(&ctx),
            _ => None,
        })
        .or_else(|| by_wording(&ctx))
        .unwrap_or_else(|| by_status(&ctx))
}

fn redirect(ctx: &Ctx) -> CallOutcome {
    let location = ctx
        .header("location")
        .and_then(|l| url::Url::parse(l).ok())
        .and_then(|u| u.host_str().map(str::to_string));
    let to = match location {
        Some(host) => format!(" to `{host}`"),
        None => String::new(),
    };
    CallOutcome::Inconclusive {
        findings: vec![Finding::new(
            Code::UnexpectedRedirect,
            format!(
                "The service redirected the probe{to} ({}). Probes never follow redirects: the \
                 Authorization header must not travel to another host.",
                ctx.seen()
            ),
            "Configure the endpoint the service answers on directly: the account's \
             `properties.endpoint` (`az cognitiveservices account show -n NAME -g RG --query \
             properties.endpoint`). A redirect usually means a gateway or a mistyped path.",
        )],
    }
}

fn denied(code: Code, message: String, remedy: impl Into<String>) -> Option<CallOutcome> {
    Some(CallOutcome::Denied {
        findings: vec![Finding::new(code, message, remedy)],
    })
}

/// Answers that stop a call before roles are looked at: the endpoint, the tenant, the network.
/// Matched on wording, whatever the status (services disagree on 400/401/403).
fn before_the_token(ctx: &Ctx) -> Option<CallOutcome> {
    if ctx.contains("custom subdomain for token authentication")
        || ctx.contains("please provide an authentication key")
    {
        return denied(
            Code::RegionalEndpoint,
            format!(
                "The service refused the token because `{}` is not the account's custom \
                 subdomain endpoint ({}); regional endpoints take keys only.",
                ctx.target.name,
                ctx.seen()
            ),
            format!(
                "Give the account a custom subdomain (`az cognitiveservices account update -n \
                 NAME -g RG --custom-domain NAME`; it cannot be changed or removed once set) and \
                 use `{}`.",
                ctx.cloud().account_endpoint("NAME")
            ),
        );
    }
    if ctx.contains("does not match resource tenant")
        || ctx.contains("tenant provided in token does not match")
    {
        let tenant = ctx
            .error
            .message
            .as_deref()
            .and_then(|m| m.split("Token tenant ").nth(1))
            .and_then(|rest| rest.split_whitespace().next())
            .map(|t| format!(" (the token is from tenant `{t}`)"))
            .unwrap_or_default();
        return denied(
            Code::TenantMismatch,
            format!(
                "The token was issued by another tenant than the resource's{tenant} ({}).",
                ctx.seen()
            ),
            "Get the token from the resource's tenant: `az login --tenant TENANT`, or set \
             `AZURE_TENANT_ID` to it for service principals; for a guest user, sign in to the \
             resource's tenant explicitly.",
        );
    }
    if ctx.contains("public access is disabled") {
        return denied(
            Code::PublicAccessDisabled,
            format!(
                "The account refuses calls from public networks ({}); the token was not judged.",
                ctx.seen()
            ),
            "Run the probe from a network with a private endpoint to the account (and DNS that \
             resolves the endpoint to the private IP), or set `publicNetworkAccess` to \
             `Enabled` with firewall rules.",
        );
    }
    if ctx.contains("virtual network/firewall rules") {
        return denied(
            Code::FirewallBlocked,
            format!(
                "The account's firewall does not admit this machine ({}); the token was not \
                 judged.",
                ctx.seen()
            ),
            "Add this machine's public IP to the account's `networkAcls.ipRules` (`az \
             cognitiveservices account network-rule add -n NAME -g RG --ip-address IP`), or run \
             from an allowed virtual network or a private endpoint.",
        );
    }
    None
}

/// Bodies whose wording names the cause of a refused or failed call.
fn by_wording(ctx: &Ctx) -> Option<CallOutcome> {
    if ctx.code_is("AuthenticationTypeDisabled") {
        return Some(CallOutcome::Inconclusive {
            findings: vec![
                Finding::new(
                    Code::ServerError,
                    format!(
                        "The service answered as if a key had been sent ({}); the probe sends \
                         only an Entra ID token, so this answer says nothing about the token.",
                        ctx.seen()
                    ),
                    "Look for a proxy or gateway between this machine and the service that adds \
                     an `Ocp-Apim-Subscription-Key` or `api-key` header, and probe the \
                     account's endpoint directly.",
                )
                .with_severity(Severity::Warning),
            ],
        });
    }
    if ctx.code_is("PermissionDenied")
        || ctx.contains("lacks the required data action")
        || ctx.contains("principal does not have access to api/operation")
    {
        return Some(CallOutcome::Denied {
            findings: vec![permission_denied(ctx)],
        });
    }
    if ctx.contains("audience is incorrect") {
        return Some(audience_answer(ctx));
    }
    if ctx.contains("invalid subscription key or wrong api endpoint") {
        return denied(
            Code::TokenRejected,
            format!(
                "The service treated the call as key-authenticated and refused it ({}); this is \
                 the answer of an endpoint that does not take Entra ID tokens [L].",
                ctx.seen()
            ),
            format!(
                "Use the account's custom subdomain endpoint (`{}`, or `{}` for Azure OpenAI), \
                 and send the token in `Authorization: Bearer`, never as an API key.",
                ctx.cloud().account_endpoint("NAME"),
                ctx.cloud().openai_endpoint("NAME")
            ),
        );
    }
    if ctx.contains("missing subscription key") {
        return denied(
            Code::TokenRejected,
            format!(
                "An API Management gateway asked for its subscription key ({}); the call never \
                 reached the AI service.",
                ctx.seen()
            ),
            "Probe the AI account's own endpoint, or configure the gateway to validate Entra \
             ID tokens (validate-jwt) instead of requiring a subscription key.",
        );
    }
    if ctx.contains("not supported for token authentication") {
        return denied(
            Code::TokenRejected,
            format!(
                "The service does not accept Entra ID tokens for this API version ({}).",
                ctx.seen()
            ),
            "Use an api-version that supports Entra ID for this call (behaviour differs between \
             versions), or a key for this API only.",
        );
    }
    if ctx.code_is("DeploymentNotFound") {
        return Some(CallOutcome::Authorized {
            note: format!(
                "the service looked up the deployment, which it does only after authorization \
                 ({})",
                ctx.seen()
            ),
            findings: Vec::new(),
        });
    }
    None
}

/// On a surface that accepts more than one audience, which one the probe used.
pub(crate) fn audience_used(ctx: &Ctx) -> String {
    let (cloud, sent) = ctx.sent_audience();
    let accepted = ctx.target.kind.accepted_audiences(ctx.target, &cloud);
    if accepted.len() < 2 {
        return String::new();
    }
    let others: Vec<&str> = accepted
        .iter()
        .copied()
        .filter(|a| !a.eq_ignore_ascii_case(&sent))
        .collect();
    format!(
        " with a token for `{sent}`; this surface also accepts `{}`",
        others.join("` or `")
    )
}

/// The audiences a gateway's 401 names: `… audience is incorrect (A or B), or have expired.`
fn named_audiences(message: &str) -> Vec<String> {
    message
        .split("audience is incorrect (")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .map(|list| {
            list.split(" or ")
                .map(|a| a.trim().trim_end_matches('/').to_string())
                .filter(|a| a.starts_with("https://") && a.len() < 200 && !a.contains(' '))
                // Quoted back in messages: never a token that a hostile body planted there.
                .map(|a| crate::redact::redact(&a))
                .collect()
        })
        .unwrap_or_default()
}

/// A gateway's "missing, invalid, audience is incorrect, or have expired" 401. It gives the
/// same answer for all four, but it names the audience it wants: when that is not the one the
/// token was requested for, the audience is the cause (whatever else may also be wrong);
/// otherwise the claims stage tells which of the other three it is.
fn audience_answer(ctx: &Ctx) -> CallOutcome {
    let (_, sent) = ctx.sent_audience();
    let wanted = named_audiences(ctx.error.message.as_deref().unwrap_or_default());
    let sent_is_wanted = wanted.iter().any(|w| w.eq_ignore_ascii_case(&sent));
    if wanted.is_empty() || sent_is_wanted {
        let expects = if wanted.is_empty() {
            String::new()
        } else {
            format!(
                " It expects `{}`, which is what was sent.",
                wanted.join("` or `")
            )
        };
        return CallOutcome::Denied {
            findings: vec![Finding::new(
                Code::TokenRejected,
                format!(
                    "The service rejected the token as missing, invalid, for the wrong audience, \
                     or expired: it gives the same answer for all four ({}).{expects} The claims \
                     stage tells which.",
                    ctx.seen()
                ),
                format!(
                    "Request the token for `{sent}/.default` and check its `aud`, `exp` and \
                     `tid` with `entraprobe token --credential ID --scope {sent}/.default`."
                ),
            )],
        };
    }
    let first = &wanted[0];
    let cloud = ctx.cloud();
    let project = if first.eq_ignore_ascii_case(cloud.foundry_audience) && wanted.len() == 1 {
        " Foundry project routes (`/api/projects/…`) accept only this audience."
    } else {
        ""
    };
    // Sovereign clouds: SDKs that hard-code the public cloud's scope are the usual cause
    // (pain-points.md #26).
    let sdk_default = if cloud == ServiceCloud::PUBLIC {
        "azure-ai-projects uses `https://ai.azure.com/.default` by default"
    } else {
        "many SDKs default to the public cloud's audience, which this cloud refuses"
    };
    CallOutcome::Denied {
        findings: vec![Finding::new(
            Code::WrongAudience,
            format!(
                "The service wants a token for `{}`, but the probe's token was requested for \
                 `{sent}` ({}).{project}",
                wanted.join("` or `"),
                ctx.seen()
            ),
            format!(
                "Request the token for `{first}/.default`: `az account get-access-token --scope \
                 {first}/.default`, `entraprobe token --credential ID --scope {first}/.default`; \
                 in Python `get_bearer_token_provider(credential, \"{first}/.default\")` (the \
                 `credential_scopes` or token-provider setting of your SDK; {sdk_default}). \
                 For this probe, drop `audience=` from the service or set it to `{first}`."
            ),
        )],
    }
}

fn permission_denied(ctx: &Ctx) -> Finding {
    let message = ctx.error.message.as_deref().unwrap_or_default();
    let between = |start: &str, end: &str| {
        message
            .split(start)
            .nth(1)
            .and_then(|rest| rest.split(end).next())
            .map(|v| v.trim().trim_matches('`').to_string())
            .filter(|v| !v.is_empty() && !v.contains(' '))
    };
    let principal = between("The principal ", " lacks");
    let action = between("required data action ", " to perform");
    let required = ctx.target.kind.required_action(ctx.target).action;
    let text = match (principal, action) {
        (principal, Some(action)) => {
            let who = principal
                .map(|p| format!("principal `{p}`"))
                .unwrap_or_else(|| "the principal".to_string());
            let expected = if action.eq_ignore_ascii_case(required) {
                String::new()
            } else {
                format!(" (entraprobe expected `{required}`)")
            };
            format!(
                "The service says {who} lacks the data action `{action}`{expected} ({}).",
                ctx.seen()
            )
        }
        _ => format!(
            "The service accepted the token but denied the call ({}); the call needs the data \
             action `{required}`.",
            ctx.seen()
        ),
    };
    Finding::new(Code::PermissionDenied, text, ctx.role_remedy())
}

/// No wording matched: the status decides.
fn by_status(ctx: &Ctx) -> CallOutcome {
    match ctx.status {
        429 => {
            let retry = ctx
                .header("retry-after")
                .map(|r| format!(" Retry-After: {}.", crate::redact::redact(r.trim())))
                .unwrap_or_default();
            // Whether a service's rate limiter runs before or after it checks the caller is not
            // documented, so a 429 decides nothing; diagnosis asks the RBAC evidence instead.
            CallOutcome::Inconclusive {
                findings: vec![Finding::new(
                    Code::Throttled,
                    format!(
                        "The service throttled the probe ({}) before saying whether this \
                         identity may call it.{retry}",
                        ctx.seen()
                    ),
                    "Retry later (entraprobe run --wait-for-access 2m retries throttled cells, \
                     honouring Retry-After). If throttling persists, lower the request rate of \
                     whatever shares the account's quota, or raise the quota.",
                )],
            }
        }
        404 => CallOutcome::Inconclusive {
            findings: vec![Finding::new(
                Code::NotFound,
                format!(
                    "The endpoint does not serve {} ({}); authorization was not decided.",
                    ctx.target.kind.operation(ctx.target),
                    ctx.seen()
                ),
                format!(
                    "Check that `{}` really is a `{}` account's endpoint (the account kind must \
                     offer this API) and that api-version {} is available in its region.",
                    ctx.target.name,
                    ctx.target.kind,
                    ctx.target.kind.api_version()
                ),
            )],
        },
        400 if ctx.error.is_json && !may_precede_authorization(ctx) => CallOutcome::Authorized {
            note: format!(
                "the service validated the request, which it does only after authorization [L] \
                 ({})",
                ctx.seen()
            ),
            findings: Vec::new(),
        },
        401 => CallOutcome::Denied {
            findings: vec![Finding::new(
                Code::TokenRejected,
                format!("The service did not accept the token ({}).", ctx.seen()),
                "Check the token's `aud`, `exp` and `tid` with `entraprobe token --credential ID`, \
                 and that the endpoint is the account's custom subdomain.",
            )],
        },
        403 => CallOutcome::Denied {
            findings: vec![Finding::new(
                Code::PermissionDenied,
                format!(
                    "The service refused the call with an answer entraprobe does not recognize \
                     ({}); the call needs `{}`.",
                    ctx.seen(),
                    ctx.target.kind.required_action(ctx.target).action
                ),
                format!(
                    "{} Also check the resource's network rules (`publicNetworkAccess` and its \
                     firewall).",
                    ctx.role_remedy()
                ),
            )],
        },
        status => {
            let request = request_id(ctx.headers)
                .map(|id| format!(" (request id `{id}`)"))
                .unwrap_or_default();
            let remedy = if status >= 500 {
                format!(
                    "Retry later; if it persists, open a support case quoting the request id{request}."
                )
            } else {
                format!(
                    "Check the endpoint and kind of `{}`; entraprobe did not expect HTTP {status} \
                     for this call{request}.",
                    ctx.target.name
                )
            };
            CallOutcome::Inconclusive {
                findings: vec![Finding::new(
                    Code::ServerError,
                    format!(
                        "Unexpected answer ({}); authorization was not decided.",
                        ctx.seen()
                    ),
                    remedy,
                )],
            }
        }
    }
}

/// Could a 400 with this body have been sent before authorization? Bodies that talk about
/// authentication, or about the api-version (which a gateway may check first), do not prove
/// that the token was accepted.
fn may_precede_authorization(ctx: &Ctx) -> bool {
    [
        "token",
        "authenticat",
        "authoriz",
        "subdomain",
        "subscription key",
        "api key",
        "credential",
        "tenant",
        "access denied",
        "permission",
        "api-version",
        "api version",
    ]
    .iter()
    .any(|w| ctx.contains(w))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::service::test_support::*;
    use crate::service::{AuthHeader, authorization_value};

    /// Real bodies (reference/azure-wire.md §7–8), byte for byte, including the space some
    /// gateways put after `"message":`.
    const AOAI_MODELS: &str = r#"{"data":[{"id":"gpt-4o-2024-08-06","status":"succeeded","created_at":1646126127,"capabilities":{"fine_tune":false,"inference":true,"completion":false,"chat_completion":true,"embeddings":false},"lifecycle_status":"generally-available","deprecation":{"inference":1750000000},"object":"model"}],"object":"list"}"#;
    const THROTTLED: &str = r#"{"error":{"code":"429","message": "Requests to the Sentiment Operation under Text Analytics API (v3.2-preview.2) have exceeded rate limit of your current TextAnalytics S pricing tier. Please retry after 1 second. Please contact Azure support service if you would like to further increase the default rate limit."}}"#;
    const DEPLOYMENT_NOT_FOUND: &str = r#"{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again."}}"#;
    const LACKS_DATA_ACTION: &str = r#"{"error":{"code":"PermissionDenied","message":"The principal `11112222-bbbb-3333-cccc-4444dddd5555` lacks the required data action `Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action` to perform `POST /openai/deployments/{deployment-id}/chat/completions` operation."}}"#;
    const NO_ACCESS_OLD: &str = r#"{"error":{"code":"PermissionDenied","message":"Principal does not have access to API/Operation."}}"#;
    const TOKEN_REJECTED: &str = r#"{"statusCode":401,"message":"Unauthorized. Access token is missing, invalid, audience is incorrect (https://cognitiveservices.azure.com), or have expired."}"#;
    const CUSTOM_SUBDOMAIN: &str = r#"{"error":{"code":"BadRequest","message":"Please provide a custom subdomain for token authentication, otherwise API key is required."}}"#;
    const AUTH_KEY_OLD: &str =
        r#"{"error":{"code":"BadRequest","message":"Please provide an authentication key."}}"#;
    const TENANT: &str = r#"{"error":{"code":"Tenant provided in token does not match resource token","message":"Token tenant aaaabbbb-0000-cccc-1111-dddd2222eeee does not match resource tenant."}}"#;
    const PUBLIC_DISABLED: &str = r#"{"error":{"code":"403","message": "Public access is disabled. Please configure private endpoint."}}"#;
    const PUBLIC_DISABLED_OLD: &str = r#"{"error":{"code":"AccessDenied","message":"Public access is disabled. Please configure private endpoint."}}"#;
    const FIREWALL: &str = r#"{"error":{"code":"403","message": "Access denied due to Virtual Network/Firewall rules."}}"#;
    const KEY_AUTH_DISABLED: &str = r#"{"error":{"code":"AuthenticationTypeDisabled","message": "Key based authentication is disabled for this resource."}}"#;
    const WRONG_KEY_OR_ENDPOINT: &str = r#"{"error":{"code":"401","message": "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}"#;
    const APIM_MISSING_KEY: &str = r#"{ "statusCode": 401, "message": "Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API." }"#;
    const RESOURCE_NOT_FOUND: &str = r#"{"error":{"code":"404","message": "Resource not found"}}"#;
    const SEARCH_AUTH_FAILED: &str = r#"{"error":{"code":"","message":"Authorization failed."}}"#;
    const TRANSLATOR_401000: &str = r#"{"error":{"code":401000,"message":"The request isn't authorized because credentials are missing or invalid."}}"#;
    const TRANSLATOR_401000_BARE: &str = r#"{"code":401000,"message":"The request is not authorized because credentials are missing or invalid."}"#;
    const TRANSLATOR_OK: &str = r#"[{"detectedLanguage":{"language":"es","score":1.0},"translations":[{"text":"Hello","to":"en"}]}]"#;

    fn lower(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn run(target: &Target, status: u16, headers: &[(&str, &str)], body: &str) -> CallOutcome {
        let headers = lower(headers);
        classify(
            target,
            &Response {
                status,
                headers: &headers,
                body: body.as_bytes(),
            },
        )
    }

    fn oai() -> Target {
        target(ServiceKind::Openai, "https://contoso-oai.openai.azure.com/")
    }

    fn denied(outcome: &CallOutcome) -> &Finding {
        match outcome {
            CallOutcome::Denied { findings } => &findings[0],
            other => panic!("expected Denied, got {other:?}"),
        }
    }

    fn inconclusive(outcome: &CallOutcome) -> &Finding {
        match outcome {
            CallOutcome::Inconclusive { findings } => &findings[0],
            other => panic!("expected Inconclusive, got {other:?}"),
        }
    }

    fn authorized(outcome: &CallOutcome) -> (&str, &[Finding]) {
        match outcome {
            CallOutcome::Authorized { note, findings } => (note, findings),
            other => panic!("expected Authorized, got {other:?}"),
        }
    }

    #[test]
    fn success_bodies_are_authorized() {
        let mut speech = target(
            ServiceKind::Speech,
            "https://contoso-ai.cognitiveservices.azure.com/",
        );
        speech.resource_id = Some(ACCOUNT_ID.into());
        let cases = [
            (oai(), AOAI_MODELS),
            (
                target(
                    ServiceKind::Vision,
                    "https://contoso-ai.cognitiveservices.azure.com/",
                ),
                r#"{"models":[{"name":"celebrities","categories":["people_"]},{"name":"landmarks","categories":["outdoor_"]}]}"#,
            ),
            (
                target(
                    ServiceKind::Language,
                    "https://contoso-ai.cognitiveservices.azure.com/",
                ),
                r#"{"kind":"LanguageDetectionResults","results":{"documents":[{"id":"1","detectedLanguage":{"name":"English","iso6391Name":"en","confidenceScore":1.0},"warnings":[]}],"errors":[],"modelVersion":"2022-10-01"}}"#,
            ),
            (
                target(
                    ServiceKind::Translator,
                    "https://contoso-ai.cognitiveservices.azure.com/",
                ),
                TRANSLATOR_OK,
            ),
            (
                target(
                    ServiceKind::DocumentIntelligence,
                    "https://contoso-ai.cognitiveservices.azure.com/",
                ),
                r#"{"customDocumentModels":{"count":2,"limit":13}}"#,
            ),
            (
                target(
                    ServiceKind::ContentSafety,
                    "https://contoso-ai.cognitiveservices.azure.com/",
                ),
                r#"{"value":[],"nextLink":null}"#,
            ),
            (
                speech,
                r#"[{"Name":"Microsoft Server Speech Text to Speech Voice (en-US, JennyNeural)","DisplayName":"Jenny","LocalName":"Jenny","ShortName":"en-US-JennyNeural","Gender":"Female","Locale":"en-US","LocaleName":"English (United States)","SampleRateHertz":"24000","VoiceType":"Neural","Status":"GA","WordsPerMinute":"152"}]"#,
            ),
            (
                target(
                    ServiceKind::Search,
                    "https://contoso-search.search.windows.net",
                ),
                r#"{"@odata.context":"https://contoso-search.search.windows.net/$metadata#indexes(name)","value":[{"name":"idx"}]}"#,
            ),
        ];
        for (t, body) in cases {
            let outcome = run(&t, 200, &[], body);
            let (note, findings) = authorized(&outcome);
            assert!(findings.is_empty());
            assert!(note.contains(t.kind.api_version()), "{note}");
        }
        // Search's $count answers text/plain.
        let mut count = target(
            ServiceKind::Search,
            "https://contoso-search.search.windows.net",
        );
        count.index = Some("products".into());
        authorized(&run(&count, 200, &[], "42"));
    }

    #[test]
    fn throttling_decides_nothing() {
        // Issue 9: a 429 is never proof of access, whatever order the service checks in.
        let outcome = run(
            &oai(),
            429,
            &[("retry-after", "1"), ("apim-request-id", "r-1")],
            THROTTLED,
        );
        let finding = inconclusive(&outcome);
        assert_eq!(finding.code, Code::Throttled);
        assert_eq!(finding.severity, Severity::Warning);
        assert!(
            finding.message.contains("Retry-After: 1"),
            "{}",
            finding.message
        );
        assert!(!finding.message.contains("proven"), "{}", finding.message);
    }

    #[test]
    fn post_auth_errors_prove_authorization() {
        authorized(&run(&oai(), 404, &[], DEPLOYMENT_NOT_FOUND));
        let language = target(
            ServiceKind::Language,
            "https://contoso-ai.cognitiveservices.azure.com/",
        );
        // Illustrative validation error (no real paste in the reference): it names no token.
        let invalid = r#"{"error":{"code":"InvalidRequest","message":"Invalid Request.","innererror":{"code":"InvalidArgument","message":"Invalid document in request."}}}"#;
        let outcome = run(&language, 400, &[], invalid);
        let (note, _) = authorized(&outcome);
        assert!(note.contains("[L]"), "{note}");
        // A 400 that talks about tokens is not a validation error.
        let token_400 =
            r#"{"error":{"code":"BadRequest","message":"The access token is malformed."}}"#;
        assert_eq!(
            inconclusive(&run(&language, 400, &[], token_400)).code,
            Code::ServerError
        );
        // Nor is a complaint about the api-version, which may be checked before the token.
        let search = target(
            ServiceKind::Search,
            "https://contoso-search.search.windows.net",
        );
        let bad_version = r#"{"error":{"code":"","message":"Invalid or missing api-version query string parameter."}}"#;
        assert_eq!(
            inconclusive(&run(&search, 400, &[], bad_version)).code,
            Code::ServerError
        );
    }

    #[test]
    fn permission_denied_names_principal_and_data_action() {
        let finding = denied(&run(&oai(), 401, &[], LACKS_DATA_ACTION)).clone();
        assert_eq!(finding.code, Code::PermissionDenied);
        assert!(
            finding
                .message
                .contains("principal `11112222-bbbb-3333-cccc-4444dddd5555`"),
            "{}",
            finding.message
        );
        assert!(finding.message.contains("lacks the data action `Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action`"));
        assert!(finding.message.contains(
            "entraprobe expected `Microsoft.CognitiveServices/accounts/OpenAI/models/read`"
        ));
        assert!(finding.remedy.contains("Cognitive Services OpenAI User"));

        let matching =
            LACKS_DATA_ACTION.replace("deployments/chat/completions/action", "models/read");
        let foundry = matching.replace(
            " operation.\"",
            " operation. For instructions on granting the necessary permissions, see https://aka.ms/FoundryPermissions.\"",
        );
        for body in [matching.as_str(), foundry.as_str()] {
            let finding = denied(&run(&oai(), 401, &[], body)).clone();
            assert!(finding.message.contains("lacks the data action `Microsoft.CognitiveServices/accounts/OpenAI/models/read` ("), "{}", finding.message);
            assert!(!finding.message.contains("expected"));
        }

        let old = denied(&run(&oai(), 401, &[], NO_ACCESS_OLD)).clone();
        assert_eq!(old.code, Code::PermissionDenied);
        assert!(
            old.message
                .contains("`Microsoft.CognitiveServices/accounts/OpenAI/models/read`")
        );
        assert!(
            old.message
                .contains("Principal does not have access to API/Operation.")
        );
    }

    #[test]
    fn token_rejections() {
        let finding = denied(&run(&oai(), 401, &[], TOKEN_REJECTED)).clone();
        assert_eq!(finding.code, Code::TokenRejected);
        assert!(
            finding.message.contains(
                "It expects `https://cognitiveservices.azure.com`, which is what was sent"
            ),
            "{}",
            finding.message
        );

        // The project gateway names `https://ai.azure.com`: a token requested for another
        // audience is the cause, and the remedy says how to ask for the right one.
        const PROJECT_AUDIENCE: &str = r#"{"statusCode":401,"message":"Unauthorized. Access token is missing, invalid, audience is incorrect (https://ai.azure.com), or have expired."}"#;
        let mut project = target(
            ServiceKind::FoundryProject,
            "https://fdy.services.ai.azure.com/api/projects/agents",
        );
        project.audience = Some("https://cognitiveservices.azure.com".into());
        let wrong = denied(&run(&project, 401, &[], PROJECT_AUDIENCE)).clone();
        assert_eq!(wrong.code, Code::WrongAudience);
        assert!(
            wrong
                .message
                .contains("wants a token for `https://ai.azure.com`"),
            "{}",
            wrong.message
        );
        assert!(
            wrong
                .message
                .contains("requested for `https://cognitiveservices.azure.com`")
        );
        assert!(
            wrong
                .remedy
                .contains("--scope https://ai.azure.com/.default"),
            "{}",
            wrong.remedy
        );
        // The right audience and the same body: expired or invalid, not the audience.
        project.audience = None;
        let same = denied(&run(&project, 401, &[], PROJECT_AUDIENCE)).clone();
        assert_eq!(same.code, Code::TokenRejected);
        // Either of two named audiences is right.
        const EITHER: &str = r#"{"statusCode":401,"message":"Unauthorized. Access token is missing, invalid, audience is incorrect (https://cognitiveservices.azure.com/ or https://ai.azure.com/), or have expired."}"#;
        let mut models = target(
            ServiceKind::ModelInference,
            "https://fdy.services.ai.azure.com/",
        );
        models.audience = Some("https://ai.azure.com".into());
        assert_eq!(
            denied(&run(&models, 401, &[], EITHER)).code,
            Code::TokenRejected
        );
        models.audience = Some("https://ml.azure.com".into());
        let ml = denied(&run(&models, 401, &[], EITHER)).clone();
        assert_eq!(ml.code, Code::WrongAudience);
        assert!(
            ml.message
                .contains("`https://cognitiveservices.azure.com` or `https://ai.azure.com`")
        );

        let wrong_key = denied(&run(&oai(), 401, &[], WRONG_KEY_OR_ENDPOINT)).clone();
        assert_eq!(wrong_key.code, Code::TokenRejected);
        assert!(wrong_key.remedy.contains("Authorization: Bearer"));

        let apim = denied(&run(&oai(), 401, &[], APIM_MISSING_KEY)).clone();
        assert_eq!(apim.code, Code::TokenRejected);
        assert!(apim.message.contains("API Management"));

        let unknown = denied(&run(&oai(), 401, &[], "nope")).clone();
        assert_eq!(unknown.code, Code::TokenRejected);
    }

    #[test]
    fn answers_on_a_sovereign_host_are_remedied_in_its_clouds_names() {
        for cloud in [ServiceCloud::USGOV, ServiceCloud::CHINA] {
            let own = |f: &Finding| {
                let public = crate::service::endpoint::public_cloud_hosts(&f.remedy);
                assert!(public.is_empty(), "{}: {public:?} in {f:#?}", cloud.name);
            };
            let regional = target(
                ServiceKind::Vision,
                &format!("https://region.{}/", cloud.regional_suffix),
            );
            let f = denied(&run(&regional, 400, &[], CUSTOM_SUBDOMAIN)).clone();
            assert_eq!(f.code, Code::RegionalEndpoint);
            assert!(
                f.remedy.contains(&cloud.account_endpoint("NAME")),
                "{}",
                f.remedy
            );
            own(&f);

            let oai = target(
                ServiceKind::Openai,
                &format!("https://contoso.{}/", cloud.openai_suffix),
            );
            let f = denied(&run(&oai, 401, &[], WRONG_KEY_OR_ENDPOINT)).clone();
            assert!(
                f.remedy.contains(&cloud.openai_endpoint("NAME")),
                "{}",
                f.remedy
            );
            own(&f);

            let global = target(
                ServiceKind::Translator,
                &format!("https://{}/", cloud.translator_global_host),
            );
            let f = denied(&run(&global, 401, &[], TRANSLATOR_401000)).clone();
            assert!(
                f.remedy.contains(&cloud.account_endpoint("NAME")),
                "{}",
                f.remedy
            );
            own(&f);
        }
        // The public cloud's wording is unchanged.
        let regional = target(
            ServiceKind::Vision,
            "https://westeurope.api.cognitive.microsoft.com/",
        );
        let f = denied(&run(&regional, 400, &[], CUSTOM_SUBDOMAIN)).clone();
        assert!(
            f.remedy
                .ends_with("once set) and use `https://NAME.cognitiveservices.azure.com/`."),
            "{}",
            f.remedy
        );
        let f = denied(&run(&oai(), 401, &[], WRONG_KEY_OR_ENDPOINT)).clone();
        assert!(f.remedy.starts_with(
            "Use the account's custom subdomain endpoint (`https://NAME.cognitiveservices.azure.com/`, or `https://NAME.openai.azure.com/` for Azure OpenAI), and send"
        ), "{}", f.remedy);
    }

    #[test]
    fn a_wrong_audience_on_a_sovereign_host_names_no_public_audience_it_did_not_ask_for() {
        const GOV_WANTS: &str = r#"{"statusCode":401,"message":"Unauthorized. Access token is missing, invalid, audience is incorrect (https://cognitiveservices.azure.us), or have expired."}"#;
        let mut t = target(ServiceKind::Openai, "https://contoso.openai.azure.us/");
        t.audience = Some("https://cognitiveservices.azure.us/x".into());
        let f = denied(&run(&t, 401, &[], GOV_WANTS)).clone();
        assert_eq!(f.code, Code::WrongAudience);
        assert!(
            f.remedy
                .contains("--scope https://cognitiveservices.azure.us/.default"),
            "{}",
            f.remedy
        );
        assert!(
            crate::service::endpoint::public_cloud_hosts(&f.remedy).is_empty(),
            "{}",
            f.remedy
        );
        assert!(
            !f.message.contains("Foundry project routes"),
            "{}",
            f.message
        );
    }

    #[test]
    fn endpoint_tenant_and_network_denials() {
        let vision = target(
            ServiceKind::Vision,
            "https://westeurope.api.cognitive.microsoft.com/",
        );
        for (status, body) in [
            (400, CUSTOM_SUBDOMAIN),
            (400, AUTH_KEY_OLD),
            (401, AUTH_KEY_OLD),
        ] {
            assert_eq!(
                denied(&run(&vision, status, &[], body)).code,
                Code::RegionalEndpoint,
                "{body}"
            );
        }
        let tenant = denied(&run(&oai(), 400, &[], TENANT)).clone();
        assert_eq!(tenant.code, Code::TenantMismatch);
        assert!(
            tenant
                .message
                .contains("`aaaabbbb-0000-cccc-1111-dddd2222eeee`"),
            "{}",
            tenant.message
        );
        for body in [PUBLIC_DISABLED, PUBLIC_DISABLED_OLD] {
            assert_eq!(
                denied(&run(&oai(), 403, &[], body)).code,
                Code::PublicAccessDisabled
            );
        }
        assert_eq!(
            denied(&run(&oai(), 403, &[], FIREWALL)).code,
            Code::FirewallBlocked
        );
    }

    #[test]
    fn key_auth_disabled_is_inconclusive_for_an_entra_probe() {
        let finding = inconclusive(&run(&oai(), 403, &[], KEY_AUTH_DISABLED)).clone();
        assert_eq!(finding.code, Code::ServerError);
        assert_eq!(finding.severity, Severity::Warning);
        assert!(finding.message.contains("only an Entra ID token"));
    }

    #[test]
    fn not_found_redirect_and_server_errors_are_inconclusive() {
        let nf = inconclusive(&run(&oai(), 404, &[], RESOURCE_NOT_FOUND)).clone();
        assert_eq!(nf.code, Code::NotFound);
        assert!(nf.remedy.contains("2024-10-21"));

        let redirect = inconclusive(&run(
            &oai(),
            302,
            &[("location", "https://elsewhere.example.com/login?x=1")],
            "",
        ))
        .clone();
        assert_eq!(redirect.code, Code::UnexpectedRedirect);
        assert!(
            redirect.message.contains("`elsewhere.example.com`"),
            "{}",
            redirect.message
        );
        assert!(redirect.message.contains("(empty body)"));

        let server = inconclusive(&run(
            &oai(),
            503,
            &[("x-ms-request-id", "req-77")],
            "upstream connect error",
        ))
        .clone();
        assert_eq!(server.code, Code::ServerError);
        assert!(server.remedy.contains("`req-77`"), "{}", server.remedy);

        let odd = inconclusive(&run(&oai(), 418, &[], "")).clone();
        assert_eq!(odd.code, Code::ServerError);
        assert!(odd.message.contains("HTTP 418"));
    }

    #[test]
    fn unrecognized_403_is_a_denial() {
        let finding = denied(&run(
            &oai(),
            403,
            &[],
            r#"{"error":{"code":"Forbidden","message":"no"}}"#,
        ))
        .clone();
        assert_eq!(finding.code, Code::PermissionDenied);
    }

    #[test]
    fn search_answers() {
        let list = target(
            ServiceKind::Search,
            "https://contoso-search.search.windows.net",
        );
        let mut docs = list.clone();
        docs.index = Some("products".into());

        let failed = denied(&run(&list, 403, &[], SEARCH_AUTH_FAILED)).clone();
        assert_eq!(failed.code, Code::PermissionDenied);
        assert!(failed.message.contains("apiKeyOnly"));
        assert!(
            failed
                .message
                .contains("`Microsoft.Search/searchServices/indexes/read` (an Action"),
            "{}",
            failed.message
        );
        assert!(failed.remedy.contains("Search Service Contributor"));
        let failed_docs = denied(&run(&docs, 403, &[], SEARCH_AUTH_FAILED)).clone();
        assert!(
            failed_docs
                .message
                .contains("indexes/documents/read` (a data action")
        );
        assert!(failed_docs.remedy.contains("Search Index Data Reader"));

        let challenge = [(
            "www-authenticate",
            r#"Bearer authorization_uri="https://login.microsoftonline.com/0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11/oauth2/authorize""#,
        )];
        let rejected = denied(&run(&list, 401, &challenge, "")).clone();
        assert_eq!(rejected.code, Code::TokenRejected);
        assert!(
            rejected
                .message
                .contains("tenant `0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11`"),
            "{}",
            rejected.message
        );
        assert_eq!(denied(&run(&list, 401, &[], "")).code, Code::TokenRejected);

        assert_eq!(
            denied(&run(&list, 403, &[], "Forbidden")).code,
            Code::FirewallBlocked
        );
        // Network and tenant wording wins over Search's own 403 rule.
        assert_eq!(
            denied(&run(&list, 403, &[], FIREWALL)).code,
            Code::FirewallBlocked
        );
        assert_eq!(
            denied(&run(&list, 403, &[], PUBLIC_DISABLED)).code,
            Code::PublicAccessDisabled
        );
        assert_eq!(
            denied(&run(&list, 400, &[], TENANT)).code,
            Code::TenantMismatch
        );

        let missing = inconclusive(&run(
            &docs,
            404,
            &[],
            r#"{"error":{"code":"","message":"The index 'products' for service 'contoso-search' was not found."}}"#,
        ))
        .clone();
        assert_eq!(missing.code, Code::NotFound);
        assert!(missing.message.contains("no index `products`"));
        assert_eq!(
            inconclusive(&run(&list, 429, &[], "")).code,
            Code::Throttled
        );
    }

    #[test]
    fn translator_answers() {
        let mut global = target(
            ServiceKind::Translator,
            "https://api.cognitive.microsofttranslator.com/",
        );
        global.resource_id = Some(ACCOUNT_ID.into());
        for body in [TRANSLATOR_401000, TRANSLATOR_401000_BARE] {
            let finding = denied(&run(&global, 401, &[], body)).clone();
            assert_eq!(finding.code, Code::TokenRejected);
            assert!(
                finding.message.contains("no region is configured"),
                "{}",
                finding.message
            );
            assert!(finding.remedy.contains("region=LOCATION"));
        }
        let mut with_region = global.clone();
        with_region.region = Some("westeurope".into());
        let finding = denied(&run(&with_region, 401, &[], TRANSLATOR_401000)).clone();
        assert!(
            finding.message.contains("(`westeurope`)"),
            "{}",
            finding.message
        );

        let custom = target(
            ServiceKind::Translator,
            "https://contoso-ai.cognitiveservices.azure.com/",
        );
        let finding = denied(&run(&custom, 401, &[], TRANSLATOR_401000)).clone();
        assert_eq!(finding.code, Code::TokenRejected);
        assert!(!finding.message.contains("region"), "{}", finding.message);

        let speech_creds = r#"{"error":{"code":401015,"message":"The credentials provided are for the Speech API. This request requires credentials for the Text API. Use a Translator resource."}}"#;
        assert_eq!(
            denied(&run(&custom, 401, &[], speech_creds)).code,
            Code::TokenRejected
        );
        let not_allowed = r#"{"error":{"code":403000,"message":"The operation isn't allowed."}}"#;
        assert_eq!(
            denied(&run(&custom, 403, &[], not_allowed)).code,
            Code::PermissionDenied
        );
        let quota = r#"{"error":{"code":403001,"message":"The operation isn't allowed because the subscription exceeded its free quota."}}"#;
        assert_eq!(
            inconclusive(&run(&custom, 403, &[], quota)).code,
            Code::Throttled
        );
        // Translator's PermissionDenied through the Cognitive Services gateway is the common one.
        assert_eq!(
            denied(&run(&custom, 401, &[], NO_ACCESS_OLD)).code,
            Code::PermissionDenied
        );
    }

    #[test]
    fn speech_bare_401_explains_the_aad_form() {
        let mut speech = target(
            ServiceKind::Speech,
            "https://contoso-ai.cognitiveservices.azure.com/",
        );
        speech.resource_id = Some(ACCOUNT_ID.into());
        let finding = denied(&run(&speech, 401, &[], "")).clone();
        assert_eq!(finding.code, Code::TokenRejected);
        assert!(
            finding.message.contains("aad#{resourceId}#{token}"),
            "{}",
            finding.message
        );
        assert!(finding.message.contains("contoso-ai"));
        assert_eq!(
            denied(&run(&speech, 401, &[], NO_ACCESS_OLD)).code,
            Code::PermissionDenied
        );
    }

    #[test]
    fn document_intelligence_token_auth_not_supported() {
        let di = target(
            ServiceKind::DocumentIntelligence,
            "https://contoso-ai.cognitiveservices.azure.com/",
        );
        let body = r#"{"error":{"code":"401","message":"API operation not supported for token authentication"}}"#;
        let finding = denied(&run(&di, 401, &[], body)).clone();
        assert_eq!(finding.code, Code::TokenRejected);
        assert!(finding.message.contains("2024-11-30"));
    }

    /// Every non-authorized answer, for every kind, names the call's api-version and quotes the
    /// body only in short, redacted form.
    #[test]
    fn every_finding_names_the_api_version_and_keeps_excerpts_short() {
        let long = format!(
            r#"{{"error":{{"code":"X","message":"{}"}}}}"#,
            "a".repeat(5000)
        );
        let bodies = [
            LACKS_DATA_ACTION,
            NO_ACCESS_OLD,
            TOKEN_REJECTED,
            CUSTOM_SUBDOMAIN,
            TENANT,
            PUBLIC_DISABLED,
            FIREWALL,
            KEY_AUTH_DISABLED,
            RESOURCE_NOT_FOUND,
            SEARCH_AUTH_FAILED,
            TRANSLATOR_401000,
            "",
            "<html>Forbidden</html>",
            long.as_str(),
        ];
        for kind in ServiceKind::ALL {
            let mut t = target(kind, "https://contoso-ai.cognitiveservices.azure.com/");
            t.resource_id = Some(ACCOUNT_ID.into());
            for status in [302, 400, 401, 403, 404, 409, 500, 503] {
                for body in bodies {
                    let outcome = run(&t, status, &[], body);
                    for f in outcome.findings() {
                        assert!(
                            f.message.contains(kind.api_version()),
                            "{kind} {status} {body}: {}",
                            f.message
                        );
                        assert!(
                            f.message.len() < 1200,
                            "{kind} {status}: {}",
                            f.message.len()
                        );
                        assert!(!f.remedy.is_empty());
                    }
                }
            }
        }
    }

    /// The Authorization value is a secret: no finding or note may contain it, even when a
    /// service echoes the request header back.
    #[test]
    fn authorization_value_never_reaches_findings() {
        // A token-shaped value built here (its "signature" is plain text), never a real token.
        let b64 = |t: &str| {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(t)
        };
        let jwt = &format!(
            "{}.{}.{}",
            b64(r#"{"typ":"JWT","alg":"RS256"}"#),
            b64(r#"{"aud":"https://cognitiveservices.azure.com","tid":"0f6c"}"#),
            b64("signature-signature-signature")
        );
        let values = [
            authorization_value(&AuthHeader::Bearer, jwt),
            authorization_value(
                &AuthHeader::SpeechAad {
                    resource_id: ACCOUNT_ID.into(),
                },
                jwt,
            ),
        ];
        let payload = jwt.split('.').nth(1).unwrap();
        let signature = jwt.split('.').nth(2).unwrap();
        for value in &values {
            let bodies = [
                format!(
                    r#"{{"error":{{"code":"PermissionDenied","message":"bad header {value}"}}}}"#
                ),
                format!(
                    r#"{{"statusCode":401,"message":"Unauthorized. Access token is missing, invalid, audience is incorrect ({value}), or have expired."}}"#
                ),
                format!(r#"{{"error":{{"code":"InvalidRequest","message":"echo {value}"}}}}"#),
                // The token straddles the excerpt cut.
                format!("{}{value}", "x".repeat(150)),
                value.clone(),
            ];
            for kind in ServiceKind::ALL {
                let t = target(kind, "https://contoso-ai.cognitiveservices.azure.com/");
                for status in [200, 302, 400, 401, 403, 404, 429, 500] {
                    for body in &bodies {
                        let headers = [
                            ("location", value.as_str()),
                            ("apim-request-id", value.as_str()),
                        ];
                        let outcome = run(&t, status, &headers, body);
                        let mut texts: Vec<String> = outcome
                            .findings()
                            .iter()
                            .flat_map(|f| [f.message.clone(), f.remedy.clone()])
                            .collect();
                        if let CallOutcome::Authorized { note, .. } = &outcome {
                            texts.push(note.clone());
                        }
                        for text in texts {
                            assert!(!text.contains(jwt), "{kind} {status}: {text}");
                            assert!(!text.contains(payload), "{kind} {status}: {text}");
                            assert!(!text.contains(signature), "{kind} {status}: {text}");
                        }
                    }
                }
            }
        }
        let headers = lower(&[("apim-request-id", values[0].as_str())]);
        assert!(!request_id(&headers).unwrap().contains(payload));
    }

    #[test]
    fn role_remedies_fit_the_kind_of_action() {
        let vision = target(
            ServiceKind::Vision,
            "https://contoso-ai.cognitiveservices.azure.com/",
        );
        let cs = denied(&run(&vision, 401, &[], NO_ACCESS_OLD)).clone();
        assert!(cs.remedy.contains("Cognitive Services User (it grants `Microsoft.CognitiveServices/accounts/ComputerVision/models/read`)"), "{}", cs.remedy);
        assert!(cs.remedy.contains("grant no data actions"));
        let list = target(
            ServiceKind::Search,
            "https://contoso-search.search.windows.net",
        );
        let search = denied(&run(&list, 401, &[], NO_ACCESS_OLD)).clone();
        assert_eq!(search.code, Code::TokenRejected);
        let unknown_403 = denied(&run(
            &list,
            403,
            &[],
            r#"{"error":{"code":"Forbidden","message":"no"}}"#,
        ))
        .clone();
        assert!(
            unknown_403
                .remedy
                .contains("Owner, Contributor and Reader grant it too"),
            "{}",
            unknown_403.remedy
        );
    }

    /// Whatever comes back, classification answers and never panics.
    #[test]
    fn odd_answers_never_panic() {
        let multibyte = "é".repeat(400);
        let bodies: Vec<Vec<u8>> = vec![
            vec![0xff, 0xfe, 0x00, 0xc3],
            br#"{"error":null}"#.to_vec(),
            br#"{"error":"flat string"}"#.to_vec(),
            br#"{"error":{"code":{},"message":[]}}"#.to_vec(),
            br#"{"code":1e400,"message":1}"#.to_vec(),
            b"[]".to_vec(),
            br#"{"error":{"code":"PermissionDenied","message":"The principal ` lacks the required data action ` to perform"}}"#.to_vec(),
            br#"{"error":{"code":"x","message":"Token tenant"}}"#.to_vec(),
            multibyte.into_bytes(),
            vec![b'{'; 70_000],
        ];
        let headers = lower(&[
            ("www-authenticate", "Bearer authorization_uri=\""),
            ("location", "::"),
        ]);
        for kind in ServiceKind::ALL {
            let t = target(kind, "not a url");
            for status in (0..=999).step_by(53).chain([401, 403, 404, 429]) {
                for body in &bodies {
                    let outcome = classify(
                        &t,
                        &Response {
                            status,
                            headers: &headers,
                            body,
                        },
                    );
                    if let CallOutcome::Denied { findings }
                    | CallOutcome::Inconclusive { findings } = &outcome
                    {
                        assert!(!findings.is_empty(), "{kind} {status}");
                    }
                }
            }
        }
    }

    #[test]
    fn request_id_prefers_apim_then_ms() {
        let both = lower(&[("x-ms-request-id", "ms"), ("apim-request-id", "apim")]);
        assert_eq!(request_id(&both).as_deref(), Some("apim"));
        assert_eq!(
            request_id(&lower(&[("X-Ms-Request-Id", "ms")])).as_deref(),
            Some("ms")
        );
        assert_eq!(
            request_id(&lower(&[("request-id", "r")])).as_deref(),
            Some("r")
        );
        assert_eq!(request_id(&lower(&[("apim-request-id", " ")])), None);
        assert_eq!(request_id(&[]), None);
    }

    #[test]
    fn an_excerpt_is_redacted_after_decoding() {
        // `\u0065` is `e`: the token is only visible once the JSON string is decoded.
        let body = br#"{"error":{"code":"Bad","message":"echo \u0065yJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLWJ5dGVz"}}"#;
        let e = excerpt(body);
        assert!(!e.contains("eyJhbGci") && !e.contains("eyJzdWIi"), "{e}");
        assert!(e.starts_with("`Bad: echo "), "{e}");
    }
}
