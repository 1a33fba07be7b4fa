//! Privileged Identity Management: roles a principal is *eligible* for but has not activated.
//!
//! ARM lists them as `roleEligibilityScheduleInstances` (api-version 2020-10-01; `asTarget()`
//! for the caller's own, `assignedTo('{id}')` for someone else's, both taking in the groups the
//! principal belongs to). An eligible role grants nothing until it is activated, so when no
//! active assignment grants an action, an eligibility that would is the most specific cause.
//! Pure: it judges what the client read.

use crate::arm::actions::Permission;
use crate::arm::model::{
    DenyAssignment, RoleAssignment, RoleDefinition, null_default, parse_arm_time, trailing_guid,
};
use crate::arm::rbac::{self, Membership, RbacQuestion, RbacVerdict};
use crate::arm::scope::{self, Relation};
use crate::diagnosis::{Code, Finding};
use serde::Deserialize;
use std::collections::HashMap;
use time::OffsetDateTime;

pub const PIM_API_VERSION: &str = "2020-10-01";

/// One `Microsoft.Authorization/RoleEligibilityScheduleInstances` item (REST spec 2020-10-01,
/// example `GetRoleEligibilityScheduleInstancesByScope.json`).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct EligibilityInstance {
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    #[serde(deserialize_with = "null_default")]
    pub name: String,
    pub properties: EligibilityProperties,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct EligibilityProperties {
    #[serde(deserialize_with = "null_default")]
    pub scope: String,
    #[serde(deserialize_with = "null_default")]
    pub role_definition_id: String,
    #[serde(deserialize_with = "null_default")]
    pub principal_id: String,
    #[serde(deserialize_with = "null_default")]
    pub principal_type: String,
    #[serde(deserialize_with = "null_default")]
    pub status: String,
    #[serde(deserialize_with = "null_default")]
    pub role_eligibility_schedule_id: String,
    #[serde(deserialize_with = "null_default")]
    pub end_date_time: String,
    /// `Direct`, `Group` or `Inherited`.
    #[serde(deserialize_with = "null_default")]
    pub member_type: String,
    pub expanded_properties: Option<serde_json::Value>,
}

impl EligibilityInstance {
    fn role_display_name(&self) -> Option<String> {
        self.properties
            .expanded_properties
            .as_ref()?
            .pointer("/roleDefinition/displayName")?
            .as_str()
            .map(str::to_string)
    }
}

/// The `role-eligible-not-active` finding, when an eligibility at or above the resource would
/// grant the action. `definitions` are the roles this run read (by lower-case GUID); a role not
/// among them is judged by the built-in catalog, and one known to neither is passed over.
pub fn eligible_finding(
    q: &RbacQuestion,
    instances: &[EligibilityInstance],
    definitions: &HashMap<String, RoleDefinition>,
) -> Option<Finding> {
    instances.iter().find_map(|e| {
        let p = &e.properties;
        let live = p.status.is_empty() || p.status.eq_ignore_ascii_case("provisioned");
        let expired = parse_arm_time(&p.end_date_time).is_some_and(|end| end <= q.now);
        if !live || expired || scope::relation(&p.scope, q.resource_id) != Relation::Applies {
            return None;
        }
        let guid = trailing_guid(&p.role_definition_id);
        let (name, blocks): (String, Vec<Permission>) = match definitions.get(&guid) {
            Some(d) => (d.display_name(), d.properties.permissions.clone()),
            None => {
                let builtin = crate::arm::builtin_roles::builtin_by_id(&guid)?;
                (builtin.name.clone(), builtin.permissions.clone())
            }
        };
        let pattern = blocks.iter().find_map(|b| b.grants(q.kind, q.action))?;
        let name = e.role_display_name().unwrap_or(name);
        let holder = if p.member_type.eq_ignore_ascii_case("group")
            || (!p.principal_id.is_empty()
                && !p.principal_id.trim().eq_ignore_ascii_case(q.principal_id.trim()))
        {
            format!("group {}", p.principal_id.trim())
        } else {
            "the principal".to_string()
        };
        Some(Finding::new(
            Code::RoleEligibleNotActive,
            format!(
                "*{name}* at {} would grant `{}` (`{pattern}`), but {holder} is only eligible for it through PIM and it is not active",
                scope::describe(&p.scope),
                q.action
            ),
            activation_remedy(q.principal_id.trim(), e),
        ))
    })
}

/// The self-activation request, with this eligibility's own ids filled in. The URL is the ARM
/// path alone: `az rest` puts the current cloud's ARM endpoint before a URL without a host, so
/// the command is right in every cloud.
fn activation_remedy(principal_id: &str, e: &EligibilityInstance) -> String {
    let p = &e.properties;
    format!(
        "Activate it in the Azure portal (Privileged Identity Management, My roles, Azure resources), or: az rest --method put --url \"{}/providers/Microsoft.Authorization/roleAssignmentScheduleRequests/$(uuidgen)?api-version={PIM_API_VERSION}\" --body '{{\"properties\":{{\"principalId\":\"{principal_id}\",\"roleDefinitionId\":\"{}\",\"requestType\":\"SelfActivate\",\"linkedRoleEligibilityScheduleId\":\"{}\",\"justification\":\"entraprobe\",\"scheduleInfo\":{{\"expiration\":{{\"type\":\"AfterDuration\",\"duration\":\"PT8H\"}}}}}}}}'; an identity that runs unattended needs an active assignment instead",
        p.scope.trim_end_matches('/'),
        p.role_definition_id,
        p.role_eligibility_schedule_id
    )
}

/// One `Microsoft.Authorization/RoleAssignmentScheduleInstances` item: an *active* role
/// assignment as PIM sees it (REST spec 2020-10-01, example
/// `GetRoleAssignmentScheduleInstancesByScope.json`). `endDateTime` is empty or null for a
/// permanent assignment; `assignmentType` is `Activated` (an eligibility switched on for a
/// while) or `Assigned` (made active directly, permanently or until a date).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct AssignmentScheduleInstance {
    #[serde(deserialize_with = "null_default")]
    pub id: String,
    pub properties: AssignmentScheduleProperties,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub struct AssignmentScheduleProperties {
    #[serde(deserialize_with = "null_default")]
    pub scope: String,
    #[serde(deserialize_with = "null_default")]
    pub role_definition_id: String,
    #[serde(deserialize_with = "null_default")]
    pub principal_id: String,
    /// The `roleAssignments` item this instance is (the link to what the RBAC stage read).
    #[serde(deserialize_with = "null_default")]
    pub origin_role_assignment_id: String,
    #[serde(deserialize_with = "null_default")]
    pub end_date_time: String,
    #[serde(deserialize_with = "null_default")]
    pub assignment_type: String,
}

/// When a granted action stops being granted: the access rests on time-bound (PIM) role
/// assignments only, and the last of them ends at `ends_on`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimeBound {
    pub ends_on: OffsetDateTime,
    /// Activated from an eligibility (renewed by activating again), rather than assigned until
    /// a date (renewed by extending the assignment).
    pub activated: bool,
    /// How long from the question's `now` until then.
    pub remaining: time::Duration,
    /// The role and scope of the assignment that ends last.
    pub role_name: String,
    pub scope: String,
}

/// The `role-assignment-expiring` warning for a grant that ends within the horizon.
pub fn expiry_finding(ends: &TimeBound) -> Finding {
    let how = if ends.activated {
        "activated through PIM"
    } else {
        "assigned until a date"
    };
    let when = ends
        .ends_on
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let remedy = if ends.activated {
        "activate it again before then, or (for an identity that runs unattended) make the assignment active and permanent: entraprobe explain role-assignment-expiring"
    } else {
        "have an administrator extend the assignment or make it permanent (PIM: Assignments, Active assignments, Extend): entraprobe explain role-assignment-expiring"
    };
    let when = if ends.remaining.is_positive() {
        format!("ends at {when} (in {})", in_words(ends.remaining))
    } else {
        format!("ended at {when} and is still listed: PIM is removing it")
    };
    Finding::new(
        Code::RoleAssignmentExpiring,
        format!(
            "the access rests on time-bound role assignments only: *{}* at {}, {how}, {when}",
            ends.role_name,
            scope::describe(&ends.scope),
        ),
        remedy,
    )
}

/// `1h 58m`, `3d 4h`, `12m`: minutes at most, since the run itself takes seconds.
fn in_words(d: time::Duration) -> String {
    let minutes = d.whole_minutes().max(0);
    let (days, hours, minutes) = (minutes / 1440, minutes / 60 % 24, minutes % 60);
    match (days, hours) {
        (0, 0) => format!("{minutes}m"),
        (0, _) => format!("{hours}h {minutes}m"),
        _ => format!("{days}d {hours}h"),
    }
}

/// The role assignments (from `assignments`) that PIM ends within `q.horizon`, with when and
/// how. An instance is tied to its assignment by `originRoleAssignmentId`, else by scope, role
/// and principal. One whose end has passed although ARM still lists it (the removal not yet
/// through, or this machine's clock ahead) counts too: it is the most urgent of all.
fn ending_soon<'a>(
    q: &RbacQuestion,
    assignments: &'a [RoleAssignment],
    instances: &[AssignmentScheduleInstance],
) -> Vec<(&'a RoleAssignment, OffsetDateTime, bool)> {
    let until = q.now + q.horizon;
    assignments
        .iter()
        .filter_map(|a| {
            let instance = instances.iter().find(|i| same_assignment(i, a))?;
            let end = parse_arm_time(&instance.properties.end_date_time)?;
            let activated = instance
                .properties
                .assignment_type
                .eq_ignore_ascii_case("activated");
            (end <= until).then_some((a, end, activated))
        })
        .collect()
}

fn same_assignment(i: &AssignmentScheduleInstance, a: &RoleAssignment) -> bool {
    let p = &i.properties;
    let origin = p.origin_role_assignment_id.trim();
    if !origin.is_empty() {
        // Assignment names are GUIDs unique in the tenant; compare those, not the scope prefix
        // (`providers/Microsoft.Subscription/subscriptions/…` is also seen).
        let name = |id: &str| {
            id.trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or("")
                .to_ascii_lowercase()
        };
        return name(origin) == name(&a.id);
    }
    scope::segments(&p.scope) == scope::segments(&a.properties.scope)
        && trailing_guid(&p.role_definition_id) == a.role_guid()
        && p.principal_id
            .trim()
            .eq_ignore_ascii_case(a.properties.principal_id.trim())
}

/// Does the granted access end within the question's horizon? Only if, with every assignment
/// PIM ends by then taken away, the action is no longer granted; it then ends when the last
/// of those that grant it on their own ends. Pure: it re-asks the evaluator.
pub fn time_bound(
    q: &RbacQuestion,
    assignments: &[RoleAssignment],
    instances: &[AssignmentScheduleInstance],
    definitions: &HashMap<String, RoleDefinition>,
    denies: &[DenyAssignment],
    membership: &Membership,
) -> Option<TimeBound> {
    let ending = ending_soon(q, assignments, instances);
    if ending.is_empty() {
        return None;
    }
    let lasting: Vec<RoleAssignment> = assignments
        .iter()
        .filter(|a| !ending.iter().any(|(e, _, _)| std::ptr::eq(*e, *a)))
        .cloned()
        .collect();
    if matches!(
        rbac::evaluate_with(q, &lasting, definitions, denies, membership),
        RbacVerdict::Allowed { .. }
    ) {
        return None;
    }
    ending
        .iter()
        .filter_map(|(a, end, activated)| {
            match rbac::evaluate_with(q, std::slice::from_ref(*a), definitions, denies, membership)
            {
                RbacVerdict::Allowed { grant } => Some(TimeBound {
                    ends_on: *end,
                    remaining: *end - q.now,
                    activated: *activated,
                    role_name: grant.role_name,
                    scope: grant.scope,
                }),
                _ => None,
            }
        })
        .max_by_key(|t| t.ends_on)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arm::actions::ActionKind;
    use time::macros::datetime;

    const ACCOUNT: &str = "/subscriptions/5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/oai";
    const ALICE: &str = "11112222-bbbb-3333-cccc-4444dddd5555";

    fn instance(scope: &str, role: &str, end: &str) -> EligibilityInstance {
        serde_json::from_value(serde_json::json!({
            "id": format!("{scope}/providers/Microsoft.Authorization/RoleEligibilityScheduleInstances/x"),
            "name": "x",
            "properties": {
                "scope": scope,
                "roleDefinitionId": format!("/subscriptions/5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f/providers/Microsoft.Authorization/roleDefinitions/{role}"),
                "principalId": ALICE,
                "principalType": "User",
                "status": "Provisioned",
                "roleEligibilityScheduleId": format!("{scope}/providers/Microsoft.Authorization/RoleEligibilitySchedules/s"),
                "endDateTime": end,
                "memberType": "Direct",
                "condition": null,
                "expandedProperties": null
            }
        }))
        .unwrap()
    }

    fn question(action: &str) -> RbacQuestion<'_> {
        RbacQuestion {
            principal_id: ALICE,
            resource_id: ACCOUNT,
            action,
            kind: ActionKind::DataAction,
            now: datetime!(2026-11-28 15:00 UTC),
            horizon: time::Duration::ZERO,
        }
    }

    const OAIU: &str = "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd";
    const READER: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
    const MODELS: &str = "Microsoft.CognitiveServices/accounts/OpenAI/models/read";

    #[test]
    fn an_eligible_role_that_would_grant_is_named_with_its_activation() {
        let rg = "/subscriptions/5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f/resourceGroups/rg-ai";
        let found = eligible_finding(
            &question(MODELS),
            &[instance(rg, OAIU, "2027-01-01T00:00:00Z")],
            &HashMap::new(),
        )
        .unwrap();
        assert_eq!(found.code, Code::RoleEligibleNotActive);
        assert!(
            found
                .message
                .contains("*Cognitive Services OpenAI User* at resource group rg-ai"),
            "{}",
            found.message
        );
        assert!(found.remedy.contains("\"requestType\":\"SelfActivate\""));
        assert!(found.remedy.contains("RoleEligibilitySchedules/s"));
        // No ARM host: `az rest` uses the current cloud's.
        assert!(
            found
                .remedy
                .contains(&format!("--url \"{rg}/providers/Microsoft.Authorization/")),
            "{}",
            found.remedy
        );
    }

    #[test]
    fn eligibilities_that_would_not_help_are_passed_over() {
        let other = ACCOUNT.replace("/oai", "/other");
        for (e, why) in [
            (
                instance(ACCOUNT, READER, ""),
                "Reader grants no data action",
            ),
            (instance(&other, OAIU, ""), "another account"),
            (
                instance(ACCOUNT, OAIU, "2026-01-01T00:00:00Z"),
                "expired before now",
            ),
        ] {
            assert_eq!(
                eligible_finding(&question(MODELS), &[e], &HashMap::new()),
                None,
                "{why}"
            );
        }
    }

    // ---- time-bound grants ----

    fn builtin(name: &str) -> RoleDefinition {
        let role = crate::arm::builtin_roles::builtin_by_name(name).unwrap();
        serde_json::from_value(serde_json::json!({
            "id": format!("/providers/Microsoft.Authorization/roleDefinitions/{}", role.id),
            "name": role.id,
            "properties": {"roleName": role.name, "type": "BuiltInRole", "permissions": role.permissions}
        }))
        .unwrap()
    }

    fn assignment(n: u8, role: &RoleDefinition, scope: &str) -> RoleAssignment {
        let name = format!("00000000-0000-4000-8000-0000000000{n:02}");
        serde_json::from_value(serde_json::json!({
            "id": format!("{scope}/providers/Microsoft.Authorization/roleAssignments/{name}"),
            "name": name,
            "properties": {
                "roleDefinitionId": role.id,
                "principalId": ALICE,
                "principalType": "User",
                "scope": scope,
                "createdOn": "2026-01-01T00:00:00Z"
            }
        }))
        .unwrap()
    }

    /// PIM's view of `a`: its end (empty: permanent) and type. `origin` false leaves
    /// `originRoleAssignmentId` out, to tie it by scope, role and principal instead.
    fn schedule(
        a: &RoleAssignment,
        end: &str,
        kind: &str,
        origin: bool,
    ) -> AssignmentScheduleInstance {
        serde_json::from_value(serde_json::json!({
            "id": "x",
            "properties": {
                "scope": a.properties.scope,
                "roleDefinitionId": a.properties.role_definition_id,
                "principalId": ALICE,
                "originRoleAssignmentId": if origin { serde_json::json!(a.id.to_ascii_uppercase()) } else { serde_json::Value::Null },
                "endDateTime": if end.is_empty() { serde_json::Value::Null } else { serde_json::json!(end) },
                "assignmentType": kind
            }
        }))
        .unwrap()
    }

    fn within(hours: i64) -> RbacQuestion<'static> {
        RbacQuestion {
            horizon: time::Duration::hours(hours),
            ..question(MODELS)
        }
    }

    fn bound(
        q: &RbacQuestion,
        assignments: &[RoleAssignment],
        schedules: &[AssignmentScheduleInstance],
    ) -> Option<TimeBound> {
        let defs: HashMap<String, RoleDefinition> = [
            "Cognitive Services OpenAI User",
            "Cognitive Services User",
            "Reader",
        ]
        .into_iter()
        .map(|n| {
            let d = builtin(n);
            (d.name.clone(), d)
        })
        .collect();
        time_bound(
            q,
            assignments,
            schedules,
            &defs,
            &[],
            &Membership::default(),
        )
    }

    #[test]
    fn a_grant_resting_on_an_activation_ending_within_the_horizon_is_time_bound() {
        let user = assignment(1, &builtin("Cognitive Services OpenAI User"), ACCOUNT);
        let reader = assignment(2, &builtin("Reader"), ACCOUNT);
        let schedules = [
            schedule(&user, "2026-11-28T16:30:00Z", "Activated", true),
            schedule(&reader, "", "Assigned", true),
        ];
        let found = bound(&within(24), &[user.clone(), reader.clone()], &schedules).unwrap();
        assert_eq!(found.ends_on, datetime!(2026-11-28 16:30 UTC));
        assert!(found.activated);
        assert_eq!(found.role_name, "Cognitive Services OpenAI User");
        let f = expiry_finding(&found);
        assert_eq!(f.code, Code::RoleAssignmentExpiring);
        assert!(
            f.message
                .contains("activated through PIM, ends at 2026-11-28T16:30:00Z (in 1h 30m)"),
            "{}",
            f.message
        );
        // Tied by scope, role and principal when the origin id is missing.
        let untied = [schedule(&user, "2026-11-28T16:30:00Z", "Activated", false)];
        assert!(bound(&within(24), std::slice::from_ref(&user), &untied).is_some());
    }

    #[test]
    fn a_grant_that_outlasts_the_horizon_is_not_time_bound() {
        let user = assignment(1, &builtin("Cognitive Services OpenAI User"), ACCOUNT);
        let cs_user = assignment(3, &builtin("Cognitive Services User"), ACCOUNT);
        let soon = schedule(&user, "2026-11-28T16:30:00Z", "Activated", true);
        for (q, assignments, schedules, why) in [
            (
                within(1),
                vec![user.clone()],
                vec![soon.clone()],
                "ends after the horizon",
            ),
            (
                within(0),
                vec![user.clone()],
                vec![soon.clone()],
                "no horizon",
            ),
            (
                within(24),
                vec![user.clone(), cs_user.clone()],
                vec![soon.clone(), schedule(&cs_user, "", "Assigned", true)],
                "a permanent grant beside it",
            ),
            (
                within(24),
                vec![user.clone()],
                vec![],
                "PIM lists nothing for it",
            ),
        ] {
            assert_eq!(bound(&q, &assignments, &schedules), None, "{why}");
        }
    }

    #[test]
    fn an_assignment_still_listed_after_its_end_is_the_most_urgent() {
        let user = assignment(1, &builtin("Cognitive Services OpenAI User"), ACCOUNT);
        let found = bound(
            &within(24),
            std::slice::from_ref(&user),
            &[schedule(&user, "2026-11-28T14:00:00Z", "Assigned", true)],
        )
        .unwrap();
        let f = expiry_finding(&found);
        assert!(
            f.message
                .contains("ended at 2026-11-28T14:00:00Z and is still listed"),
            "{}",
            f.message
        );
    }

    #[test]
    fn of_two_time_bound_grants_the_one_ending_last_decides() {
        let user = assignment(1, &builtin("Cognitive Services OpenAI User"), ACCOUNT);
        let cs_user = assignment(3, &builtin("Cognitive Services User"), ACCOUNT);
        let found = bound(
            &within(24),
            &[user.clone(), cs_user.clone()],
            &[
                schedule(&user, "2026-11-28T16:30:00Z", "Activated", true),
                schedule(&cs_user, "2026-11-29T09:00:00Z", "Assigned", true),
            ],
        )
        .unwrap();
        assert_eq!(found.ends_on, datetime!(2026-11-29 09:00 UTC));
        assert!(!found.activated);
        assert_eq!(found.role_name, "Cognitive Services User");
    }

    #[test]
    fn time_left_is_said_in_words() {
        assert_eq!(in_words(time::Duration::seconds(59)), "0m");
        assert_eq!(in_words(time::Duration::minutes(12)), "12m");
        assert_eq!(in_words(time::Duration::minutes(118)), "1h 58m");
        assert_eq!(in_words(time::Duration::hours(76)), "3d 4h");
        assert_eq!(in_words(time::Duration::minutes(-5)), "0m");
    }
}
