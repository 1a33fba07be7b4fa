//! The federated sources of CI systems (GitHub Actions, Azure Pipelines) fetch an OIDC token from
//! the CI system and exchange it at Entra ID through azure_identity's ClientAssertionCredential.
//! The tool fetches the OIDC token itself so it can show the presented iss/sub/aud when no
//! federated credential matches.

use super::errors::FailureContext;
use super::{Acquisition, CredentialContext, SourceId, get_token_with_deadline};
use crate::diagnosis::{Code, Finding};
use azure_core::http::ClientMethodOptions;
use azure_identity::{
    ClientAssertion, ClientAssertionCredential, ClientAssertionCredentialOptions,
};

/// An assertion fetched once; it never prints itself.
pub(super) struct FetchedAssertion(pub String);

impl std::fmt::Debug for FetchedAssertion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(crate::redact::REDACTED)
    }
}

#[async_trait::async_trait]
impl ClientAssertion for FetchedAssertion {
    async fn secret(&self, _: Option<ClientMethodOptions<'_>>) -> azure_core::Result<String> {
        Ok(self.0.clone())
    }
}

/// Exchange an OIDC token for an access token.
pub(super) async fn exchange(
    source: SourceId,
    assertion: String,
    tenant: &str,
    client_id: &str,
    scope: &str,
    ctx: &CredentialContext,
) -> Acquisition {
    let mut failure = FailureContext::new(source, ctx.cloud);
    failure.tenant = Some(tenant);
    failure.client_id = Some(client_id);
    failure.presented = crate::claims::decode(&assertion).ok();
    let options = ClientAssertionCredentialOptions {
        client_options: ctx.client_options(),
    };
    let credential = match ClientAssertionCredential::new(
        tenant.to_string(),
        client_id.to_string(),
        FetchedAssertion(assertion),
        Some(options),
    ) {
        Ok(c) => c,
        Err(e) => return super::errors::classify(&super::errors::error_text(&e), &failure),
    };
    get_token_with_deadline(source, credential.as_ref(), scope, ctx, &failure).await
}

/// A failed OIDC fetch: what the CI endpoint said, redacted and capped.
pub(super) fn oidc_fetch_failed(source: SourceId, what: String, remedy: &str) -> Acquisition {
    Acquisition::failed(Finding::new(
        Code::TokenRequestFailed,
        format!("{source}: {}", super::errors::condensed(&what)),
        remedy,
    ))
}

/// How one CI system's OIDC endpoint answers, and what to tell the user when it does not.
pub(super) struct OidcEndpoint<'a> {
    pub source: SourceId,
    /// "the GitHub OIDC endpoint", "the Pipelines OIDC endpoint".
    pub name: &'a str,
    /// The JSON field that carries the token (`value`, `oidcToken`).
    pub field: &'a str,
    /// Appended to the status message (e.g. which service connection was asked for).
    pub context: String,
    pub unreachable_remedy: &'a str,
    pub refused_remedy: &'a str,
    pub malformed_remedy: &'a str,
}

/// Send the OIDC request under the tool's deadline and pull the token out of the answer.
pub(super) async fn fetch_oidc_token(
    request: reqwest::RequestBuilder,
    endpoint: &OidcEndpoint<'_>,
    ctx: &CredentialContext,
) -> Result<String, Acquisition> {
    let source = endpoint.source;
    let rsp = match tokio::time::timeout(ctx.timeout, request.send()).await {
        Err(_) => {
            return Err(Acquisition::failed(super::errors::timeout(
                source,
                ctx.timeout,
            )));
        }
        Ok(Err(e)) => {
            return Err(oidc_fetch_failed(
                source,
                format!("requesting a token from {} failed: {e}", endpoint.name),
                endpoint.unreachable_remedy,
            ));
        }
        Ok(Ok(rsp)) => rsp,
    };
    let status = rsp.status();
    let body = body_text(rsp, ctx.timeout).await;
    if !status.is_success() {
        return Err(oidc_fetch_failed(
            source,
            format!(
                "{} answered HTTP {}{}: {body}",
                endpoint.name,
                status.as_u16(),
                endpoint.context
            ),
            endpoint.refused_remedy,
        ));
    }
    serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| {
            v.get(endpoint.field)
                .and_then(|t| t.as_str())
                .map(str::to_string)
        })
        .ok_or_else(|| {
            oidc_fetch_failed(
                source,
                format!(
                    "{} answered without a '{}' field",
                    endpoint.name, endpoint.field
                ),
                endpoint.malformed_remedy,
            )
        })
}

/// Read at most 64 KiB of a response body as text, within the deadline.
async fn body_text(mut rsp: reqwest::Response, deadline: std::time::Duration) -> String {
    const LIMIT: usize = 64 * 1024;
    let mut bytes = Vec::new();
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout(deadline, rsp.chunk()).await {
        bytes.extend_from_slice(&chunk[..chunk.len().min(LIMIT - bytes.len())]);
        if bytes.len() >= LIMIT {
            break;
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}
