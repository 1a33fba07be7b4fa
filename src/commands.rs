//! One function per subcommand: gather inputs, call the stages, write the outputs.
//! Each returns the process exit code, or an error (a [`UsageError`] means exit 2).

use crate::UsageError;
use crate::cli::{DecodeArgs, DemoArgs, EmulateArgs, ExplainArgs, RunArgs, TokenArgs};
use crate::config::{Config, Format, OutputSpec};
use crate::emulator::scenario::{AccountKind, Scenario};
use crate::probe::Report;
use crate::service::{ServiceKind, Target};
use anyhow::Context;
use is_terminal::IsTerminal;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

/// The built-in demo: a small organisation with the usual mistakes.
pub const DEMO_SCENARIO: &str = include_str!("emulator/demo.toml");

fn process_env() -> BTreeMap<String, String> {
    std::env::vars().collect()
}

pub async fn run(args: RunArgs) -> anyhow::Result<u8> {
    let config = Config::from_run_args(&args)?;
    if config.targets.is_empty() {
        return Err(UsageError::new(
            "no services to probe: give --service NAME=KIND@URL (e.g. --service oai=openai@https://contoso.openai.azure.com) or a --config file with [[service]] entries",
        )
        .into());
    }
    let env = process_env();
    let interactive = std::io::stderr().is_terminal();
    let report = crate::probe::runner::run(&config, &env, |report, elapsed| {
        if interactive {
            let waiting = report
                .cells
                .iter()
                .filter(|c| {
                    c.expected == crate::probe::Expectation::Allow
                        && c.verdict == crate::probe::Verdict::Fail
                })
                .count();
            eprint!(
                "\r\x1b[2Kwaiting for access: {waiting} cell(s) still denied after {}s …",
                elapsed.as_secs()
            );
        }
    })
    .await?;
    if interactive && config.wait_for_access.is_some() {
        eprint!("\r\x1b[2K");
    }
    write_outputs(&report, &config.outputs, &env)?;
    Ok(report.exit_code() as u8)
}

/// Render every requested output. With no `--output`, a table on stdout, plus CI annotations
/// when running inside GitHub Actions or Azure Pipelines.
pub fn write_outputs(
    report: &Report,
    outputs: &[OutputSpec],
    env: &BTreeMap<String, String>,
) -> anyhow::Result<()> {
    let mut outputs = outputs.to_vec();
    if outputs.is_empty() {
        outputs.push(OutputSpec {
            format: Format::Table,
            path: None,
        });
        if env.get("GITHUB_ACTIONS").is_some_and(|v| v == "true") {
            outputs.push(OutputSpec {
                format: Format::Github,
                path: None,
            });
        }
        if env
            .get("TF_BUILD")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"))
        {
            outputs.push(OutputSpec {
                format: Format::Azdo,
                path: None,
            });
        }
    }
    let color = std::io::stdout().is_terminal()
        && !env.contains_key("NO_COLOR")
        && env.get("TERM").is_none_or(|t| t != "dumb");
    for spec in &outputs {
        let text = match spec.format {
            Format::Table => crate::report::table::render(report, color && spec.path.is_none()),
            Format::Json => crate::report::json::render(report),
            Format::Junit => crate::report::junit::render(report),
            Format::Markdown => crate::report::markdown::render(report),
            Format::Github => crate::report::github::render(report),
            Format::Azdo => crate::report::azdo::render(report),
        };
        match &spec.path {
            Some(path) => std::fs::write(path, text)
                .with_context(|| format!("cannot write {}", path.display()))?,
            None => {
                let mut out = std::io::stdout().lock();
                out.write_all(text.as_bytes())?;
                out.flush()?;
            }
        }
    }
    Ok(())
}

/// The targets of a scenario: one per account and Search service, named after it, with the
/// endpoint ARM reports and the kind its account kind implies.
pub fn scenario_targets(scenario: &Scenario) -> Vec<Target> {
    let sub = &scenario.tenant.subscription;
    let mut targets: Vec<Target> = scenario
        .accounts
        .iter()
        .map(|a| {
            let kind = match a.kind {
                AccountKind::OpenAI | AccountKind::AIServices => ServiceKind::Openai,
                AccountKind::SpeechServices => ServiceKind::Speech,
                AccountKind::ComputerVision | AccountKind::CognitiveServices => ServiceKind::Vision,
                AccountKind::TextAnalytics => ServiceKind::Language,
                AccountKind::TextTranslation => ServiceKind::Translator,
                AccountKind::FormRecognizer => ServiceKind::DocumentIntelligence,
                AccountKind::ContentSafety => ServiceKind::ContentSafety,
            };
            Target {
                name: a.name().to_string(),
                kind,
                endpoint: a.endpoint(),
                resource_id: Some(a.resource_id(sub)),
                region: Some(a.location.clone()),
                index: None,
            }
        })
        .collect();
    targets.extend(scenario.search_services.iter().map(|s| Target {
        name: s.name().to_string(),
        kind: ServiceKind::Search,
        endpoint: s.endpoint(),
        resource_id: Some(s.resource_id(sub)),
        region: None,
        index: None,
    }));
    targets
}

fn load_scenario(path: Option<&Path>) -> anyhow::Result<Scenario> {
    match path {
        None => Ok(Scenario::parse(DEMO_SCENARIO, "built-in demo scenario")
            .map_err(|e| UsageError::new(e.to_string()))?),
        Some(path) => {
            let text = crate::input::read_text(path, "scenario", crate::input::FILE_LIMIT)
                .map_err(UsageError::new)?;
            Ok(Scenario::parse(&text, &path.display().to_string())
                .map_err(|e| UsageError::new(e.to_string()))?)
        }
    }
}

/// `demo`: start the emulator in this process, then run the probe as a child process with the
/// emulator's environment (and nothing of the caller's), exactly as a user pointing entraprobe
/// at it would. azure_identity reads some variables from the real process environment, so a
/// separate process is the only honest way to apply them "to the probe run only".
pub async fn demo(args: DemoArgs) -> anyhow::Result<u8> {
    let scenario = load_scenario(args.scenario.as_deref())?;
    let targets = scenario_targets(&scenario);
    if targets.is_empty() {
        return Err(UsageError::new(
            "the scenario has no [[account]] or [[search_service]] to probe",
        )
        .into());
    }
    // Validate the output flags here, so a typo is reported before the emulator starts.
    crate::config::parse_outputs(&args.output)?;
    let dir = tempfile::tempdir().context("cannot create a temporary folder for the emulator")?;
    let emulator = crate::emulator::RunningEmulator::start(
        scenario,
        crate::emulator::EmulatorOptions {
            port: 0,
            dir: dir.path().to_path_buf(),
        },
    )
    .await?;
    let exe = std::env::current_exe().context("cannot find the entraprobe executable")?;
    let mut cmd = tokio::process::Command::new(exe);
    cmd.arg("run").env_clear().envs(emulator.env());
    for var in ["HOME", "TERM", "NO_COLOR", "LANG"] {
        if let Ok(v) = std::env::var(var) {
            cmd.env(var, v);
        }
    }
    for t in &targets {
        let mut spec = format!("{}={}@{}", t.name, t.kind, t.endpoint);
        if let Some(r) = &t.resource_id {
            spec.push_str(&format!(",resource={r}"));
        }
        if let Some(r) = &t.region {
            spec.push_str(&format!(",region={r}"));
        }
        cmd.arg("--service").arg(spec);
    }
    if !args.credentials.is_empty() {
        cmd.arg("--credential").arg(args.credentials.join(","));
    }
    for e in &args.expect_deny {
        cmd.arg("--expect-deny").arg(e);
    }
    for (flag, value) in [
        ("--wait-for-access", &args.wait_for_access),
        ("--timeout", &args.timeout),
    ] {
        if let Some(v) = value {
            cmd.arg(flag).arg(v);
        }
    }
    // The demo's machine may look like a CI runner (the Pipelines variables): say the format
    // explicitly so no CI annotations are added to what a person reads.
    if args.output.outputs.is_empty() {
        cmd.arg("--output").arg("table");
    }
    for o in &args.output.outputs {
        cmd.arg("--output").arg(o);
    }
    if let Some(f) = &args.output.output_file {
        cmd.arg("--output-file").arg(f);
    }
    let status = cmd.status().await.context("cannot start the probe run")?;
    emulator.shutdown().await;
    drop(dir);
    if args.scenario.is_none() && status.code() == Some(1) {
        eprintln!(
            "note: the built-in scenario breaks access on purpose, to show each cause; that is why \
             the demo exits 1. On your machine, `entraprobe run` exits 0 when every cell meets its \
             expectation."
        );
    }
    Ok(status
        .code()
        .and_then(|c| u8::try_from(c).ok())
        .unwrap_or(1))
}

pub async fn emulate(args: EmulateArgs) -> anyhow::Result<u8> {
    // Parse first, so a bad scenario is exit 2 with the line, before any port is opened.
    load_scenario(Some(&args.scenario))?;
    crate::emulator::run_foreground(&args.scenario, args.port, args.env_file.as_deref()).await?;
    Ok(0)
}

pub async fn token(args: TokenArgs) -> anyhow::Result<u8> {
    let source = crate::config::parse_source(&args.credential).map_err(UsageError::new)?;
    let cloud_name = args.cloud.clone().unwrap_or_else(|| "public".into());
    let cloud = crate::config::parse_cloud(&cloud_name)?;
    let profile = cloud.profile();
    let timeout = match &args.timeout {
        Some(t) => crate::config::parse_duration(t)
            .map_err(|e| UsageError::new(format!("--timeout: {e}")))?,
        None => crate::config::DEFAULT_TIMEOUT,
    };
    let http = crate::http::build_client(&crate::http::HttpOptions {
        ca_file: args.ca_file.clone(),
        timeout,
    })?;
    let scope = args
        .scope
        .clone()
        .unwrap_or_else(|| profile.cognitive_scope());
    let env = process_env();
    crate::credential::check_authority_host(&env, &[source])?;
    let ctx = crate::credential::CredentialContext {
        http,
        cloud: profile,
        timeout,
        env,
        user_assigned: None,
        imds_probe: Default::default(),
    };
    match crate::credential::acquire(source, &scope, &ctx).await {
        crate::credential::Acquisition::Acquired { token, expires_on } => {
            if args.raw {
                eprintln!(
                    "warning: printing a raw access token; it is a secret, do not paste it anywhere"
                );
                println!("{}", token.secret());
                return Ok(0);
            }
            let claims = crate::claims::decode(token.secret())?;
            let principal = crate::claims::principal(&claims);
            let audience = scope.trim_end_matches("/.default");
            let findings = crate::claims::judge(&claims, audience, time::OffsetDateTime::now_utc());
            print_claims(
                source.as_str(),
                &principal,
                &claims,
                &findings,
                Some(expires_on),
                args.json,
            );
            Ok(
                if findings
                    .iter()
                    .any(|f| f.severity == crate::diagnosis::Severity::Error)
                {
                    1
                } else {
                    0
                },
            )
        }
        crate::credential::Acquisition::Skipped { reason, findings } => {
            eprintln!("{source}: not configured on this machine: {reason}");
            for f in &findings {
                eprintln!("  [{}] {}\n      fix: {}", f.code, f.message, f.remedy);
            }
            Ok(3)
        }
        crate::credential::Acquisition::Failed { findings } => {
            eprintln!("{source}: no token");
            for f in &findings {
                eprintln!("  [{}] {}\n      fix: {}", f.code, f.message, f.remedy);
            }
            Ok(1)
        }
    }
}

fn print_claims(
    label: &str,
    principal: &crate::probe::Principal,
    claims: &crate::claims::Claims,
    findings: &[crate::diagnosis::Finding],
    expires_on: Option<time::OffsetDateTime>,
    json: bool,
) {
    if json {
        let value = serde_json::json!({
            "source": label,
            "principal": principal,
            "claims": claims,
            "expires_on": expires_on.and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok()),
            "findings": findings,
        });
        println!(
            "{}",
            crate::redact::redact(&serde_json::to_string_pretty(&value).unwrap_or_default())
        );
        return;
    }
    let mut out = format!(
        "{label}\n  type:      {}\n  identity:  {}\n  object id: {}\n  tenant:    {}\n",
        serde_json::to_value(principal.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default(),
        principal.display,
        principal.object_id,
        principal.tenant_id
    );
    if let Some(app) = &principal.app_id {
        out.push_str(&format!("  app id:    {app}\n"));
    }
    out.push_str("claims:\n");
    if let Ok(serde_json::Value::Object(map)) = serde_json::to_value(claims) {
        for (k, v) in map {
            if !v.is_null() {
                out.push_str(&format!("  {k:<12} {v}\n"));
            }
        }
    }
    for f in findings {
        out.push_str(&format!(
            "{} [{}] {}\n    fix: {}\n",
            f.severity, f.code, f.message, f.remedy
        ));
    }
    print!("{}", crate::redact::redact(&out));
}

pub fn decode(args: DecodeArgs) -> anyhow::Result<u8> {
    let token = match args.token.as_deref() {
        Some(t) if t != "-" => t.to_string(),
        _ => crate::input::read_stdin_text("the token", crate::input::TOKEN_LIMIT)
            .map_err(UsageError::new)?,
    };
    let token = token.trim();
    let token = token.strip_prefix("Bearer ").unwrap_or(token).trim();
    if token.is_empty() {
        return Err(UsageError::new("no token given: pass it as an argument or on stdin").into());
    }
    let claims = crate::claims::decode(token)?;
    let principal = crate::claims::principal(&claims);
    let audience = args
        .audience
        .clone()
        .or_else(|| claims.aud.clone())
        .unwrap_or_default();
    let findings = crate::claims::judge(&claims, &audience, time::OffsetDateTime::now_utc());
    print_claims(
        "decoded token (signature not verified)",
        &principal,
        &claims,
        &findings,
        None,
        args.json,
    );
    Ok(
        if findings
            .iter()
            .any(|f| f.severity == crate::diagnosis::Severity::Error)
        {
            1
        } else {
            0
        },
    )
}

pub fn explain(args: ExplainArgs) -> anyhow::Result<u8> {
    if args.list {
        print!("{}", crate::diagnosis::render_list());
        return Ok(0);
    }
    let text = crate::diagnosis::explain_text(args.code.as_deref().unwrap_or_default())?;
    print!("{text}");
    Ok(0)
}
