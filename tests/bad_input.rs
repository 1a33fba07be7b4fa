//! Bad input gets a message that names what is wrong and exit code 2, never a panic.

mod common;
use common::entraprobe;

async fn expect_usage_error(args: &[&str], needle: &str) {
    let out = entraprobe(args).await;
    assert_eq!(
        out.code, 2,
        "{args:?} → exit {} (stdout: {}; stderr: {})",
        out.code, out.stdout, out.stderr
    );
    assert!(
        out.stderr.contains(needle),
        "{args:?}: stderr should name `{needle}`:\n{}",
        out.stderr
    );
    assert!(
        !out.stderr.contains("panicked"),
        "{args:?} panicked:\n{}",
        out.stderr
    );
}

#[tokio::test]
async fn bad_flags_name_the_problem() {
    expect_usage_error(&["run"], "no services to probe").await;
    expect_usage_error(&["run", "--service", "oai"], "--service `oai`").await;
    expect_usage_error(
        &["run", "--service", "oai=gpt@https://x.openai.azure.com"],
        "unknown kind `gpt`",
    )
    .await;
    expect_usage_error(
        &["run", "--service", "oai=openai@http://x.openai.azure.com"],
        "https",
    )
    .await;
    expect_usage_error(
        &[
            "run",
            "--service",
            "a=openai@https://a.openai.azure.com",
            "--credential",
            "keyvault",
        ],
        "unknown credential source `keyvault`",
    )
    .await;
    expect_usage_error(
        &[
            "run",
            "--service",
            "a=openai@https://a.openai.azure.com",
            "--timeout",
            "5x",
        ],
        "unknown unit",
    )
    .await;
    expect_usage_error(
        &[
            "run",
            "--service",
            "a=openai@https://a.openai.azure.com",
            "--output",
            "yaml",
        ],
        "unknown format",
    )
    .await;
    expect_usage_error(
        &[
            "run",
            "--service",
            "a=openai@https://a.openai.azure.com",
            "--cloud",
            "mars",
        ],
        "unknown cloud 'mars'",
    )
    .await;
    expect_usage_error(
        &[
            "run",
            "--service",
            "a=openai@https://a.openai.azure.com",
            "--expect-deny",
            "azure-cli:b",
        ],
        "no service named `b`",
    )
    .await;
    expect_usage_error(
        &[
            "run",
            "--service",
            "a=openai@https://a.openai.azure.com",
            "--ca-file",
            "/nonexistent/ca.pem",
        ],
        "/nonexistent/ca.pem",
    )
    .await;
    expect_usage_error(&["run", "--bogus"], "--bogus").await;
    expect_usage_error(
        &["token", "--credential", "nope"],
        "unknown credential source `nope`",
    )
    .await;
    expect_usage_error(
        &[
            "run",
            "--service",
            "a=openai@https://a.openai.azure.com",
            "--principal",
            "ci-app",
        ],
        "--principal `ci-app`",
    )
    .await;
    expect_usage_error(
        &["explain", "managment-role-only"],
        "Did you mean `management-role-only`",
    )
    .await;
}

#[tokio::test]
async fn a_bad_config_file_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("entraprobe.toml");
    std::fs::write(&path, "timeout = \"10s\"\n\n[[service]]\nname = \"a\"\nkind = \"openai\"\nendpoint = \"https://a.openai.azure.com\"\ncolour = \"blue\"\n").unwrap();
    let p = path.to_str().unwrap();
    expect_usage_error(&["run", "--config", p], &format!("{p}:7")).await;
    std::fs::write(&path, "[[service]]\nname = \"a\"\nkind = \"openai\"\nendpoint = \"https://a.openai.azure.com\"\nexpect_deny = [\"az\"]\n").unwrap();
    expect_usage_error(
        &["run", "--config", p],
        "expect_deny: unknown credential source `az`",
    )
    .await;
    // File services follow the rules of --service.
    std::fs::write(&path, "[[service]]\nname = \"a b\"\nkind = \"openai\"\nendpoint = \"https://a.openai.azure.com\"\n").unwrap();
    expect_usage_error(&["run", "--config", p], "service name `a b`").await;
    std::fs::write(&path, "[[service]]\nname = \"a\"\nkind = \"openai\"\nendpoint = \"https://a.openai.azure.com\"\nresource_id = \"rg-ai/oai\"\n").unwrap();
    expect_usage_error(&["run", "--config", p], "not an ARM resource id").await;
    std::fs::write(&path, "ca_file = \"/nonexistent/ca.pem\"\n[[service]]\nname = \"a\"\nkind = \"openai\"\nendpoint = \"https://a.openai.azure.com\"\n").unwrap();
    expect_usage_error(&["run", "--config", p], "/nonexistent/ca.pem").await;
    expect_usage_error(
        &["run", "--config", "/nonexistent/x.toml"],
        "/nonexistent/x.toml",
    )
    .await;
}

#[tokio::test]
async fn a_bad_scenario_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    std::fs::write(&path, "[[identity]]\nname = \"a\"\ntype = \"robot\"\n").unwrap();
    let p = path.to_str().unwrap();
    expect_usage_error(&["emulate", "--scenario", p], &format!("{p}:3")).await;
    expect_usage_error(&["demo", "--scenario", p], &format!("{p}:3")).await;
}

#[tokio::test]
async fn malformed_tokens_are_named_and_never_echoed() {
    for (token, needle) in [
        ("not-a-jwt", "3 dot-separated parts"),
        ("eyJhbGciOiJub25lIn0.%%%.sig", "base64"),
        ("eyJhbGciOiJub25lIn0.bm90IGpzb24.sig", "JSON"),
    ] {
        let out = entraprobe(&["decode", token]).await;
        assert_eq!(out.code, 2, "{token}: {}", out.stderr);
        assert!(
            out.stderr.to_lowercase().contains(&needle.to_lowercase()),
            "{token}: {}",
            out.stderr
        );
        assert!(
            !out.stderr.contains("%%%") && !out.stderr.contains("bm90IGpzb24"),
            "the token is echoed: {}",
            out.stderr
        );
    }
}

#[tokio::test]
async fn explain_lists_and_explains_every_code() {
    let out = entraprobe(&["explain", "--list"]).await;
    assert_eq!(out.code, 0);
    for code in entraprobe::diagnosis::Code::ALL {
        assert!(
            out.stdout.contains(code.as_str()),
            "explain --list misses {code}"
        );
        let one = entraprobe(&["explain", code.as_str()]).await;
        assert_eq!(one.code, 0, "explain {code}: {}", one.stderr);
        assert!(one.stdout.contains(code.as_str()));
    }
}

#[tokio::test]
async fn an_authority_host_that_is_not_https_is_refused_before_any_secret_leaves() {
    for value in [
        "http://login.example.test",
        "login.microsoftonline.com",
        "https://",
    ] {
        let out = common::entraprobe_with(
            &[
                "run",
                "--credential",
                "environment",
                "--service",
                "oai=openai@https://x.openai.azure.com",
            ],
            &[
                ("AZURE_AUTHORITY_HOST", value),
                ("AZURE_TENANT_ID", "72f988bf-86f1-41af-91ab-2d7cd011db47"),
                ("AZURE_CLIENT_ID", "00001111-aaaa-2222-bbbb-3333cccc4444"),
                ("AZURE_CLIENT_SECRET", "never-sent-anywhere-1"),
            ],
        )
        .await;
        assert_eq!(out.code, 2, "{value}: {}", out.stderr);
        assert!(
            out.stderr.contains("AZURE_AUTHORITY_HOST"),
            "{}",
            out.stderr
        );
        assert!(!out.stderr.contains("never-sent-anywhere-1"));
    }
    // The Azure CLI never sends anything there: the variable does not stop a run that uses it.
    let out = common::entraprobe_with(
        &[
            "run",
            "--credential",
            "azure-cli",
            "--timeout",
            "2s",
            "--service",
            "oai=openai@https://x.openai.azure.com",
        ],
        &[
            ("PATH", "/nonexistent"),
            ("AZURE_AUTHORITY_HOST", "http://login.example.test"),
        ],
    )
    .await;
    assert_ne!(out.code, 2, "{}", out.stderr);
}
