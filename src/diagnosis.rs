//! The finding catalog and the pure diagnosis of a cell.
//!
//! Each finding is declared once, the way clippy declares a lint: its stable code, category,
//! default severity, a title, what it means and why it happens, how to fix it, an example of the
//! evidence that produces it, and where Microsoft documents it. `entraprobe explain CODE`,
//! `explain --list` and `docs/findings.md` are all rendered from this one table.
//!
//! Text conventions inside the `explanation`, `remedy` and `example` strings, so one source renders
//! well both on a terminal and in Markdown: blocks are separated by a blank line; a block whose
//! lines all start with `$ ` is a shell command block; a block whose lines all start with `- ` is
//! a list; anything else is a paragraph. Literal names (actions, headers, JSON) go in backticks:
//! Markdown would otherwise read `*` and `_` in them as emphasis.

pub mod cell;

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The stage of the data flow a finding belongs to (design §5.4 groups codes this way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Category {
    Credential,
    Claims,
    Endpoint,
    Rbac,
    Call,
}

impl Category {
    pub const ALL: [Category; 5] = [
        Category::Credential,
        Category::Claims,
        Category::Endpoint,
        Category::Rbac,
        Category::Call,
    ];
    pub fn heading(self) -> &'static str {
        match self {
            Category::Credential => "Credential",
            Category::Claims => "Token claims",
            Category::Endpoint => "Endpoint and network",
            Category::Rbac => "Role-based access control",
            Category::Call => "The service call",
        }
    }
}

/// One catalog entry.
#[derive(Debug, Clone, Copy)]
pub struct CatalogEntry {
    pub code: Code,
    pub category: Category,
    pub severity: Severity,
    pub title: &'static str,
    /// What it means and why it happens.
    pub explanation: &'static str,
    /// How to fix it, with concrete commands.
    pub remedy: &'static str,
    /// An example of the evidence that produces it (a real error body where there is one).
    pub example: &'static str,
    /// Where Microsoft documents the behaviour, when it does.
    pub doc: Option<&'static str>,
}

macro_rules! findings {
    ($(
        $variant:ident {
            code: $code:literal,
            category: $category:ident,
            severity: $sev:ident,
            title: $title:literal,
            explanation: $explanation:literal,
            remedy: $remedy:literal,
            example: $example:literal,
            doc: $doc:expr,
        }
    )*) => {
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

        /// In the order of `Code::ALL`, so `entry` can index it (a test checks the order).
        static CATALOG: &[CatalogEntry] = &[ $(
            CatalogEntry {
                code: Code::$variant,
                category: Category::$category,
                severity: Severity::$sev,
                title: $title,
                explanation: $explanation,
                remedy: $remedy,
                example: $example,
                doc: $doc,
            },
        )* ];
    };
}

findings! {
    // ---------------------------------------------------------------- credential
    CredentialNotConfigured {
        code: "credential-not-configured",
        category: Credential,
        severity: Info,
        title: "Credential source not configured on this machine",
        explanation: "The credential source has none of the configuration it needs here: for \
example no `AZURE_TENANT_ID`/`AZURE_CLIENT_ID` for `environment`, no \
`AZURE_FEDERATED_TOKEN_FILE` for `workload-identity`, no `SYSTEM_OIDCREQUESTURI` for \
`azure-pipelines`, no `ACTIONS_ID_TOKEN_REQUEST_URL` for `github-actions`. The row is skipped, \
not failed: a laptop has no managed identity and a VM has no GitHub OIDC endpoint.\n\n\
It matters only when this is the source your application is meant to use. A \
`DefaultAzureCredential` chain in Python or .NET silently moves on to the next source, and may \
end up calling the service as an identity you did not intend.",
        remedy: "If your application should use this source, configure it where the application \
runs:\n\n\
- environment: set `AZURE_TENANT_ID`, `AZURE_CLIENT_ID` and either `AZURE_CLIENT_SECRET` or `AZURE_CLIENT_CERTIFICATE_PATH`.\n\
- workload-identity: on AKS, label the pod `azure.workload.identity/use: \"true\"` and annotate its service account with `azure.workload.identity/client-id`; the webhook then sets `AZURE_FEDERATED_TOKEN_FILE`, `AZURE_CLIENT_ID` and `AZURE_TENANT_ID`.\n\
- managed-identity: assign an identity to the VM, App Service or container app (see `managed-identity-not-found`).\n\
- github-actions: give the job `permissions: id-token: write` and set the tenant and client id of the app whose federated credential trusts the repository.\n\
- azure-pipelines: map `SYSTEM_ACCESSTOKEN: $(System.AccessToken)` into the step's environment and give the id of a workload-identity-federation service connection.",
        example: "environment  skipped  AZURE_TENANT_ID and AZURE_CLIENT_ID are not set",
        doc: Some("https://learn.microsoft.com/azure/developer/python/sdk/authentication/credential-chains"),
    }
    CliNotInstalled {
        code: "cli-not-installed",
        category: Credential,
        severity: Info,
        title: "CLI not installed",
        explanation: "`az` (for `azure-cli`), `azd` (for `azure-developer-cli`) or `pwsh` with \
the Az.Accounts module (for `azure-powershell`) is not on the PATH of this process. The row is \
skipped. The SDK credentials run the CLI through `/bin/sh -c` \
(`cmd /C` on Windows), so the CLI must be on the PATH of the process that runs your application, \
not only in your interactive shell: a systemd service, a container or a CI agent often has \
another PATH.",
        remedy: "Install the CLI, then sign in:\n\n\
$ curl -sL https://aka.ms/InstallAzureCLIDeb | sudo bash\n\
$ az login\n\n\
For the Azure Developer CLI:\n\n\
$ curl -fsSL https://aka.ms/install-azd.sh | bash\n\
$ azd auth login\n\n\
For Azure PowerShell (PowerShell 7, https://aka.ms/powershell), in pwsh:\n\n\
PS> Install-Module Az.Accounts -Scope CurrentUser\n\
PS> Connect-AzAccount",
        example: "azure-cli  skipped  'az' was not found on PATH",
        doc: Some("https://learn.microsoft.com/cli/azure/install-azure-cli"),
    }
    CliNotLoggedIn {
        code: "cli-not-logged-in",
        category: Credential,
        severity: Warning,
        title: "CLI not logged in",
        explanation: "The CLI is installed but has no signed-in account, or its refresh token \
is no longer valid (AADSTS70043, AADSTS700082: the session expired or a Conditional Access \
policy asks for a new sign-in). Any SDK credential that relies on the CLI fails the same way.",
        remedy: "Sign in, in the tenant that owns the resource:\n\n\
$ az login --tenant <tenant-id>\n\
$ azd auth login --tenant-id <tenant-id>\n\
PS> Connect-AzAccount -Tenant <tenant-id>\n\n\
On a machine without a browser add `--use-device-code`. When the error names the Cognitive \
Services scope, sign in for it explicitly:\n\n\
$ az login --scope https://cognitiveservices.azure.com/.default",
        example: "ERROR: Please run 'az login' to setup account.\n\n\
{\"type\":\"consoleMessage\",\"timestamp\":\"2024-06-15T08:22:51Z\",\"data\":{\"message\":\"\\nERROR: not logged in, run `azd auth login` to login\\n\"}}",
        doc: Some("https://learn.microsoft.com/cli/azure/authenticate-azure-cli"),
    }
    InvalidClientSecret {
        code: "invalid-client-secret",
        category: Credential,
        severity: Error,
        title: "Client secret rejected",
        explanation: "Microsoft Entra ID rejected the client secret (AADSTS7000215). Most often \
the secret's ID, a GUID the portal shows next to it, was copied instead of its Value, which the \
portal shows only once, right after the secret is created. Other causes: a secret of another \
app registration, or quoting and whitespace damage in a pipeline variable.",
        remedy: "Create a new secret and use its value (`password` in the output). `--append` \
keeps the existing secrets working:\n\n\
$ az ad app credential reset --id <app-id> --append --display-name entraprobe --years 1\n\n\
Store it in `AZURE_CLIENT_SECRET` from a secret store, never on a command line. For CI, \
workload identity federation avoids secrets altogether.",
        example: "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '00001111-aaaa-2222-bbbb-3333cccc4444'. Trace ID: 0000aaaa-11bb-cccc-dd22-eeeeee333333 Correlation ID: aaaa0000-bb11-2222-33cc-444444dddddd Timestamp: 2024-06-15 08:22:51Z\",\"error_codes\":[7000215]}",
        doc: Some("https://learn.microsoft.com/entra/identity-platform/reference-error-codes"),
    }
    ClientSecretExpired {
        code: "client-secret-expired",
        category: Credential,
        severity: Error,
        title: "Client secret expired",
        explanation: "The secret is right but past its end date (AADSTS7000222). Client secrets \
always expire; the portal offers at most 24 months. A pipeline that worked for a year and \
fails overnight is the usual symptom.",
        remedy: "See which secrets the app has and when they end, then add a new one:\n\n\
$ az ad app credential list --id <app-id> --query \"[].{name:displayName, ends:endDateTime}\" -o table\n\
$ az ad app credential reset --id <app-id> --append --display-name entraprobe --years 1\n\n\
Update `AZURE_CLIENT_SECRET` where the application runs, then remove the expired secret.",
        example: "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000222: The provided client secret keys for app '00001111-aaaa-2222-bbbb-3333cccc4444' are expired. Visit the Azure portal to create new keys for your app...\",\"error_codes\":[7000222]}",
        doc: Some("https://learn.microsoft.com/entra/identity-platform/reference-error-codes"),
    }
    AppNotFoundInTenant {
        code: "app-not-found-in-tenant",
        category: Credential,
        severity: Error,
        title: "Application not found in tenant",
        explanation: "The tenant has no service principal for this client id (AADSTS700016). \
Either the client id is wrong, the request went to the wrong tenant (`AZURE_TENANT_ID` names \
another directory than the one the app is registered in), the app was deleted, or a multi-tenant \
app was never consented to in this tenant.",
        remedy: "Check that the app exists in the tenant you sign in to:\n\n\
$ az ad sp show --id <client-id> --query \"{name:displayName, appId:appId, tenant:appOwnerOrganizationId}\"\n\n\
If the app is registered elsewhere and meant to be used here, create its service principal \
(an admin consent does the same):\n\n\
$ az ad sp create --id <client-id>",
        example: "{\"error\":\"unauthorized_client\",\"error_description\":\"AADSTS700016: Application with identifier '00001111-aaaa-2222-bbbb-3333cccc4444' was not found in the directory 'contoso.onmicrosoft.com'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.\",\"error_codes\":[700016]}",
        doc: Some("https://learn.microsoft.com/entra/identity-platform/reference-error-codes"),
    }
    TenantNotFound {
        code: "tenant-not-found",
        category: Credential,
        severity: Error,
        title: "Tenant not found",
        explanation: "The authority does not know the tenant (AADSTS90002): a typo in the tenant \
id or domain, or the wrong cloud. A US Government or China tenant does not exist on \
`login.microsoftonline.com`, and a public tenant does not exist on the sovereign authorities.",
        remedy: "Find the tenant that owns the subscription of the resource:\n\n\
$ az account show --subscription <subscription-id> --query tenantId -o tsv\n\n\
Set `AZURE_TENANT_ID` to it, and pick the cloud with `--cloud public|usgov|china`.",
        example: "{\"error\":\"invalid_tenant\",\"error_description\":\"AADSTS90002: Tenant 'contoso.onmicrosoft.co' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.\",\"error_codes\":[90002]}",
        doc: Some("https://learn.microsoft.com/entra/fundamentals/how-to-find-tenant"),
    }
    FederatedCredentialMismatch {
        code: "federated-credential-mismatch",
        category: Credential,
        severity: Error,
        title: "No federated credential matches the presented assertion",
        explanation: "A federated identity credential on the app registration or user-assigned \
managed identity must match the presented token's issuer, subject and audience exactly \
(AADSTS70021, AADSTS700211 issuer, AADSTS700212 audience, AADSTS700213 subject). Matching is \
case-sensitive: AADSTS7002138 means the subject matches only when case is ignored.\n\n\
Typical subjects: GitHub Actions `repo:ORG/REPO:ref:refs/heads/main`, \
`repo:ORG/REPO:environment:NAME` (a job with an `environment:` uses this form, not the branch \
form) or `repo:ORG/REPO:pull_request`; Kubernetes `system:serviceaccount:NAMESPACE:NAME`, with \
the cluster's OIDC issuer URL as issuer. The audience is conventionally \
`api://AzureADTokenExchange`. entraprobe shows the presented iss, sub and aud next to this \
finding: the federated credential must hold exactly those.",
        remedy: "Add a federated credential with the presented values. On an app registration:\n\n\
$ az ad app federated-credential create --id <app-id> --parameters '{\"name\":\"github-main\",\"issuer\":\"https://token.actions.githubusercontent.com\",\"subject\":\"repo:contoso/app:ref:refs/heads/main\",\"audiences\":[\"api://AzureADTokenExchange\"]}'\n\n\
On a user-assigned managed identity (AKS workload identity):\n\n\
$ az aks show -g <rg> -n <cluster> --query oidcIssuerProfile.issuerUrl -o tsv\n\
$ az identity federated-credential create --name <name> --identity-name <identity> --resource-group <rg> --issuer <issuer-url> --subject system:serviceaccount:<namespace>:<service-account> --audiences api://AzureADTokenExchange",
        example: "AADSTS70021: No matching federated identity record found for presented assertion. Assertion Issuer: 'https://oidc.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/'. Assertion Subject: 'system:serviceaccount:default:workload-identity-sa'. Assertion Audience: 'api://AzureADTokenExchange'.",
        doc: Some("https://learn.microsoft.com/entra/workload-id/workload-identity-federation"),
    }
    AssertionExpired {
        code: "assertion-expired",
        category: Credential,
        severity: Error,
        title: "Client assertion outside its validity window",
        explanation: "The client assertion (a certificate-signed JWT, or a federated token from \
GitHub, Azure Pipelines or Kubernetes) was expired or not yet valid when Microsoft Entra ID \
received it (AADSTS700024). Federated tokens are short-lived: a job that fetched one early and \
exchanged it much later fails, and Azure Pipelines credentials have been seen to vanish after \
about 55 minutes. A machine clock far off produces the same error for assertions it signs \
itself.",
        remedy: "Request the federated token right before exchanging it, and do not cache it \
across long steps; split long jobs or sign in again before the step that needs Azure. For \
certificate assertions, check the clock:\n\n\
$ timedatectl status",
        example: "AADSTS700024: Client assertion is not within its valid time range. Current time: 2024-10-02T22:05:03.6755165Z, assertion valid from 1970-01-01T00:00:00.0000000Z, expiry time of assertion 2024-10-02T21:30:53.0000000Z. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials",
        doc: Some("https://learn.microsoft.com/entra/identity-platform/certificate-credentials"),
    }
    CertificateNotAccepted {
        code: "certificate-not-accepted",
        category: Credential,
        severity: Error,
        title: "Certificate assertion rejected",
        explanation: "The assertion signed with the certificate failed validation \
(AADSTS700027): the certificate was never uploaded to this app registration, it expired or was \
removed, or the private key used to sign does not belong to the uploaded certificate (the \
`x5t` thumbprint in the assertion header names a certificate the app does not have).",
        remedy: "Compare the app's certificates with the local one (`customKeyIdentifier` is \
the SHA-1 thumbprint):\n\n\
$ az ad app credential list --id <app-id> --cert --query \"[].{thumbprint:customKeyIdentifier, ends:endDateTime}\" -o table\n\
$ openssl x509 -in cert.pem -noout -fingerprint -sha1 -enddate\n\n\
Upload the public certificate if it is missing:\n\n\
$ az ad app credential reset --id <app-id> --cert @cert.pem --append",
        example: "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS700027: Client assertion failed signature validation. ...\",\"error_codes\":[700027]}",
        doc: Some("https://learn.microsoft.com/entra/identity-platform/certificate-credentials"),
    }
    ManagedIdentityNotFound {
        code: "managed-identity-not-found",
        category: Credential,
        severity: Error,
        title: "Managed identity not found",
        explanation: "The managed identity endpoint answered but has no such identity: the VM, \
scale set or app has no managed identity at all, or the user-assigned identity asked for \
(`AZURE_CLIENT_ID`, object id or resource id) is not assigned to this resource. A client id \
copied from another identity, or from an app registration instead of the managed identity, is a \
common cause. On AKS, IMDS serves the node pool's identities, not a pod's.",
        remedy: "Assign the identity to the compute resource, then use its client id:\n\n\
$ az vm identity assign -g <rg> -n <vm> --identities <identity-resource-id>\n\
$ az webapp identity assign -g <rg> -n <app> --identities <identity-resource-id>\n\
$ az identity show -g <rg> -n <identity> --query clientId -o tsv\n\n\
On AKS, prefer workload identity over node identities.",
        example: "{\"error\":\"invalid_request\",\"error_description\":\"Identity not found\"}",
        doc: Some("https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token"),
    }
    ManagedIdentityAmbiguous {
        code: "managed-identity-ambiguous",
        category: Credential,
        severity: Error,
        title: "Several managed identities; none selected",
        explanation: "More than one user-assigned identity is attached and no system-assigned \
identity exists, so IMDS cannot tell which one you want and refuses to guess. (When a \
system-assigned identity exists too, IMDS silently uses it instead, which may not be the identity \
that holds the roles.)",
        remedy: "Select the identity by client id, object id or resource id: set \
`AZURE_CLIENT_ID` to its client id (most SDKs read it), or pass it to \
`ManagedIdentityCredential` in code. Find the client ids with:\n\n\
$ az vm identity show -g <rg> -n <vm> --query userAssignedIdentities",
        example: "{\"error\":\"invalid_request\",\"error_description\":\"Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request\"}",
        doc: Some("https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token"),
    }
    ImdsUnreachable {
        code: "imds-unreachable",
        category: Credential,
        severity: Info,
        title: "No managed identity endpoint on this machine",
        explanation: "Nothing answered at `169.254.169.254` within a short probe, or what \
answered was not IMDS (a firewall's or proxy's HTML page rather than IMDS's JSON), and neither \
`IDENTITY_ENDPOINT` nor `MSI_ENDPOINT` is set. That is normal on a laptop or a CI runner outside \
Azure. entraprobe probes briefly on purpose: the SDK's managed identity credential retries for \
about 100 seconds when there is no IMDS.\n\n\
On an Azure VM it means the request did not reach IMDS: an `HTTP_PROXY` that captures the \
link-local address, a container network without a route to it, or a local firewall.",
        remedy: "On Azure, check that IMDS answers without a proxy (this asks for instance \
metadata, not a token):\n\n\
$ curl -s -o /dev/null -w '%{http_code}\\n' -H Metadata:true --noproxy '*' 'http://169.254.169.254/metadata/instance?api-version=2021-02-01'\n\n\
If a proxy is configured, add `169.254.169.254` to `NO_PROXY`.",
        example: "managed-identity  skipped  no answer from 169.254.169.254 within 1s",
        doc: Some("https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token"),
    }
    TokenRequestFailed {
        code: "token-request-failed",
        category: Credential,
        severity: Error,
        title: "Token request failed",
        explanation: "The token request failed for a reason no more specific finding covers. The \
message carries the AADSTS code or the transport error. Codes seen with Azure AI services: \
AADSTS50020 (a user from another tenant), AADSTS53003 (blocked by Conditional Access), \
AADSTS7000112 (the application is disabled), AADSTS500011 (the resource principal does not \
exist in the tenant: a wrong scope or cloud), AADSTS700022 (more than one resource in the \
scope), and `AudienceNotSupported` from Cloud Shell's managed identity endpoint, which cannot \
mint Cognitive Services tokens.",
        remedy: "Look the code up at `https://login.microsoftonline.com/error?code=<number>`. \
Keep the Trace ID and Correlation ID from the message for a support request. Request one \
resource per token: `https://cognitiveservices.azure.com/.default`, or \
`https://search.azure.com/.default` for Azure AI Search.",
        example: "{\"error\":\"invalid_scope\",\"error_description\":\"AADSTS70011: The provided value for the input parameter 'scope' is not valid. ...\",\"error_codes\":[70011]}",
        doc: Some("https://learn.microsoft.com/entra/identity-platform/reference-error-codes"),
    }
    TokenEndpointUnavailable {
        code: "token-endpoint-unavailable",
        category: Credential,
        severity: Error,
        title: "Token endpoint throttled or failing",
        explanation: "The token endpoint (Entra ID, IMDS, the App Service identity endpoint, or a \
CI system's OIDC endpoint) answered 429 or a 5xx, and still did after entraprobe retried within \
its deadline (honouring `Retry-After` up to 5 seconds), or asked for a longer wait than the \
deadline left. That says nothing about this identity's access, so every cell of the source is \
inconclusive rather than failed: a gate should retry, not treat it as a denial.",
        remedy: "Retry later, or with a longer `--timeout`. If it persists: for Entra ID, check \
https://status.azure.com and spread token requests (cache tokens; IMDS allows about 20 \
requests per second per VM); for IMDS or the App Service endpoint, restart the workload's host \
agent; behind a proxy, check that it is not the one answering 502/504.",
        example: "environment: login.microsoftonline.com answered HTTP 429 3 times (Retry-After 2 s)",
        doc: Some("https://learn.microsoft.com/entra/identity/managed-identities-azure-resources/how-to-use-vm-token#error-handling"),
    }
    // ---------------------------------------------------------------- claims
    WrongAudience {
        code: "wrong-audience",
        category: Claims,
        severity: Error,
        title: "Token issued for another audience",
        explanation: "The token's `aud` claim is not the audience of the service. Azure AI \
services accept `https://cognitiveservices.azure.com` (with or without a trailing slash); Azure \
AI Search accepts `https://search.azure.com`; in US Government and China the suffixes are `.us` \
and `.cn`. Common causes: a token requested for `https://management.azure.com/.default` or for \
an `api://` application id, and SDKs that hard-code the public-cloud scope in a sovereign \
cloud.\n\n\
The service answers a wrong audience, an expired token, a bad signature and a missing token all \
with the same 401 text, which is why entraprobe decodes the token locally.",
        remedy: "Request the service's scope:\n\n\
- Azure AI services: `https://cognitiveservices.azure.com/.default` (US Government `https://cognitiveservices.azure.us/.default`)\n\
- Azure AI Search: `https://search.azure.com/.default`\n\n\
In Python: `get_bearer_token_provider(credential, \"https://cognitiveservices.azure.com/.default\")`. \
To check what the CLI issues without printing the token:\n\n\
$ entraprobe token --credential azure-cli --scope https://cognitiveservices.azure.com/.default",
        example: "{\"statusCode\":401,\"message\":\"Unauthorized. Access token is missing, invalid, audience is incorrect (https://cognitiveservices.azure.com), or have expired.\"}",
        doc: Some("https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference"),
    }
    TokenExpired {
        code: "token-expired",
        category: Claims,
        severity: Error,
        title: "Token expired",
        explanation: "The token's `exp` is in the past (or its `nbf` in the future). Service \
principal and user tokens live for about 60 to 90 minutes, managed identity tokens for about \
24 hours. An application that stores a token string instead of asking its credential for a token \
on every call fails once the token expires; a machine clock that is off shifts the window.",
        remedy: "Pass a credential or token provider to the client so the SDK refreshes tokens, \
instead of a fixed token string. Check the clock:\n\n\
$ timedatectl status",
        example: "{\"statusCode\":401,\"message\":\"Unauthorized. Access token is missing, invalid, audience is incorrect (https://cognitiveservices.azure.com), or have expired.\"}",
        doc: Some("https://learn.microsoft.com/entra/identity-platform/access-token-claims-reference"),
    }
    TenantMismatch {
        code: "tenant-mismatch",
        category: Claims,
        severity: Error,
        title: "Token tenant differs from the resource's tenant",
        explanation: "The token's `tid` is not the tenant of the subscription that holds the \
resource. The CLI is signed in to your home tenant, a guest account picked the wrong directory, \
`AZURE_TENANT_ID` names another tenant, or a `DefaultAzureCredential` chain picked a developer \
tool signed in elsewhere. The service answers with HTTP 400, not 401 or 403, and the error \
`code` really is an English sentence.",
        remedy: "Find the resource's tenant and request the token there:\n\n\
$ az account show --subscription <subscription-id> --query tenantId -o tsv\n\
$ az login --tenant <tenant-id>\n\n\
For service principals and managed identities set `AZURE_TENANT_ID` to that tenant.",
        example: "{\"error\":{\"code\":\"Tenant provided in token does not match resource token\",\"message\":\"Token tenant aaaabbbb-0000-cccc-1111-dddd2222eeee does not match resource tenant.\"}}",
        doc: Some("https://learn.microsoft.com/entra/fundamentals/how-to-find-tenant"),
    }
    // ---------------------------------------------------------------- endpoint and network
    RegionalEndpoint {
        code: "regional-endpoint",
        category: Endpoint,
        severity: Error,
        title: "Regional endpoint cannot take Entra ID tokens",
        explanation: "The endpoint is a shared regional host such as \
`https://westeurope.api.cognitive.microsoft.com/`, not the resource's custom subdomain \
`https://NAME.cognitiveservices.azure.com/`. Regional endpoints do not support Microsoft Entra \
authentication: they cannot tell which resource a token is for, so they accept keys only. An \
account created without a custom subdomain has only the regional endpoint, and Entra ID \
authentication needs one.\n\n\
A custom subdomain is globally unique, and once set it cannot be changed or removed. That \
matters for Speech too, whose documentation calls enabling the custom domain not reversible.",
        remedy: "If the account already has a custom subdomain, use its endpoint:\n\n\
$ az cognitiveservices account show -n <account> -g <rg> --query \"{endpoint:properties.endpoint, subdomain:properties.customSubDomainName}\"\n\n\
Otherwise set one (irreversible; the name must be globally unique):\n\n\
$ az cognitiveservices account update -n <account> -g <rg> --custom-domain <unique-name>",
        example: "{\"error\":{\"code\":\"BadRequest\",\"message\":\"Please provide a custom subdomain for token authentication, otherwise API key is required.\"}}\n\n\
Older wording: {\"error\":{\"code\":\"BadRequest\",\"message\":\"Please provide an authentication key.\"}}",
        doc: Some("https://learn.microsoft.com/azure/ai-services/cognitive-services-custom-subdomains"),
    }
    EndpointNotAzure {
        code: "endpoint-not-azure",
        category: Endpoint,
        severity: Error,
        title: "Endpoint is not an Azure AI host; token not sent",
        explanation: "The endpoint's host is not one of the selected cloud's Azure AI host \
suffixes (`*.cognitiveservices.azure.com`, `*.openai.azure.com`, `*.search.windows.net`, the \
regional and Translator hosts). entraprobe does not send a bearer token to any other host: it \
could be a typo, an API Management gateway in front of the resource, or someone else's server. \
An API Management gateway typically answers `Access denied due to missing subscription key`.",
        remedy: "Point the service at the resource's own endpoint (`properties.endpoint` of the \
account). If the host is your own gateway and it forwards Entra ID tokens, allow it explicitly \
with `--allow-host <host>`. In a sovereign cloud, select it with `--cloud usgov|china`.",
        example: "{\"statusCode\":401,\"message\":\"Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API.\"}",
        doc: None,
    }
    DnsFailure {
        code: "dns-failure",
        category: Endpoint,
        severity: Error,
        title: "Endpoint host does not resolve",
        explanation: "The endpoint's host name does not resolve. Causes: a typo; a custom \
subdomain that does not exist (an account without one has no `NAME.cognitiveservices.azure.com` \
host); or a private endpoint whose private DNS zone (`privatelink.cognitiveservices.azure.com`, \
`privatelink.openai.azure.com`, `privatelink.search.windows.net`) is not linked to the network \
you run from. This is a network problem; no role assignment fixes it.",
        remedy: "Resolve the host where the application runs. With a private endpoint it should \
resolve through `NAME.privatelink...` to a private address:\n\n\
$ nslookup <account>.cognitiveservices.azure.com\n\n\
Link the private DNS zone to the virtual network if it does not:\n\n\
$ az network private-dns link vnet create -g <rg> -z privatelink.cognitiveservices.azure.com -n <link-name> -v <vnet-id> -e false",
        example: "dns error: failed to lookup address information: Name or service not known",
        doc: Some("https://learn.microsoft.com/azure/private-link/private-endpoint-dns"),
    }
    PublicAccessDisabled {
        code: "public-access-disabled",
        category: Endpoint,
        severity: Error,
        title: "Public network access disabled",
        explanation: "The resource has `publicNetworkAccess: Disabled` and accepts calls only \
through its private endpoints. The 403 looks like an authorization error, but no role changes \
it. Often the caller is meant to come through the private endpoint, but its DNS resolves the \
host to the public address (a VPN, or an on-premises DNS server without a forwarder for the \
`privatelink` zone).",
        remedy: "Run from a network that reaches the private endpoint, and check that the host \
resolves to a private address there:\n\n\
$ nslookup <account>.cognitiveservices.azure.com\n\n\
If public access is acceptable for this resource:\n\n\
$ az resource update --ids <account-resource-id> --set properties.publicNetworkAccess=Enabled",
        example: "{\"error\":{\"code\":\"403\",\"message\": \"Public access is disabled. Please configure private endpoint.\"}}",
        doc: Some("https://learn.microsoft.com/azure/ai-services/cognitive-services-virtual-networks"),
    }
    PrivateEndpointRequired {
        code: "private-endpoint-required",
        category: Endpoint,
        severity: Error,
        title: "Reachable only through its private endpoint",
        explanation: "The resource has public network access disabled and an approved private \
endpoint: only callers inside the endpoint's virtual network (or a network peered or connected \
to it) get through. From anywhere else the public name resolves, through its \
`privatelink` CNAME, to the public address, and the service answers 403 \"Public access is \
disabled\"; with a private DNS zone that is not linked to the caller's network the name may \
not resolve at all, or resolve to a private address the caller cannot route to. No role \
assignment changes any of this.\n\n\
Before the call entraprobe can only warn (it may be running inside that network); when the \
call is refused, this is the cause.",
        remedy: "Run from inside the private endpoint's network (a VM, a self-hosted CI agent, \
a VPN or ExpressRoute connection), and make the name resolve to the endpoint's private \
address there: link the private DNS zone to that virtual network (or forward the zone from \
your own DNS servers):\n\n\
$ az network private-dns link vnet create -g <rg> -z privatelink.cognitiveservices.azure.com -n <link-name> -v <vnet-id> -e false\n\
$ nslookup <account>.cognitiveservices.azure.com\n\n\
For OpenAI endpoints the zone is `privatelink.openai.azure.com`, for Foundry `privatelink.services.ai.azure.com`. \
If public access is acceptable for this resource instead:\n\n\
$ az resource update --ids <account-resource-id> --set properties.publicNetworkAccess=Enabled",
        example: "{\"error\":{\"code\":\"403\",\"message\": \"Public access is disabled. Please configure private endpoint.\"}}",
        doc: Some("https://learn.microsoft.com/azure/ai-services/cognitive-services-virtual-networks"),
    }
    // reference/azure-wire.md §8.4 tags "the network check runs before token validation" [L],
    // so the text says "may".
    FirewallBlocked {
        code: "firewall-blocked",
        category: Endpoint,
        severity: Error,
        title: "Blocked by the resource firewall",
        explanation: "The resource's network rules deny by default (`networkAcls.defaultAction: \
Deny`) and the caller's address is in no IP rule or allowed virtual network. No role \
assignment changes that, and the 403 may come back even before the token is looked at. An \
expected denial caused by the network does not count as an authorization denial.",
        remedy: "Allow the address the service sees (the caller's public egress address, or \
its subnet through a service endpoint or private endpoint):\n\n\
$ az cognitiveservices account network-rule add -n <account> -g <rg> --ip-address <egress-ip>\n\
$ az cognitiveservices account network-rule list -n <account> -g <rg>",
        example: "{\"error\":{\"code\":\"403\",\"message\": \"Access denied due to Virtual Network/Firewall rules.\"}}",
        doc: Some("https://learn.microsoft.com/azure/ai-services/cognitive-services-virtual-networks"),
    }
    LocalAuthEnabled {
        code: "local-auth-enabled",
        category: Endpoint,
        severity: Warning,
        title: "Key (local) authentication still enabled",
        explanation: "The account has `disableLocalAuth` false, so its keys work alongside \
Entra ID. That is not a failure of Entra access, but anyone who may list keys (Owner, \
Contributor, Cognitive Services Contributor, Cognitive Services User) can bypass the data roles \
with a key, and an application may be using a key without anyone noticing. Once local auth is \
disabled, key calls get 403 `AuthenticationTypeDisabled`. A few APIs still need keys (some \
custom voice operations, for instance): check before disabling.",
        remedy: "When every client uses Entra ID:\n\n\
$ az resource update --ids <account-resource-id> --set properties.disableLocalAuth=true",
        example: "\"disableLocalAuth\": false\n\n\
After disabling: {\"error\":{\"code\":\"AuthenticationTypeDisabled\",\"message\": \"Key based authentication is disabled for this resource.\"}}",
        doc: Some("https://learn.microsoft.com/azure/ai-services/disable-local-auth"),
    }
    // The body a Search service in apiKeyOnly mode sends back to a bearer token is not in the
    // reference ([L] at best), so the example shows the ARM property and the status only.
    SearchAadDisabled {
        code: "search-aad-disabled",
        category: Endpoint,
        severity: Error,
        title: "Search service accepts API keys only",
        explanation: "The Azure AI Search service has `authOptions: apiKeyOnly`, the mode a \
service is created in, so it rejects Entra ID tokens with 403 however the roles are assigned: \
even a subscription Owner is refused. Role-based access needs `authOptions: aadOrApiKey` (keys \
and tokens; `aadAuthFailureMode` chooses between `http401WithBearerChallenge` and `http403` for \
failed tokens) or `disableLocalAuth: true` (tokens only).\n\n\
Then the roles: Search Index Data Reader grants `Microsoft.Search/searchServices/indexes/documents/read` \
(queries, document counts); Search Index Data Contributor grants `Microsoft.Search/searchServices/indexes/documents/*`; \
listing and reading index definitions is the control-plane action \
`Microsoft.Search/searchServices/indexes/read`, which Search Service Contributor, Reader, Owner \
and Contributor grant. Owner and Contributor grant no Search data action.",
        remedy: "Allow Entra ID tokens, then assign a data role:\n\n\
$ az search service update -n <service> -g <rg> --auth-options aadOrApiKey --aad-auth-failure-mode http401WithBearerChallenge\n\
$ az role assignment create --assignee <principal-object-id> --role \"Search Index Data Reader\" --scope <search-service-resource-id>",
        example: "\"authOptions\": {\"apiKeyOnly\": {}}\n\n\
The data plane then answers a bearer token with 403 Forbidden.",
        doc: Some("https://learn.microsoft.com/azure/search/search-security-enable-roles"),
    }
    // Whether Speech accepts a plain bearer token on the custom-domain host is undocumented
    // (data-actions.md §4 [M]/[L]); the text only names the documented `aad#` form and the newer
    // SDKs' token-credential path.
    SpeechResourceIdMissing {
        code: "speech-resource-id-missing",
        category: Endpoint,
        severity: Error,
        title: "Speech needs the resource id for Entra ID tokens",
        explanation: "The Speech REST APIs and the `authorizationToken` of the Speech SDK do not \
take a plain Entra ID token. They expect `aad#{resourceId}#{token}`: the literal `aad#`, the full \
ARM resource id of the Speech or AI Services account, `#`, then the token, sent as \
`Authorization: Bearer aad#...#...`; the SDK also needs the region. The account must have a \
custom subdomain. (Newer Speech SDKs also accept a token credential with the custom-domain \
endpoint and build the header themselves.)\n\n\
entraprobe builds this form itself, but needs the resource id. It reads it from ARM when it can; \
when it cannot (no management token, or no read permission on the account, as for an identity \
given only a data role at the account by someone else), the id must be given.",
        remedy: "Give the resource id (and region) with the service:\n\n\
$ entraprobe run --service speech=speech@https://<account>.cognitiveservices.azure.com,resource=/subscriptions/<sub>/resourceGroups/<rg>/providers/Microsoft.CognitiveServices/accounts/<account>,region=<region>\n\n\
Someone who can read the account finds it with:\n\n\
$ az cognitiveservices account show -n <account> -g <rg> --query id -o tsv\n\n\
In code: `SpeechConfig.FromAuthorizationToken($\"aad#{resourceId}#{aadToken}\", region)`.",
        example: "WebSocket upgrade failed: Authentication error (401). Please check subscription information and region name.",
        doc: Some("https://learn.microsoft.com/azure/ai-services/speech-service/how-to-configure-azure-ad-auth"),
    }
    TlsFailure {
        code: "tls-failure",
        category: Endpoint,
        severity: Error,
        title: "TLS handshake failed",
        explanation: "The TLS handshake with the endpoint failed. Usually a proxy inspects TLS and \
presents certificates from a corporate CA this process does not trust; sometimes the CA bundle \
is outdated or the clock is far off. No token was sent.",
        remedy: "Trust the proxy's CA, and look at who issued the certificate you receive:\n\n\
$ entraprobe run --ca-file <corporate-ca.pem> ...\n\
$ openssl s_client -connect <host>:443 -servername <host> </dev/null | openssl x509 -noout -issuer -dates",
        example: "invalid peer certificate: UnknownIssuer",
        doc: None,
    }
    Timeout {
        code: "timeout",
        category: Endpoint,
        severity: Error,
        title: "Timed out",
        explanation: "No answer arrived within `--timeout`. A firewall that drops packets instead \
of rejecting them, a proxy, an unreachable private endpoint or a slow service all look like this. \
A timeout proves neither access nor denial, so it never satisfies an expected denial.",
        remedy: "Check the network path from this machine, then retry with a longer deadline:\n\n\
$ curl -sv -o /dev/null https://<host>/\n\
$ entraprobe run --timeout 60s ...\n\n\
Check `HTTPS_PROXY` and `NO_PROXY` as well.",
        example: "GET https://contoso-ai.cognitiveservices.azure.com/vision/v3.2/models: no response within 20s",
        doc: None,
    }
    ConnectionFailed {
        code: "connection-failed",
        category: Endpoint,
        severity: Error,
        title: "Could not connect",
        explanation: "The host resolved, but no connection could be made: the connection was \
refused, or the proxy in `HTTPS_PROXY` refused the tunnel. Causes: an outbound firewall \
that rejects the traffic, a proxy that is down or does not allow the host, or a private endpoint \
address that is not routable from here. Nothing reached the service, so this proves neither \
access nor denial and never satisfies an expected denial.",
        remedy: "Check the network path from this machine, including the proxy:\n\n\
$ curl -sv -o /dev/null https://<host>/\n\n\
Check `HTTPS_PROXY`, `HTTP_PROXY` and `NO_PROXY`; with a private endpoint, check that its \
address is routable from this network.",
        example: "could not connect to contoso-ai.openai.azure.com: error trying to connect: tcp connect error: Connection refused (os error 111)",
        doc: None,
    }
    TooManyOpenFiles {
        code: "too-many-open-files",
        category: Endpoint,
        severity: Error,
        title: "This machine ran out of file descriptors",
        explanation: "The operating system refused to open another socket (`EMFILE`, os error 24): \
the process reached its open-file limit (`ulimit -n`). Nothing was sent to the service, so this \
says nothing about access and never satisfies an expected denial. entraprobe bounds its own \
concurrency (probes and ARM reads in flight, connections closed after each probe), so this \
happens only under a very low limit or when something else holds the descriptors.",
        remedy: "Raise the limit for the shell that runs entraprobe, then run again:\n\n\
$ ulimit -n 4096\n\n\
In a container or a systemd unit, raise `nofile` (`--ulimit nofile=4096:4096`, `LimitNOFILE=4096`).",
        example: "could not open a connection to contoso-ai.openai.azure.com: too many open files (os error 24)",
        doc: None,
    }
    // ---------------------------------------------------------------- rbac
    HubBasedProject {
        code: "hub-based-project",
        category: Endpoint,
        severity: Error,
        title: "Hub-based project: a different system, not probed",
        explanation: "The target is a hub-based (\"classic\") Foundry or AI Studio project: an \
Azure Machine Learning workspace (`Microsoft.MachineLearningServices/workspaces`, kind `Hub` or \
`Project`), reached at `REGION.api.azureml.ms` or through a connection string \
`REGION.api.azureml.ms;SUBSCRIPTION;RESOURCE_GROUP;PROJECT`. It is another stack than a Foundry \
project (`Microsoft.CognitiveServices/accounts/projects`): its tokens are for \
`https://ml.azure.com`, its roles are Azure AI Developer, Azure AI Administrator and the Azure \
Machine Learning roles, and its 403 is an nginx HTML page, not a JSON body. Current SDKs \
(azure-ai-projects 1.0.0b11 and later) no longer support hubs, so entraprobe does not probe it \
as if it were a Foundry project.",
        remedy: "For the hub, pin azure-ai-projects 1.0.0b10 or earlier and request \
`https://ml.azure.com/.default`. To use current SDKs, create a Foundry resource (an AIServices \
account with project management) and a project, then probe it:\n\n\
$ entraprobe run --service agents=foundry-project@https://ACCOUNT.services.ai.azure.com/api/projects/PROJECT",
        example: "--service old=foundry-project@https://eastus.api.azureml.ms/ ; or a discovered Microsoft.MachineLearningServices/workspaces row of kind Project",
        doc: Some("https://learn.microsoft.com/azure/ai-foundry/what-is-azure-ai-foundry"),
    }
    MissingDataAction {
        code: "missing-data-action",
        category: Rbac,
        severity: Error,
        title: "No role grants the required data action",
        explanation: "No role assignment that applies to the principal at the resource (directly, \
through a group, or inherited from the resource group, subscription or management group) grants \
the data action the call needs. The data plane checks data actions, not role names, and \
Cognitive Services answers a missing one with 401 `PermissionDenied`, not 403.\n\n\
Roles that grant the data actions of entraprobe's probes:\n\n\
- any Azure AI service: Cognitive Services User or Azure AI User (`Microsoft.CognitiveServices/*`)\n\
- Azure OpenAI: Cognitive Services OpenAI User, Cognitive Services OpenAI Contributor\n\
- Speech: Cognitive Services Speech User, Cognitive Services Speech Contributor\n\
- Language: Cognitive Services Language Reader, Cognitive Services Language Writer, Cognitive Services Language Owner\n\
- Azure AI Search documents: Search Index Data Reader or Search Index Data Contributor\n\n\
Check that the principal in the message is the one you expected. A role assigned to an app \
registration's object id does nothing: assignments go to the service principal (enterprise \
application) object id, the `oid` in the token.",
        remedy: "Assign a role that grants the action, at the resource or a parent scope:\n\n\
$ az role assignment create --assignee-object-id <principal-object-id> --assignee-principal-type ServicePrincipal --role \"Cognitive Services User\" --scope <account-resource-id>\n\n\
Use `--assignee-principal-type User` or `Group` for those. Then wait for it to take effect: \
`entraprobe run --wait-for-access 10m`.",
        example: "{\"error\":{\"code\":\"PermissionDenied\",\"message\":\"The principal `11112222-bbbb-3333-cccc-4444dddd5555` lacks the required data action `Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action` to perform `POST /openai/deployments/{deployment-id}/chat/completions` operation.\"}}",
        doc: Some("https://learn.microsoft.com/azure/role-based-access-control/role-assignments-cli"),
    }
    ManagementRoleOnly {
        code: "management-role-only",
        category: Rbac,
        severity: Error,
        title: "Only management-plane roles are assigned",
        explanation: "The principal holds only management-plane roles, such as Owner, Contributor, \
Cognitive Services Contributor or Reader. These grant `actions` and no `dataActions`, and a \
wildcard in `actions` (Owner's and Contributor's `*`) never grants a data action. Owner, \
Contributor and Cognitive Services Contributor let the principal manage the resource and list \
its keys, so key-based calls work, but every call made with an Entra ID token is denied. The role that sounds most powerful is not the one that \
calls the model.",
        remedy: "Keep the management role if it is needed, and add a data role next to it:\n\n\
$ az role assignment create --assignee-object-id <principal-object-id> --assignee-principal-type ServicePrincipal --role \"Cognitive Services User\" --scope <account-resource-id>\n\n\
For Azure OpenAI only, \"Cognitive Services OpenAI User\" is the narrower choice; for Search \
documents, \"Search Index Data Reader\".",
        example: "{\"error\":{\"code\":\"PermissionDenied\",\"message\":\"Principal does not have access to API/Operation.\"}}",
        doc: Some("https://learn.microsoft.com/azure/role-based-access-control/role-definitions"),
    }
    RoleAtWrongScope {
        code: "role-at-wrong-scope",
        category: Rbac,
        severity: Error,
        title: "A granting role exists, at another scope",
        explanation: "The principal has a role that grants the data action, but at a scope that \
does not contain this resource: another account, another resource group or subscription. \
Assignments are inherited downwards only, from management group to subscription to resource \
group to resource, never sideways or upwards. When the roles the principal does hold here grant \
management actions only (Contributor, Reader), the message names them too: assigning the role \
here settles both, so no separate `management-role-only` is reported.",
        remedy: "List the principal's assignments with their scopes, and assign the role at this \
account or a scope above it:\n\n\
$ az role assignment list --assignee <principal-object-id> --all --include-inherited --include-groups -o table\n\
$ az role assignment create --assignee-object-id <principal-object-id> --assignee-principal-type ServicePrincipal --role \"<role>\" --scope <account-resource-id>",
        example: "Cognitive Services OpenAI User at /subscriptions/.../resourceGroups/rg-dev/providers/Microsoft.CognitiveServices/accounts/contoso-dev; probed account is contoso-prod",
        doc: Some("https://learn.microsoft.com/azure/role-based-access-control/scope-overview"),
    }
    DenyAssignment {
        code: "deny-assignment",
        category: Rbac,
        severity: Error,
        title: "A deny assignment blocks the action",
        explanation: "A deny assignment at or above the resource names this principal (or \
everyone) and the action. Deny assignments win over every role assignment. You cannot create \
them directly: managed applications, deployment stacks with deny settings and Azure Blueprints \
create them, and only their creator can change them.",
        remedy: "Find the deny assignment and what created it:\n\n\
$ az rest --method get --url \"<account-resource-id>/providers/Microsoft.Authorization/denyAssignments?api-version=2022-04-01&\\$filter=atScope()\"\n\n\
For a deployment stack, add the principal to the stack's excluded principals \
(`--deny-settings-excluded-principals`) or change its deny settings.",
        example: "{\"properties\":{\"denyAssignmentName\":\"Deny assignment for deployment stack 'ai-stack'\",\"permissions\":[{\"actions\":[],\"notActions\":[],\"dataActions\":[\"Microsoft.CognitiveServices/*\"],\"notDataActions\":[]}],\"scope\":\"/subscriptions/.../resourceGroups/rg-ai\"}}",
        doc: Some("https://learn.microsoft.com/azure/role-based-access-control/deny-assignments"),
    }
    AbacCondition {
        code: "abac-condition",
        category: Rbac,
        severity: Warning,
        title: "A role assignment condition decides access",
        explanation: "A role assignment that would grant the action carries a condition \
(attribute-based access control, `conditionVersion` 2.0). entraprobe does not evaluate \
conditions, and neither does the ARM permissions API, so the RBAC stage cannot say whether the \
condition allows this call. The result of the call itself is what counts.",
        remedy: "Read the conditions on the principal's assignments:\n\n\
$ az role assignment list --assignee <principal-object-id> --all --query \"[?condition!=null].{role:roleDefinitionName, scope:scope, condition:condition}\"",
        example: "\"condition\": \"((!(ActionMatches{'Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action'}))...)\", \"conditionVersion\": \"2.0\"",
        doc: Some("https://learn.microsoft.com/azure/role-based-access-control/conditions-overview"),
    }
    RolePropagationPending {
        code: "role-propagation-pending",
        category: Rbac,
        severity: Warning,
        title: "Role assignment not yet effective",
        explanation: "ARM lists a role assignment that grants the action, but the data plane \
still denies. New assignments take time to reach the data plane: usually 5 to 10 minutes, \
documented as up to 5 minutes for Foundry roles and up to 30 minutes in the RBAC troubleshooting \
guide. A fixed `sleep` is a guess either way.\n\n\
Tokens add to the wait. A change of group membership is seen only with a token issued after it. \
Managed identity tokens live about 24 hours and are cached by IMDS and the SDKs, so an \
application can keep a token from before the fix for a long time.",
        remedy: "Wait for access instead of sleeping; entraprobe polls with backoff and fresh \
tokens, and reports when each cell became effective:\n\n\
$ entraprobe run --wait-for-access 30m\n\n\
If it still fails after that, restart the application (or sign in again with `az login`) so it \
gets a new token.",
        example: "ERROR: Caller is not authorized to perform action on resource. If role assignments, deny assignments or role definitions were changed recently, please observe propagation time.",
        doc: Some("https://learn.microsoft.com/azure/role-based-access-control/troubleshooting"),
    }
    RoleEligibleNotActive {
        code: "role-eligible-not-active",
        category: Rbac,
        severity: Error,
        title: "Role eligible through PIM but not activated",
        explanation: "Privileged Identity Management (PIM) makes the principal (or a group it \
belongs to) eligible for a role that would grant the action, but the role is not active: an \
eligible assignment grants nothing until it is activated, and an activation lasts only for its \
duration (often 1 to 8 hours). Azure lists eligibilities as `roleEligibilityScheduleInstances`; \
entraprobe reads them (`asTarget()` for its own identity, `assignedTo()` in admin mode) only \
when no active assignment grants the action.\n\n\
Service principals and managed identities cannot activate roles interactively: for them an \
eligible assignment is almost always a mistake, and the fix is an active assignment.",
        remedy: "Activate the role (portal: Microsoft Entra Privileged Identity Management, My \
roles, Azure resources, Activate), or with a request against ARM:\n\n\
$ az rest --method put --url \"<scope>/providers/Microsoft.Authorization/roleAssignmentScheduleRequests/$(uuidgen)?api-version=2020-10-01\" --body '{\"properties\":{\"principalId\":\"<principal-object-id>\",\"roleDefinitionId\":\"<role-definition-id>\",\"requestType\":\"SelfActivate\",\"linkedRoleEligibilityScheduleId\":\"<eligibility-schedule-id>\",\"justification\":\"entraprobe\",\"scheduleInfo\":{\"expiration\":{\"type\":\"AfterDuration\",\"duration\":\"PT8H\"}}}}'\n\n\
Activation can take a few minutes to be enforced; run again with `--wait-for-access 10m`. For \
an identity that runs unattended, make the assignment active (permanent or time-bound) instead.",
        example: "rbac  unknown: *Cognitive Services OpenAI User* at account contoso-openai is eligible for alice through PIM but not active",
        doc: Some("https://learn.microsoft.com/entra/id-governance/privileged-identity-management/pim-resource-roles-activate-your-roles"),
    }
    RoleAssignmentExpiring {
        code: "role-assignment-expiring",
        category: Rbac,
        severity: Warning,
        title: "Access ends soon: it rests on time-bound (PIM) assignments",
        explanation: "The action is granted now, but only by role assignments that Privileged \
Identity Management (PIM) ends within the run's horizon (`--expiry-horizon`, default 24h): a \
role activated for a few hours, or an active assignment made until a date. With those taken \
away no other assignment grants the action, so the cell that passes today fails once the last \
of them ends. entraprobe reads the principal's active assignments as PIM lists them \
(`roleAssignmentScheduleInstances`: `asTarget()` for its own identity, `assignedTo()` in admin \
mode), once per principal and subscription, only for cells a role assignment grants, and ties \
each to the granting assignment by `originRoleAssignmentId`.\n\n\
A person who activates a role knows it ends; a deployment, a pipeline or a service that runs \
unattended does not, and starts failing with `PermissionDenied` when it does.",
        remedy: "For an identity that runs unattended, have an administrator make the \
assignment permanent or extend it (portal: Privileged Identity Management, Azure resources, \
Assignments, Active assignments, Update or Extend). As a schedule request, for example (`az \
rest` puts the current cloud's ARM endpoint before a path; PIM policy may require a \
justification or ticket, or forbid permanent active assignments):\n\n\
$ az rest --method put --url \"<scope>/providers/Microsoft.Authorization/roleAssignmentScheduleRequests/$(uuidgen)?api-version=2020-10-01\" --body '{\"properties\":{\"principalId\":\"<principal-object-id>\",\"roleDefinitionId\":\"<role-definition-id>\",\"requestType\":\"AdminUpdate\",\"justification\":\"<why>\",\"scheduleInfo\":{\"expiration\":{\"type\":\"NoExpiration\"}}}}'\n\n\
`AdminExtend` (with an `AfterDateTime` expiration) extends it instead. For a role activated \
through PIM, activate it again when it ends (or ask for a longer activation). \
`--expiry-horizon 0s` turns this check off.",
        example: "role-assignment-expiring  the access rests on time-bound role assignments only: *Cognitive Services OpenAI User* at account contoso-openai, activated through PIM, ends at 2026-12-02T19:40:00Z (in 1h 58m)",
        doc: Some("https://learn.microsoft.com/entra/id-governance/privileged-identity-management/pim-resource-roles-renew-extend"),
    }
    AssignedToApplicationObject {
        code: "assigned-to-application-object",
        category: Rbac,
        severity: Error,
        title: "Role assigned to the app registration, not its service principal",
        explanation: "A role assignment that would grant the action names the object id of an \
application (the app registration, `#microsoft.graph.application` in Microsoft Graph) instead \
of its service principal (the enterprise application). They are two directory objects with two \
object ids: the portal's App registrations blade shows the application's, tokens carry the \
service principal's (`oid`). Azure RBAC matches assignments against the token's `oid` and \
group memberships, so an assignment to the application object never authorizes anything.\n\n\
entraprobe looks for it when no assignment grants the action: it finds the application behind \
the service principal's app (client) id in Microsoft Graph and reads the role assignments made \
to that object. It needs an identity that can read Graph (for admin mode, the operator's).",
        remedy: "Assign the role to the service principal's object id (and remove the assignment to \
the application object):\n\n\
$ az role assignment create --assignee-object-id $(az ad sp show --id <app-id> --query id -o tsv) --assignee-principal-type ServicePrincipal --role \"<role>\" --scope <scope>\n\n\
$ az role assignment delete --ids <assignment-id>",
        example: "rbac  denied: *Cognitive Services OpenAI User* at account contoso-openai is assigned to the app registration (application object 5f0c…) of ci-app, not to its service principal 9a1b…",
        doc: Some("https://learn.microsoft.com/entra/identity-platform/app-objects-and-service-principals"),
    }
    PrincipalUnresolved {
        code: "principal-unresolved",
        category: Rbac,
        severity: Error,
        title: "An admin-mode principal could not be resolved to one object",
        explanation: "`--principal` was given as an app (client) id, a user principal name or a \
display name, and entraprobe could not turn it into exactly one service principal or user \
object id: Microsoft Graph found nobody, found several principals with that display name \
(display names need not be unique, and entraprobe never picks one), or could not be asked \
(no credential source got a Graph token, or Graph answered `Authorization_RequestDenied`). \
Object ids and managed identity resource ids need no Graph look-up.",
        remedy: "Give the object id instead, which needs no look-up:\n\n\
$ az ad sp show --id <app-id> --query id -o tsv\n\n\
$ az ad user show --id <upn> --query id -o tsv\n\n\
or run as an operator that may read the directory (a member user, or an app granted \
`Application.Read.All` and `User.Read.All`, or the Directory Readers role).",
        example: "principal `Contoso Bot`: 2 principals have this display name (service principal 1c2d…, service principal 7e8f…); give an object id",
        doc: Some("https://learn.microsoft.com/graph/api/serviceprincipal-list"),
    }
    RbacUnreadable {
        code: "rbac-unreadable",
        category: Rbac,
        severity: Warning,
        title: "Role assignments could not be read",
        explanation: "The probing identity may not read role assignments at this scope (it lacks \
`Microsoft.Authorization/roleAssignments/read`), so entraprobe cannot say which assignment \
grants or lacks the action. The call's result still says whether access works, and entraprobe \
falls back to the ARM permissions API, which reports the caller's own effective permissions but \
not deny assignments or conditions. An identity that holds only data roles is often in this \
situation: Cognitive Services User, for one, cannot read role assignments.",
        remedy: "Grant the identity Reader on the account (Reader has no data actions, so it \
does not widen data access), or run the diagnosis as someone who can read assignments:\n\n\
$ az role assignment create --assignee-object-id <principal-object-id> --assignee-principal-type ServicePrincipal --role Reader --scope <account-resource-id>",
        example: "{\"error\":{\"code\":\"AuthorizationFailed\",\"message\":\"The client '11112222-bbbb-3333-cccc-4444dddd5555' with object id '11112222-bbbb-3333-cccc-4444dddd5555' does not have authorization to perform action 'Microsoft.Authorization/roleAssignments/read' over scope '/subscriptions/.../providers/Microsoft.Authorization' or the scope is invalid. If access was recently granted, please refresh your credentials.\"}}",
        doc: Some("https://learn.microsoft.com/azure/role-based-access-control/role-assignments-list-rest"),
    }
    ProjectIdentityMissingRole {
        code: "project-identity-missing-role",
        category: Rbac,
        severity: Warning,
        title: "The Foundry project's own identity lacks a role on its account",
        explanation: "Inference requested through a Foundry project (agents running models, the \
playground, the project's `/openai/v1/responses`) runs as the project's system-assigned managed \
identity against the parent account, not as the caller. That identity needs Foundry User \
(formerly Azure AI User) or another role granting the data actions on the account. The portal \
assigns it when someone allowed to assign roles creates the project there; projects created with \
Bicep, Terraform or the CLI must add the assignment themselves. When it is missing, the caller's \
own calls (listing agents) work, while runs fail with a `PermissionDenied` that names an \
unfamiliar object id: the project's.\n\n\
entraprobe reads the project's identity and that identity's role assignments from ARM; it \
reports this only when it could read both.",
        remedy: "Assign Foundry User to the project's identity on the parent account:\n\n\
$ az role assignment create --assignee-object-id <project-identity-object-id> --assignee-principal-type ServicePrincipal --role \"Foundry User\" --scope <account-resource-id>",
        example: "project fdy-main/agents, identity 0a1b2c3d-...: no role on /subscriptions/.../accounts/fdy-main grants Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action",
        doc: Some("https://learn.microsoft.com/azure/ai-foundry/concepts/rbac-azure-ai-foundry"),
    }
    UnexpectedAccess {
        code: "unexpected-access",
        category: Rbac,
        severity: Error,
        title: "Access succeeded where a denial was expected",
        explanation: "The cell was expected to be denied (`--expect-deny CREDENTIAL:SERVICE`, or \
an expectation in the configuration file), but the call was authorized: least privilege does \
not hold. Some role assignment grants this identity the data action, possibly one it inherits \
from the resource group, subscription or management group, or holds through a group. Cognitive \
Services User at a subscription grants `Microsoft.CognitiveServices/*` on every account below \
it.\n\n\
Only an authorization decision satisfies an expected denial: a network block, a DNS failure or a \
timeout never does, so a broken network cannot make a least-privilege check green.",
        remedy: "Find the assignment that grants access, including inherited and group \
assignments, then remove it or narrow its scope:\n\n\
$ az role assignment list --assignee <principal-object-id> --all --include-inherited --include-groups -o table\n\
$ az role assignment delete --assignee <principal-object-id> --role \"<role>\" --scope <scope>\n\n\
Removals take time to reach the data plane too (see `role-propagation-pending`).",
        example: "not as expected: allowed, expected to be denied\nGET https://contoso-prod.openai.azure.com/openai/models?api-version=2024-10-21 answered 200",
        doc: Some("https://learn.microsoft.com/azure/role-based-access-control/role-assignments-remove"),
    }
    // ---------------------------------------------------------------- call
    PermissionDenied {
        code: "permission-denied",
        category: Call,
        severity: Error,
        title: "Service denied the call",
        explanation: "The service refused the call as unauthorized, and entraprobe found no more \
specific cause (for example because role assignments could not be read). Cognitive Services \
answers a missing data action with 401 `PermissionDenied`, not 403. Some operations behave \
differently per API version: Document Intelligence `2024-11-30` analyze has denied a token that \
the `2023-07-31` path accepted, so the probe reports the version it pinned.",
        remedy: "Check that the principal in the message is the identity you meant, then list \
what it holds at this resource:\n\n\
$ az role assignment list --assignee <principal-object-id> --all --include-inherited --include-groups -o table\n\n\
Assign a role that grants the data action (see `missing-data-action`).",
        example: "{\"error\":{\"code\":\"PermissionDenied\",\"message\":\"Principal does not have access to API/Operation.\"}}",
        doc: Some("https://learn.microsoft.com/azure/ai-services/authentication"),
    }
    TokenRejected {
        code: "token-rejected",
        category: Call,
        severity: Error,
        title: "Service rejected the token",
        explanation: "The service answered 401 as if there were no valid token, although the \
decoded claims look right. Causes: a token sent as a key (`api-key` or \
`Ocp-Apim-Subscription-Key`) instead of `Authorization: Bearer`; the global Translator host \
without `Ocp-Apim-ResourceId` (and `Ocp-Apim-Subscription-Region` for a regional resource), which \
answers 401000; Speech without the `aad#` form; a token from another cloud or signed by another \
issuer.",
        remedy: "Send the token as `Authorization: Bearer <token>`. For Translator, prefer the \
custom-domain endpoint `https://NAME.cognitiveservices.azure.com/translator/text/v3.0/`, which \
needs no extra headers. Compare the claims of the token your application sends:\n\n\
$ entraprobe decode -",
        example: "{\"error\":{\"code\":401000,\"message\":\"The request isn't authorized because credentials are missing or invalid.\"}}\n\n\
{\"error\":{\"code\":\"401\",\"message\": \"Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.\"}}",
        doc: Some("https://learn.microsoft.com/azure/ai-services/translator/text-translation/reference/authentication"),
    }
    Throttled {
        code: "throttled",
        category: Call,
        severity: Warning,
        title: "Throttled: the service did not decide",
        explanation: "The service answered 429 (or Translator's quota refusal). Whether a \
service's rate limiter runs before or after it checks the caller is not documented, so the answer \
proves nothing about access: a caller with no role, or one behind a firewall, may be throttled \
just the same. The probe retries a throttled call a few times, honouring `Retry-After`. If it \
stays throttled, the cell passes only when the RBAC stage proves the grant on its own (an \
unconditional role assignment older than the propagation window, read from the role assignment \
listing, no deny assignment, and no network finding against the resource); otherwise it is \
inconclusive (exit 3). A network or endpoint error found before the call still fails the cell.",
        remedy: "Retry later, or let entraprobe wait: `entraprobe run --wait-for-access 2m` \
retries throttled cells, honouring `Retry-After`. If your application is throttled too, spread \
the load or request more quota (Azure OpenAI: https://aka.ms/oai/quotaincrease).",
        example: "{\"error\":{\"code\":\"429\",\"message\": \"Requests to the ChatCompletions_Create Operation under Azure OpenAI API version 2024-08-01-preview have exceeded token rate limit of your current OpenAI S0 pricing tier. Please retry after 86400 seconds. ...\"}}",
        doc: Some("https://learn.microsoft.com/azure/ai-services/openai/quotas-limits"),
    }
    NotFound {
        code: "not-found",
        category: Call,
        severity: Error,
        title: "Resource or path not found",
        explanation: "The service answered 404: a wrong path or service kind for this endpoint, \
an API version the resource does not support, an Azure OpenAI deployment or Search index that \
does not exist, or a deleted resource. A 404 proves nothing about access unless the service \
checked authorization first.",
        remedy: "Check the endpoint and kind against the resource:\n\n\
$ az cognitiveservices account show -n <account> -g <rg> --query \"{kind:kind, endpoint:properties.endpoint}\"\n\
$ az cognitiveservices account deployment list -n <account> -g <rg> -o table",
        example: "{\"error\":{\"code\":\"404\",\"message\": \"Resource not found\"}}\n\n\
{\"error\":{\"code\":\"DeploymentNotFound\",\"message\":\"The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again.\"}}",
        doc: None,
    }
    ServerError {
        code: "server-error",
        category: Call,
        severity: Error,
        title: "Service error",
        explanation: "The service answered with a 5xx status. That says nothing about access, \
so the cell is inconclusive rather than failed: a gate should retry it, not treat it as a denial. \
Gateways in front of the service (API Management, a corporate proxy) produce 502 and 504 as well.",
        remedy: "Retry later. If it persists, open a support request with the request id shown \
(`apim-request-id` or `x-ms-request-id`) and check the resource's health:\n\n\
$ az rest --method get --url \"<account-resource-id>/providers/Microsoft.ResourceHealth/availabilityStatuses/current?api-version=2020-05-01\"",
        example: "HTTP 503 Service Unavailable, apim-request-id: 3f2a5d0c-8b11-4d7a-9a7e-0f6c6a2e1b1e",
        doc: Some("https://learn.microsoft.com/azure/service-health/resource-health-overview"),
    }
    UnexpectedRedirect {
        code: "unexpected-redirect",
        category: Call,
        severity: Error,
        title: "Service answered with a redirect",
        explanation: "The endpoint answered with a 3xx redirect. Azure AI services do not \
redirect API calls, so something between you and the service did: a proxy, a captive portal, a \
gateway, or a URL that is close to, but not, the API endpoint. entraprobe follows no redirects, \
so the token never goes to the redirect target.",
        remedy: "Use the endpoint ARM reports for the resource (`properties.endpoint`), over \
https, and check proxies on the way (`HTTPS_PROXY`, `NO_PROXY`).",
        example: "HTTP 302 Found, Location: https://login.contoso-proxy.example/?continue=...",
        doc: None,
    }
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

// ---------------------------------------------------------------------------- catalog access

/// Every catalog entry, in `Code::ALL` order.
pub fn catalog() -> &'static [CatalogEntry] {
    CATALOG
}

pub fn entry(code: Code) -> &'static CatalogEntry {
    &CATALOG[code as usize]
}

/// `entraprobe explain TEXT`: the entry's text, or a usage error that names the closest code.
pub fn explain_text(text: &str) -> Result<String, crate::UsageError> {
    match Code::parse(text.trim()) {
        Some(code) => Ok(render_explain(code)),
        None => {
            let hint = suggest(text)
                .map(|c| format!(" Did you mean `{c}`?"))
                .unwrap_or_default();
            Err(crate::UsageError::new(format!(
                "unknown finding code `{}`.{hint} `entraprobe explain --list` lists every code.",
                crate::redact::redact(text.trim())
            )))
        }
    }
}

/// Where `docs/findings.md` documents a code, for reports that link to it.
pub fn doc_anchor(code: Code) -> String {
    format!("docs/findings.md#{}", code.as_str())
}

/// The closest code to something the user typed, for "did you mean". Accepts other spellings
/// of an exact code (`REGIONAL_ENDPOINT`, `RegionalEndpoint`), then the nearest code by edit
/// distance, then a unique code that contains the text.
pub fn suggest(text: &str) -> Option<Code> {
    let wanted = normalize_code(text);
    if wanted.is_empty() {
        return None;
    }
    if let Some(code) = Code::parse(&wanted) {
        return Some(code);
    }
    // A third of the length: "regonal-endpoint" is a typo of "regional-endpoint", "timeout" is
    // not a typo of "throttled".
    let allowed = (wanted.chars().count() / 3).max(1);
    let (best, distance) = Code::ALL
        .iter()
        .map(|&code| (code, edit_distance(&wanted, code.as_str())))
        .min_by_key(|&(code, d)| (d, code))?;
    if distance <= allowed {
        return Some(best);
    }
    if wanted.len() >= 4 {
        let mut containing = Code::ALL.iter().filter(|c| c.as_str().contains(&wanted));
        if let (Some(&only), None) = (containing.next(), containing.next()) {
            return Some(only);
        }
    }
    None
}

/// Lower-case kebab-case from what a user may type: `Regional_Endpoint`, `RegionalEndpoint`,
/// ` regional endpoint `.
fn normalize_code(text: &str) -> String {
    let mut out = String::new();
    let mut previous_lower = false;
    for c in text.trim().chars() {
        if c == '_' || c == ' ' || c == '-' {
            if !out.ends_with('-') && !out.is_empty() {
                out.push('-');
            }
            previous_lower = false;
        } else if c.is_uppercase() {
            if previous_lower && !out.ends_with('-') {
                out.push('-');
            }
            out.extend(c.to_lowercase());
            previous_lower = false;
        } else {
            out.push(c);
            previous_lower = c.is_lowercase() || c.is_ascii_digit();
        }
    }
    out.trim_end_matches('-').to_string()
}

/// Levenshtein distance over chars.
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        current[0] = i + 1;
        for (j, &cb) in b.iter().enumerate() {
            let substitution = previous[j] + usize::from(ca != cb);
            current[j + 1] = substitution.min(previous[j + 1] + 1).min(current[j] + 1);
        }
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

// ---------------------------------------------------------------------------- text blocks

/// One block of catalog text (see the module docs for the conventions).
enum Block<'a> {
    Paragraph(String),
    List(Vec<&'a str>),
    Commands(Vec<&'a str>),
}

fn blocks(text: &str) -> Vec<Block<'_>> {
    text.split("\n\n")
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .map(|block| {
            let lines: Vec<&str> = block.lines().map(str::trim).collect();
            if lines.iter().all(|l| l.starts_with("$ ")) {
                Block::Commands(lines.iter().map(|l| &l[2..]).collect())
            } else if lines.iter().all(|l| l.starts_with("- ")) {
                Block::List(lines.iter().map(|l| &l[2..]).collect())
            } else {
                Block::Paragraph(lines.join(" "))
            }
        })
        .collect()
}

const TERMINAL_WIDTH: usize = 80;

/// Greedy word wrap; words longer than the width (URLs, action strings) stay whole.
fn wrap(text: &str, first_indent: &str, rest_indent: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = String::from(first_indent);
    let mut line_has_word = false;
    for word in text.split_whitespace() {
        let fits = line.chars().count() + 1 + word.chars().count() <= width;
        if line_has_word && !fits {
            out.push_str(line.trim_end());
            out.push('\n');
            line = String::from(rest_indent);
            line_has_word = false;
        }
        if line_has_word {
            line.push(' ');
        }
        line.push_str(word);
        line_has_word = true;
    }
    out.push_str(line.trim_end());
    out.push('\n');
    out
}

fn render_blocks_terminal(text: &str, indent: &str) -> String {
    let mut out = Vec::new();
    for block in blocks(text) {
        out.push(match block {
            Block::Paragraph(p) => wrap(&p, indent, indent, TERMINAL_WIDTH),
            Block::List(items) => items
                .iter()
                .map(|item| {
                    let first = format!("{indent}- ");
                    let rest = format!("{indent}  ");
                    wrap(item, &first, &rest, TERMINAL_WIDTH)
                })
                .collect(),
            Block::Commands(commands) => commands
                .iter()
                .map(|c| format!("{indent}    $ {c}\n"))
                .collect(),
        });
    }
    out.join("\n")
}

fn indent_verbatim(text: &str, indent: &str) -> String {
    text.lines()
        .map(|l| {
            if l.is_empty() {
                "\n".to_string()
            } else {
                format!("{indent}{l}\n")
            }
        })
        .collect()
}

/// `entraprobe explain CODE`: the entry as plain text for a terminal, like `rustc --explain`.
pub fn render_explain(code: Code) -> String {
    let e = entry(code);
    let mut out = format!(
        "{} ({}, {})\n{}\n\n",
        e.code,
        e.severity,
        e.category.heading().to_lowercase(),
        e.title
    );
    out.push_str("What it means\n\n");
    out.push_str(&render_blocks_terminal(e.explanation, "  "));
    out.push_str("\nHow to fix it\n\n");
    out.push_str(&render_blocks_terminal(e.remedy, "  "));
    out.push_str("\nExample\n\n");
    out.push_str(&indent_verbatim(e.example, "    "));
    if let Some(doc) = e.doc {
        out.push_str(&format!("\nMicrosoft documentation\n\n  {doc}\n"));
    }
    out
}

/// `entraprobe explain --list`: code, severity and title of every entry, aligned.
pub fn render_list() -> String {
    let code_width = Code::ALL
        .iter()
        .map(|c| c.as_str().len())
        .max()
        .unwrap_or(0);
    let severity_width = "warning".len();
    let mut out = String::new();
    for category in Category::ALL {
        let entries: Vec<_> = CATALOG.iter().filter(|e| e.category == category).collect();
        if entries.is_empty() {
            continue;
        }
        if !out.is_empty() {
            out.push('\n');
        }
        out.push_str(category.heading());
        out.push('\n');
        for e in entries {
            let line = format!(
                "  {:code_width$}  {:severity_width$}  {}",
                e.code.as_str(),
                e.severity.as_str(),
                e.title
            );
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    out
}

/// Escape Markdown inline syntax outside backtick code spans, so `*` in an action or `<id>`
/// in prose shows as written instead of becoming emphasis or vanishing as an HTML tag.
fn markdown_inline(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_code = false;
    for c in text.chars() {
        if c == '`' {
            in_code = !in_code;
            out.push(c);
        } else if !in_code && matches!(c, '*' | '_' | '<' | '>' | '[' | ']' | '\\' | '|') {
            out.push('\\');
            out.push(c);
        } else {
            out.push(c);
        }
    }
    out
}

fn render_blocks_markdown(text: &str) -> String {
    let mut out = Vec::new();
    for block in blocks(text) {
        out.push(match block {
            Block::Paragraph(p) => format!("{}\n", markdown_inline(&p)),
            Block::List(items) => items
                .iter()
                .map(|item| format!("- {}\n", markdown_inline(item)))
                .collect(),
            Block::Commands(commands) => {
                let mut s = String::from("```sh\n");
                for c in commands {
                    s.push_str(c);
                    s.push('\n');
                }
                s.push_str("```\n");
                s
            }
        });
    }
    out.join("\n")
}

/// The whole of `docs/findings.md`. `tests/findings_doc.rs` fails when the checked-in file
/// differs; `ENTRAPROBE_BLESS=1 cargo test --test findings_doc` rewrites it.
pub fn render_markdown_doc() -> String {
    let mut out = String::new();
    out.push_str("# Finding catalog\n\n");
    out.push_str(
        "<!-- Generated from src/diagnosis.rs. Do not edit by hand: change the catalog, then run\n     \
         ENTRAPROBE_BLESS=1 cargo test --test findings_doc -->\n\n",
    );
    out.push_str(
        "Every cell of an entraprobe report that is not a plain pass carries findings, most \
         specific cause first. Each finding has a stable code; scripts may rely on the codes, \
         the wording may change. `entraprobe explain CODE` prints the same text as this page, \
         and `entraprobe explain --list` lists the codes.\n\n",
    );
    out.push_str(
        "Severities: **error** explains why a cell failed; **warning** is worth fixing but did \
         not by itself decide the cell; **info** is context (a skipped source, a throttled but \
         authorized call).\n\n",
    );
    out.push_str("| code | severity | title |\n|---|---|---|\n");
    for e in CATALOG {
        out.push_str(&format!(
            "| [`{0}`](#{0}) | {1} | {2} |\n",
            e.code,
            e.severity,
            markdown_inline(e.title)
        ));
    }
    for category in Category::ALL {
        let entries: Vec<_> = CATALOG.iter().filter(|e| e.category == category).collect();
        if entries.is_empty() {
            continue;
        }
        out.push_str(&format!("\n## {}\n", category.heading()));
        for e in entries {
            out.push_str(&format!(
                "\n### `{}`\n\n**{}** · {}\n\n",
                e.code,
                e.severity,
                markdown_inline(e.title)
            ));
            out.push_str(&render_blocks_markdown(e.explanation));
            out.push_str("\n**How to fix it**\n\n");
            out.push_str(&render_blocks_markdown(e.remedy));
            out.push_str("\n**Example**\n\n```text\n");
            out.push_str(e.example.trim_end());
            out.push_str("\n```\n");
            if let Some(doc) = e.doc {
                out.push_str(&format!("\nMicrosoft documentation: <{doc}>\n"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catalog_is_in_code_order_and_complete() {
        assert_eq!(CATALOG.len(), Code::ALL.len());
        for (i, code) in Code::ALL.iter().enumerate() {
            assert_eq!(CATALOG[i].code, *code, "catalog entry {i} out of order");
            assert_eq!(entry(*code).code, *code);
            assert_eq!(Code::parse(code.as_str()), Some(*code));
        }
    }

    #[test]
    fn every_entry_is_filled_in_and_codes_are_kebab_case() {
        for e in catalog() {
            let code = e.code.as_str();
            assert!(
                code.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
                    && !code.starts_with('-')
                    && !code.ends_with('-')
                    && !code.contains("--"),
                "{code} is not kebab-case"
            );
            for (what, text) in [
                ("title", e.title),
                ("explanation", e.explanation),
                ("remedy", e.remedy),
                ("example", e.example),
            ] {
                assert!(text.trim().len() >= 8, "{code}: {what} is empty");
            }
            assert!(e.explanation.len() > 150, "{code}: explanation too thin");
            if let Some(doc) = e.doc {
                assert!(
                    doc.starts_with("https://learn.microsoft.com/"),
                    "{code}: {doc}"
                );
            }
            // A code that has no fix would not be a finding.
            assert!(!e.remedy.contains("TODO") && !e.explanation.contains("TODO"));
        }
    }

    #[test]
    fn the_reference_facts_users_need_are_in_the_text() {
        let text = |c: Code| {
            let e = entry(c);
            format!("{} {} {}", e.explanation, e.remedy, e.example)
        };
        let management = text(Code::ManagementRoleOnly);
        for needle in [
            "Owner",
            "Contributor",
            "Cognitive Services Contributor",
            "dataActions",
        ] {
            assert!(
                management.contains(needle),
                "management-role-only: {needle}"
            );
        }
        let regional = text(Code::RegionalEndpoint);
        assert!(regional.contains("cannot be changed or removed"));
        assert!(regional.contains("az cognitiveservices account update"));
        assert!(regional.contains("--custom-domain"));
        assert!(regional.contains("Please provide a custom subdomain for token authentication"));
        let search = text(Code::SearchAadDisabled);
        for needle in [
            "aadOrApiKey",
            "apiKeyOnly",
            "Search Index Data Reader",
            "Search Index Data Contributor",
        ] {
            assert!(search.contains(needle), "search-aad-disabled: {needle}");
        }
        let propagation = text(Code::RolePropagationPending);
        for needle in ["5 to 10 minutes", "30 minutes", "24 hours"] {
            assert!(
                propagation.contains(needle),
                "role-propagation-pending: {needle}"
            );
        }
        assert!(text(Code::SpeechResourceIdMissing).contains("aad#{resourceId}#{token}"));
        assert!(text(Code::MissingDataAction).contains("az role assignment create"));
        assert!(text(Code::MissingDataAction).contains("\"Cognitive Services User\""));
    }

    #[test]
    fn explain_renders_every_section_within_the_width() {
        for &code in Code::ALL {
            let text = render_explain(code);
            assert!(text.starts_with(code.as_str()), "{text}");
            assert!(text.contains("What it means") && text.contains("How to fix it"));
            assert!(text.contains("Example"));
            for line in text.lines() {
                let long_word = line.split_whitespace().any(|w| w.chars().count() > 40);
                let command = line.trim_start().starts_with("$ ");
                let verbatim = line.starts_with("    ");
                assert!(
                    line.chars().count() <= TERMINAL_WIDTH || long_word || command || verbatim,
                    "{code}: line too long: {line}"
                );
            }
        }
        let regional = render_explain(Code::RegionalEndpoint);
        assert!(regional.contains(
            "    $ az cognitiveservices account update -n <account> -g <rg> --custom-domain <unique-name>"
        ));
    }

    #[test]
    fn list_aligns_code_severity_and_title() {
        let list = render_list();
        let rows: Vec<&str> = list.lines().filter(|l| l.starts_with("  ")).collect();
        assert_eq!(rows.len(), Code::ALL.len());
        let title_column = rows[0]
            .find("Credential source")
            .expect("first row's title");
        for (row, code) in rows.iter().zip(catalog()) {
            assert!(row.trim_start().starts_with(code.code.as_str()));
            assert_eq!(&row[title_column..], code.title, "{row}");
        }
    }

    #[test]
    fn suggestions_find_typos_and_other_spellings() {
        assert_eq!(suggest("regonal-endpoint"), Some(Code::RegionalEndpoint));
        assert_eq!(suggest("REGIONAL_ENDPOINT"), Some(Code::RegionalEndpoint));
        assert_eq!(suggest("RegionalEndpoint"), Some(Code::RegionalEndpoint));
        assert_eq!(
            suggest("management-roles-only"),
            Some(Code::ManagementRoleOnly)
        );
        assert_eq!(suggest("propagation"), Some(Code::RolePropagationPending));
        assert_eq!(suggest("timout"), Some(Code::Timeout));
        assert_eq!(suggest("kubernetes"), None);
        assert_eq!(suggest(""), None);
        assert_eq!(suggest("---"), None);
    }

    #[test]
    fn explain_text_answers_a_code_or_a_suggestion() {
        assert!(
            explain_text("timeout")
                .unwrap()
                .starts_with("timeout (error")
        );
        let err = explain_text("regonal-endpoint").unwrap_err().to_string();
        assert!(err.contains("Did you mean `regional-endpoint`?"), "{err}");
        let err = explain_text("nothing-like-it").unwrap_err().to_string();
        assert!(
            !err.contains("Did you mean") && err.contains("explain --list"),
            "{err}"
        );
    }

    #[test]
    fn markdown_escapes_prose_but_not_code() {
        assert_eq!(
            markdown_inline("a `Microsoft.X/*` and <id> or *x*"),
            "a `Microsoft.X/*` and \\<id\\> or \\*x\\*"
        );
        let doc = render_markdown_doc();
        for &code in Code::ALL {
            assert!(doc.contains(&format!("\n### `{code}`\n")), "{code}");
        }
        // Fences balance, so no entry swallows the next.
        assert_eq!(doc.matches("```").count() % 2, 0);
    }
}
