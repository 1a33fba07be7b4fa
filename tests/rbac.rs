//! The policy troubleshooter end to end: for each case of issue 4, the verdict the RBAC stage
//! reaches from what the emulated ARM returns, and the live data-plane call that must agree
//! with it (two independent implementations of Azure's rules: `arm::rbac` and the emulator's).

#[path = "common/arm_harness.rs"]
mod arm_harness;

use arm_harness::{ArmHarness, OPENAI_MODELS, question};
use entraprobe::arm::actions::ActionKind;
use entraprobe::arm::rbac::{self, RbacVerdict};
use entraprobe::arm::stage;
use entraprobe::diagnosis::Code;

const SUB: &str = "5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f";
const LIST_INDEXES: &str = "Microsoft.Search/searchServices/indexes/read";
const READ_DOCUMENTS: &str = "Microsoft.Search/searchServices/indexes/documents/read";

const SCENARIO: &str = r#"
[tenant]
id = "0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11"
subscription = "5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f"

[[identity]]
name = "operator"
type = "service_principal"
secret = "operator-secret"

[[identity]]
name = "blind-op"
type = "service_principal"
secret = "blind-op-secret"

[[identity]]
name = "nested"
type = "service_principal"
secret = "nested-secret"

[[identity]]
name = "inherited"
type = "service_principal"
secret = "inherited-secret"

[[identity]]
name = "wildcard"
type = "service_principal"
secret = "wildcard-secret"

[[identity]]
name = "carved-out"
type = "service_principal"
secret = "carved-out-secret"

[[identity]]
name = "denied"
type = "service_principal"
secret = "denied-secret"

[[identity]]
name = "sibling"
type = "service_principal"
secret = "sibling-secret"

[[identity]]
name = "fresh"
type = "service_principal"
secret = "fresh-secret"

[[identity]]
name = "owner"
type = "service_principal"
secret = "owner-secret"

[[identity]]
name = "conditional"
type = "service_principal"
secret = "conditional-secret"

[[identity]]
name = "index-reader"
type = "service_principal"
secret = "index-reader-secret"

[[group]]
name = "inner"
members = ["nested"]

[[group]]
name = "outer"
members = ["inner"]

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

[[search_service]]
name = "srch"
resource_group = "rg-ai"
auth = "aadOrApiKey"
indexes = ["products"]

[[custom_role]]
name = "OpenAI Everything"
data_actions = ["Microsoft.CognitiveServices/accounts/OpenAI/*"]

[[custom_role]]
name = "All But OpenAI"
data_actions = ["Microsoft.CognitiveServices/*"]
not_data_actions = ["Microsoft.CognitiveServices/accounts/OpenAI/*"]

[[role_assignment]]
principal = "operator"
role = "Reader"
scope = "subscription"

[[role_assignment]]
principal = "outer"
role = "Cognitive Services OpenAI User"
scope = "account:oai-prod"

[[role_assignment]]
principal = "inherited"
role = "Cognitive Services User"
scope = "subscription"

[[role_assignment]]
principal = "wildcard"
role = "OpenAI Everything"
scope = "resource_group:rg-ai"

[[role_assignment]]
principal = "carved-out"
role = "All But OpenAI"
scope = "account:oai-prod"

[[role_assignment]]
principal = "denied"
role = "Cognitive Services User"
scope = "account:oai-prod"

[[deny_assignment]]
principal = "denied"
scope = "resource_group:rg-ai"
data_actions = ["Microsoft.CognitiveServices/accounts/OpenAI/*"]

[[role_assignment]]
principal = "sibling"
role = "Cognitive Services OpenAI User"
scope = "account:oai-dev"

[[role_assignment]]
principal = "fresh"
role = "Cognitive Services OpenAI User"
scope = "account:oai-prod"
effective_after_s = 3600

[[role_assignment]]
principal = "owner"
role = "Owner"
scope = "subscription"

[[role_assignment]]
principal = "conditional"
role = "Cognitive Services OpenAI User"
scope = "account:oai-prod"
condition = "@Request[Microsoft.CognitiveServices/accounts/OpenAI/deployments:name] StringEquals 'gpt-4o'"

[[role_assignment]]
principal = "index-reader"
role = "Search Index Data Reader"
scope = "search:srch"
"#;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// Allowed; through a group?; newer than the propagation window?
    Allowed {
        via_group: bool,
        fresh: bool,
    },
    Denied(Code),
    Unknown(Code),
}

fn account(name: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/{name}"
    )
}

fn search() -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/rg-ai/providers/Microsoft.Search/searchServices/srch"
    )
}

fn check(verdict: &RbacVerdict, expect: Expect, who: &str) {
    match (verdict, expect) {
        (RbacVerdict::Allowed { grant }, Expect::Allowed { via_group, fresh }) => {
            assert_eq!(grant.via_group.is_some(), via_group, "{who}: {verdict:?}");
            assert_eq!(grant.fresh, fresh, "{who}: {verdict:?}");
        }
        (RbacVerdict::Denied { .. }, Expect::Denied(code))
        | (RbacVerdict::Unknown { .. }, Expect::Unknown(code)) => {
            assert_eq!(verdict.first_code(), Some(code), "{who}: {verdict:?}");
        }
        _ => panic!("{who}: expected {expect:?}, got {verdict:?}"),
    }
}

#[tokio::test]
async fn each_case_gets_its_verdict_and_the_live_call_agrees() {
    let h = ArmHarness::start(SCENARIO).await;
    let operator = h.arm("operator").await;
    let prod = account("oai-prod");
    let models = "https://oai-prod.openai.azure.com/openai/models?api-version=2024-10-21";
    let cases = [
        (
            "nested",
            Expect::Allowed {
                via_group: true,
                fresh: false,
            },
            "granted by *Cognitive Services OpenAI User* assigned to group",
        ),
        (
            "inherited",
            Expect::Allowed {
                via_group: false,
                fresh: false,
            },
            "at subscription 5e2a3c1d…",
        ),
        (
            "wildcard",
            Expect::Allowed {
                via_group: false,
                fresh: false,
            },
            "granted by *OpenAI Everything* assigned to the principal at resource group rg-ai",
        ),
        (
            "carved-out",
            Expect::Denied(Code::MissingDataAction),
            "its notDataActions `Microsoft.CognitiveServices/accounts/OpenAI/*` remove it",
        ),
        (
            "denied",
            Expect::Denied(Code::DenyAssignment),
            "overrides *Cognitive Services User* at account oai-prod",
        ),
        (
            "sibling",
            Expect::Denied(Code::RoleAtWrongScope),
            "at account oai-dev",
        ),
        (
            "fresh",
            Expect::Allowed {
                via_group: false,
                fresh: true,
            },
            "may not be in force yet",
        ),
        (
            "owner",
            Expect::Denied(Code::ManagementRoleOnly),
            "*Owner* at subscription 5e2a3c1d… grants management actions only",
        ),
        (
            "conditional",
            Expect::Unknown(Code::AbacCondition),
            "StringEquals 'gpt-4o'",
        ),
    ];
    for (who, expect, text) in cases {
        let oid = h.object_id(who);
        let q = question(&oid, &prod, OPENAI_MODELS, ActionKind::DataAction);
        let verdict = stage::check_access(&operator, None, &q).await;
        check(&verdict, expect, who);
        let line = rbac::explain(&verdict);
        assert!(line.contains(text), "{who}: {line}");
        assert!(!line.contains("eyJ"), "{who}: {line}");

        // The emulator's data plane decides on its own; a settled grant must pass, and every
        // other verdict must be a refusal (a fresh grant is refused until it propagates).
        let status = h
            .live(who, models, "https://cognitiveservices.azure.com")
            .await;
        let predicted_pass = matches!(expect, Expect::Allowed { fresh: false, .. });
        assert_eq!(
            status == 200,
            predicted_pass,
            "{who}: live {status} vs {verdict:?}"
        );
        if let RbacVerdict::Allowed { grant } = &verdict {
            assert_eq!(
                rbac::pending_propagation(grant, None, time::OffsetDateTime::now_utc()),
                expect
                    == Expect::Allowed {
                        via_group: false,
                        fresh: true
                    },
                "{who}"
            );
        }
    }
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn search_index_listing_is_an_action_and_documents_a_data_action() {
    let h = ArmHarness::start(SCENARIO).await;
    let operator = h.arm("operator").await;
    let oid = h.object_id("index-reader");
    let service = search();
    let index = rbac::search_index_scope(&service, "products");

    let list = question(&oid, &service, LIST_INDEXES, ActionKind::Action);
    let verdict = stage::check_access(&operator, None, &list).await;
    check(
        &verdict,
        Expect::Denied(Code::MissingDataAction),
        "index-reader listing",
    );
    assert!(
        verdict.findings()[0]
            .remedy
            .contains("\"Search Service Contributor\"")
    );
    let status = h
        .live(
            "index-reader",
            "https://srch.search.windows.net/indexes?api-version=2023-11-01&$select=name",
            "https://search.azure.com",
        )
        .await;
    assert_eq!(status, 403);

    let docs = question(&oid, &index, READ_DOCUMENTS, ActionKind::DataAction);
    let verdict = stage::check_access(&operator, None, &docs).await;
    check(
        &verdict,
        Expect::Allowed {
            via_group: false,
            fresh: false,
        },
        "index-reader documents",
    );
    let status = h
        .live(
            "index-reader",
            "https://srch.search.windows.net/indexes/products/docs/$count?api-version=2023-11-01",
            "https://search.azure.com",
        )
        .await;
    assert_eq!(status, 200);
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn an_operator_without_role_assignment_read_is_unknown() {
    let h = ArmHarness::start(SCENARIO).await;
    let blind = h.arm("blind-op").await;
    let oid = h.object_id("nested");
    let prod = account("oai-prod");
    let q = question(&oid, &prod, OPENAI_MODELS, ActionKind::DataAction);
    let verdict = stage::check_access(&blind, None, &q).await;
    check(
        &verdict,
        Expect::Unknown(Code::RbacUnreadable),
        "blind operator",
    );
    let line = rbac::explain(&verdict);
    assert!(line.contains("AuthorizationFailed"), "{line}");
    h.emulator.shutdown().await;
}
