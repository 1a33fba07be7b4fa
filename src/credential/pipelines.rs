//! `azure-pipelines`: the service connection's OIDC token from `SYSTEM_OIDCREQUESTURI`
//! (`POST ?api-version=7.1&serviceConnectionId=…` with `SYSTEM_ACCESSTOKEN` as bearer, the same
//! request azure_identity's AzurePipelinesCredential sends), exchanged at Entra ID.
//!
//! The tenant, client and service connection ids come from the variables the AzureCLI@2 and
//! AzurePowerShell tasks set for SDKs (AZURESUBSCRIPTION_TENANT_ID, AZURESUBSCRIPTION_CLIENT_ID,
//! AZURESUBSCRIPTION_SERVICE_CONNECTION_ID), falling back to AZURE_TENANT_ID / AZURE_CLIENT_ID.

use super::federated::{body_text, exchange, oidc_fetch_failed};
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
    let answer = tokio::time::timeout(
        ctx.timeout,
        ctx.http
            .post(target)
            .bearer_auth(access_token)
            .header("x-tfs-fedauthredirect", "Suppress")
            .header("content-length", "0")
            .send(),
    )
    .await;
    let rsp = match answer {
        Err(_) => return Acquisition::failed(super::errors::timeout(SOURCE, ctx.timeout)),
        Ok(Err(e)) => {
            return oidc_fetch_failed(
                SOURCE,
                format!("requesting the Pipelines OIDC token failed: {e}"),
                "check that the agent can reach Azure DevOps",
            );
        }
        Ok(Ok(rsp)) => rsp,
    };
    let status = rsp.status();
    let body = body_text(rsp).await;
    if !status.is_success() {
        return oidc_fetch_failed(
            SOURCE,
            format!(
                "the Pipelines OIDC endpoint answered HTTP {} for service connection {connection}: {body}",
                status.as_u16()
            ),
            "check AZURESUBSCRIPTION_SERVICE_CONNECTION_ID (a workload identity federation service connection this pipeline may use) and map SYSTEM_ACCESSTOKEN into the step's env (env: SYSTEM_ACCESSTOKEN: $(System.AccessToken))",
        );
    }
    let Some(assertion) = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| {
            v.get("oidcToken")
                .and_then(|t| t.as_str())
                .map(str::to_string)
        })
    else {
        return oidc_fetch_failed(
            SOURCE,
            "the Pipelines OIDC endpoint answered without an 'oidcToken' field".to_string(),
            "check SYSTEM_OIDCREQUESTURI; run inside an Azure Pipelines job",
        );
    };
    exchange(SOURCE, assertion, tenant, client_id, scope, ctx).await
}
