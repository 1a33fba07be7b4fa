//! `azure-pipelines`: the service connection's OIDC token from `SYSTEM_OIDCREQUESTURI`
//! (`POST ?api-version=7.1&serviceConnectionId=…` with `SYSTEM_ACCESSTOKEN` as bearer, the same
//! request azure_identity's AzurePipelinesCredential sends), exchanged at Entra ID.
//!
//! The tenant, client and service connection ids come from the variables the AzureCLI@2 and
//! AzurePowerShell tasks set for SDKs (AZURESUBSCRIPTION_TENANT_ID, AZURESUBSCRIPTION_CLIENT_ID,
//! AZURESUBSCRIPTION_SERVICE_CONNECTION_ID), falling back to AZURE_TENANT_ID / AZURE_CLIENT_ID.

use super::federated::{OidcEndpoint, exchange, fetch_oidc_token, oidc_fetch_failed};
use super::{Acquisition, CredentialContext, SourceId};

pub(super) async fn acquire(scope: &str, ctx: &CredentialContext) -> Acquisition {
    const SOURCE: SourceId = SourceId::AzurePipelines;
    let uri = ctx.var("SYSTEM_OIDCREQUESTURI");
    let access_token = ctx.var("SYSTEM_ACCESSTOKEN");
    let tenant = ctx
        .var("AZURESUBSCRIPTION_TENANT_ID")
        .or_else(|| ctx.var("AZURE_TENANT_ID"));
    let client_id = ctx
        .var("AZURESUBSCRIPTION_CLIENT_ID")
        .or_else(|| ctx.var("AZURE_CLIENT_ID"));
    let connection = ctx.var("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID");
    let (Some(uri), Some(access_token), Some(tenant), Some(client_id), Some(connection)) =
        (uri, access_token, tenant, client_id, connection)
    else {
        let missing: Vec<&str> = [
            ("SYSTEM_OIDCREQUESTURI", uri),
            ("SYSTEM_ACCESSTOKEN", access_token),
            ("AZURESUBSCRIPTION_TENANT_ID (or AZURE_TENANT_ID)", tenant),
            (
                "AZURESUBSCRIPTION_CLIENT_ID (or AZURE_CLIENT_ID)",
                client_id,
            ),
            ("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID", connection),
        ]
        .into_iter()
        .filter(|(_, v)| v.is_none())
        .map(|(k, _)| k)
        .collect();
        return Acquisition::not_configured(SOURCE, &missing);
    };
    crate::redact::register(access_token);

    let mut target = match url::Url::parse(uri) {
        Ok(u) => u,
        Err(e) => {
            return oidc_fetch_failed(
                SOURCE,
                format!("SYSTEM_OIDCREQUESTURI is not a URL: {e}"),
                "run inside an Azure Pipelines job; the agent sets this variable",
            );
        }
    };
    target
        .query_pairs_mut()
        .append_pair("api-version", "7.1")
        .append_pair("serviceConnectionId", connection);
    let request = || {
        ctx.http
            .post(target.clone())
            .bearer_auth(access_token)
            .header("x-tfs-fedauthredirect", "Suppress")
            .header("content-length", "0")
    };
    let endpoint = OidcEndpoint {
        source: SOURCE,
        name: "the Pipelines OIDC endpoint",
        field: "oidcToken",
        context: format!(" for service connection {connection}"),
        unreachable_remedy: "check that the agent can reach Azure DevOps",
        refused_remedy: "check AZURESUBSCRIPTION_SERVICE_CONNECTION_ID (a workload identity federation service connection this pipeline may use) and map SYSTEM_ACCESSTOKEN into the step's env (env: SYSTEM_ACCESSTOKEN: $(System.AccessToken))",
        malformed_remedy: "check SYSTEM_OIDCREQUESTURI; run inside an Azure Pipelines job",
    };
    let assertion = match fetch_oidc_token(request, &endpoint, ctx).await {
        Ok(token) => token,
        Err(failed) => return failed,
    };
    exchange(SOURCE, assertion, tenant, client_id, scope, ctx).await
}
