//! Credential sources (design §3): one file per source behind one [`acquire`] entry point.
//! Each source is tried on its own; there is never a fallback from one to another.

use serde::Serialize;

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
