//! `azure-cli`: `az account get-access-token` through azure_identity's AzureCliCredential, run
//! with the environment snapshot (so PATH is the snapshot's) and under the tool's deadline.

use super::errors::FailureContext;
use super::process::{SnapshotExecutor, find_on_path};
use super::{Acquisition, CredentialContext, SourceId, get_token_with_deadline};
use crate::diagnosis::{Code, Finding};
use azure_identity::{AzureCliCredential, AzureCliCredentialOptions};
use std::sync::Arc;

pub(super) async fn acquire(scope: &str, ctx: &CredentialContext) -> Acquisition {
    const SOURCE: SourceId = SourceId::AzureCli;
    if find_on_path(&ctx.env, "az").is_none() {
        return Acquisition::Skipped {
            reason: "az is not installed (not on PATH)".into(),
            findings: vec![Finding::new(
                Code::CliNotInstalled,
                format!("{SOURCE}: az was not found on PATH"),
                "install the Azure CLI (https://aka.ms/azure-cli) and run `az login`, or leave this source out with --credential",
            )],
        };
    }
    let options = AzureCliCredentialOptions {
        executor: Some(Arc::new(SnapshotExecutor {
            env: ctx.env.clone(),
        })),
        ..Default::default()
    };
    let credential = match AzureCliCredential::new(Some(options)) {
        Ok(c) => c,
        Err(e) => {
            return super::errors::classify(
                &super::errors::error_text(&e),
                &FailureContext::new(SOURCE, ctx.cloud),
            );
        }
    };
    get_token_with_deadline(
        SOURCE,
        credential.as_ref(),
        scope,
        ctx,
        None,
        &FailureContext::new(SOURCE, ctx.cloud),
    )
    .await
}
