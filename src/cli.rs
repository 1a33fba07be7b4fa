//! Command-line definitions (clap) and nothing else; `main.rs` turns them into a run.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// `entraprobe --version`: the package version and the commit it was built from (build.rs).
pub const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (",
    env!("ENTRAPROBE_BUILD_COMMIT"),
    ")"
);

#[derive(Debug, Parser)]
#[command(
    name = "entraprobe",
    version = VERSION,
    about = "Verify Microsoft Entra ID access to Azure AI services",
    long_about = "Verify Microsoft Entra ID access to Azure AI services.\n\n\
        For every credential source on this machine and every configured service, entraprobe \
        gets a token, decodes its claims, checks the role assignments that grant the needed \
        data action, sends one minimal call, and prints a pass/fail matrix with the root cause \
        and the fix under every failure.\n\n\
        Exit codes: 0 every cell met its expectation, 1 at least one did not, 2 bad input, \
        3 no failure but something inconclusive.",
    after_help = "Start with `entraprobe demo` (no Azure needed), then `entraprobe run --service NAME=KIND@URL`."
)]
pub struct Cli {
    /// List every HTTP exchange on stderr (method, host, path, status, time, request id;
    /// never a token, secret or query value other than api-version).
    #[arg(long, short = 'v', global = true)]
    pub verbose: bool,
    #[command(subcommand)]
    pub command: Command,
}

// `run`'s arguments dwarf the others; the enum is built once per process, so boxing would buy
// nothing but noise in every match.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Probe every credential source against every configured service and print the matrix.
    Run(RunArgs),
    /// Run the whole tool against the embedded Azure emulator (no Azure needed).
    Demo(DemoArgs),
    /// Run the Azure emulator in the foreground and write the environment that points clients at it.
    Emulate(EmulateArgs),
    /// Get a token from one credential source and show its identity and decoded claims.
    ///
    /// Exit codes: 0 a token whose claims fit the scope, 1 no token or a claim problem (wrong
    /// audience, expired), 2 bad input, 3 the source is not configured on this machine.
    Token(TokenArgs),
    /// Decode a JWT (argument or stdin) and check its claims; nothing leaves the machine.
    Decode(DecodeArgs),
    /// Explain a finding code (like `rustc --explain`), or list them all.
    Explain(ExplainArgs),
    /// Print a shell completion script (bash, zsh, fish, powershell, elvish) on stdout.
    ///
    /// For example `entraprobe completions bash > ~/.local/share/bash-completion/completions/entraprobe`,
    /// or `entraprobe completions zsh > "${fpath[1]}/_entraprobe"`.
    Completions(CompletionsArgs),
    /// Print the manual page (roff) on stdout: `entraprobe man > entraprobe.1; man ./entraprobe.1`.
    Man,
}

#[derive(Debug, Clone, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// Output flags shared by `run` and `demo`.
#[derive(Debug, Clone, Args)]
pub struct OutputArgs {
    /// Output format, repeatable: table, json, junit, markdown, github, azdo. `FORMAT=PATH`
    /// writes that format to a file (e.g. `--output table --output junit=report.xml`).
    #[arg(long = "output", short = 'o', value_name = "FORMAT[=PATH]")]
    pub outputs: Vec<String>,
    /// Write the (single) output to this file instead of stdout.
    #[arg(long, value_name = "PATH")]
    pub output_file: Option<PathBuf>,
    /// Show only the cells not as expected or inconclusive in the table, markdown, JUnit and
    /// annotations (the summary still counts every cell; JSON always has every cell).
    #[arg(long)]
    pub only_failures: bool,
}

#[derive(Debug, Clone, Args)]
pub struct RunArgs {
    /// TOML file with services, credential selection and expectations (see docs/configuration.md).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// A service to probe, repeatable: NAME=KIND@URL[,resource=ID][,region=R][,index=I].
    /// KIND is openai, speech, vision, language, translator, document-intelligence,
    /// content-safety or search.
    #[arg(long = "service", short = 's', value_name = "NAME=KIND@URL[,…]")]
    pub services: Vec<String>,
    /// Only these credential sources (comma-separated): environment, workload-identity,
    /// managed-identity, azure-cli, azure-developer-cli, azure-pipelines, github-actions,
    /// azure-powershell. A named
    /// source must be configured here: one that is not fails its cells instead of skipping.
    #[arg(long = "credential", value_delimiter = ',', value_name = "ID,…")]
    pub credentials: Vec<String>,
    /// Expect this cell to be denied (least privilege), repeatable: CREDENTIAL:SERVICE.
    #[arg(long = "expect-deny", value_name = "CREDENTIAL:SERVICE")]
    pub expect_deny: Vec<String>,
    /// Poll until every expected-allow cell passes or this much time has gone (e.g. 5m, 90s).
    #[arg(long, value_name = "DURATION")]
    pub wait_for_access: Option<String>,
    /// Deadline for each network call (token, ARM, probe), e.g. 10s.
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    /// Warn when a cell's access rests on time-bound (PIM) role assignments that end within
    /// this window (default 24h; 0s turns the check and its ARM read off).
    #[arg(long, value_name = "DURATION")]
    pub expiry_horizon: Option<String>,
    /// Azure cloud: public, usgov or china.
    #[arg(long, value_name = "CLOUD")]
    pub cloud: Option<String>,
    /// Extra root CA (PEM) to trust, e.g. a TLS-inspecting proxy's or the emulator's.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Allow sending a token to this non-Azure host (e.g. an API Management gateway), repeatable.
    #[arg(long = "allow-host", value_name = "HOST")]
    pub allow_hosts: Vec<String>,
    /// Check a principal this machine cannot act as (its object id, or a user-assigned managed
    /// identity's resource id), reading ARM with your own credential. Repeatable. Role
    /// assignments only: no data-plane call is made for it.
    #[arg(long = "principal", value_name = "ID")]
    pub principals: Vec<String>,
    /// Data-plane probes in flight at once (default 32). Each holds one socket until its
    /// answer; keep it well under `ulimit -n`.
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// ARM requests in flight at once (default 16).
    #[arg(long, value_name = "N")]
    pub arm_concurrency: Option<usize>,
    /// Find the services to probe through Azure Resource Graph: every Cognitive Services
    /// account, Foundry project and Search service the discovery credential can read, each on
    /// its kind's default surfaces (added to --service and the config file's services).
    #[arg(long, help_heading = "Discovery")]
    pub discover: bool,
    /// With --discover: a subscription to search, by id or display name (repeatable; default:
    /// every subscription the discovery credential can see).
    #[arg(
        long = "subscription",
        value_name = "ID|NAME",
        help_heading = "Discovery"
    )]
    pub subscriptions: Vec<String>,
    /// With --discover: only this resource group.
    #[arg(long, value_name = "NAME", help_heading = "Discovery")]
    pub resource_group: Option<String>,
    /// With --discover: only resources with this tag (repeatable; all must match).
    #[arg(long = "tag", value_name = "KEY=VALUE", help_heading = "Discovery")]
    pub tags: Vec<String>,
    /// With --discover: the credential source that lists the estate (default: the first
    /// source that gets an ARM token, in --credential order).
    #[arg(long, value_name = "ID", help_heading = "Discovery")]
    pub discovery_credential: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// A scenario file (TOML, see docs/emulator.md); without it, a built-in organisation.
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
    /// Only these credential sources (comma-separated).
    #[arg(long = "credential", value_delimiter = ',', value_name = "ID,…")]
    pub credentials: Vec<String>,
    /// Expect this cell to be denied, repeatable: CREDENTIAL:SERVICE.
    #[arg(long = "expect-deny", value_name = "CREDENTIAL:SERVICE")]
    pub expect_deny: Vec<String>,
    /// Poll until every expected-allow cell passes or this much time has gone.
    #[arg(long, value_name = "DURATION")]
    pub wait_for_access: Option<String>,
    /// Deadline for each network call.
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
    #[command(flatten)]
    pub output: OutputArgs,
}

#[derive(Debug, Clone, Args)]
pub struct EmulateArgs {
    /// The scenario to serve (TOML, see docs/emulator.md).
    #[arg(long, value_name = "FILE")]
    pub scenario: PathBuf,
    /// Loopback port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    pub port: u16,
    /// Where to write the environment (KEY=VALUE lines) that points a client at the emulator.
    #[arg(long, value_name = "PATH")]
    pub env_file: Option<PathBuf>,
}

#[derive(Debug, Clone, Args)]
pub struct TokenArgs {
    /// The credential source to use.
    #[arg(long, value_name = "ID")]
    pub credential: String,
    /// Scope to request, RESOURCE/.default (default: the Cognitive Services scope of the cloud,
    /// https://cognitiveservices.azure.com/.default).
    #[arg(long, value_name = "SCOPE", value_parser = parse_scope)]
    pub scope: Option<String>,
    /// Print the raw token on stdout (it is a secret: a warning goes to stderr).
    #[arg(long)]
    pub raw: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Azure cloud: public, usgov or china.
    #[arg(long, value_name = "CLOUD")]
    pub cloud: Option<String>,
    /// Extra root CA (PEM) to trust.
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Deadline for the token request.
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,
}

/// `--scope`: a resource's `/.default` scope. A bare resource URL is what the CLIs' `--resource`
/// and IMDS take, so it is a common slip; Entra ID refuses it for every app and managed-identity
/// flow (AADSTS1002012: "Client credential flows must have a scope value with /.default
/// suffixed to the resource identifier"), so it is refused here, with the scope to give instead.
/// Appended literally: ARM's documented scope is `https://management.core.windows.net//.default`.
pub fn parse_scope(value: &str) -> Result<String, String> {
    let value = value.trim();
    if value.is_empty() {
        return Err("the scope is empty; e.g. https://cognitiveservices.azure.com/.default".into());
    }
    if value.contains(char::is_whitespace) || value.contains(',') {
        return Err("give one scope (no spaces or commas)".into());
    }
    if !value.ends_with("/.default") {
        return Err(format!(
            "a token scope ends in /.default (Entra ID issues app, managed identity and CLI tokens for RESOURCE/.default); use --scope {value}/.default"
        ));
    }
    Ok(value.to_string())
}

#[derive(Debug, Clone, Args)]
pub struct DecodeArgs {
    /// The JWT, or `-` to read it from stdin. Nothing: from stdin, or on a terminal a prompt
    /// to paste it (one line).
    pub token: Option<String>,
    /// The audience the token is meant for (checked when given).
    #[arg(long, value_name = "AUDIENCE")]
    pub audience: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Clone, Args)]
pub struct ExplainArgs {
    /// The finding code, e.g. `management-role-only`.
    #[arg(required_unless_present = "list")]
    pub code: Option<String>,
    /// List every finding code.
    #[arg(long)]
    pub list: bool,
}
