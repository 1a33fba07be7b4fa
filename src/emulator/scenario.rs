//! The scenario file (design §5.5): parsing, validation and the derived ids.
//!
//! A scenario is the emulator's whole input. Parsing is strict: unknown fields, bad enum values
//! and names that refer to nothing are errors that name the field and the line, because a
//! support engineer replaying a customer's tenant must not get a silently different tenant.

use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use toml::Spanned;
use uuid::Uuid;

/// Namespace for ids derived from names, so the same scenario always yields the same ids.
const ID_NAMESPACE: Uuid = Uuid::from_u128(0x6e74_7261_7072_6f62_6500_0000_0000_0001);

/// Derive a stable GUID from a kind and a name (`"identity"`, `"ci-app"` → always the same id).
pub fn derived_id(kind: &str, name: &str) -> String {
    Uuid::new_v5(&ID_NAMESPACE, format!("{kind}/{name}").as_bytes()).to_string()
}

#[derive(Debug)]
pub struct ScenarioError {
    pub file: String,
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file, line, self.message),
            None => write!(f, "{}: {}", self.file, self.message),
        }
    }
}

impl std::error::Error for ScenarioError {}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    #[serde(default)]
    pub tenant: TenantSpec,
    /// Management groups above subscriptions (design §5.5.1); the tenant root group (whose
    /// name is the tenant id) is implicit.
    #[serde(default, rename = "management_group")]
    pub management_groups: Vec<ManagementGroupSpec>,
    /// Subscriptions besides (or describing) `[tenant] subscription`.
    #[serde(default, rename = "subscription")]
    pub subscriptions: Vec<SubscriptionSpec>,
    #[serde(default, rename = "identity")]
    pub identities: Vec<IdentitySpec>,
    #[serde(default, rename = "group")]
    pub groups: Vec<GroupSpec>,
    #[serde(default, rename = "account")]
    pub accounts: Vec<AccountSpec>,
    #[serde(default, rename = "search_service")]
    pub search_services: Vec<SearchServiceSpec>,
    /// Foundry projects (`Microsoft.CognitiveServices/accounts/projects`).
    #[serde(default, rename = "project")]
    pub projects: Vec<ProjectSpec>,
    #[serde(default, rename = "custom_role")]
    pub custom_roles: Vec<CustomRoleSpec>,
    #[serde(default, rename = "role_assignment")]
    pub role_assignments: Vec<RoleAssignmentSpec>,
    #[serde(default, rename = "deny_assignment")]
    pub deny_assignments: Vec<DenyAssignmentSpec>,
    /// PIM: roles a principal may activate, not active until it does (design §5.5.1).
    #[serde(default, rename = "role_eligibility")]
    pub role_eligibilities: Vec<RoleEligibilitySpec>,
    #[serde(default)]
    pub machine: MachineSpec,
    #[serde(default)]
    pub faults: FaultSpec,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TenantSpec {
    #[serde(default = "default_tenant_id")]
    pub id: String,
    #[serde(default = "default_subscription")]
    pub subscription: String,
    /// The Azure cloud the tenant lives in (design §5.5.1): its authority, ARM and service hosts
    /// answer; the other clouds' do not know the tenant. Omitted: the public cloud's hosts, and
    /// every cloud's authority answers (the emulator's behaviour before the field existed).
    pub cloud: Option<TenantCloud>,
}

impl TenantSpec {
    /// The cloud whose names tokens and endpoints carry.
    pub fn cloud(&self) -> TenantCloud {
        self.cloud.unwrap_or_default()
    }
    /// Does this tenant exist in `cloud`? (Everywhere, unless the scenario names its cloud.)
    pub fn lives_in(&self, cloud: TenantCloud) -> bool {
        self.cloud.is_none_or(|c| c == cloud)
    }
}

/// The cloud a tenant lives in; the emulator's per-cloud host table is in `super::cloud`.
pub use super::cloud::TenantCloud;

/// A management group: a node between the tenant root group and subscriptions.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ManagementGroupSpec {
    pub name: Spanned<String>,
    /// Another management group; omitted, the tenant root group.
    pub parent: Option<Spanned<String>>,
    pub display_name: Option<String>,
}

impl ManagementGroupSpec {
    pub fn name(&self) -> &str {
        self.name.get_ref()
    }
}

/// A subscription. One whose id is `[tenant] subscription` names and places the default one.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionSpec {
    pub name: Spanned<String>,
    /// Omitted: derived from the name.
    pub id: Option<String>,
    /// Omitted: directly under the tenant root group.
    pub management_group: Option<Spanned<String>>,
}

impl SubscriptionSpec {
    pub fn name(&self) -> &str {
        self.name.get_ref()
    }
    pub fn id(&self) -> String {
        self.id
            .clone()
            .filter(|s| !s.trim().is_empty())
            .unwrap_or_else(|| derived_id("subscription", self.name()))
    }
}

/// The subscription id an ARM id starts with (`/subscriptions/{id}/…`), as written; `None` for
/// management groups and the root. The emulator's own reading, apart from the tool's.
pub fn subscription_in(scope: &str) -> Option<&str> {
    let mut parts = scope.split('/').filter(|s| !s.is_empty());
    match (parts.next(), parts.next()) {
        (Some(first), Some(id)) if first.eq_ignore_ascii_case("subscriptions") => Some(id),
        _ => None,
    }
}

/// The ARM id of a management group.
pub fn management_group_scope(name: &str) -> String {
    format!("/providers/Microsoft.Management/managementGroups/{name}")
}

/// A subscription as the emulator serves it: id, display name, the management groups above it
/// (nearest first, the tenant root group last).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubscriptionInfo {
    pub id: String,
    pub display_name: String,
    pub ancestors: Vec<String>,
}

fn default_tenant_id() -> String {
    derived_id("tenant", "default")
}
fn default_subscription() -> String {
    derived_id("subscription", "default")
}

impl Default for TenantSpec {
    fn default() -> Self {
        TenantSpec {
            id: default_tenant_id(),
            subscription: default_subscription(),
            cloud: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IdentityType {
    ServicePrincipal,
    ManagedIdentity,
    User,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FederatedSpec {
    pub issuer: String,
    pub subject: String,
    #[serde(default = "default_fic_audience")]
    pub audience: String,
}

fn default_fic_audience() -> String {
    "api://AzureADTokenExchange".to_string()
}

/// An identity's certificate credential, as the scenario's `certificate` field states it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum CertificateSpec {
    /// `false` or omitted: no certificate.
    #[default]
    None,
    /// `true`: registered on the app and valid.
    Registered,
    /// `"expired"`: registered, but past its end date.
    Expired,
    /// `"not-uploaded"`: the machine has it; the app registration does not.
    NotUploaded,
}

impl CertificateSpec {
    /// Does the machine hold a certificate and key for this identity?
    pub fn is_present(self) -> bool {
        self != CertificateSpec::None
    }
}

impl<'de> Deserialize<'de> for CertificateSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Flag(bool),
            State(String),
        }
        match Raw::deserialize(d)? {
            Raw::Flag(false) => Ok(CertificateSpec::None),
            Raw::Flag(true) => Ok(CertificateSpec::Registered),
            Raw::State(s) if s == "expired" => Ok(CertificateSpec::Expired),
            Raw::State(s) if s == "not-uploaded" => Ok(CertificateSpec::NotUploaded),
            Raw::State(s) => Err(serde::de::Error::custom(format!(
                "certificate = \"{}\": expected true, false, \"expired\" or \"not-uploaded\"",
                s.escape_debug()
            ))),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentitySpec {
    pub name: Spanned<String>,
    #[serde(rename = "type")]
    pub kind: IdentityType,
    pub client_id: Option<String>,
    pub object_id: Option<String>,
    pub secret: Option<String>,
    #[serde(default)]
    pub secret_expired: bool,
    /// `true`, `"expired"` or `"not-uploaded"` (design §5.5.1); the client holds a certificate
    /// and key in every case.
    #[serde(default)]
    pub certificate: CertificateSpec,
    #[serde(default)]
    pub federated: Vec<FederatedSpec>,
    pub upn: Option<String>,
    pub home_tenant: Option<String>,
    /// Graph's `displayName` (design §5.5.1); may repeat across identities. Default: the name.
    pub display_name: Option<String>,
    /// May this identity read the directory through Microsoft Graph (`User.Read.All`,
    /// `Application.Read.All`, `GroupMember.Read.All` or Directory Readers)? Default: users yes
    /// (Entra's default member-user permissions let members read users, groups and service
    /// principals), service principals and managed identities no (an app needs an application
    /// permission granted by an admin). Without it Graph answers 403 `Authorization_RequestDenied`.
    pub directory_reader: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    pub name: Spanned<String>,
    #[serde(default)]
    pub members: Vec<Spanned<String>>,
    pub object_id: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum AccountKind {
    AIServices,
    CognitiveServices,
    OpenAI,
    SpeechServices,
    ComputerVision,
    TextAnalytics,
    TextTranslation,
    FormRecognizer,
    ContentSafety,
}

impl AccountKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AccountKind::AIServices => "AIServices",
            AccountKind::CognitiveServices => "CognitiveServices",
            AccountKind::OpenAI => "OpenAI",
            AccountKind::SpeechServices => "SpeechServices",
            AccountKind::ComputerVision => "ComputerVision",
            AccountKind::TextAnalytics => "TextAnalytics",
            AccountKind::TextTranslation => "TextTranslation",
            AccountKind::FormRecognizer => "FormRecognizer",
            AccountKind::ContentSafety => "ContentSafety",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
pub enum EnabledDisabled {
    #[default]
    Enabled,
    Disabled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
pub enum NetworkAction {
    #[default]
    Allow,
    Deny,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountSpec {
    pub name: Spanned<String>,
    pub kind: AccountKind,
    #[serde(default = "default_resource_group")]
    pub resource_group: String,
    #[serde(default = "default_location")]
    pub location: String,
    pub custom_subdomain: Option<String>,
    #[serde(default)]
    pub disable_local_auth: bool,
    #[serde(default)]
    pub public_network_access: EnabledDisabled,
    #[serde(default)]
    pub network_default_action: NetworkAction,
    #[serde(default)]
    pub ip_rules: Vec<Spanned<String>>,
    #[serde(default)]
    pub deployments: Vec<String>,
    /// ARM tags (Resource Graph filters on them: `--discover --tag KEY=VALUE`).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Reachable only through a private endpoint: public network access is disabled whatever
    /// `public_network_access` says, and only a machine `in_private_network` gets through.
    #[serde(default)]
    pub private_endpoint: bool,
    /// AIServices: a Foundry resource (projects can be created under it).
    #[serde(default)]
    pub allow_project_management: bool,
    /// Foundry Models (non-OpenAI) deployments, served at `/models` on the services host.
    #[serde(default)]
    pub model_deployments: Vec<String>,
    /// The service kinds scenario targets probe on this account (default: the kind's own).
    #[serde(default)]
    pub surfaces: Vec<Spanned<String>>,
    /// A `[[subscription]]` name; omitted: the tenant's default subscription.
    pub subscription: Option<Spanned<String>>,
    /// The subscription id `subscription` resolves to (filled in by [`Scenario::parse`]).
    #[serde(skip)]
    pub subscription_id: String,
}

/// A Foundry project: a child of an AIServices account with `allow_project_management`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectSpec {
    pub name: Spanned<String>,
    pub account: Spanned<String>,
    /// A `managed_identity` identity that is the project's own system-assigned identity; omitted,
    /// the project's identity has an object id of its own and no role anywhere.
    pub identity: Option<Spanned<String>>,
    /// The audience scenario targets request for this project (default: `https://ai.azure.com`,
    /// the only one project routes accept); another replays an application that asks for the
    /// wrong one.
    pub audience: Option<String>,
}

impl ProjectSpec {
    pub fn name(&self) -> &str {
        self.name.get_ref()
    }
    pub fn account(&self) -> &str {
        self.account.get_ref()
    }
    pub fn resource_id(&self, account: &AccountSpec, subscription: &str) -> String {
        format!(
            "{}/projects/{}",
            account.resource_id(subscription),
            self.name()
        )
    }
    /// The project's ARM id: under its account, in the account's subscription.
    pub fn id(&self, account: &AccountSpec) -> String {
        format!("{}/projects/{}", account.id(), self.name())
    }
    /// The object id of the project's system-assigned identity.
    pub fn identity_object_id(&self, scenario: &Scenario) -> String {
        match self
            .identity
            .as_ref()
            .and_then(|i| scenario.identity(i.get_ref()))
        {
            Some(identity) => identity.object_id(),
            None => derived_id(
                "project-identity",
                &format!("{}/{}", self.account(), self.name()),
            ),
        }
    }
}

fn default_resource_group() -> String {
    "rg-ai".to_string()
}
fn default_location() -> String {
    "westeurope".to_string()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
pub enum SearchAuth {
    #[serde(rename = "apiKeyOnly")]
    ApiKeyOnly,
    #[default]
    #[serde(rename = "aadOrApiKey")]
    AadOrApiKey,
    /// `disableLocalAuth: true` (ARM then shows `authOptions: null`): API keys are refused,
    /// tokens accepted (design §5.5.1).
    #[serde(rename = "rbacOnly")]
    RbacOnly,
}

impl SearchAuth {
    /// Does the service consider a bearer token at all?
    pub fn accepts_tokens(self) -> bool {
        self != SearchAuth::ApiKeyOnly
    }
}

/// How a Search service that takes tokens answers one it rejects (ARM's
/// `authOptions.aadOrApiKey.aadAuthFailureMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
pub enum AadAuthFailureMode {
    /// 401 with a `WWW-Authenticate: Bearer` challenge (the portal's default).
    #[default]
    #[serde(rename = "http401WithBearerChallenge")]
    Http401WithBearerChallenge,
    /// 403, indistinguishable on the wire from a missing role.
    #[serde(rename = "http403")]
    Http403,
}

impl AadAuthFailureMode {
    /// ARM's spelling.
    pub fn as_arm(self) -> &'static str {
        match self {
            AadAuthFailureMode::Http401WithBearerChallenge => "http401WithBearerChallenge",
            AadAuthFailureMode::Http403 => "http403",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SearchServiceSpec {
    pub name: Spanned<String>,
    #[serde(default = "default_resource_group")]
    pub resource_group: String,
    #[serde(default = "default_location")]
    pub location: String,
    #[serde(default)]
    pub auth: SearchAuth,
    /// How a rejected token is answered; only where tokens are accepted (default
    /// `http401WithBearerChallenge`).
    pub aad_auth_failure_mode: Option<Spanned<AadAuthFailureMode>>,
    #[serde(default)]
    pub indexes: Vec<String>,
    #[serde(default)]
    pub public_network_access: EnabledDisabled,
    #[serde(default)]
    pub ip_rules: Vec<Spanned<String>>,
    /// ARM tags, as on accounts.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// A `[[subscription]]` name; omitted: the tenant's default subscription.
    pub subscription: Option<Spanned<String>>,
    /// The subscription id `subscription` resolves to (filled in by [`Scenario::parse`]).
    #[serde(skip)]
    pub subscription_id: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomRoleSpec {
    pub name: Spanned<String>,
    #[serde(default)]
    pub actions: Vec<String>,
    #[serde(default)]
    pub not_actions: Vec<String>,
    #[serde(default)]
    pub data_actions: Vec<String>,
    #[serde(default)]
    pub not_data_actions: Vec<String>,
    pub id: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleAssignmentSpec {
    pub principal: Spanned<String>,
    pub role: Spanned<String>,
    pub scope: Spanned<String>,
    #[serde(default)]
    pub condition: String,
    #[serde(default)]
    pub effective_after_s: u64,
    /// The assignment was removed when the emulator started: ARM no longer lists it, and the
    /// data plane keeps honouring it for this many seconds (removals propagate too).
    pub revoked_after_s: Option<u64>,
    /// Time-bound (PIM): the assignment ends this many seconds after the emulator started,
    /// and is gone from ARM and the data plane from then on.
    pub expires_after_s: Option<u64>,
    /// With `expires_after_s`: the assignment is a PIM activation of an eligibility
    /// (`assignmentType: Activated`) rather than assigned until a date (`Assigned`).
    #[serde(default)]
    pub activated: bool,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DenyAssignmentSpec {
    /// An identity or group, or `*` for Everyone.
    pub principal: Spanned<String>,
    pub scope: Spanned<String>,
    #[serde(default)]
    pub actions: Vec<String>,
    #[serde(default)]
    pub not_actions: Vec<String>,
    #[serde(default)]
    pub data_actions: Vec<String>,
    #[serde(default)]
    pub not_data_actions: Vec<String>,
    /// `excludePrincipals`: identities or groups the deny does not apply to.
    #[serde(default)]
    pub exclude: Vec<Spanned<String>>,
    /// `false` is ARM's `doNotApplyToChildScopes: true`.
    #[serde(default = "yes")]
    pub apply_to_child_scopes: bool,
}

fn yes() -> bool {
    true
}

/// The latest a time-bound assignment may end, in seconds after the start: ten years, far past
/// any horizon and well inside what a clock can add.
pub const MAX_EXPIRES_AFTER_S: u64 = 10 * 366 * 24 * 3600;

/// A role assignment's principal `app:NAME`: the app registration object of NAME.
pub const APP_PREFIX: &str = "app:";

/// The principal name a deny assignment uses for Everyone.
pub const EVERYONE: &str = "*";

impl DenyAssignmentSpec {
    pub fn is_everyone(&self) -> bool {
        self.principal.get_ref().trim() == EVERYONE
    }
}

/// A PIM eligibility: the principal may activate the role at the scope, and holds nothing
/// until it does.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoleEligibilitySpec {
    pub principal: Spanned<String>,
    pub role: Spanned<String>,
    pub scope: Spanned<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum EnvironmentAuth {
    #[default]
    Secret,
    Certificate,
    WrongSecret,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MachineSpec {
    pub environment: Option<Spanned<String>>,
    #[serde(default)]
    pub environment_auth: EnvironmentAuth,
    #[serde(default)]
    pub managed_identities: Vec<Spanned<String>>,
    /// Whether the first of `managed_identities` is the machine's system-assigned identity
    /// (the default). `false`: all are user-assigned, and IMDS answers a request that names
    /// none of several with its "Multiple user assigned identities" error.
    pub system_assigned: Option<bool>,
    pub app_service_identity: Option<Spanned<String>>,
    pub azure_cli_user: Option<Spanned<String>>,
    pub azd_user: Option<Spanned<String>>,
    /// The user the fake `pwsh` (Azure PowerShell, `Connect-AzAccount`) is signed in as;
    /// omitted: `Get-AzAccessToken` answers "Run Connect-AzAccount to login.".
    pub powershell_user: Option<Spanned<String>>,
    /// Whether the Az.Accounts module is installed for the fake `pwsh` (default: yes).
    pub powershell_az_accounts: Option<bool>,
    pub workload_identity: Option<Spanned<String>>,
    pub workload_subject: Option<String>,
    pub github_actions_identity: Option<Spanned<String>>,
    /// Override the subject of the presented GitHub OIDC token (to model a federated
    /// credential that does not match it).
    pub github_subject: Option<String>,
    /// A user-assigned managed identity attached to the App Service site, by client id or
    /// identity name: its identity endpoint answers a request for that client id.
    pub app_service_client_id: Option<Spanned<String>>,
    pub azure_pipelines_identity: Option<Spanned<String>>,
    pub source_ip: Option<Spanned<String>>,
    /// Inside the private endpoints' network: `private_endpoint` accounts answer.
    #[serde(default)]
    pub in_private_network: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    #[serde(default)]
    pub latency_ms: u64,
    #[serde(default)]
    pub throttle_every: u64,
    #[serde(default)]
    pub throttle_stage: ThrottleStage,
}

/// Where in a data-plane request the injected 429 happens. Azure does not document whether a
/// service's rate limiter runs before or after it authenticates and authorizes the caller, and
/// the tool must be right either way, so the emulator can do both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum ThrottleStage {
    /// Before anything about the request is looked at (host, network rules, token): even an
    /// anonymous or unauthorized caller is throttled. The emulator's original order, kept as the
    /// default.
    #[default]
    BeforeAuth,
    /// After the network rules, the token and the data action were checked: only a call that
    /// would have succeeded is throttled (a gateway whose limiter sits behind authorization).
    AfterAuth,
}

/// Empty strings in optional name fields mean "not set" (the design's example uses `""`).
fn present(v: &Option<Spanned<String>>) -> Option<&Spanned<String>> {
    v.as_ref().filter(|s| !s.get_ref().trim().is_empty())
}

impl MachineSpec {
    /// Is the first of `managed_identities` system-assigned? (Yes unless the scenario says not.)
    pub fn has_system_assigned(&self) -> bool {
        self.system_assigned.unwrap_or(true)
    }
    pub fn environment(&self) -> Option<&str> {
        present(&self.environment).map(|s| s.get_ref().as_str())
    }
    pub fn app_service_identity(&self) -> Option<&str> {
        present(&self.app_service_identity).map(|s| s.get_ref().as_str())
    }
    pub fn azure_cli_user(&self) -> Option<&str> {
        present(&self.azure_cli_user).map(|s| s.get_ref().as_str())
    }
    pub fn azd_user(&self) -> Option<&str> {
        present(&self.azd_user).map(|s| s.get_ref().as_str())
    }
    pub fn powershell_user(&self) -> Option<&str> {
        present(&self.powershell_user).map(|s| s.get_ref().as_str())
    }
    /// Is Az.Accounts installed for the fake `pwsh`? (Yes unless the scenario says not.)
    pub fn powershell_az_accounts(&self) -> bool {
        self.powershell_az_accounts.unwrap_or(true)
    }
    pub fn workload_identity(&self) -> Option<&str> {
        present(&self.workload_identity).map(|s| s.get_ref().as_str())
    }
    pub fn workload_subject(&self) -> Option<&str> {
        self.workload_subject.as_deref().filter(|s| !s.is_empty())
    }
    pub fn github_actions_identity(&self) -> Option<&str> {
        present(&self.github_actions_identity).map(|s| s.get_ref().as_str())
    }
    pub fn github_subject(&self) -> Option<&str> {
        self.github_subject.as_deref().filter(|s| !s.is_empty())
    }
    pub fn app_service_client_id(&self) -> Option<&str> {
        present(&self.app_service_client_id).map(|s| s.get_ref().as_str())
    }
    pub fn azure_pipelines_identity(&self) -> Option<&str> {
        present(&self.azure_pipelines_identity).map(|s| s.get_ref().as_str())
    }
    /// The address the services see; a documentation address when the scenario says nothing.
    pub fn source_ip(&self) -> std::net::IpAddr {
        present(&self.source_ip)
            .and_then(|s| s.get_ref().parse().ok())
            .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::new(
                198, 51, 100, 7,
            )))
    }
}

impl IdentitySpec {
    pub fn name(&self) -> &str {
        self.name.get_ref()
    }
    pub fn client_id(&self) -> String {
        self.client_id
            .clone()
            .unwrap_or_else(|| derived_id("client", self.name()))
    }
    pub fn object_id(&self) -> String {
        self.object_id
            .clone()
            .unwrap_or_else(|| derived_id("object", self.name()))
    }
    /// Graph's `displayName`: the one given, else the name.
    pub fn display_name(&self) -> &str {
        self.display_name
            .as_deref()
            .filter(|d| !d.trim().is_empty())
            .unwrap_or_else(|| self.name())
    }
    /// The object id of the app registration (`application` object) behind a service
    /// principal: never its service principal's object id.
    pub fn application_object_id(&self) -> String {
        derived_id("application", self.name())
    }
    /// See [`IdentitySpec::directory_reader`].
    pub fn reads_directory(&self) -> bool {
        self.directory_reader
            .unwrap_or(self.kind == IdentityType::User)
    }
    /// The tenant the identity lives in (its home tenant, or the scenario's tenant).
    pub fn tenant_id<'a>(&'a self, tenant: &'a TenantSpec) -> &'a str {
        self.home_tenant
            .as_deref()
            .filter(|s| !s.is_empty())
            .unwrap_or(&tenant.id)
    }
}

impl GroupSpec {
    pub fn object_id(&self) -> String {
        self.object_id
            .clone()
            .unwrap_or_else(|| derived_id("group", self.name.get_ref()))
    }
}

impl CustomRoleSpec {
    pub fn role_id(&self) -> String {
        self.id
            .clone()
            .unwrap_or_else(|| derived_id("role", self.name.get_ref()))
    }
}

impl Scenario {
    /// `[[project]]`, `surfaces` and `allow_project_management` (design §5.5.1).
    fn validate_foundry(
        &self,
        err: &dyn Fn(std::ops::Range<usize>, String) -> ScenarioError,
    ) -> Result<(), ScenarioError> {
        for a in &self.accounts {
            for surface in &a.surfaces {
                match crate::service::ServiceKind::parse(surface.get_ref()) {
                    Some(crate::service::ServiceKind::Search) | None => {
                        return Err(err(
                            surface.span(),
                            format!(
                                "account `{}`: surface `{}` is not a Cognitive Services kind \
                                 (openai, model-inference, speech, language, vision, translator, \
                                 content-safety, document-intelligence)",
                                a.name(),
                                surface.get_ref()
                            ),
                        ));
                    }
                    Some(crate::service::ServiceKind::FoundryProject) => {
                        return Err(err(
                            surface.span(),
                            format!(
                                "account `{}`: projects are probed through [[project]], not a \
                                 `foundry-project` surface",
                                a.name()
                            ),
                        ));
                    }
                    Some(_) => {}
                }
            }
            if a.allow_project_management && a.kind != AccountKind::AIServices {
                return Err(err(
                    a.name.span(),
                    format!(
                        "account `{}`: allow_project_management needs kind = \"AIServices\"",
                        a.name()
                    ),
                ));
            }
        }
        let mut seen = BTreeSet::new();
        for p in &self.projects {
            let name_ok = !p.name().is_empty()
                && p.name().len() <= 64
                && p.name()
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !name_ok {
                return Err(err(
                    p.name.span(),
                    format!(
                        "project name `{}` must be letters, digits, '-' or '_'",
                        p.name()
                    ),
                ));
            }
            match self.account(p.account()) {
                Some(a) if a.allow_project_management && a.subdomain().is_some() => {}
                _ => {
                    return Err(err(
                        p.account.span(),
                        format!(
                            "project `{}`: account `{}` is not an AIServices account with \
                             allow_project_management = true and a custom_subdomain",
                            p.name(),
                            p.account()
                        ),
                    ));
                }
            }
            if !seen.insert((p.account().to_string(), p.name().to_string())) {
                return Err(err(
                    p.name.span(),
                    format!("project `{}/{}` is declared twice", p.account(), p.name()),
                ));
            }
            if let Some(identity) = &p.identity {
                let ok = self
                    .identity(identity.get_ref())
                    .is_some_and(|i| i.kind == IdentityType::ManagedIdentity);
                if !ok {
                    return Err(err(
                        identity.span(),
                        format!(
                            "project `{}`: identity `{}` is not a managed_identity identity",
                            p.name(),
                            identity.get_ref()
                        ),
                    ));
                }
            }
            if let Some(audience) = &p.audience
                && !crate::emulator::entra::is_known_resource(audience)
            {
                return Err(err(
                    p.name.span(),
                    format!(
                        "project `{}`: audience `{audience}` is not a known resource",
                        p.name()
                    ),
                ));
            }
        }
        Ok(())
    }
}

impl AccountSpec {
    /// The surfaces scenario targets probe on this account.
    pub fn surface_kinds(&self) -> Vec<crate::service::ServiceKind> {
        use crate::service::ServiceKind;
        let given: Vec<ServiceKind> = self
            .surfaces
            .iter()
            .filter_map(|s| ServiceKind::parse(s.get_ref()))
            .collect();
        if !given.is_empty() {
            return given;
        }
        vec![match self.kind {
            AccountKind::OpenAI | AccountKind::AIServices => ServiceKind::Openai,
            AccountKind::SpeechServices => ServiceKind::Speech,
            AccountKind::ComputerVision | AccountKind::CognitiveServices => ServiceKind::Vision,
            AccountKind::TextAnalytics => ServiceKind::Language,
            AccountKind::TextTranslation => ServiceKind::Translator,
            AccountKind::FormRecognizer => ServiceKind::DocumentIntelligence,
            AccountKind::ContentSafety => ServiceKind::ContentSafety,
        }]
    }

    /// The endpoint a surface is probed at: Foundry Models and OpenAI v1 on the services host
    /// when the account is a Foundry resource.
    pub fn surface_endpoint(&self, kind: crate::service::ServiceKind) -> String {
        use crate::service::ServiceKind;
        match (kind, self.subdomain()) {
            (ServiceKind::ModelInference, Some(sub)) => {
                format!("https://{sub}.services.ai.azure.com/")
            }
            (ServiceKind::Openai, Some(sub)) if self.allow_project_management => {
                format!("https://{sub}.services.ai.azure.com/")
            }
            _ => self.endpoint(),
        }
    }

    pub fn name(&self) -> &str {
        self.name.get_ref()
    }
    pub fn resource_id(&self, subscription: &str) -> String {
        format!(
            "/subscriptions/{subscription}/resourceGroups/{}/providers/Microsoft.CognitiveServices/accounts/{}",
            self.resource_group,
            self.name()
        )
    }
    /// The account's ARM id, in its own subscription.
    pub fn id(&self) -> String {
        self.resource_id(&self.subscription_id)
    }
    pub fn subdomain(&self) -> Option<&str> {
        self.custom_subdomain.as_deref().filter(|s| !s.is_empty())
    }
    /// `publicNetworkAccess: Disabled`, said outright or implied by a private endpoint.
    pub fn public_access_disabled(&self) -> bool {
        self.private_endpoint || self.public_network_access == EnabledDisabled::Disabled
    }
    /// The endpoint ARM reports in `properties.endpoint`.
    pub fn endpoint(&self) -> String {
        match self.subdomain() {
            Some(sub) if self.kind == AccountKind::OpenAI => {
                format!("https://{sub}.openai.azure.com/")
            }
            Some(sub) => format!("https://{sub}.cognitiveservices.azure.com/"),
            None => format!("https://{}.api.cognitive.microsoft.com/", self.location),
        }
    }
}

impl SearchServiceSpec {
    pub fn name(&self) -> &str {
        self.name.get_ref()
    }
    pub fn resource_id(&self, subscription: &str) -> String {
        format!(
            "/subscriptions/{subscription}/resourceGroups/{}/providers/Microsoft.Search/searchServices/{}",
            self.resource_group,
            self.name()
        )
    }
    /// The service's ARM id, in its own subscription.
    pub fn id(&self) -> String {
        self.resource_id(&self.subscription_id)
    }
    pub fn endpoint(&self) -> String {
        format!("https://{}.search.windows.net", self.name())
    }
    /// How a rejected token is answered (`http401WithBearerChallenge` unless the scenario says).
    pub fn failure_mode(&self) -> AadAuthFailureMode {
        self.aad_auth_failure_mode
            .as_ref()
            .map(|m| *m.get_ref())
            .unwrap_or_default()
    }
}

/// A parsed scope reference (`account:NAME | search:NAME | search_index:NAME/INDEX |
/// project:ACCOUNT/PROJECT | resource_group:NAME | resource_group:SUBSCRIPTION/NAME |
/// subscription | subscription:NAME | management_group:NAME`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScopeRef {
    /// The tenant's default subscription (`[tenant] subscription`).
    Subscription,
    /// A `[[subscription]]` by name.
    NamedSubscription(String),
    /// A `[[management_group]]` by name, or the tenant root group by the tenant id.
    ManagementGroup(String),
    /// A resource group, in the subscription its resources live in.
    ResourceGroup(String),
    /// A resource group of a named subscription (`resource_group:SUBSCRIPTION/NAME`), for a
    /// name used in several subscriptions.
    ResourceGroupIn(String, String),
    Account(String),
    Search(String),
    /// One index of a search service: Azure AI Search accepts data-role assignments scoped to
    /// an index (`…/searchServices/NAME/indexes/INDEX`).
    SearchIndex(String, String),
    /// A Foundry project (`project:ACCOUNT/PROJECT`, `…/accounts/ACCOUNT/projects/PROJECT`).
    Project(String, String),
}

impl ScopeRef {
    pub fn parse(text: &str) -> Result<ScopeRef, String> {
        if text == "subscription" {
            return Ok(ScopeRef::Subscription);
        }
        let pair = |rest: &str, expected: &str| -> Result<(String, String), String> {
            match rest.split_once('/') {
                Some((a, b)) if !a.is_empty() && !b.is_empty() && !b.contains('/') => {
                    Ok((a.to_string(), b.to_string()))
                }
                _ => Err(format!("scope `{text}`: expected `{expected}`")),
            }
        };
        match text.split_once(':') {
            Some(("account", n)) if !n.is_empty() => Ok(ScopeRef::Account(n.to_string())),
            Some(("search", n)) if !n.is_empty() => Ok(ScopeRef::Search(n.to_string())),
            Some(("search_index", rest)) => pair(rest, "search_index:SERVICE/INDEX")
                .map(|(service, index)| ScopeRef::SearchIndex(service, index)),
            Some(("project", rest)) => pair(rest, "project:ACCOUNT/PROJECT")
                .map(|(account, project)| ScopeRef::Project(account, project)),
            Some(("resource_group", n)) if n.contains('/') => {
                pair(n, "resource_group:SUBSCRIPTION/NAME")
                    .map(|(sub, rg)| ScopeRef::ResourceGroupIn(sub, rg))
            }
            Some(("resource_group", n)) if !n.is_empty() => {
                Ok(ScopeRef::ResourceGroup(n.to_string()))
            }
            Some(("subscription", n)) if !n.is_empty() => {
                Ok(ScopeRef::NamedSubscription(n.to_string()))
            }
            Some(("management_group", n)) if !n.is_empty() => {
                Ok(ScopeRef::ManagementGroup(n.to_string()))
            }
            _ => Err(format!(
                "scope `{text}` is not one of `subscription`, `subscription:NAME`, `management_group:NAME`, `resource_group:NAME`, `account:NAME`, `search:NAME`, `search_index:NAME/INDEX`, `project:ACCOUNT/PROJECT`"
            )),
        }
    }
}

impl Scenario {
    /// Parse and validate a scenario. `file` only names the source in error messages.
    pub fn parse(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
        let mut scenario: Scenario = toml::from_str(text).map_err(|e| ScenarioError {
            file: file.to_string(),
            line: e.span().map(|s| line_of(text, s.start)),
            message: e.message().trim().to_string(),
        })?;
        scenario.resolve_subscriptions(text, file)?;
        scenario.validate(text, file)?;
        Ok(scenario)
    }

    pub fn identity(&self, name: &str) -> Option<&IdentitySpec> {
        self.identities.iter().find(|i| i.name() == name)
    }
    pub fn account(&self, name: &str) -> Option<&AccountSpec> {
        self.accounts.iter().find(|a| a.name() == name)
    }
    pub fn search_service(&self, name: &str) -> Option<&SearchServiceSpec> {
        self.search_services.iter().find(|s| s.name() == name)
    }
    pub fn group(&self, name: &str) -> Option<&GroupSpec> {
        self.groups.iter().find(|g| g.name.get_ref() == name)
    }

    /// `app:NAME` (a role assignment's principal): the service principal identity NAME whose
    /// app registration object is meant.
    pub fn app_registration(&self, principal: &str) -> Option<&IdentitySpec> {
        let name = principal.trim().strip_prefix(APP_PREFIX)?;
        self.identity(name)
            .filter(|i| i.kind == IdentityType::ServicePrincipal)
    }

    /// The service principal identity whose app registration has this object id.
    pub fn app_registration_by_object_id(&self, oid: &str) -> Option<&IdentitySpec> {
        self.identities.iter().find(|i| {
            i.kind == IdentityType::ServicePrincipal
                && i.application_object_id().eq_ignore_ascii_case(oid)
        })
    }

    /// The resource ids of a scope reference (validated at parse time, so it resolves).
    pub fn scope_id(&self, scope: &ScopeRef) -> String {
        let sub = &self.tenant.subscription;
        match scope {
            ScopeRef::Subscription => format!("/subscriptions/{sub}"),
            ScopeRef::NamedSubscription(n) => {
                format!(
                    "/subscriptions/{}",
                    self.subscription_id_of(n).unwrap_or_default()
                )
            }
            ScopeRef::ManagementGroup(n) => management_group_scope(n),
            ScopeRef::ResourceGroup(rg) => format!(
                "/subscriptions/{}/resourceGroups/{rg}",
                self.resource_group_subscriptions(rg)
                    .into_iter()
                    .next()
                    .unwrap_or_else(|| sub.clone())
            ),
            ScopeRef::ResourceGroupIn(s, rg) => format!(
                "/subscriptions/{}/resourceGroups/{rg}",
                self.subscription_id_of(s).unwrap_or_default()
            ),
            ScopeRef::Account(n) => self.account(n).map(|a| a.id()).unwrap_or_default(),
            ScopeRef::Search(n) => self.search_service(n).map(|s| s.id()).unwrap_or_default(),
            ScopeRef::SearchIndex(n, index) => self
                .search_service(n)
                .map(|s| crate::arm::rbac::search_index_scope(&s.id(), index))
                .unwrap_or_default(),
            ScopeRef::Project(account, project) => self
                .account(account)
                .map(|a| format!("{}/projects/{project}", a.id()))
                .unwrap_or_default(),
        }
    }

    /// The id of a subscription named by a `[[subscription]]` name, or given by its id.
    pub fn subscription_id_of(&self, name_or_id: &str) -> Option<String> {
        self.subscriptions
            .iter()
            .find(|s| s.name() == name_or_id)
            .map(SubscriptionSpec::id)
            .or_else(|| {
                self.subscription_infos()
                    .into_iter()
                    .find(|s| s.id.eq_ignore_ascii_case(name_or_id))
                    .map(|s| s.id)
            })
    }

    /// Every subscription of the tenant, the default one first.
    pub fn subscription_infos(&self) -> Vec<SubscriptionInfo> {
        let default = &self.tenant.subscription;
        let described = |id: &str| {
            self.subscriptions
                .iter()
                .find(|s| s.id().eq_ignore_ascii_case(id))
        };
        let info = |id: String, spec: Option<&SubscriptionSpec>| SubscriptionInfo {
            display_name: spec.map_or_else(
                || "entraprobe emulated subscription".to_string(),
                |s| s.name().to_string(),
            ),
            ancestors: self.management_group_chain(
                spec.and_then(|s| s.management_group.as_ref())
                    .map(|m| m.get_ref().as_str()),
            ),
            id,
        };
        let mut all = vec![info(default.clone(), described(default))];
        all.extend(
            self.subscriptions
                .iter()
                .filter(|s| !s.id().eq_ignore_ascii_case(default))
                .map(|s| info(s.id(), Some(s))),
        );
        all
    }

    /// The management groups from `start` up (nearest first), ending with the tenant root group
    /// (named by the tenant id). `None` starts at the root. Bounded, so a cycle (rejected at
    /// parse time) cannot loop.
    pub fn management_group_chain(&self, start: Option<&str>) -> Vec<String> {
        let root = self.tenant.id.clone();
        let mut chain = Vec::new();
        let mut at = start.map(str::to_string);
        while let Some(name) = at.take() {
            if name.eq_ignore_ascii_case(&root) || chain.len() > self.management_groups.len() {
                break;
            }
            at = self
                .management_groups
                .iter()
                .find(|m| m.name() == name)
                .and_then(|m| m.parent.as_ref().map(|p| p.get_ref().clone()));
            chain.push(name);
        }
        chain.push(root);
        chain
    }

    /// The management groups above an ARM scope (a subscription, anything in one, or a
    /// management group), nearest first. Empty for the root `/` and for unknown scopes.
    pub fn management_groups_above(&self, scope: &str) -> Vec<String> {
        let parts: Vec<&str> = scope.split('/').filter(|s| !s.is_empty()).collect();
        match parts.as_slice() {
            [subs, id, ..] if subs.eq_ignore_ascii_case("subscriptions") => self
                .subscription_infos()
                .into_iter()
                .find(|s| s.id.eq_ignore_ascii_case(id))
                .map(|s| s.ancestors)
                .unwrap_or_default(),
            [p, ns, mgs, name, ..]
                if p.eq_ignore_ascii_case("providers")
                    && ns.eq_ignore_ascii_case("Microsoft.Management")
                    && mgs.eq_ignore_ascii_case("managementGroups") =>
            {
                let mut chain = self.management_group_chain(Some(name));
                chain.retain(|m| !m.eq_ignore_ascii_case(name));
                chain
            }
            _ => Vec::new(),
        }
    }

    /// The subscriptions (ids) that hold a resource in resource group `rg`, in scenario order.
    pub fn resource_group_subscriptions(&self, rg: &str) -> Vec<String> {
        let mut found: Vec<String> = Vec::new();
        for (group, sub) in self
            .accounts
            .iter()
            .map(|a| (&a.resource_group, &a.subscription_id))
            .chain(
                self.search_services
                    .iter()
                    .map(|s| (&s.resource_group, &s.subscription_id)),
            )
        {
            if group.eq_ignore_ascii_case(rg) && !found.iter().any(|f| f.eq_ignore_ascii_case(sub))
            {
                found.push(sub.clone());
            }
        }
        found
    }

    /// The projects of an account.
    pub fn projects_of<'s, 'n>(
        &'s self,
        account: &'n str,
    ) -> impl Iterator<Item = &'s ProjectSpec> + use<'s, 'n> {
        self.projects.iter().filter(move |p| p.account() == account)
    }

    pub fn project(&self, account: &str, project: &str) -> Option<&ProjectSpec> {
        self.projects_of(account).find(|p| p.name() == project)
    }

    /// Object ids of every group `object_id` belongs to, transitively.
    pub fn groups_of(&self, principal_name: &str) -> BTreeSet<String> {
        let mut found: BTreeSet<String> = BTreeSet::new();
        let mut frontier = vec![principal_name.to_string()];
        while let Some(member) = frontier.pop() {
            for g in &self.groups {
                let gname = g.name.get_ref();
                if g.members.iter().any(|m| m.get_ref() == &member) && found.insert(gname.clone()) {
                    frontier.push(gname.clone());
                }
            }
        }
        found
    }

    /// The user-assigned identity `machine.app_service_client_id` attaches to the App Service
    /// site, found by client id or by name.
    pub fn app_service_user_assigned(&self) -> Option<&IdentitySpec> {
        let wanted = self.machine.app_service_client_id()?.trim();
        self.identities
            .iter()
            .find(|i| i.client_id().eq_ignore_ascii_case(wanted))
            .or_else(|| self.identity(wanted))
    }

    fn validate(&self, text: &str, file: &str) -> Result<(), ScenarioError> {
        let err = |span: std::ops::Range<usize>, message: String| ScenarioError {
            file: file.to_string(),
            line: Some(line_of(text, span.start)),
            message,
        };
        let mut names: BTreeMap<String, &'static str> = BTreeMap::new();
        for (name, what) in self
            .identities
            .iter()
            .map(|i| (&i.name, "identity"))
            .chain(self.groups.iter().map(|g| (&g.name, "group")))
        {
            if name.get_ref().trim().is_empty() {
                return Err(err(name.span(), format!("{what} name is empty")));
            }
            if let Some(prev) = names.insert(name.get_ref().clone(), what) {
                return Err(err(
                    name.span(),
                    format!(
                        "name `{}` is already used by another {prev}",
                        name.get_ref()
                    ),
                ));
            }
        }
        let mut resources = BTreeSet::new();
        for name in self
            .accounts
            .iter()
            .map(|a| &a.name)
            .chain(self.search_services.iter().map(|s| &s.name))
        {
            if !resources.insert(name.get_ref().clone()) {
                return Err(err(
                    name.span(),
                    format!("resource name `{}` is used twice", name.get_ref()),
                ));
            }
        }
        for a in &self.accounts {
            if let Some(sub) = a.subdomain() {
                let ok = (2..=64).contains(&sub.len())
                    && sub.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    && !sub.starts_with('-');
                if !ok {
                    return Err(err(
                        a.name.span(),
                        format!(
                            "account `{}`: custom_subdomain `{sub}` must be 2-64 letters, digits or '-'",
                            a.name()
                        ),
                    ));
                }
            }
            for rule in &a.ip_rules {
                if parse_ip_rule(rule.get_ref()).is_none() {
                    return Err(err(
                        rule.span(),
                        format!(
                            "ip_rules entry `{}` is not an IP address or CIDR",
                            rule.get_ref()
                        ),
                    ));
                }
            }
        }
        self.validate_foundry(&err)?;
        for s in &self.search_services {
            if let Some(mode) = &s.aad_auth_failure_mode
                && !s.auth.accepts_tokens()
            {
                return Err(err(
                    mode.span(),
                    format!(
                        "search_service `{}`: aad_auth_failure_mode needs auth = \"aadOrApiKey\" or \"rbacOnly\" (an apiKeyOnly service takes no tokens)",
                        s.name()
                    ),
                ));
            }
            for rule in &s.ip_rules {
                if parse_ip_rule(rule.get_ref()).is_none() {
                    return Err(err(
                        rule.span(),
                        format!(
                            "ip_rules entry `{}` is not an IP address or CIDR",
                            rule.get_ref()
                        ),
                    ));
                }
            }
        }
        for i in &self.identities {
            if i.kind != IdentityType::User && i.upn.is_some() {
                return Err(err(
                    i.name.span(),
                    format!("identity `{}`: upn is only for type = \"user\"", i.name()),
                ));
            }
            for id in [&i.client_id, &i.object_id, &i.home_tenant]
                .into_iter()
                .flatten()
            {
                if !id.is_empty() && Uuid::parse_str(id).is_err() {
                    return Err(err(
                        i.name.span(),
                        format!("identity `{}`: `{id}` is not a GUID", i.name()),
                    ));
                }
            }
        }
        for g in &self.groups {
            for m in &g.members {
                if !names.contains_key(m.get_ref()) {
                    return Err(err(
                        m.span(),
                        format!(
                            "group `{}`: member `{}` is not an identity or group",
                            g.name.get_ref(),
                            m.get_ref()
                        ),
                    ));
                }
            }
        }
        let is_principal = |n: &str| names.contains_key(n);
        let check_scope = |scope: &Spanned<String>| -> Result<(), ScenarioError> {
            let parsed = ScopeRef::parse(scope.get_ref()).map_err(|m| err(scope.span(), m))?;
            let exists = match &parsed {
                ScopeRef::Subscription => true,
                ScopeRef::NamedSubscription(n) => self.subscription_id_of(n).is_some(),
                ScopeRef::ManagementGroup(n) => {
                    n.eq_ignore_ascii_case(&self.tenant.id)
                        || self.management_groups.iter().any(|m| m.name() == n)
                }
                ScopeRef::ResourceGroup(rg) => match self.resource_group_subscriptions(rg).len() {
                    0 => false,
                    1 => true,
                    _ => {
                        return Err(err(
                            scope.span(),
                            format!(
                                "scope `{}`: resource group `{rg}` exists in several subscriptions; write `resource_group:SUBSCRIPTION/{rg}`",
                                scope.get_ref()
                            ),
                        ));
                    }
                },
                ScopeRef::ResourceGroupIn(sub, rg) => {
                    self.subscription_id_of(sub).is_some_and(|id| {
                        self.resource_group_subscriptions(rg)
                            .iter()
                            .any(|s| s.eq_ignore_ascii_case(&id))
                    })
                }
                ScopeRef::Account(n) => self.account(n).is_some(),
                ScopeRef::Search(n) => self.search_service(n).is_some(),
                ScopeRef::SearchIndex(n, index) => self
                    .search_service(n)
                    .is_some_and(|s| s.indexes.iter().any(|i| i == index)),
                ScopeRef::Project(account, project) => self.project(account, project).is_some(),
            };
            if exists {
                Ok(())
            } else {
                Err(err(
                    scope.span(),
                    format!("scope `{}` names nothing in this scenario", scope.get_ref()),
                ))
            }
        };
        let custom_names: BTreeSet<&str> = self
            .custom_roles
            .iter()
            .map(|r| r.name.get_ref().as_str())
            .collect();
        for r in &self.role_assignments {
            let principal = r.principal.get_ref();
            if let Some(app) = principal.trim().strip_prefix(APP_PREFIX) {
                if self.app_registration(principal).is_none() {
                    return Err(err(
                        r.principal.span(),
                        format!(
                            "role_assignment: principal `{principal}`: `{app}` is not a service_principal identity (only those have an app registration)"
                        ),
                    ));
                }
            } else if !is_principal(principal) {
                return Err(err(
                    r.principal.span(),
                    format!(
                        "role_assignment: principal `{}` is not an identity, a group or app:NAME",
                        r.principal.get_ref()
                    ),
                ));
            }
            let role = r.role.get_ref();
            if !custom_names.contains(role.as_str())
                && crate::arm::builtin_roles::builtin_by_name(role).is_none()
            {
                return Err(err(
                    r.role.span(),
                    format!(
                        "role_assignment: role `{role}` is neither a built-in role nor a custom_role"
                    ),
                ));
            }
            check_scope(&r.scope)?;
            if r.expires_after_s.is_some_and(|s| s > MAX_EXPIRES_AFTER_S) {
                return Err(err(
                    r.principal.span(),
                    format!(
                        "role_assignment of `{principal}`: expires_after_s must be at most {MAX_EXPIRES_AFTER_S} (ten years)"
                    ),
                ));
            }
            if r.activated && r.expires_after_s.is_none() {
                return Err(err(
                    r.principal.span(),
                    format!(
                        "role_assignment of `{principal}`: activated = true needs expires_after_s (a PIM activation always ends)"
                    ),
                ));
            }
        }
        for d in &self.deny_assignments {
            if !d.is_everyone() && !is_principal(d.principal.get_ref()) {
                return Err(err(
                    d.principal.span(),
                    format!(
                        "deny_assignment: principal `{}` is not an identity, a group or \"*\" (everyone)",
                        d.principal.get_ref()
                    ),
                ));
            }
            if let Some(x) = d.exclude.iter().find(|x| !is_principal(x.get_ref())) {
                return Err(err(
                    x.span(),
                    format!(
                        "deny_assignment: exclude `{}` is not an identity or group",
                        x.get_ref()
                    ),
                ));
            }
            check_scope(&d.scope)?;
        }
        for e in &self.role_eligibilities {
            if !is_principal(e.principal.get_ref()) {
                return Err(err(
                    e.principal.span(),
                    format!(
                        "role_eligibility: principal `{}` is not an identity or group",
                        e.principal.get_ref()
                    ),
                ));
            }
            let role = e.role.get_ref();
            if !custom_names.contains(role.as_str())
                && crate::arm::builtin_roles::builtin_by_name(role).is_none()
            {
                return Err(err(
                    e.role.span(),
                    format!(
                        "role_eligibility: role `{role}` is neither a built-in role nor a custom_role"
                    ),
                ));
            }
            check_scope(&e.scope)?;
        }
        let m = &self.machine;
        let identity_refs = [
            ("environment", present(&m.environment)),
            ("app_service_identity", present(&m.app_service_identity)),
            ("azure_cli_user", present(&m.azure_cli_user)),
            ("azd_user", present(&m.azd_user)),
            ("powershell_user", present(&m.powershell_user)),
            ("workload_identity", present(&m.workload_identity)),
            (
                "github_actions_identity",
                present(&m.github_actions_identity),
            ),
            (
                "azure_pipelines_identity",
                present(&m.azure_pipelines_identity),
            ),
        ];
        for (field, value) in identity_refs.into_iter().chain(
            m.managed_identities
                .iter()
                .map(|v| ("managed_identities", Some(v))),
        ) {
            if let Some(v) = value
                && self.identity(v.get_ref()).is_none()
            {
                return Err(err(
                    v.span(),
                    format!("machine.{field}: `{}` is not an identity", v.get_ref()),
                ));
            }
        }
        if let Some(v) = present(&m.app_service_client_id)
            && !self
                .app_service_user_assigned()
                .is_some_and(|i| i.kind == IdentityType::ManagedIdentity)
        {
            return Err(err(
                v.span(),
                format!(
                    "machine.app_service_client_id: `{}` is neither the client id nor the name of a managed_identity",
                    v.get_ref()
                ),
            ));
        }
        for mi in &m.managed_identities {
            let id = self.identity(mi.get_ref()).expect("checked above");
            if id.kind != IdentityType::ManagedIdentity {
                return Err(err(
                    mi.span(),
                    format!(
                        "machine.managed_identities: `{}` is not of type managed_identity",
                        mi.get_ref()
                    ),
                ));
            }
        }
        if let Some(env) = present(&m.environment) {
            let id = self.identity(env.get_ref()).expect("checked above");
            if id.kind != IdentityType::ServicePrincipal {
                return Err(err(
                    env.span(),
                    format!(
                        "machine.environment: `{}` must be a service_principal",
                        env.get_ref()
                    ),
                ));
            }
            if m.environment_auth == EnvironmentAuth::Certificate && !id.certificate.is_present() {
                return Err(err(
                    env.span(),
                    format!(
                        "machine.environment_auth = \"certificate\" but identity `{}` has no certificate = true",
                        env.get_ref()
                    ),
                ));
            }
            if m.environment_auth == EnvironmentAuth::Secret && id.secret.is_none() {
                return Err(err(
                    env.span(),
                    format!(
                        "machine.environment_auth = \"secret\" but identity `{}` has no secret",
                        env.get_ref()
                    ),
                ));
            }
        }
        for (field, user) in [
            ("azure_cli_user", present(&m.azure_cli_user)),
            ("azd_user", present(&m.azd_user)),
            ("powershell_user", present(&m.powershell_user)),
        ] {
            if let Some(u) = user {
                let id = self.identity(u.get_ref()).expect("checked above");
                if id.kind != IdentityType::User {
                    return Err(err(
                        u.span(),
                        format!("machine.{field}: `{}` must be of type user", u.get_ref()),
                    ));
                }
            }
        }
        if let Some(ip) = present(&m.source_ip)
            && ip.get_ref().parse::<std::net::IpAddr>().is_err()
        {
            return Err(err(
                ip.span(),
                format!("machine.source_ip `{}` is not an IP address", ip.get_ref()),
            ));
        }
        Ok(())
    }
}

impl Scenario {
    /// `[[management_group]]`, `[[subscription]]` and resources' `subscription =`
    /// (design §5.5.1): check the hierarchy and fill in each resource's subscription id.
    fn resolve_subscriptions(&mut self, text: &str, file: &str) -> Result<(), ScenarioError> {
        let err = |span: std::ops::Range<usize>, message: String| ScenarioError {
            file: file.to_string(),
            line: Some(line_of(text, span.start)),
            message,
        };
        let guid = |v: &str| Uuid::parse_str(v).is_ok();
        let tenant = self.tenant.id.clone();
        let mut groups = BTreeSet::new();
        for m in &self.management_groups {
            let name = m.name();
            let ok = !name.is_empty()
                && name.len() <= 90
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.()".contains(c));
            if !ok {
                return Err(err(
                    m.name.span(),
                    format!(
                        "management_group name `{name}` must be 1-90 letters, digits, '-', '_', '.', '(' or ')'"
                    ),
                ));
            }
            if name.eq_ignore_ascii_case(&tenant) || !groups.insert(name.to_ascii_lowercase()) {
                return Err(err(
                    m.name.span(),
                    format!(
                        "management_group `{name}` is declared twice (the tenant root group is named by the tenant id)"
                    ),
                ));
            }
        }
        let known_group =
            |n: &str| n.eq_ignore_ascii_case(&tenant) || groups.contains(&n.to_ascii_lowercase());
        for m in &self.management_groups {
            if let Some(parent) = &m.parent
                && !known_group(parent.get_ref())
            {
                return Err(err(
                    parent.span(),
                    format!(
                        "management_group `{}`: parent `{}` is not a management_group",
                        m.name(),
                        parent.get_ref()
                    ),
                ));
            }
            // Walk up: a chain longer than the number of groups is a cycle.
            let chain = self.management_group_chain(Some(m.name()));
            if chain.len() > self.management_groups.len() + 1 {
                return Err(err(
                    m.name.span(),
                    format!("management_group `{}`: its parents form a cycle", m.name()),
                ));
            }
        }
        let mut names = BTreeSet::new();
        let mut ids = BTreeSet::new();
        for s in &self.subscriptions {
            if s.name().trim().is_empty() || !names.insert(s.name().to_string()) {
                return Err(err(
                    s.name.span(),
                    format!("subscription name `{}` is empty or used twice", s.name()),
                ));
            }
            if let Some(id) = s.id.as_deref().filter(|v| !v.trim().is_empty())
                && !guid(id)
            {
                return Err(err(
                    s.name.span(),
                    format!("subscription `{}`: id `{id}` is not a GUID", s.name()),
                ));
            }
            if !ids.insert(s.id().to_ascii_lowercase()) {
                return Err(err(
                    s.name.span(),
                    format!("subscription `{}`: id {} is used twice", s.name(), s.id()),
                ));
            }
            if let Some(mg) = &s.management_group
                && !known_group(mg.get_ref())
            {
                return Err(err(
                    mg.span(),
                    format!(
                        "subscription `{}`: management_group `{}` is not a management_group",
                        s.name(),
                        mg.get_ref()
                    ),
                ));
            }
        }
        let resolve = |what: &str,
                       name: &str,
                       sub: &Option<Spanned<String>>|
         -> Result<String, ScenarioError> {
            match sub {
                None => Ok(self.tenant.subscription.clone()),
                Some(s) => self
                    .subscriptions
                    .iter()
                    .find(|x| x.name() == s.get_ref())
                    .map(SubscriptionSpec::id)
                    .ok_or_else(|| {
                        err(
                            s.span(),
                            format!(
                                "{what} `{name}`: subscription `{}` is not a [[subscription]] name",
                                s.get_ref()
                            ),
                        )
                    }),
            }
        };
        let accounts: Vec<String> = self
            .accounts
            .iter()
            .map(|a| resolve("account", a.name(), &a.subscription))
            .collect::<Result<_, _>>()?;
        let services: Vec<String> = self
            .search_services
            .iter()
            .map(|s| resolve("search_service", s.name(), &s.subscription))
            .collect::<Result<_, _>>()?;
        for (a, id) in self.accounts.iter_mut().zip(accounts) {
            a.subscription_id = id;
        }
        for (s, id) in self.search_services.iter_mut().zip(services) {
            s.subscription_id = id;
        }
        let mut subdomains: BTreeMap<String, &str> = BTreeMap::new();
        for a in &self.accounts {
            if let Some(sub) = a.subdomain()
                && let Some(prev) = subdomains.insert(sub.to_ascii_lowercase(), a.name())
            {
                return Err(err(
                    a.name.span(),
                    format!(
                        "account `{}`: custom_subdomain `{sub}` is already account `{prev}`'s (custom subdomains are unique across Azure)",
                        a.name()
                    ),
                ));
            }
        }
        Ok(())
    }
}

/// An `ip_rules` entry: a CIDR, or a single address (as the portal accepts).
pub fn parse_ip_rule(text: &str) -> Option<ipnet::IpNet> {
    text.parse::<ipnet::IpNet>().ok().or_else(|| {
        text.parse::<std::net::IpAddr>()
            .ok()
            .map(ipnet::IpNet::from)
    })
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())]
        .bytes()
        .filter(|b| *b == b'\n')
        .count()
        + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minimal_scenario_parses_with_derived_ids() {
        let s = Scenario::parse("[[identity]]\nname = \"a\"\ntype = \"user\"\n", "t.toml").unwrap();
        assert_eq!(s.identities[0].object_id(), derived_id("object", "a"));
        assert_ne!(s.identities[0].object_id(), s.identities[0].client_id());
    }

    #[test]
    fn unknown_field_names_the_line() {
        let e = Scenario::parse("[tenant]\nid = \"x\"\nbogus = 1\n", "t.toml").unwrap_err();
        assert_eq!(e.line, Some(3), "{e}");
        assert!(e.message.contains("bogus"), "{e}");
    }

    #[test]
    fn dangling_principal_names_the_line() {
        let text = "[[identity]]\nname = \"a\"\ntype = \"user\"\n\n[[role_assignment]]\nprincipal = \"nobody\"\nrole = \"Cognitive Services User\"\nscope = \"subscription\"\n";
        let e = Scenario::parse(text, "t.toml").unwrap_err();
        assert_eq!(e.line, Some(6), "{e}");
        assert!(e.message.contains("nobody"), "{e}");
    }

    #[test]
    fn an_index_scope_must_name_an_index_of_the_service() {
        let base = "[[identity]]\nname = \"a\"\ntype = \"user\"\n[[search_service]]\nname = \"srch\"\nindexes = [\"products\"]\n\n[[role_assignment]]\nprincipal = \"a\"\nrole = \"Search Index Data Reader\"\n";
        let ok = format!("{base}scope = \"search_index:srch/products\"\n");
        let s = Scenario::parse(&ok, "t.toml").unwrap();
        assert!(
            s.scope_id(&ScopeRef::parse("search_index:srch/products").unwrap())
                .ends_with("/searchServices/srch/indexes/products")
        );
        for (scope, says) in [
            ("search_index:srch/orders", "names nothing in this scenario"),
            ("search_index:srch", "expected `search_index:SERVICE/INDEX`"),
        ] {
            let e = Scenario::parse(&format!("{base}scope = \"{scope}\"\n"), "t.toml").unwrap_err();
            assert_eq!(e.line, Some(11), "{e}");
            assert!(e.to_string().contains(says), "{e}");
        }
    }

    #[test]
    fn nested_groups_are_transitive() {
        let text = "[[identity]]\nname = \"alice\"\ntype = \"user\"\n[[group]]\nname = \"inner\"\nmembers = [\"alice\"]\n[[group]]\nname = \"outer\"\nmembers = [\"inner\"]\n";
        let s = Scenario::parse(text, "t.toml").unwrap();
        let groups: Vec<_> = s.groups_of("alice").into_iter().collect();
        assert_eq!(groups, vec!["inner".to_string(), "outer".to_string()]);
    }
}

#[cfg(test)]
mod demo_tests {
    #[test]
    fn the_builtin_demo_scenario_is_valid() {
        super::Scenario::parse(include_str!("demo.toml"), "demo.toml").unwrap();
    }
}
