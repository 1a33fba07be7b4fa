//! From an azure_identity error to catalog findings: the AADSTS code, IMDS and CLI texts, each
//! with what was seen and exactly what to do. Pure: text in, findings out.

use super::transport::LastAnswer;
use super::{Acquisition, SourceId, UserAssignedSelector};
use crate::claims::Claims;
use crate::cloud::CloudProfile;
use crate::diagnosis::{Code, Finding};
use std::time::Duration;

/// What a source knew when it asked, so a finding can name the app, tenant and assertion.
#[derive(Debug, Clone)]
pub struct FailureContext<'a> {
    pub source: SourceId,
    pub tenant: Option<&'a str>,
    pub client_id: Option<&'a str>,
    pub cloud: &'static CloudProfile,
    /// Claims of the federated assertion that was presented (workload, GitHub, Pipelines).
    pub presented: Option<Claims>,
    /// SHA-1 thumbprint (hex) of the certificate whose key signed the assertion.
    pub certificate_thumbprint: Option<String>,
    pub user_assigned: Option<&'a UserAssignedSelector>,
}

impl<'a> FailureContext<'a> {
    pub fn new(source: SourceId, cloud: &'static CloudProfile) -> FailureContext<'a> {
        FailureContext {
            source,
            tenant: None,
            client_id: None,
            cloud,
            presented: None,
            certificate_thumbprint: None,
            user_assigned: None,
        }
    }
}

/// The error's own message followed by every cause and every HTTP body in its chain (IMDS puts
/// "Identity not found" only in the body; the message is generic). Bodies are capped.
pub(crate) fn error_text(err: &azure_core::Error) -> String {
    let mut out = err.to_string();
    let mut level: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = level {
        if let Some(az) = e.downcast_ref::<azure_core::Error>()
            && let azure_core::error::ErrorKind::HttpResponse {
                status,
                error_code,
                raw_response,
            } = az.kind()
        {
            out.push_str(&format!("\n[HTTP {status}"));
            if let Some(code) = error_code {
                out.push_str(&format!(" {code}"));
            }
            out.push(']');
            if let Some(rsp) = raw_response {
                let body = String::from_utf8_lossy(rsp.body().as_ref());
                out.push(' ');
                out.extend(body.chars().take(4096));
            }
        }
        if !std::ptr::addr_eq(e, err as &dyn std::error::Error) {
            let text = e.to_string();
            if !out.contains(&text) {
                out.push('\n');
                out.push_str(&text);
            }
        }
        level = e.source();
    }
    out
}

/// The first `AADSTS<digits>` in the text.
pub(crate) fn aadsts_code(text: &str) -> Option<u32> {
    let mut rest = text;
    while let Some(pos) = rest.find("AADSTS") {
        let digits: String = rest[pos + 6..]
            .chars()
            .take_while(char::is_ascii_digit)
            .collect();
        if let Ok(code) = digits.parse() {
            return Some(code);
        }
        rest = &rest[pos + 6..];
    }
    None
}

/// The part of an error worth showing: SDK boilerplate, trace ids and line breaks removed,
/// redacted, at most 400 characters.
pub(crate) fn condensed(text: &str) -> String {
    let mut parts = text.splitn(2, "\nTo troubleshoot, visit");
    let first = parts.next().unwrap_or(text);
    let first = first.split("Trace ID:").next().unwrap_or(first);
    // "AzureCliCredential authentication failed." says nothing the row id does not.
    let mut first = match first.find("Credential authentication failed.") {
        Some(pos) if !first[..pos].contains(char::is_whitespace) => {
            &first[pos + "Credential authentication failed.".len()..]
        }
        _ => first,
    };
    // An answer without a description (`{}`, an empty 401) leaves nothing before the SDK's
    // troubleshooting link; what error_text appended after it (the HTTP status) is then shown.
    let rest;
    if first.trim().is_empty()
        && let Some(after) = parts.next()
    {
        rest = after.split_once('\n').map(|(_, r)| r).unwrap_or_default();
        first = rest;
    }
    let words: Vec<&str> = first.split_whitespace().collect();
    let mut joined = crate::redact::redact(&words.join(" "));
    if joined.chars().count() > 400 {
        joined = joined.chars().take(399).collect::<String>() + "…";
    }
    joined
}

/// What the token endpoint answered, when that answer, not the credential, is why there is no
/// token: 429/5xx still there after the retries (inconclusive), or a body past the cap.
pub(crate) fn endpoint_answer(source: SourceId, answer: &LastAnswer) -> Finding {
    match answer {
        LastAnswer::Status {
            host,
            status,
            retry_after,
            tries,
        } => {
            let what = match status {
                429 => "throttled",
                500 => "internal server error",
                502 => "bad gateway",
                503 => "service unavailable",
                504 => "gateway timeout",
                _ => "error",
            };
            let times = if *tries == 1 {
                String::new()
            } else {
                format!(" {tries} times")
            };
            let wait = match retry_after {
                Some(w) if *w > super::transport::MAX_RETRY_WAIT => format!(
                    " and asked to retry after {} s, longer than entraprobe waits",
                    w.as_secs()
                ),
                Some(w) => format!(" (Retry-After {} s)", w.as_secs()),
                None => String::new(),
            };
            let code = if super::transport::is_transient(*status) {
                Code::TokenEndpointUnavailable
            } else {
                Code::TokenRequestFailed
            };
            Finding::new(
                code,
                format!("{source}: {host} answered HTTP {status} ({what}){times}{wait}"),
                "retry later or with a longer --timeout; if it persists, check the token endpoint's health (and that a proxy is not the one answering)",
            )
        }
        LastAnswer::Reset { host, tries } => Finding::new(
            Code::TokenEndpointUnavailable,
            format!(
                "{source}: the connection to {host} was reset before it answered ({tries} {})",
                if *tries == 1 { "try" } else { "tries" }
            ),
            "retry later; if it persists, check the network path to the token endpoint (a proxy or firewall cutting connections)",
        ),
        LastAnswer::TooLarge { host } => Finding::new(
            Code::TokenRequestFailed,
            format!(
                "{source}: {host} sent a token answer larger than {} KiB; entraprobe stopped reading it",
                crate::http::TOKEN_BODY_LIMIT / 1024
            ),
            "a real token endpoint answers in a few KiB: check what answers at that address (a proxy, or the wrong endpoint)",
        ),
    }
}

/// [`classify`], knowing what the endpoint last answered: a body past the cap is the cause; a
/// 429/5xx is, unless the text names something more specific (an AADSTS code with its own
/// finding), and then its text is kept in the message.
pub fn classify_with_answer(
    text: &str,
    answer: Option<&LastAnswer>,
    fc: &FailureContext,
) -> Acquisition {
    let transient = match answer {
        Some(big @ LastAnswer::TooLarge { .. }) => {
            return Acquisition::failed(endpoint_answer(fc.source, big));
        }
        Some(status @ LastAnswer::Status { status: code, .. })
            if super::transport::is_transient(*code) =>
        {
            status
        }
        Some(reset @ LastAnswer::Reset { .. }) => reset,
        _ => return classify(text, fc),
    };
    let classified = classify(text, fc);
    if classified
        .findings()
        .first()
        .is_some_and(|f| f.code != Code::TokenRequestFailed)
    {
        return classified;
    }
    let mut finding = endpoint_answer(fc.source, transient);
    let seen = condensed(text);
    if !seen.is_empty() {
        finding.message = format!("{}: {seen}", finding.message);
    }
    Acquisition::failed(finding)
}

pub(crate) fn timeout(source: SourceId, limit: Duration) -> Finding {
    Finding::new(
        Code::Timeout,
        format!(
            "{source}: no token within {} s",
            limit.as_secs_f64().round() as u64
        ),
        "check that the token endpoint is reachable from this machine (proxy, firewall, DNS); raise --timeout if it is merely slow",
    )
}

fn app(fc: &FailureContext) -> String {
    fc.client_id.unwrap_or("<client id>").to_string()
}

fn tenant(fc: &FailureContext) -> String {
    fc.tenant.unwrap_or("<tenant id>").to_string()
}

/// Which variable holds the client id for this source, for remedies.
fn client_var(source: SourceId) -> &'static str {
    match source {
        SourceId::AzurePipelines => "AZURESUBSCRIPTION_CLIENT_ID",
        _ => "AZURE_CLIENT_ID",
    }
}

fn tenant_var(source: SourceId) -> &'static str {
    match source {
        SourceId::AzurePipelines => "AZURESUBSCRIPTION_TENANT_ID",
        _ => "AZURE_TENANT_ID",
    }
}

/// Turn an error text into findings. Returns `Skipped` for what means "not available here" (CLI
/// missing or logged out, a CLI that is not installed) and `Failed` for everything else.
pub fn classify(text: &str, fc: &FailureContext) -> Acquisition {
    let source = fc.source;
    let seen = condensed(text);
    let is_cli = matches!(source, SourceId::AzureCli | SourceId::AzureDeveloperCli);

    if is_cli {
        let (tool, login) = if source == SourceId::AzureCli {
            ("az", "az login")
        } else {
            ("azd", "azd auth login")
        };
        if text.contains("not found on PATH") || text.contains("wasn't found on PATH") {
            return Acquisition::Skipped {
                reason: format!("{tool} is not installed (not on PATH)"),
                findings: vec![Finding::new(
                    Code::CliNotInstalled,
                    format!("{source}: {tool} was not found on PATH"),
                    format!("install {tool}, or skip this source with --credential"),
                )],
            };
        }
        let stale_login = matches!(
            aadsts_code(text),
            Some(70043 | 700082 | 50173 | 50078 | 50076 | 50079 | 50133)
        );
        if text.contains(login) || stale_login {
            let scope_hint = if source == SourceId::AzureCli {
                format!(
                    " (if it asks for consent or MFA: `az login --scope {}`)",
                    fc.cloud.cognitive_scope()
                )
            } else {
                String::new()
            };
            return Acquisition::Skipped {
                reason: format!("{tool} is not logged in"),
                findings: vec![Finding::new(
                    Code::CliNotLoggedIn,
                    format!("{source}: {seen}"),
                    format!("run `{login}`{scope_hint}"),
                )],
            };
        }
    }

    if let Some(code) = aadsts_code(text)
        && let Some(finding) = aadsts_finding(code, &seen, fc)
    {
        return Acquisition::failed(finding);
    }

    if source == SourceId::ManagedIdentity {
        let selected = fc
            .user_assigned
            .map(|s| format!("the user-assigned identity with {}", s.describe()))
            .unwrap_or_else(|| "the system-assigned identity".to_string());
        if text.contains("Multiple user assigned identities") {
            return Acquisition::failed(Finding::new(
                Code::ManagedIdentityAmbiguous,
                "managed-identity: this machine has several user-assigned identities and no system-assigned one, and none was selected",
                "select one in the configuration by client id, object id or resource id (the one your application uses; in Python/.NET that is AZURE_CLIENT_ID or ManagedIdentityCredential(client_id=…))",
            ));
        }
        if text.contains("Identity not found") {
            return Acquisition::failed(Finding::new(
                Code::ManagedIdentityNotFound,
                format!(
                    "managed-identity: the endpoint answered 'Identity not found' for {selected}"
                ),
                "assign that identity to this resource (for a VM: `az vm identity assign -g <rg> -n <vm> [--identities <identity resource id>]`), or select an identity that is assigned to it",
            ));
        }
        // App Service's identity endpoint, for a selection that names no identity of the site [L].
        if text.contains("Unable to load the proper Managed Identity") {
            return Acquisition::failed(Finding::new(
                Code::ManagedIdentityNotFound,
                format!(
                    "managed-identity: the App Service identity endpoint has no identity matching {selected} ('Unable to load the proper Managed Identity.')"
                ),
                "add that user-assigned identity to the app (`az webapp identity assign -g <rg> -n <app> --identities <identity resource id>`), or select one that is assigned to it (its client id, as the application uses it)",
            ));
        }
        if text.contains("isn't supported") {
            return Acquisition::failed(Finding::new(
                Code::TokenRequestFailed,
                format!("managed-identity: {seen}"),
                "this managed identity environment is not supported by azure_identity 1.0; test the identity from a VM, AKS or App Service, or with another source",
            ));
        }
    }

    if let Some(finding) = network_finding(text, &seen, fc) {
        return Acquisition::failed(finding);
    }

    let remedy = match source {
        SourceId::AzureCli => format!(
            "run `az account get-access-token --scope {}` in the same environment to see the whole error",
            fc.cloud.cognitive_scope()
        ),
        SourceId::AzureDeveloperCli => format!(
            "run `azd auth token --scope {}` in the same environment to see the whole error",
            fc.cloud.cognitive_scope()
        ),
        SourceId::ManagedIdentity => {
            "check the managed identity endpoint of this host (IMDS, or IDENTITY_ENDPOINT on App Service) and the selected identity".to_string()
        }
        _ => format!(
            "check that {} is reachable from here (proxy, firewall) and the values of {} and {}",
            fc.cloud.authority_host,
            tenant_var(source),
            client_var(source)
        ),
    };
    Acquisition::failed(Finding::new(
        Code::TokenRequestFailed,
        format!("{source}: {seen}"),
        remedy,
    ))
}

/// TLS and DNS failures on the way to the token endpoint, recognised from the transport's
/// error chain (rustls and hyper wording).
fn network_finding(text: &str, seen: &str, fc: &FailureContext) -> Option<Finding> {
    let lower = text.to_ascii_lowercase();
    if lower.contains("invalid peer certificate")
        || lower.contains("unknownissuer")
        || lower.contains("certificate verify failed")
        || lower.contains("invalidcertificate")
    {
        return Some(Finding::new(
            Code::TlsFailure,
            format!("{}: TLS to the token endpoint failed: {seen}", fc.source),
            "a TLS-inspecting proxy or a private CA is in the way: pass its root certificate with --ca-file PEM",
        ));
    }
    if lower.contains("dns error") || lower.contains("failed to lookup address") {
        return Some(Finding::new(
            Code::DnsFailure,
            format!(
                "{}: the token endpoint's host does not resolve: {seen}",
                fc.source
            ),
            format!(
                "check DNS (and the proxy variables) for {}; for a sovereign cloud pass --cloud",
                fc.cloud.authority_host
            ),
        ));
    }
    // Only the connection itself: a reset mid-exchange did reach the other side.
    if lower.contains("connection refused")
        || lower.contains("tcp connect error")
        || lower.contains("unsuccessful tunnel")
    {
        return Some(Finding::new(
            Code::ConnectionFailed,
            format!(
                "{}: could not connect to the token endpoint: {seen}",
                fc.source
            ),
            "check the network path to the token endpoint from this machine (proxy settings HTTPS_PROXY/NO_PROXY, outbound firewall)",
        ));
    }
    None
}

fn presented_values(fc: &FailureContext) -> Option<(String, String, String)> {
    let c = fc.presented.as_ref()?;
    Some((
        c.iss.clone().unwrap_or_default(),
        c.sub.clone().unwrap_or_default(),
        c.aud.clone().unwrap_or_default(),
    ))
}

fn aadsts_finding(code: u32, seen: &str, fc: &FailureContext) -> Option<Finding> {
    let source = fc.source;
    let (app, tenant) = (app(fc), tenant(fc));
    let finding = match code {
        7000215 => Finding::new(
            Code::InvalidClientSecret,
            format!(
                "{source}: Entra ID rejected the client secret for app {app} (AADSTS7000215); often the secret's ID was used instead of its value"
            ),
            format!(
                "create a new secret and put its value (not its Secret ID) in AZURE_CLIENT_SECRET: `az ad app credential reset --id {app} --append --display-name entraprobe`"
            ),
        ),
        7000222 => Finding::new(
            Code::ClientSecretExpired,
            format!("{source}: the client secret of app {app} has expired (AADSTS7000222)"),
            format!(
                "create a new secret and update AZURE_CLIENT_SECRET: `az ad app credential reset --id {app} --append --display-name entraprobe`"
            ),
        ),
        700016 => Finding::new(
            Code::AppNotFoundInTenant,
            format!("{source}: application {app} was not found in tenant {tenant} (AADSTS700016)"),
            format!(
                "check {} and {}: the app must exist in that tenant (`az ad sp show --id {app}`); for an app from another tenant, consent to it there (`az ad sp create --id {app}`)",
                client_var(source),
                tenant_var(source)
            ),
        ),
        90002 | 900023 => Finding::new(
            Code::TenantNotFound,
            format!(
                "{source}: tenant '{tenant}' was not found in the {} cloud (AADSTS{code})",
                fc.cloud.name
            ),
            format!(
                "check {} (`az account show --query tenantId -o tsv`) and --cloud (public, usgov, china)",
                tenant_var(source)
            ),
        ),
        70021 | 700211 | 700212 | 700213 | 7002138 => {
            let what = match code {
                700211 => "issuer",
                700212 => "audience",
                700213 | 7002138 => "subject",
                _ => "issuer, subject and audience",
            };
            let case_note = if code == 7002138 {
                " (a federated credential matches it only when letter case is ignored; matching is case-sensitive)"
            } else {
                ""
            };
            match presented_values(fc) {
                Some((iss, sub, aud)) => Finding::new(
                    Code::FederatedCredentialMismatch,
                    format!(
                        "{source}: no federated credential on app {app} matches the presented assertion's {what}{case_note} (AADSTS{code}). Presented: issuer '{iss}', subject '{sub}', audience '{aud}'; a federated credential must hold exactly these three values"
                    ),
                    format!(
                        "add a federated credential with these values: `az ad app federated-credential create --id {app} --parameters '{{\"name\":\"entraprobe\",\"issuer\":\"{iss}\",\"subject\":\"{sub}\",\"audiences\":[\"{aud}\"]}}'` (for a user-assigned managed identity: `az identity federated-credential create --name entraprobe --identity-name <identity> --resource-group <rg> --issuer '{iss}' --subject '{sub}' --audiences '{aud}'`)"
                    ),
                ),
                None => Finding::new(
                    Code::FederatedCredentialMismatch,
                    format!(
                        "{source}: no federated credential on app {app} matches the presented assertion's {what}{case_note} (AADSTS{code}): {seen}"
                    ),
                    format!(
                        "compare the issuer, subject and audience quoted above with `az ad app federated-credential list --id {app}` and add one that matches exactly"
                    ),
                ),
            }
        }
        700024 => {
            let remedy = match source {
                SourceId::WorkloadIdentity => {
                    "the projected service account token in AZURE_FEDERATED_TOKEN_FILE is stale or this machine's clock is off: check that the kubelet refreshes the token (workload identity webhook) and the clock is synchronised".to_string()
                }
                SourceId::GithubActions | SourceId::AzurePipelines => {
                    "the OIDC token is short-lived: request it right before the token exchange (re-run the step; split long jobs)".to_string()
                }
                _ => "synchronise this machine's clock (NTP); the assertion's nbf/exp come from it".to_string(),
            };
            Finding::new(Code::AssertionExpired, format!("{source}: {seen}"), remedy)
        }
        // The tool asks only for its cloud's own resources, so a resource the tenant does not
        // know means, most often, a tenant of another cloud reached through an authority
        // (AZURE_AUTHORITY_HOST) that is not the one --cloud names.
        500011 => Finding::new(
            Code::TokenRequestFailed,
            format!(
                "{source}: tenant {tenant} has no resource principal for the {} cloud's audience the token was requested for (AADSTS500011): the tenant lives in another cloud",
                fc.cloud.name
            ),
            "run with the tenant's cloud (--cloud usgov or --cloud china) and check that AZURE_AUTHORITY_HOST, if set, is that cloud's authority".to_string(),
        ),
        700027 => {
            let thumb = fc
                .certificate_thumbprint
                .as_deref()
                .map(|t| format!(" (thumbprint {t})"))
                .unwrap_or_default();
            let (cause, remedy) = certificate_cause(seen, &app);
            Finding::new(
                Code::CertificateNotAccepted,
                format!(
                    "{source}: Entra ID rejected the certificate assertion for app {app}{thumb} (AADSTS700027): {cause}"
                ),
                remedy,
            )
        }
        _ => return None,
    };
    Some(finding)
}

/// AADSTS700027 covers several causes; its `[Reason - …]` says which.
fn certificate_cause(seen: &str, app: &str) -> (&'static str, String) {
    let lower = seen.to_ascii_lowercase();
    let upload = format!(
        "upload the certificate (public part only) to the app: `az ad app credential reset --id {app} --cert @<certificate.pem> --append`, and check that AZURE_CLIENT_CERTIFICATE_PATH holds that certificate with its private key"
    );
    if lower.contains("key used is expired") {
        (
            "the certificate has expired (its end date on the app registration has passed)",
            format!(
                "create a new certificate, upload its public part (`az ad app credential reset --id {app} --cert @<new-certificate.pem> --append`) and point AZURE_CLIENT_CERTIFICATE_PATH at it with its private key; then remove the expired one"
            ),
        )
    } else if lower.contains("key was not found") {
        (
            "the certificate that signed the assertion is not uploaded to the app registration (no key with its thumbprint)",
            upload,
        )
    } else if lower.contains("key was found") {
        (
            "a certificate with this thumbprint is registered, but the assertion's signature does not verify with it (the private key does not belong to the certificate)",
            "check that AZURE_CLIENT_CERTIFICATE_PATH holds the certificate together with its own private key".to_string(),
        )
    } else {
        (
            "the certificate is not registered on the app, or the key does not match it",
            upload,
        )
    }
}

#[cfg(test)]
#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloud::Cloud;

    const APP: &str = "00001111-aaaa-2222-bbbb-3333cccc4444";
    const TENANT: &str = "aaaabbbb-0000-cccc-1111-dddd2222eeee";

    fn fc(source: SourceId) -> FailureContext<'static> {
        let mut fc = FailureContext::new(source, Cloud::Public.profile());
        fc.client_id = Some(APP);
        fc.tenant = Some(TENANT);
        fc
    }

    fn only(a: Acquisition) -> Finding {
        match a {
            Acquisition::Failed { mut findings } | Acquisition::Skipped { mut findings, .. } => {
                assert_eq!(findings.len(), 1);
                findings.remove(0)
            }
            Acquisition::Acquired { .. } => panic!("not a failure"),
        }
    }

    /// What azure_identity's ClientSecretCredential turns an Entra error body into.
    fn sdk_text(description: &str) -> String {
        format!(
            "ClientSecretCredential authentication failed. {description}\nTo troubleshoot, visit https://aka.ms/azsdk/rust/identity/troubleshoot#client-secret"
        )
    }

    #[test]
    fn real_entra_bodies_map_to_their_codes() {
        let cases = [
            (
                "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '00001111-aaaa-2222-bbbb-3333cccc4444'.\r\nTrace ID: 0000aaaa-11bb-cccc-dd22-eeeeee333333\r\nCorrelation ID: aaaa0000-bb11-2222-33cc-444444dddddd\r\nTimestamp: 2024-06-15 08:22:51Z",
                Code::InvalidClientSecret,
                "az ad app credential reset --id 00001111-aaaa-2222-bbbb-3333cccc4444",
            ),
            (
                "AADSTS7000222: The provided client secret keys for app '00001111-aaaa-2222-bbbb-3333cccc4444' are expired. Visit the Azure portal to create new keys for your app.",
                Code::ClientSecretExpired,
                "az ad app credential reset",
            ),
            (
                "AADSTS700016: Application with identifier '00001111-aaaa-2222-bbbb-3333cccc4444' was not found in the directory 'aaaabbbb-0000-cccc-1111-dddd2222eeee'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.",
                Code::AppNotFoundInTenant,
                "AZURE_TENANT_ID",
            ),
            (
                "AADSTS90002: Tenant 'aaaabbbb-0000-cccc-1111-dddd2222eeee' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.",
                Code::TenantNotFound,
                "--cloud",
            ),
            (
                "AADSTS700024: Client assertion is not within its valid time range. Current time: 2024-10-02T22:05:03.6755165Z, assertion valid from 1970-01-01T00:00:00.0000000Z, expiry time of assertion 2024-10-02T21:30:53.0000000Z. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials",
                Code::AssertionExpired,
                "clock",
            ),
            (
                "AADSTS700027: Client assertion failed signature validation.",
                Code::CertificateNotAccepted,
                "--cert @",
            ),
        ];
        for (description, code, remedy_part) in cases {
            let f = only(classify(&sdk_text(description), &fc(SourceId::Environment)));
            assert_eq!(f.code, code, "{description}");
            assert!(f.remedy.contains(remedy_part), "{code}: {}", f.remedy);
            assert!(!f.message.contains("Trace ID"), "{}", f.message);
        }
    }

    #[test]
    fn federated_mismatch_shows_the_presented_assertion_next_to_the_fix() {
        let mut ctx = fc(SourceId::GithubActions);
        ctx.presented = Some(Claims {
            iss: Some("https://token.actions.githubusercontent.com".into()),
            sub: Some("repo:contoso/app:ref:refs/heads/feature".into()),
            aud: Some("api://AzureADTokenExchange".into()),
            ..Default::default()
        });
        let text = "ClientAssertionCredential authentication failed. AADSTS700213: No matching federated identity record found for presented assertion subject 'repo:contoso/app:ref:refs/heads/feature'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation Trace ID: x";
        let f = only(classify(text, &ctx));
        assert_eq!(f.code, Code::FederatedCredentialMismatch);
        assert!(f.message.contains("subject"), "{}", f.message);
        assert!(
            f.message.contains("issuer 'https://token.actions.githubusercontent.com', subject 'repo:contoso/app:ref:refs/heads/feature', audience 'api://AzureADTokenExchange'"),
            "{}",
            f.message
        );
        assert!(f.remedy.contains(
            "az ad app federated-credential create --id 00001111-aaaa-2222-bbbb-3333cccc4444"
        ));
        assert!(
            f.remedy
                .contains("\"subject\":\"repo:contoso/app:ref:refs/heads/feature\"")
        );

        for code in [
            "AADSTS70021",
            "AADSTS700211",
            "AADSTS700212",
            "AADSTS7002138",
        ] {
            let f = only(classify(
                &format!("{code}: No matching federated identity record found"),
                &ctx,
            ));
            assert_eq!(f.code, Code::FederatedCredentialMismatch, "{code}");
        }
        let f = only(classify("AADSTS7002138: x", &ctx));
        assert!(f.message.contains("letter case"), "{}", f.message);
    }

    #[test]
    fn imds_bodies_map_to_managed_identity_codes() {
        let ctx = fc(SourceId::ManagedIdentity);
        let not_found = "ManagedIdentityCredential authentication failed. The requested identity has not been assigned to this resource\n[HTTP 400] {\"error\":\"invalid_request\",\"error_description\":\"Identity not found\"}";
        assert_eq!(
            only(classify(not_found, &ctx)).code,
            Code::ManagedIdentityNotFound
        );
        let many = "ManagedIdentityCredential authentication failed. The requested identity has not been assigned to this resource\n[HTTP 400] {\"error\":\"invalid_request\",\"error_description\":\"Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request\"}";
        assert_eq!(
            only(classify(many, &ctx)).code,
            Code::ManagedIdentityAmbiguous
        );
    }

    #[test]
    fn cli_texts_are_skips_not_failures() {
        let az = classify(
            "AzureCliCredential authentication failed. ERROR: Please run 'az login' to setup account.\n",
            &fc(SourceId::AzureCli),
        );
        assert!(matches!(az, Acquisition::Skipped { .. }));
        assert_eq!(only(az).code, Code::CliNotLoggedIn);
        let azd = classify(
            "AzureDeveloperCliCredential authentication failed. \nERROR: not logged in, run `azd auth login` to login\n",
            &fc(SourceId::AzureDeveloperCli),
        );
        let azd = only(azd);
        assert_eq!(azd.code, Code::CliNotLoggedIn);
        assert_eq!(
            azd.message,
            "azure-developer-cli: ERROR: not logged in, run `azd auth login` to login"
        );
        let missing = classify(
            "AzureCliCredential authentication failed. Azure CLI not found on PATH",
            &fc(SourceId::AzureCli),
        );
        assert_eq!(only(missing).code, Code::CliNotInstalled);
        let stale = classify(
            "AzureCliCredential authentication failed. ERROR: AADSTS70043: The refresh token has expired due to inactivity.",
            &fc(SourceId::AzureCli),
        );
        assert_eq!(only(stale).code, Code::CliNotLoggedIn);
    }

    #[test]
    fn cli_remedies_name_the_clouds_scope() {
        for cloud in [Cloud::Public, Cloud::UsGov, Cloud::China] {
            let profile = cloud.profile();
            let scope = profile.cognitive_scope();
            let mut ctx = fc(SourceId::AzureCli);
            ctx.cloud = profile;
            let login = only(classify(
                "AzureCliCredential authentication failed. ERROR: Please run 'az login' to setup account.\n",
                &ctx,
            ));
            assert!(
                login
                    .remedy
                    .ends_with(&format!("`az login --scope {scope}`)")),
                "{}",
                login.remedy
            );
            let other = only(classify(
                "AzureCliCredential authentication failed. boom",
                &ctx,
            ));
            assert!(
                other.remedy.contains(&format!("--scope {scope}`")),
                "{}",
                other.remedy
            );
            ctx.source = SourceId::AzureDeveloperCli;
            let azd = only(classify(
                "AzureDeveloperCliCredential authentication failed. boom",
                &ctx,
            ));
            assert!(
                azd.remedy
                    .contains(&format!("azd auth token --scope {scope}`")),
                "{}",
                azd.remedy
            );
        }
    }

    #[test]
    fn anything_else_is_token_request_failed_with_redacted_text() {
        crate::redact::register("hunter2-very-secret");
        let text = "ClientSecretCredential authentication failed. unexpected response while sending client_secret=hunter2-very-secret and eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJodHRwczovL3gifQ.c2lnbmF0dXJl";
        let f = only(classify(text, &fc(SourceId::Environment)));
        assert_eq!(f.code, Code::TokenRequestFailed);
        assert!(f.message.contains("unexpected response"));
        assert!(
            !f.message.contains("hunter2") && !f.message.contains("eyJhdWQ"),
            "{}",
            f.message
        );
    }

    #[test]
    fn an_answer_without_a_description_still_says_what_came_back() {
        // What error_text makes of an Entra 401 with an empty JSON body.
        let text = "ClientSecretCredential authentication failed. \nTo troubleshoot, visit https://aka.ms/azsdk/rust/identity/troubleshoot#client-secret\n[HTTP 401] {}";
        let f = only(classify(text, &fc(SourceId::Environment)));
        assert_eq!(f.message, "environment: [HTTP 401] {}");
    }

    #[test]
    fn endpoint_answers_are_named_with_status_tries_and_wait() {
        let throttled = LastAnswer::Status {
            host: "login.microsoftonline.com".into(),
            status: 429,
            retry_after: Some(Duration::from_secs(2)),
            tries: 3,
        };
        let f = endpoint_answer(SourceId::Environment, &throttled);
        assert_eq!(f.code, Code::TokenEndpointUnavailable);
        assert_eq!(
            f.message,
            "environment: login.microsoftonline.com answered HTTP 429 (throttled) 3 times (Retry-After 2 s)"
        );
        let long_wait = LastAnswer::Status {
            host: "169.254.169.254".into(),
            status: 503,
            retry_after: Some(Duration::from_secs(60)),
            tries: 1,
        };
        let f = endpoint_answer(SourceId::ManagedIdentity, &long_wait);
        assert_eq!(f.code, Code::TokenEndpointUnavailable);
        assert!(f.message.contains("retry after 60 s"), "{}", f.message);
        let not_transient = LastAnswer::Status {
            host: "h".into(),
            status: 501,
            retry_after: None,
            tries: 1,
        };
        assert_eq!(
            endpoint_answer(SourceId::Environment, &not_transient).code,
            Code::TokenRequestFailed
        );
        let big = endpoint_answer(
            SourceId::Environment,
            &LastAnswer::TooLarge { host: "h".into() },
        );
        assert!(
            big.message.contains("larger than 1024 KiB"),
            "{}",
            big.message
        );
    }

    #[test]
    fn a_transient_status_is_the_cause_unless_the_text_names_a_better_one() {
        let throttled = LastAnswer::Status {
            host: "login.microsoftonline.com".into(),
            status: 429,
            retry_after: None,
            tries: 3,
        };
        let loop_text = sdk_text(
            "AADSTS50196: The server terminated an operation because it encountered a client request loop.",
        );
        let f = only(classify_with_answer(
            &loop_text,
            Some(&throttled),
            &fc(SourceId::Environment),
        ));
        assert_eq!(f.code, Code::TokenEndpointUnavailable);
        assert!(
            f.message.contains("HTTP 429") && f.message.contains("AADSTS50196"),
            "{}",
            f.message
        );
        let secret_text = sdk_text("AADSTS7000215: Invalid client secret provided.");
        let f = only(classify_with_answer(
            &secret_text,
            Some(&throttled),
            &fc(SourceId::Environment),
        ));
        assert_eq!(f.code, Code::InvalidClientSecret);
        let f = only(classify_with_answer(
            &secret_text,
            None,
            &fc(SourceId::Environment),
        ));
        assert_eq!(f.code, Code::InvalidClientSecret);
    }

    #[test]
    fn a_refused_connection_is_named() {
        let refused = "ClientSecretCredential authentication failed. error sending request\nclient error (Connect)\ntcp connect error: Connection refused (os error 111)";
        assert_eq!(
            only(classify(refused, &fc(SourceId::Environment))).code,
            Code::ConnectionFailed
        );
    }

    #[test]
    fn tls_and_dns_failures_are_named() {
        let tls = "ClientSecretCredential authentication failed. error sending request\nclient error (Connect)\ninvalid peer certificate: UnknownIssuer";
        assert_eq!(
            only(classify(tls, &fc(SourceId::Environment))).code,
            Code::TlsFailure
        );
        let dns = "error sending request\nclient error (Connect)\ndns error: failed to lookup address information: Name or service not known";
        let f = only(classify(dns, &fc(SourceId::WorkloadIdentity)));
        assert_eq!(f.code, Code::DnsFailure);
        assert!(f.remedy.contains("https://login.microsoftonline.com"));
    }

    #[test]
    fn aadsts_codes_are_parsed_from_anywhere_in_the_text() {
        assert_eq!(aadsts_code("x AADSTS7000215: y"), Some(7000215));
        assert_eq!(
            aadsts_code("AADSTS: no digits, then AADSTS90002"),
            Some(90002)
        );
        assert_eq!(aadsts_code("nothing here"), None);
    }
}
