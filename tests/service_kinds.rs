//! Every service kind end to end: its minimal call succeeds with a data role, and each kind's
//! denials carry the cause the emulator produces.

mod common;
use common::{Harness, cell, first_code};

fn scenario(roles: &str) -> String {
    let mut s = String::from(
        "[[identity]]\nname = \"app\"\ntype = \"service_principal\"\nsecret = \"kinds-secret-value-1\"\n",
    );
    for (name, kind) in [
        ("oai", "OpenAI"),
        ("speech", "SpeechServices"),
        ("vision", "ComputerVision"),
        ("lang", "TextAnalytics"),
        ("trans", "TextTranslation"),
        ("docs", "FormRecognizer"),
        ("safety", "ContentSafety"),
        ("multi", "AIServices"),
    ] {
        s += &format!(
            "[[account]]\nname = \"{name}\"\nkind = \"{kind}\"\ncustom_subdomain = \"kinds-{name}\"\n"
        );
    }
    s += "[[search_service]]\nname = \"srch\"\nindexes = [\"products\"]\n";
    s += "[[role_assignment]]\nprincipal = \"app\"\nrole = \"Reader\"\nscope = \"subscription\"\n";
    s += roles;
    s + "[machine]\nenvironment = \"app\"\n"
}

const SERVICES: [&str; 9] = [
    "oai", "speech", "vision", "lang", "trans", "docs", "safety", "multi", "srch",
];

#[tokio::test(flavor = "multi_thread")]
async fn every_kind_passes_with_a_data_role() {
    let roles = "[[role_assignment]]\nprincipal = \"app\"\nrole = \"Cognitive Services User\"\nscope = \"subscription\"\n\
                 [[role_assignment]]\nprincipal = \"app\"\nrole = \"Search Service Contributor\"\nscope = \"subscription\"\n";
    let h = Harness::start(&scenario(roles)).await;
    let (report, out) = h.matrix(&["--credential", "environment"]).await;
    for service in SERVICES {
        let c = cell(&report, "environment", service);
        assert_eq!(c["verdict"], "pass", "{service}: {c:#}\n{}", out.stderr);
        assert!(
            c["http"]["api_version"]
                .as_str()
                .is_some_and(|v| !v.is_empty()),
            "{service} pins its api-version"
        );
    }
    assert_eq!(out.code, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_cognitive_kind_names_a_management_role_and_search_lists_with_an_action() {
    let roles = "[[role_assignment]]\nprincipal = \"app\"\nrole = \"Contributor\"\nscope = \"subscription\"\n";
    let h = Harness::start(&scenario(roles)).await;
    let (report, _) = h.matrix(&["--credential", "environment"]).await;
    for service in &SERVICES[..8] {
        let c = cell(&report, "environment", service);
        assert_eq!(first_code(c), "management-role-only", "{service}: {c:#}");
    }
    // Listing indexes is an Action, which Contributor's `*` grants; counting documents is a
    // data action, which it does not.
    assert_eq!(cell(&report, "environment", "srch")["verdict"], "pass");
    let sub = h.scenario.tenant.subscription.clone();
    let docs = format!(
        "srchdocs=search@https://srch.search.windows.net,resource=/subscriptions/{sub}/resourceGroups/rg-ai/providers/Microsoft.Search/searchServices/srch,index=products"
    );
    let (report, _) = h
        .report(&["--credential", "environment", "--service", &docs])
        .await;
    let c = cell(&report, "environment", "srchdocs").clone();
    assert_eq!(first_code(&c), "management-role-only", "{c:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn endpoint_shape_is_judged_before_a_token_is_sent() {
    let h = Harness::start(&scenario("")).await;
    let cases = [
        (
            "speech=speech@https://kinds-speech.cognitiveservices.azure.com/",
            "speech-resource-id-missing",
        ),
        (
            "lang=language@https://westeurope.api.cognitive.microsoft.com/",
            "regional-endpoint",
        ),
        (
            "apim=openai@https://contoso-apim.azure-api.net/",
            "endpoint-not-azure",
        ),
    ];
    for (spec, code) in cases {
        let (report, _) = h
            .report(&["--credential", "environment", "--service", spec])
            .await;
        let name = spec.split('=').next().unwrap();
        let c = cell(&report, "environment", name).clone();
        assert_eq!(first_code(&c), code, "{spec}: {c:#}");
        assert!(c["http"].is_null(), "{spec}: no request may be sent: {c:#}");
    }
    let dataplane_calls: u64 = h
        .emulator
        .world()
        .counters
        .snapshot()
        .iter()
        .filter(|(k, _)| k.starts_with("dataplane"))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(dataplane_calls, 0, "no token left for a refused endpoint");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_allow_listed_gateway_is_probed_and_judged_on_its_answer() {
    // The emulator answers no gateway host (502), so an allow-listed gateway must be sent the
    // call and must not pass on RBAC alone: `--allow-host` lets the call go, it proves nothing.
    let h = Harness::start(&scenario(
        "[[role_assignment]]\nprincipal = \"app\"\nrole = \"Cognitive Services User\"\nscope = \"subscription\"\n",
    ))
    .await;
    let (report, out) = h
        .report(&[
            "--credential",
            "environment",
            "--allow-host",
            "contoso-apim.azure-api.net",
            "--service",
            "apim=openai@https://contoso-apim.azure-api.net/",
        ])
        .await;
    let c = cell(&report, "environment", "apim").clone();
    assert_eq!(c["http"]["status"], 502, "the call is sent: {c:#}");
    assert_ne!(c["verdict"], "pass", "{c:#}");
    assert!(
        common::codes(&c).iter().any(|x| x == "endpoint-not-azure"),
        "the allow-listed host stays visible as a warning: {c:#}"
    );
    assert_ne!(out.code, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_index_scoped_role_reaches_its_index_only() {
    let text = r#"
[[identity]]
name = "app"
type = "service_principal"
secret = "index-secret-value-1"

[[search_service]]
name = "srch"
indexes = ["products", "orders"]
auth = "aadOrApiKey"

[[role_assignment]]
principal = "app"
role = "Reader"
scope = "subscription"

[[role_assignment]]
principal = "app"
role = "Search Index Data Reader"
scope = "search_index:srch/orders"

[machine]
environment = "app"
"#;
    let h = Harness::start(text).await;
    let sub = h.scenario.tenant.subscription.clone();
    let service = format!(
        "/subscriptions/{sub}/resourceGroups/rg-ai/providers/Microsoft.Search/searchServices/srch"
    );
    let (report, _) = h
        .report(&[
            "--credential",
            "environment",
            "--service",
            &format!(
                "orders=search@https://srch.search.windows.net,resource={service},index=orders"
            ),
            "--service",
            &format!(
                "products=search@https://srch.search.windows.net,resource={service},index=products"
            ),
        ])
        .await;
    // Asked about the index, RBAC agrees with the live call (asked about the service, it would
    // predict a denial, and the cell would report the disagreement).
    let orders = cell(&report, "environment", "orders");
    assert_eq!(orders["verdict"], "pass", "{orders:#}");
    assert!(
        orders["stages"]["rbac"]
            .as_str()
            .unwrap()
            .starts_with("granted by *Search Index Data Reader*"),
        "{orders:#}"
    );
    assert!(
        !common::codes(orders).contains(&"permission-denied".to_string()),
        "{orders:#}"
    );
    let c = cell(&report, "environment", "products");
    assert_eq!(c["verdict"], "fail", "{c:#}");
    assert_eq!(first_code(c), "role-at-wrong-scope", "{c:#}");
    assert!(
        c["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("index orders"),
        "{c:#}"
    );
}
