//! Privileged Identity Management: roles a principal is *eligible* for but has not activated.
//!
//! ARM lists them as `roleEligibilityScheduleInstances` (api-version 2020-10-01; `asTarget()`
//! for the caller's own, `assignedTo('{id}')` for someone else's, both taking in the groups the
//! principal belongs to). An eligible role grants nothing until it is activated, so when no
//! active assignment grants an action, an eligibility that would is the most specific cause.
//! Pure: it judges what the client read.

use crate::arm::actions::Permission;
use crate::arm::model::{RoleDefinition, null_default, parse_arm_time, trailing_guid};
use crate::arm::rbac::RbacQuestion;
use crate::arm::scope::{self, Relation};
use crate::diagnosis::{Code, Finding};
use serde::Deserialize;
use std::collections::HashMap;

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

/// The self-activation request, with this eligibility's own ids filled in.
fn activation_remedy(principal_id: &str, e: &EligibilityInstance) -> String {
    let p = &e.properties;
    format!(
        "Activate it in the Azure portal (Privileged Identity Management, My roles, Azure resources), or: az rest --method put --url \"https://management.azure.com{}/providers/Microsoft.Authorization/roleAssignmentScheduleRequests/$(uuidgen)?api-version={PIM_API_VERSION}\" --body '{{\"properties\":{{\"principalId\":\"{principal_id}\",\"roleDefinitionId\":\"{}\",\"requestType\":\"SelfActivate\",\"linkedRoleEligibilityScheduleId\":\"{}\",\"justification\":\"entraprobe\",\"scheduleInfo\":{{\"expiration\":{{\"type\":\"AfterDuration\",\"duration\":\"PT8H\"}}}}}}}}'; an identity that runs unattended needs an active assignment instead",
        p.scope.trim_end_matches('/'),
        p.role_definition_id,
        p.role_eligibility_schedule_id
    )
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
}
