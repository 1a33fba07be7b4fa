//! Issue 5: expectations, waiting for access, CI outputs — end to end.

mod common;
use common::{Harness, cell};

fn scenario(account_extra: &str, role_extra: &str) -> String {
    format!(
        r#"
[[identity]]
name = "app"
type = "service_principal"
secret = "gate-secret-value-1"

[[account]]
name = "oai"
kind = "OpenAI"
custom_subdomain = "gate-oai"
{account_extra}

[[role_assignment]]
principal = "app"
role = "Reader"
scope = "subscription"

[[role_assignment]]
principal = "app"
role = "Cognitive Services OpenAI User"
scope = "account:oai"
{role_extra}

[machine]
environment = "app"
"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_network_block_never_satisfies_an_expected_denial() {
    let h = Harness::start(&scenario("network_default_action = \"Deny\"", "")).await;
    let (report, out) = h
        .matrix(&[
            "--credential",
            "environment",
            "--expect-deny",
            "environment:oai",
        ])
        .await;
    let c = cell(&report, "environment", "oai");
    assert_eq!(
        (
            c["verdict"].as_str(),
            c["expected"].as_str(),
            c["met"].as_bool()
        ),
        (Some("fail"), Some("deny"), Some(false)),
        "{c:#}"
    );
    assert_eq!(out.code, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_authorization_denial_satisfies_an_expected_denial() {
    let text = scenario("", "").replace(
        "role = \"Cognitive Services OpenAI User\"",
        "role = \"Contributor\"",
    );
    let h = Harness::start(&text).await;
    let (report, out) = h
        .matrix(&[
            "--credential",
            "environment",
            "--expect-deny",
            "environment:oai",
        ])
        .await;
    let c = cell(&report, "environment", "oai");
    assert_eq!(c["met"], true, "{c:#}");
    assert_eq!(out.code, 0, "{}", out.stderr);
    let (_, allowed) = h.matrix(&["--credential", "environment"]).await;
    assert_eq!(
        allowed.code, 1,
        "the same denial fails an expected-allow cell"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn wait_for_access_turns_a_pending_assignment_into_a_pass() {
    let h = Harness::start(&scenario("", "effective_after_s = 3")).await;
    let (report, out) = h
        .matrix(&["--credential", "environment", "--wait-for-access", "60s"])
        .await;
    let c = cell(&report, "environment", "oai");
    assert_eq!(c["verdict"], "pass", "{c:#}\n{}", out.stderr);
    assert!(
        c["stages"]["call"]
            .as_str()
            .unwrap()
            .contains("effective after"),
        "{c:#}"
    );
    assert_eq!(out.code, 0);
    let (_, no_wait) = Harness::start(&scenario("", "effective_after_s = 600"))
        .await
        .matrix(&["--credential", "environment"])
        .await;
    assert_eq!(no_wait.code, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn several_outputs_at_once() {
    let h = Harness::start(&scenario("", "")).await;
    let dir = tempfile::tempdir().unwrap();
    let junit = dir.path().join("r.xml");
    let md = dir.path().join("s.md");
    let mut args = vec![
        "run".to_string(),
        "--credential".into(),
        "environment".into(),
        "--output".into(),
        "table".into(),
    ];
    args.push("--output".into());
    args.push(format!("junit={}", junit.display()));
    args.push("--output".into());
    args.push(format!("markdown={}", md.display()));
    args.extend(h.service_flags());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = h.run(&refs).await;
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("PASS"), "{}", out.stdout);
    assert!(
        std::fs::read_to_string(&junit)
            .unwrap()
            .contains("<testsuite")
    );
    assert!(std::fs::read_to_string(&md).unwrap().contains("oai"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_throttled_probe_passes_only_on_a_grant_the_role_assignments_prove() {
    let text = scenario("", "") + "\n[faults]\nthrottle_every = 1\n";
    let h = Harness::start(&text).await;
    let (report, out) = h.matrix(&["--credential", "environment"]).await;
    let c = cell(&report, "environment", "oai");
    assert_eq!(c["verdict"], "pass", "{c:#}\n{}", out.stderr);
    assert_eq!(c["http"]["status"], 429);
    assert!(
        c["http"]["retry_after_s"].as_u64().is_some(),
        "the Retry-After header is carried as data: {c:#}"
    );
    assert_eq!(common::first_code(c), "throttled", "{c:#}");
    assert_eq!(out.code, 0);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_named_source_that_is_not_configured_fails_the_gate() {
    // The machine has no managed identity. Asked for by name, its skip is a failure: a gate
    // must not go green on a source that never ran.
    let h = Harness::start(&scenario("", "")).await;
    let (report, out) = h.matrix(&["--credential", "managed-identity"]).await;
    let c = cell(&report, "managed-identity", "oai");
    assert_eq!(
        (c["verdict"].as_str(), c["met"].as_bool()),
        (Some("skip"), Some(false)),
        "{c:#}"
    );
    assert_eq!(out.code, 1, "{}", out.stdout);

    // Left to try every source, the same skip is expected (this machine simply has no
    // managed identity) while another source did run.
    let (report, out) = h.matrix(&[]).await;
    let c = cell(&report, "managed-identity", "oai");
    assert_eq!(c["met"], true, "{c:#}");
    assert_eq!(cell(&report, "environment", "oai")["verdict"], "pass");
    assert_eq!(out.code, 0, "{}", out.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_run_where_no_source_gives_a_token_is_not_green() {
    let h = Harness::start(&scenario("", "")).await;
    // The emulator's environment without the service principal's variables: nothing to act as.
    let out = tokio::process::Command::new(common::bin())
        .args(["run", "--output", "json", "--timeout", "5s"])
        .args(h.service_flags())
        .env_clear()
        .envs(
            h.emulator
                .env()
                .into_iter()
                .filter(|(k, _)| !k.starts_with("AZURE_")),
        )
        .output()
        .await
        .unwrap();
    let out = common::RunOutput::from(out);
    let report = out.json();
    assert!(
        report["cells"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["verdict"] == "skip" && c["met"] == false),
        "{report:#}"
    );
    assert_eq!(out.code, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn waiting_in_a_pipe_prints_plain_progress_lines() {
    // Issue 13 item 3: stderr is a pipe here, as in CI.
    let h = Harness::start(&scenario("", "effective_after_s = 4")).await;
    let (report, out) = h
        .matrix(&["--credential", "environment", "--wait-for-access", "60s"])
        .await;
    assert_eq!(cell(&report, "environment", "oai")["verdict"], "pass");
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("waiting for access"))
        .collect();
    assert!(!lines.is_empty(), "no progress lines:\n{}", out.stderr);
    let first = lines[0];
    for needle in [
        "round 1",
        "1 cell(s) still waiting",
        "environment × oai (role-propagation-pending)",
        "next try in",
    ] {
        assert!(first.contains(needle), "`{needle}` missing: {first}");
    }
    assert!(
        !out.stderr.contains('\r') && !out.stderr.contains('\u{1b}'),
        "no terminal redraws in a log: {:?}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn waiting_stops_early_for_a_cell_waiting_cannot_fix() {
    // One cell still propagating (worth waiting for), one whose role is assigned on another account (not): the wait
    // goes on for the first only, and ends as soon as the first passes.
    let text = scenario("", "effective_after_s = 3")
        + r#"
[[account]]
name = "other"
kind = "OpenAI"
custom_subdomain = "gate-other"
"#;
    let h = Harness::start(&text).await;
    let wait = std::time::Duration::from_secs(60);
    let started = std::time::Instant::now();
    let (report, out) = h
        .matrix(&["--credential", "environment", "--wait-for-access", "60s"])
        .await;
    let took = started.elapsed();
    assert_eq!(cell(&report, "environment", "oai")["verdict"], "pass");
    let other = cell(&report, "environment", "other");
    assert_eq!(other["verdict"], "fail", "{other:#}");
    assert!(
        out.stderr
            .contains("not waiting for environment × other: role-at-wrong-scope"),
        "{}",
        out.stderr
    );
    assert!(took < wait / 2, "the run took {took:?} of a {wait:?} wait");
    assert_eq!(out.code, 1);

    // Only the impossible cell: the wait ends after the first round, and says why.
    let h = Harness::start(&scenario("", "").replace(
        "role = \"Cognitive Services OpenAI User\"",
        "role = \"Contributor\"",
    ))
    .await;
    let started = std::time::Instant::now();
    let (report, out) = h
        .matrix(&["--credential", "environment", "--wait-for-access", "60s"])
        .await;
    let took = started.elapsed();
    assert_eq!(
        common::first_code(cell(&report, "environment", "oai")),
        "management-role-only"
    );
    assert!(
        out.stderr.contains("stopped waiting after round 1"),
        "{}",
        out.stderr
    );
    assert!(took < wait / 2, "the run took {took:?} of a {wait:?} wait");
    assert_eq!(out.code, 1);
}
