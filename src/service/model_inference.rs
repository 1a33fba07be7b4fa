//! Foundry Models (`/models` on `https://ACCOUNT.services.ai.azure.com`): inference for
//! non-OpenAI models (DeepSeek, Llama, Mistral, …), gated by the `MaaS` data actions.
//!
//! The probe is `POST /models/chat/completions` with an empty JSON object: an authorized caller
//! gets a 400 (`Missed model deployment` [O], reference/foundry.md §3.3) before any model runs,
//! so it costs nothing; a caller without the data action gets 401 `PermissionDenied` naming
//! `…/MaaS/chat/completions/action` [O]. `GET /models/info` needs a deployment name and its data
//! action is not established [I], so it is not used.

use super::classify::Ctx;
use super::{ActionKind, CallOutcome, ProbeRequest, RequiredAction, join, json_headers};

pub const API_VERSION: &str = "2024-05-01-preview";
pub const OPERATION: &str = "POST /models/chat/completions";
pub const REQUIRED: RequiredAction = RequiredAction {
    action: "Microsoft.CognitiveServices/accounts/MaaS/chat/completions/action",
    kind: ActionKind::DataAction,
};

pub fn request(endpoint: &url::Url) -> ProbeRequest {
    ProbeRequest {
        method: "POST",
        url: join(
            endpoint,
            super::endpoint::own_path_prefixes(super::ServiceKind::ModelInference),
            &format!("/models/chat/completions?api-version={API_VERSION}"),
        ),
        headers: json_headers(),
        body: Some(b"{}".to_vec()),
        auth: super::AuthHeader::Bearer,
        api_version: API_VERSION,
    }
}

/// The empty request's validation answer is the proof of authorization.
pub(crate) fn classify(ctx: &Ctx) -> Option<CallOutcome> {
    let validation = ctx.status == 400
        && (ctx.contains("missed model deployment") || ctx.contains("model deployment"));
    validation.then(|| CallOutcome::Authorized {
        note: format!(
            "the service validated the empty request, which it does only after authorization \
             [O] ({}){}",
            ctx.seen(),
            super::classify::audience_used(ctx)
        ),
        findings: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use crate::service::test_support::*;
    use crate::service::{CallOutcome, Response, ServiceKind, classify};

    #[test]
    fn an_empty_chat_request_proves_authorization_without_running_a_model() {
        let t = target(
            ServiceKind::ModelInference,
            "https://fdy.services.ai.azure.com/",
        );
        let request = build(&t);
        assert_eq!(request.method, "POST");
        assert_eq!(
            request.url,
            "https://fdy.services.ai.azure.com/models/chat/completions?api-version=2024-05-01-preview"
        );
        assert_eq!(request.body.as_deref(), Some(&b"{}"[..]));
        let outcome = classify(
            &t,
            &Response {
                status: 400,
                headers: &[],
                body: br#"{"error":{"message":"Missed model deployment"}}"#,
            },
        );
        assert!(
            matches!(outcome, CallOutcome::Authorized { .. }),
            "{outcome:?}"
        );
    }
}
