//! One function per subcommand: gather inputs, call the stages, write the outputs.
//! Each returns the process exit code, or an error (a [`UsageError`] means exit 2).

use crate::UsageError;
use crate::cli::{DecodeArgs, DemoArgs, EmulateArgs, ExplainArgs, RunArgs, TokenArgs};
use crate::config::{Config, OutputSpec};
use crate::emulator::scenario::Scenario;
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
    let mut config = Config::from_run_args(&args)?;
    let discovery = crate::discover::DiscoveryOptions::from_flags(
        args.discover,
        &args.subscriptions,
        args.resource_group.as_deref(),
        &args.tags,
        args.discovery_credential.as_deref(),
    )?;
    if config.targets.is_empty() && discovery.is_none() {
        return Err(UsageError::new(
            "no services to probe: give --service NAME=KIND@URL (e.g. --service oai=openai@https://contoso.openai.azure.com), a --config file with [[service]] entries, or --discover",
        )
        .into());
    }
    let env = process_env();
    let found = match &discovery {
        Some(options) => Some(discover_targets(&mut config, options, &env).await?),
        None => None,
    };
    let interactive = std::io::stderr().is_terminal();
    // `--wait-for-access` reports its rounds itself; a second line redrawn on stderr would
    // fight with its own.
    let progress = config
        .wait_for_access
        .is_none()
        .then(|| crate::progress::Progress::spawn(config.progress.clone(), interactive));
    let report = crate::probe::runner::run(&config, &env, |state| {
        print_wait_progress(state, interactive)
    })
    .await;
    if let Some(progress) = progress {
        progress.finish().await;
    }
    let mut report = report?;
    report.discovery = found;
    if interactive && config.wait_for_access.is_some() {
        eprint!("\r\x1b[2K");
    }
    let view = crate::report::RenderOptions {
        only_failures: args.output.only_failures,
        ..Default::default()
    };
    write_outputs(&report, &config.outputs, &env, &view)?;
    crate::ci::write_github_job_files(&report, &env)?;
    Ok(report.exit_code() as u8)
}

/// `--discover`: add the estate's targets to the configured ones. Finding nothing to probe is
/// not a green gate: it ends the run with exit code 1.
async fn discover_targets(
    config: &mut Config,
    options: &crate::discover::DiscoveryOptions,
    env: &BTreeMap<String, String>,
) -> anyhow::Result<crate::discover::Discovery> {
    let ctx = crate::probe::runner::credential_context(config, env)?;
    let (targets, mut discovery) =
        match crate::discover::discover(options, &config.credentials, &ctx).await {
            Ok(found) => found,
            Err(crate::discover::DiscoveryError::Usage(e)) => return Err(e.into()),
            Err(e) => anyhow::bail!("{e}"),
        };
    discovery.already_configured = crate::discover::merge_targets(&mut config.targets, targets);
    if config.targets.is_empty() {
        let searched: Vec<String> = discovery
            .subscriptions
            .iter()
            .map(|s| {
                if s.name.is_empty() {
                    s.id.clone()
                } else {
                    s.name.clone()
                }
            })
            .collect();
        anyhow::bail!(
            "discovery found nothing to probe in {} (as {}); check the filters, or that the discovery credential has Reader on the resources",
            searched.join(", "),
            discovery.credential.map_or("?", |c| c.as_str())
        );
    }
    Ok(discovery)
}

/// `--wait-for-access` progress on stderr: on a terminal one line redrawn in place; in a log
/// (CI, a pipe) plain lines, one per round.
fn print_wait_progress(state: &crate::probe::runner::WaitProgress, interactive: bool) {
    if interactive {
        eprint!("\r\x1b[2K");
    }
    for line in state.notices() {
        eprintln!("{line}");
    }
    match (state.status(), interactive) {
        (Some(status), false) => eprintln!("{status}"),
        (Some(_), true) => eprint!(
            "waiting for access: {} cell(s) still waiting after {}s …",
            state.waiting.len(),
            state.elapsed.as_secs()
        ),
        (None, _) => {}
    }
}

/// Render every requested output. With no `--output`, a table on stdout; inside GitHub Actions
/// or Azure Pipelines, the runner's annotations whenever stdout is free for them (`crate::ci`).
/// `view` says what to show (`--only-failures`); colour and width are decided here, per output.
pub fn write_outputs(
    report: &Report,
    outputs: &[OutputSpec],
    env: &BTreeMap<String, String>,
    view: &crate::report::RenderOptions,
) -> anyhow::Result<()> {
    let outputs = crate::ci::outputs(outputs, env);
    let terminal = std::io::stdout().is_terminal();
    let color =
        terminal && !env.contains_key("NO_COLOR") && env.get("TERM").is_none_or(|t| t != "dumb");
    for spec in &outputs {
        let to_terminal = terminal && spec.path.is_none();
        let opts = crate::report::RenderOptions {
            color: color && spec.path.is_none(),
            width: table_width(env, to_terminal),
            ..*view
        };
        let text = crate::report::render(spec.format, report, &opts);
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

/// The columns the table may use: `COLUMNS` when it is set to a number, else the terminal's
/// width when the table goes to one, else [`crate::report::DEFAULT_WIDTH`] (a pipe, a file, a CI
/// log).
fn table_width(env: &BTreeMap<String, String>, to_terminal: bool) -> usize {
    let columns = env
        .get("COLUMNS")
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|&c| c > 0);
    let terminal = || {
        to_terminal
            .then(|| comfy_table::Table::new().width())
            .flatten()
            .map(usize::from)
            .filter(|&w| w > 0)
    };
    columns
        .or_else(terminal)
        .unwrap_or(crate::report::DEFAULT_WIDTH)
}

/// The targets of a scenario: one per account and Search service, named after it, with the
/// endpoint ARM reports (in the tenant's cloud) and the kind its account kind implies. A surface
/// the cloud has no host for (Foundry outside the public cloud) has no target.
pub fn scenario_targets(scenario: &Scenario) -> Vec<Target> {
    let cloud = scenario.tenant.cloud();
    let mut targets: Vec<Target> = Vec::new();
    for a in &scenario.accounts {
        // Design §4: `ACCOUNT` on one surface, `ACCOUNT:SURFACE` on several.
        let surfaces = a.surface_kinds();
        let several = surfaces.len() > 1;
        targets.extend(surfaces.into_iter().filter_map(|kind| {
            Some(Target {
                name: if several {
                    format!("{}:{kind}", a.name())
                } else {
                    a.name().to_string()
                },
                kind,
                endpoint: cloud.url_in(&a.surface_endpoint(kind))?,
                resource_id: Some(a.id()),
                region: Some(a.location.clone()),
                index: None,
                audience: None,
            })
        }));
        targets.extend(scenario.projects_of(a.name()).filter_map(|p| {
            let subdomain = a.subdomain()?;
            Some(Target {
                name: format!("{}/{}", a.name(), p.name()),
                kind: ServiceKind::FoundryProject,
                endpoint: cloud.url_in(&format!(
                    "https://{subdomain}.services.ai.azure.com/api/projects/{}",
                    p.name()
                ))?,
                resource_id: Some(p.id(a)),
                region: Some(a.location.clone()),
                index: None,
                audience: p.audience.clone(),
            })
        }));
    }
    targets.extend(scenario.search_services.iter().map(|s| Target {
        name: s.name().to_string(),
        kind: ServiceKind::Search,
        endpoint: cloud.service_url(&s.endpoint()),
        resource_id: Some(s.id()),
        region: None,
        index: None,
        audience: None,
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
    // The emulated machine is an Azure Pipelines agent too (TF_BUILD), which would add the
    // agent's annotations to the table a person reads; the source itself does not need it.
    cmd.env_remove("TF_BUILD");
    if crate::http::verbose() {
        cmd.arg("--verbose");
    }
    for var in ["HOME", "TERM", "NO_COLOR", "LANG", "COLUMNS"] {
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
        if let Some(a) = &t.audience {
            spec.push_str(&format!(",audience={a}"));
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
    if args.output.only_failures {
        cmd.arg("--only-failures");
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
            eprint!(
                "{}",
                finding_lines(
                    &format!("{source}: not configured on this machine: {reason}"),
                    &findings
                )
            );
            Ok(3)
        }
        crate::credential::Acquisition::Failed { findings } => {
            eprint!(
                "{}",
                finding_lines(&format!("{source}: no token"), &findings)
            );
            Ok(1)
        }
    }
}

/// A headline and findings as `token` prints them on stderr: scrubbed, since the messages quote
/// what a token endpoint or a CLI said.
fn finding_lines(headline: &str, findings: &[crate::diagnosis::Finding]) -> String {
    let mut out = format!("{headline}\n");
    for f in findings {
        out.push_str(&format!(
            "  [{}] {}\n      fix: {}\n",
            f.code, f.message, f.remedy
        ));
    }
    crate::redact::scrub(&out)
}

/// Print who a token is for, its claims and the findings about them. Every text here is from the
/// token (outside input): secret-looking claims are masked and registered with the redactor, and
/// the whole output is scrubbed (controls and CI commands neutralised) in both formats.
fn print_claims(
    label: &str,
    principal: &crate::probe::Principal,
    claims: &crate::claims::Claims,
    findings: &[crate::diagnosis::Finding],
    expires_on: Option<time::OffsetDateTime>,
    json: bool,
) {
    print!(
        "{}",
        render_claims(label, principal, claims, findings, expires_on, json)
    );
}

/// The text `decode` and `token` print (see [`print_claims`]), as of now.
pub fn render_claims(
    label: &str,
    principal: &crate::probe::Principal,
    claims: &crate::claims::Claims,
    findings: &[crate::diagnosis::Finding],
    expires_on: Option<time::OffsetDateTime>,
    json: bool,
) -> String {
    render_claims_at(
        label,
        principal,
        claims,
        findings,
        expires_on,
        json,
        time::OffsetDateTime::now_utc(),
    )
}

/// [`render_claims`] at `now`, as a pure function (but for the local time zone) so every byte of
/// it can be checked. Times are shown in local time with the minutes left (text) and also as
/// epochs (JSON keeps the claims' own numbers and adds the readable form).
pub fn render_claims_at(
    label: &str,
    principal: &crate::probe::Principal,
    claims: &crate::claims::Claims,
    findings: &[crate::diagnosis::Finding],
    expires_on: Option<time::OffsetDateTime>,
    json: bool,
    now: time::OffsetDateTime,
) -> String {
    let (claims, secrets) = crate::claims::masked(claims);
    for secret in &secrets {
        crate::redact::register(secret);
    }
    let claims = &claims;
    if json {
        let value = serde_json::json!({
            "source": label,
            "principal": principal,
            "claims": claims,
            "expires_on": expires_on.and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok()),
            "expires_on_local": expires_on.map(|t| local_time(t.unix_timestamp())),
            "expires_in_minutes": expires_on.map(|t| minutes_between(now.unix_timestamp(), t.unix_timestamp())),
            "findings": findings,
        });
        return crate::redact::scrub(&serde_json::to_string_pretty(&value).unwrap_or_default())
            + "\n";
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
    if let Some(t) = expires_on {
        out.push_str(&format!(
            "  expires:   {}\n",
            readable_time(t.unix_timestamp(), now)
        ));
    }
    out.push_str("claims:\n");
    if let Ok(serde_json::Value::Object(map)) = serde_json::to_value(claims) {
        for (k, v) in map {
            match (k.as_str(), v.as_i64()) {
                ("exp" | "nbf" | "iat", Some(epoch)) => {
                    out.push_str(&format!("  {k:<12} {}\n", readable_time(epoch, now)));
                }
                _ if !v.is_null() => out.push_str(&format!("  {k:<12} {v}\n")),
                _ => {}
            }
        }
    }
    for f in findings {
        out.push_str(&format!(
            "{} [{}] {}\n    fix: {}\n",
            f.severity, f.code, f.message, f.remedy
        ));
    }
    crate::redact::scrub(&out)
}

/// An epoch as a support engineer reads it: local time with its offset, and how far from now
/// (`2025-06-01 13:22:03 +02:00 (in 59 min)`, `… (5 min ago)`).
pub fn readable_time(epoch: i64, now: time::OffsetDateTime) -> String {
    let minutes = minutes_between(now.unix_timestamp(), epoch);
    let relative = match minutes {
        0 => "now".to_string(),
        m if m > 0 => format!("in {}", span(m)),
        m => format!("{} ago", span(m.saturating_neg())),
    };
    format!("{} ({relative})", local_time(epoch))
}

/// Whole minutes from `from` to `to` (negative when `to` is past), rounded towards zero.
fn minutes_between(from: i64, to: i64) -> i64 {
    to.saturating_sub(from) / 60
}

fn span(minutes: i64) -> String {
    match minutes {
        m if m < 120 => format!("{m} min"),
        m if m < 48 * 60 => format!("{} h {} min", m / 60, m % 60),
        m => format!("{} days", m / (24 * 60)),
    }
}

/// `epoch` in this machine's local time zone (`TZ`, else /etc/localtime), with its offset; the
/// bare number when it is no representable time.
fn local_time(epoch: i64) -> String {
    let Ok(utc) = time::OffsetDateTime::from_unix_timestamp(epoch) else {
        return epoch.to_string();
    };
    let local = local_offset(epoch)
        .and_then(|o| utc.checked_to_offset(o))
        .unwrap_or(utc);
    local
        .format(time::macros::format_description!(
            "[year]-[month]-[day] [hour]:[minute]:[second] [offset_hour sign:mandatory]:[offset_minute]"
        ))
        .unwrap_or_else(|_| epoch.to_string())
}

/// The local UTC offset at `epoch`. The `time` crate refuses to tell in a multi-threaded process
/// (it cannot know that nobody calls setenv); this tool never changes its environment, so the C
/// library's answer is safe to ask.
#[cfg(unix)]
fn local_offset(epoch: i64) -> Option<time::UtcOffset> {
    // time_t is 32 bits on some targets.
    #[allow(clippy::useless_conversion)]
    let t: libc::time_t = epoch.try_into().ok()?;
    // SAFETY: localtime_r writes only into `tm`, which lives on this stack frame; it reads TZ,
    // which this process never modifies.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    let done = unsafe { libc::localtime_r(&t, &mut tm) };
    if done.is_null() {
        return None;
    }
    time::UtcOffset::from_whole_seconds(i32::try_from(tm.tm_gmtoff).ok()?).ok()
}

#[cfg(not(unix))]
fn local_offset(_epoch: i64) -> Option<time::UtcOffset> {
    None
}

pub fn decode(args: DecodeArgs) -> anyhow::Result<u8> {
    let token = match args.token.as_deref() {
        Some(t) if t != "-" => t.to_string(),
        // A person at a terminal: ask, and take one line (no end-of-file needed).
        None if std::io::stdin().is_terminal() => {
            eprint!("paste a token, then Enter: ");
            let _ = std::io::stderr().flush();
            crate::input::read_stdin_line("the token", crate::input::TOKEN_LIMIT)
                .map_err(UsageError::new)?
        }
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
        print!("{}", crate::redact::scrub(&crate::diagnosis::render_list()));
        return Ok(0);
    }
    let text = crate::diagnosis::explain_text(args.code.as_deref().unwrap_or_default())?;
    // The catalog is our own text; scrubbed anyway, like every other plain-text output.
    print!("{}", crate::redact::scrub(&text));
    Ok(0)
}
