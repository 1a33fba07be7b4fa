//! `workload-identity`: AZURE_FEDERATED_TOKEN_FILE + AZURE_TENANT_ID + AZURE_CLIENT_ID through
//! azure_identity's WorkloadIdentityCredential (values passed explicitly, not read by the SDK).
//! The tool reads the token file too, only to show the presented iss/sub/aud when Entra finds
//! no matching federated credential.

use super::errors::FailureContext;
use super::{Acquisition, CredentialContext, SourceId, get_token_with_deadline};
use crate::diagnosis::{Code, Finding};
use azure_identity::{
    ClientAssertionCredentialOptions, WorkloadIdentityCredential, WorkloadIdentityCredentialOptions,
};

pub(super) async fn acquire(scope: &str, ctx: &CredentialContext) -> Acquisition {
    const SOURCE: SourceId = SourceId::WorkloadIdentity;
    let file = ctx.var("AZURE_FEDERATED_TOKEN_FILE");
    let tenant = ctx.var("AZURE_TENANT_ID");
    let client_id = ctx.var("AZURE_CLIENT_ID");
    let (Some(file), Some(tenant), Some(client_id)) = (file, tenant, client_id) else {
        let missing: Vec<&str> = [
            ("AZURE_FEDERATED_TOKEN_FILE", file),
            ("AZURE_TENANT_ID", tenant),
            ("AZURE_CLIENT_ID", client_id),
        ]
        .into_iter()
        .filter(|(_, v)| v.is_none())
        .map(|(k, _)| k)
        .collect();
        return Acquisition::not_configured(SOURCE, &missing);
    };
    let token_file = crate::input::read_text(
        std::path::Path::new(file),
        "AZURE_FEDERATED_TOKEN_FILE",
        crate::input::TOKEN_LIMIT,
    );
    let presented = match token_file {
        Ok(text) => crate::claims::decode(text.trim()).ok(),
        Err(e) => {
            return Acquisition::failed(Finding::new(
                Code::TokenRequestFailed,
                format!("{SOURCE}: {e}"),
                "check the pod's service account token projection (azure.workload.identity/use: \"true\" label and the webhook), and that this process may read the file",
            ));
        }
    };
    let mut failure = FailureContext::new(SOURCE, ctx.cloud);
    failure.tenant = Some(tenant);
    failure.client_id = Some(client_id);
    failure.presented = presented;
    let wire = ctx.token_transport();

    let options = WorkloadIdentityCredentialOptions {
        credential_options: ClientAssertionCredentialOptions {
            client_options: ctx.client_options(&wire),
        },
        client_id: Some(client_id.to_string()),
        tenant_id: Some(tenant.to_string()),
        token_file_path: Some(file.into()),
    };
    let credential = match WorkloadIdentityCredential::new(Some(options)) {
        Ok(c) => c,
        Err(e) => {
            return super::errors::classify(&super::errors::error_text(&e), &failure);
        }
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
