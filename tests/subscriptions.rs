//! Several subscriptions under management groups, end to end: the tool probes accounts in each
//! subscription, inherits roles and deny assignments from management groups (as ARM lists them
//! at the subscription, with their own scope), and `--discover` spans every visible subscription.

mod common;

use common::{Harness, cell, codes};
use serde_json::Value;

const SCENARIO: &str = r#"
[tenant]
id = "0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11"

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
management_group = "mg-ai"

[[subscription]]
name = "lab"

[[identity]]
name = "ci-app"
type = "service_principal"
secret = "subs-test-secret"

[[account]]
name = "oai-prod"
kind = "OpenAI"
custom_subdomain = "oai-prod"
subscription = "prod"
deployments = ["gpt-4o"]

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
deployments = ["gpt-4o"]

[[account]]
name = "oai-lab"
kind = "OpenAI"
custom_subdomain = "oai-lab"
subscription = "lab"
deployments = ["gpt-4o"]

[[custom_role]]
name = "Speech Only"
data_actions = ["Microsoft.CognitiveServices/accounts/SpeechServices/*"]

[[role_assignment]]
principal = "ci-app"
role = "Reader"
scope = "management_group:mg-ai"

[[role_assignment]]
principal = "ci-app"
role = "Speech Only"
scope = "management_group:mg-ai"

[[role_assignment]]
principal = "ci-app"
role = "Cognitive Services User"
scope = "management_group:mg-prod"

[[deny_assignment]]
principal = "ci-app"
scope = "management_group:mg-prod"
data_actions = ["Microsoft.CognitiveServices/accounts/SpeechServices/*"]

[machine]
environment = "ci-app"
"#;

#[tokio::test(flavor = "multi_thread")]
async fn roles_and_denies_are_inherited_from_management_groups_per_subscription() {
    let h = Harness::start(SCENARIO).await;
    let (report, out) = h.matrix(&["--credential", "environment"]).await;
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let prod = cell(&report, "environment", "oai-prod");
    assert_eq!(prod["verdict"], "pass", "{prod:#}");
    // The deny at mg-prod reaches speech-prod, and the tool names it.
    let speech = cell(&report, "environment", "speech-prod");
    assert_eq!(speech["verdict"], "fail", "{speech:#}");
    assert!(
        codes(speech).iter().any(|c| c == "deny-assignment"),
        "{speech:#}"
    );
    // dev is under mg-ai only: Reader and a custom Speech role there, nothing for OpenAI; the
    // tool reads the custom role by its tenant-level id and says so with confidence.
    let dev = cell(&report, "environment", "oai-dev");
    assert_eq!(dev["verdict"], "fail", "{dev:#}");
    let dev_codes = codes(dev);
    assert_eq!(dev_codes[0], "missing-data-action", "{dev:#}");
    assert!(!dev_codes.iter().any(|c| c == "rbac-unreadable"), "{dev:#}");
    // lab is outside both groups: nothing there for ci-app, not even the right to look.
    let lab = cell(&report, "environment", "oai-lab");
    assert_eq!(lab["verdict"], "fail");
    assert!(codes(lab).iter().any(|c| c == "rbac-unreadable"), "{lab:#}");
    // The cost rule: one assignment listing per (principal, subscription) at most.
    let counted = h.requests().await;
    let listings = counted["arm_role_assignment_listings"].as_u64().unwrap();
    assert!(listings <= 3 * 2, "{counted}");
    assert!(!out.stdout.contains("subs-test-secret") && !out.stderr.contains("subs-test-secret"));
}

fn names(report: &Value) -> Vec<String> {
    let mut names: Vec<String> = report["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap().to_string())
        .collect();
    names.sort();
    names
}

#[tokio::test(flavor = "multi_thread")]
async fn discover_spans_every_visible_subscription_and_resolves_names() {
    let h = Harness::start(SCENARIO).await;
    let (report, out) = h
        .report(&[
            "--discover",
            "--credential",
            "environment",
            "--timeout",
            "10s",
        ])
        .await;
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    // prod and dev are visible through mg-ai; lab is not.
    assert_eq!(names(&report), ["oai-dev", "oai-prod", "speech-prod"]);
    assert_eq!(cell(&report, "environment", "oai-prod")["verdict"], "pass");
    let per_sub: Vec<(String, u64)> = report["discovery"]["subscriptions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["name"].as_str().unwrap_or_default().to_string(),
                s["accounts"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(per_sub.len(), 2, "{:#}", report["discovery"]);
    assert!(per_sub.contains(&("prod".into(), 2)), "{per_sub:?}");
    assert!(per_sub.contains(&("dev".into(), 1)), "{per_sub:?}");
    // `--subscription NAME` picks one by its display name.
    let (report, out) = h
        .report(&[
            "--discover",
            "--credential",
            "environment",
            "--subscription",
            "dev",
        ])
        .await;
    assert_eq!(names(&report), ["oai-dev"], "{}", out.stderr);
    // One the credential cannot see is bad input, named.
    let out = h
        .run(&[
            "run",
            "--discover",
            "--credential",
            "environment",
            "--subscription",
            "lab",
        ])
        .await;
    assert_ne!(out.code, 0);
    assert!(out.stderr.contains("lab"), "{}", out.stderr);
}

#[test]
fn the_documented_example_places_resources_in_subscriptions_under_management_groups() {
    use entraprobe::emulator::Scenario;
    let doc = include_str!("../docs/emulator.md");
    let start = doc.find("```toml\n").expect("a toml example") + "```toml\n".len();
    let end = start + doc[start..].find("```").unwrap();
    let scenario = Scenario::parse(&doc[start..end], "docs/emulator.md").unwrap();
    let subs = scenario.subscription_infos();
    assert_eq!(subs.len(), 2);
    let prod = subs.iter().find(|s| s.display_name == "prod").unwrap();
    assert_eq!(prod.ancestors, ["mg-ai", scenario.tenant.id.as_str()]);
    let search = scenario.search_service("contoso-search").unwrap();
    assert!(
        search
            .id()
            .starts_with(&format!("/subscriptions/{}/", prod.id))
    );
    let speech = scenario.account("contoso-speech").unwrap();
    assert!(
        speech
            .id()
            .starts_with(&format!("/subscriptions/{}/", scenario.tenant.subscription))
    );
}
