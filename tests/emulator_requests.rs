//! The emulator's request counter (design §6): `GET http://127.0.0.1:PORT/_emulator/requests`
//! counts what a real run sends, by surface, as benchmarks and outside tests read it.

mod common;

use common::Harness;

const SCENARIO: &str = r#"
[tenant]
id = "0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11"
subscription = "5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f"

[[identity]]
name = "ci-app"
type = "service_principal"
secret = "counter-test-secret"

[[identity]]
name = "alice"
type = "user"
upn = "alice@contoso.com"

[[account]]
name = "count-openai"
kind = "OpenAI"
resource_group = "rg-ai"
custom_subdomain = "count-openai"

[[account]]
name = "count-speech"
kind = "SpeechServices"
resource_group = "rg-ai"
custom_subdomain = "count-speech"

[[role_assignment]]
principal = "ci-app"
role = "Cognitive Services User"
scope = "resource_group:rg-ai"

[[role_assignment]]
principal = "alice"
role = "Reader"
scope = "subscription"

[machine]
environment = "ci-app"
azure_cli_user = "alice"
"#;

#[tokio::test(flavor = "multi_thread")]
async fn the_counter_counts_a_real_run_by_surface() {
    let h = Harness::start(SCENARIO).await;
    let before = h.requests().await;
    assert_eq!(
        before["total"], 0,
        "health and the counter itself are not counted: {before}"
    );
    let surfaces = [
        "entra",
        "arm",
        "resource_graph",
        "graph",
        "imds",
        "app_service",
        "cli",
        "oidc",
        "dataplane",
    ];
    for surface in surfaces {
        assert_eq!(before["by_surface"][surface], 0, "{surface} in {before}");
    }

    let (report, out) = h.matrix(&["--credential", "environment,azure-cli"]).await;
    assert!(out.code == 0 || out.code == 1, "{}", out.stderr);
    let after = h.requests().await;
    let by = &after["by_surface"];
    let count = |s: &str| by[s].as_u64().unwrap_or_else(|| panic!("{s} in {after}"));

    // Two sources × two accounts, every cell sent: four data-plane calls.
    let sent = report["cells"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["http"].is_object())
        .count() as u64;
    assert_eq!(sent, 4, "{report:#}");
    assert_eq!(count("dataplane"), sent);
    assert!(
        count("entra") >= 1,
        "the service principal's token: {after}"
    );
    assert!(count("cli") >= 1, "az for alice: {after}");
    assert!(count("arm") >= 1, "preflight and RBAC reads: {after}");
    for idle in ["resource_graph", "imds", "app_service", "oidc"] {
        assert_eq!(count(idle), 0, "{idle}: {after}");
    }
    // A denied cell asks Graph what its principal is (an app registration object holding the
    // role?): once per principal, never per target.
    assert!(count("graph") <= 2, "graph: {after}");
    let sum: u64 = surfaces.iter().map(|s| count(s)).sum();
    assert_eq!(after["total"].as_u64().unwrap(), sum, "{after}");
    // Role assignments are listed per principal (and subscription), never per target.
    let listings = after["arm_role_assignment_listings"].as_u64().unwrap();
    assert!(
        (1..=2).contains(&listings),
        "{listings} listings for two principals: {after}"
    );
}

/// Three readers, two roles each, three accounts: role definitions are read once per role for
/// the whole run (not once per reader), role assignments once per principal.
#[tokio::test(flavor = "multi_thread")]
async fn shared_reads_are_asked_once_per_role_and_once_per_principal() {
    let mut text = String::from(
        r#"
[[identity]]
name = "ci-app"
type = "service_principal"
secret = "shared-reads-secret"

[[identity]]
name = "alice"
type = "user"
upn = "alice@contoso.com"

[[identity]]
name = "vm-mi"
type = "managed_identity"

[machine]
environment = "ci-app"
azure_cli_user = "alice"
managed_identities = ["vm-mi"]
"#,
    );
    for who in ["ci-app", "alice", "vm-mi"] {
        for role in ["Reader", "Cognitive Services User"] {
            text.push_str(&format!(
                "\n[[role_assignment]]\nprincipal = \"{who}\"\nrole = \"{role}\"\nscope = \"subscription\"\n"
            ));
        }
    }
    for i in 0..3 {
        text.push_str(&format!(
            "\n[[account]]\nname = \"shared{i}\"\nkind = \"TextAnalytics\"\ncustom_subdomain = \"shared{i}\"\n"
        ));
    }
    let h = Harness::start(&text).await;
    let (report, out) = h
        .matrix(&["--credential", "environment,azure-cli,managed-identity"])
        .await;
    assert_eq!(report["summary"]["pass"], 9, "{}\n{report:#}", out.stderr);
    let counters = &h.emulator.world().counters;
    assert!(
        counters.get("arm:roleDefinitions") <= 2,
        "two roles, three readers: {:?}",
        counters.snapshot()
    );
    let listings = h.requests().await["arm_role_assignment_listings"]
        .as_u64()
        .unwrap();
    assert_eq!(listings, 3, "one per principal and subscription");
}
