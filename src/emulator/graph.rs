//! Emulated Microsoft Graph (`graph.microsoft.com`, and `graph.microsoft.us` /
//! `microsoftgraph.chinacloudapi.cn` for a tenant in those clouds): the directory reads
//! entraprobe and the Azure CLI make about principals and groups, for the scenario's identities
//! and groups.
//!
//! Served (v1.0): `servicePrincipals`, `users` and `applications` listings with `$filter=… eq
//! '…'`, `users/{id-or-upn}`, `directoryObjects/{id}`, and on `directoryObjects`, `users` and
//! `servicePrincipals`: `POST …/{id}/checkMemberGroups` and `GET …/{id}/transitiveMemberOf`.
//! Shapes follow the Graph v1.0 documentation: `@odata.context`, `value`, `@odata.type` on
//! directory objects, errors as `{"error":{"code","message","innerError":{…}}}`.
//!
//! Who may read: a caller whose identity has `directory_reader` (default: users yes, apps and
//! managed identities no, as Entra's defaults are); anyone else gets 403
//! `Authorization_RequestDenied`, "Insufficient privileges to complete the operation.".

use serde_json::{Value, json};

use super::authz::{self, Caller, TokenProblem};
use super::scenario::{GroupSpec, IdentitySpec, IdentityType};
use super::{EmuRequest, EmuResponse, World};

/// The audiences Graph accepts: its URI (v1.0 tokens) and its application id (v2.0 tokens). A
/// sovereign Graph's URI counts as its public twin (`authz::judge_token`); Entra issues a
/// tenant tokens for its own cloud's Graph only.
const GRAPH_AUDIENCES: &[&str] = &[
    "https://graph.microsoft.com",
    "https://graph.microsoft.com/",
    "00000003-0000-0000-c000-000000000000",
];
/// `checkMemberGroups` takes at most 20 group ids (Graph v1.0 documentation).
const MAX_CHECK_GROUPS: usize = 20;

pub fn handle(world: &World, req: &EmuRequest) -> EmuResponse {
    let request_id = uuid::Uuid::new_v4().to_string();
    let response = match authenticate(world, req) {
        Err(rejection) => rejection,
        Ok(caller) => route(world, req, &caller),
    };
    response
        .with_header("request-id", request_id.clone())
        .with_header("client-request-id", request_id)
}

/// Graph's error envelope.
fn graph_error(status: u16, code: &str, message: &str) -> EmuResponse {
    let now = time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let id = uuid::Uuid::new_v4().to_string();
    EmuResponse::json(
        status,
        &json!({"error": {"code": code, "message": message,
            "innerError": {"date": now, "request-id": id, "client-request-id": id}}}),
    )
}

fn authenticate(world: &World, req: &EmuRequest) -> Result<Caller, EmuResponse> {
    let Some(token) = req.bearer().filter(|t| !t.is_empty()) else {
        return Err(graph_error(
            401,
            "InvalidAuthenticationToken",
            "Access token is empty.",
        ));
    };
    authz::judge_token(&world.signer, token, GRAPH_AUDIENCES, authz::now_unix()).map_err(|p| {
        let message = match p {
            TokenProblem::WrongAudience { .. } => {
                "Access token validation failure. Invalid audience."
            }
            TokenProblem::Expired { .. } => "Lifetime validation failed, the token is expired.",
            _ => "Access token validation failure.",
        };
        graph_error(401, "InvalidAuthenticationToken", message)
    })
}

/// May the caller read the directory? Its identity must be in this tenant and be a reader.
fn may_read(world: &World, caller: &Caller) -> bool {
    caller.tid.eq_ignore_ascii_case(world.tenant_id())
        && world
            .scenario
            .identities
            .iter()
            .find(|i| i.object_id().eq_ignore_ascii_case(&caller.oid))
            .is_some_and(IdentitySpec::reads_directory)
}

fn route(world: &World, req: &EmuRequest, caller: &Caller) -> EmuResponse {
    let segments: Vec<String> = req
        .path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let seg: Vec<&str> = segments.iter().map(String::as_str).collect();
    let Some((&"v1.0", rest)) = seg.split_first() else {
        return graph_error(
            400,
            "BadRequest",
            "Invalid version: only v1.0 is served by this emulator.",
        );
    };
    if req.query_param("$count").is_some_and(|c| c == "true")
        && !req
            .header("consistencylevel")
            .is_some_and(|v| v.eq_ignore_ascii_case("eventual"))
    {
        // Advanced queries need `ConsistencyLevel: eventual` (Graph "advanced query
        // capabilities"); the wording of this message is unverified [L].
        return graph_error(
            400,
            "Request_BadRequest",
            "$count is not currently supported.",
        );
    }
    if !may_read(world, caller) {
        return graph_error(
            403,
            "Authorization_RequestDenied",
            "Insufficient privileges to complete the operation.",
        );
    }
    let get = req.method.eq_ignore_ascii_case("GET");
    let post = req.method.eq_ignore_ascii_case("POST");
    match rest {
        ["servicePrincipals"] if get => listing(world, req, "servicePrincipals"),
        ["users"] if get => listing(world, req, "users"),
        ["applications"] if get => listing(world, req, "applications"),
        ["users", id] if get => match find_user(world, id) {
            Some(user) => entity(req, "users/$entity", user_json(user)),
            None => not_found(id),
        },
        ["directoryObjects", id] if get => match directory_object(world, id) {
            Some(object) => entity(req, "directoryObjects/$entity", object),
            None => not_found(id),
        },
        [kind, id, "checkMemberGroups"] if post && is_member_collection(kind) => {
            check_member_groups(world, req, id)
        }
        [kind, id, "transitiveMemberOf"] if get && is_member_collection(kind) => {
            transitive_member_of(world, req, id)
        }
        _ => graph_error(
            400,
            "BadRequest",
            &format!(
                "Resource not found for the segment '{}'.",
                rest.last().copied().unwrap_or_default()
            ),
        ),
    }
}

fn is_member_collection(kind: &str) -> bool {
    matches!(kind, "directoryObjects" | "users" | "servicePrincipals")
}

/// `@odata.context` on the Graph host the request came to (each cloud's Graph names its own).
fn context_url(req: &EmuRequest, context: &str) -> String {
    format!("https://{}/v1.0/$metadata#{context}", req.host)
}

fn entity(req: &EmuRequest, context: &str, mut object: Value) -> EmuResponse {
    if let Some(map) = object.as_object_mut() {
        map.insert("@odata.context".into(), json!(context_url(req, context)));
    }
    EmuResponse::json(200, &object)
}

fn collection(req: &EmuRequest, context: &str, items: Vec<Value>) -> EmuResponse {
    EmuResponse::json(
        200,
        &json!({"@odata.context": context_url(req, context), "value": items}),
    )
}

fn not_found(id: &str) -> EmuResponse {
    graph_error(
        404,
        "Request_ResourceNotFound",
        &format!(
            "Resource '{id}' does not exist or one of its queried reference-property objects are not present."
        ),
    )
}

/// `$filter=PROPERTY eq 'VALUE'` (a quote inside VALUE doubled, as OData writes it).
fn parse_eq_filter(text: &str) -> Option<(String, String)> {
    let (property, rest) = text.trim().split_once(char::is_whitespace)?;
    let rest = rest.trim_start();
    let value = rest
        .strip_prefix("eq")?
        .trim_start()
        .strip_prefix('\'')?
        .strip_suffix('\'')?;
    if value.replace("''", "").contains('\'') {
        return None;
    }
    Some((property.to_string(), value.replace("''", "'")))
}

fn listing(world: &World, req: &EmuRequest, kind: &str) -> EmuResponse {
    let filter = req.query_param("$filter").unwrap_or_default();
    let parsed = if filter.is_empty() {
        None
    } else {
        match parse_eq_filter(filter) {
            Some(f) => Some(f),
            None => {
                return graph_error(
                    400,
                    "BadRequest",
                    &format!("Invalid filter clause: {filter}"),
                );
            }
        }
    };
    let matches = |property: &str, object: &Value| match &parsed {
        None => true,
        Some((p, v)) if p.eq_ignore_ascii_case(property) => object[property]
            .as_str()
            .is_some_and(|s| s.eq_ignore_ascii_case(v)),
        Some(_) => false,
    };
    let allowed: &[&str] = match kind {
        "users" => &["displayName", "userPrincipalName", "id"],
        _ => &["displayName", "appId", "id"],
    };
    if let Some((p, _)) = &parsed
        && !allowed.iter().any(|a| a.eq_ignore_ascii_case(p))
    {
        let resource = match kind {
            "users" => "User",
            "applications" => "Application",
            _ => "ServicePrincipal",
        };
        return graph_error(
            400,
            "Request_UnsupportedQuery",
            &format!(
                "Unsupported or invalid query filter clause specified for property '{p}' of resource '{resource}'."
            ),
        );
    }
    let property = parsed.as_ref().map(|(p, _)| {
        allowed
            .iter()
            .find(|a| a.eq_ignore_ascii_case(p))
            .copied()
            .unwrap_or("id")
    });
    let objects: Vec<Value> = match kind {
        "users" => world
            .scenario
            .identities
            .iter()
            .filter(|i| i.kind == IdentityType::User)
            .map(user_json)
            .collect(),
        "applications" => world
            .scenario
            .identities
            .iter()
            .filter(|i| i.kind == IdentityType::ServicePrincipal)
            .map(|i| application_json(world, i))
            .collect(),
        _ => world
            .scenario
            .identities
            .iter()
            .filter(|i| i.kind != IdentityType::User)
            .map(|i| service_principal_json(world, i))
            .collect(),
    };
    let selected = objects
        .into_iter()
        .filter(|o| property.is_none_or(|p| matches(p, o)))
        .map(|mut o| {
            if let Some(map) = o.as_object_mut() {
                map.remove("@odata.type");
            }
            o
        })
        .collect();
    collection(req, kind, selected)
}

fn find_user<'w>(world: &'w World, id: &str) -> Option<&'w IdentitySpec> {
    world.scenario.identities.iter().find(|i| {
        i.kind == IdentityType::User
            && (i.object_id().eq_ignore_ascii_case(id)
                || i.upn.as_deref().is_some_and(|u| u.eq_ignore_ascii_case(id)))
    })
}

fn user_json(i: &IdentitySpec) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.user",
        "id": i.object_id(),
        "businessPhones": [],
        "displayName": i.display_name(),
        "givenName": null,
        "jobTitle": null,
        "mail": i.upn,
        "mobilePhone": null,
        "officeLocation": null,
        "preferredLanguage": null,
        "surname": null,
        "userPrincipalName": i.upn.clone().unwrap_or_else(|| format!("{}@contoso.example", i.name())),
    })
}

fn service_principal_json(world: &World, i: &IdentitySpec) -> Value {
    let managed = i.kind == IdentityType::ManagedIdentity;
    let alternative_names: Vec<String> = if managed {
        vec![
            "isExplicit=True".into(),
            super::entra::user_assigned_resource_id(world, i.name()),
        ]
    } else {
        vec![]
    };
    json!({
        "@odata.type": "#microsoft.graph.servicePrincipal",
        "id": i.object_id(),
        "accountEnabled": true,
        "alternativeNames": alternative_names,
        "appDisplayName": if managed { Value::Null } else { json!(i.display_name()) },
        "appId": i.client_id(),
        "appOwnerOrganizationId": if managed { Value::Null } else { json!(i.tenant_id(&world.scenario.tenant)) },
        "displayName": i.display_name(),
        "servicePrincipalNames": [i.client_id()],
        "servicePrincipalType": if managed { "ManagedIdentity" } else { "Application" },
        "signInAudience": if managed { Value::Null } else { json!("AzureADMyOrg") },
    })
}

fn application_json(world: &World, i: &IdentitySpec) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.application",
        "id": i.application_object_id(),
        "appId": i.client_id(),
        "displayName": i.display_name(),
        "publisherDomain": "contoso.example",
        "signInAudience": "AzureADMyOrg",
        "createdDateTime": "2024-01-01T00:00:00Z",
        "tenantId": i.tenant_id(&world.scenario.tenant),
    })
}

fn group_json(g: &GroupSpec) -> Value {
    json!({
        "@odata.type": "#microsoft.graph.group",
        "id": g.object_id(),
        "displayName": g.name.get_ref(),
        "securityEnabled": true,
        "mailEnabled": false,
        "groupTypes": [],
    })
}

/// Any directory object by id: a user, a service principal, an application or a group.
fn directory_object(world: &World, id: &str) -> Option<Value> {
    let s = &world.scenario;
    if let Some(i) = s
        .identities
        .iter()
        .find(|i| i.object_id().eq_ignore_ascii_case(id))
    {
        return Some(match i.kind {
            IdentityType::User => user_json(i),
            _ => service_principal_json(world, i),
        });
    }
    if let Some(app) = s.app_registration_by_object_id(id) {
        return Some(application_json(world, app));
    }
    s.groups
        .iter()
        .find(|g| g.object_id().eq_ignore_ascii_case(id))
        .map(group_json)
}

/// The scenario name of the member object `id` (an identity or a group).
fn member_name<'w>(world: &'w World, id: &str) -> Option<&'w str> {
    authz::principal_by_object_id(&world.scenario, id).map(|p| match p {
        authz::PrincipalRef::Identity(i) => i.name(),
        authz::PrincipalRef::Group(g) => g,
    })
}

fn groups_of<'w>(world: &'w World, name: &str) -> Vec<&'w GroupSpec> {
    let names = world.scenario.groups_of(name);
    world
        .scenario
        .groups
        .iter()
        .filter(|g| names.contains(g.name.get_ref()))
        .collect()
}

fn check_member_groups(world: &World, req: &EmuRequest, id: &str) -> EmuResponse {
    let Some(name) = member_name(world, id) else {
        return not_found(id);
    };
    let body: Value = serde_json::from_slice(&req.body).unwrap_or(Value::Null);
    let Some(asked) = body["groupIds"].as_array() else {
        return graph_error(
            400,
            "Request_BadRequest",
            "Invalid request body: the property 'groupIds' is required.",
        );
    };
    if asked.len() > MAX_CHECK_GROUPS {
        return graph_error(
            400,
            "Request_BadRequest",
            "The number of group ids cannot exceed 20.",
        );
    }
    let member_of = groups_of(world, name);
    let found: Vec<Value> = asked
        .iter()
        .filter_map(Value::as_str)
        .filter(|g| {
            member_of
                .iter()
                .any(|m| m.object_id().eq_ignore_ascii_case(g))
        })
        .map(|g| json!(g))
        .collect();
    collection(req, "Collection(Edm.String)", found)
}

fn transitive_member_of(world: &World, req: &EmuRequest, id: &str) -> EmuResponse {
    let Some(name) = member_name(world, id) else {
        return not_found(id);
    };
    collection(
        req,
        "directoryObjects",
        groups_of(world, name).into_iter().map(group_json).collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::parse_eq_filter;

    #[test]
    fn eq_filters_are_parsed_with_doubled_quotes_and_nothing_else() {
        assert_eq!(
            parse_eq_filter("displayName eq 'O''Brien Bot'"),
            Some(("displayName".into(), "O'Brien Bot".into()))
        );
        assert_eq!(
            parse_eq_filter("appId eq 'abc'"),
            Some(("appId".into(), "abc".into()))
        );
        assert_eq!(parse_eq_filter("appId eq 'a' or id eq 'b'"), None);
        assert_eq!(parse_eq_filter("startswith(displayName,'a')"), None);
    }
}
