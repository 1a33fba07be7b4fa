//! Computer Vision: list the domain-specific models (a free GET).

use super::{ActionKind, ProbeRequest, RequiredAction, accept_json, join};

/// v3.2 is in the path; the call takes no `api-version` parameter.
pub const API_VERSION: &str = "v3.2";
pub const OPERATION: &str = "GET /vision/v3.2/models";
pub const REQUIRED: RequiredAction = RequiredAction {
    action: "Microsoft.CognitiveServices/accounts/ComputerVision/models/read",
    kind: ActionKind::DataAction,
};

pub fn request(endpoint: &url::Url) -> ProbeRequest {
    ProbeRequest {
        method: "GET",
        url: join(
            endpoint,
            super::endpoint::own_path_prefixes(super::ServiceKind::Vision),
            "/vision/v3.2/models",
        ),
        headers: accept_json(),
        body: None,
        auth: super::AuthHeader::Bearer,
        api_version: API_VERSION,
    }
}
