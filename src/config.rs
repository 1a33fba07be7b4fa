//! Config file + flags → [`Config`], with errors that name the field (and the line, in a file).
//!
//! Flags add to the file: services from both are probed, `--expect-deny` adds expectations,
//! and a flag given for a scalar (timeout, cloud, …) overrides the file's value.

use crate::UsageError;
use crate::cli::{OutputArgs, RunArgs};
use crate::credential::{SourceId, UserAssignedSelector};
use crate::service::endpoint::{check_endpoint_input, mask_userinfo};
use crate::service::{ServiceKind, Target};
use serde::Deserialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(15);
/// PIM activations last hours and time-bound assignments months: a day ahead catches an
/// activation that ends before tonight's run without warning on every activated role's
/// whole life.
pub const DEFAULT_EXPIRY_HORIZON: Duration = Duration::from_secs(24 * 3600);
const MAX_EXPIRY_HORIZON: Duration = Duration::from_secs(366 * 24 * 3600);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Junit,
    Markdown,
    Github,
    Azdo,
}

impl Format {
    const NAMES: &'static str = "table, json, junit, markdown, github, azdo";
    fn parse(text: &str) -> Option<Format> {
        Some(match text {
            "table" => Format::Table,
            "json" => Format::Json,
            "junit" => Format::Junit,
            "markdown" | "md" => Format::Markdown,
            "github" => Format::Github,
            "azdo" | "azure-pipelines" => Format::Azdo,
            _ => return None,
        })
    }
}

/// One requested output: a format, to stdout or to a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputSpec {
    pub format: Format,
    pub path: Option<PathBuf>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub targets: Vec<Target>,
    /// Sources to try, in row order (all eight unless narrowed).
    pub credentials: Vec<SourceId>,
    /// The sources were named (`--credential` or the file's `credentials`): each is then a
    /// requirement, and one that is not configured fails its cells instead of skipping quietly.
    pub credentials_named: bool,
    /// (credential, service) cells that must be denied.
    pub expect_deny: BTreeSet<(SourceId, String)>,
    pub timeout: Duration,
    pub wait_for_access: Option<Duration>,
    /// A grant that PIM ends within this window gets a warning (`--expiry-horizon`; zero: off).
    pub expiry_horizon: Duration,
    /// `public`, `usgov` or `china` (validated).
    pub cloud: String,
    pub ca_file: Option<PathBuf>,
    pub allow_hosts: Vec<String>,
    pub principals: Vec<String>,
    /// (principal as given to `--principal`, service) cells that must be denied.
    pub expect_deny_principals: BTreeSet<(String, String)>,
    pub user_assigned: Option<UserAssignedSelector>,
    pub outputs: Vec<OutputSpec>,
    /// Data-plane probes in flight at once (`--concurrency`).
    pub probe_concurrency: usize,
    /// ARM requests in flight at once (`--arm-concurrency`).
    pub arm_concurrency: usize,
    /// Not configuration but a hook: the runner counts the cells it has probed here, and the
    /// command prints the progress of long runs from it (`crate::progress`).
    pub progress: crate::progress::CellCounter,
}

/// The config file (docs/configuration.md).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    cloud: Option<String>,
    /// A PEM bundle to trust besides the system roots (a TLS-inspecting proxy's CA).
    ca_file: Option<PathBuf>,
    timeout: Option<String>,
    wait_for_access: Option<String>,
    expiry_horizon: Option<String>,
    credentials: Option<Vec<String>>,
    #[serde(default)]
    allow_hosts: Vec<String>,
    #[serde(default)]
    principals: Vec<String>,
    managed_identity: Option<FileManagedIdentity>,
    concurrency: Option<usize>,
    arm_concurrency: Option<usize>,
    #[serde(default, rename = "service")]
    services: Vec<FileService>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileManagedIdentity {
    client_id: Option<String>,
    object_id: Option<String>,
    resource_id: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileService {
    name: String,
    kind: String,
    endpoint: String,
    resource_id: Option<String>,
    region: Option<String>,
    index: Option<String>,
    /// The token audience to probe with instead of the kind's own.
    audience: Option<String>,
    /// Credentials that must NOT reach this service.
    #[serde(default)]
    expect_deny: Vec<String>,
}

impl Config {
    pub fn from_run_args(args: &RunArgs) -> Result<Config, UsageError> {
        let file = match &args.config {
            Some(path) => read_file_config(path)?,
            None => FileConfig::default(),
        };
        let mut allow_hosts = file.allow_hosts.clone();
        allow_hosts.extend(args.allow_hosts.iter().cloned());
        for host in &allow_hosts {
            check_text("allow_hosts entry", host).map_err(UsageError::new)?;
        }
        let mut targets = Vec::new();
        let mut expect_deny = BTreeSet::new();
        for s in &file.services {
            let what = format!("service `{}`", s.name.escape_debug());
            let target = file_service(s, &allow_hosts)
                .map_err(|e| UsageError::new(format!("{what}: {e}")))?;
            for cred in &s.expect_deny {
                check_text("expect_deny entry", cred)
                    .map_err(|e| UsageError::new(format!("{what}: {e}")))?;
                let id = parse_source(cred)
                    .map_err(|e| UsageError::new(format!("{what}: expect_deny: {e}")))?;
                expect_deny.insert((id, s.name.trim().to_string()));
            }
            targets.push(target);
        }
        for spec in &args.services {
            targets.push(parse_service_flag_allowing(spec, &allow_hosts)?);
        }
        let mut seen = BTreeSet::new();
        for t in &targets {
            if !seen.insert(t.name.as_str()) {
                return Err(UsageError::new(format!(
                    "service name `{}` is given twice; names must be unique",
                    t.name
                )));
            }
        }
        let given_principals: Vec<&String> =
            file.principals.iter().chain(&args.principals).collect();
        let mut expect_deny_principals = BTreeSet::new();
        for spec in &args.expect_deny {
            check_text("--expect-deny", spec).map_err(UsageError::new)?;
            // A principal (admin mode) may itself hold a colon only if no principal is a
            // prefix: the longest `--principal` that prefixes the spec wins.
            let principal = given_principals
                .iter()
                .filter(|p| {
                    spec.strip_prefix(p.as_str())
                        .is_some_and(|rest| rest.starts_with(':'))
                })
                .max_by_key(|p| p.len());
            let (cred, service) = match principal {
                Some(p) => (p.as_str(), &spec[p.len() + 1..]),
                None => spec.split_once(':').ok_or_else(|| {
                    UsageError::new(format!("--expect-deny `{spec}`: expected CREDENTIAL:SERVICE or PRINCIPAL:SERVICE, e.g. github-actions:oai-prod"))
                })?,
            };
            if !targets.iter().any(|t| t.name == service) {
                return Err(UsageError::new(format!(
                    "--expect-deny `{spec}`: no service named `{service}` (services: {})",
                    names(&targets)
                )));
            }
            if principal.is_some() {
                expect_deny_principals.insert((cred.to_string(), service.to_string()));
                continue;
            }
            let id = parse_source(cred).map_err(|e| {
                UsageError::new(format!(
                    "--expect-deny `{spec}`: {e}; or name a --principal given to this run"
                ))
            })?;
            expect_deny.insert((id, service.to_string()));
        }
        for item in args
            .credentials
            .iter()
            .chain(file.credentials.iter().flatten())
        {
            check_text("credential", item).map_err(UsageError::new)?;
        }
        let credentials = if !args.credentials.is_empty() {
            parse_sources(&args.credentials, "--credential")?
        } else if let Some(list) = &file.credentials {
            parse_sources(list, "credentials")?
        } else {
            SourceId::ALL.to_vec()
        };
        // An expectation on a source that will not run would vanish from the report: the
        // least-privilege check the user asked for would silently not happen.
        if let Some((id, service)) = expect_deny.iter().find(|(id, _)| !credentials.contains(id)) {
            return Err(UsageError::new(format!(
                "expect-deny {id}:{service}: the credential source {id} is not selected (selected: {}); add it to the credential list or drop the expectation",
                credentials
                    .iter()
                    .map(|c| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            )));
        }
        let timeout = match args.timeout.as_deref().or(file.timeout.as_deref()) {
            Some(t) => parse_duration(t).map_err(|e| UsageError::new(format!("timeout: {e}")))?,
            None => DEFAULT_TIMEOUT,
        };
        if timeout.is_zero() {
            return Err(UsageError::new("timeout: must be more than 0s"));
        }
        let wait_for_access = args
            .wait_for_access
            .as_deref()
            .or(file.wait_for_access.as_deref())
            .map(|t| {
                parse_duration(t).map_err(|e| UsageError::new(format!("wait-for-access: {e}")))
            })
            .transpose()?;
        let expiry_horizon = match args
            .expiry_horizon
            .as_deref()
            .or(file.expiry_horizon.as_deref())
        {
            Some(t) => parse_duration_within(t, MAX_EXPIRY_HORIZON, "366d")
                .map_err(|e| UsageError::new(format!("expiry-horizon: {e}")))?,
            None => DEFAULT_EXPIRY_HORIZON,
        };
        let cloud = args
            .cloud
            .clone()
            .or(file.cloud)
            .unwrap_or_else(|| "public".to_string());
        parse_cloud(&cloud)?;
        if let Some(mi) = &file.managed_identity {
            for (field, value) in [
                ("managed_identity.client_id", &mi.client_id),
                ("managed_identity.object_id", &mi.object_id),
                ("managed_identity.resource_id", &mi.resource_id),
            ] {
                if let Some(v) = value {
                    check_text(field, v).map_err(UsageError::new)?;
                }
            }
        }
        let user_assigned = match file.managed_identity {
            None => None,
            Some(mi) => match (mi.client_id, mi.object_id, mi.resource_id) {
                (Some(c), None, None) => Some(UserAssignedSelector::ClientId(c)),
                (None, Some(o), None) => Some(UserAssignedSelector::ObjectId(o)),
                (None, None, Some(r)) => Some(UserAssignedSelector::ResourceId(r)),
                (None, None, None) => None,
                _ => {
                    return Err(UsageError::new(
                        "managed_identity: give exactly one of client_id, object_id or resource_id",
                    ));
                }
            },
        };
        let mut principals = file.principals;
        principals.extend(args.principals.iter().cloned());
        for p in &principals {
            check_text("--principal", p).map_err(UsageError::new)?;
            let trimmed = p.trim();
            let is_mi = trimmed.to_ascii_lowercase().starts_with("/subscriptions/")
                && trimmed
                    .to_ascii_lowercase()
                    .contains("/providers/microsoft.managedidentity/userassignedidentities/");
            // Object ids, app ids, UPNs and display names are resolved through Microsoft
            // Graph; a path that is not a managed identity's, or nothing at all, is a mistake.
            let is_other_path = trimmed.starts_with('/') && !is_mi;
            if trimmed.is_empty() || is_other_path || trimmed.chars().count() > 256 {
                return Err(UsageError::new(format!(
                    "--principal `{p}`: expected an object id, an app (client) id, a user principal name, \
                     a display name (at most 256 characters) or a user-assigned managed identity resource id \
                     (/subscriptions/…/providers/Microsoft.ManagedIdentity/userAssignedIdentities/NAME)"
                )));
            }
        }
        let bounded = |what: &str, value: Option<usize>, default: usize| match value {
            None => Ok(default),
            Some(n) if (1..=MAX_CONCURRENCY).contains(&n) => Ok(n),
            Some(n) => Err(UsageError::new(format!(
                "{what} {n}: must be 1 to {MAX_CONCURRENCY} (each request in flight holds a socket, and so a file descriptor)"
            ))),
        };
        let probe_concurrency = bounded(
            "concurrency",
            args.concurrency.or(file.concurrency),
            crate::probe::runner::PROBE_CONCURRENCY,
        )?;
        let arm_concurrency = bounded(
            "arm-concurrency",
            args.arm_concurrency.or(file.arm_concurrency),
            crate::arm::client::ARM_CONCURRENCY,
        )?;
        Ok(Config {
            probe_concurrency,
            arm_concurrency,
            targets,
            credentials,
            credentials_named: !args.credentials.is_empty() || file.credentials.is_some(),
            expect_deny,
            timeout,
            wait_for_access,
            expiry_horizon,
            cloud,
            ca_file: args.ca_file.clone().or(file.ca_file.clone()),
            allow_hosts: allow_hosts
                .into_iter()
                .map(|h| h.to_ascii_lowercase())
                .collect(),
            principals,
            expect_deny_principals,
            user_assigned,
            outputs: writable(parse_outputs(&args.output)?)?,
            progress: Default::default(),
        })
    }
}

/// The most requests in flight a flag may ask for: well under a default 1,024-descriptor limit.
const MAX_CONCURRENCY: usize = 512;

fn names(targets: &[Target]) -> String {
    if targets.is_empty() {
        return "none configured".to_string();
    }
    targets
        .iter()
        .map(|t| t.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

fn read_file_config(path: &Path) -> Result<FileConfig, UsageError> {
    let text = crate::input::read_text(path, "config file", crate::input::FILE_LIMIT)
        .map_err(UsageError::new)?;
    toml::from_str(&text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        let at = line.map(|l| format!(":{l}")).unwrap_or_default();
        UsageError::new(format!(
            "config file {}{at}: {}",
            path.display(),
            e.message().trim()
        ))
    })
}

pub fn parse_kind(text: &str) -> Result<ServiceKind, String> {
    ServiceKind::parse(text).ok_or_else(|| {
        let all: Vec<_> = ServiceKind::ALL.iter().map(|k| k.as_str()).collect();
        format!(
            "unknown kind `{text}` (expected one of: {})",
            all.join(", ")
        )
    })
}

pub fn parse_source(text: &str) -> Result<SourceId, String> {
    SourceId::parse(text.trim()).ok_or_else(|| {
        let all: Vec<_> = SourceId::ALL.iter().map(|s| s.as_str()).collect();
        format!(
            "unknown credential source `{text}` (expected one of: {})",
            all.join(", ")
        )
    })
}

fn parse_sources(list: &[String], field: &str) -> Result<Vec<SourceId>, UsageError> {
    let mut out = Vec::new();
    for item in list {
        let id = parse_source(item).map_err(|e| UsageError::new(format!("{field}: {e}")))?;
        if !out.contains(&id) {
            out.push(id);
        }
    }
    Ok(out)
}

pub fn parse_cloud(text: &str) -> Result<crate::cloud::Cloud, UsageError> {
    text.parse()
        .map_err(|e: UsageError| UsageError::new(format!("cloud: {e}")))
}

/// One `[[service]]` of the config file, checked like a `--service` flag.
fn file_service(s: &FileService, allow_hosts: &[String]) -> Result<Target, String> {
    check_service_name(s.name.trim_matches(' '))?;
    let kind = parse_kind(&s.kind)?;
    let endpoint = check_endpoint_input(kind, &s.endpoint, allow_hosts)
        .map_err(|e| format!("endpoint {e}"))?;
    let target = Target {
        name: s.name.trim().to_string(),
        kind,
        endpoint,
        resource_id: s.resource_id.clone().filter(|v| !v.is_empty()),
        region: s.region.clone().filter(|v| !v.is_empty()),
        index: s.index.clone().filter(|v| !v.is_empty()),
        audience: s.audience.clone().filter(|v| !v.is_empty()),
    };
    check_target_options(&target)?;
    Ok(target)
}

/// `NAME=KIND@URL[,resource=ID][,region=R][,index=I]`, for a run with no `--allow-host`.
pub fn parse_service_flag(spec: &str) -> Result<Target, UsageError> {
    parse_service_flag_allowing(spec, &[])
}

/// `NAME=KIND@URL[,resource=ID][,region=R][,index=I]`; an endpoint on one of `allow_hosts` (a
/// gateway) may carry a path prefix.
pub fn parse_service_flag_allowing(
    spec: &str,
    allow_hosts: &[String],
) -> Result<Target, UsageError> {
    // The flag is echoed back escaped and without any password it carries.
    let shown = mask_userinfo(spec).escape_debug().to_string();
    let bad = |why: String| UsageError::new(format!("--service `{shown}`: {why}"));
    let (name, rest) = spec
        .split_once('=')
        .ok_or_else(|| bad("expected NAME=KIND@URL[,resource=ID][,region=R][,index=I]".into()))?;
    check_service_name(name.trim_matches(' ')).map_err(bad)?;
    let name = name.trim();
    let (kind, rest) = rest
        .split_once('@')
        .ok_or_else(|| bad("missing `@URL` after the kind".into()))?;
    let kind = parse_kind(kind.trim()).map_err(bad)?;
    let mut parts = rest.split(',');
    let endpoint = parts.next().unwrap_or_default();
    if endpoint.chars().any(char::is_control) {
        return Err(bad("endpoint contains a control character".into()));
    }
    let endpoint = check_endpoint_input(kind, endpoint.trim(), allow_hosts)
        .map_err(|e| bad(format!("endpoint {e}")))?;
    let mut target = Target {
        name: name.to_string(),
        kind,
        endpoint,
        resource_id: None,
        region: None,
        index: None,
        audience: None,
    };
    for part in parts {
        let (key, value) = part
            .split_once('=')
            .ok_or_else(|| bad(format!("`{}` is not KEY=VALUE", part.escape_debug())))?;
        // Checked before trimming: a trailing line break is a pasted control character too.
        check_text(key.trim(), value).map_err(bad)?;
        let value = Some(value.trim().to_string()).filter(|v| !v.is_empty());
        match key.trim() {
            "resource" | "resource_id" => target.resource_id = value,
            "region" => target.region = value,
            "index" => target.index = value,
            "audience" => target.audience = value,
            other => {
                return Err(bad(format!(
                    "unknown option `{}` (expected resource, region, index or audience)",
                    other.escape_debug()
                )));
            }
        }
    }
    check_target_options(&target).map_err(bad)?;
    Ok(target)
}

/// The longest service name accepted: it is a column header and an `--expect-deny` key.
const MAX_NAME_CHARS: usize = 256;

/// A service name is a column header and a `--expect-deny` key: keep it plain and short.
pub(crate) fn check_service_name(name: &str) -> Result<(), String> {
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!(
            "service name `{}…` is longer than {MAX_NAME_CHARS} characters",
            name.chars().take(40).collect::<String>().escape_debug()
        ));
    }
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.:/@".contains(c))
    {
        // ':' and '/' name surfaces and projects (design §4: `ACCOUNT:SURFACE`, `ACCOUNT/PROJECT`);
        // '@' tells apart discovered resources of one name (`NAME@RESOURCE_GROUP`).
        return Err(format!(
            "service name `{}` must be letters, digits, '-', '_', '.', ':', '/' or '@'",
            name.escape_debug()
        ));
    }
    Ok(())
}

/// `resource`, `region` and `index` of a target: plain text, no placeholder, an ARM id where one
/// is expected.
fn check_target_options(target: &Target) -> Result<(), String> {
    for (field, value) in [
        ("resource", &target.resource_id),
        ("region", &target.region),
        ("index", &target.index),
        ("audience", &target.audience),
    ] {
        if let Some(value) = value {
            check_text(field, value)?;
        }
    }
    check_audience(target.audience.as_deref())?;
    check_resource_id(target.resource_id.as_deref())
}

/// An audience is a resource URI (`https://ai.azure.com`), not a scope or a URL with a path:
/// the token request appends `/.default` itself.
fn check_audience(audience: Option<&str>) -> Result<(), String> {
    let Some(audience) = audience else {
        return Ok(());
    };
    let shown: String = audience
        .chars()
        .take(100)
        .collect::<String>()
        .escape_debug()
        .to_string();
    let ok = url::Url::parse(audience).is_ok_and(|u| {
        u.scheme() == "https"
            && u.host_str().is_some_and(|h| !h.is_empty())
            && u.path().trim_end_matches('/').is_empty()
            && u.query().is_none()
            && u.username().is_empty()
    }) && audience.len() <= 200;
    if ok {
        Ok(())
    } else {
        Err(format!(
            "audience `{shown}` is not a resource URI such as `https://ai.azure.com` or \
             `https://cognitiveservices.azure.com` (no path, no `/.default`)"
        ))
    }
}

/// Is this an example's placeholder rather than a value: `…`, `...` or `<…>`?
fn is_placeholder(value: &str) -> bool {
    value.contains('…') || value.contains("...") || value.contains(['<', '>'])
}

/// Text from a flag or the config file that reaches requests, reports and CI logs: no control
/// characters (a CR/LF forges log lines and headers) and no placeholder copied from an example.
fn check_text(field: &str, value: &str) -> Result<(), String> {
    let shown: String = value
        .chars()
        .take(300)
        .collect::<String>()
        .escape_debug()
        .to_string();
    if value.chars().any(char::is_control) {
        return Err(format!(
            "{field} `{shown}` contains a control character (a line break, tab or escape); remove it"
        ));
    }
    if is_placeholder(value) {
        return Err(format!(
            "{field} `{shown}` still holds a placeholder (`…`, `...` or `<…>`) from an example; give the real value"
        ));
    }
    Ok(())
}

fn check_resource_id(id: Option<&str>) -> Result<(), String> {
    match id {
        Some(id) if !id.to_ascii_lowercase().starts_with("/subscriptions/") => Err(format!(
            "resource `{id}` is not an ARM resource id (/subscriptions/…/providers/…)"
        )),
        _ => Ok(()),
    }
}

/// Every output file can be written, checked before the run so that a long run (or wait) does
/// not end in "cannot write". An existing regular file is opened for appending (never
/// truncated); a missing one is created and removed again, the only sure test of the folder's
/// permissions, so nothing is left behind. A FIFO or device is not opened: opening a FIFO blocks
/// until a reader comes.
fn writable(outputs: Vec<OutputSpec>) -> Result<Vec<OutputSpec>, UsageError> {
    for path in outputs.iter().filter_map(|o| o.path.as_ref()) {
        check_writable(path).map_err(|e| {
            UsageError::new(format!(
                "output file {}: cannot be written: {e}",
                path.display().to_string().escape_debug()
            ))
        })?;
    }
    Ok(outputs)
}

fn check_writable(path: &Path) -> std::io::Result<()> {
    use std::fs::OpenOptions;
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => Err(std::io::Error::other("it is a folder")),
        Ok(meta) if meta.is_file() => OpenOptions::new().append(true).open(path).map(drop),
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .map(drop)?;
            std::fs::remove_file(path)
        }
        Err(e) => Err(e),
    }
}

pub fn parse_outputs(args: &OutputArgs) -> Result<Vec<OutputSpec>, UsageError> {
    let mut outputs = Vec::new();
    for item in &args.outputs {
        let (name, path) = match item.split_once('=') {
            Some((n, p)) if !p.is_empty() => (n, Some(PathBuf::from(p))),
            Some((n, _)) => {
                return Err(UsageError::new(format!(
                    "--output `{item}`: missing path after `{n}=`"
                )));
            }
            None => (item.as_str(), None),
        };
        let format = Format::parse(name).ok_or_else(|| {
            UsageError::new(format!(
                "--output `{name}`: unknown format (expected one of: {})",
                Format::NAMES
            ))
        })?;
        outputs.push(OutputSpec { format, path });
    }
    if let Some(file) = &args.output_file {
        let stdout_count = outputs.iter().filter(|o| o.path.is_none()).count();
        match (outputs.is_empty(), stdout_count) {
            (true, _) => outputs.push(OutputSpec {
                format: Format::Table,
                path: Some(file.clone()),
            }),
            (false, 1) => {
                if let Some(only) = outputs.iter_mut().find(|o| o.path.is_none()) {
                    only.path = Some(file.clone());
                }
            }
            _ => {
                return Err(UsageError::new(
                    "--output-file: says where the one stdout format goes; with several formats use --output FORMAT=PATH",
                ));
            }
        }
    }
    let to_stdout = outputs.iter().filter(|o| o.path.is_none()).count();
    if to_stdout > 1 {
        return Err(UsageError::new(
            "--output: only one format can go to stdout; write the others with FORMAT=PATH",
        ));
    }
    Ok(outputs)
}

/// `90s`, `5m`, `1h30m`, `250ms`, or a bare number of seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    parse_duration_within(text, Duration::from_secs(24 * 3600), "24h")
}

/// A duration of at most `max` (written `max_text` in the message): ms, s, m, h or d, summed
/// (`1h30m`); a bare number is seconds.
pub fn parse_duration_within(
    text: &str,
    max: Duration,
    max_text: &str,
) -> Result<Duration, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("empty duration (expected e.g. 30s, 5m, 1h)".into());
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    if let Ok(secs) = t.parse::<u64>() {
        // A bare number is seconds, under the same cap as any other duration.
        total = Duration::from_secs(secs);
        rest = "";
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!(
                "`{text}` is not a duration (expected e.g. 30s, 5m, 1h)"
            ));
        }
        let n: u64 = rest[..digits]
            .parse()
            .map_err(|_| format!("`{text}`: number too large"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let unit = match &rest[..unit_len] {
            "ms" => Duration::from_millis(n),
            "s" => Duration::from_secs(n),
            "m" => Duration::from_secs(n.saturating_mul(60)),
            "h" => Duration::from_secs(n.saturating_mul(3600)),
            "d" => Duration::from_secs(n.saturating_mul(24 * 3600)),
            other => {
                return Err(format!(
                    "`{text}`: unknown unit `{other}` (use ms, s, m, h or d)"
                ));
            }
        };
        total = total.saturating_add(unit);
        rest = &rest[unit_len..];
    }
    if total > max {
        return Err(format!("`{text}` is more than {max_text}"));
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_expiry_horizon_takes_days_up_to_a_year() {
        let max = MAX_EXPIRY_HORIZON;
        assert_eq!(
            parse_duration_within("7d", max, "366d"),
            Ok(Duration::from_secs(7 * 24 * 3600))
        );
        assert_eq!(parse_duration_within("0s", max, "366d"), Ok(Duration::ZERO));
        let err = parse_duration_within("400d", max, "366d").unwrap_err();
        assert!(err.contains("more than 366d"), "{err}");
        // Other durations stay within a day.
        assert!(parse_duration("2d").unwrap_err().contains("more than 24h"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_duration("12"), Ok(Duration::from_secs(12)));
        assert!(parse_duration("5x").unwrap_err().contains("unknown unit"));
        assert!(parse_duration("m").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("99999999999999999999s").is_err());
        assert!(
            parse_duration("999999").unwrap_err().contains("24h"),
            "a bare number is capped like any other"
        );
    }

    #[test]
    fn service_flags() {
        let t = parse_service_flag(
            "oai=openai@https://x.openai.azure.com/,resource=/subscriptions/s/rg",
        )
        .unwrap();
        assert_eq!(t.kind, ServiceKind::Openai);
        assert_eq!(t.resource_id.as_deref(), Some("/subscriptions/s/rg"));
        for (bad, needle) in [
            ("oai", "expected NAME=KIND@URL"),
            ("oai=gpt@https://x", "unknown kind `gpt`"),
            ("oai=openai@http://x.openai.azure.com", "must use https"),
            (
                "oai=openai@https://x.openai.azure.com,colour=blue",
                "unknown option `colour`",
            ),
            ("=openai@https://x", "service name"),
            ("oai=openai", "missing `@URL`"),
            ("o=openai@https://x,resource=abc", "not an ARM resource id"),
        ] {
            let e = parse_service_flag(bad).unwrap_err().to_string();
            assert!(e.contains(needle), "{bad}: {e}");
            assert!(e.contains(bad), "{bad}: the message names the input: {e}");
        }
    }

    #[test]
    fn outputs() {
        let o = |v: &[&str], file: Option<&str>| {
            parse_outputs(&OutputArgs {
                outputs: v.iter().map(|s| s.to_string()).collect(),
                output_file: file.map(PathBuf::from),
                only_failures: false,
            })
        };
        assert_eq!(o(&["table", "junit=r.xml"], None).unwrap().len(), 2);
        assert!(
            o(&["table", "json"], None)
                .unwrap_err()
                .to_string()
                .contains("only one format")
        );
        assert!(
            o(&["yaml"], None)
                .unwrap_err()
                .to_string()
                .contains("unknown format")
        );
        assert_eq!(
            o(&["json"], Some("out.json")).unwrap()[0].path,
            Some(PathBuf::from("out.json"))
        );
    }
}
