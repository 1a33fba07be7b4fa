//! Azure AI Search: list index names, or, with an index named, count its documents. The two
//! are authorized differently: listing needs the control-plane Action `indexes/read`, reading
//! documents the data action `indexes/documents/read` (reference/data-actions.md §1).

use super::classify::{CallOutcome, Ctx};
use super::{ActionKind, ProbeRequest, RequiredAction, Target, accept_json, join};
use crate::diagnosis::{Code, Finding};
use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};

pub const API_VERSION: &str = "2023-11-01";
const LIST: RequiredAction = RequiredAction {
    action: "Microsoft.Search/searchServices/indexes/read",
    kind: ActionKind::Action,
};
// Count Documents belongs to the Documents API; the mapping is inferred [M].
const READ_DOCUMENTS: RequiredAction = RequiredAction {
    action: "Microsoft.Search/searchServices/indexes/documents/read",
    kind: ActionKind::DataAction,
};

/// Characters that cannot stay literal in one path segment.
const SEGMENT: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'/')
    .add(b'<')
    .add(b'>')
    .add(b'?')
    .add(b'`')
    .add(b'{')
    .add(b'}')
    .add(b'\\');

fn index(target: &Target) -> Option<&str> {
    target
        .index
        .as_deref()
        .map(str::trim)
        .filter(|i| !i.is_empty())
}

pub fn required(target: &Target) -> RequiredAction {
    if index(target).is_some() {
        READ_DOCUMENTS
    } else {
        LIST
    }
}

pub fn operation(target: &Target) -> &'static str {
    if index(target).is_some() {
        "GET /indexes/{index}/docs/$count"
    } else {
        "GET /indexes?$select=name"
    }
}

pub fn request(target: &Target, endpoint: &url::Url) -> ProbeRequest {
    // `$select` and `$count` stay literal: that is how the Search REST API spells them.
    let (relative, headers) = match index(target) {
        Some(index) => (
            format!(
                "/indexes/{}/docs/$count?api-version={API_VERSION}",
                utf8_percent_encode(index, SEGMENT)
            ),
            // `$count` answers text/plain.
            Vec::new(),
        ),
        None => (
            format!("/indexes?api-version={API_VERSION}&$select=name"),
            accept_json(),
        ),
    };
    ProbeRequest {
        method: "GET",
        url: join(endpoint, &[], &relative),
        headers,
        body: None,
        auth: super::AuthHeader::Bearer,
        api_version: API_VERSION,
    }
}

pub(crate) fn classify(ctx: &Ctx) -> Option<CallOutcome> {
    match ctx.status {
        401 => Some(CallOutcome::Denied {
            findings: vec![rejected_token(ctx)],
        }),
        // `{"error":{"code":"","message":"Authorization failed."}}` [M]: no role grants the
        // action, the service takes API keys only, or (`aadAuthFailureMode: http403`) the token
        // itself was rejected. The claims, RBAC and preflight stages tell them apart.
        403 if ctx.error.is_json => Some(CallOutcome::Denied {
            findings: vec![Finding::new(
                Code::PermissionDenied,
                format!(
                    "Azure AI Search denied the call ({}). Either no role grants `{}` ({}), \
                     the service accepts API keys only (`authOptions: apiKeyOnly`, the default), \
                     or the service is set to `aadAuthFailureMode: http403`, which answers a \
                     rejected token (wrong audience or tenant, expired) with this same 403.",
                    ctx.seen(),
                    required(ctx.target).action,
                    match required(ctx.target).kind {
                        ActionKind::Action => "an Action, granted by control-plane roles",
                        ActionKind::DataAction => "a data action",
                    }
                ),
                format!(
                    "Turn on role-based access (`az search service update -n SERVICE -g RG \
                     --auth-options aadOrApiKey`). {}",
                    ctx.role_remedy()
                ),
            )],
        }),
        // Network rules answer with a bare 403 (HTML or plain text) [L].
        403 => Some(CallOutcome::Denied {
            findings: vec![Finding::new(
                Code::FirewallBlocked,
                format!(
                    "Azure AI Search answered 403 without a JSON error ({}), which is how it \
                     refuses callers its network rules do not admit [L].",
                    ctx.seen()
                ),
                "Check `publicNetworkAccess` and `networkRuleSet.ipRules` (`az search service show \
                 -n SERVICE -g RG`): allow this machine's public IP, or run from a network with a \
                 private endpoint to the service.",
            )],
        }),
        404 if index(ctx.target).is_some() => Some(CallOutcome::Inconclusive {
            findings: vec![Finding::new(
                Code::NotFound,
                format!(
                    "Azure AI Search has no index `{}` ({}); whether the identity may read \
                     documents was not decided.",
                    super::endpoint::short(index(ctx.target).unwrap_or_default()),
                    ctx.seen()
                ),
                "Fix the index name (index names are lower case; `GET /indexes?$select=name` or \
                 the portal lists them), or leave the index out to probe index listing instead.",
            )],
        }),
        _ => None,
    }
}

fn rejected_token(ctx: &Ctx) -> Finding {
    let challenge = ctx.header("www-authenticate").unwrap_or_default();
    let tenant = challenge
        .split("authorization_uri=\"")
        .nth(1)
        .and_then(|uri| uri.split('"').next())
        .and_then(|uri| uri.split('/').nth(3))
        .filter(|t| !t.is_empty());
    let expected = match tenant {
        Some(tenant) => format!(" The service expects tokens from tenant `{tenant}`."),
        None => String::new(),
    };
    // The Search audience of the endpoint's cloud (`https://search.azure.us` in US Government).
    let audience = ctx.sent_audience().0.search_audience;
    Finding::new(
        Code::TokenRejected,
        format!(
            "Azure AI Search rejected the token ({}).{expected} Search needs a token for \
             {audience} (not Cognitive Services), from the service's tenant. A \
             service set to `aadAuthFailureMode: http401WithBearerChallenge` may answer this way \
             also when no role grants `{}` [L].",
            ctx.seen(),
            required(ctx.target).action
        ),
        format!(
            "Request the token for `{audience}/.default` in the service's tenant \
             and check its `aud`, `tid` and `exp` with `entraprobe token --credential ID --scope \
             {audience}/.default`; if the token is right, assign {} on the service.",
            ctx.target.kind.granting_roles(ctx.target)
        ),
    )
}

#[cfg(test)]
mod tests {
    use crate::service::test_support::*;
    use crate::service::{AuthHeader, ServiceKind};

    #[test]
    fn lists_index_names() {
        for endpoint in [
            "https://contoso-search.search.windows.net",
            "https://contoso-search.search.windows.net/",
        ] {
            let request = build(&target(ServiceKind::Search, endpoint));
            assert_eq!(request.method, "GET");
            assert_eq!(
                request.url,
                "https://contoso-search.search.windows.net/indexes?api-version=2023-11-01&$select=name"
            );
            assert_eq!(request.auth, AuthHeader::Bearer);
        }
    }

    #[test]
    fn counts_documents_of_a_named_index() {
        let mut t = target(
            ServiceKind::Search,
            "https://contoso-search.search.windows.net/",
        );
        t.index = Some("products".into());
        assert_eq!(
            build(&t).url,
            "https://contoso-search.search.windows.net/indexes/products/docs/$count?api-version=2023-11-01"
        );
        t.index = Some("a/b?c".into());
        assert_eq!(
            build(&t).url,
            "https://contoso-search.search.windows.net/indexes/a%2Fb%3Fc/docs/$count?api-version=2023-11-01"
        );
        t.index = Some(" ".into());
        assert!(
            build(&t)
                .url
                .ends_with("/indexes?api-version=2023-11-01&$select=name")
        );
    }
}
