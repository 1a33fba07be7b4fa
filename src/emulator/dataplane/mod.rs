//! Emulated data planes of the Azure AI services and Azure AI Search.
//!
//! Checks run in Azure's order (design §6), each answering with Azure's own body
//! (reference/azure-wire.md §8): the account behind the host, network rules, the operation
//! (unknown path or api-version is 404), the credential (keys, then the token's signature,
//! audience and lifetime), the token's tenant, the custom-subdomain rule, and finally the data
//! action against the effective role and deny assignments.
//!
//! `[faults] throttle_every` answers every Nth call with the service's 429. Where it strikes is
//! `[faults] throttle_stage`: `before-auth` (the default, and the only order before it was
//! configurable) throttles before any check, so even a caller with no role or behind a firewall
//! is throttled; `after-auth` throttles only calls that passed every check above.

mod foundry;
mod operations;
mod search;
mod speech;

use std::sync::atomic::Ordering;

use percent_encoding::percent_decode_str;

use super::authz::{self, AccessQuery, Decision};
use super::cloud::TenantCloud;
use super::scenario::{
    AccountKind, AccountSpec, EnabledDisabled, NetworkAction, ThrottleStage, parse_ip_rule,
};
use super::{EmuRequest, EmuResponse, World};
use crate::arm::actions::ActionKind;
use crate::service::ServiceKind;
use operations::{HostFamily, match_operation};

const NOT_FOUND: &str = r#"{"error":{"code":"404","message": "Resource not found"}}"#;
const PUBLIC_ACCESS_DISABLED: &str = r#"{"error":{"code":"403","message": "Public access is disabled. Please configure private endpoint."}}"#;
const FIREWALL_BLOCKED: &str =
    r#"{"error":{"code":"403","message": "Access denied due to Virtual Network/Firewall rules."}}"#;
const SUBDOMAIN_REQUIRED: &str = r#"{"error":{"code":"BadRequest","message":"Please provide a custom subdomain for token authentication, otherwise API key is required."}}"#;
const KEY_AUTH_DISABLED: &str = r#"{"error":{"code":"AuthenticationTypeDisabled","message": "Key based authentication is disabled for this resource."}}"#;
const INVALID_KEY: &str = r#"{"error":{"code":"401","message": "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}"#;
const TRANSLATOR_UNAUTHORIZED: &str = r#"{"error":{"code":401000,"message":"The request isn't authorized because credentials are missing or invalid."}}"#;
/// The Cognitive Services 429 body, verbatim from a real paste (§8.7); its operation name is
/// that paste's, whatever the request was.
const THROTTLED: &str = r#"{"error":{"code":"429","message": "Requests to the Sentiment Operation under Text Analytics API (v3.2-preview.2) have exceeded rate limit of your current TextAnalytics S pricing tier. Please retry after 1 second. Please contact Azure support service if you would like to further increase the default rate limit."}}"#;

pub fn handle(world: &World, req: &EmuRequest) -> EmuResponse {
    // The router sends only hosts of a cloud the tenant lives in (another cloud's names are
    // unknown there). The handlers below know the public-cloud names; what they answer is put
    // back into the names of the cloud the request came in on.
    let cloud = TenantCloud::of_host(&req.host);
    let Some(host) = cloud.public_host(&req.host) else {
        return EmuResponse::raw_json(404, NOT_FOUND);
    };
    let req = &EmuRequest {
        host,
        ..req.clone()
    };
    let path = percent_decode_str(&req.path)
        .decode_utf8_lossy()
        .into_owned();
    let response = match req.host.strip_suffix(".search.windows.net") {
        Some(service) => search::handle(world, req, service, &path, cloud),
        None => cognitive(world, req, &path, cloud),
    };
    response.with_header("apim-request-id", uuid::Uuid::new_v4().to_string())
}

/// JSON string contents for values spliced into bodies whose exact bytes matter.
pub(crate) fn escape(text: &str) -> String {
    let quoted = serde_json::to_string(text).unwrap_or_default();
    quoted
        .strip_prefix('"')
        .and_then(|q| q.strip_suffix('"'))
        .unwrap_or_default()
        .to_string()
}

/// Count the call (per service, for tests and the demo's statistics).
fn count_call(world: &World, service: Option<ServiceKind>) {
    world.counters.bump(&format!(
        "dataplane:{}",
        service.map_or("unknown", ServiceKind::as_str)
    ));
}

/// Whether `faults.throttle_every` makes this call a 429, asked once per call at the scenario's
/// `faults.throttle_stage`: every Nth call that reaches that stage is throttled.
fn throttle_at(world: &World, stage: ThrottleStage) -> bool {
    let faults = &world.scenario.faults;
    if faults.throttle_every == 0 || faults.throttle_stage != stage {
        return false;
    }
    let n = world
        .counters
        .data_plane_calls
        .fetch_add(1, Ordering::SeqCst)
        + 1;
    n.is_multiple_of(faults.throttle_every)
}

fn throttled(service: Option<ServiceKind>, api_version: Option<&str>) -> EmuResponse {
    if service == Some(ServiceKind::Openai) {
        // The Azure OpenAI wording (§8.7) with this request's api-version and a one-second wait;
        // the operation name Azure puts there for a models listing is unverified [L].
        let body = format!(
            r#"{{"error":{{"code":"429","message": "Requests to the Models_List Operation under Azure OpenAI API version {} have exceeded call rate limit of your current OpenAI S0 pricing tier. Please retry after 1 second. Please go here: https://aka.ms/oai/quotaincrease if you would like to further increase the default rate limit."}}}}"#,
            escape(api_version.unwrap_or("2024-10-21"))
        );
        return EmuResponse::raw_json(429, body)
            .with_header("retry-after", "1")
            .with_header("retry-after-ms", "1000")
            .with_header("x-ratelimit-remaining-requests", "0");
    }
    EmuResponse::raw_json(429, THROTTLED)
        .with_header("retry-after", "1")
        .with_header("policy-id", "DefaultRateLimitPolicy")
}

/// Azure reports regions by display name in `x-ms-region`.
fn region_display(code: &str) -> String {
    let known = [
        ("westeurope", "West Europe"),
        ("northeurope", "North Europe"),
        ("eastus", "East US"),
        ("eastus2", "East US 2"),
        ("westus", "West US"),
        ("westus2", "West US 2"),
        ("westus3", "West US 3"),
        ("centralus", "Central US"),
        ("southcentralus", "South Central US"),
        ("swedencentral", "Sweden Central"),
        ("francecentral", "France Central"),
        ("germanywestcentral", "Germany West Central"),
        ("uksouth", "UK South"),
        ("switzerlandnorth", "Switzerland North"),
        ("japaneast", "Japan East"),
        ("australiaeast", "Australia East"),
        ("canadaeast", "Canada East"),
        ("usgovvirginia", "US Gov Virginia"),
        ("usgovarizona", "US Gov Arizona"),
        ("usgovtexas", "US Gov Texas"),
        ("chinaeast2", "China East 2"),
        ("chinaeast3", "China East 3"),
        ("chinanorth2", "China North 2"),
        ("chinanorth3", "China North 3"),
        ("global", "Global"),
    ];
    known
        .iter()
        .find(|(c, _)| c.eq_ignore_ascii_case(code))
        .map(|(_, d)| d.to_string())
        .unwrap_or_else(|| code.to_string())
}

/// How the caller authenticates.
enum Credential<'r> {
    None,
    /// `api-key` or `Ocp-Apim-Subscription-Key`. The scenario defines no keys, so none is valid.
    Key,
    Bearer(&'r str),
    /// Speech's `Bearer aad#{resourceId}#{token}`.
    SpeechAad {
        resource_id: &'r str,
        token: &'r str,
    },
}

fn credential_of(req: &EmuRequest) -> Credential<'_> {
    if req.header("api-key").is_some() || req.header("ocp-apim-subscription-key").is_some() {
        return Credential::Key;
    }
    match req.bearer() {
        None => Credential::None,
        Some(value) => match value
            .strip_prefix("aad#")
            .and_then(|rest| rest.rsplit_once('#'))
        {
            Some((resource_id, token)) => Credential::SpeechAad { resource_id, token },
            None => Credential::Bearer(value),
        },
    }
}

fn account_by_resource_id<'w>(world: &'w World, id: &str) -> Option<&'w AccountSpec> {
    world
        .scenario
        .accounts
        .iter()
        .find(|a| authz::same_scope(&a.id(), id.trim()))
}

fn network_verdict(world: &World, account: &AccountSpec) -> Option<EmuResponse> {
    // From inside its network a private endpoint carries the call; its traffic is not subject
    // to the public firewall rules. From outside, public DNS resolves the name (through its
    // `privatelink` CNAME) to the public address, and the account refuses as with public access
    // disabled (azure-wire.md §8.4).
    if account.private_endpoint {
        return (!world.scenario.machine.in_private_network)
            .then(|| EmuResponse::raw_json(403, PUBLIC_ACCESS_DISABLED));
    }
    if account.public_network_access == EnabledDisabled::Disabled {
        return Some(EmuResponse::raw_json(403, PUBLIC_ACCESS_DISABLED));
    }
    if account.network_default_action == NetworkAction::Deny {
        let ip = world.scenario.machine.source_ip();
        let allowed = account
            .ip_rules
            .iter()
            .filter_map(|r| parse_ip_rule(r.get_ref()))
            .any(|net| net.contains(&ip));
        if !allowed {
            return Some(EmuResponse::raw_json(403, FIREWALL_BLOCKED));
        }
    }
    None
}

fn permission_denied(oid: &str, action: &str, operation: &str, kind: AccountKind) -> EmuResponse {
    // Foundry (AIServices) endpoints append a pointer to their permissions page (§8.3) [M].
    let suffix = if kind == AccountKind::AIServices {
        " For instructions on granting the necessary permissions, see https://aka.ms/FoundryPermissions."
    } else {
        ""
    };
    EmuResponse::raw_json(
        401,
        format!(
            r#"{{"error":{{"code":"PermissionDenied","message":"The principal `{}` lacks the required data action `{}` to perform `{}` operation.{}"}}}}"#,
            escape(oid),
            escape(action),
            escape(operation),
            suffix
        ),
    )
}

fn tenant_mismatch(token_tenant: &str) -> EmuResponse {
    EmuResponse::raw_json(
        400,
        format!(
            r#"{{"error":{{"code":"Tenant provided in token does not match resource token","message":"Token tenant {} does not match resource tenant."}}}}"#,
            escape(token_tenant)
        ),
    )
}

/// Which host family and, for hosts that name it, which account.
fn resolve_host<'w>(
    world: &'w World,
    host: &str,
) -> Option<(HostFamily, Option<&'w AccountSpec>, Option<String>)> {
    let by_subdomain = |sub: &str| {
        world
            .scenario
            .accounts
            .iter()
            .find(|a| a.subdomain().is_some_and(|s| s.eq_ignore_ascii_case(sub)))
    };
    if host == "api.cognitive.microsofttranslator.com" {
        return Some((HostFamily::TranslatorGlobal, None, None));
    }
    if let Some(sub) = host.strip_suffix(".cognitiveservices.azure.com") {
        // A subdomain no account owns has no DNS record; the closest an HTTP answer gets is 404.
        let account = by_subdomain(sub)?;
        return Some((HostFamily::CustomDomain, Some(account), None));
    }
    if let Some(sub) = host.strip_suffix(".services.ai.azure.com") {
        let account = by_subdomain(sub).filter(|a| a.kind == AccountKind::AIServices)?;
        return Some((HostFamily::ServicesAi, Some(account), None));
    }
    if let Some(sub) = host.strip_suffix(".openai.azure.com") {
        let account = by_subdomain(sub)
            .filter(|a| matches!(a.kind, AccountKind::OpenAI | AccountKind::AIServices))?;
        return Some((HostFamily::OpenAiDomain, Some(account), None));
    }
    if let Some(region) = host.strip_suffix(".api.cognitive.microsoft.com") {
        return Some((HostFamily::Regional, None, Some(region.to_string())));
    }
    if let Some(region) = host.strip_suffix(".tts.speech.microsoft.com") {
        return Some((HostFamily::SpeechRegional, None, Some(region.to_string())));
    }
    None
}

fn cognitive(world: &World, req: &EmuRequest, path: &str, cloud: TenantCloud) -> EmuResponse {
    let api_version = req.query_param("api-version");
    let resolved = resolve_host(world, &req.host);
    let service = resolved
        .as_ref()
        .and_then(|(family, _, _)| operations::service_of(*family, path));
    count_call(world, service);
    if throttle_at(world, ThrottleStage::BeforeAuth) {
        return throttled(service, api_version);
    }
    let Some((family, host_account, host_region)) = resolved else {
        return EmuResponse::raw_json(404, NOT_FOUND);
    };
    let region = host_account
        .map(|a| a.location.clone())
        .or(host_region.clone())
        .unwrap_or_default();
    let response = cognitive_checks(world, req, path, (family, cloud), host_account, host_region);
    if region.is_empty() {
        // The global Translator host names no region before it has read the headers.
        return response;
    }
    response.with_header("x-ms-region", region_display(&region))
}

/// The checks in Azure's order. `cloud` is the cloud whose host name the request came in on:
/// the gateway's 401 names that cloud's audience.
fn cognitive_checks(
    world: &World,
    req: &EmuRequest,
    path: &str,
    (family, cloud): (HostFamily, TenantCloud),
    host_account: Option<&AccountSpec>,
    host_region: Option<String>,
) -> EmuResponse {
    let credential = credential_of(req);
    let global_translator = family == HostFamily::TranslatorGlobal;
    let unauthorized = || {
        if global_translator {
            EmuResponse::raw_json(401, TRANSLATOR_UNAUTHORIZED)
        } else {
            EmuResponse::raw_json(401, cloud.localize(foundry::COGNITIVE.rejection))
        }
    };

    // 1. The account: named by the host, by the Speech aad# form, or by Translator's headers.
    let account: Option<&AccountSpec> = match family {
        HostFamily::CustomDomain | HostFamily::OpenAiDomain | HostFamily::ServicesAi => {
            host_account
        }
        HostFamily::Regional => None,
        HostFamily::SpeechRegional => {
            // The regional Speech host knows the resource from the aad# form, or, for a plain
            // Entra bearer, from the custom domain the Speech SDK names in the query
            // (reference/foundry.md §6) [D code/O]; anything else is rejected without a body [L].
            let by_domain = match credential {
                Credential::Bearer(_) => {
                    speech::account_by_custom_domain(world, req, host_region.as_deref(), cloud)
                }
                _ => None,
            };
            if let Some(a) = by_domain {
                Some(a)
            } else {
                let Credential::SpeechAad { resource_id, .. } = credential else {
                    return if matches!(credential, Credential::Key) {
                        EmuResponse::raw_json(401, INVALID_KEY)
                    } else {
                        EmuResponse::text(401, "")
                    };
                };
                match account_by_resource_id(world, resource_id) {
                    Some(a)
                        if host_region
                            .as_deref()
                            .is_some_and(|r| r.eq_ignore_ascii_case(&a.location)) =>
                    {
                        Some(a)
                    }
                    _ => return EmuResponse::text(401, ""),
                }
            }
        }
        HostFamily::TranslatorGlobal => {
            let Some(a) = req
                .header("ocp-apim-resourceid")
                .and_then(|id| account_by_resource_id(world, id))
            else {
                return unauthorized();
            };
            // The region header is optional only for a global resource (S12); a wrong region
            // is treated like a missing one [L].
            let region_ok = match req.header("ocp-apim-subscription-region") {
                Some(r) => r.trim().eq_ignore_ascii_case(&a.location),
                None => a.location.eq_ignore_ascii_case("global"),
            };
            if !region_ok {
                return unauthorized();
            }
            Some(a)
        }
    };

    // 2. Network rules come before anything about the caller (§8.4) [L on the order].
    if let Some(a) = account
        && let Some(blocked) = network_verdict(world, a)
    {
        return blocked;
    }

    // The Speech SDK's redirect request carries no credential: it is answered here.
    if family == HostFamily::CustomDomain
        && let Some(a) = account
        && let Some(answer) = speech::redirect(req, path, a, cloud)
    {
        return answer;
    }

    // 3. The operation and its api-version.
    let api_version = req.query_param("api-version");
    let Some(op) = match_operation(family, &req.method, path, api_version) else {
        return EmuResponse::raw_json(404, NOT_FOUND);
    };
    if let Some(a) = account
        && !operations::account_serves(a.kind, op.service)
    {
        return EmuResponse::raw_json(404, NOT_FOUND);
    }
    // A project route names a project of this account, or there is nothing to answer [I].
    let project = match (&op.responder, account) {
        (operations::Responder::ProjectAgents { project }, Some(a)) => {
            match foundry::project_of(world, a, project) {
                Some(p) => Some(p),
                None => return EmuResponse::raw_json(404, NOT_FOUND),
            }
        }
        _ => None,
    };
    let audiences = foundry::accepted_audiences(op.service, account.map(|a| a.kind));
    let unauthorized = || {
        if global_translator {
            EmuResponse::raw_json(401, TRANSLATOR_UNAUTHORIZED)
        } else {
            EmuResponse::raw_json(401, cloud.localize(audiences.rejection))
        }
    };

    // 4. The credential.
    let token = match credential {
        Credential::Key => {
            return match account {
                Some(a) if a.disable_local_auth => EmuResponse::raw_json(403, KEY_AUTH_DISABLED),
                _ if global_translator => unauthorized(),
                _ => EmuResponse::raw_json(401, INVALID_KEY),
            };
        }
        Credential::None => return unauthorized(),
        Credential::Bearer(token) => token,
        Credential::SpeechAad { resource_id, token } => {
            // On a custom domain the host names the account; an aad# id naming another one is
            // rejected [L].
            if let Some(a) = account
                && account_by_resource_id(world, resource_id).map(|r| r.name()) != Some(a.name())
            {
                return unauthorized();
            }
            token
        }
    };
    let caller =
        match authz::judge_token(&world.signer, token, audiences.accepted, authz::now_unix()) {
            Ok(caller) => caller,
            Err(_) => return unauthorized(),
        };

    // 5. The token's tenant against the resource's.
    if account.is_some() && !caller.tid.eq_ignore_ascii_case(world.tenant_id()) {
        return tenant_mismatch(&caller.tid);
    }

    // 6. Entra tokens need the account's custom subdomain.
    let Some(account) = account else {
        return EmuResponse::raw_json(400, SUBDOMAIN_REQUIRED);
    };
    if family == HostFamily::SpeechRegional && account.subdomain().is_none() {
        // Speech with Entra needs a custom domain (data-actions.md §4a); the body the regional
        // Speech host sends then is unverified, so this reuses the gateway's wording [L].
        return EmuResponse::raw_json(400, SUBDOMAIN_REQUIRED);
    }

    // 7. The data action, on the project for a project route: an assignment on the account is
    // inherited by its projects, one on a project never reaches the account's own routes.
    let resource_id = match project {
        Some(p) => p.id(account),
        None => account.id(),
    };
    let decision = authz::check_access(
        &world.scenario,
        &AccessQuery {
            principal_oid: &caller.oid,
            scope: &resource_id,
            action: op.action,
            kind: ActionKind::DataAction,
            elapsed: world.started.elapsed(),
        },
    );
    if let Decision::Denied(_) = decision {
        return permission_denied(&caller.oid, op.action, &op.display, account.kind);
    }
    if throttle_at(world, ThrottleStage::AfterAuth) {
        return throttled(Some(op.service), api_version);
    }

    match operations::success_body(&op.responder, account, &req.body, req.query_param("to")) {
        Ok(body) => EmuResponse::json(200, &body),
        Err((status, body)) => EmuResponse::json(status, &body),
    }
}

#[cfg(test)]
mod tests;
