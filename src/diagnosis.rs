//! The finding catalog and the pure diagnosis of a cell.
//!
//! Each finding is declared once, the way clippy declares a lint: its stable code, default
//! severity, a title, what it means and why it happens, how to fix it, and an example.
//! `entraprobe explain CODE` and `docs/findings.md` are rendered from this one table.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

/// One catalog entry.
#[derive(Debug, Clone, Copy)]
pub struct CatalogEntry {
    pub code: Code,
    pub severity: Severity,
    pub title: &'static str,
    /// What it means and why it happens.
    pub explanation: &'static str,
    /// How to fix it.
    pub remedy: &'static str,
    /// An example of the evidence that produces it.
    pub example: &'static str,
}

macro_rules! findings {
    ($( $variant:ident = $code:literal, $sev:ident, $title:literal; )*) => {
        /// A stable finding code (design §5.4). The kebab-case string is the contract.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code { $( $variant, )* }

        impl Code {
            pub const ALL: &'static [Code] = &[ $( Code::$variant, )* ];
            pub fn as_str(self) -> &'static str {
                match self { $( Code::$variant => $code, )* }
            }
            pub fn default_severity(self) -> Severity {
                match self { $( Code::$variant => Severity::$sev, )* }
            }
            pub fn title(self) -> &'static str {
                match self { $( Code::$variant => $title, )* }
            }
            pub fn parse(text: &str) -> Option<Code> {
                match text { $( $code => Some(Code::$variant), )* _ => None }
            }
        }
    };
}

findings! {
    // credential
    CredentialNotConfigured = "credential-not-configured", Info, "Credential source not configured on this machine";
    CliNotInstalled = "cli-not-installed", Info, "CLI not installed";
    CliNotLoggedIn = "cli-not-logged-in", Warning, "CLI not logged in";
    InvalidClientSecret = "invalid-client-secret", Error, "Client secret rejected";
    ClientSecretExpired = "client-secret-expired", Error, "Client secret expired";
    AppNotFoundInTenant = "app-not-found-in-tenant", Error, "Application not found in tenant";
    TenantNotFound = "tenant-not-found", Error, "Tenant not found";
    FederatedCredentialMismatch = "federated-credential-mismatch", Error, "No federated credential matches the presented assertion";
    AssertionExpired = "assertion-expired", Error, "Client assertion outside its validity window";
    CertificateNotAccepted = "certificate-not-accepted", Error, "Certificate assertion rejected";
    ManagedIdentityNotFound = "managed-identity-not-found", Error, "Managed identity not found";
    ManagedIdentityAmbiguous = "managed-identity-ambiguous", Error, "Several managed identities; none selected";
    ImdsUnreachable = "imds-unreachable", Info, "No managed identity endpoint on this machine";
    TokenRequestFailed = "token-request-failed", Error, "Token request failed";
    // claims
    WrongAudience = "wrong-audience", Error, "Token issued for another audience";
    TokenExpired = "token-expired", Error, "Token expired";
    TenantMismatch = "tenant-mismatch", Error, "Token tenant differs from the resource's tenant";
    // endpoint and network
    RegionalEndpoint = "regional-endpoint", Error, "Regional endpoint cannot take Entra ID tokens";
    EndpointNotAzure = "endpoint-not-azure", Error, "Endpoint is not an Azure AI host; token not sent";
    DnsFailure = "dns-failure", Error, "Endpoint host does not resolve";
    PublicAccessDisabled = "public-access-disabled", Error, "Public network access disabled";
    FirewallBlocked = "firewall-blocked", Error, "Blocked by the resource firewall";
    LocalAuthEnabled = "local-auth-enabled", Warning, "Key (local) authentication still enabled";
    SearchAadDisabled = "search-aad-disabled", Error, "Search service accepts API keys only";
    SpeechResourceIdMissing = "speech-resource-id-missing", Error, "Speech needs the resource id for Entra ID tokens";
    TlsFailure = "tls-failure", Error, "TLS handshake failed";
    Timeout = "timeout", Error, "Timed out";
    // rbac
    MissingDataAction = "missing-data-action", Error, "No role grants the required data action";
    ManagementRoleOnly = "management-role-only", Error, "Only management-plane roles are assigned";
    RoleAtWrongScope = "role-at-wrong-scope", Error, "A granting role exists, at another scope";
    DenyAssignment = "deny-assignment", Error, "A deny assignment blocks the action";
    AbacCondition = "abac-condition", Warning, "A role assignment condition decides access";
    RolePropagationPending = "role-propagation-pending", Warning, "Role assignment not yet effective";
    RbacUnreadable = "rbac-unreadable", Warning, "Role assignments could not be read";
    // call
    PermissionDenied = "permission-denied", Error, "Service denied the call";
    TokenRejected = "token-rejected", Error, "Service rejected the token";
    Throttled = "throttled", Info, "Throttled (authorization proven)";
    NotFound = "not-found", Error, "Resource or path not found";
    ServerError = "server-error", Error, "Service error";
    UnexpectedRedirect = "unexpected-redirect", Error, "Service answered with a redirect";
}

impl Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A finding as reports carry it: `{"code","severity","message","remedy"}` (design §5.3).
/// `message` says what was seen in this run; `remedy` says what to do about it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    pub remedy: String,
}

impl Finding {
    pub fn new(code: Code, message: impl Into<String>, remedy: impl Into<String>) -> Finding {
        Finding {
            code,
            severity: code.default_severity(),
            message: crate::redact::redact(&message.into()),
            remedy: crate::redact::redact(&remedy.into()),
        }
    }
    pub fn with_severity(mut self, severity: Severity) -> Finding {
        self.severity = severity;
        self
    }
}
