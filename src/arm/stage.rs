//! The two ARM stages of a cell, as the runner calls them: locate + preflight a target, and
//! answer the RBAC question. They only sequence the client's reads and hand the results to the
//! pure `preflight` and `rbac` functions. Every read goes through the run's `ArmCache`, so many
//! targets cost one listing per (reader, subscription) and one per (principal, subscription),
//! however many cells ask.

use crate::arm::client::{ArmClient, ArmError};
use crate::arm::model::{DenyAssignment, RoleAssignment, RoleDefinition};
use crate::arm::pim;
use crate::arm::preflight::{self, ResourceFacts};
use crate::arm::rbac::{self, Membership, RbacQuestion, RbacVerdict};
use crate::arm::scope;
use crate::diagnosis::Code;
use crate::diagnosis::Finding;
use crate::graph::GraphHandle;
use crate::service::Target;
use std::collections::HashMap;

/// Find the resource behind `target` and its facts, tenant included. Reads the subscriptions
/// the reader sees, then the account and Search listings of the target's subscription (its
/// resource id's), or of every visible subscription at once when no id was given.
/// `Ok(None)`: the reader sees no resource behind this endpoint.
pub async fn locate(arm: &ArmClient, target: &Target) -> Result<Option<ResourceFacts>, ArmError> {
    let listed = arm.subscriptions().await;
    let subscriptions = listed.clone().unwrap_or_default();
    let wanted: Vec<String> = match target
        .resource_id
        .as_deref()
        .and_then(scope::subscription_of)
    {
        Some(sub) => vec![sub.to_string()],
        // Without a resource id the subscriptions listing is the only way in.
        None if listed.is_err() => return listed.map(|_| None),
        None => subscriptions
            .iter()
            .map(|s| s.subscription_id.clone())
            .filter(|s| !s.is_empty())
            .collect(),
    };
    let listings = futures::future::join_all(
        wanted
            .iter()
            .map(|sub| async move { futures::join!(arm.accounts(sub), arm.search_services(sub)) }),
    )
    .await;
    let mut first_error = None;
    for (accounts, search) in listings {
        // A reader may see one resource type and not the other; judge what it can see.
        let accounts = accounts.unwrap_or_else(|e| {
            first_error.get_or_insert(e);
            Default::default()
        });
        let search = search.unwrap_or_else(|e| {
            first_error.get_or_insert(e);
            Default::default()
        });
        if let Some(mut facts) = preflight::find_resource(target, &accounts, &search) {
            facts.tenant_id = preflight::tenant_of(&subscriptions, &facts.resource_id);
            return Ok(Some(facts));
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(None),
    }
}

/// Read what [`check_access`] will need for a question about `resource_id`, into the run's
/// cache, so a caller can overlap it with [`locate`] instead of waiting for one, then the
/// other. Errors are left for `check_access` to meet again (and report) from the cache.
pub async fn prefetch_access(reader: &ArmClient, resource_id: &str, principal_id: &str) {
    if let Some(subscription) = scope::subscription_of(resource_id) {
        let _ = access_reads(reader, subscription, principal_id).await;
    }
}

/// The reads behind an RBAC question in `subscription`: the principal's assignments, every deny
/// assignment in the subscription (one listing serves every target in it; the evaluator picks
/// those that apply) and the definitions of the assigned roles. Assignments and denies are
/// independent, so both are asked at once. Deny assignments are rare and readable by whoever
/// reads role assignments: a failure leaves the list empty rather than hiding the verdict.
async fn access_reads(
    reader: &ArmClient,
    subscription: &str,
    principal_id: &str,
) -> (
    Result<Vec<RoleAssignment>, ArmError>,
    Vec<DenyAssignment>,
    HashMap<String, RoleDefinition>,
) {
    let subscription_scope = format!("/subscriptions/{subscription}");
    let (assignments, denies) = futures::join!(
        reader.role_assignments_for(subscription, principal_id),
        reader.deny_assignments_within(&subscription_scope)
    );
    let definitions = match &assignments {
        Ok(list) => reader.definitions_for(list, subscription).await.0,
        Err(_) => HashMap::new(),
    };
    (assignments, denies.unwrap_or_default(), definitions)
}

/// The ARM resource a question is about: a Search index question (`…/indexes/NAME`) is about
/// its service, which is what ARM knows (indexes are not ARM resources).
fn arm_resource(resource_id: &str) -> &str {
    match resource_id.to_ascii_lowercase().find("/indexes/") {
        Some(cut) => &resource_id[..cut],
        None => resource_id,
    }
}

/// Answer the RBAC question with `reader` (the principal's own ARM token, or an operator's in
/// admin mode). Where the subscription's role assignments cannot be read, ask below it (the
/// resource group, then the resource: a partial view); where nothing can be read and `own` (the
/// principal's own ARM client) is given, fall back to the permissions API; otherwise the verdict
/// is unknown. A verdict short of allowed also reads the principal's PIM eligibilities.
pub async fn check_access(
    reader: &ArmClient,
    own: Option<&ArmClient>,
    q: &RbacQuestion<'_>,
) -> RbacVerdict {
    check_access_with(reader, own, None, q).await
}

/// [`check_access`], with the operator's Microsoft Graph reader where there is one: group
/// memberships that decide a deny assignment are asked (`checkMemberGroups`), and a verdict
/// short of allowed looks for a role assigned to the principal's app registration object.
pub async fn check_access_with(
    reader: &ArmClient,
    own: Option<&ArmClient>,
    graph: Option<&GraphHandle>,
    q: &RbacQuestion<'_>,
) -> RbacVerdict {
    let Some(subscription) = scope::subscription_of(q.resource_id) else {
        return rbac::unreadable(
            q,
            &ArmError::Other {
                status: 0,
                message: format!("{:?} names no subscription", q.resource_id),
            },
        );
    };
    let (assignments, denies, definitions) =
        access_reads(reader, subscription, q.principal_id).await;
    let verdict = match assignments {
        Ok(list) => {
            let membership = match graph {
                Some(graph) => membership(graph, q, &denies).await,
                None => Membership::default(),
            };
            let mut definitions = definitions;
            let verdict = decide(
                reader,
                q,
                &list,
                &mut definitions,
                &denies,
                None,
                &membership,
            )
            .await;
            let seen = Reads {
                assignments: &list,
                definitions: &definitions,
                denies: &denies,
                membership: &membership,
            };
            with_expiry(reader, own, q, seen, verdict).await
        }
        Err(error) => partial_view(reader, own, q, &error).await,
    };
    let verdict = with_eligibility(reader, own, q, verdict).await;
    match graph {
        Some(graph) => with_application_object(reader, graph, q, verdict).await,
        None => verdict,
    }
}

/// Ask Graph whether the principal is in the groups the deny assignments reaching this question
/// name; nothing is asked when none does.
async fn membership(
    graph: &GraphHandle,
    q: &RbacQuestion<'_>,
    denies: &[DenyAssignment],
) -> Membership {
    let groups = rbac::deny_groups(q, denies);
    if groups.is_empty() {
        return Membership::default();
    }
    let answer = match graph.client().await {
        Ok(client) => client
            .member_groups(q.principal_id, &groups)
            .await
            .map_err(|e| e.to_string()),
        Err(why) => Err(why),
    };
    match answer {
        Ok(found) => {
            let (member_of, not_member_of) = groups.into_iter().partition(|g| found.contains(g));
            Membership {
                member_of,
                not_member_of,
                unknown_because: None,
            }
        }
        Err(why) => Membership {
            unknown_because: Some(why),
            ..Membership::default()
        },
    }
}

/// A verdict short of allowed: is the role assigned to the principal's app registration object
/// instead (a common mistake that never authorizes)? Graph says whether the principal is a
/// service principal with an app registration; ARM lists that object's assignments, and the
/// evaluator says whether one would grant the action. Any failure leaves the verdict as it was.
async fn with_application_object(
    reader: &ArmClient,
    graph: &GraphHandle,
    q: &RbacQuestion<'_>,
    verdict: RbacVerdict,
) -> RbacVerdict {
    if matches!(verdict, RbacVerdict::Allowed { .. }) {
        return verdict;
    }
    let Some(finding) = application_object_finding(reader, graph, q).await else {
        return verdict;
    };
    match verdict {
        RbacVerdict::Denied { mut findings } | RbacVerdict::Unknown { mut findings } => {
            findings.insert(0, finding);
            RbacVerdict::Denied { findings }
        }
        allowed => allowed,
    }
}

async fn application_object_finding(
    reader: &ArmClient,
    graph: &GraphHandle,
    q: &RbacQuestion<'_>,
) -> Option<Finding> {
    let app = graph.application_of(q.principal_id).await?;
    let subscription = scope::subscription_of(q.resource_id)?;
    let assignments: Vec<RoleAssignment> = reader
        .role_assignments_for(subscription, &app.id)
        .await
        .ok()?
        .into_iter()
        .filter(|a| {
            a.properties
                .principal_id
                .trim()
                .eq_ignore_ascii_case(app.id.trim())
        })
        .collect();
    if assignments.is_empty() {
        return None;
    }
    let definitions = reader.definitions_for(&assignments, subscription).await.0;
    let as_app = RbacQuestion {
        principal_id: &app.id,
        ..q.clone()
    };
    let RbacVerdict::Allowed { grant } = rbac::evaluate(&as_app, &assignments, &definitions, &[])
    else {
        return None;
    };
    let sp = crate::graph::clean(q.principal_id.trim());
    Some(Finding::new(
        Code::AssignedToApplicationObject,
        format!(
            "*{}* at {} would grant `{}`, but it is assigned to the app registration {} (application object {}), not to its service principal {sp}: RBAC never matches an application object",
            grant.role_name,
            scope::describe(&grant.scope),
            q.action,
            app.name(),
            crate::graph::clean(app.id.trim()),
        ),
        format!(
            "Assign the role to the service principal instead: az role assignment create --assignee-object-id {sp} --assignee-principal-type ServicePrincipal --role {} --scope {}; then remove the assignment to the application object: az role assignment delete --ids {}",
            grant.role_id, grant.scope, grant.assignment_id,
        ),
    ))
}

/// Evaluate, then, when the verdict needs a remedy, read the roles it may name as this tenant
/// defines them (which wins over the catalog; once per role per run) and evaluate again.
/// Definitions are read at the subscription, or at `read_at` on a partial view.
async fn decide(
    reader: &ArmClient,
    q: &RbacQuestion<'_>,
    assignments: &[RoleAssignment],
    definitions: &mut HashMap<String, RoleDefinition>,
    denies: &[DenyAssignment],
    read_at: Option<&str>,
    membership: &Membership,
) -> RbacVerdict {
    let verdict = rbac::evaluate_with(q, assignments, definitions, denies, membership);
    if matches!(verdict, RbacVerdict::Allowed { .. }) {
        return verdict;
    }
    let subscription = scope::subscription_of(q.resource_id).unwrap_or_default();
    let missing: Vec<String> = rbac::remedy_role_guids(q.action, q.kind)
        .into_iter()
        .filter(|guid| !definitions.contains_key(guid))
        .collect();
    if missing.is_empty() {
        return verdict;
    }
    let read = futures::future::join_all(missing.iter().map(|guid| async move {
        match read_at {
            Some(scope) => reader.role_definition_at(guid, scope).await,
            None => reader.role_definition(guid, subscription).await,
        }
    }))
    .await;
    let before = definitions.len();
    for (guid, answer) in missing.into_iter().zip(read) {
        if let Ok(definition) = answer {
            definitions.insert(guid, definition);
        }
    }
    if definitions.len() == before {
        return verdict;
    }
    rbac::evaluate_with(q, assignments, definitions, denies, membership)
}

/// What a verdict was reached on, for asking it again under other assumptions.
#[derive(Clone, Copy)]
struct Reads<'a> {
    assignments: &'a [RoleAssignment],
    definitions: &'a HashMap<String, RoleDefinition>,
    denies: &'a [DenyAssignment],
    membership: &'a Membership,
}

/// A grant read from role assignments may rest on time-bound ones (a PIM activation, an
/// assignment until a date): read how PIM sees the principal's active assignments (its own
/// with `asTarget()` when `own` is given, else `assignedTo()` with the reader; one listing per
/// principal and subscription) and note when the access ends, if within the question's
/// horizon. A failed read leaves the grant as it was: this is a caution, never a verdict.
async fn with_expiry(
    reader: &ArmClient,
    own: Option<&ArmClient>,
    q: &RbacQuestion<'_>,
    seen: Reads<'_>,
    verdict: RbacVerdict,
) -> RbacVerdict {
    let RbacVerdict::Allowed { mut grant } = verdict else {
        return verdict;
    };
    // The permissions API names no assignment, so there is nothing to tie a schedule to.
    let from_listing = !grant.assignment_id.trim().is_empty();
    if q.horizon <= time::Duration::ZERO || !from_listing {
        return RbacVerdict::Allowed { grant };
    }
    let Some(subscription) = scope::subscription_of(q.resource_id) else {
        return RbacVerdict::Allowed { grant };
    };
    let subscription_scope = format!("/subscriptions/{subscription}");
    // No fallback below the subscription (as the eligibility read has): for a caution, one
    // listing per target of an estate would cost more than it tells.
    let instances = match own {
        Some(own) => {
            own.role_assignment_schedules(&subscription_scope, None)
                .await
        }
        None => {
            reader
                .role_assignment_schedules(&subscription_scope, Some(q.principal_id))
                .await
        }
    };
    if let Ok(instances) = instances {
        grant.ends = pim::time_bound(
            q,
            seen.assignments,
            &instances,
            seen.definitions,
            seen.denies,
            seen.membership,
        )
        .map(Box::new);
    }
    RbacVerdict::Allowed { grant }
}

/// The scopes below the subscription to ask when its listing is refused, widest first: the
/// resource group (it shows sibling resources too, so a role at a wrong scope stays visible),
/// then the resource itself.
fn narrower_scopes(resource_id: &str) -> Vec<String> {
    let resource = arm_resource(resource_id).trim_end_matches('/').to_string();
    let mut scopes = Vec::new();
    if let (Some(sub), Some(rg)) = (
        scope::subscription_of(&resource),
        scope::resource_group_of(&resource),
    ) {
        let group = format!("/subscriptions/{sub}/resourceGroups/{rg}");
        if !scope::same(&group, &resource) {
            scopes.push(group);
        }
    }
    scopes.push(resource);
    scopes
}

/// Is a listing below the subscription worth asking for? When the reader is the principal
/// itself, its effective permissions on the resource (read anyway as the last fallback) say
/// whether it may read role assignments there; an identity with data roles only may not, and
/// then costs no listing per target.
async fn may_list_below(reader: &ArmClient, own: Option<&ArmClient>, q: &RbacQuestion<'_>) -> bool {
    let Some(own) = own.filter(|own| own.same_reader(reader)) else {
        return true;
    };
    match own.permissions(arm_resource(q.resource_id)).await {
        Ok(blocks) => blocks.iter().any(|b| {
            b.grants(
                crate::arm::actions::ActionKind::Action,
                "Microsoft.Authorization/roleAssignments/read",
            )
            .is_some()
        }),
        Err(_) => true,
    }
}

/// The subscription's role assignments were refused (`error`): judge on a partial view from the
/// first readable scope below it, or on the caller's own effective permissions, or say unknown.
async fn partial_view(
    reader: &ArmClient,
    own: Option<&ArmClient>,
    q: &RbacQuestion<'_>,
    error: &ArmError,
) -> RbacVerdict {
    let unknown = rbac::unreadable(q, error);
    let subscription = scope::subscription_of(q.resource_id).unwrap_or_default();
    let unread = format!(
        "the role assignments of subscription {} could not be read: {}",
        scope::short_id(subscription),
        error.code().unwrap_or("refused")
    );
    if matches!(error, ArmError::Forbidden { .. }) && may_list_below(reader, own, q).await {
        for at in narrower_scopes(q.resource_id) {
            let Ok(assignments) = reader.role_assignments_at(&at, q.principal_id).await else {
                continue;
            };
            let denies = reader
                .deny_assignments_within(&at)
                .await
                .unwrap_or_default();
            let mut definitions = reader.definitions_at(&assignments, &at).await;
            let membership = Membership::default();
            let verdict = decide(
                reader,
                q,
                &assignments,
                &mut definitions,
                &denies,
                Some(&at),
                &membership,
            )
            .await;
            let seen = Reads {
                assignments: &assignments,
                definitions: &definitions,
                denies: &denies,
                membership: &membership,
            };
            let verdict = with_expiry(reader, own, q, seen, verdict).await;
            return rbac::on_partial_view(verdict, &unread, &scope::describe(&at));
        }
    }
    let Some(own) = own else { return unknown };
    match own.permissions(arm_resource(q.resource_id)).await {
        Ok(permissions) => {
            let verdict = rbac::on_partial_view(
                rbac::evaluate_permissions(q, &permissions),
                &format!(
                    "{unread}; that API shows neither deny assignments nor assignments still propagating"
                ),
                "the caller's effective permissions (permissions API)",
            );
            match verdict {
                RbacVerdict::Allowed { .. } => verdict,
                // Say that this came from the fallback.
                RbacVerdict::Denied { mut findings } => {
                    findings.extend(unknown.findings().iter().cloned());
                    RbacVerdict::Denied { findings }
                }
                RbacVerdict::Unknown { mut findings } => {
                    findings.extend(unknown.findings().iter().cloned());
                    RbacVerdict::Unknown { findings }
                }
            }
        }
        Err(_) => unknown,
    }
}

/// When no active assignment grants the action, a PIM eligibility that would is the most
/// specific cause: read the principal's eligibilities (its own with `asTarget()` when `own` is
/// given, else `assignedTo()` with the reader) and put `role-eligible-not-active` first. A
/// failed read leaves the verdict as it was.
async fn with_eligibility(
    reader: &ArmClient,
    own: Option<&ArmClient>,
    q: &RbacQuestion<'_>,
    verdict: RbacVerdict,
) -> RbacVerdict {
    let (denied, mut findings) = match verdict {
        RbacVerdict::Allowed { .. } => return verdict,
        RbacVerdict::Denied { findings } => (true, findings),
        RbacVerdict::Unknown { findings } => (false, findings),
    };
    let rebuild = |findings| {
        if denied {
            RbacVerdict::Denied { findings }
        } else {
            RbacVerdict::Unknown { findings }
        }
    };
    let Some(subscription) = scope::subscription_of(q.resource_id) else {
        return rebuild(findings);
    };
    let subscription_scope = format!("/subscriptions/{subscription}");
    let instances = match own {
        Some(own) => own.role_eligibilities(&subscription_scope, None).await,
        None => match reader
            .role_eligibilities(&subscription_scope, Some(q.principal_id))
            .await
        {
            Ok(list) => Ok(list),
            Err(_) => {
                reader
                    .role_eligibilities(arm_resource(q.resource_id), Some(q.principal_id))
                    .await
            }
        },
    };
    let Ok(instances) = instances else {
        return rebuild(findings);
    };
    // Custom roles are not in the catalog: read those definitions (cached, errors ignored).
    let mut definitions = HashMap::new();
    for instance in &instances {
        let guid = crate::arm::model::trailing_guid(&instance.properties.role_definition_id);
        if crate::arm::builtin_roles::builtin_by_id(&guid).is_none()
            && let Ok(d) = reader
                .role_definition(&instance.properties.role_definition_id, subscription)
                .await
        {
            definitions.insert(guid, d);
        }
    }
    if let Some(finding) = pim::eligible_finding(q, &instances, &definitions) {
        // A conditional grant or a possible deny is about an active assignment: it stays first.
        let keeps_first = findings
            .first()
            .is_some_and(|f| matches!(f.code, Code::AbacCondition | Code::DenyAssignment));
        findings.insert(usize::from(keeps_first), finding);
    }
    rebuild(findings)
}
