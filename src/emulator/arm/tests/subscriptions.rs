//! Several subscriptions under management groups: what each caller sees, and assignments and
//! deny assignments inherited from the groups above a subscription.

use super::*;
use crate::emulator::scenario::derived_id;

const MG_SCENARIO: &str = r#"
[tenant]
id = "0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11"
subscription = "5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f"

[[management_group]]
name = "mg-ai"

[[management_group]]
name = "mg-prod"
parent = "mg-ai"

[[subscription]]
name = "prod"
management_group = "mg-prod"

[[subscription]]
name = "dev"
id = "11111111-2222-3333-4444-555555555555"
management_group = "mg-ai"

[[subscription]]
name = "lab"

[[identity]]
name = "ci-app"
type = "service_principal"

[[identity]]
name = "root-reader"
type = "service_principal"

[[account]]
name = "oai-prod"
kind = "OpenAI"
custom_subdomain = "oai-prod"
subscription = "prod"

[[account]]
name = "speech-prod"
kind = "SpeechServices"
custom_subdomain = "speech-prod"
subscription = "prod"

[[account]]
name = "oai-dev"
kind = "OpenAI"
custom_subdomain = "oai-dev"
subscription = "dev"

[[account]]
name = "oai-lab"
kind = "OpenAI"
custom_subdomain = "oai-lab"
subscription = "lab"

[[account]]
name = "oai-default"
kind = "OpenAI"
custom_subdomain = "oai-default"

[[search_service]]
name = "srch-dev"
subscription = "dev"

[[role_assignment]]
principal = "ci-app"
role = "Reader"
scope = "management_group:mg-ai"

[[role_assignment]]
principal = "ci-app"
role = "Cognitive Services User"
scope = "management_group:mg-prod"

[[role_assignment]]
principal = "root-reader"
role = "Reader"
scope = "management_group:0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11"

[[deny_assignment]]
principal = "ci-app"
scope = "management_group:mg-prod"
data_actions = ["Microsoft.CognitiveServices/accounts/SpeechServices/*"]
"#;

fn mg_world() -> World {
    World::new(Scenario::parse(MG_SCENARIO, "mg.toml").unwrap()).unwrap()
}

fn sub_id(name: &str) -> String {
    derived_id("subscription", name)
}

fn listed_subscriptions(w: &World, who: &str) -> Vec<String> {
    let r = get(w, who, "/subscriptions", API);
    assert_eq!(r.status, 200, "{}", body(&r));
    let mut ids: Vec<String> = json_of(&r)["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["displayName"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[test]
fn each_caller_lists_the_subscriptions_it_holds_a_role_in_or_above() {
    let w = mg_world();
    assert_eq!(listed_subscriptions(&w, "ci-app"), ["dev", "prod"]);
    assert_eq!(
        listed_subscriptions(&w, "root-reader"),
        ["dev", "entraprobe emulated subscription", "lab", "prod"]
    );
    // A subscription the caller has nothing in is refused, not found for what does not exist.
    let lab = format!("/subscriptions/{}", sub_id("lab"));
    assert_eq!(get(&w, "ci-app", &lab, API).status, 403);
    let dev = get(
        &w,
        "ci-app",
        "/subscriptions/11111111-2222-3333-4444-555555555555",
        API,
    );
    assert_eq!(dev.status, 200, "{}", body(&dev));
    assert_eq!(json_of(&dev)["tenantId"], TENANT);
    let nowhere = get(
        &w,
        "ci-app",
        &format!("/subscriptions/{}", sub_id("x")),
        API,
    );
    assert_eq!(nowhere.status, 404);
}

#[test]
fn resources_are_read_and_listed_in_their_own_subscription() {
    let w = mg_world();
    let prod = sub_id("prod");
    let list = get(
        &w,
        "ci-app",
        &format!("/subscriptions/{prod}/providers/Microsoft.CognitiveServices/accounts"),
        API,
    );
    let names: Vec<String> = json_of(&list)["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["oai-prod", "speech-prod"]);
    let account = get(
        &w,
        "ci-app",
        &format!(
            "/subscriptions/{prod}/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/oai-prod"
        ),
        API,
    );
    assert_eq!(account.status, 200, "{}", body(&account));
    assert!(
        json_of(&account)["id"]
            .as_str()
            .unwrap()
            .starts_with(&format!("/subscriptions/{prod}/"))
    );
    // The same path in another subscription the caller can read holds no such account.
    let dev = "11111111-2222-3333-4444-555555555555";
    let elsewhere = get(
        &w,
        "ci-app",
        &format!(
            "/subscriptions/{dev}/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/oai-prod"
        ),
        API,
    );
    assert_eq!(elsewhere.status, 404, "{}", body(&elsewhere));
    let search = get(
        &w,
        "ci-app",
        &format!("/subscriptions/{dev}/providers/Microsoft.Search/searchServices"),
        API,
    );
    assert_eq!(json_of(&search)["value"][0]["name"], "srch-dev");
}

fn assignment_scopes(w: &World, scope: &str, filter: &str) -> Vec<String> {
    let r = get(
        w,
        "ci-app",
        &assignments_path(scope),
        &format!("$filter={filter}&{API}"),
    );
    assert_eq!(r.status, 200, "{}", body(&r));
    let (all, _) = all_pages(
        w,
        "ci-app",
        &assignments_path(scope),
        &format!("$filter={filter}&{API}"),
    );
    let mut scopes: Vec<String> = all
        .iter()
        .map(|a| a["properties"]["scope"].as_str().unwrap().to_string())
        .collect();
    scopes.sort();
    scopes
}

#[test]
fn a_subscription_lists_the_assignments_inherited_from_its_management_groups() {
    let w = mg_world();
    let ci = oid(&w, "ci-app");
    let mg = |n: &str| format!("/providers/Microsoft.Management/managementGroups/{n}");
    let prod = format!("/subscriptions/{}", sub_id("prod"));
    let dev = "/subscriptions/11111111-2222-3333-4444-555555555555";
    assert_eq!(
        assignment_scopes(&w, &prod, &format!("assignedTo('{ci}')")),
        [mg("mg-ai"), mg("mg-prod")]
    );
    assert_eq!(
        assignment_scopes(&w, dev, &format!("assignedTo('{ci}')")),
        [mg("mg-ai")]
    );
    // Everyone's, at and above: root-reader's at the tenant root group too.
    assert_eq!(
        assignment_scopes(&w, dev, "atScope()"),
        [mg(TENANT), mg("mg-ai")]
    );
    assert_eq!(
        assignment_scopes(&w, &prod, &format!("principalId eq '{ci}'")),
        [mg("mg-ai"), mg("mg-prod")]
    );
    // Not in a subscription outside the group.
    let lab = format!("/subscriptions/{}", sub_id("lab"));
    let refused = get(&w, "ci-app", &assignments_path(&lab), API);
    assert_eq!(refused.status, 403);
    // At the management group itself.
    assert_eq!(
        assignment_scopes(&w, &mg("mg-prod"), "atScope()"),
        [mg(TENANT), mg("mg-ai"), mg("mg-prod")]
    );
    // An inherited assignment's role definition is tenant-level [L].
    let r = get(
        &w,
        "ci-app",
        &assignments_path(&prod),
        &format!("$filter=atScope()&{API}"),
    );
    let first = &json_of(&r)["value"][0]["properties"]["roleDefinitionId"];
    assert!(
        first
            .as_str()
            .unwrap()
            .starts_with("/providers/Microsoft.Authorization/roleDefinitions/"),
        "{first}"
    );
}

#[test]
fn deny_assignments_and_data_planes_inherit_from_management_groups() {
    let w = mg_world();
    let prod = format!("/subscriptions/{}", sub_id("prod"));
    let r = get(
        &w,
        "ci-app",
        &format!("{prod}/providers/Microsoft.Authorization/denyAssignments"),
        API,
    );
    assert_eq!(r.status, 200, "{}", body(&r));
    assert_eq!(
        json_of(&r)["value"][0]["properties"]["scope"],
        "/providers/Microsoft.Management/managementGroups/mg-prod"
    );
    let decide = |account: &str, action: &str| {
        let scope = w.scenario.account(account).unwrap().id();
        authz::check_access(
            &w.scenario,
            &authz::AccessQuery {
                principal_oid: &oid(&w, "ci-app"),
                scope: &scope,
                action,
                kind: ActionKind::DataAction,
                elapsed: Duration::from_secs(0),
            },
        )
    };
    let chat = "Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action";
    assert!(decide("oai-prod", chat).is_allowed());
    assert!(!decide("oai-dev", chat).is_allowed());
    assert!(!decide("oai-default", chat).is_allowed());
    assert!(matches!(
        decide(
            "speech-prod",
            "Microsoft.CognitiveServices/accounts/SpeechServices/unified-speech/frontend/action"
        ),
        authz::Decision::Denied(authz::DenyReason::DenyAssignment { .. })
    ));
}

#[test]
fn resource_graph_reads_every_asked_subscription() {
    let w = mg_world();
    let graph = |who: &str, subscriptions: Value| {
        let mut request = json!({"query": "Resources | project id, name, subscriptionId"});
        if !subscriptions.is_null() {
            request["subscriptions"] = subscriptions;
        }
        let token = token_with(&w, who, json!({}));
        let r = handle(
            &w,
            &EmuRequest {
                method: "POST".into(),
                host: "management.azure.com".into(),
                port: 443,
                scheme: "https",
                path: "/providers/Microsoft.ResourceGraph/resources".into(),
                raw_query: "api-version=2024-04-01".into(),
                query: vec![("api-version".into(), "2024-04-01".into())],
                headers: vec![("authorization".into(), format!("Bearer {token}"))],
                body: request.to_string().into_bytes(),
            },
        );
        assert_eq!(r.status, 200, "{}", body(&r));
        let mut names: Vec<String> = json_of(&r)["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| row["name"].as_str().unwrap().to_string())
            .collect();
        names.sort();
        names
    };
    let dev = "11111111-2222-3333-4444-555555555555";
    assert_eq!(
        graph("ci-app", json!([sub_id("prod"), dev])),
        ["oai-dev", "oai-prod", "speech-prod", "srch-dev"]
    );
    assert_eq!(graph("ci-app", json!([dev])), ["oai-dev", "srch-dev"]);
    assert_eq!(
        graph("root-reader", Value::Null),
        [
            "oai-default",
            "oai-dev",
            "oai-lab",
            "oai-prod",
            "speech-prod",
            "srch-dev"
        ]
    );
}

#[test]
fn the_hierarchy_is_checked_with_file_and_line() {
    let bad = |patch: &str, line: usize, says: &str| {
        let text = format!("{MG_SCENARIO}{patch}");
        let e = Scenario::parse(&text, "mg.toml").unwrap_err();
        assert_eq!(e.line, Some(line), "{e}");
        assert!(e.to_string().starts_with("mg.toml:"), "{e}");
        assert!(e.to_string().contains(says), "{e}");
    };
    let base = MG_SCENARIO.lines().count();
    bad(
        "\n[[management_group]]\nname = \"orphan\"\nparent = \"nope\"\n",
        base + 4,
        "parent `nope` is not a management_group",
    );
    bad(
        "\n[[subscription]]\nname = \"qa\"\nmanagement_group = \"nope\"\n",
        base + 4,
        "management_group `nope`",
    );
    bad(
        "\n[[account]]\nname = \"x\"\nkind = \"OpenAI\"\nsubscription = \"nope\"\n",
        base + 5,
        "subscription `nope` is not a [[subscription]] name",
    );
    bad(
        "\n[[account]]\nname = \"x\"\nkind = \"OpenAI\"\ncustom_subdomain = \"OAI-PROD\"\n",
        base + 3,
        "custom_subdomain `OAI-PROD` is already account `oai-prod`'s",
    );
    bad(
        "\n[[role_assignment]]\nprincipal = \"ci-app\"\nrole = \"Reader\"\nscope = \"management_group:nope\"\n",
        base + 5,
        "names nothing",
    );
    bad(
        "\n[[role_assignment]]\nprincipal = \"ci-app\"\nrole = \"Reader\"\nscope = \"subscription:nope\"\n",
        base + 5,
        "names nothing",
    );
    // rg-ai holds resources in several subscriptions: the scope must say which.
    bad(
        "\n[[role_assignment]]\nprincipal = \"ci-app\"\nrole = \"Reader\"\nscope = \"resource_group:rg-ai\"\n",
        base + 5,
        "resource_group:SUBSCRIPTION/rg-ai",
    );
    let cycle = MG_SCENARIO.replace(
        "[[management_group]]\nname = \"mg-ai\"\n",
        "[[management_group]]\nname = \"mg-ai\"\nparent = \"mg-prod\"\n",
    );
    let e = Scenario::parse(&cycle, "mg.toml").unwrap_err();
    assert!(e.to_string().contains("cycle"), "{e}");
    let ok = format!(
        "{MG_SCENARIO}\n[[role_assignment]]\nprincipal = \"ci-app\"\nrole = \"Reader\"\nscope = \"resource_group:dev/rg-ai\"\n"
    );
    let s = Scenario::parse(&ok, "mg.toml").unwrap();
    let last = s.role_assignments.last().unwrap();
    assert_eq!(
        s.scope_id(&crate::emulator::scenario::ScopeRef::parse(last.scope.get_ref()).unwrap()),
        "/subscriptions/11111111-2222-3333-4444-555555555555/resourceGroups/rg-ai"
    );
}
