//! Emulated external OIDC issuers whose tokens Entra exchanges through federated identity
//! credentials: the GitHub Actions ID-token endpoint, the Azure Pipelines OIDC endpoint, and the
//! Kubernetes service-account token behind `AZURE_FEDERATED_TOKEN_FILE`.
//!
//! Each token takes iss/sub/aud from the machine identity's matching `federated` entry, so a
//! correctly described scenario exchanges cleanly, and a scenario that models a mismatch (a
//! `workload_subject` override, or no matching entry) gets Entra's real AADSTS7002xx answer.
//! All three issuers sign with the emulator's key, which is also what Entra verifies them with.

use super::scenario::{FederatedSpec, IdentitySpec, derived_id};
use super::{EmuRequest, EmuResponse, World};
use serde_json::{Value, json};

pub const GITHUB_PATH: &str = "/_emulator/github/idtoken";
pub const PIPELINES_PATH: &str = "/_emulator/pipelines/oidctoken";
pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";
pub const TOKEN_EXCHANGE_AUDIENCE: &str = "api://AzureADTokenExchange";
/// [L] lifetimes: GitHub and Pipelines tokens are short-lived; projected service-account tokens
/// default to an hour and are refreshed by the kubelet before they expire.
const GITHUB_TOKEN_LIFETIME: i64 = 600;
const PIPELINES_TOKEN_LIFETIME: i64 = 600;
pub const WORKLOAD_TOKEN_LIFETIME: i64 = 3600;

fn is_pipelines_issuer(issuer: &str) -> bool {
    issuer.starts_with("https://vstoken.dev.azure.com/")
        || issuer.starts_with("https://login.microsoftonline.com/")
}

/// The (iss, sub, aud) a token for `identity` presents: its first entry the predicate accepts,
/// or the fallback when it has none.
fn federated_claims(
    identity: &IdentitySpec,
    wanted: impl Fn(&FederatedSpec) -> bool,
    fallback: impl FnOnce() -> (String, String, String),
) -> (String, String, String) {
    identity
        .federated
        .iter()
        .find(|f| wanted(f))
        .map(|f| (f.issuer.clone(), f.subject.clone(), f.audience.clone()))
        .unwrap_or_else(fallback)
}

/// The service connection id the Pipelines identity is reached through.
pub fn service_connection_id(identity_name: &str) -> String {
    derived_id("service-connection", identity_name)
}

fn github_identity(world: &World) -> Option<&IdentitySpec> {
    world
        .scenario
        .machine
        .github_actions_identity()
        .and_then(|n| world.scenario.identity(n))
}

fn pipelines_identity(world: &World) -> Option<&IdentitySpec> {
    world
        .scenario
        .machine
        .azure_pipelines_identity()
        .and_then(|n| world.scenario.identity(n))
}

/// A GitHub Actions ID token for the machine's `github_actions_identity`.
pub fn github_token(world: &World, identity: &IdentitySpec, audience: Option<&str>) -> String {
    let (iss, sub, _) = federated_claims(
        identity,
        |f| f.issuer.starts_with(GITHUB_ISSUER),
        || {
            (
                GITHUB_ISSUER.to_string(),
                format!("repo:contoso/{}:ref:refs/heads/main", identity.name()),
                TOKEN_EXCHANGE_AUDIENCE.to_string(),
            )
        },
    );
    // `machine.github_subject` models a workflow whose subject the federated credential does
    // not expect (another branch, an environment, a pull request).
    let sub = world
        .scenario
        .machine
        .github_subject()
        .map(str::to_string)
        .unwrap_or(sub);
    // `repo:OWNER/NAME:…` carries the repository the other claims describe.
    let repository = sub
        .strip_prefix("repo:")
        .and_then(|r| r.split(':').next())
        .unwrap_or("contoso/app")
        .to_string();
    let owner = repository
        .split('/')
        .next()
        .unwrap_or("contoso")
        .to_string();
    let aud = audience
        .map(str::to_string)
        .unwrap_or_else(|| format!("https://github.com/{owner}"));
    let now = super::entra::now_secs();
    world.signer.sign(&json!({
        "jti": uuid::Uuid::new_v4().to_string(),
        "sub": sub,
        "aud": aud,
        "ref": "refs/heads/main",
        "ref_type": "branch",
        "repository": repository,
        "repository_owner": owner,
        "run_id": "1",
        "run_attempt": "1",
        "event_name": "push",
        "workflow": "ci",
        "actor": "octocat",
        "iss": iss,
        "nbf": now - 5,
        "iat": now,
        "exp": now + GITHUB_TOKEN_LIFETIME,
    }))
}

/// An Azure Pipelines OIDC token for the machine's `azure_pipelines_identity`.
pub fn pipelines_token(world: &World, identity: &IdentitySpec) -> String {
    let (iss, sub, aud) = federated_claims(
        identity,
        |f| is_pipelines_issuer(&f.issuer),
        || {
            (
                format!(
                    "https://vstoken.dev.azure.com/{}",
                    derived_id("ado-organization", "contoso")
                ),
                format!("sc://contoso/ai-project/{}", identity.name()),
                TOKEN_EXCHANGE_AUDIENCE.to_string(),
            )
        },
    );
    let now = super::entra::now_secs();
    world.signer.sign(&json!({
        "jti": uuid::Uuid::new_v4().to_string(),
        "sub": sub,
        "aud": aud,
        "iss": iss,
        "nbf": now,
        "iat": now,
        "exp": now + PIPELINES_TOKEN_LIFETIME,
    }))
}

/// The projected service-account token of the machine's `workload_identity`, with the subject
/// overridden by `machine.workload_subject` when the scenario models a mismatch.
pub fn workload_token(world: &World) -> Option<String> {
    let name = world.scenario.machine.workload_identity()?;
    let identity = world.scenario.identity(name)?;
    let (iss, sub, aud) = federated_claims(
        identity,
        |f| !f.issuer.starts_with(GITHUB_ISSUER) && !is_pipelines_issuer(&f.issuer),
        || {
            (
                format!(
                    "https://oidc.prod-aks.azure.com/{}/",
                    derived_id("aks-issuer", name)
                ),
                format!("system:serviceaccount:default:{name}"),
                TOKEN_EXCHANGE_AUDIENCE.to_string(),
            )
        },
    );
    let sub = world
        .scenario
        .machine
        .workload_subject()
        .map(str::to_string)
        .unwrap_or(sub);
    let (namespace, account) = match sub.strip_prefix("system:serviceaccount:") {
        Some(rest) => rest.split_once(':').unwrap_or(("default", rest)),
        None => ("default", name),
    };
    let now = super::entra::now_secs();
    Some(world.signer.sign(&json!({
        "aud": [aud],
        "exp": now + WORKLOAD_TOKEN_LIFETIME,
        "iat": now,
        "iss": iss,
        "kubernetes.io": {
            "namespace": namespace,
            "pod": {"name": format!("{account}-0"), "uid": derived_id("pod", name)},
            "serviceaccount": {"name": account, "uid": derived_id("serviceaccount", name)},
        },
        "nbf": now,
        "sub": sub,
    })))
}

/// `GET {ACTIONS_ID_TOKEN_REQUEST_URL}&audience=…` with `Authorization: Bearer
/// {ACTIONS_ID_TOKEN_REQUEST_TOKEN}` → `{"value": jwt}`.
pub fn handle_github(world: &World, req: &EmuRequest) -> EmuResponse {
    world.counters.bump("oidc.github");
    let Some(identity) = github_identity(world) else {
        return EmuResponse::text(
            404,
            "entraprobe emulator: this scenario has no machine.github_actions_identity",
        );
    };
    if req.bearer() != Some(world.machine_secrets.actions_request_token.as_str()) {
        // [L] GitHub's body for a bad request token.
        return EmuResponse::raw_json(401, r#"{"message":"Bad credentials"}"#);
    }
    let token = github_token(world, identity, req.query_param("audience"));
    EmuResponse::json(200, &json!({ "value": token }))
}

/// `POST {SYSTEM_OIDCREQUESTURI}?api-version=7.1&serviceConnectionId=…` with `Authorization:
/// Bearer {SYSTEM_ACCESSTOKEN}` → `{"oidcToken": jwt}`.
pub fn handle_pipelines(world: &World, req: &EmuRequest) -> EmuResponse {
    world.counters.bump("oidc.pipelines");
    let Some(identity) = pipelines_identity(world) else {
        return EmuResponse::text(
            404,
            "entraprobe emulator: this scenario has no machine.azure_pipelines_identity",
        );
    };
    if !req.method.eq_ignore_ascii_case("POST") {
        return EmuResponse::raw_json(
            405,
            r#"{"message":"The requested resource does not support http method 'GET'."}"#,
        );
    }
    if req.bearer() != Some(world.machine_secrets.pipelines_access_token.as_str()) {
        // Azure DevOps answers an unauthenticated call with 401 (the credential reports the
        // status and its x-vss-e2eid / x-msedge-ref headers).
        return EmuResponse::text(401, "")
            .with_header("x-vss-e2eid", uuid::Uuid::new_v4().to_string());
    }
    let expected = service_connection_id(identity.name());
    if req.query_param("serviceConnectionId") != Some(expected.as_str()) {
        // [L] the body Azure DevOps sends for an unknown service connection.
        let body = json!({
            "$id": "1",
            "message": format!(
                "Service connection {} not found or the pipeline is not authorized to use it.",
                req.query_param("serviceConnectionId").unwrap_or("")
            ),
            "typeName": "Microsoft.TeamFoundation.DistributedTask.WebApi.ServiceEndpointNotFoundException",
        });
        return EmuResponse::json(404, &body)
            .with_header("x-vss-e2eid", uuid::Uuid::new_v4().to_string());
    }
    let token = pipelines_token(world, identity);
    EmuResponse::json(200, &json!({ "oidcToken": token }))
}

/// Payload of a token minted here, for tests.
pub fn payload(token: &str) -> Option<Value> {
    super::entra::decode_unverified(token).map(|(_, p)| p)
}
