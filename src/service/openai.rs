//! Azure OpenAI: list the models the account can serve, on the dated API
//! (`/openai/models?api-version=…`) or on the v1 API (`/openai/v1/models`, no api-version).

use super::{ActionKind, ProbeRequest, RequiredAction, Target, accept_json, join};

pub const API_VERSION: &str = "2024-10-21";
pub const OPERATION: &str = "GET /openai/models";
/// The v1 API takes no dated api-version (a dated one is a 400 there [O]); `v1` is its name.
pub const V1_API_VERSION: &str = "v1";
pub const V1_OPERATION: &str = "GET /openai/v1/models";
// The URL→action mapping is [M] (reference/data-actions.md §2 row 1); for the v1 route it is
// inferred [I] (reference/foundry.md §3.2: the action string appears only in custom roles). A
// denial quotes the action the service names, so the message stays true either way.
pub const REQUIRED: RequiredAction = RequiredAction {
    action: "Microsoft.CognitiveServices/accounts/OpenAI/models/read",
    kind: ActionKind::DataAction,
};

/// The endpoint paths that select the v1 API: given explicitly, or implied by the Foundry
/// services host (`*.services.ai.azure.com`), where the dated routes answered 404 [O].
pub fn is_v1_endpoint(endpoint: &str) -> bool {
    let Ok(url) = url::Url::parse(endpoint.trim()) else {
        return false;
    };
    let path = url.path().trim_end_matches('/').to_ascii_lowercase();
    let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
    path.ends_with("/openai/v1")
        || host
            .trim_end_matches('.')
            .ends_with(".services.ai.azure.com")
}

pub fn request(target: &Target, endpoint: &url::Url) -> ProbeRequest {
    let prefixes = super::endpoint::own_path_prefixes(super::ServiceKind::Openai);
    let (relative, api_version) = if target.uses_openai_v1() {
        ("/openai/v1/models".to_string(), V1_API_VERSION)
    } else {
        (
            format!("/openai/models?api-version={API_VERSION}"),
            API_VERSION,
        )
    };
    ProbeRequest {
        method: "GET",
        url: join(endpoint, prefixes, &relative),
        headers: accept_json(),
        body: None,
        auth: super::AuthHeader::Bearer,
        api_version,
    }
}

#[cfg(test)]
mod tests {
    use crate::service::ServiceKind;
    use crate::service::test_support::*;

    #[test]
    fn the_v1_api_is_chosen_by_path_or_by_the_services_host() {
        for (endpoint, url) in [
            (
                "https://oai.openai.azure.com/openai/v1/",
                "https://oai.openai.azure.com/openai/v1/models",
            ),
            (
                "https://fdy.services.ai.azure.com/",
                "https://fdy.services.ai.azure.com/openai/v1/models",
            ),
            (
                "https://fdy.cognitiveservices.azure.com/openai/v1",
                "https://fdy.cognitiveservices.azure.com/openai/v1/models",
            ),
            (
                "https://oai.openai.azure.com/",
                "https://oai.openai.azure.com/openai/models?api-version=2024-10-21",
            ),
        ] {
            let t = target(ServiceKind::Openai, endpoint);
            let request = build(&t);
            assert_eq!(request.url, url, "{endpoint}");
            let v1 = url.contains("/v1/");
            assert_eq!(request.api_version, if v1 { "v1" } else { "2024-10-21" });
            assert_eq!(ServiceKind::Openai.api_version_for(&t), request.api_version);
            let expected_op = if v1 {
                "GET /openai/v1/models"
            } else {
                "GET /openai/models"
            };
            assert_eq!(ServiceKind::Openai.operation(&t), expected_op);
        }
    }
}
