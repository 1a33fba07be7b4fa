//! Azure AI Search (`{service}.search.windows.net`).
//!
//! Search differs from the Cognitive Services gateway: index definitions are authorized by an
//! **Action** (`Microsoft.Search/searchServices/indexes/read`), documents by a **DataAction**
//! (data-actions.md §1); `authOptions` decides whether a bearer token is considered at all; and
//! its error bodies have an empty `code`.

use serde_json::json;

use super::{EmuRequest, EmuResponse, World, count_call, escape, throttle_at, throttled};
use crate::arm::actions::ActionKind;
use crate::emulator::authz::{self, AccessQuery};
use crate::emulator::cloud::TenantCloud;
use crate::emulator::scenario::{
    AadAuthFailureMode, EnabledDisabled, SearchAuth, SearchServiceSpec, ThrottleStage,
    parse_ip_rule,
};
use crate::service::ServiceKind;

const SEARCH_AUDIENCES: &[&str] = &["https://search.azure.com", "https://search.azure.com/"];

const API_VERSIONS: &[&str] = &[
    "2020-06-30",
    "2021-04-30-Preview",
    "2023-07-01-Preview",
    "2023-10-01-Preview",
    "2023-11-01",
    "2024-03-01-Preview",
    "2024-05-01-preview",
    "2024-07-01",
    "2024-09-01-preview",
    "2024-11-01-preview",
    "2025-03-01-preview",
    "2025-05-01-preview",
    "2025-08-01-preview",
    "2025-09-01",
];

const AUTHORIZATION_FAILED: &str = r#"{"error":{"code":"","message":"Authorization failed."}}"#;
const BAD_API_VERSION: &str =
    r#"{"error":{"code":"","message":"Invalid or missing api-version query string parameter."}}"#;

enum SearchOp {
    ListIndexes,
    CountDocuments(String),
    SearchDocuments(String),
}

fn match_op(method: &str, path: &str) -> Option<SearchOp> {
    if !method.eq_ignore_ascii_case("GET") {
        return None;
    }
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    match segments.as_slice() {
        ["indexes"] => Some(SearchOp::ListIndexes),
        ["indexes", index, "docs", "$count"] => Some(SearchOp::CountDocuments(index.to_string())),
        ["indexes", index, "docs"] => Some(SearchOp::SearchDocuments(index.to_string())),
        _ => None,
    }
}

/// The service's own challenge when it rejects a token under `aadOrApiKey`
/// (`aadAuthFailureMode: http401WithBearerChallenge`), naming its cloud's authority [M; exact
/// text L].
fn challenge(tenant: &str, cloud: TenantCloud) -> EmuResponse {
    EmuResponse::text(401, "").with_header(
        "www-authenticate",
        format!(
            r#"Bearer authorization_uri="https://{}/{tenant}/oauth2/authorize""#,
            cloud.login_host()
        ),
    )
}

/// A token the service rejects (missing, unreadable, expired, another tenant's), answered as
/// `aadAuthFailureMode` says. Under `http403` the body is the one a missing role gets, so the
/// caller cannot tell the two apart from the answer alone [L: the 403 body is the one seen for
/// a missing role (azure-wire.md §8.4); no paste shows a rejected token under http403].
fn reject_token(service: &SearchServiceSpec, tenant: &str, cloud: TenantCloud) -> EmuResponse {
    match service.failure_mode() {
        AadAuthFailureMode::Http401WithBearerChallenge => challenge(tenant, cloud),
        AadAuthFailureMode::Http403 => EmuResponse::raw_json(403, AUTHORIZATION_FAILED),
    }
}

/// A request to `{name}.search…` in `cloud`'s names.
pub(super) fn handle(
    world: &World,
    req: &EmuRequest,
    name: &str,
    path: &str,
    cloud: TenantCloud,
) -> EmuResponse {
    let api_version = req.query_param("api-version");
    count_call(world, Some(ServiceKind::Search));
    if throttle_at(world, ThrottleStage::BeforeAuth) {
        // Search itself answers overload with 503; the fault injector's 429 is the gateway's [L].
        return throttled(Some(ServiceKind::Search), api_version);
    }
    let Some(service) = world
        .scenario
        .search_services
        .iter()
        .find(|s| s.name().eq_ignore_ascii_case(name))
    else {
        // No DNS record in real life; an HTTP 404 is the nearest answer.
        return EmuResponse::raw_json(
            404,
            r#"{"error":{"code":"","message":"Resource not found."}}"#,
        );
    };
    checks(world, req, service, path, (api_version, cloud))
        .with_header("request-id", uuid::Uuid::new_v4().to_string())
        .with_header("x-ms-region", super::region_display(&service.location))
}

fn checks(
    world: &World,
    req: &EmuRequest,
    service: &SearchServiceSpec,
    path: &str,
    (api_version, cloud): (Option<&str>, TenantCloud),
) -> EmuResponse {
    // Network: Search answers a blocked caller with a bare 403 [L].
    if service.public_network_access == EnabledDisabled::Disabled {
        return EmuResponse::text(403, "Forbidden");
    }
    if !service.ip_rules.is_empty() {
        let ip = world.scenario.machine.source_ip();
        if !service
            .ip_rules
            .iter()
            .filter_map(|r| parse_ip_rule(r.get_ref()))
            .any(|net| net.contains(&ip))
        {
            return EmuResponse::text(403, "Forbidden");
        }
    }
    let Some(op) = match_op(&req.method, path) else {
        return EmuResponse::raw_json(
            404,
            r#"{"error":{"code":"","message":"Resource not found."}}"#,
        );
    };
    if !api_version.is_some_and(|v| API_VERSIONS.iter().any(|k| k.eq_ignore_ascii_case(v))) {
        return EmuResponse::raw_json(400, BAD_API_VERSION);
    }
    // A request carrying an API key is authenticated by the key alone (S6); the scenario
    // defines no keys, so every key is wrong, and with `disableLocalAuth` no key is taken at
    // all; both answer 403 [L on the empty body].
    if req.header("api-key").is_some() {
        return EmuResponse::text(403, "");
    }
    let tenant = world.tenant_id();
    let Some(token) = req.bearer() else {
        return match service.auth {
            SearchAuth::ApiKeyOnly => EmuResponse::text(401, ""),
            SearchAuth::AadOrApiKey | SearchAuth::RbacOnly => reject_token(service, tenant, cloud),
        };
    };
    if !service.auth.accepts_tokens() {
        return EmuResponse::raw_json(403, AUTHORIZATION_FAILED);
    }
    let caller = match authz::judge_token(&world.signer, token, SEARCH_AUDIENCES, authz::now_unix())
    {
        Ok(caller) => caller,
        Err(_) => return reject_token(service, tenant, cloud),
    };
    // A token from another tenant fails authentication on Search rather than with the
    // gateway's 400 [L].
    if !caller.tid.eq_ignore_ascii_case(tenant) {
        return reject_token(service, tenant, cloud);
    }
    let service_id = service.id();
    let (action, kind, scope) = match &op {
        SearchOp::ListIndexes => (
            "Microsoft.Search/searchServices/indexes/read",
            ActionKind::Action,
            service_id.clone(),
        ),
        SearchOp::CountDocuments(index) | SearchOp::SearchDocuments(index) => (
            "Microsoft.Search/searchServices/indexes/documents/read",
            ActionKind::DataAction,
            format!("{service_id}/indexes/{index}"),
        ),
    };
    let decision = authz::check_access(
        &world.scenario,
        &AccessQuery {
            principal_oid: &caller.oid,
            scope: &scope,
            action,
            kind,
            elapsed: world.started.elapsed(),
        },
    );
    if !decision.is_allowed() {
        return EmuResponse::raw_json(403, AUTHORIZATION_FAILED);
    }
    if throttle_at(world, ThrottleStage::AfterAuth) {
        return throttled(Some(ServiceKind::Search), api_version);
    }
    let endpoint = cloud.service_url(&service.endpoint());
    let index_known = |index: &str| service.indexes.iter().any(|i| i == index);
    let index_missing = |index: &str| {
        EmuResponse::raw_json(
            404,
            format!(
                r#"{{"error":{{"code":"","message":"The index '{}' for service '{}' was not found."}}}}"#,
                escape(index),
                escape(service.name())
            ),
        )
    };
    match op {
        SearchOp::ListIndexes => {
            let select_name = req
                .query_param("$select")
                .is_some_and(|s| s.trim().eq_ignore_ascii_case("name"));
            let body = if select_name {
                json!({
                    "@odata.context": format!("{endpoint}/$metadata#indexes(name)"),
                    "value": service.indexes.iter().map(|i| json!({"name": i})).collect::<Vec<_>>()
                })
            } else {
                json!({
                    "@odata.context": format!("{endpoint}/$metadata#indexes"),
                    "value": service.indexes.iter().map(|i| json!({"name": i, "fields": []})).collect::<Vec<_>>()
                })
            };
            EmuResponse::json(200, &body).with_header("odata-version", "4.0")
        }
        SearchOp::CountDocuments(index) if index_known(&index) => EmuResponse::text(200, "0"),
        SearchOp::SearchDocuments(index) if index_known(&index) => EmuResponse::json(
            200,
            &json!({
                "@odata.context": format!("{endpoint}/indexes('{index}')/$metadata#docs(*)"),
                "value": []
            }),
        ),
        SearchOp::CountDocuments(index) | SearchOp::SearchDocuments(index) => index_missing(&index),
    }
}
