//! `azure-developer-cli`: `azd auth token` through azure_identity's AzureDeveloperCliCredential,
//! run with the environment snapshot and under the tool's deadline.

use super::errors::FailureContext;
use super::process::{SnapshotExecutor, find_on_path};
use super::{Acquisition, CredentialContext, SourceId, get_token_with_deadline};
use crate::diagnosis::{Code, Finding};
use azure_identity::{AzureDeveloperCliCredential, AzureDeveloperCliCredentialOptions};
use std::sync::Arc;

pub(super) async fn acquire(scope: &str, ctx: &CredentialContext) -> Acquisition {
    const SOURCE: SourceId = SourceId::AzureDeveloperCli;
    if find_on_path(&ctx.env, "azd").is_none() {
        return Acquisition::Skipped {
            reason: "azd is not installed (not on PATH)".into(),
            findings: vec![Finding::new(
                Code::CliNotInstalled,
                format!("{SOURCE}: azd was not found on PATH"),
                "install the Azure Developer CLI (https://aka.ms/azd) and run `azd auth login`, or leave this source out with --credential",
            )],
        };
    }
    let options = AzureDeveloperCliCredentialOptions {
        executor: Some(Arc::new(SnapshotExecutor {
            env: ctx.env.clone(),
        })),
        ..Default::default()
    };
    let failure = FailureContext::new(SOURCE, ctx.cloud);
    let credential = match AzureDeveloperCliCredential::new(Some(options)) {
        Ok(c) => c,
        Err(e) => return super::errors::classify(&super::errors::error_text(&e), &failure),
    };
    get_token_with_deadline(SOURCE, credential.as_ref(), scope, ctx, None, &failure).await
}
