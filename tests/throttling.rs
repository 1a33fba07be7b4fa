//! Issue 9 item 1: a 429 is never proof of access. End to end against the emulator, with the
//! limiter before and after the service's own checks (`[faults] throttle_stage`).

mod common;
use common::{Harness, cell, first_code};
use serde_json::Value;

/// `app` (environment) holds the data role on `oai` and `fw`, and Reader to read its own
/// assignments; `nobody` (azure-cli) holds no role at all. `fw` admits only another network.
fn scenario(faults: &str) -> String {
    format!(
        r#"
[[identity]]
name = "app"
type = "service_principal"
secret = "throttle-secret-value-1"

[[identity]]
name = "nobody"
type = "user"
upn = "nobody@contoso.com"

[[account]]
name = "oai"
kind = "OpenAI"
custom_subdomain = "thr-oai"

[[account]]
name = "fw"
kind = "OpenAI"
custom_subdomain = "thr-fw"
network_default_action = "Deny"
ip_rules = ["203.0.113.0/24"]

[[role_assignment]]
principal = "app"
role = "Reader"
scope = "subscription"

[[role_assignment]]
principal = "app"
role = "Cognitive Services OpenAI User"
scope = "subscription"

[machine]
environment = "app"
azure_cli_user = "nobody"
source_ip = "198.51.100.7"

[faults]
{faults}
"#
    )
}

const CREDENTIALS: &[&str] = &["--credential", "environment,azure-cli"];

fn verdict(report: &Value, credential: &str, service: &str) -> String {
    cell(report, credential, service)["verdict"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn throttled_before_auth_passes_only_where_rbac_proves_the_grant() {
    let h = Harness::start(&scenario(
        "throttle_every = 1\nthrottle_stage = \"before-auth\"",
    ))
    .await;
    let (report, out) = h.matrix(CREDENTIALS).await;

    // Every call is throttled; the granted cell passes on its role assignments alone.
    let granted = cell(&report, "environment", "oai");
    assert_eq!(granted["verdict"], "pass", "{granted:#}\n{}", out.stderr);
    assert_eq!(granted["http"]["status"], 429, "{granted:#}");
    assert_eq!(first_code(granted), "throttled");
    assert_eq!(granted["findings"][0]["severity"], "info", "{granted:#}");

    // No role: the 429 says nothing, the RBAC stage proves nothing → inconclusive.
    let nobody = cell(&report, "azure-cli", "oai");
    assert_eq!(nobody["verdict"], "inconclusive", "{nobody:#}");
    assert_eq!(first_code(nobody), "throttled", "{nobody:#}");

    // A firewall the tool cannot rule out keeps the grant from proving access.
    let blocked = cell(&report, "environment", "fw");
    assert_ne!(blocked["verdict"], "pass", "{blocked:#}");
    assert!(
        common::codes(blocked)
            .iter()
            .any(|c| c == "firewall-blocked"),
        "{blocked:#}"
    );
    assert_ne!(cell(&report, "azure-cli", "fw")["verdict"], "pass");

    assert_eq!(out.code, 3, "a throttled gate is not green: {}", out.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn throttled_after_auth_leaves_denials_as_failures() {
    let h = Harness::start(&scenario(
        "throttle_every = 1\nthrottle_stage = \"after-auth\"",
    ))
    .await;
    let (report, out) = h.matrix(CREDENTIALS).await;
    let granted = cell(&report, "environment", "oai");
    assert_eq!(granted["verdict"], "pass", "{granted:#}\n{}", out.stderr);
    assert_eq!(granted["http"]["status"], 429);
    // The limiter sits behind the checks: the denial and the firewall answer as they are.
    let nobody = cell(&report, "azure-cli", "oai");
    assert_eq!(nobody["verdict"], "fail", "{nobody:#}");
    assert_ne!(nobody["http"]["status"], 429);
    let blocked = cell(&report, "environment", "fw");
    assert_eq!(
        (blocked["verdict"].as_str(), first_code(blocked).as_str()),
        (Some("fail"), "firewall-blocked"),
        "{blocked:#}"
    );
    assert_eq!(out.code, 1, "{}", out.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_throttled_account_of_an_identity_with_no_role_is_never_green() {
    // Only the identity with no role, every call throttled before any check: never exit 0.
    for stage in ["before-auth", "after-auth"] {
        let h = Harness::start(&scenario(&format!(
            "throttle_every = 1\nthrottle_stage = \"{stage}\""
        )))
        .await;
        let (report, out) = h.matrix(&["--credential", "azure-cli"]).await;
        for service in ["oai", "fw"] {
            assert_ne!(verdict(&report, "azure-cli", service), "pass", "{stage}");
        }
        assert_ne!(out.code, 0, "{stage}: {}", out.stdout);
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_other_call_throttled_gives_the_same_verdicts_every_time() {
    let h = Harness::start(&scenario(
        "throttle_every = 2\nthrottle_stage = \"before-auth\"",
    ))
    .await;
    let mut runs = Vec::new();
    for _ in 0..3 {
        let (report, out) = h.matrix(CREDENTIALS).await;
        let verdicts: Vec<(String, String, String)> = report["cells"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["credential"].as_str().unwrap_or_default().to_string(),
                    c["service"].as_str().unwrap_or_default().to_string(),
                    c["verdict"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        runs.push((verdicts, out.code));
        // No cell passes by luck: the identity with no role never does.
        assert_ne!(verdict(&report, "azure-cli", "oai"), "pass", "{report:#}");
        assert_ne!(verdict(&report, "azure-cli", "fw"), "pass", "{report:#}");
    }
    assert!(
        runs.windows(2).all(|w| w[0] == w[1]),
        "identical runs disagree: {runs:#?}"
    );
}
