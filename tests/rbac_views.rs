//! Issue 10, items 1, 3 and 4 end to end through the emulator: partial views for principals
//! that cannot read their subscription, deny assignments in full (Everyone, excludePrincipals,
//! doNotApplyToChildScopes, notDataActions, a group of unknown membership) and PIM
//! eligibilities. The tool's verdict comes from the emulated ARM; the emulator's own data plane
//! (written apart from the tool's evaluator) must agree with it on the live call.

#[path = "common/arm_harness.rs"]
mod arm_harness;

use arm_harness::{ArmHarness, models_question};
use entraprobe::arm::rbac::RbacVerdict;
use entraprobe::arm::stage;
use entraprobe::diagnosis::{Code, Severity};

const SUB: &str = "5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f";

const SCENARIO: &str = r#"
[tenant]
id = "0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11"
subscription = "5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f"

[[identity]]
name = "operator"
type = "service_principal"
secret = "operator-secret"

[[identity]]
name = "deployer-fresh"
type = "service_principal"
secret = "deployer-fresh-secret"

[[identity]]
name = "deployer-only"
type = "service_principal"
secret = "deployer-only-secret"

[[identity]]
name = "deployer-sibling"
type = "service_principal"
secret = "deployer-sibling-secret"

[[identity]]
name = "anyone"
type = "service_principal"
secret = "anyone-secret"

[[identity]]
name = "break-glass"
type = "service_principal"
secret = "break-glass-secret"

[[identity]]
name = "top-only"
type = "service_principal"
secret = "top-only-secret"

[[identity]]
name = "carved"
type = "service_principal"
secret = "carved-secret"

[[identity]]
name = "contractor"
type = "service_principal"
secret = "contractor-secret"

[[identity]]
name = "eligible"
type = "service_principal"
secret = "eligible-secret"

[[group]]
name = "contractors"
members = ["contractor"]

[[account]]
name = "oai-prod"
kind = "OpenAI"
resource_group = "rg-ai"
custom_subdomain = "oai-prod"
disable_local_auth = true

[[account]]
name = "oai-dev"
kind = "OpenAI"
resource_group = "rg-ai"
custom_subdomain = "oai-dev"
disable_local_auth = true

[[account]]
name = "oai-locked"
kind = "OpenAI"
resource_group = "rg-locked"
custom_subdomain = "oai-locked"
disable_local_auth = true

[[account]]
name = "oai-shared"
kind = "OpenAI"
resource_group = "rg-shared"
custom_subdomain = "oai-shared"
disable_local_auth = true

[[role_assignment]]
principal = "operator"
role = "Reader"
scope = "subscription"

# Item 1: deployers with Contributor on their resource group, who cannot list the subscription.
[[role_assignment]]
principal = "deployer-fresh"
role = "Contributor"
scope = "resource_group:rg-ai"

[[role_assignment]]
principal = "deployer-fresh"
role = "Cognitive Services OpenAI User"
scope = "account:oai-prod"
effective_after_s = 3600

[[role_assignment]]
principal = "deployer-only"
role = "Contributor"
scope = "resource_group:rg-ai"

[[role_assignment]]
principal = "deployer-sibling"
role = "Contributor"
scope = "resource_group:rg-ai"

[[role_assignment]]
principal = "deployer-sibling"
role = "Cognitive Services OpenAI User"
scope = "account:oai-dev"

# Item 3: Everyone but the break-glass identity is denied on the locked account.
[[role_assignment]]
principal = "anyone"
role = "Cognitive Services OpenAI User"
scope = "account:oai-locked"

[[role_assignment]]
principal = "break-glass"
role = "Cognitive Services OpenAI User"
scope = "account:oai-locked"

[[deny_assignment]]
principal = "*"
scope = "account:oai-locked"
data_actions = ["Microsoft.CognitiveServices/*"]
exclude = ["break-glass"]

# A deny at the resource group only (doNotApplyToChildScopes): the account below is not denied.
[[role_assignment]]
principal = "top-only"
role = "Cognitive Services OpenAI User"
scope = "account:oai-prod"

[[deny_assignment]]
principal = "top-only"
scope = "resource_group:rg-ai"
apply_to_child_scopes = false
data_actions = ["Microsoft.CognitiveServices/*"]

# notDataActions carve the models listing out of the deny.
[[role_assignment]]
principal = "carved"
role = "Cognitive Services OpenAI User"
scope = "account:oai-prod"

[[deny_assignment]]
principal = "carved"
scope = "resource_group:rg-ai"
data_actions = ["Microsoft.CognitiveServices/*"]
not_data_actions = ["Microsoft.CognitiveServices/accounts/OpenAI/models/read"]

# A deny on a group whose members the tool cannot list.
[[role_assignment]]
principal = "contractor"
role = "Cognitive Services OpenAI User"
scope = "account:oai-shared"

[[deny_assignment]]
principal = "contractors"
scope = "account:oai-shared"
data_actions = ["Microsoft.CognitiveServices/accounts/OpenAI/*"]

# Item 4: eligible through PIM, never activated.
[[role_assignment]]
principal = "eligible"
role = "Reader"
scope = "account:oai-prod"

[[role_eligibility]]
principal = "eligible"
role = "Cognitive Services OpenAI User"
scope = "resource_group:rg-ai"
"#;

/// The emulator's data plane, on its own: does `who` get through to the account's models?
async fn live_models(h: &ArmHarness, who: &str, account: &str) -> u16 {
    let url = format!("https://{account}.openai.azure.com/openai/models?api-version=2024-10-21");
    h.live(who, &url, "https://cognitiveservices.azure.com")
        .await
}

/// The principal's own view (its ARM token reads, its permissions API as the fallback).
async fn own_verdict(h: &ArmHarness, who: &str, account: &str) -> RbacVerdict {
    let own = h.arm(who).await;
    let oid = h.object_id(who);
    let resource = account_id(account);
    stage::check_access(&own, Some(&own), &models_question(&oid, &resource)).await
}

/// Admin mode: the operator reads, about `who`.
async fn admin_verdict(h: &ArmHarness, who: &str, account: &str) -> RbacVerdict {
    let operator = h.arm("operator").await;
    let oid = h.object_id(who);
    let resource = account_id(account);
    stage::check_access(&operator, None, &models_question(&oid, &resource)).await
}

fn account_id(name: &str) -> String {
    let rg = match name {
        "oai-locked" => "rg-locked",
        "oai-shared" => "rg-shared",
        _ => "rg-ai",
    };
    format!(
        "/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.CognitiveServices/accounts/{name}"
    )
}

#[tokio::test]
async fn a_deployer_who_cannot_read_the_subscription_is_judged_from_its_resource_group() {
    let h = ArmHarness::start(SCENARIO).await;

    // Just granted: seen from the resource group, the grant is there and still propagating
    // (the permissions API alone does not show it, and used to say management-role-only).
    let verdict = own_verdict(&h, "deployer-fresh", "oai-prod").await;
    let RbacVerdict::Allowed { grant } = &verdict else {
        panic!("deployer-fresh: {verdict:?}");
    };
    assert!(grant.fresh, "{grant:?}");
    assert_eq!(grant.role_name, "Cognitive Services OpenAI User");
    assert_eq!(live_models(&h, "deployer-fresh", "oai-prod").await, 401);

    // The data role on the sibling account is visible from the resource group: wrong scope.
    let verdict = own_verdict(&h, "deployer-sibling", "oai-prod").await;
    assert!(matches!(verdict, RbacVerdict::Denied { .. }), "{verdict:?}");
    assert_eq!(verdict.first_code(), Some(Code::RoleAtWrongScope));
    assert!(verdict.findings()[0].message.contains("account oai-dev"));
    assert_eq!(live_models(&h, "deployer-sibling", "oai-prod").await, 401);

    // Contributor only: the partial view cannot prove that nothing grants it, and says why.
    let verdict = own_verdict(&h, "deployer-only", "oai-prod").await;
    assert!(
        matches!(verdict, RbacVerdict::Unknown { .. }),
        "{verdict:?}"
    );
    let first = &verdict.findings()[0];
    assert_eq!(first.code, Code::ManagementRoleOnly, "{verdict:?}");
    assert_eq!(first.severity, Severity::Warning);
    assert!(
        first
            .message
            .contains("seen from resource group rg-ai only")
            && first
                .message
                .contains("could not be read: AuthorizationFailed"),
        "{}",
        first.message
    );
    assert_eq!(live_models(&h, "deployer-only", "oai-prod").await, 401);
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn partial_listings_are_read_once_per_principal_and_scope() {
    let h = ArmHarness::start(SCENARIO).await;
    let own = h.arm("deployer-only").await;
    let oid = h.object_id("deployer-only");
    let resource = account_id("oai-prod");
    stage::check_access(&own, Some(&own), &models_question(&oid, &resource)).await;
    let first = h.cache.requests_sent();
    stage::check_access(&own, Some(&own), &models_question(&oid, &resource)).await;
    assert_eq!(
        h.cache.requests_sent(),
        first,
        "the second question is answered from the cache"
    );
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn deny_assignments_in_full_agree_with_the_live_call() {
    let h = ArmHarness::start(SCENARIO).await;
    for (who, account, expect, text) in [
        (
            "anyone",
            "oai-locked",
            Some(Code::DenyAssignment),
            "to everyone",
        ),
        (
            "break-glass",
            "oai-locked",
            None,
            "Cognitive Services OpenAI User",
        ),
        (
            "top-only",
            "oai-prod",
            None,
            "Cognitive Services OpenAI User",
        ),
        ("carved", "oai-prod", None, "Cognitive Services OpenAI User"),
    ] {
        let verdict = admin_verdict(&h, who, account).await;
        match expect {
            Some(code) => {
                assert!(
                    matches!(verdict, RbacVerdict::Denied { .. }),
                    "{who}: {verdict:?}"
                );
                assert_eq!(verdict.first_code(), Some(code), "{who}: {verdict:?}");
                assert!(
                    verdict.findings()[0].message.contains(text),
                    "{who}: {verdict:?}"
                );
            }
            None => {
                let RbacVerdict::Allowed { grant } = &verdict else {
                    panic!("{who}: {verdict:?}");
                };
                assert_eq!(grant.role_name, text, "{who}");
            }
        }
        let status = live_models(&h, who, account).await;
        assert_eq!(
            status == 200,
            expect.is_none(),
            "{who}: live {status} vs {verdict:?}"
        );
    }
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn a_deny_on_a_group_of_unknown_membership_is_named_as_a_possible_cause() {
    let h = ArmHarness::start(SCENARIO).await;
    let verdict = admin_verdict(&h, "contractor", "oai-shared").await;
    assert!(
        matches!(verdict, RbacVerdict::Unknown { .. }),
        "{verdict:?}"
    );
    let first = &verdict.findings()[0];
    assert_eq!(first.code, Code::DenyAssignment);
    assert!(
        first.message.contains("membership unknown"),
        "{}",
        first.message
    );
    assert!(
        first.message.contains(&h.object_id("contractors")),
        "{}",
        first.message
    );
    // The emulator knows the membership: the deny applies.
    assert_eq!(live_models(&h, "contractor", "oai-shared").await, 401);
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn an_eligible_but_inactive_role_is_the_cause_in_both_modes() {
    let h = ArmHarness::start(SCENARIO).await;
    for (mode, verdict) in [
        (
            "own (asTarget)",
            own_verdict(&h, "eligible", "oai-prod").await,
        ),
        (
            "admin (assignedTo)",
            admin_verdict(&h, "eligible", "oai-prod").await,
        ),
    ] {
        assert_eq!(
            verdict.first_code(),
            Some(Code::RoleEligibleNotActive),
            "{mode}: {verdict:?}"
        );
        let f = &verdict.findings()[0];
        assert!(
            f.message
                .contains("*Cognitive Services OpenAI User* at resource group rg-ai"),
            "{mode}: {}",
            f.message
        );
        assert!(
            f.remedy.contains("roleAssignmentScheduleRequests"),
            "{mode}"
        );
        assert!(f.remedy.contains("RoleEligibilitySchedules/"), "{mode}");
    }
    assert_eq!(live_models(&h, "eligible", "oai-prod").await, 401);
    h.emulator.shutdown().await;
}
