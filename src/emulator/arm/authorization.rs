//! `Microsoft.Authorization` reads: role assignments, role definitions, deny assignments and the
//! permissions API (reference/azure-wire.md §5.1–§5.4).

use std::collections::BTreeSet;
use std::time::{Duration, SystemTime};

use percent_encoding::{AsciiSet, CONTROLS, utf8_percent_encode};
use serde_json::{Value, json};

use super::{
    Scope, arm_error, authorization_failed, eq, may, resolve_scope, scope_id, unknown_route,
};
use crate::emulator::authz::{
    self, AssignmentView, Caller, DenyView, ResolvedRole, covers, principal_closure,
};
use crate::emulator::{EmuRequest, EmuResponse, World};

/// Small on purpose, so that tests and clients exercise `nextLink` paging.
pub const ROLE_ASSIGNMENTS_PAGE_SIZE: usize = 2;

/// What a `nextLink` percent-encodes in `$filter` (quotes, parentheses, spaces…), so that clients
/// that re-encode it and clients that send it verbatim both round-trip.
const FILTER_ENCODE: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b'#')
    .add(b'%')
    .add(b'&')
    .add(b'\'')
    .add(b'(')
    .add(b')')
    .add(b'+')
    .add(b'=');

pub(super) fn handle(
    world: &World,
    req: &EmuRequest,
    caller: &Caller,
    scope_segments: &[String],
    kind: &str,
    name: Option<&str>,
    api_version: &str,
) -> EmuResponse {
    let route = if eq(kind, "roleAssignments") {
        "arm:roleAssignments"
    } else if eq(kind, "roleDefinitions") {
        "arm:roleDefinitions"
    } else if eq(kind, "denyAssignments") {
        "arm:denyAssignments"
    } else if eq(kind, "permissions") {
        "arm:permissions"
    } else if eq(kind, "roleEligibilityScheduleInstances") {
        "arm:roleEligibilityScheduleInstances"
    } else if eq(kind, "roleAssignmentScheduleInstances") {
        "arm:roleAssignmentScheduleInstances"
    } else {
        return unknown_route(&req.path);
    };
    let scope = match resolve_scope(world, scope_segments, &req.path) {
        Ok(scope) => scope,
        Err(not_found) => return not_found,
    };
    let scope_text = scope_id(world, scope);
    let filter = req
        .query_param("$filter")
        .map(|f| f.replace('+', " "))
        .unwrap_or_default();
    match route {
        "arm:roleAssignments" => {
            let action = "Microsoft.Authorization/roleAssignments/read";
            if !may(world, caller, action, &scope_text) {
                return authorization_failed(
                    world,
                    caller,
                    action,
                    &format!("{scope_text}/providers/Microsoft.Authorization"),
                );
            }
            role_assignments(world, req, &scope_text, name, &filter, api_version)
        }
        "arm:roleDefinitions" => {
            // Built-in definitions at the tenant root are readable by any signed-in caller [L].
            let action = "Microsoft.Authorization/roleDefinitions/read";
            if !matches!(scope, Scope::Root) && !may(world, caller, action, &scope_text) {
                return authorization_failed(
                    world,
                    caller,
                    action,
                    &format!("{scope_text}/providers/Microsoft.Authorization"),
                );
            }
            role_definitions(world, scope, name, &filter)
        }
        "arm:denyAssignments" => {
            let action = "Microsoft.Authorization/denyAssignments/read";
            if !may(world, caller, action, &scope_text) {
                return authorization_failed(
                    world,
                    caller,
                    action,
                    &format!("{scope_text}/providers/Microsoft.Authorization"),
                );
            }
            deny_assignments(world, &scope_text, name, &filter)
        }
        "arm:roleEligibilityScheduleInstances" => {
            eligibility_instances(world, caller, &scope_text, name, &filter)
        }
        "arm:roleAssignmentScheduleInstances" => {
            assignment_schedule_instances(world, caller, &scope_text, name, &filter)
        }
        _ => permissions(world, caller, scope, &scope_text, name, api_version),
    }
}

/// A parsed `$filter` of the role-assignment and deny-assignment listings.
#[derive(Debug, Default, PartialEq, Eq)]
struct Filter {
    at_scope: bool,
    /// `asTarget()` (PIM listings): the caller's own.
    as_target: bool,
    assigned_to: Option<String>,
    principal_id: Option<String>,
}

/// `atScope()`, `assignedTo('{id}')`, `principalId eq '{id}'`, joined by `and`. Case-insensitive
/// keywords; `+` was already turned into a space.
fn parse_filter(text: &str) -> Option<Filter> {
    let mut filter = Filter::default();
    let normalized = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if normalized.is_empty() {
        return Some(filter);
    }
    let lower = normalized.to_ascii_lowercase();
    let mut clauses = Vec::new();
    let mut start = 0;
    while let Some(pos) = lower[start..].find(" and ") {
        clauses.push(&normalized[start..start + pos]);
        start += pos + 5;
    }
    clauses.push(&normalized[start..]);
    let quoted = |s: &str| -> Option<String> {
        let s = s.trim();
        s.strip_prefix('\'')?.strip_suffix('\'').map(str::to_string)
    };
    for clause in clauses {
        let clause = clause.trim();
        let lower = clause.to_ascii_lowercase();
        if lower == "atscope()" {
            filter.at_scope = true;
        } else if lower == "astarget()" {
            filter.as_target = true;
        } else if lower.starts_with("assignedto(") && lower.ends_with(')') {
            filter.assigned_to = Some(quoted(&clause[11..clause.len() - 1])?);
        } else if lower.starts_with("principalid eq ") {
            filter.principal_id = Some(quoted(&clause[15..])?);
        } else if lower.starts_with("gdprexportprincipalid eq ") {
            filter.principal_id = Some(quoted(&clause[25..])?);
        } else {
            return None;
        }
    }
    Some(filter)
}

fn unsupported_filter(text: &str) -> EmuResponse {
    // The wording of ARM's unsupported-filter error is unverified [L].
    arm_error(
        400,
        "UnsupportedQuery",
        &format!(
            "The filter '{text}' is not supported. Supported filters are either 'atScope()' or 'principalId eq '{{value}}'' or 'assignedTo('{{value}}')'."
        ),
    )
}

/// `2024-05-01T10:00:00.0000000Z`, ARM's timestamp format.
fn arm_time(at: SystemTime) -> String {
    let since = at
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap_or(Duration::ZERO);
    let Ok(t) = time::OffsetDateTime::from_unix_timestamp(since.as_secs() as i64) else {
        return String::new();
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:07}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second(),
        since.subsec_nanos() / 100
    )
}

/// When the emulator started, by the wall clock.
fn started_at(world: &World) -> SystemTime {
    SystemTime::now()
        .checked_sub(world.started.elapsed())
        .unwrap_or(SystemTime::UNIX_EPOCH)
}

/// Who "created" the scenario's assignments: a fixed administrator object id.
fn scenario_admin() -> String {
    crate::emulator::scenario::derived_id("object", "scenario-administrator")
}

/// A role definition's id as ARM writes it in something at `scope`: subscription-qualified
/// inside a subscription, tenant-level above subscriptions (management groups) [L on the latter].
fn role_definition_id(scope: &str, role_id: &str) -> String {
    match crate::emulator::scenario::subscription_in(scope) {
        Some(sub) => {
            format!(
                "/subscriptions/{sub}/providers/Microsoft.Authorization/roleDefinitions/{role_id}"
            )
        }
        None => format!("/providers/Microsoft.Authorization/roleDefinitions/{role_id}"),
    }
}

pub(crate) fn assignment_json(world: &World, a: &AssignmentView) -> Value {
    // An assignment that is still propagating was made when the emulator started; the others
    // long before, so a reader can tell "just granted" from "granted and still failing".
    let created = if a.spec.effective_after_s > 0 {
        started_at(world)
    } else {
        started_at(world)
            .checked_sub(Duration::from_secs(30 * 24 * 3600))
            .unwrap_or(SystemTime::UNIX_EPOCH)
    };
    let created = arm_time(created);
    let condition = a.spec.condition.trim();
    json!({
        "id": a.id(),
        "type": "Microsoft.Authorization/roleAssignments",
        "name": a.name,
        "properties": {
            "roleDefinitionId": role_definition_id(&a.scope, &a.role.id),
            "principalId": a.principal_id,
            "principalType": a.principal_type,
            "scope": a.scope,
            "condition": if condition.is_empty() { Value::Null } else { json!(condition) },
            "conditionVersion": if condition.is_empty() { Value::Null } else { json!("2.0") },
            "createdOn": created,
            "updatedOn": created,
            "createdBy": scenario_admin(),
            "updatedBy": scenario_admin(),
            "delegatedManagedIdentityResourceId": Value::Null,
            "description": Value::Null,
        }
    })
}

fn role_assignments(
    world: &World,
    req: &EmuRequest,
    scope: &str,
    name: Option<&str>,
    filter_text: &str,
    api_version: &str,
) -> EmuResponse {
    let all = authz::arm_assignments(&world.scenario, world.started.elapsed());
    if let Some(name) = name {
        return match all
            .iter()
            .find(|a| eq(&a.name, name) && authz::same_scope(&a.scope, scope))
        {
            Some(a) => EmuResponse::json(200, &assignment_json(world, a)),
            None => arm_error(
                404,
                "RoleAssignmentNotFound",
                &format!("The role assignment '{name}' is not found."),
            ),
        };
    }
    let Some(filter) = parse_filter(filter_text).filter(|f| !f.as_target) else {
        return unsupported_filter(filter_text);
    };
    let members = filter
        .assigned_to
        .as_deref()
        .map(|oid| principal_closure(&world.scenario, oid));
    let selected: Vec<&AssignmentView> = all
        .iter()
        .filter(|a| {
            let above = covers(&world.scenario, &a.scope, scope);
            let below = covers(&world.scenario, scope, &a.scope);
            (above || (!filter.at_scope && below))
                && members
                    .as_ref()
                    .is_none_or(|m| m.contains(a.spec.principal.get_ref()))
                && filter
                    .principal_id
                    .as_deref()
                    .is_none_or(|id| eq(id, &a.principal_id))
        })
        .collect();
    let skip: usize = req
        .query_param("$skiptoken")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let page: Vec<Value> = selected
        .iter()
        .skip(skip)
        .take(ROLE_ASSIGNMENTS_PAGE_SIZE)
        .map(|a| assignment_json(world, a))
        .collect();
    let next = skip + ROLE_ASSIGNMENTS_PAGE_SIZE;
    let next_link = if next < selected.len() {
        let mut link = format!(
            "https://{}{scope}/providers/Microsoft.Authorization/roleAssignments?api-version={}",
            if req.host.is_empty() {
                "management.azure.com"
            } else {
                &req.host
            },
            utf8_percent_encode(api_version, FILTER_ENCODE)
        );
        if !filter_text.trim().is_empty() {
            link.push_str("&$filter=");
            link.push_str(&utf8_percent_encode(filter_text.trim(), FILTER_ENCODE).to_string());
        }
        link.push_str(&format!("&$skiptoken={next}"));
        json!(link)
    } else {
        Value::Null
    };
    EmuResponse::json(200, &json!({"value": page, "nextLink": next_link}))
}

/// Role definitions as ARM returns them at a scope: subscription-qualified ids inside a
/// subscription, bare ids at the tenant root.
pub(crate) fn role_definition_json(world: &World, scope: Scope, role: &ResolvedRole) -> Value {
    let id = match scope {
        Scope::Root => format!(
            "/providers/Microsoft.Authorization/roleDefinitions/{}",
            role.id
        ),
        _ => role_definition_id(&scope_id(world, scope), &role.id),
    };
    let (kind, assignable, created) = if role.builtin {
        ("BuiltInRole", json!(["/"]), "2015-02-02T21:55:09.8806423Z")
    } else {
        (
            "CustomRole",
            // Custom roles of the scenario are assignable in every subscription of the tenant.
            json!(
                world
                    .subscriptions
                    .iter()
                    .map(|s| format!("/subscriptions/{}", s.id))
                    .collect::<Vec<_>>()
            ),
            "2024-05-01T10:00:00.0000000Z",
        )
    };
    json!({
        "id": id,
        "type": "Microsoft.Authorization/roleDefinitions",
        "name": role.id,
        "properties": {
            "roleName": role.name,
            "description": role.description,
            "type": kind,
            "permissions": [role_permission_json(&role.permission)],
            "assignableScopes": assignable,
            "createdOn": created,
            "updatedOn": created,
            "createdBy": Value::Null,
            "updatedBy": Value::Null,
        }
    })
}

/// A permission block as ARM serves it: the condition fields only when the block has a
/// condition (built-in roles with delegation conditions, e.g. Foundry Project Manager).
fn role_permission_json(p: &crate::arm::actions::Permission) -> Value {
    let mut block = json!({
        "actions": p.actions,
        "notActions": p.not_actions,
        "dataActions": p.data_actions,
        "notDataActions": p.not_data_actions,
    });
    if let Some(condition) = &p.condition {
        block["condition"] = json!(condition);
        block["conditionVersion"] = json!(p.condition_version.as_deref().unwrap_or("2.0"));
    }
    block
}

fn role_definitions(
    world: &World,
    scope: Scope,
    name: Option<&str>,
    filter_text: &str,
) -> EmuResponse {
    // Custom roles are listed only within their assignable scopes (the subscriptions); by id,
    // the tenant-level path `/providers/Microsoft.Authorization/roleDefinitions/{id}` (what an
    // assignment at a management group names) finds them too [L].
    let visible = |r: &ResolvedRole| r.builtin || !matches!(scope, Scope::Root);
    if let Some(id) = name {
        return match authz::role_by_id(&world.scenario, id) {
            Some(role) => EmuResponse::json(200, &role_definition_json(world, scope, &role)),
            None => arm_error(
                404,
                "RoleDefinitionDoesNotExist",
                &format!("The specified role definition with ID '{id}' does not exist."),
            ),
        };
    }
    let filter = filter_text.split_whitespace().collect::<Vec<_>>().join(" ");
    let lower = filter.to_ascii_lowercase();
    let value_of = |prefix: &str| -> Option<String> {
        lower.strip_prefix(prefix)?;
        let raw = filter[prefix.len()..].trim();
        raw.strip_prefix('\'')?
            .strip_suffix('\'')
            .map(str::to_string)
    };
    let keep: Box<dyn Fn(&ResolvedRole) -> bool> = if filter.is_empty() {
        Box::new(|_| true)
    } else if let Some(name) = value_of("rolename eq ") {
        Box::new(move |r: &ResolvedRole| {
            r.name.eq_ignore_ascii_case(&name)
                || crate::arm::builtin_roles::builtin_by_name(&name).is_some_and(|b| b.id == r.id)
        })
    } else if let Some(kind) = value_of("type eq ") {
        let builtin = kind.eq_ignore_ascii_case("BuiltInRole");
        if !builtin && !kind.eq_ignore_ascii_case("CustomRole") {
            return unsupported_filter(filter_text);
        }
        Box::new(move |r: &ResolvedRole| r.builtin == builtin)
    } else {
        return unsupported_filter(filter_text);
    };
    let value: Vec<Value> = authz::all_roles(&world.scenario)
        .iter()
        .filter(|r| visible(r) && keep(r))
        .map(|r| role_definition_json(world, scope, r))
        .collect();
    EmuResponse::json(200, &json!({"value": value}))
}

fn deny_json(world: &World, d: &DenyView) -> Value {
    json!({
        "id": d.id(),
        "name": d.name,
        "type": "Microsoft.Authorization/denyAssignments",
        "properties": {
            // Deny assignments come from managed applications and deployment stacks; the
            // emulator attributes its own to a stack [L on the naming].
            "denyAssignmentName": format!("Deny assignment '{}' created by Deployment Stack '/subscriptions/{}/providers/Microsoft.Resources/deploymentStacks/entraprobe-scenario'.", d.name, crate::emulator::scenario::subscription_in(&d.scope).unwrap_or(world.subscription())),
            "description": "Created by the scenario's deny_assignment.",
            "permissions": [{
                "actions": d.permission.actions,
                "notActions": d.permission.not_actions,
                "dataActions": d.permission.data_actions,
                "notDataActions": d.permission.not_data_actions,
            }],
            "scope": d.scope,
            "doNotApplyToChildScopes": !d.spec.apply_to_child_scopes,
            "principals": [{"id": d.principal_id, "type": d.principal_type}],
            "excludePrincipals": d.excluded.iter().map(|(id, kind)| json!({"id": id, "type": kind})).collect::<Vec<_>>(),
            "isSystemProtected": true,
        }
    })
}

fn deny_assignments(
    world: &World,
    scope: &str,
    name: Option<&str>,
    filter_text: &str,
) -> EmuResponse {
    let all = authz::deny_assignments(&world.scenario);
    if let Some(name) = name {
        return match all.iter().find(|d| eq(&d.name, name)) {
            Some(d) => EmuResponse::json(200, &deny_json(world, d)),
            None => arm_error(
                404,
                "DenyAssignmentNotFound",
                &format!("The deny assignment '{name}' is not found."),
            ),
        };
    }
    let Some(filter) = parse_filter(filter_text) else {
        return unsupported_filter(filter_text);
    };
    if filter.assigned_to.is_some() || filter.as_target {
        return unsupported_filter(filter_text);
    }
    // `principalId eq` returns the deny assignments that apply to the principal, which takes in
    // the groups it belongs to [L].
    let members = filter
        .principal_id
        .as_deref()
        .map(|oid| principal_closure(&world.scenario, oid));
    let value: Vec<Value> = all
        .iter()
        .filter(|d| {
            let above = covers(&world.scenario, &d.scope, scope);
            let below = covers(&world.scenario, scope, &d.scope);
            (above || (!filter.at_scope && below))
                && members.as_ref().is_none_or(|m| {
                    d.spec.is_everyone()
                        || m.contains(d.spec.principal.get_ref())
                        || filter
                            .principal_id
                            .as_deref()
                            .is_some_and(|id| eq(id, &d.principal_id))
                })
        })
        .map(|d| deny_json(world, d))
        .collect();
    EmuResponse::json(200, &json!({"value": value}))
}

/// What the two PIM listings share (api-version 2020-10-01): `asTarget()` lists the caller's
/// own and needs no permission; any other listing needs read access at the scope. Without
/// `atScope()` a listing holds instances at, above and below the scope; a group's instance is
/// listed for its members with `memberType: Group` ([L] for `asTarget()`: the REST spec's
/// examples show direct instances only; the portal's My roles shows group ones too).
struct PimListing {
    filter: Filter,
    /// Whose instances: the caller (`asTarget()`), `assignedTo()`'s principal, or anyone.
    target: Option<String>,
    /// The target and the groups it belongs to, by scenario name.
    members: Option<BTreeSet<String>>,
}

impl PimListing {
    fn new(
        world: &World,
        caller: &Caller,
        scope: &str,
        filter_text: &str,
        read_action: &str,
    ) -> Result<PimListing, EmuResponse> {
        let Some(filter) = parse_filter(filter_text) else {
            return Err(unsupported_filter(filter_text));
        };
        if !filter.as_target && !may(world, caller, read_action, scope) {
            return Err(authorization_failed(
                world,
                caller,
                read_action,
                &format!("{scope}/providers/Microsoft.Authorization"),
            ));
        }
        let target = if filter.as_target {
            Some(caller.oid.clone())
        } else {
            filter.assigned_to.clone()
        };
        let members = target
            .as_deref()
            .map(|oid| principal_closure(&world.scenario, oid));
        Ok(PimListing {
            filter,
            target,
            members,
        })
    }

    /// Is an instance at `at` for `principal` (scenario name) with `principal_id` listed?
    fn lists(
        &self,
        world: &World,
        scope: &str,
        at: &str,
        principal: &str,
        principal_id: &str,
    ) -> bool {
        let above = covers(&world.scenario, at, scope);
        let below = covers(&world.scenario, scope, at);
        (above || (!self.filter.at_scope && below))
            && self.members.as_ref().is_none_or(|m| m.contains(principal))
            && self
                .filter
                .principal_id
                .as_deref()
                .is_none_or(|id| eq(id, principal_id))
    }

    /// `Direct` for the target's own, `Group` for one it holds through a group.
    fn member_type(&self, principal_id: &str) -> &'static str {
        if self.target.as_deref().is_none_or(|t| eq(t, principal_id)) {
            "Direct"
        } else {
            "Group"
        }
    }
}

/// PIM eligibilities (`roleEligibilityScheduleInstances`), shaped as the REST spec's example
/// `GetRoleEligibilityScheduleInstancesByScope.json`.
fn eligibility_instances(
    world: &World,
    caller: &Caller,
    scope: &str,
    name: Option<&str>,
    filter_text: &str,
) -> EmuResponse {
    let read = "Microsoft.Authorization/roleEligibilityScheduleInstances/read";
    let listing = match PimListing::new(world, caller, scope, filter_text, read) {
        Ok(listing) => listing,
        Err(refused) => return refused,
    };
    let value: Vec<Value> = authz::eligibilities(&world.scenario)
        .iter()
        .filter(|e| name.is_none_or(|n| eq(n, &e.name)))
        .filter(|e| {
            listing.lists(
                world,
                scope,
                &e.scope,
                e.spec.principal.get_ref(),
                &e.principal_id,
            )
        })
        .map(|e| eligibility_json(world, e, listing.member_type(&e.principal_id)))
        .collect();
    pim_answer(
        name,
        value,
        "RoleEligibilityScheduleInstance",
        "role eligibility",
    )
}

/// Active assignments as PIM lists them (`roleAssignmentScheduleInstances`), shaped as the REST
/// spec's example `GetRoleAssignmentScheduleInstancesByScope.json`: every assignment ARM lists,
/// tied to it by `originRoleAssignmentId`, with `endDateTime` for a time-bound one and null for
/// a permanent one. [L] That PIM lists assignments made outside it (permanent, through
/// `roleAssignments`) is how the portal shows them; the emulator lists them all alike.
fn assignment_schedule_instances(
    world: &World,
    caller: &Caller,
    scope: &str,
    name: Option<&str>,
    filter_text: &str,
) -> EmuResponse {
    let read = "Microsoft.Authorization/roleAssignmentScheduleInstances/read";
    let listing = match PimListing::new(world, caller, scope, filter_text, read) {
        Ok(listing) => listing,
        Err(refused) => return refused,
    };
    let value: Vec<Value> = authz::arm_assignments(&world.scenario, world.started.elapsed())
        .iter()
        .filter(|a| name.is_none_or(|n| eq(n, &a.name)))
        .filter(|a| {
            listing.lists(
                world,
                scope,
                &a.scope,
                a.spec.principal.get_ref(),
                &a.principal_id,
            )
        })
        .map(|a| assignment_schedule_json(world, a, listing.member_type(&a.principal_id)))
        .collect();
    pim_answer(
        name,
        value,
        "RoleAssignmentScheduleInstance",
        "role assignment",
    )
}

/// A PIM listing's answer; asked for one instance by name, `{kind}NotFound` when it is not
/// there.
fn pim_answer(name: Option<&str>, value: Vec<Value>, kind: &str, what: &str) -> EmuResponse {
    if let (Some(n), true) = (name, value.is_empty()) {
        return arm_error(
            404,
            &format!("{kind}NotFound"),
            &format!("The {what} schedule instance '{n}' is not found."),
        );
    }
    EmuResponse::json(200, &json!({"value": value}))
}

/// `expandedProperties.scope.type` as PIM writes it.
fn pim_scope_type(scope: &str) -> &'static str {
    if authz::management_group_name(scope).is_some() {
        "managementgroup"
    } else if scope.contains("/providers/") {
        "resource"
    } else if scope.to_ascii_lowercase().contains("/resourcegroups/") {
        "resourcegroup"
    } else {
        "subscription"
    }
}

fn pim_expanded(
    world: &World,
    scope: &str,
    role: &ResolvedRole,
    principal: (&str, &str, &str),
) -> Value {
    let (id, display, kind) = principal;
    json!({
        "scope": {"id": scope, "displayName": scope.rsplit('/').next().unwrap_or(world.subscription()), "type": pim_scope_type(scope)},
        "roleDefinition": {
            "id": role_definition_id(scope, &role.id),
            "displayName": role.name,
            "type": if role.builtin { "BuiltInRole" } else { "CustomRole" },
        },
        "principal": {"id": id, "displayName": display, "type": kind},
    })
}

fn assignment_schedule_json(world: &World, a: &AssignmentView, member_type: &str) -> Value {
    let start = started_at(world)
        .checked_sub(Duration::from_secs(if a.spec.expires_after_s.is_some() {
            3600
        } else {
            30 * 24 * 3600
        }))
        .unwrap_or(SystemTime::UNIX_EPOCH);
    let end = a.spec.expires_after_s.map(|s| {
        arm_time(
            started_at(world)
                .checked_add(Duration::from_secs(s))
                .unwrap_or(SystemTime::UNIX_EPOCH),
        )
    });
    // An activation names the eligibility it came from, when the scenario has one for the
    // same principal, role and scope.
    let eligibility = a
        .spec
        .activated
        .then(|| {
            authz::eligibilities(&world.scenario).into_iter().find(|e| {
                eq(&e.principal_id, &a.principal_id)
                    && eq(&e.role.id, &a.role.id)
                    && authz::same_scope(&e.scope, &a.scope)
            })
        })
        .flatten();
    let (linked_schedule, linked_instance) = match &eligibility {
        Some(e) => (
            json!(format!(
                "{}/providers/Microsoft.Authorization/RoleEligibilitySchedules/{}",
                e.scope, e.schedule
            )),
            json!(format!(
                "{}/providers/Microsoft.Authorization/RoleEligibilityScheduleInstances/{}",
                e.scope, e.name
            )),
        ),
        None => (Value::Null, Value::Null),
    };
    let assignment_type = if a.spec.activated {
        "Activated"
    } else {
        "Assigned"
    };
    let schedule = crate::emulator::scenario::derived_id("role-assignment-schedule", &a.name);
    json!({
        "properties": {
            "scope": a.scope,
            "roleDefinitionId": role_definition_id(&a.scope, &a.role.id),
            "principalId": a.principal_id,
            "principalType": a.principal_type,
            "roleAssignmentScheduleId": format!("{}/providers/Microsoft.Authorization/RoleAssignmentSchedules/{schedule}", a.scope),
            "originRoleAssignmentId": a.id(),
            "status": "Provisioned",
            "startDateTime": arm_time(start),
            "endDateTime": end,
            "linkedRoleEligibilityScheduleId": linked_schedule,
            "linkedRoleEligibilityScheduleInstanceId": linked_instance,
            "assignmentType": assignment_type,
            "memberType": member_type,
            "createdOn": arm_time(start),
            "condition": if a.has_condition() { json!(a.spec.condition.trim()) } else { Value::Null },
            "conditionVersion": if a.has_condition() { json!("2.0") } else { Value::Null },
            "expandedProperties": pim_expanded(world, &a.scope, &a.role, (&a.principal_id, a.spec.principal.get_ref(), a.principal_type)),
        },
        "name": a.name,
        "id": format!("{}/providers/Microsoft.Authorization/RoleAssignmentScheduleInstances/{}", a.scope, a.name),
        "type": "Microsoft.Authorization/RoleAssignmentScheduleInstances",
    })
}

fn eligibility_json(world: &World, e: &authz::EligibilityView, member_type: &str) -> Value {
    let start = arm_time(started_at(world) - Duration::from_secs(7 * 24 * 3600));
    let end = arm_time(started_at(world) + Duration::from_secs(358 * 24 * 3600));
    json!({
        "properties": {
            "scope": e.scope,
            "roleDefinitionId": role_definition_id(&e.scope, &e.role.id),
            "principalId": e.principal_id,
            "principalType": e.principal_type,
            "status": "Provisioned",
            "roleEligibilityScheduleId": format!("{}/providers/Microsoft.Authorization/RoleEligibilitySchedules/{}", e.scope, e.schedule),
            "startDateTime": start,
            "endDateTime": end,
            "memberType": member_type,
            "createdOn": start,
            "condition": Value::Null,
            "conditionVersion": Value::Null,
            "expandedProperties": pim_expanded(world, &e.scope, &e.role, (&e.principal_id, e.spec.principal.get_ref(), e.principal_type)),
        },
        "name": e.name,
        "id": format!("{}/providers/Microsoft.Authorization/RoleEligibilityScheduleInstances/{}", e.scope, e.name),
        "type": "Microsoft.Authorization/RoleEligibilityScheduleInstances",
    })
}

/// The caller's own permissions at a resource group or resource; it needs no right to read
/// them (§5.3).
fn permissions(
    world: &World,
    caller: &Caller,
    scope: Scope,
    scope_text: &str,
    name: Option<&str>,
    api_version: &str,
) -> EmuResponse {
    if name.is_some()
        || matches!(
            scope,
            Scope::Root | Scope::ManagementGroup(_) | Scope::Subscription(_)
        )
    {
        // ARM documents the permissions API for resource groups and resources only [L].
        return arm_error(
            404,
            "InvalidResourceType",
            &format!(
                "The resource type 'permissions' could not be found in the namespace 'Microsoft.Authorization' for api version '{api_version}'."
            ),
        );
    }
    let value: Vec<Value> = authz::effective_permissions(
        &world.scenario,
        &caller.oid,
        scope_text,
        world.started.elapsed(),
    )
    .into_iter()
    .map(|p| {
        json!({
            "actions": p.actions,
            "notActions": p.not_actions,
            "dataActions": p.data_actions,
            "notDataActions": p.not_data_actions,
        })
    })
    .collect();
    EmuResponse::json(200, &json!({"value": value, "nextLink": Value::Null}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters_parse_in_every_spelling() {
        assert_eq!(parse_filter("").unwrap(), Filter::default());
        assert_eq!(
            parse_filter("atScope() and assignedTo('AbC')").unwrap(),
            Filter {
                at_scope: true,
                as_target: false,
                assigned_to: Some("AbC".into()),
                principal_id: None
            }
        );
        assert_eq!(
            parse_filter("principalId  EQ 'x'  AND atscope()").unwrap(),
            Filter {
                at_scope: true,
                as_target: false,
                assigned_to: None,
                principal_id: Some("x".into())
            }
        );
        assert!(parse_filter("roleName eq 'x'").is_none());
        assert!(parse_filter("assignedTo(x)").is_none());
    }

    #[test]
    fn arm_timestamps_have_seven_fraction_digits() {
        let t = SystemTime::UNIX_EPOCH + Duration::new(1_718_438_400, 123_456_789);
        assert_eq!(arm_time(t), "2024-06-15T08:00:00.1234567Z");
    }
}
