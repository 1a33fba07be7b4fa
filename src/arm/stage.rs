//! The two ARM stages of a cell, as the runner calls them: locate + preflight a target, and
//! answer the RBAC question. They only sequence the client's reads and hand the results to the
//! pure `preflight` and `rbac` functions. Every read goes through the run's `ArmCache`, so many
//! targets cost one listing per (reader, subscription) and one per (principal, subscription),
//! however many cells ask.

use crate::arm::client::{ArmClient, ArmError};
use crate::arm::model::{DenyAssignment, RoleAssignment, RoleDefinition};
use crate::arm::preflight::{self, ResourceFacts};
use crate::arm::rbac::{self, RbacQuestion, RbacVerdict};
use crate::arm::scope;
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
/// admin mode). When the role assignments cannot be read and `own` (the principal's own ARM
/// client) is given, fall back to the permissions API; otherwise the verdict is unknown.
pub async fn check_access(
    reader: &ArmClient,
    own: Option<&ArmClient>,
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
    let assignments = match assignments {
        Ok(list) => list,
        Err(error) => {
            let unknown = rbac::unreadable(q, &error);
            let Some(own) = own else { return unknown };
            return match own.permissions(arm_resource(q.resource_id)).await {
                Ok(permissions) => {
                    let mut verdict = rbac::evaluate_permissions(q, &permissions);
                    // Say that this came from the fallback, which sees no deny assignments.
                    if let RbacVerdict::Denied { findings } = &mut verdict {
                        findings.extend(unknown.findings().iter().cloned());
                    }
                    verdict
                }
                Err(_) => unknown,
            };
        }
    };
    let verdict = rbac::evaluate(q, &assignments, &definitions, &denies);
    if matches!(verdict, RbacVerdict::Allowed { .. }) {
        return verdict;
    }
    // The remedy names a role: as this tenant defines it, which wins over the catalog. Read
    // once per role per run (cached), and only when a remedy is needed.
    let mut definitions = definitions;
    let missing: Vec<String> = rbac::remedy_role_guids(q.action, q.kind)
        .into_iter()
        .filter(|guid| !definitions.contains_key(guid))
        .collect();
    if missing.is_empty() {
        return verdict;
    }
    let read = futures::future::join_all(
        missing
            .iter()
            .map(|guid| reader.role_definition(guid, subscription)),
    )
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
    rbac::evaluate(q, &assignments, &definitions, &denies)
}
