//! `environment`: AZURE_TENANT_ID + AZURE_CLIENT_ID with AZURE_CLIENT_SECRET, or with
//! AZURE_CLIENT_CERTIFICATE_PATH (PEM or PFX, AZURE_CLIENT_CERTIFICATE_PASSWORD). azure_identity
//! 1.0 reads none of these variables; the tool does. Like Python's EnvironmentCredential, a
//! secret wins over a certificate when both are set.

use super::errors::{self, FailureContext};
use super::{Acquisition, CredentialContext, SourceId, certificate, get_token_with_deadline};
use crate::diagnosis::{Code, Finding};
use azure_identity::{
    ClientAssertionCredential, ClientAssertionCredentialOptions, ClientSecretCredential,
    ClientSecretCredentialOptions,
};

pub(super) async fn acquire(scope: &str, ctx: &CredentialContext) -> Acquisition {
    const SOURCE: SourceId = SourceId::Environment;
    let tenant = ctx.var("AZURE_TENANT_ID");
    let client_id = ctx.var("AZURE_CLIENT_ID");
    let secret = ctx.var("AZURE_CLIENT_SECRET");
    let cert_path = ctx.var("AZURE_CLIENT_CERTIFICATE_PATH");
    let mut missing = Vec::new();
    if tenant.is_none() {
        missing.push("AZURE_TENANT_ID");
    }
    if client_id.is_none() {
        missing.push("AZURE_CLIENT_ID");
    }
    if secret.is_none() && cert_path.is_none() {
        missing.push("AZURE_CLIENT_SECRET (or AZURE_CLIENT_CERTIFICATE_PATH)");
    }
    let (Some(tenant), Some(client_id)) = (tenant, client_id) else {
        return Acquisition::not_configured(SOURCE, &missing);
    };
    if !missing.is_empty() {
        return Acquisition::not_configured(SOURCE, &missing);
    }

    let mut failure = FailureContext::new(SOURCE, ctx.cloud);
    failure.tenant = Some(tenant);
    failure.client_id = Some(client_id);

    let wire = ctx.token_transport();
    if let Some(secret) = secret {
        crate::redact::register(secret);
        let options = ClientSecretCredentialOptions {
            client_options: ctx.client_options(&wire),
        };
        let credential = match ClientSecretCredential::new(
            tenant,
            client_id.to_string(),
            azure_core::credentials::Secret::new(secret.to_string()),
            Some(options),
        ) {
            Ok(c) => c,
            Err(e) => return construction_failed(&e),
        };
        return get_token_with_deadline(
            SOURCE,
            credential.as_ref(),
            scope,
            ctx,
            Some(&wire),
            &failure,
        )
        .await;
    }

    let cert_path = cert_path.unwrap_or_default();
    let password = ctx.var("AZURE_CLIENT_CERTIFICATE_PASSWORD");
    if let Some(p) = password {
        crate::redact::register(p);
    }
    let signer = match certificate::CertificateSigner::load(
        std::path::Path::new(cert_path),
        password,
        &ctx.authority_host(),
        tenant,
        client_id,
    ) {
        Ok(s) => s,
        Err(message) => {
            return Acquisition::failed(Finding::new(
                Code::TokenRequestFailed,
                format!("{SOURCE}: {message}"),
                "point AZURE_CLIENT_CERTIFICATE_PATH at a PEM file holding the certificate and its unencrypted private key, or at a PFX file with its password in AZURE_CLIENT_CERTIFICATE_PASSWORD",
            ));
        }
    };
    failure.certificate_thumbprint = Some(signer.thumbprint_hex());
    let options = ClientAssertionCredentialOptions {
        client_options: ctx.client_options(&wire),
    };
    let credential = match ClientAssertionCredential::new(
        tenant.to_string(),
        client_id.to_string(),
        signer,
        Some(options),
    ) {
        Ok(c) => c,
        Err(e) => return construction_failed(&e),
    };
    get_token_with_deadline(
        SOURCE,
        credential.as_ref(),
        scope,
        ctx,
        Some(&wire),
        &failure,
    )
    .await
}

/// azure_identity refuses some values before sending anything (a tenant id with characters
/// Entra never uses, an empty client id).
fn construction_failed(err: &azure_core::Error) -> Acquisition {
    Acquisition::failed(Finding::new(
        Code::TokenRequestFailed,
        format!(
            "{}: {}",
            SourceId::Environment,
            errors::condensed(&errors::error_text(err))
        ),
        "check the values of AZURE_TENANT_ID and AZURE_CLIENT_ID (GUIDs, or the tenant's domain name)",
    ))
}
