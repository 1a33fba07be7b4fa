//! The runner: plan (credential × target), run the stages concurrently, assemble the matrix.
//!
//! The types here are the report's data model: `report/` renders them, the JSON renderer
//! serializes them as they are (design §5.3, schema version 1).

use crate::credential::SourceId;
use crate::diagnosis::Finding;
use crate::service::Target;
use serde::Serialize;

pub mod runner;

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CredentialStatus {
    Acquired,
    Skipped,
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalType {
    User,
    ServicePrincipal,
    ManagedIdentity,
}

/// Who a token says its caller is (from the claims; never the token itself).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Principal {
    pub object_id: String,
    pub tenant_id: String,
    #[serde(rename = "type")]
    pub kind: PrincipalType,
    /// UPN for users, the managed identity's resource id, or the app id.
    pub display: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
}

/// A row of the matrix: a credential source of this machine, or (admin mode, `--principal`) a
/// principal checked through ARM only. Serialized as the source id, or `principal:{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RowId {
    Source(SourceId),
    Principal(String),
}

impl std::fmt::Display for RowId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RowId::Source(s) => f.write_str(s.as_str()),
            RowId::Principal(id) => write!(f, "principal:{id}"),
        }
    }
}

impl Serialize for RowId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl From<SourceId> for RowId {
    fn from(id: SourceId) -> RowId {
        RowId::Source(id)
    }
}

impl PartialEq<SourceId> for RowId {
    fn eq(&self, other: &SourceId) -> bool {
        matches!(self, RowId::Source(s) if s == other)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CredentialRow {
    pub id: RowId,
    pub status: CredentialStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<Principal>,
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Pass,
    Fail,
    Skip,
    Inconclusive,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Expectation {
    #[default]
    Allow,
    Deny,
}

/// One short line per stage of a cell, for humans ("acquired", "aud ok, expires in 59m", …).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Stages {
    pub token: String,
    pub claims: String,
    pub rbac: String,
    pub call: String,
}

/// The probe's HTTP exchange, as far as it is safe to show.
#[derive(Debug, Clone, Serialize)]
pub struct HttpSummary {
    pub method: String,
    pub url: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The api-version the probe pins (in the query, or in the path for older APIs).
    pub api_version: String,
    /// The response's `Retry-After`, in seconds, when it gave one (429, 503); `--wait-for-access`
    /// waits at least that long before the next round.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_after_s: Option<u64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    pub credential: RowId,
    pub service: String,
    pub verdict: Verdict,
    pub expected: Expectation,
    /// Did the cell meet its expectation? (A denied cell expected to be denied is met only
    /// when the denial is an authorization decision, not a network failure.)
    pub met: bool,
    pub stages: Stages,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub http: Option<HttpSummary>,
    /// Most specific cause first.
    pub findings: Vec<Finding>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Summary {
    pub pass: usize,
    pub fail: usize,
    pub skip: usize,
    pub inconclusive: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ToolInfo {
    pub name: &'static str,
    pub version: &'static str,
}

impl Default for ToolInfo {
    fn default() -> Self {
        ToolInfo {
            name: "entraprobe",
            version: env!("CARGO_PKG_VERSION"),
        }
    }
}

/// The whole result of a run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema_version: u32,
    pub tool: ToolInfo,
    pub cloud: String,
    pub duration_ms: u64,
    pub credentials: Vec<CredentialRow>,
    pub services: Vec<Target>,
    pub cells: Vec<Cell>,
    pub summary: Summary,
    /// The row a `DefaultAzureCredential` chain (Python/.NET order) would pick on this machine.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default_credential: Option<SourceId>,
    /// What `--discover` found, per subscription, and with which credential.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discovery: Option<crate::discover::Discovery>,
}

impl Report {
    pub fn summarize(cells: &[Cell]) -> Summary {
        let mut s = Summary::default();
        for c in cells {
            match c.verdict {
                Verdict::Pass => s.pass += 1,
                Verdict::Fail => s.fail += 1,
                Verdict::Skip => s.skip += 1,
                Verdict::Inconclusive => s.inconclusive += 1,
            }
        }
        s
    }

    /// Design §5.2: 0 every cell met its expectation, 1 at least one did not, 3 no failure but
    /// something inconclusive. (2, bad input, never reaches a report.)
    pub fn exit_code(&self) -> i32 {
        if self
            .cells
            .iter()
            .any(|c| !c.met && c.verdict != Verdict::Inconclusive)
        {
            1
        } else if self
            .cells
            .iter()
            .any(|c| c.verdict == Verdict::Inconclusive)
        {
            3
        } else {
            0
        }
    }
}
