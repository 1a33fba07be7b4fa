//! The federated sources of CI systems (GitHub Actions, Azure Pipelines) fetch an OIDC token from
//! the CI system and exchange it at Entra ID through azure_identity's ClientAssertionCredential.
//! The tool fetches the OIDC token itself so it can show the presented iss/sub/aud when no
//! federated credential matches.

use super::errors::FailureContext;
use super::transport::{self, LastAnswer};
use super::{Acquisition, CredentialContext, SourceId, get_token_with_deadline};
use crate::diagnosis::{Code, Finding};
use crate::http::{BodyError, TOKEN_BODY_LIMIT, read_body_capped};
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
    let wire = ctx.token_transport();
    let options = ClientAssertionCredentialOptions {
        client_options: ctx.client_options(&wire),
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
    get_token_with_deadline(
        source,
        credential.as_ref(),
        scope,
        ctx,
        Some(&wire),
        &failure,
    )
    .await
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

/// Send the OIDC request under the tool's deadline (429/5xx asked again within it, as for every
/// token endpoint) and pull the token out of the answer, read to at most 1 MiB.
pub(super) async fn fetch_oidc_token(
    request: impl Fn() -> reqwest::RequestBuilder,
    endpoint: &OidcEndpoint<'_>,
    ctx: &CredentialContext,
) -> Result<String, Acquisition> {
    let source = endpoint.source;
    let (status, body) =
        match tokio::time::timeout(ctx.timeout, send_with_retries(request, ctx)).await {
            Err(_) => {
                return Err(Acquisition::failed(super::errors::timeout(
                    source,
                    ctx.timeout,
                )));
            }
            Ok(Err(OidcError::Send(e))) => {
                return Err(oidc_fetch_failed(
                    source,
                    format!("requesting a token from {} failed: {e}", endpoint.name),
                    endpoint.unreachable_remedy,
                ));
            }
            Ok(Err(OidcError::Answer(answer))) => {
                return Err(Acquisition::failed(super::errors::endpoint_answer(
                    source, &answer,
                )));
            }
            Ok(Ok(answer)) => answer,
        };
    let body = String::from_utf8_lossy(&body).into_owned();
    if !(200..300).contains(&status) {
        return Err(oidc_fetch_failed(
            source,
            format!(
                "{} answered HTTP {status}{}: {}",
                endpoint.name,
                endpoint.context,
                body.chars().take(4096).collect::<String>()
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

enum OidcError {
    Send(reqwest::Error),
    /// A 429/5xx that outlasted the retries, or a body past the cap.
    Answer(LastAnswer),
}

/// The final status and body of the OIDC request.
async fn send_with_retries(
    request: impl Fn() -> reqwest::RequestBuilder,
    ctx: &CredentialContext,
) -> Result<(u16, Vec<u8>), OidcError> {
    let deadline = tokio::time::Instant::now() + ctx.timeout;
    let mut tries = 0;
    loop {
        tries += 1;
        let rsp = crate::http::send(request())
            .await
            .map_err(OidcError::Send)?;
        let host = rsp.url().host_str().unwrap_or_default().to_string();
        let status = rsp.status().as_u16();
        let retry_after = transport::retry_after(rsp.headers());
        let wait = transport::retry_wait(status, rsp.headers(), tries, deadline);
        let body = match read_body_capped(rsp, TOKEN_BODY_LIMIT).await {
            Ok(body) => body,
            Err(BodyError::TooLarge { .. }) => {
                return Err(OidcError::Answer(LastAnswer::TooLarge { host }));
            }
            Err(BodyError::Transport(e)) => return Err(OidcError::Send(e)),
        };
        match wait {
            Some(wait) => tokio::time::sleep(wait).await,
            None if transport::is_transient(status) => {
                return Err(OidcError::Answer(LastAnswer::Status {
                    host,
                    status,
                    retry_after,
                    tries,
                }));
            }
            None => return Ok((status, body)),
        }
    }
}
