//! `entraprobe run --discover`: the estate found through Azure Resource Graph (emulated at
//! management.azure.com), then probed like configured services.

mod common;

use common::{Harness, cell};
use serde_json::Value;

const SCENARIO: &str = r#"
[[identity]]
name = "ci-app"
type = "service_principal"
secret = "discover-test-secret"

[[identity]]
name = "blind-app"
type = "service_principal"
secret = "blind-test-secret"

[[account]]
name = "d-openai"
kind = "OpenAI"
resource_group = "rg-ai"
custom_subdomain = "d-openai"

[[account]]
name = "d-speech"
kind = "SpeechServices"
resource_group = "rg-speech"
custom_subdomain = "d-speech"
tags = { env = "prod" }

[[account]]
name = "d-fdy"
kind = "AIServices"
resource_group = "rg-ai"
custom_subdomain = "d-fdy"

[[search_service]]
name = "d-search"
resource_group = "rg-ai"

[[role_assignment]]
principal = "ci-app"
role = "Reader"
scope = "subscription"

[[role_assignment]]
principal = "ci-app"
role = "Cognitive Services OpenAI User"
scope = "account:d-openai"

[machine]
environment = "ci-app"
"#;

fn service_names(report: &Value) -> Vec<String> {
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
async fn discover_finds_every_service_names_them_and_probes_them() {
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
    assert_eq!(
        out.code, 1,
        "one granted account, the rest not: {}",
        out.stderr
    );
    let names = service_names(&report);
    // One surface: the account's name; several (AIServices): ACCOUNT:SURFACE; Search: its name.
    for expected in [
        "d-openai",
        "d-speech",
        "d-search",
        "d-fdy:openai",
        "d-fdy:speech",
        "d-fdy:language",
        "d-fdy:model-inference",
    ] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} not in {names:?}"
        );
    }
    assert_eq!(names.len(), 3 + 8, "{names:?}");
    assert_eq!(cell(&report, "environment", "d-openai")["verdict"], "pass");
    assert_eq!(cell(&report, "environment", "d-speech")["verdict"], "fail");
    let discovery = &report["discovery"];
    assert_eq!(discovery["credential"], "environment");
    assert_eq!(discovery["pages"], 1);
    let sub = &discovery["subscriptions"][0];
    assert_eq!(sub["accounts"], 3, "{discovery:#}");
    assert_eq!(sub["search_services"], 1, "{discovery:#}");
    assert_eq!(sub["targets"], 11, "{discovery:#}");
    let counted = h.requests().await;
    assert_eq!(counted["by_surface"]["resource_graph"], 1, "{counted}");
    assert!(
        !out.stdout.contains("discover-test-secret")
            && !out.stderr.contains("discover-test-secret")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn filters_narrow_what_is_found() {
    let h = Harness::start(SCENARIO).await;
    let (report, out) = h
        .report(&[
            "--discover",
            "--credential",
            "environment",
            "--tag",
            "env=prod",
        ])
        .await;
    assert_eq!(service_names(&report), ["d-speech"], "{}", out.stderr);
    let (report, _) = h
        .report(&[
            "--discover",
            "--credential",
            "environment",
            "--resource-group",
            "RG-AI",
            "--subscription",
            "entraprobe emulated subscription",
        ])
        .await;
    let names = service_names(&report);
    assert!(
        names.iter().all(|n| !n.starts_with("d-speech")),
        "{names:?}"
    );
    assert!(names.contains(&"d-search".to_string()), "{names:?}");
    // A configured service that names a discovered resource keeps its own name.
    let resource = h
        .scenario
        .account("d-openai")
        .unwrap()
        .resource_id(&h.scenario.tenant.subscription);
    let flag = format!("mine=openai@https://d-openai.openai.azure.com/,resource={resource}");
    let (report, _) = h
        .report(&[
            "--discover",
            "--credential",
            "environment",
            "--service",
            &flag,
            "--tag",
            "env=prod",
        ])
        .await;
    assert_eq!(service_names(&report), ["d-speech", "mine"]);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_credential_that_sees_nothing_is_not_a_green_gate() {
    let scenario = SCENARIO.replace("environment = \"ci-app\"", "environment = \"blind-app\"");
    let h = Harness::start(&scenario).await;
    let out = h
        .run(&["run", "--discover", "--credential", "environment"])
        .await;
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("discovery"), "{}", out.stderr);
    let out = h.run(&["run", "--subscription", "x"]).await;
    assert_eq!(
        out.code, 2,
        "a filter without --discover is bad input: {}",
        out.stderr
    );
    let out = h.run(&["run", "--discover", "--tag", "novalue"]).await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(out.stderr.contains("KEY=VALUE"), "{}", out.stderr);
}
