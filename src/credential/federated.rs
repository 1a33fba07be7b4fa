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

/// Read at most 64 KiB of a response body as text.
pub(super) async fn body_text(rsp: reqwest::Response) -> String {
    let bytes = rsp.bytes().await.unwrap_or_default();
    String::from_utf8_lossy(&bytes[..bytes.len().min(64 * 1024)]).into_owned()
}
