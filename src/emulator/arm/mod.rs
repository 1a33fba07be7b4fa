//! Emulated Azure Resource Manager (management.azure.com).
//!
//! Every request is authenticated as ARM does (header, signature, audience, lifetime, then the
//! token's tenant against the subscription's), routed by path, and authorized with the same
//! [`authz`](super::authz) rules the data planes use, so a caller who may not read role
//! assignments gets ARM's `AuthorizationFailed` (reference/azure-wire.md §5).

mod authorization;
pub(crate) mod resources;

pub use authorization::ROLE_ASSIGNMENTS_PAGE_SIZE;

use serde_json::json;

use super::authz::{self, AccessQuery, Caller, TokenProblem};
use super::scenario::{AccountSpec, IdentityType, SearchServiceSpec};
use super::{EmuRequest, EmuResponse, World};
use crate::arm::actions::ActionKind;

/// Audiences ARM accepts, exactly as its InvalidAuthenticationTokenAudience message lists them.
const ARM_AUDIENCES: &[&str] = &[
    "https://management.core.windows.net/",
    "https://management.core.windows.net",
    "https://management.azure.com/",
    "https://management.azure.com",
];

pub fn handle(world: &World, req: &EmuRequest) -> EmuResponse {
    let request_id = uuid::Uuid::new_v4().to_string();
    let segments = path_segments(&req.path);
    // Every request counts, rejected ones included: tests compare how often clients ask.
    world.counters.bump(route_name(&segments));
    let response = match authenticate(world, req, &segments) {
        Err(rejection) => rejection,
        Ok(caller) if is_resource_graph(&segments) => {
            super::resource_graph::handle(world, req, &caller)
        }
        Ok(caller) => route(world, req, &segments, &caller),
    };
    response
        .with_header("x-ms-request-id", request_id.clone())
        .with_header("x-ms-correlation-request-id", request_id)
}

pub(crate) fn arm_error(status: u16, code: &str, message: &str) -> EmuResponse {
    EmuResponse::json(
        status,
        &json!({"error": {"code": code, "message": message}}),
    )
}

fn path_segments(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect()
}

/// Where `{scope}/providers/Microsoft.Authorization/{type}` starts: the last such provider
/// segment, since the scope itself may contain `providers/…`.
fn authorization_provider_at(segments: &[String]) -> Option<usize> {
    (0..segments.len().saturating_sub(2))
        .rev()
        .find(|&i| eq(&segments[i], "providers") && eq(&segments[i + 1], "Microsoft.Authorization"))
}

/// `/providers/Microsoft.ResourceGraph/resources`: Resource Graph, served on ARM's host.
fn is_resource_graph(segments: &[String]) -> bool {
    matches!(segments, [p, ns, r] if eq(p, "providers") && eq(ns, "Microsoft.ResourceGraph") && eq(r, "resources"))
}

/// The counter name of a request (`arm:roleAssignments`, `arm:accounts`, …).
fn route_name(segments: &[String]) -> &'static str {
    if is_resource_graph(segments) {
        return "arm:resourceGraph";
    }
    if let Some(i) = authorization_provider_at(segments) {
        let kind = &segments[i + 2];
        return [
            ("roleAssignments", "arm:roleAssignments"),
            ("roleDefinitions", "arm:roleDefinitions"),
            ("denyAssignments", "arm:denyAssignments"),
            ("permissions", "arm:permissions"),
            (
                "roleEligibilityScheduleInstances",
                "arm:roleEligibilityScheduleInstances",
            ),
            (
                "roleAssignmentScheduleInstances",
                "arm:roleAssignmentScheduleInstances",
            ),
        ]
        .iter()
        .find(|(k, _)| eq(k, kind))
        .map_or("arm:other", |(_, name)| name);
    }
    let provider_is = |namespace: &str, kind: &str| {
        segments
            .windows(3)
            .any(|w| eq(&w[0], "providers") && eq(&w[1], namespace) && eq(&w[2], kind))
    };
    match segments.first() {
        Some(first) if eq(first, "subscriptions") && segments.len() <= 2 => "arm:subscriptions",
        _ if provider_is("Microsoft.CognitiveServices", "accounts") => "arm:accounts",
        _ if provider_is("Microsoft.Search", "searchServices") => "arm:searchServices",
        _ => "arm:other",
    }
}

fn eq(a: &str, b: &str) -> bool {
    a.eq_ignore_ascii_case(b)
}

/// ARM's 401, with its challenge naming the cloud's authority. The challenge's exact formatting
/// (and the sovereign authority in it) is unverified [L].
fn unauthorized(world: &World, code: &str, message: &str, description: &str) -> EmuResponse {
    let authority = world.scenario.tenant.cloud().arm_authority_host();
    arm_error(401, code, message).with_header(
        "www-authenticate",
        format!(
            r#"Bearer authorization_uri="https://{authority}/{}", error="invalid_token", error_description="{}""#,
            world.tenant_id(),
            description
        ),
    )
}

/// `6/15/2024 8:22:51 AM`, the .NET en-US general format ARM puts in its expiry message.
fn dotnet_time(unix: i64) -> String {
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(unix) else {
        return unix.to_string();
    };
    let (hour, meridiem) = match t.hour() {
        0 => (12, "AM"),
        h @ 1..=11 => (h, "AM"),
        12 => (12, "PM"),
        h => (h - 12, "PM"),
    };
    format!(
        "{}/{}/{} {}:{:02}:{:02} {}",
        u8::from(t.month()),
        t.day(),
        t.year(),
        hour,
        t.minute(),
        t.second(),
        meridiem
    )
}

fn authenticate(
    world: &World,
    req: &EmuRequest,
    segments: &[String],
) -> Result<Caller, EmuResponse> {
    if req.header("authorization").is_none() {
        return Err(unauthorized(
            world,
            "AuthenticationFailed",
            "Authentication failed. The 'Authorization' header is missing.",
            "The authentication failed because of missing 'Authorization' header.",
        ));
    }
    let Some(token) = req.bearer().filter(|t| !t.is_empty()) else {
        return Err(unauthorized(
            world,
            "AuthenticationFailedInvalidHeader",
            "Authentication failed. The 'Authorization' header is provided in an invalid format.",
            "The authentication failed because of invalid 'Authorization' header.",
        ));
    };
    let now = authz::now_unix();
    let caller = authz::judge_token(&world.signer, token, ARM_AUDIENCES, now).map_err(|problem| {
        match problem {
            TokenProblem::WrongAudience { aud } => unauthorized(
                world,
                "InvalidAuthenticationTokenAudience",
                &format!(
                    "The access token has been obtained for wrong audience or resource '{aud}'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'."
                ),
                "The access token has been obtained from wrong audience or resource.",
            ),
            TokenProblem::Expired { exp, now } => unauthorized(
                world,
                "ExpiredAuthenticationToken",
                &format!(
                    "The access token expiry UTC time '{}' is earlier than current UTC time '{}'.",
                    dotnet_time(exp),
                    dotnet_time(now)
                ),
                "The access token has expired.",
            ),
            TokenProblem::Malformed
            | TokenProblem::BadSignature
            | TokenProblem::NotYetValid { .. }
            | TokenProblem::MissingClaims => unauthorized(
                world,
                "InvalidAuthenticationToken",
                "The access token is invalid.",
                "The access token is invalid.",
            ),
        }
    })?;
    // The tenant is judged against the subscription the request addresses (every subscription
    // of the scenario belongs to its tenant).
    let addresses_our_subscription = segments.len() >= 2
        && eq(&segments[0], "subscriptions")
        && world.subscription_by_id(&segments[1]).is_some();
    if addresses_our_subscription && !eq(&caller.tid, world.tenant_id()) {
        let (theirs, ours) = (&caller.tid, world.tenant_id());
        let cloud = world.scenario.tenant.cloud();
        let (sts, login) = (cloud.sts_host(), cloud.arm_authority_host());
        return Err(unauthorized(
            world,
            "InvalidAuthenticationTokenTenant",
            &format!(
                "The access token is from the wrong issuer 'https://{sts}/{theirs}/'. It must match the tenant 'https://{sts}/{ours}/' associated with this subscription. Please use the authority (URL) 'https://{login}/{ours}' to get the token. Note, if the subscription is transferred to another tenant there is no impact to the services, but information about new tenant could take time to propagate (up to an hour). If you just transferred your subscription and see this error message, please try back later."
            ),
            "The access token is from the wrong issuer.",
        ));
    }
    Ok(caller)
}

/// What a request's scope path names.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scope<'w> {
    /// `/` (tenant root), where built-in role definitions live.
    Root,
    /// A management group (the tenant root group is named by the tenant id).
    ManagementGroup(&'w str),
    /// A subscription, by its id as the scenario spells it.
    Subscription(&'w str),
    /// A resource group: subscription id, group name.
    ResourceGroup(&'w str, &'w str),
    Account(&'w AccountSpec),
    Search(&'w SearchServiceSpec),
}

/// The canonical id of a scope (the scenario's spelling, whatever casing the client sent).
pub(crate) fn scope_id(_world: &World, scope: Scope) -> String {
    match scope {
        Scope::Root => String::new(),
        Scope::ManagementGroup(name) => super::scenario::management_group_scope(name),
        Scope::Subscription(sub) => format!("/subscriptions/{sub}"),
        Scope::ResourceGroup(sub, rg) => format!("/subscriptions/{sub}/resourceGroups/{rg}"),
        Scope::Account(a) => a.id(),
        Scope::Search(s) => s.id(),
    }
}

/// One of the tenant's subscriptions, by id, as the scenario spells it.
pub(crate) fn subscription<'w>(world: &'w World, id: &str) -> Option<&'w str> {
    world.subscription_by_id(id).map(|s| s.id.as_str())
}

/// A management group of the scenario (or the tenant root group), as the scenario spells it.
fn management_group<'w>(world: &'w World, name: &str) -> Option<&'w str> {
    if eq(name, world.tenant_id()) {
        return Some(world.tenant_id());
    }
    world
        .scenario
        .management_groups
        .iter()
        .map(|m| m.name())
        .find(|m| eq(m, name))
}

fn management_group_not_found(name: &str) -> EmuResponse {
    // ARM's wording for a management group that does not exist is unverified [L].
    arm_error(
        404,
        "ManagementGroupNotFound",
        &format!("The management group '{name}' could not be found."),
    )
}

fn subscription_not_found(sub: &str) -> EmuResponse {
    arm_error(
        404,
        "SubscriptionNotFound",
        &format!("The subscription '{sub}' could not be found."),
    )
}

fn resource_group_not_found(rg: &str) -> EmuResponse {
    arm_error(
        404,
        "ResourceGroupNotFound",
        &format!("Resource group '{rg}' could not be found."),
    )
}

fn resource_not_found(namespace_and_type: &str, name: &str, rg: &str) -> EmuResponse {
    arm_error(
        404,
        "ResourceNotFound",
        &format!(
            "The Resource '{namespace_and_type}/{name}' under resource group '{rg}' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"
        ),
    )
}

/// A path ARM would not route to any resource provider the emulator knows [L on the wording].
fn unknown_route(path: &str) -> EmuResponse {
    arm_error(
        404,
        "InvalidResourceType",
        &format!("The resource type could not be found for the request path '{path}'."),
    )
}

/// A resource group exists in a subscription when some resource of the scenario lives in it
/// there.
fn resource_group<'w>(world: &'w World, subscription: &str, name: &str) -> Option<&'w str> {
    let s = &world.scenario;
    s.accounts
        .iter()
        .map(|a| (a.resource_group.as_str(), a.subscription_id.as_str()))
        .chain(
            s.search_services
                .iter()
                .map(|x| (x.resource_group.as_str(), x.subscription_id.as_str())),
        )
        .find(|(rg, sub)| eq(rg, name) && eq(sub, subscription))
        .map(|(rg, _)| rg)
}

/// Resolve a scope path (segments before `/providers/Microsoft.Authorization/…`).
pub(crate) fn resolve_scope<'w>(
    world: &'w World,
    segments: &[String],
    path: &str,
) -> Result<Scope<'w>, EmuResponse> {
    let seg: Vec<&str> = segments.iter().map(String::as_str).collect();
    if seg.is_empty() {
        return Ok(Scope::Root);
    }
    if let [p, ns, mgs, name] = seg.as_slice()
        && eq(p, "providers")
        && eq(ns, "Microsoft.Management")
        && eq(mgs, "managementGroups")
    {
        return management_group(world, name)
            .map(Scope::ManagementGroup)
            .ok_or_else(|| management_group_not_found(name));
    }
    if !eq(seg[0], "subscriptions") || seg.len() < 2 {
        return Err(unknown_route(path));
    }
    let Some(sub) = subscription(world, seg[1]) else {
        return Err(subscription_not_found(seg[1]));
    };
    match seg.as_slice() {
        [_, _] => Ok(Scope::Subscription(sub)),
        [_, _, rgs, rg] if eq(rgs, "resourceGroups") => resource_group(world, sub, rg)
            .map(|rg| Scope::ResourceGroup(sub, rg))
            .ok_or_else(|| resource_group_not_found(rg)),
        [_, _, rgs, rg, providers, namespace, kind, name]
            if eq(rgs, "resourceGroups") && eq(providers, "providers") =>
        {
            let Some(rg_name) = resource_group(world, sub, rg) else {
                return Err(resource_group_not_found(rg));
            };
            let in_rg = |group: &str| eq(group, rg_name);
            let in_sub = |id: &str| eq(id, sub);
            if eq(namespace, "Microsoft.CognitiveServices") && eq(kind, "accounts") {
                world
                    .scenario
                    .accounts
                    .iter()
                    .find(|a| {
                        eq(a.name(), name) && in_rg(&a.resource_group) && in_sub(&a.subscription_id)
                    })
                    .map(Scope::Account)
                    .ok_or_else(|| {
                        resource_not_found("Microsoft.CognitiveServices/accounts", name, rg)
                    })
            } else if eq(namespace, "Microsoft.Search") && eq(kind, "searchServices") {
                world
                    .scenario
                    .search_services
                    .iter()
                    .find(|s| {
                        eq(s.name(), name) && in_rg(&s.resource_group) && in_sub(&s.subscription_id)
                    })
                    .map(Scope::Search)
                    .ok_or_else(|| resource_not_found("Microsoft.Search/searchServices", name, rg))
            } else {
                Err(resource_not_found(&format!("{namespace}/{kind}"), name, rg))
            }
        }
        _ => Err(unknown_route(path)),
    }
}

/// ARM's 403 for a caller without `action` at `scope`. Users are named by UPN, everything else
/// by object id (§5.5).
pub(crate) fn authorization_failed(
    world: &World,
    caller: &Caller,
    action: &str,
    scope: &str,
) -> EmuResponse {
    // The token's `upn` first; a user token without one is named by the scenario's UPN.
    let scenario_upn = || match authz::principal_by_object_id(&world.scenario, &caller.oid) {
        Some(authz::PrincipalRef::Identity(i)) if i.kind == IdentityType::User => i.upn.clone(),
        _ => None,
    };
    let who = caller
        .upn
        .clone()
        .or_else(scenario_upn)
        .unwrap_or_else(|| caller.oid.clone());
    arm_error(
        403,
        "AuthorizationFailed",
        &format!(
            "The client '{who}' with object id '{}' does not have authorization to perform action '{action}' over scope '{scope}' or the scope is invalid. If access was recently granted, please refresh your credentials.",
            caller.oid
        ),
    )
}

/// Does the caller hold the (control-plane) `action` at `scope`?
pub(crate) fn may(world: &World, caller: &Caller, action: &str, scope: &str) -> bool {
    authz::check_access(
        &world.scenario,
        &AccessQuery {
            principal_oid: &caller.oid,
            scope,
            action,
            kind: ActionKind::Action,
            elapsed: world.started.elapsed(),
        },
    )
    .is_allowed()
}

fn route(world: &World, req: &EmuRequest, segments: &[String], caller: &Caller) -> EmuResponse {
    let Some(api_version) = req.query_param("api-version").filter(|v| !v.is_empty()) else {
        return arm_error(
            400,
            "MissingApiVersionParameter",
            "The api-version query parameter (?api-version=) is required for all requests.",
        );
    };
    if !req.method.eq_ignore_ascii_case("GET") {
        // The emulator serves reads only [L on the body].
        return arm_error(
            405,
            "MethodNotAllowed",
            &format!("The emulator does not serve {} on this path.", req.method),
        );
    }
    // `{scope}/providers/Microsoft.Authorization/{type}[/{name}]`: the last such provider
    // segment, since the scope itself may contain `providers/…`.
    let authorization_at = (0..segments.len().saturating_sub(2)).rev().find(|&i| {
        eq(&segments[i], "providers") && eq(&segments[i + 1], "Microsoft.Authorization")
    });
    if let Some(i) = authorization_at {
        let rest = &segments[i + 2..];
        return match rest {
            [kind] => {
                authorization::handle(world, req, caller, &segments[..i], kind, None, api_version)
            }
            [kind, name] => authorization::handle(
                world,
                req,
                caller,
                &segments[..i],
                kind,
                Some(name),
                api_version,
            ),
            _ => unknown_route(&req.path),
        };
    }
    resources::handle(world, req, caller, segments)
}

#[cfg(test)]
mod tests;
