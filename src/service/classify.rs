//! Response classification: what one probe answer proves about authorization.
//!
//! Pure. The runner sends the request and hands back status, headers and (at most 64 KiB of)
//! body; this says whether the call was authorized, denied (and why), or inconclusive. The
//! diagnosis stage refines a denial with RBAC and account evidence (a bare `permission-denied`
//! becomes `management-role-only` when only Contributor is assigned, and so on).

use super::{ServiceKind, Target};
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
            self.target.kind.api_version(),
            self.excerpt
        )
    }

    /// Which role to assign for the probe's action, and the facts people trip over.
    pub fn role_remedy(&self) -> String {
        let action = self.target.kind.required_action(self.target);
        format!(
            "Assign {} (it grants `{}`) to this identity on the account, its resource group or \
             subscription. Owner, Contributor and Cognitive Services Contributor grant no data \
             actions. New assignments take up to 5–10 minutes; after a group membership change, \
             get a new token.",
            self.target.kind.granting_roles(self.target),
            action.action
        )
    }
}

/// A short, redacted excerpt of the body for messages. Redaction runs on the whole body before
/// cutting, so a cut can never turn a token into something the redactor no longer recognizes.
fn excerpt(body: &[u8]) -> String {
    const MAX_CHARS: usize = 160;
    let text = String::from_utf8_lossy(body);
    let redacted = crate::redact::redact(&text);
    let flat: String = redacted.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.is_empty() {
        return "(empty body)".to_string();
    }
    match flat.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("`{}…`", &flat[..cut]),
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
                "HTTP {} from {} (api-version {})",
                ctx.status,
                target.kind.operation(target),
                target.kind.api_version()
            ),
            findings: Vec::new(),
        };
    }
    let specific = match target.kind {
        ServiceKind::Search => super::search::classify(&ctx),
        ServiceKind::Translator => super::translator::classify(&ctx),
        ServiceKind::Speech => super::speech::classify(&ctx),
        _ => None,
    };
    specific
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

/// Bodies whose wording names the cause, whatever the status (services disagree on 400/401/403).
fn by_wording(ctx: &Ctx) -> Option<CallOutcome> {
    let denied = |code: Code, message: String, remedy: &str| {
        Some(CallOutcome::Denied {
            findings: vec![Finding::new(code, message, remedy)],
        })
    };
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
            "Give the account a custom subdomain (`az cognitiveservices account update -n NAME \
             -g RG --custom-domain NAME`; it cannot be changed or removed once set) and use \
             `https://NAME.cognitiveservices.azure.com/`.",
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
    if ctx.contains("access token is missing, invalid, audience is incorrect") {
        let audience = ctx
            .error
            .message
            .as_deref()
            .and_then(|m| m.split("audience is incorrect (").nth(1))
            .and_then(|rest| rest.split(')').next())
            .map(|a| format!(" It expects the audience `{a}`."))
            .unwrap_or_default();
        return denied(
            Code::TokenRejected,
            format!(
                "The service rejected the token as missing, invalid, for the wrong audience, or \
                 expired: it gives the same answer for all four ({}).{audience} The claims \
                 stage tells which.",
                ctx.seen()
            ),
            "Request the token for the Cognitive Services scope of your cloud \
             (`https://cognitiveservices.azure.com/.default` in the public cloud) and check its \
             `aud`, `exp` and `tid` with `entraprobe token --credential ID`.",
        );
    }
    if ctx.contains("invalid subscription key or wrong api endpoint") {
        return denied(
            Code::TokenRejected,
            format!(
                "The service treated the call as key-authenticated and refused it ({}); this is \
                 the answer of an endpoint that does not take Entra ID tokens [L].",
                ctx.seen()
            ),
            "Use the account's custom subdomain endpoint (`https://NAME.cognitiveservices.azure.com/`, \
             or `https://NAME.openai.azure.com/` for Azure OpenAI), and send the token in \
             `Authorization: Bearer`, never as an API key.",
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
            CallOutcome::Authorized {
                note: format!("throttled after authorization ({})", ctx.seen()),
                findings: vec![Finding::new(
                    Code::Throttled,
                    format!(
                        "The service throttled the probe ({}). Rate limiting runs after \
                         authentication and authorization, so access is proven [M].{retry}",
                        ctx.seen()
                    ),
                    "Nothing to fix for access. If throttling hurts the application, lower its \
                     request rate or raise the account's quota.",
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
        400 if ctx.error.is_json && !mentions_auth(ctx) => CallOutcome::Authorized {
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
                    "{} Also check the account's network rules (`publicNetworkAccess`, \
                     `networkAcls`).",
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

/// Does a 400 body talk about authentication? Then it is not a post-authorization validation
/// error, whatever its code.
fn mentions_auth(ctx: &Ctx) -> bool {
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
    ]
    .iter()
    .any(|w| ctx.contains(w))
}
