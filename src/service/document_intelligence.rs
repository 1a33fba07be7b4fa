//! Document Intelligence: read the resource info (model counts and limits).

use super::{ActionKind, ProbeRequest, RequiredAction, accept_json, join};

pub const API_VERSION: &str = "2024-11-30";
pub const OPERATION: &str = "GET /documentintelligence/info";
// Two operations carry the same description ("Return basic info about the current resource"):
// `FormRecognizer/info/read` and `FormRecognizer/management/get/info/read`; which one this
// api-version checks is undocumented [L]. Every built-in role that grants one grants both.
pub const REQUIRED: RequiredAction = RequiredAction {
    action: "Microsoft.CognitiveServices/accounts/FormRecognizer/info/read",
    kind: ActionKind::DataAction,
};

pub fn request(endpoint: &url::Url) -> ProbeRequest {
    ProbeRequest {
        method: "GET",
        url: join(
            endpoint,
            super::endpoint::own_path_prefixes(super::ServiceKind::DocumentIntelligence),
            &format!("/documentintelligence/info?api-version={API_VERSION}"),
        ),
        headers: accept_json(),
        body: None,
        auth: super::AuthHeader::Bearer,
        api_version: API_VERSION,
    }
}
