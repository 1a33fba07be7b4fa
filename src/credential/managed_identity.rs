//! `managed-identity`: IMDS (VM, VMSS, AKS) or the App Service / Functions / Container Apps
//! endpoint, through azure_identity's ManagedIdentityCredential.
//!
//! azure_identity retries IMDS for about 100 s when nothing answers, so the tool first sends its
//! own one-second probe (a GET without the `Metadata` header, as the other SDKs do) and skips the
//! row when nothing is there. With `IDENTITY_ENDPOINT` + `IDENTITY_HEADER` set it is App Service
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
    let options = ManagedIdentityCredentialOptions {
        user_assigned_id: ctx.user_assigned.as_ref().map(|s| match s {
            UserAssignedSelector::ClientId(id) => UserAssignedId::ClientId(id.clone()),
            UserAssignedSelector::ObjectId(id) => UserAssignedId::ObjectId(id.clone()),
            UserAssignedSelector::ResourceId(id) => UserAssignedId::ResourceId(id.clone()),
        }),
        client_options: ctx.client_options(),
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
    get_token_with_deadline(SOURCE, credential.as_ref(), scope, ctx, &failure).await
}

/// Is an IMDS there? Any HTTP answer says yes, except the answers a forward proxy gives when it
/// cannot reach the address itself (407, 502, 504): those mean the probe never got to IMDS.
async fn probe_imds(http: &reqwest::Client) -> Result<(), String> {
    let answer = http.get(IMDS_TOKEN_URL).timeout(PROBE_TIMEOUT).send().await;
    match answer {
        Ok(rsp) => match rsp.status().as_u16() {
            407 | 502 | 504 => Err(format!(
                "no managed identity endpoint: the probe of 169.254.169.254 got HTTP {} from a proxy, not from IMDS",
                rsp.status().as_u16()
            )),
            _ => Ok(()),
        },
        Err(e) if e.is_timeout() => Err(format!(
            "no managed identity endpoint: 169.254.169.254 did not answer within {} s",
            PROBE_TIMEOUT.as_secs()
        )),
        Err(_) => Err(
            "no managed identity endpoint: 169.254.169.254 refused or could not be reached"
                .to_string(),
        ),
    }
}
