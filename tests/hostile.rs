//! The hostile-server suite (issue 9, item 10): the real `entraprobe run` binary against the
//! embedded emulator with a hostile HTTPS proxy in between (tests/common/hostile.rs), one case
//! per way a server, a proxy or the network can turn against the tool, on each surface: Entra
//! ID's token endpoint, IMDS, the App Service identity endpoint, ARM and the data planes.
//!
//! Every case runs the binary once with all six output formats at once (table on stdout; json,
//! junit, markdown, github and azdo to files) and asserts, over stdout, stderr and every file:
//! - no token or secret, in any encoding (raw, URL/form-encoded, JSON-escaped, base64, a JWT's
//!   payload or signature alone), and nothing JWT-shaped or a private key;
//! - no control character but newline and tab, no bidi override, and no CI command the
//!   injected text carried (`##vso[` anywhere, `::cmd::`/`##[` at a line start);
//! - the binary's peak RSS (VmHWM, sampled from /proc while it runs) under 200 MB;
//! - completion within the run deadline (10 × `--timeout`) plus a generous margin;
//! - the right verdict class for the cells the case attacks, with a named finding;
//! - no bearer token to a foreign host, and no redirect followed.
//!
//! Figures (case, peak RSS, wall time, deadline, leaks) are appended to
//! `$CARGO_TARGET_TMPDIR/hostile-figures.jsonl`; docs/security.md quotes them.
//!
//! `ENTRAPROBE_HOSTILE_BIG=1 cargo test --test hostile` runs the long variant: 2 GiB bodies
//! instead of 50 MiB and `--timeout 10s` instead of 2s.

mod common;
#[path = "common/hostile.rs"]
mod hostile;

use base64::Engine;
use common::Harness;
use hostile::{Action, HostileProxy, Target};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

/// Azure-generated client secrets carry `~`, which URL-encoding turns into `%7E`.
const CLIENT_SECRET: &str = "Zq48Q~Hk.hostile_Secret-9xYzAbCdEfGhIj";

const FORMATS: &[&str] = &["table", "json", "junit", "markdown", "github", "azdo"];

const PEAK_RSS_LIMIT_KB: u64 = 200 * 1024;

fn big() -> bool {
    std::env::var_os("ENTRAPROBE_HOSTILE_BIG").is_some_and(|v| !v.is_empty() && v != "0")
}

fn timeout() -> Duration {
    if big() {
        Duration::from_secs(10)
    } else {
        Duration::from_secs(2)
    }
}

fn huge_bytes() -> u64 {
    if big() { 2 << 30 } else { 50 << 20 }
}

/// A VM-like machine: a service principal in the environment, a managed identity on IMDS.
/// `ci-app` holds data roles on both services; `vm-mi` holds none.
const IMDS_MACHINE: &str = r#"
[[identity]]
name = "ci-app"
type = "service_principal"
secret = "Zq48Q~Hk.hostile_Secret-9xYzAbCdEfGhIj"

[[identity]]
name = "vm-mi"
type = "managed_identity"

[[account]]
name = "oai"
kind = "OpenAI"
custom_subdomain = "hostile-oai"

[[search_service]]
name = "srch"
auth = "aadOrApiKey"

[[role_assignment]]
principal = "ci-app"
role = "Cognitive Services OpenAI User"
scope = "account:oai"

[[role_assignment]]
principal = "ci-app"
role = "Search Service Contributor"
scope = "search:srch"

[machine]
environment = "ci-app"
managed_identities = ["vm-mi"]
"#;

/// An App Service-like machine: the identity endpoint and its secret header; `web-mi` holds
/// a data role on the OpenAI account.
const APP_SERVICE_MACHINE: &str = r#"
[[identity]]
name = "web-mi"
type = "managed_identity"

[[account]]
name = "oai"
kind = "OpenAI"
custom_subdomain = "hostile-web-oai"

[[role_assignment]]
principal = "web-mi"
role = "Cognitive Services OpenAI User"
scope = "account:oai"

[machine]
app_service_identity = "web-mi"
"#;

/// What a case expects of the report.
struct Expect {
    /// (credential, service or "*", allowed verdicts). Cells not listed are not constrained
    /// beyond the universal checks.
    cells: Vec<(&'static str, &'static str, &'static [&'static str])>,
    /// Allowed exit codes.
    exit: &'static [i32],
    /// Credential rows and their allowed statuses.
    credentials: Vec<(&'static str, &'static [&'static str])>,
    /// Redirect cases: no request at all may reach the foreign host.
    nothing_to_foreign_host: bool,
    /// Codes the attacked cells' first finding must not be (e.g. `timeout` for an IMDS 500).
    not_first_code: &'static [&'static str],
}

const NOT_PASS: &[&str] = &["fail", "inconclusive"];
const INCONCLUSIVE: &[&str] = &["inconclusive"];
const NOT_PASS_EXIT: &[i32] = &[1, 3];
const ANY_VERDICT_EXIT: &[i32] = &[0, 1, 3];

impl Expect {
    fn cells(cells: Vec<(&'static str, &'static str, &'static [&'static str])>) -> Expect {
        Expect {
            cells,
            exit: NOT_PASS_EXIT,
            credentials: Vec::new(),
            nothing_to_foreign_host: false,
            not_first_code: &[],
        }
    }
    fn exit(mut self, exit: &'static [i32]) -> Expect {
        self.exit = exit;
        self
    }
    fn credential(mut self, id: &'static str, statuses: &'static [&'static str]) -> Expect {
        self.credentials.push((id, statuses));
        self
    }
    fn no_redirect_followed(mut self) -> Expect {
        self.nothing_to_foreign_host = true;
        self
    }
    fn first_code_is_not(mut self, codes: &'static [&'static str]) -> Expect {
        self.not_first_code = codes;
        self
    }
}

/// What one run of the binary left behind.
struct Run {
    code: i32,
    /// (name, text): stdout (table), stderr, and each format's file.
    outputs: Vec<(String, String)>,
    report: Option<Value>,
    peak_rss_kb: u64,
    elapsed: Duration,
}

/// Run `entraprobe run` with every output format, sampling its peak RSS.
async fn run_binary(env: &[(String, String)], args: &[String], dir: &Path) -> Run {
    let mut full: Vec<String> = vec!["run".into(), "--output".into(), "table".into()];
    for format in &FORMATS[1..] {
        full.push("--output".into());
        full.push(format!(
            "{format}={}",
            dir.join(format!("out.{format}")).display()
        ));
    }
    full.extend(args.iter().cloned());
    let started = Instant::now();
    let child = tokio::process::Command::new(common::bin())
        .args(&full)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn entraprobe");
    let pid = child.id().expect("pid");
    let (stop_tx, mut stop_rx) = tokio::sync::watch::channel(false);
    let sampler = tokio::spawn(async move {
        let mut peak = 0u64;
        loop {
            if let Some(kb) = vm_hwm_kb(pid) {
                peak = peak.max(kb);
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(5)) => {}
                _ = stop_rx.wait_for(|s| *s) => break,
            }
        }
        peak
    });
    // A hard stop far beyond any deadline, so a hung binary fails the case instead of the suite.
    let hard_stop = timeout() * 10 + Duration::from_secs(60);
    let output = tokio::time::timeout(hard_stop, child.wait_with_output()).await;
    let elapsed = started.elapsed();
    let _ = stop_tx.send(true);
    let peak_rss_kb = sampler.await.unwrap_or(0);
    let output = match output {
        Ok(o) => o.expect("wait for entraprobe"),
        Err(_) => panic!("entraprobe still ran after {hard_stop:?}: killed"),
    };
    let mut outputs = vec![
        ("stdout (table)".to_string(), lossy(&output.stdout)),
        ("stderr".to_string(), lossy(&output.stderr)),
    ];
    for format in &FORMATS[1..] {
        let path = dir.join(format!("out.{format}"));
        if let Ok(bytes) = std::fs::read(&path) {
            outputs.push((format!("{format} file"), lossy(&bytes)));
        }
    }
    let report = std::fs::read(dir.join("out.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok());
    Run {
        code: output.status.code().unwrap_or(-1),
        outputs,
        report,
        peak_rss_kb,
        elapsed,
    }
}

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// VmHWM (peak resident set) of a running process, in KiB.
fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// A case: one scenario, the proxy's rules, what the report must show.
struct Case {
    name: String,
    scenario: &'static str,
    credentials: &'static str,
    rules: Vec<(Target, Action)>,
    expect: Expect,
}

async fn run_case(case: Case) {
    run_cases(vec![case]).await;
}

/// Run each case in turn; fail with every case's problems at once.
async fn run_cases(cases: Vec<Case>) {
    let mut failures = Vec::new();
    for case in cases {
        failures.extend(check_case(case).await);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Run one case; its failure report, if any.
async fn check_case(case: Case) -> Option<String> {
    let harness = Harness::start(case.scenario).await;
    let dir = tempfile::tempdir().unwrap();
    let proxy = HostileProxy::start(
        harness.emulator.port(),
        harness.emulator.ca_file(),
        dir.path(),
        case.rules,
    )
    .await;
    let emulator_env = harness.emulator.env();
    for (k, v) in &emulator_env {
        if [
            "AZURE_CLIENT_SECRET",
            "IDENTITY_HEADER",
            "SYSTEM_ACCESSTOKEN",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
        ]
        .contains(&k.as_str())
        {
            proxy.add_secret(v);
        }
    }
    proxy.add_secret(CLIENT_SECRET);
    let env = proxy.environment(&emulator_env);
    let timeout = timeout();
    let mut args: Vec<String> = vec![
        "--timeout".into(),
        format!("{}s", timeout.as_secs()),
        "--ca-file".into(),
        proxy.ca_file().display().to_string(),
        "--credential".into(),
        case.credentials.into(),
    ];
    args.extend(harness.service_flags());
    let run = run_binary(&env, &args, dir.path()).await;

    let deadline = timeout * 10;
    let mut problems = Vec::new();
    let secrets = proxy.secrets();
    let mut leaks = 0;
    for (name, text) in &run.outputs {
        for leak in leaks_in(text, &secrets) {
            leaks += 1;
            problems.push(format!("{name}: leaks {leak}"));
        }
        for bad in unsafe_text(text, name.starts_with("github") || name.starts_with("azdo")) {
            problems.push(format!("{name}: {bad}"));
        }
    }
    if run.peak_rss_kb > PEAK_RSS_LIMIT_KB {
        problems.push(format!(
            "peak RSS {} MiB over the 200 MiB bound",
            run.peak_rss_kb / 1024
        ));
    }
    if run.peak_rss_kb == 0 {
        problems.push("peak RSS could not be sampled".into());
    }
    if run.elapsed > deadline + Duration::from_secs(10) {
        problems.push(format!(
            "took {:.1}s, past the run deadline of {}s (+10s margin)",
            run.elapsed.as_secs_f64(),
            deadline.as_secs()
        ));
    }
    for f in proxy.foreign_requests() {
        if f.had_authorization {
            problems.push(format!(
                "an Authorization header went to the foreign host {}{}",
                f.host, f.target
            ));
        } else if case.expect.nothing_to_foreign_host {
            problems.push(format!("a redirect was followed to {}{}", f.host, f.target));
        }
    }
    if proxy.mangled().is_empty() {
        problems.push("the hostile rule never fired: the case tested nothing".into());
    }
    problems.extend(verdict_problems(&run, &case.expect));
    // Whether the server's own text reached an output at all (redacted or escaped): a case
    // whose text never shows proves less about redaction and escaping than one whose does.
    let text_shown = run
        .outputs
        .iter()
        .any(|(_, t)| t.contains("request received") || t.contains("HOSTILE"));
    record_figures(
        &case.name,
        &run,
        deadline,
        leaks,
        problems.len(),
        text_shown,
    );
    eprintln!(
        "case {}: exit {}, server text shown {}, peak RSS {} MiB, {:.1}s of {}s, {} secrets checked, mangled {:?}",
        case.name,
        run.code,
        text_shown,
        run.peak_rss_kb / 1024,
        run.elapsed.as_secs_f64(),
        deadline.as_secs(),
        secrets.len(),
        proxy.mangled().into_iter().take(3).collect::<Vec<_>>()
    );
    // `ENTRAPROBE_HOSTILE_DUMP=1`: every output of every case, escaped, to see what the tool
    // made of the server's text.
    if std::env::var_os("ENTRAPROBE_HOSTILE_DUMP").is_some() {
        for (name, text) in &run.outputs {
            eprintln!("--- {} / {name} ---\n{}", case.name, text.escape_debug());
        }
    }
    if problems.is_empty() {
        return None;
    }
    let table = run
        .outputs
        .first()
        .map(|(_, t)| t.chars().take(6000).collect::<String>())
        .unwrap_or_default();
    let stderr = run
        .outputs
        .get(1)
        .map(|(_, t)| t.chars().take(3000).collect::<String>())
        .unwrap_or_default();
    Some(format!(
        "case {} failed:\n  - {}\n--- table (stdout, escaped) ---\n{}\n--- stderr (escaped) ---\n{}",
        case.name,
        problems.join("\n  - "),
        table.escape_debug(),
        stderr.escape_debug()
    ))
}

/// The report's verdicts against the case's expectations.
fn verdict_problems(run: &Run, expect: &Expect) -> Vec<String> {
    let mut problems = Vec::new();
    if !expect.exit.contains(&run.code) {
        problems.push(format!(
            "exit code {} (expected one of {:?})",
            run.code, expect.exit
        ));
    }
    let Some(report) = &run.report else {
        problems.push("no JSON report was written".into());
        return problems;
    };
    let cells = report["cells"].as_array().cloned().unwrap_or_default();
    for (credential, service, allowed) in &expect.cells {
        let matching: Vec<&Value> = cells
            .iter()
            .filter(|c| {
                c["credential"] == *credential && (*service == "*" || c["service"] == *service)
            })
            .collect();
        if matching.is_empty() {
            problems.push(format!("no cell {credential} × {service}"));
        }
        for c in matching {
            let verdict = c["verdict"].as_str().unwrap_or("?");
            let name = format!("{} × {}", c["credential"], c["service"]);
            if !allowed.contains(&verdict) {
                problems.push(format!(
                    "cell {name} is `{verdict}` (expected {allowed:?}); findings: {}",
                    c["findings"]
                ));
            }
            if verdict == "fail" || verdict == "inconclusive" {
                problems.extend(named_finding_problems(&name, c));
                let first = c["findings"][0]["code"].as_str().unwrap_or_default();
                if expect.not_first_code.contains(&first) {
                    problems.push(format!(
                        "cell {name}: first finding `{first}` names the wrong cause"
                    ));
                }
            }
        }
    }
    for (id, allowed) in &expect.credentials {
        let status = report["credentials"]
            .as_array()
            .and_then(|a| a.iter().find(|c| c["id"] == *id))
            .and_then(|c| c["status"].as_str())
            .unwrap_or("missing");
        if !allowed.contains(&status) {
            problems.push(format!(
                "credential {id} is `{status}` (expected {allowed:?})"
            ));
        }
    }
    problems
}

/// A verdict that is not a pass says why: a finding with a code and a message that says
/// something (not just the source's name and a colon).
fn named_finding_problems(name: &str, cell: &Value) -> Vec<String> {
    let Some(first) = cell["findings"].as_array().and_then(|f| f.first()) else {
        return vec![format!("cell {name} has no finding")];
    };
    let code = first["code"].as_str().unwrap_or_default();
    let message = first["message"].as_str().unwrap_or_default().trim();
    let mut problems = Vec::new();
    if code.is_empty() {
        problems.push(format!("cell {name}: its finding has no code"));
    }
    if message.len() < 12 || message.ends_with(':') {
        problems.push(format!(
            "cell {name}: finding `{code}` has an empty message `{message}`"
        ));
    }
    problems
}

fn record_figures(
    case: &str,
    run: &Run,
    deadline: Duration,
    leaks: usize,
    problems: usize,
    text_shown: bool,
) {
    use std::io::Write;
    let line = serde_json::json!({
        "case": case,
        "big": big(),
        "exit": run.code,
        "peak_rss_kb": run.peak_rss_kb,
        "elapsed_ms": run.elapsed.as_millis() as u64,
        "deadline_ms": deadline.as_millis() as u64,
        "leaks": leaks,
        "problems": problems,
        "server_text_shown": text_shown,
    });
    let path = Path::new(env!("CARGO_TARGET_TMPDIR")).join("hostile-figures.jsonl");
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(f, "{line}");
    }
}

// ---------------------------------------------------------------------------------------------
// What counts as a leak, and as unsafe text.

/// A fragment this long of a secret in an output is a leak: a message cut short still
/// carries a usable part of a token's claims or signature.
const FRAGMENT: usize = 32;

/// Every way `text` may carry one of `secrets`, whole or a [`FRAGMENT`] of it: as is,
/// percent-decoded, JSON-unescaped, base64-decoded, or split by layout; and anything
/// JWT-shaped or a private key.
fn leaks_in(text: &str, secrets: &[String]) -> Vec<String> {
    let views = [
        ("as printed", text.to_string()),
        ("percent-decoded", percent_decoded(text)),
        ("JSON-unescaped", json_unescaped(text)),
        // Text a renderer quoted once more (`\\u007e`) is as readable to a person.
        (
            "JSON-unescaped twice",
            json_unescaped(&json_unescaped(text)),
        ),
        ("base64-decoded", base64_decoded(text)),
        ("with layout removed", squeezed(text)),
    ];
    let windows: Vec<std::collections::HashSet<&[u8]>> = views
        .iter()
        .map(|(_, v)| v.as_bytes().windows(FRAGMENT).collect())
        .collect();
    let mut found = Vec::new();
    for secret in secrets {
        let parts: Vec<&str> = secret.split('.').collect();
        // A JWT's header is the same in every token and says nothing; its payload and
        // signature are what must never show.
        let needles: Vec<(&str, &str)> = if parts.len() == 3 && parts[0].starts_with("eyJ") {
            vec![("JWT payload", parts[1]), ("JWT signature", parts[2])]
        } else {
            vec![("secret", secret.as_str())]
        };
        for (kind, needle) in needles {
            let seen = views.iter().zip(&windows).find(|((_, view), set)| {
                if needle.len() <= FRAGMENT {
                    view.contains(needle)
                } else {
                    needle.as_bytes().windows(FRAGMENT).any(|w| set.contains(w))
                }
            });
            if let Some(((view, _), _)) = seen {
                found.push(format!(
                    "a {kind} `{}…` ({view})",
                    needle.chars().take(8).collect::<String>()
                ));
            }
        }
    }
    if text.contains("PRIVATE KEY") {
        found.push("a private key".into());
    }
    if let Some(jwt) = jwt_shaped(text) {
        found.push(format!(
            "a JWT-shaped string `{}…`",
            &jwt[..jwt.len().min(12)]
        ));
    }
    found
}

fn percent_decoded(text: &str) -> String {
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

fn json_unescaped(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('\\') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        if let Some(c) = after
            .strip_prefix('u')
            .and_then(|h| h.get(..4))
            .and_then(|hex| u32::from_str_radix(hex, 16).ok())
            .and_then(char::from_u32)
        {
            out.push(c);
            rest = &after[5..];
            continue;
        }
        if let Some(next) = after.chars().next() {
            out.push(next);
            rest = &after[next.len_utf8()..];
        } else {
            rest = after;
        }
    }
    out.push_str(rest);
    out
}

/// Every run of base64 (either alphabet) decoded, one per line.
fn base64_decoded(text: &str) -> String {
    use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
    let mut out = String::new();
    let is_b64 = |c: char| c.is_ascii_alphanumeric() || "+/-_".contains(c);
    for run in text.split(|c: char| !is_b64(c)).filter(|r| r.len() >= 12) {
        for engine in [&STANDARD_NO_PAD, &URL_SAFE_NO_PAD] {
            // A run may be cut anywhere: try the lengths base64 allows.
            for cut in 0..3 {
                let Some(candidate) = run.get(..run.len() - cut) else {
                    continue;
                };
                if let Ok(bytes) = engine.decode(candidate) {
                    out.push_str(&String::from_utf8_lossy(&bytes));
                    out.push('\n');
                    break;
                }
            }
        }
    }
    out
}

/// Only the characters tokens and secrets are made of: a secret broken across lines or cells
/// is whole again.
fn squeezed(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_alphanumeric() || "._~-".contains(*c))
        .collect()
}

fn jwt_shaped(text: &str) -> Option<String> {
    for (i, _) in text.match_indices("eyJ") {
        let rest = &text[i..];
        let seg = |s: &str| {
            s.find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .unwrap_or(s.len())
        };
        let first = seg(rest);
        if first < 10 || !rest[first..].starts_with('.') {
            continue;
        }
        let second = &rest[first + 1..];
        if second.starts_with("eyJ") && seg(second) >= 10 {
            return Some(rest[..first + 1 + seg(second)].to_string());
        }
    }
    None
}

/// Text that must never reach a terminal or a CI log: control characters other than newline
/// and tab, bidi controls, and CI commands from outside. `ci_format` marks the github and
/// azdo outputs, whose own commands are allowed at a line start.
fn unsafe_text(text: &str, ci_format: bool) -> Vec<String> {
    let mut found = Vec::new();
    if let Some(c) = text.chars().find(|c| {
        (c.is_control() && *c != '\n' && *c != '\t')
            || matches!(*c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    }) {
        found.push(format!("a control character {:?}", c));
    }
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim_start();
        let own_command = ci_format
            && (trimmed.starts_with("##vso[task.logissue ")
                || trimmed.starts_with("##vso[task.complete result=")
                || trimmed.starts_with("::error ")
                || trimmed.starts_with("::warning ")
                || trimmed.starts_with("::notice ")
                || trimmed.starts_with("::error::")
                || trimmed.starts_with("::warning::")
                || trimmed.starts_with("::notice::"));
        // The Azure Pipelines agent acts on `##vso[` anywhere in a line.
        let vso = line.matches("##vso[").count();
        let allowed_vso = usize::from(own_command && trimmed.starts_with("##vso["));
        if vso > allowed_vso {
            found.push(format!(
                "line {}: a `##vso[` command from outside: {}",
                n + 1,
                line.escape_debug()
            ));
        }
        if ci_format && trimmed.starts_with("##vso[task.complete") && line.contains("HOSTILE") {
            found.push(format!(
                "line {}: injected text in task.complete: {}",
                n + 1,
                line.escape_debug()
            ));
        }
        if (trimmed.starts_with("::") && !own_command) || trimmed.starts_with("##[") {
            found.push(format!(
                "line {}: a workflow command at a line start: {}",
                n + 1,
                line.escape_debug()
            ));
        }
        if own_command
            && trimmed.starts_with("::")
            && trimmed
                .split("::")
                .nth(1)
                .is_some_and(|c| c.contains("HOSTILE"))
        {
            found.push(format!(
                "line {}: injected text in a command's properties: {}",
                n + 1,
                line.escape_debug()
            ));
        }
    }
    found
}

// ---------------------------------------------------------------------------------------------
// The cases. `environment` is the service principal (client secret), `managed-identity` the VM
// identity on IMDS (no role) or the App Service identity (a data role on `oai`).

const ENV_AND_MI: &str = "environment,managed-identity";

/// How a client secret or secret header is echoed back, one case each.
const SECRET_ENCODINGS: &[&str] = &[
    "raw",
    "url-encoded",
    "form-encoded",
    "json-escaped",
    "base64",
];

/// How a bearer token is echoed back, one case each.
const TOKEN_ENCODINGS: &[&str] = &[
    "raw",
    "url-encoded",
    "json-escaped",
    "base64url",
    "jwt payload",
    "jwt signature",
    "jwt payload.signature",
];

/// Where a case strikes: the prefix of its cases' names, the machine whose credentials reach
/// the surface, and the requests the proxy turns on.
#[derive(Clone, Copy)]
struct Surface {
    name: &'static str,
    scenario: &'static str,
    target: Target,
}

const ENTRA: Surface = Surface {
    name: "entra",
    scenario: IMDS_MACHINE,
    target: Target::EntraToken,
};

const IMDS: Surface = Surface {
    name: "imds",
    scenario: IMDS_MACHINE,
    target: Target::Imds,
};

const APP_SERVICE: Surface = Surface {
    name: "app-service",
    scenario: APP_SERVICE_MACHINE,
    target: Target::AppService,
};

const ARM: Surface = Surface {
    name: "arm",
    scenario: IMDS_MACHINE,
    target: Target::Arm,
};

const DATA_PLANE: Surface = Surface {
    name: "dataplane",
    scenario: IMDS_MACHINE,
    target: Target::DataPlane,
};

impl Surface {
    /// The case `{surface}-{attack}`: the proxy answers the surface's requests with `action`.
    fn case(self, attack: &str, action: Action, expect: Expect) -> Case {
        Case {
            name: format!("{}-{attack}", self.name),
            scenario: self.scenario,
            credentials: ENV_AND_MI,
            rules: vec![(self.target, action)],
            expect,
        }
    }

    /// Run that one case.
    async fn attack(self, attack: &str, action: Action, expect: Expect) {
        run_case(self.case(attack, action, expect)).await;
    }

    /// One case per encoding: an error answer with `status` that echoes the request back in it.
    async fn echo_each(self, encodings: &[&'static str], status: u16, expect: fn() -> Expect) {
        let cases = encodings.iter().map(|&encoding| {
            let attack = format!("echo-{}", encoding.replace(' ', "-"));
            let action = Action::Echo {
                status,
                encoding: Some(encoding),
            };
            self.case(&attack, action, expect())
        });
        run_cases(cases.collect()).await;
    }
}

/// A body of [`huge_bytes`] with `status`.
fn huge(status: u16) -> Action {
    Action::Huge {
        status,
        bytes: huge_bytes(),
    }
}

/// `status`, then a byte every 100 ms.
fn trickle(status: u16) -> Action {
    Action::Trickle {
        status,
        every: Duration::from_millis(100),
    }
}

/// The surface's own error answer with `status`, echoing the request in every encoding at once.
fn echo_all(status: u16) -> Action {
    Action::Echo {
        status,
        encoding: None,
    }
}

/// A 429 with `Retry-After: 1` and the surface's own JSON `body`.
fn throttled(body: &str) -> Action {
    Action::Fixed {
        status: 429,
        headers: vec![
            ("Retry-After".into(), "1".into()),
            ("Content-Type".into(), "application/json".into()),
        ],
        body: body.into(),
    }
}

fn env_not_pass() -> Expect {
    Expect::cells(vec![
        ("environment", "*", NOT_PASS),
        ("managed-identity", "*", NOT_PASS),
    ])
}

/// No pass, and the service principal's credential row says it failed.
fn env_failed() -> Expect {
    env_not_pass().credential("environment", &["failed"])
}

fn env_inconclusive() -> Expect {
    Expect::cells(vec![
        ("environment", "*", INCONCLUSIVE),
        ("managed-identity", "*", NOT_PASS),
    ])
    .exit(&[3, 1])
}

/// The VM identity's cells: no pass, whether its source is skipped or failed.
fn imds_unusable() -> Expect {
    Expect::cells(vec![(
        "managed-identity",
        "*",
        &["fail", "inconclusive", "skip"],
    )])
    .exit(ANY_VERDICT_EXIT)
}

/// The App Service identity's cells: no pass, and its credential row says it failed.
fn app_service_failed() -> Expect {
    Expect::cells(vec![("managed-identity", "*", NOT_PASS)])
        .credential("managed-identity", &["failed"])
}

// --- Entra ID's token endpoint -----------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn entra_token_endpoint_echoes_the_request() {
    ENTRA.echo_each(SECRET_ENCODINGS, 401, env_failed).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn entra_token_endpoint_injects_ci_commands_and_escapes() {
    let inject = Action::Inject { status: 400 };
    ENTRA.attack("inject", inject, env_failed()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn entra_token_endpoint_sends_a_huge_body() {
    ENTRA.attack("huge-body", huge(200), env_failed()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn entra_token_endpoint_sends_an_endless_chunked_body() {
    let endless = Action::Endless { status: 200 };
    ENTRA.attack("endless-body", endless, env_failed()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn entra_token_endpoint_trickles() {
    ENTRA.attack("trickle", trickle(200), env_not_pass()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn entra_token_endpoint_hangs() {
    ENTRA.attack("hang", Action::Hang, env_not_pass()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn entra_token_endpoint_resets_the_connection() {
    ENTRA
        .attack("reset", Action::Reset, env_inconclusive())
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn entra_token_endpoint_throttles() {
    let loop_detected = throttled(
        r#"{"error":"temporarily_unavailable","error_description":"AADSTS50196: The server terminated an operation because it encountered a client request loop."}"#,
    );
    ENTRA.attack("429", loop_detected, env_inconclusive()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn entra_token_endpoint_fails_with_5xx() {
    ENTRA.attack("503", echo_all(503), env_inconclusive()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn entra_token_endpoint_redirects_to_a_foreign_host() {
    let redirect = Action::Redirect { status: 307 };
    let expect = env_failed().no_redirect_followed();
    ENTRA.attack("redirect", redirect, expect).await;
}

// --- IMDS and the App Service identity endpoint -------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn a_firewall_page_at_the_imds_address_is_not_imds() {
    let firewall = Action::Fixed {
        status: 403,
        headers: vec![("Content-Type".into(), "text/html".into())],
        body: "<html><body><h1>Access denied by corporate firewall</h1></body></html>".into(),
    };
    let expect = Expect::cells(vec![("managed-identity", "*", &["skip"])])
        .exit(ANY_VERDICT_EXIT)
        .credential("managed-identity", &["skipped"]);
    IMDS.attack("firewall-403", firewall, expect).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn imds_injects_ci_commands_and_escapes() {
    let inject = Action::Inject { status: 400 };
    IMDS.attack("inject", inject, imds_unusable()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn imds_sends_a_huge_body() {
    IMDS.attack("huge-body", huge(200), imds_unusable()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn imds_sends_an_endless_chunked_body() {
    let endless = Action::Endless { status: 200 };
    IMDS.attack("endless-body", endless, imds_unusable()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn imds_hangs() {
    IMDS.attack("hang", Action::Hang, imds_unusable()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_imds_500_is_named_for_what_it_is() {
    let unavailable = Action::Fixed {
        status: 500,
        headers: vec![("Content-Type".into(), "application/json".into())],
        body: r#"{"error":"unknown_error","error_description":"IMDS is temporarily unavailable"}"#
            .into(),
    };
    let expect = Expect::cells(vec![("managed-identity", "*", INCONCLUSIVE)])
        .exit(&[3, 1])
        .first_code_is_not(&["timeout", "imds-unreachable"]);
    IMDS.attack("500", unavailable, expect).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn app_service_identity_endpoint_echoes_its_secret_header() {
    APP_SERVICE
        .echo_each(SECRET_ENCODINGS, 400, app_service_failed)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn app_service_identity_endpoint_injects_ci_commands_and_escapes() {
    let inject = Action::Inject { status: 400 };
    APP_SERVICE
        .attack("inject", inject, app_service_failed())
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn app_service_identity_endpoint_sends_a_huge_body() {
    APP_SERVICE
        .attack("huge-body", huge(200), app_service_failed())
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn app_service_identity_endpoint_sends_an_endless_body() {
    let endless = Action::Endless { status: 200 };
    APP_SERVICE
        .attack("endless-body", endless, app_service_failed())
        .await;
}

/// Claims are outside text too: a token whose names carry CI commands and escapes, and whose
/// signature is garbage, must neither inject nor pass (the service rejects the signature).
#[tokio::test(flavor = "multi_thread")]
async fn entra_token_endpoint_issues_a_forged_token_with_hostile_claims() {
    let expect = Expect::cells(vec![("environment", "*", NOT_PASS)]);
    ENTRA
        .attack("forged-token", Action::ForgedToken, expect)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn app_service_identity_endpoint_issues_a_forged_token_with_hostile_claims() {
    let expect = Expect::cells(vec![("managed-identity", "*", NOT_PASS)]);
    APP_SERVICE
        .attack("forged-token", Action::ForgedToken, expect)
        .await;
}

// --- ARM ---------------------------------------------------------------------------------------

/// The cells ARM cannot decide: `ci-app` is proven by its data-plane call either way, `vm-mi`
/// is denied by the data plane either way; neither may become a pass through ARM's answer.
fn arm_expect() -> Expect {
    Expect::cells(vec![("managed-identity", "*", NOT_PASS)]).exit(NOT_PASS_EXIT)
}

#[tokio::test(flavor = "multi_thread")]
async fn arm_echoes_the_bearer_token() {
    ARM.echo_each(TOKEN_ENCODINGS, 403, arm_expect).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn arm_injects_ci_commands_and_escapes() {
    let inject = Action::Inject { status: 403 };
    ARM.attack("inject", inject, arm_expect()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn arm_sends_a_huge_listing() {
    ARM.attack("huge-body", huge(200), arm_expect()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn arm_sends_an_endless_listing() {
    let endless = Action::Endless { status: 200 };
    ARM.attack("endless-body", endless, arm_expect()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn arm_hangs() {
    ARM.attack("hang", Action::Hang, arm_expect()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn arm_redirects_to_a_foreign_host() {
    let redirect = Action::Redirect { status: 302 };
    let expect = arm_expect().no_redirect_followed();
    ARM.attack("redirect", redirect, expect).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn arm_next_link_points_at_a_foreign_host() {
    let role_assignment_pages = Surface {
        target: Target::ArmRoleAssignments,
        ..ARM
    };
    role_assignment_pages
        .attack("foreign-nextlink", Action::ForeignNextLink, arm_expect())
        .await;
}

// --- Data planes -------------------------------------------------------------------------------

#[tokio::test(flavor = "multi_thread")]
async fn data_plane_echoes_the_bearer_token() {
    DATA_PLANE
        .echo_each(TOKEN_ENCODINGS, 403, env_not_pass)
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn data_plane_injects_ci_commands_and_escapes() {
    let inject = Action::Inject { status: 403 };
    DATA_PLANE.attack("inject", inject, env_not_pass()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn data_plane_sends_a_huge_error_body() {
    DATA_PLANE
        .attack("huge-body", huge(403), env_not_pass())
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn data_plane_sends_an_endless_body() {
    let endless = Action::Endless { status: 403 };
    DATA_PLANE
        .attack("endless-body", endless, env_not_pass())
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn data_plane_trickles() {
    DATA_PLANE
        .attack("trickle", trickle(403), env_not_pass())
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn data_plane_hangs() {
    DATA_PLANE
        .attack("hang", Action::Hang, env_not_pass())
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn data_plane_reset_is_treated_like_a_5xx() {
    DATA_PLANE
        .attack("reset", Action::Reset, env_inconclusive())
        .await;
}

#[tokio::test(flavor = "multi_thread")]
async fn data_plane_5xx_is_inconclusive() {
    DATA_PLANE
        .attack("503", echo_all(503), env_inconclusive())
        .await;
}

/// A 429 proves only that the token was accepted: `vm-mi` holds no role, so its cells may
/// never pass on a throttled answer; `ci-app` may pass only where RBAC proves the grant.
#[tokio::test(flavor = "multi_thread")]
async fn a_throttled_data_plane_never_proves_access() {
    let rate_limited = throttled(
        r#"{"error":{"code":"429","message":"Requests to the service have exceeded the rate limit. Please retry after 1 second."}}"#,
    );
    let expect = Expect::cells(vec![
        ("environment", "*", &["pass", "inconclusive"]),
        ("managed-identity", "*", INCONCLUSIVE),
    ])
    .exit(&[3]);
    DATA_PLANE.attack("429", rate_limited, expect).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn data_plane_redirects_to_a_foreign_host() {
    let redirect = Action::Redirect { status: 307 };
    let expect = env_not_pass().no_redirect_followed();
    DATA_PLANE.attack("redirect", redirect, expect).await;
}

// --- The harness's own checks: a blind detector would make every case above pass. ----------------

#[test]
fn the_leak_detector_sees_every_encoding_the_proxy_echoes() {
    let jwt = format!(
        "eyJhbGciOiJSUzI1NiJ9.{}.{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(r#"{"oid":"abc","tid":"def"}"#),
        "c2lnbmF0dXJlLXNlZ21lbnQtb2YtdGhlLXRva2Vu"
    );
    let secrets = vec![CLIENT_SECRET.to_string(), jwt.clone()];
    for value in [CLIENT_SECRET, jwt.as_str()] {
        for (encoding, shown) in hostile::encodings(value) {
            let text = format!("│ error: upstream said ({encoding}) {shown}; │");
            assert!(
                !leaks_in(&text, &secrets).is_empty(),
                "{encoding} of `{value}` went unseen: {text}"
            );
        }
    }
    let wrapped = format!("│ {} │\n│ {} │", &CLIENT_SECRET[..10], &CLIENT_SECRET[10..]);
    assert!(!leaks_in(&wrapped, &secrets).is_empty());
    assert!(leaks_in("│ environment │ pass │ [redacted] │", &secrets).is_empty());
}

#[test]
fn the_text_checker_sees_every_injection() {
    assert!(!unsafe_text(hostile::INJECTED, false).is_empty());
    for piece in hostile::INJECTED.split(['\n', '\r']) {
        let clean_of_controls: String = piece.chars().filter(|c| !c.is_control()).collect();
        if clean_of_controls.contains("##vso[")
            || clean_of_controls.trim_start().starts_with("::")
            || clean_of_controls.trim_start().starts_with("##[")
        {
            assert!(
                !unsafe_text(&clean_of_controls, false).is_empty(),
                "unseen: {clean_of_controls}"
            );
        }
    }
    assert!(!unsafe_text(hostile::INJECTED_HEADER, true).is_empty());
    // The tool's own commands are allowed in its CI formats, and only there.
    let own = "::error title=entraprobe: x::message\n##vso[task.complete result=Failed;]entraprobe: 1 failed\n";
    assert!(unsafe_text(own, true).is_empty());
    assert!(!unsafe_text(own, false).is_empty());
}
