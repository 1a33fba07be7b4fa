//! Credential sources (design §3): one file per source behind one [`acquire`] entry point.
//! Each source is tried on its own; there is never a fallback from one to another.
//!
//! Every source reads its configuration from [`CredentialContext::env`] (a snapshot taken once
//! in `main`), sends its HTTP through the tool's one client, and runs under the tool's own
//! deadline. What azure_identity 1.0 still reads from the process environment itself is noted
//! where it happens (managed identity's `IDENTITY_ENDPOINT`/`IDENTITY_HEADER`).

mod azd;
mod azure_cli;
mod azure_powershell;
pub mod certificate;
mod environment;
pub mod errors;
mod federated;
mod github_actions;
#[cfg(test)]
mod local_tests;
mod managed_identity;
mod pipelines;
mod process;
pub mod transport;
mod workload;

use crate::cloud::CloudProfile;
use crate::diagnosis::{Code, Finding};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

/// Stable row ids; they appear in JSON and JUnit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceId {
    Environment,
    WorkloadIdentity,
    ManagedIdentity,
    AzureCli,
    AzureDeveloperCli,
    AzurePipelines,
    GithubActions,
    #[serde(rename = "azure-powershell")]
    AzurePowerShell,
}

impl SourceId {
    pub const ALL: [SourceId; 8] = [
        SourceId::Environment,
        SourceId::WorkloadIdentity,
        SourceId::ManagedIdentity,
        SourceId::AzureCli,
        SourceId::AzureDeveloperCli,
        SourceId::AzurePipelines,
        SourceId::GithubActions,
        SourceId::AzurePowerShell,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            SourceId::Environment => "environment",
            SourceId::WorkloadIdentity => "workload-identity",
            SourceId::ManagedIdentity => "managed-identity",
            SourceId::AzureCli => "azure-cli",
            SourceId::AzureDeveloperCli => "azure-developer-cli",
            SourceId::AzurePipelines => "azure-pipelines",
            SourceId::GithubActions => "github-actions",
            SourceId::AzurePowerShell => "azure-powershell",
        }
    }
    pub fn parse(text: &str) -> Option<SourceId> {
        SourceId::ALL.into_iter().find(|s| s.as_str() == text)
    }
}

impl std::fmt::Display for SourceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A bearer token. It never prints itself: `Debug` and `Display` show `[REDACTED]`; the one way
/// to the value is [`AccessToken::secret`].
#[derive(Clone, PartialEq, Eq)]
pub struct AccessToken(String);

impl AccessToken {
    pub fn new(token: impl Into<String>) -> AccessToken {
        AccessToken(token.into())
    }
    pub fn secret(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(crate::redact::REDACTED)
    }
}

impl std::fmt::Display for AccessToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(crate::redact::REDACTED)
    }
}

/// Which user-assigned managed identity to ask for (configuration; IMDS takes exactly one).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum UserAssignedSelector {
    ClientId(String),
    ObjectId(String),
    ResourceId(String),
}

impl UserAssignedSelector {
    fn describe(&self) -> String {
        match self {
            UserAssignedSelector::ClientId(id) => format!("client id {id}"),
            UserAssignedSelector::ObjectId(id) => format!("object id {id}"),
            UserAssignedSelector::ResourceId(id) => format!("resource id {id}"),
        }
    }
}

/// Everything a source needs; built once per run. Its `Debug` lists variable names only: the
/// snapshot holds secrets.
#[derive(Clone)]
pub struct CredentialContext {
    pub http: reqwest::Client,
    pub cloud: &'static CloudProfile,
    /// Deadline for one token request (a CLI run included).
    pub timeout: Duration,
    /// Snapshot of the process environment, taken once in `main`.
    pub env: BTreeMap<String, String>,
    pub user_assigned: Option<UserAssignedSelector>,
    /// The IMDS probe's answer, asked once per context however many scopes want a token.
    pub imds_probe: tokio::sync::OnceCell<Result<(), String>>,
}

impl std::fmt::Debug for CredentialContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CredentialContext")
            .field("cloud", &self.cloud.name)
            .field("timeout", &self.timeout)
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("user_assigned", &self.user_assigned)
            .finish_non_exhaustive()
    }
}

impl CredentialContext {
    /// A non-empty variable from the snapshot.
    pub(crate) fn var(&self, name: &str) -> Option<&str> {
        non_empty(&self.env, name)
    }

    /// The transport for one token request: bounded bodies, retries within the deadline, and a
    /// memory of the last answer (see [`transport`]).
    pub(crate) fn token_transport(&self) -> Arc<transport::TokenTransport> {
        Arc::new(transport::TokenTransport::new(
            self.http.clone(),
            self.timeout,
        ))
    }

    /// Client options every azure_identity credential gets: our transport, our cloud, no SDK
    /// retries (the transport retries, and waits under the tool's own deadline).
    pub(crate) fn client_options(
        &self,
        wire: &Arc<transport::TokenTransport>,
    ) -> azure_core::http::ClientOptions {
        let mut cloud = azure_core::cloud::CustomConfiguration::default();
        cloud.authority_host = self.authority_host();
        azure_core::http::ClientOptions {
            transport: Some(azure_core::http::Transport::new(wire.clone())),
            retry: azure_core::http::RetryOptions::none(),
            cloud: Some(Arc::new(cloud.into())),
            ..Default::default()
        }
    }

    /// The selected cloud's authority, unless `AZURE_AUTHORITY_HOST` names another one (the
    /// Azure SDKs honour that variable, so the tool does too).
    pub(crate) fn authority_host(&self) -> String {
        self.var("AZURE_AUTHORITY_HOST")
            .map(|h| h.trim_end_matches('/').to_string())
            .unwrap_or_else(|| self.cloud.authority_host.to_string())
    }
}

/// `AZURE_AUTHORITY_HOST` receives client secrets and assertions: anything but an https URL
/// would hand them to whoever listens there, so it is refused before any source runs, when one
/// of `sources` would send it something.
pub fn check_authority_host(
    env: &BTreeMap<String, String>,
    sources: &[SourceId],
) -> Result<(), crate::UsageError> {
    // The CLIs and managed identity never send anything there.
    let uses_authority = |id: &SourceId| {
        matches!(
            id,
            SourceId::Environment
                | SourceId::WorkloadIdentity
                | SourceId::AzurePipelines
                | SourceId::GithubActions
        )
    };
    if !sources.iter().any(uses_authority) {
        return Ok(());
    }
    let Some(value) = env
        .get("AZURE_AUTHORITY_HOST")
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
    else {
        return Ok(());
    };
    match url::Url::parse(value) {
        Ok(u) if u.scheme() == "https" && u.host_str().is_some() => Ok(()),
        _ => Err(crate::UsageError::new(format!(
            "AZURE_AUTHORITY_HOST `{value}` is not an https URL; secrets and assertions are sent \
             there, so entraprobe will not use it (for Azure public cloud, unset it or use \
             https://login.microsoftonline.com)"
        ))),
    }
}

fn non_empty<'a>(env: &'a BTreeMap<String, String>, name: &str) -> Option<&'a str> {
    env.get(name).map(|v| v.trim()).filter(|v| !v.is_empty())
}

/// What one source produced.
#[derive(Debug, Clone)]
pub enum Acquisition {
    Acquired {
        token: AccessToken,
        expires_on: time::OffsetDateTime,
    },
    /// Not configured or not available here; never a failure.
    Skipped {
        reason: String,
        findings: Vec<Finding>,
    },
    /// Configured, and it did not work. Most specific finding first.
    Failed { findings: Vec<Finding> },
}

impl Acquisition {
    pub(crate) fn not_configured(source: SourceId, missing: &[&str]) -> Acquisition {
        let reason = format!("not configured: {} not set", missing.join(", "));
        Acquisition::Skipped {
            findings: vec![Finding::new(
                Code::CredentialNotConfigured,
                format!("{source}: {reason}"),
                format!("to use this source, set {}", missing.join(", ")),
            )],
            reason,
        }
    }
    pub(crate) fn failed(finding: Finding) -> Acquisition {
        Acquisition::Failed {
            findings: vec![finding],
        }
    }
    /// The row status a report shows for this outcome.
    pub fn status(&self) -> crate::probe::CredentialStatus {
        match self {
            Acquisition::Acquired { .. } => crate::probe::CredentialStatus::Acquired,
            Acquisition::Skipped { .. } => crate::probe::CredentialStatus::Skipped,
            Acquisition::Failed { .. } => crate::probe::CredentialStatus::Failed,
        }
    }
    pub fn findings(&self) -> &[Finding] {
        match self {
            Acquisition::Acquired { .. } => &[],
            Acquisition::Skipped { findings, .. } | Acquisition::Failed { findings } => findings,
        }
    }
}

/// Try one source for one scope (`https://cognitiveservices.azure.com/.default`).
pub async fn acquire(source: SourceId, scope: &str, ctx: &CredentialContext) -> Acquisition {
    match source {
        SourceId::Environment => environment::acquire(scope, ctx).await,
        SourceId::WorkloadIdentity => workload::acquire(scope, ctx).await,
        SourceId::ManagedIdentity => managed_identity::acquire(scope, ctx).await,
        SourceId::AzureCli => azure_cli::acquire(scope, ctx).await,
        SourceId::AzureDeveloperCli => azd::acquire(scope, ctx).await,
        SourceId::AzurePipelines => pipelines::acquire(scope, ctx).await,
        SourceId::GithubActions => github_actions::acquire(scope, ctx).await,
        SourceId::AzurePowerShell => azure_powershell::acquire(scope, ctx).await,
    }
}

/// The order of `DefaultAzureCredential` in Python (azure-identity 1.x `default.py`: environment,
/// workload identity, managed identity, [shared cache, VS Code], Azure CLI, Azure PowerShell,
/// Azure Developer CLI), restricted to the sources this tool knows; the bracketed ones are off
/// by default or Windows-only. Pipelines and GitHub are not in it.
pub const DEFAULT_CHAIN_ORDER: [SourceId; 6] = [
    SourceId::Environment,
    SourceId::WorkloadIdentity,
    SourceId::ManagedIdentity,
    SourceId::AzureCli,
    SourceId::AzurePowerShell,
    SourceId::AzureDeveloperCli,
];

/// Could the chain's `source` be available here, judging from configuration alone? An IMDS
/// cannot be seen in configuration, so managed identity is always a "maybe".
fn maybe_available(source: SourceId, env: &BTreeMap<String, String>) -> bool {
    let has = |name: &str| non_empty(env, name).is_some();
    let ids = has("AZURE_TENANT_ID") && has("AZURE_CLIENT_ID");
    match source {
        SourceId::Environment => {
            ids && (has("AZURE_CLIENT_SECRET")
                || has("AZURE_CLIENT_CERTIFICATE_PATH")
                || (has("AZURE_USERNAME") && has("AZURE_PASSWORD")))
        }
        SourceId::WorkloadIdentity => ids && has("AZURE_FEDERATED_TOKEN_FILE"),
        SourceId::ManagedIdentity => true,
        SourceId::AzureCli => process::find_on_path(env, "az").is_some(),
        SourceId::AzurePowerShell => process::find_on_path(env, "pwsh").is_some(),
        SourceId::AzureDeveloperCli => process::find_on_path(env, "azd").is_some(),
        SourceId::AzurePipelines | SourceId::GithubActions => false,
    }
}

/// Which row `DefaultAzureCredential` (Python/.NET order) would pick here, given what each row
/// did in this run. The chain skips unavailable sources and stops at the first that returned a
/// token, or that failed outright (Python's chain raises there: no pick). A pick is named only
/// when that source got a token in this run and every source before it in the chain is known to
/// be unavailable: skipped in this run, or (not tried) plainly unconfigured. A source before it
/// that was not tried and might be there (managed identity behind IMDS, a CLI on PATH) leaves
/// the pick unknown: `None`, rather than a guess.
pub fn default_chain_pick_observed(
    rows: &[(SourceId, crate::probe::CredentialStatus)],
    env: &BTreeMap<String, String>,
) -> Option<SourceId> {
    use crate::probe::CredentialStatus;
    for id in DEFAULT_CHAIN_ORDER {
        match rows.iter().find(|(row, _)| *row == id).map(|(_, s)| *s) {
            Some(CredentialStatus::Skipped) => continue,
            Some(CredentialStatus::Acquired) => return Some(id),
            Some(CredentialStatus::Failed) => return None,
            None if maybe_available(id, env) => return None,
            None => continue,
        }
    }
    None
}

/// Run one `get_token` under the tool's deadline and turn the answer into an [`Acquisition`].
/// `wire` is the transport the credential was built with: when the endpoint's own answer (a
/// 429 or 5xx that outlasted the retries, a body past the cap) is why there is no token, that
/// answer is the finding, not the SDK's rewording of it nor the deadline it ran into.
pub(crate) async fn get_token_with_deadline(
    source: SourceId,
    credential: &dyn azure_core::credentials::TokenCredential,
    scope: &str,
    ctx: &CredentialContext,
    wire: Option<&transport::TokenTransport>,
    failure: &errors::FailureContext<'_>,
) -> Acquisition {
    match tokio::time::timeout(ctx.timeout, credential.get_token(&[scope], None)).await {
        Err(_) => Acquisition::failed(match wire.and_then(|w| w.last_answer()) {
            Some(answer) => errors::endpoint_answer(source, &answer),
            None => errors::timeout(source, ctx.timeout),
        }),
        Ok(Ok(token)) => Acquisition::Acquired {
            token: AccessToken::new(crate::redact::register_token(token.token.secret())),
            expires_on: token.expires_on,
        },
        Ok(Err(err)) => errors::classify_with_answer(
            &errors::error_text(&err),
            wire.and_then(|w| w.last_answer()).as_ref(),
            failure,
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn access_token_never_prints_itself() {
        let t = AccessToken::new("eyJsecret.eyJpayload.sig");
        assert_eq!(format!("{t} {t:?}"), "[REDACTED] [REDACTED]");
        assert_eq!(t.secret(), "eyJsecret.eyJpayload.sig");
    }

    #[test]
    fn context_debug_shows_variable_names_not_values() {
        let ctx = CredentialContext {
            http: reqwest::Client::new(),
            cloud: crate::cloud::Cloud::Public.profile(),
            timeout: Duration::from_secs(1),
            env: env(&[("AZURE_CLIENT_SECRET", "do-not-print-me")]),
            user_assigned: None,
            imds_probe: Default::default(),
        };
        let shown = format!("{ctx:?}");
        assert!(
            shown.contains("AZURE_CLIENT_SECRET") && !shown.contains("do-not-print-me"),
            "{shown}"
        );
    }

    #[test]
    fn the_chain_names_a_pick_only_when_that_source_got_a_token() {
        use crate::probe::CredentialStatus::*;
        let no_tools = env(&[("PATH", "/nonexistent-dir")]);
        // Every chain source tried: the first that did not skip decides.
        let mut rows = vec![
            (SourceId::Environment, Skipped),
            (SourceId::WorkloadIdentity, Skipped),
            (SourceId::ManagedIdentity, Skipped),
            (SourceId::AzureCli, Skipped),
            (SourceId::AzurePowerShell, Acquired),
            (SourceId::AzureDeveloperCli, Acquired),
        ];
        assert_eq!(
            default_chain_pick_observed(&rows, &no_tools),
            Some(SourceId::AzurePowerShell)
        );
        // A failing source before it stops the chain: Python raises, nothing is picked.
        rows[3].1 = Failed;
        assert_eq!(default_chain_pick_observed(&rows, &no_tools), None);
        // az installed but logged out is skipped by the chain, so PowerShell still wins.
        rows[3].1 = Skipped;
        // Only azure-cli tried (`--credential azure-cli`), and it got a token: the sources before
        // it were not tried, and managed identity may be there (IMDS): unknown, not a guess.
        let only_cli = [(SourceId::AzureCli, Acquired)];
        assert_eq!(default_chain_pick_observed(&only_cli, &no_tools), None);
        // az on PATH but not logged in: never "would pick azure-cli".
        let cli_skipped = [
            (SourceId::Environment, Skipped),
            (SourceId::WorkloadIdentity, Skipped),
            (SourceId::ManagedIdentity, Skipped),
            (SourceId::AzureCli, Skipped),
        ];
        assert_eq!(default_chain_pick_observed(&cli_skipped, &no_tools), None);
        let rows = [
            (SourceId::GithubActions, Acquired),
            (SourceId::ManagedIdentity, Skipped),
        ];
        assert_eq!(default_chain_pick_observed(&rows, &no_tools), None);
    }

    #[test]
    fn powershell_sits_between_the_azure_cli_and_azd_in_the_chain() {
        let at = |id| DEFAULT_CHAIN_ORDER.iter().position(|s| *s == id).unwrap();
        assert_eq!(at(SourceId::AzurePowerShell), at(SourceId::AzureCli) + 1);
        assert_eq!(
            at(SourceId::AzureDeveloperCli),
            at(SourceId::AzurePowerShell) + 1
        );
        assert_eq!(
            SourceId::parse("azure-powershell"),
            Some(SourceId::AzurePowerShell)
        );
        // The JSON row id is the same stable id.
        for id in SourceId::ALL {
            assert_eq!(serde_json::to_value(id).unwrap(), id.as_str());
        }
    }
}
