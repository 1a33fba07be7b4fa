//! The ARM client against the embedded emulator, through its TLS-terminating proxy: real host
//! names, real URLs, real TLS, an ARM token from the emulated Entra token endpoint.

use entraprobe::arm::actions::ActionKind;
use entraprobe::arm::client::{ArmCache, ArmClient, ArmError};
use entraprobe::arm::rbac::{self, RbacQuestion, RbacVerdict};
use entraprobe::arm::{preflight, stage};
use entraprobe::diagnosis::Code;
use entraprobe::emulator::{EmulatorOptions, RunningEmulator, Scenario};
use entraprobe::service::{ServiceCloud, ServiceKind, Target};

const PUBLIC: ServiceCloud = ServiceCloud::PUBLIC;

const TENANT: &str = "0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11";
const SUB: &str = "5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f";
const ARM: &str = "https://management.azure.com";
const OPENAI_MODELS: &str = "Microsoft.CognitiveServices/accounts/OpenAI/models/read";

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

struct Harness {
    emulator: RunningEmulator,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn start() -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let scenario = Scenario::parse(SCENARIO, "arm_client.toml").unwrap();
    let emulator = RunningEmulator::start(
        scenario,
        EmulatorOptions {
            port: 0,
            dir: dir.path().join("emu"),
        },
    )
    .await
    .unwrap();
    let ca = std::fs::read(emulator.ca_file()).unwrap();
    let http = reqwest::Client::builder()
        .proxy(reqwest::Proxy::all(format!("http://127.0.0.1:{}", emulator.port())).unwrap())
        .tls_certs_only([reqwest::Certificate::from_pem(&ca).unwrap()])
        .build()
        .unwrap();
    Harness {
        emulator,
        http,
        _dir: dir,
    }
}

impl Harness {
    fn identity(&self, name: &str) -> (String, String) {
        let identity = self.emulator.world().scenario.identity(name).unwrap();
        (identity.client_id(), identity.object_id())
    }

    /// An ARM token for a scenario identity, straight from the emulated Entra token endpoint.
    async fn arm_token(&self, name: &str, secret: &str) -> String {
        let (client_id, _) = self.identity(name);
        let response = self
            .http
            .post(format!(
                "https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token"
            ))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(
                form_urlencoded::Serializer::new(String::new())
                    .append_pair("grant_type", "client_credentials")
                    .append_pair("client_id", &client_id)
                    .append_pair("client_secret", secret)
                    .append_pair("scope", "https://management.azure.com/.default")
                    .finish(),
            )
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let body: serde_json::Value = response.json().await.unwrap();
        body["access_token"].as_str().unwrap().to_string()
    }

    async fn client(&self, name: &str, secret: &str) -> ArmClient {
        ArmClient::new(self.http.clone(), ARM, self.arm_token(name, secret).await)
    }

    fn account_id(&self, name: &str) -> String {
        format!(
            "/subscriptions/{SUB}/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/{name}"
        )
    }

    fn count(&self, route: &str) -> u64 {
        self.emulator.world().counters.get(route)
    }
}

fn question<'a>(principal: &'a str, resource: &'a str) -> RbacQuestion<'a> {
    RbacQuestion {
        principal_id: principal,
        resource_id: resource,
        action: OPENAI_MODELS,
        kind: ActionKind::DataAction,
        now: time::OffsetDateTime::now_utc(),
        horizon: time::Duration::hours(24),
    }
}

#[tokio::test]
async fn every_read_works_through_the_emulator() {
    let h = start().await;
    let operator = h.client("operator", "operator-secret-1").await;
    let (_, ci_oid) = h.identity("ci-app");

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
        h.count("arm:roleAssignments") >= 2,
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
    let prod = operator.account(&h.account_id("oai-prod")).await.unwrap();
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

    let missing = operator.account(&h.account_id("nope")).await.unwrap_err();
    assert!(matches!(missing, ArmError::NotFound { .. }), "{missing:?}");

    // The caller's own permissions: Reader lists actions, no data actions.
    let own = operator
        .permissions(&h.account_id("oai-prod"))
        .await
        .unwrap();
    assert!(own.iter().any(|p| p.actions.iter().any(|a| a == "*/read")));
    assert!(own.iter().all(|p| p.data_actions.is_empty()));

    // The evaluator on what ARM returned.
    let prod_id = h.account_id("oai-prod");
    let verdict = rbac::evaluate(
        &question(&ci_oid, &prod_id),
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
    let dev_id = h.account_id("oai-dev");
    let verdict = rbac::evaluate(
        &question(&ci_oid, &dev_id),
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
    let h = start().await;
    let blind = h.client("blind-op", "blind-secret-1").await;
    let (_, ci_oid) = h.identity("ci-app");
    let err = blind.role_assignments_for(SUB, &ci_oid).await.unwrap_err();
    assert_eq!(err.code(), Some("AuthorizationFailed"), "{err:?}");
    assert!(matches!(err, ArmError::Forbidden { .. }));
    assert!(
        err.to_string()
            .contains("Microsoft.Authorization/roleAssignments/read")
    );

    // In a run, that is "unknown", and with the principal's own token the permissions API decides.
    let prod_id = h.account_id("oai-prod");
    let q = question(&ci_oid, &prod_id);
    let verdict = stage::check_access(&blind, None, &q).await;
    assert_eq!(
        verdict.first_code(),
        Some(Code::RbacUnreadable),
        "{verdict:?}"
    );
    let own = h.client("ci-app", "ci-app-secret-1").await;
    let verdict = stage::check_access(&blind, Some(&own), &q).await;
    assert!(
        matches!(verdict, RbacVerdict::Allowed { .. }),
        "{verdict:?}"
    );
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn many_targets_in_one_subscription_cost_one_listing_per_principal() {
    let h = start().await;
    let cache = ArmCache::new();
    let operator = h
        .client("operator", "operator-secret-1")
        .await
        .with_cache(cache.clone());
    let (_, ci_oid) = h.identity("ci-app");
    let (_, op_oid) = h.identity("operator");
    let targets: Vec<String> = ["oai-prod", "oai-dev", "lang"]
        .iter()
        .map(|n| h.account_id(n))
        .collect();

    let one = stage::check_access(&operator, None, &question(&ci_oid, &targets[0])).await;
    assert!(matches!(one, RbacVerdict::Allowed { .. }), "{one:?}");
    let pages_per_listing = h.count("arm:roleAssignments");
    let definitions_read = h.count("arm:roleDefinitions");
    assert!(pages_per_listing >= 1);

    // Two more targets for the same principal, concurrently: no new listing, no new definition.
    let more = futures::future::join_all(targets[1..].iter().map(|t| {
        let operator = operator.clone();
        let ci_oid = ci_oid.clone();
        let t = t.clone();
        async move { stage::check_access(&operator, None, &question(&ci_oid, &t)).await }
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
    assert_eq!(h.count("arm:roleAssignments"), pages_per_listing);
    // One new definition: the role the `lang` remedy names (Language Reader), read from ARM
    // because the tenant's definition wins over the built-in catalog; once per run.
    let definitions_read = definitions_read + 1;
    assert_eq!(h.count("arm:roleDefinitions"), definitions_read);

    // A second principal costs one more listing, and a second client sharing the cache none.
    for t in &targets {
        stage::check_access(&operator, None, &question(&op_oid, t)).await;
    }
    let after_two = h.count("arm:roleAssignments");
    assert_eq!(
        after_two,
        pages_per_listing + 1,
        "operator has one assignment: one page"
    );
    // The operator's Reader role is the only definition not read before.
    assert_eq!(h.count("arm:roleDefinitions"), definitions_read + 1);
    let twin = ArmClient::new(
        h.http.clone(),
        ARM,
        h.arm_token("operator", "operator-secret-1").await,
    )
    .with_cache(cache.clone());
    for t in &targets {
        stage::check_access(&twin, None, &question(&ci_oid, t)).await;
    }
    // A new token is a new reader (what one reader may see is not assumed for another), so it
    // lists once, for all three targets; role definitions are shared by GUID across readers.
    assert_eq!(
        h.count("arm:roleAssignments"),
        after_two + pages_per_listing
    );
    assert_eq!(h.count("arm:roleDefinitions"), definitions_read + 1);
    h.emulator.shutdown().await;
}

#[tokio::test]
async fn preflight_locates_targets_and_reports_their_findings() {
    let h = start().await;
    let operator = h.client("operator", "operator-secret-1").await;
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
        h.account_id("oai-prod").to_ascii_lowercase()
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
    lang_target.resource_id = Some(h.account_id("lang"));
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
