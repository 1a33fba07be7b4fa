//! The ARM client against the embedded emulator, through its TLS-terminating proxy: real host
//! names, real URLs, real TLS, an ARM token from the emulated Entra token endpoint.

#[path = "common/arm_harness.rs"]
mod arm_harness;

use arm_harness::{ARM, ArmHarness, models_question};
use entraprobe::arm::client::{ArmCache, ArmClient, ArmError};
use entraprobe::arm::rbac::{self, RbacVerdict};
use entraprobe::arm::{preflight, stage};
use entraprobe::diagnosis::Code;
use entraprobe::service::{ServiceCloud, ServiceKind, Target};

const PUBLIC: ServiceCloud = ServiceCloud::PUBLIC;

const TENANT: &str = "0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11";
const SUB: &str = "5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f";

const SCENARIO: &str = r#"
[tenant]
id = "0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11"
subscription = "5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f"

[[identity]]
name = "operator"
type = "service_principal"
secret = "operator-secret-1"

[[identity]]
name = "blind-op"
type = "service_principal"
secret = "blind-secret-1"

[[identity]]
name = "ci-app"
type = "service_principal"
secret = "ci-app-secret-1"

[[group]]
name = "ai-devs"
members = ["ci-app"]

[[group]]
name = "platform"
members = ["ai-devs"]

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

[[account]]
name = "lang"
kind = "TextAnalytics"
resource_group = "rg-ai"
network_default_action = "Deny"
ip_rules = ["203.0.113.0/24"]

[[search_service]]
name = "srch"
resource_group = "rg-ai"
auth = "apiKeyOnly"
indexes = ["products"]

[[role_assignment]]
principal = "operator"
role = "Reader"
scope = "subscription"

[[role_assignment]]
principal = "platform"
role = "Cognitive Services OpenAI User"
scope = "account:oai-prod"

[[role_assignment]]
principal = "ci-app"
role = "Contributor"
scope = "resource_group:rg-ai"

[[role_assignment]]
principal = "ci-app"
role = "Cognitive Services Language Reader"
scope = "account:oai-dev"

[[deny_assignment]]
principal = "ci-app"
scope = "account:oai-dev"
data_actions = ["Microsoft.CognitiveServices/*"]

[machine]
source_ip = "198.51.100.7"
"#;

/// The tool's ARM client as `name`, signed in with `secret`, without a cache.
async fn client(h: &ArmHarness, name: &str, secret: &str) -> ArmClient {
    let token = h
        .token_with_secret(name, secret, &format!("{ARM}/.default"))
        .await;
    ArmClient::new(h.http.clone(), ARM, token)
}

fn account_id(name: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/{name}"
    )
}

/// How many requests the emulator has served on `route`.
fn count(h: &ArmHarness, route: &str) -> u64 {
    h.emulator.world().counters.get(route)
}

#[tokio::test]
async fn every_read_works_through_the_emulator() {
    let h = ArmHarness::start(SCENARIO).await;
    let operator = client(&h, "operator", "operator-secret-1").await;
    let ci_oid = h.object_id("ci-app");

    let subs = operator.subscriptions().await.unwrap();
    assert_eq!(subs.len(), 1);
    assert_eq!(subs[0].subscription_id, SUB);
    assert_eq!(subs[0].tenant_id, TENANT);

    // Direct (Contributor, Language Reader) and through nested groups (OpenAI User): three
    // assignments, so the emulator's two-per-page listing takes a nextLink.
    let assignments = operator.role_assignments_for(SUB, &ci_oid).await.unwrap();
    let mut roles: Vec<String> = assignments.iter().map(|a| a.role_guid()).collect();
    roles.sort();
    assert_eq!(
        roles,
        [
            "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd",
            "7628b7b8-a8b2-4cdc-b46f-e9b35248918e",
            "b24988ac-6180-42a0-ab88-20f7382dd24c"
        ]
    );
    assert!(
        count(&h, "arm:roleAssignments") >= 2,
        "paging was not exercised"
    );

    let (definitions, failed) = operator.definitions_for(&assignments, SUB).await;
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(
        definitions["5e0bd9bd-7b93-4f28-af87-19fc36ad61bd"].display_name(),
        "Cognitive Services OpenAI User"
    );
    let by_full_id = operator
        .role_definition(&assignments[0].properties.role_definition_id, SUB)
        .await
        .unwrap();
    assert_eq!(by_full_id.guid(), assignments[0].role_guid());

    // One listing for the subscription holds every deny assignment in it; the evaluator picks
    // those that apply to each resource.
    let denies = operator
        .deny_assignments_within(&format!("/subscriptions/{SUB}"))
        .await
        .unwrap();
    assert_eq!(denies.len(), 1);
    assert!(
        denies[0]
            .properties
            .scope
            .to_ascii_lowercase()
            .ends_with("/accounts/oai-dev"),
        "{denies:?}"
    );

    let accounts = operator.accounts(SUB).await.unwrap();
    assert_eq!(accounts.len(), 3);
    let prod = operator.account(&account_id("oai-prod")).await.unwrap();
    assert_eq!(
        prod.properties.custom_sub_domain_name.as_deref(),
        Some("oai-prod")
    );
    assert_eq!(prod.properties.disable_local_auth, Some(true));
    let search = operator.search_services(SUB).await.unwrap();
    assert_eq!(search.len(), 1);
    assert_eq!(
        search[0].properties.search_auth(),
        entraprobe::arm::model::SearchAuth::ApiKeyOnly
    );

    let missing = operator.account(&account_id("nope")).await.unwrap_err();
    assert!(matches!(missing, ArmError::NotFound { .. }), "{missing:?}");

    // The caller's own permissions: Reader lists actions, no data actions.
    let own = operator.permissions(&account_id("oai-prod")).await.unwrap();
    assert!(own.iter().any(|p| p.actions.iter().any(|a| a == "*/read")));
    assert!(own.iter().all(|p| p.data_actions.is_empty()));

    // The evaluator on what ARM returned.
    let prod_id = account_id("oai-prod");
    let verdict = rbac::evaluate(
        &models_question(&ci_oid, &prod_id),
        &assignments,
        &definitions,
        &[],
    );
    let RbacVerdict::Allowed { grant } = &verdict else {
        panic!("{verdict:?}")
    };
    assert!(grant.via_group.is_some());
    assert!(
        rbac::explain(&verdict)
            .starts_with("granted by *Cognitive Services OpenAI User* assigned to group")
    );
    let dev_id = account_id("oai-dev");
    let verdict = rbac::evaluate(
        &models_question(&ci_oid, &dev_id),
        &assignments,
        &definitions,
        &denies,
    );
    assert_eq!(
        verdict.first_code(),
        Some(Code::DenyAssignment),
        "{verdict:?}"
    );

    h.emulator.shutdown().await;
}

#[tokio::test]
async fn an_operator_without_role_assignment_read_gets_authorization_failed() {
    let h = ArmHarness::start(SCENARIO).await;
    let blind = client(&h, "blind-op", "blind-secret-1").await;
    let ci_oid = h.object_id("ci-app");
    let err = blind.role_assignments_for(SUB, &ci_oid).await.unwrap_err();
    assert_eq!(err.code(), Some("AuthorizationFailed"), "{err:?}");
    assert!(matches!(err, ArmError::Forbidden { .. }));
    assert!(
        err.to_string()
            .contains("Microsoft.Authorization/roleAssignments/read")
    );

    // In a run, that is "unknown", and with the principal's own token the permissions API decides.
    let prod_id = account_id("oai-prod");
    let q = models_question(&ci_oid, &prod_id);
    let verdict = stage::check_access(&blind, None, &q).await;
    assert_eq!(
        verdict.first_code(),
        Some(Code::RbacUnreadable),
        "{verdict:?}"
    );
    let own = client(&h, "ci-app", "ci-app-secret-1").await;
    let verdict = stage::check_access(&blind, Some(&own), &q).await;
    assert!(
        matches!(verdict, RbacVerdict::Allowed { .. }),
        "{verdict:?}"
    );
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn many_targets_in_one_subscription_cost_one_listing_per_principal() {
    let h = ArmHarness::start(SCENARIO).await;
    let cache = ArmCache::new();
    let operator = client(&h, "operator", "operator-secret-1")
        .await
        .with_cache(cache.clone());
    let ci_oid = h.object_id("ci-app");
    let op_oid = h.object_id("operator");
    let targets: Vec<String> = ["oai-prod", "oai-dev", "lang"]
        .iter()
        .map(|n| account_id(n))
        .collect();

    let one = stage::check_access(&operator, None, &models_question(&ci_oid, &targets[0])).await;
    assert!(matches!(one, RbacVerdict::Allowed { .. }), "{one:?}");
    let pages_per_listing = count(&h, "arm:roleAssignments");
    let definitions_read = count(&h, "arm:roleDefinitions");
    assert!(pages_per_listing >= 1);

    // Two more targets for the same principal, concurrently: no new listing, no new definition.
    let more = futures::future::join_all(targets[1..].iter().map(|t| {
        let operator = operator.clone();
        let ci_oid = ci_oid.clone();
        let t = t.clone();
        async move { stage::check_access(&operator, None, &models_question(&ci_oid, &t)).await }
    }))
    .await;
    assert_eq!(
        more[0].first_code(),
        Some(Code::DenyAssignment),
        "{:?}",
        more[0]
    );
    // The OpenAI User role on oai-prod would grant it, and Contributor over the group does not:
    // one cause, with the management role as its context.
    let codes: Vec<Code> = more[1].findings().iter().map(|f| f.code).collect();
    assert_eq!(codes, [Code::RoleAtWrongScope], "{:?}", more[1]);
    assert!(
        more[1].findings()[0]
            .message
            .contains("management actions only"),
        "{:?}",
        more[1]
    );
    assert_eq!(count(&h, "arm:roleAssignments"), pages_per_listing);
    // One new definition: the role the `lang` remedy names (Language Reader), read from ARM
    // because the tenant's definition wins over the built-in catalog; once per run.
    let definitions_read = definitions_read + 1;
    assert_eq!(count(&h, "arm:roleDefinitions"), definitions_read);

    // A second principal costs one more listing, and a second client sharing the cache none.
    for t in &targets {
        stage::check_access(&operator, None, &models_question(&op_oid, t)).await;
    }
    let after_two = count(&h, "arm:roleAssignments");
    assert_eq!(
        after_two,
        pages_per_listing + 1,
        "operator has one assignment: one page"
    );
    // The operator's Reader role is the only definition not read before.
    assert_eq!(count(&h, "arm:roleDefinitions"), definitions_read + 1);
    let twin = client(&h, "operator", "operator-secret-1")
        .await
        .with_cache(cache.clone());
    for t in &targets {
        stage::check_access(&twin, None, &models_question(&ci_oid, t)).await;
    }
    // A new token is a new reader (what one reader may see is not assumed for another), so it
    // lists once, for all three targets; role definitions are shared by GUID across readers.
    assert_eq!(
        count(&h, "arm:roleAssignments"),
        after_two + pages_per_listing
    );
    assert_eq!(count(&h, "arm:roleDefinitions"), definitions_read + 1);
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn preflight_locates_targets_and_reports_their_findings() {
    let h = ArmHarness::start(SCENARIO).await;
    let operator = client(&h, "operator", "operator-secret-1").await;
    let target = |name: &str, kind: ServiceKind, endpoint: &str| Target {
        name: name.into(),
        kind,
        endpoint: endpoint.into(),
        resource_id: None,
        region: None,
        index: None,
        audience: None,
    };

    let prod = stage::locate(
        &operator,
        &target(
            "prod",
            ServiceKind::Openai,
            "https://oai-prod.openai.azure.com/",
        ),
    )
    .await
    .unwrap()
    .expect("found by host");
    assert_eq!(
        prod.resource_id.to_ascii_lowercase(),
        account_id("oai-prod").to_ascii_lowercase()
    );
    assert_eq!(prod.tenant_id.as_deref(), Some(TENANT));
    let t = target(
        "prod",
        ServiceKind::Openai,
        "https://oai-prod.openai.azure.com/",
    );
    assert_eq!(
        preflight::preflight_findings(&t, &prod, None, Some(TENANT), &PUBLIC),
        vec![]
    );

    let mut lang_target = target(
        "lang",
        ServiceKind::Language,
        "https://westeurope.api.cognitive.microsoft.com/",
    );
    lang_target.resource_id = Some(account_id("lang"));
    let lang = stage::locate(&operator, &lang_target)
        .await
        .unwrap()
        .expect("found by id");
    let codes: Vec<Code> = preflight::preflight_findings(
        &lang_target,
        &lang,
        Some("198.51.100.7".parse().unwrap()),
        Some(TENANT),
        &PUBLIC,
    )
    .iter()
    .map(|f| f.code)
    .collect();
    assert_eq!(
        codes,
        [
            Code::FirewallBlocked,
            Code::RegionalEndpoint,
            Code::LocalAuthEnabled
        ]
    );

    let srch_target = target(
        "srch",
        ServiceKind::Search,
        "https://srch.search.windows.net",
    );
    let srch = stage::locate(&operator, &srch_target)
        .await
        .unwrap()
        .expect("search by host");
    let codes: Vec<Code> = preflight::preflight_findings(
        &srch_target,
        &srch,
        None,
        Some("aaaabbbb-0000-cccc-1111-dddd2222eeee"),
        &PUBLIC,
    )
    .iter()
    .map(|f| f.code)
    .collect();
    assert_eq!(
        codes,
        [
            Code::TenantMismatch,
            Code::SearchAadDisabled,
            Code::LocalAuthEnabled
        ]
    );

    assert_eq!(
        stage::locate(
            &operator,
            &target(
                "x",
                ServiceKind::Openai,
                "https://elsewhere.openai.azure.com/"
            )
        )
        .await
        .unwrap(),
        None
    );
    h.emulator.shutdown().await;
}
