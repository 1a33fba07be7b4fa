//! Emulated managed identity endpoints: IMDS (`169.254.169.254`, VMs, VMSS, AKS nodes) and the
//! App Service / Functions / Container Apps endpoint (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`).
//!
//! Which identities a machine has: `machine.managed_identities`, the first system-assigned and
//! the rest user-assigned (design §5.5), so a request without a selector gets the system-assigned
//! identity. With `[machine] system_assigned = false` all are user-assigned: a request naming
//! none of several gets IMDS's "Multiple user assigned identities exist" answer.

use super::entra::{self, AppAuth};
use super::scenario::IdentitySpec;
use super::{EmuRequest, EmuResponse, World};

pub const IMDS_HOST: &str = "169.254.169.254";
pub const IMDS_TOKEN_PATH: &str = "/metadata/identity/oauth2/token";
/// IMDS names itself in a `Server` header (seen on real error answers).
const IMDS_SERVER: &str = "IMDS/150.870.65.1475";
pub const APP_SERVICE_PATH: &str = "/msi/token";
pub const APP_SERVICE_API_VERSION: &str = "2019-08-01";

/// Whether this machine has IMDS at all. A laptop has none: the proxy then drops the connection
/// instead of answering, as a machine with no route to 169.254.169.254 would fail to connect.
pub fn imds_present(world: &World) -> bool {
    !world.scenario.machine.managed_identities.is_empty()
}

/// How a request picks a user-assigned identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    ClientId(String),
    ObjectId(String),
    ResourceId(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectError {
    NotFound,
    Ambiguous,
}

/// The resource id of the VM whose system-assigned identity `name` is (the scenario does not name
/// VMs, so the VM takes the identity's name, in the fixed resource group `rg-identity`).
pub fn system_assigned_resource_id(world: &World, name: &str) -> String {
    format!(
        "/subscriptions/{}/resourcegroups/rg-identity/providers/Microsoft.Compute/virtualMachines/{name}",
        world.subscription()
    )
}

/// IMDS's choice of identity: a selector must name one of the machine's identities (client and
/// object ids match either kind, a resource id only a user-assigned one); without a selector the
/// system-assigned identity answers, else the only user-assigned one, else it is ambiguous.
pub fn select<'a>(
    world: &World,
    system_assigned: Option<&'a IdentitySpec>,
    user_assigned: &[&'a IdentitySpec],
    selector: Option<&Selector>,
) -> Result<(&'a IdentitySpec, String), SelectError> {
    let with_id = |i: &'a IdentitySpec, system: bool| {
        let id = if system {
            system_assigned_resource_id(world, i.name())
        } else {
            entra::user_assigned_resource_id(world, i.name())
        };
        (i, id)
    };
    let all = system_assigned
        .map(|i| with_id(i, true))
        .into_iter()
        .chain(user_assigned.iter().map(|i| with_id(i, false)));
    match selector {
        Some(Selector::ClientId(c)) => all
            .into_iter()
            .find(|(i, _)| i.client_id().eq_ignore_ascii_case(c))
            .ok_or(SelectError::NotFound),
        Some(Selector::ObjectId(o)) => all
            .into_iter()
            .find(|(i, _)| i.object_id().eq_ignore_ascii_case(o))
            .ok_or(SelectError::NotFound),
        Some(Selector::ResourceId(r)) => user_assigned
            .iter()
            .map(|i| with_id(i, false))
            .find(|(_, id)| id.eq_ignore_ascii_case(r))
            .ok_or(SelectError::NotFound),
        None => match (system_assigned, user_assigned) {
            (Some(s), _) => Ok(with_id(s, true)),
            (None, [only]) => Ok(with_id(only, false)),
            (None, []) => Err(SelectError::NotFound),
            (None, _) => Err(SelectError::Ambiguous),
        },
    }
}

fn imds_error(error: &str, description: &str) -> EmuResponse {
    let body = format!(
        "{{\"error\":{},\"error_description\":{}}}",
        serde_json::to_string(error).unwrap_or_default(),
        serde_json::to_string(description).unwrap_or_default()
    );
    EmuResponse::raw_json(400, body).with_header("server", IMDS_SERVER)
}

/// The machine's identities as IMDS sees them.
fn machine_identities(world: &World) -> (Option<&IdentitySpec>, Vec<&IdentitySpec>) {
    let mut all = world
        .scenario
        .machine
        .managed_identities
        .iter()
        .filter_map(|n| world.scenario.identity(n.get_ref()));
    let system = if world.scenario.machine.has_system_assigned() {
        all.next()
    } else {
        None
    };
    (system, all.collect())
}

/// `GET http://169.254.169.254/metadata/identity/oauth2/token?api-version=…&resource=…`.
pub fn handle_imds(world: &World, req: &EmuRequest) -> EmuResponse {
    world.counters.bump("imds.token");
    if !req.path.eq_ignore_ascii_case(IMDS_TOKEN_PATH)
        && !req
            .path
            .eq_ignore_ascii_case(&format!("{IMDS_TOKEN_PATH}/"))
    {
        return EmuResponse::text(
            404,
            format!(
                "entraprobe emulator: IMDS here serves only {IMDS_TOKEN_PATH}, not {}",
                req.path
            ),
        );
    }
    if req.header("metadata") != Some("true") {
        return imds_error("bad_request_102", "Required metadata header not specified");
    }
    // [L] the texts of the two missing-parameter answers.
    if req.query_param("api-version").is_none_or(str::is_empty) {
        return imds_error(
            "invalid_request",
            "Required query variable 'api-version' is missing",
        );
    }
    let Some(resource) = req.query_param("resource").filter(|r| !r.is_empty()) else {
        return imds_error(
            "invalid_request",
            "Required query variable 'resource' is missing",
        );
    };
    let selectors: Vec<Selector> = [
        ("client_id", Selector::ClientId as fn(String) -> Selector),
        ("object_id", Selector::ObjectId),
        ("msi_res_id", Selector::ResourceId),
        ("mi_res_id", Selector::ResourceId),
    ]
    .into_iter()
    .filter_map(|(name, make)| {
        req.query_param(name)
            .filter(|v| !v.is_empty())
            .map(|v| make(v.to_string()))
    })
    .collect();
    if selectors.len() > 1 {
        // [L] IMDS takes at most one selector; the exact text of this answer is a guess.
        return imds_error(
            "invalid_request",
            "Only one of client_id, object_id or msi_res_id can be specified",
        );
    }
    let (system, user) = machine_identities(world);
    let (identity, resource_id) = match select(world, system, &user, selectors.first()) {
        Ok(found) => found,
        Err(SelectError::NotFound) => return imds_error("invalid_request", "Identity not found"),
        Err(SelectError::Ambiguous) => {
            return imds_error(
                "invalid_request",
                "Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request",
            );
        }
    };
    let tenant_id = identity.tenant_id(&world.scenario.tenant).to_string();
    if !entra::resource_in_tenant(world, resource) {
        return imds_error(
            "invalid_resource",
            &format!(
                "AADSTS500011: The resource principal named {resource} was not found in the tenant named {tenant_id}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant."
            ),
        );
    }
    let issued = entra::issue_app_token(
        world,
        world.scenario.tenant.cloud().login_host(),
        identity,
        &tenant_id,
        resource,
        &AppAuth::ManagedIdentity { resource_id },
    );
    let s = |v: &str| serde_json::to_string(v).unwrap_or_default();
    // Every value a string, as IMDS writes them.
    let body = format!(
        "{{\"access_token\":{},\"refresh_token\":\"\",\"expires_in\":\"{e}\",\"expires_on\":\"{on}\",\"ext_expires_in\":\"{e}\",\"not_before\":\"{nb}\",\"resource\":{},\"token_type\":\"Bearer\",\"client_id\":{}}}",
        s(&issued.token),
        s(resource),
        s(&identity.client_id()),
        e = issued.expires_in,
        on = issued.expires_on,
        nb = issued.issued_at,
    );
    EmuResponse::raw_json(200, body).with_header("server", IMDS_SERVER)
}

/// App Service errors are `{"statusCode", "message", "correlationId"}` [L].
fn app_service_error(status: u16, message: &str) -> EmuResponse {
    let body = format!(
        "{{\"statusCode\":{status},\"message\":{},\"correlationId\":\"{}\"}}",
        serde_json::to_string(message).unwrap_or_default(),
        uuid::Uuid::new_v4()
    );
    EmuResponse::raw_json(status, body)
}

/// The resource id App Service reports for its (system-assigned) identity.
pub fn app_service_resource_id(world: &World, name: &str) -> String {
    format!(
        "/subscriptions/{}/resourcegroups/rg-identity/providers/Microsoft.Web/sites/{name}",
        world.subscription()
    )
}

/// Which of the site's identities a request selects, with the resource id its token carries.
/// No selector: the system-assigned identity. A selector (`client_id`, `object_id`,
/// `principal_id`, `mi_res_id`) that names no identity of the site selects nothing, which the
/// endpoint answers with "Unable to load the proper Managed Identity." [L].
fn app_service_selection<'a>(
    world: &World,
    req: &EmuRequest,
    system: Option<&'a IdentitySpec>,
    user_assigned: Option<&'a IdentitySpec>,
) -> Option<(&'a IdentitySpec, String)> {
    let selected = |name: &str| req.query_param(name).filter(|v| !v.is_empty());
    let selectors = ["client_id", "object_id", "principal_id", "mi_res_id"];
    if selectors.iter().all(|n| selected(n).is_none()) {
        return system.map(|i| (i, app_service_resource_id(world, i.name())));
    }
    let matches = |identity: &IdentitySpec, resource_ids: &[String]| {
        selected("client_id").is_none_or(|c| c.eq_ignore_ascii_case(&identity.client_id()))
            && selected("object_id").is_none_or(|o| o.eq_ignore_ascii_case(&identity.object_id()))
            && selected("principal_id")
                .is_none_or(|o| o.eq_ignore_ascii_case(&identity.object_id()))
            && selected("mi_res_id")
                .is_none_or(|r| resource_ids.iter().any(|id| r.eq_ignore_ascii_case(id)))
    };
    let system = system.and_then(|i| {
        let site = app_service_resource_id(world, i.name());
        let ids = [
            site.clone(),
            entra::user_assigned_resource_id(world, i.name()),
        ];
        matches(i, &ids).then_some((i, site))
    });
    system.or_else(|| {
        user_assigned.and_then(|i| {
            let id = entra::user_assigned_resource_id(world, i.name());
            matches(i, std::slice::from_ref(&id)).then_some((i, id))
        })
    })
}

/// `GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=…` with `X-IDENTITY-HEADER`.
pub fn handle_app_service(world: &World, req: &EmuRequest) -> EmuResponse {
    world.counters.bump("app_service.token");
    let scenario = &world.scenario;
    // The site's system-assigned identity and the user-assigned one attached to it.
    let system = scenario
        .machine
        .app_service_identity()
        .and_then(|n| scenario.identity(n));
    let user_assigned = scenario.app_service_user_assigned();
    if system.is_none() && user_assigned.is_none() {
        return EmuResponse::text(
            404,
            "entraprobe emulator: this scenario has no machine.app_service_identity or app_service_client_id",
        );
    }
    if req.header("x-identity-header") != Some(world.machine_secrets.identity_header.as_str()) {
        return app_service_error(
            401,
            "Unauthorized request. The X-IDENTITY-HEADER header is missing or does not match IDENTITY_HEADER.",
        );
    }
    match req.query_param("api-version") {
        Some(APP_SERVICE_API_VERSION) => {}
        other => {
            return app_service_error(
                400,
                &format!(
                    "api-version '{}' is not supported. Use api-version={APP_SERVICE_API_VERSION}.",
                    other.unwrap_or("")
                ),
            );
        }
    }
    let Some(resource) = req.query_param("resource").filter(|r| !r.is_empty()) else {
        return app_service_error(400, "The resource parameter is required.");
    };
    let Some((identity, resource_id)) = app_service_selection(world, req, system, user_assigned)
    else {
        return app_service_error(400, "Unable to load the proper Managed Identity.");
    };
    let tenant_id = identity.tenant_id(&world.scenario.tenant).to_string();
    if !entra::resource_in_tenant(world, resource) {
        return app_service_error(
            400,
            &format!(
                "AADSTS500011: The resource principal named {resource} was not found in the tenant named {tenant_id}."
            ),
        );
    }
    let issued = entra::issue_app_token(
        world,
        world.scenario.tenant.cloud().login_host(),
        identity,
        &tenant_id,
        resource,
        &AppAuth::ManagedIdentity { resource_id },
    );
    let s = |v: &str| serde_json::to_string(v).unwrap_or_default();
    let body = format!(
        "{{\"access_token\":{},\"expires_on\":\"{}\",\"resource\":{},\"token_type\":\"Bearer\",\"client_id\":{}}}",
        s(&issued.token),
        issued.expires_on,
        s(resource),
        s(&identity.client_id()),
    );
    EmuResponse::raw_json(200, body)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::emulator::Scenario;

    const MIS: &str = "[[identity]]\nname = \"a\"\ntype = \"managed_identity\"\n[[identity]]\nname = \"b\"\ntype = \"managed_identity\"\n[[identity]]\nname = \"c\"\ntype = \"managed_identity\"\n";

    #[test]
    fn selection_rules() {
        let world = World::new(Scenario::parse(MIS, "t.toml").unwrap()).unwrap();
        let ids: Vec<&IdentitySpec> = world.scenario.identities.iter().collect();
        let (a, b, c) = (ids[0], ids[1], ids[2]);
        assert_eq!(
            select(&world, Some(a), &[b, c], None).unwrap().0.name(),
            "a"
        );
        assert_eq!(
            select(&world, None, &[b, c], None).unwrap_err(),
            SelectError::Ambiguous
        );
        assert_eq!(select(&world, None, &[b], None).unwrap().0.name(), "b");
        assert_eq!(
            select(&world, None, &[], None).unwrap_err(),
            SelectError::NotFound
        );
        let by_res = Selector::ResourceId(entra::user_assigned_resource_id(&world, "c"));
        assert_eq!(
            select(&world, Some(a), &[b, c], Some(&by_res))
                .unwrap()
                .0
                .name(),
            "c"
        );
        let system_res = Selector::ResourceId(entra::user_assigned_resource_id(&world, "a"));
        assert_eq!(
            select(&world, Some(a), &[b, c], Some(&system_res)).unwrap_err(),
            SelectError::NotFound
        );
        let by_client = Selector::ClientId(b.client_id().to_uppercase());
        assert_eq!(
            select(&world, Some(a), &[b, c], Some(&by_client))
                .unwrap()
                .0
                .name(),
            "b"
        );
    }
}
