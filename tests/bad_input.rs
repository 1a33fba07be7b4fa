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
            "--expiry-horizon",
            "2y",
        ],
        "expiry-horizon: `2y`: unknown unit `y`",
    )
    .await;
    expect_usage_error(
        &[
            "run",
            "--service",
            "a=openai@https://a.openai.azure.com",
            "--expiry-horizon",
            "400d",
        ],
        "expiry-horizon: `400d` is more than 366d",
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
            "/subscriptions/s/resourceGroups/rg",
        ],
        "--principal `/subscriptions/s/resourceGroups/rg`",
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

/// Issue 9 item 8: bad input stops before any network. Each case runs with the emulator's
/// environment (every credential source configured) and must leave the emulator untouched.
async fn refused_before_any_network(h: &common::Harness, args: &[&str], needle: &str) -> String {
    let before = h.emulator.world().counters.snapshot();
    let mut all = vec!["run", "--timeout", "5s"];
    all.extend_from_slice(args);
    let out = h.run(&all).await;
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
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    assert_eq!(
        h.emulator.world().counters.snapshot(),
        before,
        "{args:?} reached the network"
    );
    out.stderr
}

const SCENARIO: &str = r#"
[[identity]]
name = "app"
type = "service_principal"
secret = "bad-input-secret-1"

[[account]]
name = "oai"
kind = "OpenAI"
custom_subdomain = "bad-oai"

[[identity]]
name = "dev"
type = "user"
upn = "dev@contoso.com"

[machine]
environment = "app"
azure_cli_user = "dev"
"#;

#[tokio::test(flavor = "multi_thread")]
async fn endpoints_with_a_path_a_query_or_credentials_are_refused() {
    let h = common::Harness::start(SCENARIO).await;
    for (service, needle) in [
        (
            "oai=openai@https://bad-oai.openai.azure.com/openai/deployments/gpt-4o/chat/completions",
            "has a path (`/openai/deployments/gpt-4o/chat/completions`)",
        ),
        (
            "oai=openai@https://bad-oai.openai.azure.com/openai/models?api-version=2024-10-21",
            "must not carry a query",
        ),
        (
            "srch=search@https://s.search.windows.net/indexes",
            "has a path (`/indexes`)",
        ),
        (
            "oai=openai@https://bad-oai.openai.azure.com/v1",
            "paths accepted: /openai",
        ),
    ] {
        refused_before_any_network(&h, &["--service", service], needle).await;
    }
    // The kind's own prefix is a documented form; a gateway allowed by host may have any path.
    for ok in [
        "oai=openai@https://bad-oai.openai.azure.com/openai/",
        "lang=language@https://bad-oai.cognitiveservices.azure.com/language",
    ] {
        let out = h
            .run(&[
                "run",
                "--credential",
                "environment",
                "--timeout",
                "5s",
                "--service",
                ok,
            ])
            .await;
        assert_ne!(out.code, 2, "{ok}: {}", out.stderr);
    }
    let gateway = common::entraprobe(&[
        "run",
        "--timeout",
        "1s",
        "--credential",
        "azure-cli",
        "--allow-host",
        "apim.contoso.example",
        "--service",
        "oai=openai@https://apim.contoso.example/ai/openai",
    ])
    .await;
    assert_ne!(gateway.code, 2, "{}", gateway.stderr);

    // Credentials in the URL: named, and the password never echoed.
    let stderr = refused_before_any_network(
        &h,
        &[
            "--service",
            "oai=openai@https://admin:Sup3rS3cret~pw@bad-oai.openai.azure.com/",
        ],
        "credentials do not belong in the URL",
    )
    .await;
    assert!(!stderr.contains("Sup3rS3cret"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread")]
async fn control_characters_placeholders_and_long_names_are_refused() {
    let h = common::Harness::start(SCENARIO).await;
    let ep = "https://bad-oai.openai.azure.com/";
    let long_name = "n".repeat(257);
    let long = format!("{long_name}=openai@{ep}");
    let cases: Vec<(String, &str)> = vec![
        (
            format!(
                "oai=openai@{ep},resource=/subscriptions/s\r\n##vso[task.complete result=Succeeded;]"
            ),
            "control character",
        ),
        (
            format!("oai=openai@{ep},region=westeurope\n"),
            "control character",
        ),
        (
            "oai=search@https://s.search.windows.net,index=a\u{1b}[31m".to_string(),
            "control character",
        ),
        (
            format!("oai=openai@{ep},resource=/subscriptions/…/accounts/contoso-openai"),
            "placeholder",
        ),
        (
            format!("oai=openai@{ep},resource=/subscriptions/<sub-id>/resourceGroups/rg"),
            "placeholder",
        ),
        (
            format!("oai=openai@{ep},resource=/subscriptions/.../accounts/x"),
            "placeholder",
        ),
        (
            "oai=openai@https://<name>.openai.azure.com/".to_string(),
            "placeholder",
        ),
        (long, "longer than 256 characters"),
    ];
    for (service, needle) in &cases {
        let stderr = refused_before_any_network(&h, &["--service", service], needle).await;
        assert!(
            !stderr.contains('\u{1b}') && !stderr.contains('\r'),
            "the control character is echoed raw: {stderr:?}"
        );
        assert!(!stderr.contains("\n##vso["), "{stderr:?}");
    }
    let stderr = refused_before_any_network(
        &h,
        &[
            "--service",
            &format!("oai=openai@{ep}"),
            "--principal",
            "5d3b1a2c-0000-4000-8000-000000000001\n##vso[x]",
        ],
        "control character",
    )
    .await;
    assert!(!stderr.contains("\n##vso["), "{stderr:?}");
    refused_before_any_network(
        &h,
        &[
            "--service",
            &format!("oai=openai@{ep}"),
            "--principal",
            "<object-id>",
        ],
        "placeholder",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_config_file_is_held_to_the_same_rules() {
    let h = common::Harness::start(SCENARIO).await;
    let path = h.dir.path().join("bad.toml");
    let p = path.to_str().unwrap();
    let service = |extra: &str| {
        format!(
            "[[service]]\nname = \"oai\"\nkind = \"openai\"\nendpoint = \"https://bad-oai.openai.azure.com/\"\n{extra}\n"
        )
    };
    for (text, needle) in [
        (
            "[[service]]\nname = \"oai\"\nkind = \"openai\"\nendpoint = \"https://bad-oai.openai.azure.com/openai/deployments/x\"\n".to_string(),
            "has a path",
        ),
        (
            "[[service]]\nname = \"oai\"\nkind = \"openai\"\nendpoint = \"https://u:hunter2pw@bad-oai.openai.azure.com/\"\n".to_string(),
            "credentials do not belong in the URL",
        ),
        (service("region = \"west\\r\\neurope\""), "control character"),
        (service("index = \"a\\u0007\""), "control character"),
        (
            service("resource_id = \"/subscriptions/…/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/contoso-openai\""),
            "placeholder",
        ),
        (format!("[[service]]\nname = \"{}\"\nkind = \"openai\"\nendpoint = \"https://bad-oai.openai.azure.com/\"\n", "n".repeat(300)), "longer than 256"),
        (format!("principals = [\"<object-id>\"]\n{}", service("")), "placeholder"),
    ] {
        std::fs::write(&path, &text).unwrap();
        let stderr = refused_before_any_network(&h, &["--config", p], needle).await;
        assert!(!stderr.contains("hunter2pw"), "{stderr}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_output_file_that_cannot_be_written_stops_the_run_before_it_starts() {
    let h = common::Harness::start(SCENARIO).await;
    let service = "oai=openai@https://bad-oai.openai.azure.com/";
    let dir = h.dir.path().to_path_buf();
    let missing_dir = dir.join("no-such-folder").join("r.xml");
    let folder = dir.clone();
    for args in [
        vec![
            "--service".to_string(),
            service.into(),
            "--output".into(),
            format!("junit={}", missing_dir.display()),
        ],
        vec![
            "--service".to_string(),
            service.into(),
            "--output-file".into(),
            folder.display().to_string(),
        ],
    ] {
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        refused_before_any_network(&h, &refs, "cannot be written").await;
    }
    // The check leaves nothing behind, and a writable path is written after the run.
    let fresh = dir.join("fresh.xml");
    let out = h
        .run(&[
            "run",
            "--credential",
            "environment",
            "--service",
            service,
            "--output",
            "table",
            "--output",
            &format!("junit={}", fresh.display()),
            "--service",
            "bad=openai@https://bad-oai.openai.azure.com/x",
        ])
        .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(!fresh.exists(), "a refused run leaves no empty file behind");
    let out = h
        .run(&[
            "run",
            "--credential",
            "environment",
            "--service",
            service,
            "--output",
            "table",
            "--output",
            &format!("junit={}", fresh.display()),
        ])
        .await;
    assert_ne!(out.code, 2, "{}", out.stderr);
    assert!(
        std::fs::read_to_string(&fresh)
            .unwrap()
            .contains("<testsuite")
    );
}

#[tokio::test]
async fn an_expect_deny_for_a_source_that_will_not_run_is_refused() {
    // docs/configuration.md's own example once did this: the least-privilege check vanished.
    expect_usage_error(
        &[
            "run",
            "--service",
            "oai-prod=openai@https://a.openai.azure.com",
            "--credential",
            "managed-identity,azure-cli",
            "--expect-deny",
            "github-actions:oai-prod",
        ],
        "the credential source github-actions is not selected",
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("c.toml");
    std::fs::write(
        &file,
        "credentials = [\"azure-cli\"]\n[[service]]\nname = \"oai\"\nkind = \"openai\"\nendpoint = \"https://a.openai.azure.com/\"\nexpect_deny = [\"environment\"]\n",
    )
    .unwrap();
    expect_usage_error(
        &["run", "--config", file.to_str().unwrap()],
        "expect-deny environment:oai",
    )
    .await;
}
