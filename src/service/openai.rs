//! Azure OpenAI: list the models the account can serve.

use super::{ActionKind, ProbeRequest, RequiredAction, accept_json, join};

pub const API_VERSION: &str = "2024-10-21";
pub const OPERATION: &str = "GET /openai/models";
// The URL→action mapping is [M] (reference/data-actions.md §2 row 1).
pub const REQUIRED: RequiredAction = RequiredAction {
    action: "Microsoft.CognitiveServices/accounts/OpenAI/models/read",
    kind: ActionKind::DataAction,
};

pub fn request(endpoint: &url::Url) -> ProbeRequest {
    ProbeRequest {
        method: "GET",
        url: join(
            endpoint,
            super::endpoint::own_path_prefixes(super::ServiceKind::Openai),
            &format!("/openai/models?api-version={API_VERSION}"),
        ),
        headers: accept_json(),
        body: None,
        auth: super::AuthHeader::Bearer,
        api_version: API_VERSION,
    }
}
