//! `github-actions`: the job's OIDC token (`ACTIONS_ID_TOKEN_REQUEST_URL` with
//! `audience=api://AzureADTokenExchange`, `ACTIONS_ID_TOKEN_REQUEST_TOKEN` as bearer; this is a
//! GitHub token, not an Azure one), exchanged for AZURE_TENANT_ID / AZURE_CLIENT_ID.

use super::federated::{OidcEndpoint, exchange, fetch_oidc_token, oidc_fetch_failed};
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
    let request = || {
        ctx.http
            .get(target.clone())
            .bearer_auth(request_token)
            .header("accept", "application/json; api-version=2.0")
    };
    let endpoint = OidcEndpoint {
        source: SOURCE,
        name: "the GitHub OIDC endpoint",
        field: "value",
        context: String::new(),
        unreachable_remedy: "check that the job can reach the Actions token service",
        refused_remedy: "grant the job `permissions: id-token: write`; a token from a fork's pull request is not issued",
        malformed_remedy: "run inside a GitHub Actions job; ACTIONS_ID_TOKEN_REQUEST_URL must be the runner's",
    };
    let assertion = match fetch_oidc_token(request, &endpoint, ctx).await {
        Ok(token) => token,
        Err(failed) => return failed,
    };
    exchange(SOURCE, assertion, tenant, client_id, scope, ctx).await
}
