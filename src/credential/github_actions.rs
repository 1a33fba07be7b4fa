//! `github-actions`: the job's OIDC token (`ACTIONS_ID_TOKEN_REQUEST_URL` with
//! `audience=api://AzureADTokenExchange`, `ACTIONS_ID_TOKEN_REQUEST_TOKEN` as bearer; this is a
//! GitHub token, not an Azure one), exchanged for AZURE_TENANT_ID / AZURE_CLIENT_ID.

use super::federated::{body_text, exchange, oidc_fetch_failed};
use super::{Acquisition, CredentialContext, SourceId};

pub const FEDERATION_AUDIENCE: &str = "api://AzureADTokenExchange";

pub(super) async fn acquire(scope: &str, ctx: &CredentialContext) -> Acquisition {
    const SOURCE: SourceId = SourceId::GithubActions;
    let url = ctx.var("ACTIONS_ID_TOKEN_REQUEST_URL");
    let request_token = ctx.var("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
    let tenant = ctx.var("AZURE_TENANT_ID");
    let client_id = ctx.var("AZURE_CLIENT_ID");
    let (Some(url), Some(request_token), Some(tenant), Some(client_id)) =
        (url, request_token, tenant, client_id)
    else {
        let missing: Vec<&str> = [
            ("ACTIONS_ID_TOKEN_REQUEST_URL", url),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", request_token),
            ("AZURE_TENANT_ID", tenant),
            ("AZURE_CLIENT_ID", client_id),
        ]
        .into_iter()
        .filter(|(_, v)| v.is_none())
        .map(|(k, _)| k)
        .collect();
        let mut skipped = Acquisition::not_configured(SOURCE, &missing);
        if missing.iter().any(|m| m.starts_with("ACTIONS_"))
            && let Acquisition::Skipped { findings, .. } = &mut skipped
        {
            findings[0].remedy = "in a GitHub Actions job, grant `permissions: id-token: write` (the runner then sets ACTIONS_ID_TOKEN_REQUEST_URL/TOKEN) and set AZURE_TENANT_ID and AZURE_CLIENT_ID".into();
        }
        return skipped;
    };
    crate::redact::register(request_token);

    let mut target = match url::Url::parse(url) {
        Ok(u) => u,
        Err(e) => {
            return oidc_fetch_failed(
                SOURCE,
                format!("ACTIONS_ID_TOKEN_REQUEST_URL is not a URL: {e}"),
                "run inside a GitHub Actions job; the runner sets this variable",
            );
        }
    };
    target
        .query_pairs_mut()
        .append_pair("audience", FEDERATION_AUDIENCE);
    let answer = tokio::time::timeout(
        ctx.timeout,
        ctx.http
            .get(target)
            .bearer_auth(request_token)
            .header("accept", "application/json; api-version=2.0")
            .send(),
    )
    .await;
    let rsp = match answer {
        Err(_) => return Acquisition::failed(super::errors::timeout(SOURCE, ctx.timeout)),
        Ok(Err(e)) => {
            return oidc_fetch_failed(
                SOURCE,
                format!("requesting the GitHub OIDC token failed: {e}"),
                "check that the job can reach the Actions token service",
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
                "the GitHub OIDC endpoint answered HTTP {}: {body}",
                status.as_u16()
            ),
            "grant the job `permissions: id-token: write`; a token from a fork's pull request is not issued",
        );
    }
    let Some(assertion) = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|v| v.get("value").and_then(|t| t.as_str()).map(str::to_string))
    else {
        return oidc_fetch_failed(
            SOURCE,
            "the GitHub OIDC endpoint answered without a 'value' field".to_string(),
            "run inside a GitHub Actions job; ACTIONS_ID_TOKEN_REQUEST_URL must be the runner's",
        );
    };
    exchange(SOURCE, assertion, tenant, client_id, scope, ctx).await
}
