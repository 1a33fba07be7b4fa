//! Content Safety: list the text blocklists (an empty list proves access as well).

use super::{ActionKind, ProbeRequest, RequiredAction, accept_json, join};

pub const API_VERSION: &str = "2024-09-01";
pub const OPERATION: &str = "GET /contentsafety/text/blocklists";
pub const REQUIRED: RequiredAction = RequiredAction {
    action: "Microsoft.CognitiveServices/accounts/ContentSafety/text/blocklists/read",
    kind: ActionKind::DataAction,
};

pub fn request(endpoint: &url::Url) -> ProbeRequest {
    ProbeRequest {
        method: "GET",
        url: join(
            endpoint,
            super::endpoint::own_path_prefixes(super::ServiceKind::ContentSafety),
            &format!("/contentsafety/text/blocklists?api-version={API_VERSION}"),
        ),
        headers: accept_json(),
        body: None,
        auth: super::AuthHeader::Bearer,
        api_version: API_VERSION,
    }
}
