//! `managed-identity`: IMDS (VM, VMSS, AKS) or the App Service / Functions / Container Apps
//! endpoint, through azure_identity's ManagedIdentityCredential.
//!
//! azure_identity retries IMDS for about 100 s when nothing answers, so the tool first sends its
//! own one-second probe (a GET without the `Metadata` header, as the other SDKs do) and skips the
//! row when nothing is there, or when what answers is not IMDS (a firewall's HTML page). With `IDENTITY_ENDPOINT` + `IDENTITY_HEADER` set it is App Service
//! and there is no probe. Note: azure_identity 1.0 reads those two variables from the process
//! environment itself, not from the snapshot (they are the same outside tests).

use super::errors::{self, FailureContext};
use super::{
    Acquisition, CredentialContext, SourceId, UserAssignedSelector, get_token_with_deadline,
};
use crate::diagnosis::{Code, Finding};
use azure_identity::{ManagedIdentityCredential, ManagedIdentityCredentialOptions, UserAssignedId};
use std::time::Duration;

pub const IMDS_TOKEN_URL: &str = "http://169.254.169.254/metadata/identity/oauth2/token";
const PROBE_TIMEOUT: Duration = Duration::from_secs(1);

pub(super) async fn acquire(scope: &str, ctx: &CredentialContext) -> Acquisition {
    const SOURCE: SourceId = SourceId::ManagedIdentity;
    if let Some(header) = ctx.var("IDENTITY_HEADER") {
        crate::redact::register(header);
    }
    let app_service =
        ctx.var("IDENTITY_ENDPOINT").is_some() && ctx.var("IDENTITY_HEADER").is_some();
    let other_endpoint =
        ctx.var("IDENTITY_ENDPOINT").is_some() || ctx.var("MSI_ENDPOINT").is_some();
    if !app_service
        && !other_endpoint
        && let Err(reason) = ctx
            .imds_probe
            .get_or_init(|| probe_imds(&ctx.http))
            .await
            .clone()
    {
        return Acquisition::Skipped {
            findings: vec![Finding::new(
                Code::ImdsUnreachable,
                format!("{SOURCE}: {reason}"),
                "nothing to do on a machine without managed identity; on an Azure VM, VMSS or AKS node, check that 169.254.169.254 is reachable (and listed in NO_PROXY when a proxy is set)",
            )],
            reason,
        };
    }

    let mut failure = FailureContext::new(SOURCE, ctx.cloud);
    failure.user_assigned = ctx.user_assigned.as_ref();
    let wire = ctx.token_transport();
    let options = ManagedIdentityCredentialOptions {
        user_assigned_id: ctx.user_assigned.as_ref().map(|s| match s {
            UserAssignedSelector::ClientId(id) => UserAssignedId::ClientId(id.clone()),
            UserAssignedSelector::ObjectId(id) => UserAssignedId::ObjectId(id.clone()),
            UserAssignedSelector::ResourceId(id) => UserAssignedId::ResourceId(id.clone()),
        }),
        client_options: ctx.client_options(&wire),
    };
    let credential = match ManagedIdentityCredential::new(Some(options)) {
        Ok(c) => c,
        Err(e) => {
            let text = errors::condensed(&errors::error_text(&e));
            let remedy = if text.contains("resource IDs aren't supported") {
                "on App Service, select the user-assigned identity by client id or object id"
            } else {
                "this managed identity environment (Azure Arc, Cloud Shell, Azure ML, Service Fabric) is not supported by azure_identity 1.0; test the identity from a VM, AKS or App Service"
            };
            return Acquisition::failed(Finding::new(
                Code::TokenRequestFailed,
                format!("{SOURCE}: {text}"),
                remedy,
            ));
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

/// The most of the probe's answer that is read: IMDS's error bodies are under 200 bytes.
const PROBE_BODY_LIMIT: usize = 4 * 1024;

/// Is an IMDS there? Only an IMDS-shaped answer says yes: its flat JSON error
/// (`{"error":"bad_request_102","error_description":…}`, the usual answer to a probe without the
/// Metadata header), a token, or its `Server: IMDS/…` header. A firewall's HTML 403 page, or a
/// forward proxy's 407/502/504 for an address it cannot reach, means the probe never got to IMDS.
async fn probe_imds(http: &reqwest::Client) -> Result<(), String> {
    let answer = tokio::time::timeout(PROBE_TIMEOUT, async {
        let rsp = crate::http::send(http.get(IMDS_TOKEN_URL).timeout(PROBE_TIMEOUT)).await?;
        let status = rsp.status().as_u16();
        let server = rsp
            .headers()
            .get(reqwest::header::SERVER)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let body = crate::http::read_body_capped(rsp, PROBE_BODY_LIMIT).await;
        Ok::<_, reqwest::Error>((status, server, body.ok()))
    })
    .await;
    match answer {
        Ok(Ok((status, server, body))) => {
            if server.starts_with("IMDS/") || body.as_deref().is_some_and(is_imds_shaped) {
                Ok(())
            } else {
                Err(format!(
                    "no managed identity endpoint: 169.254.169.254 answered HTTP {status}, but not as IMDS does (no IMDS JSON error or token; a proxy or firewall answered)"
                ))
            }
        }
        Ok(Err(e)) if !e.is_timeout() => Err(
            "no managed identity endpoint: 169.254.169.254 refused or could not be reached"
                .to_string(),
        ),
        _ => Err(format!(
            "no managed identity endpoint: 169.254.169.254 did not answer within {} s",
            PROBE_TIMEOUT.as_secs()
        )),
    }
}

/// IMDS answers JSON objects: a token (`access_token`) or a flat error (`error` as a string,
/// with `error_description`). Anything else came from something other than IMDS.
fn is_imds_shaped(body: &[u8]) -> bool {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(body)
    else {
        return false;
    };
    map.get("access_token").is_some_and(|v| v.is_string())
        || map.get("error").is_some_and(|v| v.is_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_imds_shaped_bodies_count_as_imds() {
        assert!(is_imds_shaped(
            br#"{"error":"bad_request_102","error_description":"Required metadata header not specified"}"#
        ));
        assert!(is_imds_shaped(
            br#"{"error":"invalid_request","error_description":"Identity not found"}"#
        ));
        assert!(is_imds_shaped(br#"{"access_token":"x","expires_on":"1"}"#));
        assert!(!is_imds_shaped(
            b"<html><body><h1>403 Forbidden</h1></body></html>"
        ));
        assert!(!is_imds_shaped(b""));
        // ARM's nested error shape is not IMDS's.
        assert!(!is_imds_shaped(
            br#"{"error":{"code":"Forbidden","message":"no"}}"#
        ));
    }
}
