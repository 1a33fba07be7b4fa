//! Issue 13 item 6: what a support engineer triaging a 401 sees, through the real binary and the
//! emulator: readable expiry, a clear `--scope` mistake, `decode` at a terminal, `--verbose`
//! exchanges, and a DefaultAzureCredential pick only when it is known.

mod common;
use common::Harness;

const SECRET: &str = "support-secret-value-1";

fn scenario(machine: &str) -> String {
    format!(
        r#"
[tenant]
id = "0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11"
subscription = "5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f"

[[account]]
name = "oai"
kind = "OpenAI"
custom_subdomain = "contoso-oai"

[[identity]]
name = "sp"
type = "service_principal"
secret = "{SECRET}"

[[identity]]
name = "alice"
type = "user"
upn = "alice@contoso.com"

[[role_assignment]]
principal = "sp"
role = "Cognitive Services OpenAI User"
scope = "subscription"

[machine]
{machine}
"#
    )
}

/// Run the binary with the emulator's environment plus `extra`.
async fn run_with(h: &Harness, args: &[&str], extra: &[(&str, &str)]) -> common::RunOutput {
    tokio::process::Command::new(common::bin())
        .args(args)
        .env_clear()
        .envs(h.emulator.env())
        .envs(extra.iter().copied())
        .output()
        .await
        .expect("run entraprobe")
        .into()
}

#[tokio::test(flavor = "multi_thread")]
async fn token_shows_expiry_in_local_time_with_minutes_left() {
    let h = Harness::start(&scenario("environment = \"sp\"")).await;
    // A fixed zone three hours east of UTC (POSIX TZ signs are inverted).
    let tz = [("TZ", "XYZ-3")];
    let out = run_with(&h, &["token", "--credential", "environment"], &tz).await;
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let expires = out
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("expires:"))
        .unwrap_or_else(|| panic!("no expires line:\n{}", out.stdout));
    assert!(
        expires.contains("+03:00 (in 59 min)") || expires.contains("+03:00 (in 58 min)"),
        "{expires}"
    );
    let exp = out
        .stdout
        .lines()
        .find(|l| l.trim_start().starts_with("exp "))
        .unwrap();
    assert!(exp.contains("+03:00 (in "), "exp is shown as a time: {exp}");
    assert!(
        !exp.trim_end().ends_with(|c: char| c.is_ascii_digit()),
        "no raw epoch: {exp}"
    );

    // JSON keeps the epochs and adds the readable form.
    let out = run_with(&h, &["token", "--credential", "environment", "--json"], &tz).await;
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert!(v["claims"]["exp"].is_i64(), "{v:#}");
    assert!(
        v["expires_on_local"].as_str().unwrap().ends_with("+03:00"),
        "{v:#}"
    );
    assert!((58..=59).contains(&v["expires_in_minutes"].as_i64().unwrap()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_scope_without_default_is_bad_input_naming_the_fix() {
    let out = common::entraprobe(&[
        "token",
        "--credential",
        "environment",
        "--scope",
        "https://cognitiveservices.azure.com",
    ])
    .await;
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("--scope https://cognitiveservices.azure.com/.default"),
        "{}",
        out.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn verbose_lists_every_exchange_and_no_secret() {
    let h = Harness::start(&scenario("environment = \"sp\"\nmanaged_identities = []")).await;
    let mut args: Vec<String> = ["-v", "run", "--output", "json", "--timeout", "10s"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.extend(h.service_flags());
    args.extend(["--credential".into(), "environment,managed-identity".into()]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = h.run(&refs).await;
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("http: "))
        .collect();
    let has = |needle: &str| lines.iter().any(|l| l.contains(needle));
    assert!(
        has(
            "http: POST login.microsoftonline.com/0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11/oauth2/v2.0/token → 200 request-id "
        ),
        "{}",
        out.stderr
    );
    assert!(
        has("http: GET management.azure.com/subscriptions/") && has("api-version=2022-04-01"),
        "{}",
        out.stderr
    );
    assert!(
        has("http: GET contoso-oai.openai.azure.com/openai/models?api-version=") && has(" → 200 "),
        "{}",
        out.stderr
    );
    assert!(
        has("169.254.169.254/metadata/identity/oauth2/token"),
        "{}",
        out.stderr
    );
    assert!(lines.iter().all(|l| l.ends_with(" ms")), "{}", out.stderr);
    // No query value but api-version, no token, no secret.
    assert!(has("$filter=…"), "{}", out.stderr);
    for leak in [SECRET, "eyJ", "Bearer", "client_secret"] {
        assert!(!out.stderr.contains(leak), "{leak} in:\n{}", out.stderr);
    }

    // `token -v` too; without -v nothing is listed.
    let out = h
        .run(&["token", "--credential", "environment", "--verbose"])
        .await;
    assert!(out.stderr.contains("http: POST login.microsoftonline.com"));
    let out = h.run(&["token", "--credential", "environment"]).await;
    assert!(!out.stderr.contains("http: "), "{}", out.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn default_credential_is_named_only_when_that_source_got_a_token() {
    // az is on PATH (the emulator's fake) but nobody is logged in.
    let h = Harness::start(&scenario("")).await;
    let mut args = vec!["--credential", "azure-cli"];
    let (report, out) = h.matrix(&args).await;
    assert!(report["default_credential"].is_null(), "{report:#}");
    let mut table: Vec<String> = vec!["run".into(), "--output".into(), "table".into()];
    table.extend(h.service_flags());
    table.extend(args.iter().map(|s| s.to_string()));
    let refs: Vec<&str> = table.iter().map(String::as_str).collect();
    let shown = h.run(&refs).await;
    assert!(!shown.stdout.contains("would pick"), "{}", shown.stdout);
    drop(out);

    // Logged in, and every source before it in the chain unavailable: named.
    let h = Harness::start(&scenario(
        "azure_cli_user = \"alice\"\nmanaged_identities = []",
    ))
    .await;
    args.clear();
    let (report, out) = h.matrix(&args).await;
    assert_eq!(report["default_credential"], "azure-cli", "{}", out.stderr);
}

/// `decode` with no argument at a terminal prompts and reads one line; a pipe still reads to the
/// end. The terminal is a real pseudo-terminal.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread")]
async fn decode_prompts_at_a_terminal_and_reads_one_line() {
    use std::io::Write;
    use std::os::fd::FromRawFd;
    // A token made for the test: claims only, no signature is checked.
    let b64 = |s: &str| {
        use base64::Engine;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    };
    let token = format!(
        "{}.{}.c2ln",
        b64(r#"{"alg":"RS256","typ":"JWT"}"#),
        b64(
            r#"{"aud":"https://cognitiveservices.azure.com","tid":"t1","oid":"o1","exp":4102444800,"iat":4102441200}"#
        )
    );
    // SAFETY: plain libc calls on descriptors this test owns.
    let (master, slave_path) = unsafe {
        let master = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY);
        assert!(master >= 0);
        assert_eq!(libc::grantpt(master), 0);
        assert_eq!(libc::unlockpt(master), 0);
        let mut name = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(master, name.as_mut_ptr(), name.len()), 0);
        let path = std::ffi::CStr::from_ptr(name.as_ptr())
            .to_string_lossy()
            .into_owned();
        (master, path)
    };
    let slave = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(&slave_path)
        .unwrap();
    let child = std::process::Command::new(common::bin())
        .arg("decode")
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("TZ", "UTC0")
        .stdin(slave)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // SAFETY: `master` is ours; the File closes it when dropped.
    let mut master = unsafe { std::fs::File::from_raw_fd(master) };
    // The line, and no end-of-file: the terminal stays open while decode reads.
    master.write_all(format!("{token}\n").as_bytes()).unwrap();
    let out = tokio::time::timeout(
        std::time::Duration::from_secs(20),
        tokio::task::spawn_blocking(move || child.wait_with_output()),
    )
    .await
    .expect("decode read one line and ended")
    .unwrap()
    .unwrap();
    drop(master);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("paste a token, then Enter"), "{stderr}");
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("2100-01-01 00:00:00 +00:00"), "{stdout}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_sources_fix_is_said_once_per_row() {
    let text = scenario("environment = \"sp\"\nenvironment_auth = \"wrong-secret\"")
        + "\n[[account]]\nname = \"vis\"\nkind = \"ComputerVision\"\ncustom_subdomain = \"contoso-vis\"\n";
    let h = Harness::start(&text).await;
    let mut args: Vec<String> = vec!["run".into(), "--output".into(), "table".into()];
    args.extend(h.service_flags());
    args.extend(["--credential".into(), "environment".into()]);
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = h.run(&refs).await;
    let findings = out.stdout.split("\nFindings (").nth(1).unwrap_or_default();
    let findings = findings
        .split("About the resources")
        .next()
        .unwrap()
        .split("Credential sources without a token")
        .next()
        .unwrap();
    assert_eq!(
        findings.matches("[invalid-client-secret]").count(),
        1,
        "{}",
        out.stdout
    );
    assert_eq!(findings.matches("fix: ").count(), 1, "{}", out.stdout);
    assert!(
        findings.contains("environment → oai, vis: not as expected"),
        "{}",
        out.stdout
    );
}
