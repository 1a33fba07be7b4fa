//! Credential sources (design §3): one file per source behind one [`acquire`] entry point.
//! Each source is tried on its own; there is never a fallback from one to another.
//!
//! Every source reads its configuration from [`CredentialContext::env`] (a snapshot taken once
//! in `main`), sends its HTTP through the tool's one client, and runs under the tool's own
//! deadline. What azure_identity 1.0 still reads from the process environment itself is noted
//! where it happens (managed identity's `IDENTITY_ENDPOINT`/`IDENTITY_HEADER`).

mod azd;
mod azure_cli;
mod certificate;
mod environment;
pub(crate) mod errors;
mod federated;
mod github_actions;
#[cfg(test)]
mod local_tests;
mod managed_identity;
mod pipelines;
mod process;
pub(crate) mod transport;
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
}

impl SourceId {
    pub const ALL: [SourceId; 7] = [
        SourceId::Environment,
        SourceId::WorkloadIdentity,
        SourceId::ManagedIdentity,
        SourceId::AzureCli,
        SourceId::AzureDeveloperCli,
        SourceId::AzurePipelines,
        SourceId::GithubActions,
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
    }
}

/// The order of `DefaultAzureCredential` in Python and .NET, restricted to the sources this tool
/// knows (the chains also hold shared-cache, VS/VS Code and PowerShell sources between
/// managed identity and az, which the tool does not try). Pipelines and GitHub are not in it.
pub const DEFAULT_CHAIN_ORDER: [SourceId; 5] = [
    SourceId::Environment,
    SourceId::WorkloadIdentity,
    SourceId::ManagedIdentity,
    SourceId::AzureCli,
    SourceId::AzureDeveloperCli,
];

/// Which row `DefaultAzureCredential` (Python/.NET order) would pick here, from configuration
/// alone. IMDS cannot be seen from configuration: managed identity counts only when an
/// App Service / Cloud Shell endpoint variable is set. Use [`default_chain_pick_observed`] once
/// the rows have been tried.
pub fn default_chain_pick(env: &BTreeMap<String, String>) -> Option<SourceId> {
    let has = |name: &str| non_empty(env, name).is_some();
    let ids = has("AZURE_TENANT_ID") && has("AZURE_CLIENT_ID");
    if ids
        && (has("AZURE_CLIENT_SECRET")
            || has("AZURE_CLIENT_CERTIFICATE_PATH")
            || (has("AZURE_USERNAME") && has("AZURE_PASSWORD")))
    {
        return Some(SourceId::Environment);
    }
    if ids && has("AZURE_FEDERATED_TOKEN_FILE") {
        return Some(SourceId::WorkloadIdentity);
    }
    if has("IDENTITY_ENDPOINT") || has("MSI_ENDPOINT") {
        return Some(SourceId::ManagedIdentity);
    }
    if process::find_on_path(env, "az").is_some() {
        return Some(SourceId::AzureCli);
    }
    if process::find_on_path(env, "azd").is_some() {
        return Some(SourceId::AzureDeveloperCli);
    }
    None
}

/// The chain's pick given what each row did: it skips unavailable sources and stops at the first
/// that either returned a token or failed outright (Python's chain raises there; it does not
/// move on past an authentication error).
pub fn default_chain_pick_observed(
    rows: &[(SourceId, crate::probe::CredentialStatus)],
) -> Option<SourceId> {
    DEFAULT_CHAIN_ORDER.into_iter().find(|id| {
        rows.iter()
            .any(|(row, status)| row == id && *status != crate::probe::CredentialStatus::Skipped)
    })
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
    fn default_chain_follows_the_python_order() {
        let ids = [("AZURE_TENANT_ID", "t"), ("AZURE_CLIENT_ID", "c")];
        let mut e = env(&ids);
        e.insert("AZURE_CLIENT_SECRET".into(), "s".into());
        e.insert("AZURE_FEDERATED_TOKEN_FILE".into(), "/f".into());
        e.insert("IDENTITY_ENDPOINT".into(), "http://x".into());
        assert_eq!(default_chain_pick(&e), Some(SourceId::Environment));
        e.remove("AZURE_CLIENT_SECRET");
        assert_eq!(default_chain_pick(&e), Some(SourceId::WorkloadIdentity));
        e.remove("AZURE_FEDERATED_TOKEN_FILE");
        assert_eq!(default_chain_pick(&e), Some(SourceId::ManagedIdentity));
        // An empty variable is not configuration.
        e.insert("IDENTITY_ENDPOINT".into(), " ".into());
        e.insert("PATH".into(), "/nonexistent-dir".into());
        assert_eq!(default_chain_pick(&e), None);
    }

    #[test]
    fn observed_chain_stops_at_the_first_source_that_did_not_skip() {
        use crate::probe::CredentialStatus::*;
        let rows = [
            (SourceId::AzureCli, Acquired),
            (SourceId::Environment, Failed),
            (SourceId::ManagedIdentity, Skipped),
        ];
        assert_eq!(
            default_chain_pick_observed(&rows),
            Some(SourceId::Environment)
        );
        let rows = [
            (SourceId::GithubActions, Acquired),
            (SourceId::ManagedIdentity, Skipped),
        ];
        assert_eq!(default_chain_pick_observed(&rows), None);
    }
}
