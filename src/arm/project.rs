//! The Foundry project's own identity (reference/foundry.md §4.2): inference requested through
//! a project runs as the project's system-assigned managed identity against the parent account,
//! so that identity needs a data role there. Read from ARM: the project's `identity.principalId`,
//! then that principal's assignments on the account.

use time::OffsetDateTime;

use super::actions::ActionKind;
use super::client::ArmClient;
use super::rbac::{RbacQuestion, RbacVerdict};
use crate::diagnosis::{Code, Finding, Severity};

/// What inference through the project needs the project's identity to hold on the account:
/// Azure OpenAI chat, the commonest case (Foundry User grants it with `Microsoft.CognitiveServices/*`).
pub const PROJECT_INFERENCE_ACTION: &str =
    "Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action";

/// The parent account of a project id (`…/accounts/A/projects/P` → `…/accounts/A`).
pub fn account_of_project(project_id: &str) -> Option<&str> {
    let lower = project_id.to_ascii_lowercase();
    let at = lower.rfind("/projects/")?;
    let account = &project_id[..at];
    let name = &project_id[at + "/projects/".len()..];
    let is_account = account
        .to_ascii_lowercase()
        .contains("/providers/microsoft.cognitiveservices/accounts/");
    (is_account && !name.is_empty() && !name.contains('/')).then_some(account)
}

/// `project-identity-missing-role` when ARM shows the project's identity holding nothing that
/// grants inference on the parent account. Nothing when ARM cannot say (no identity, an
/// unreadable project or assignment list): the finding is reported only on evidence.
pub async fn identity_findings(
    client: &ArmClient,
    project_id: &str,
    now: OffsetDateTime,
) -> Vec<Finding> {
    let Some(account_id) = account_of_project(project_id) else {
        return Vec::new();
    };
    let Ok(project) = client.project(project_id).await else {
        return Vec::new();
    };
    let Some(principal) = project["identity"]["principalId"]
        .as_str()
        .filter(|p| uuid::Uuid::parse_str(p).is_ok())
    else {
        return Vec::new();
    };
    let question = RbacQuestion {
        principal_id: principal,
        resource_id: account_id,
        action: PROJECT_INFERENCE_ACTION,
        kind: ActionKind::DataAction,
        now,
        // Whether the project's identity holds the role now; its expiry is another question.
        horizon: time::Duration::ZERO,
    };
    match super::stage::check_access(client, None, &question).await {
        RbacVerdict::Denied { .. } => vec![missing_role(project_id, account_id, principal)],
        _ => Vec::new(),
    }
}

fn missing_role(project_id: &str, account_id: &str, principal: &str) -> Finding {
    let project = project_id.rsplit('/').next().unwrap_or_default();
    Finding::new(
        Code::ProjectIdentityMissingRole,
        format!(
            "The project `{project}` runs inference as its own managed identity (object id \
             `{principal}`), which holds no role on the parent account that grants \
             `{PROJECT_INFERENCE_ACTION}`: agent runs, the playground and the project's \
             responses will fail with a PermissionDenied naming that identity, whatever the \
             caller's own roles."
        ),
        format!(
            "Assign Foundry User to the project's identity on the account: `az role assignment \
             create --assignee-object-id {principal} --assignee-principal-type ServicePrincipal \
             --role \"Foundry User\" --scope {account_id}`."
        ),
    )
    .with_severity(Severity::Warning)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_account_of_a_project_id() {
        let account =
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/fdy";
        assert_eq!(
            account_of_project(&format!("{account}/projects/agents")),
            Some(account)
        );
        assert_eq!(account_of_project(account), None);
        assert_eq!(account_of_project(&format!("{account}/projects/a/b")), None);
    }
}
