//! Language: detect the language of one word (the smallest synchronous analyze-text task).

use super::{ActionKind, ProbeRequest, RequiredAction, join, json_headers};

pub const API_VERSION: &str = "2023-04-01";
pub const OPERATION: &str = "POST /language/:analyze-text";
pub const REQUIRED: RequiredAction = RequiredAction {
    action: "Microsoft.CognitiveServices/accounts/Language/analyze-text/action",
    kind: ActionKind::DataAction,
};
pub const BODY: &str = r#"{"kind":"LanguageDetection","parameters":{"modelVersion":"latest"},"analysisInput":{"documents":[{"id":"1","text":"hello"}]}}"#;

pub fn request(endpoint: &url::Url) -> ProbeRequest {
    ProbeRequest {
        method: "POST",
        url: join(
            endpoint,
            super::endpoint::own_path_prefixes(super::ServiceKind::Language),
            &format!("/language/:analyze-text?api-version={API_VERSION}"),
        ),
        headers: json_headers(),
        body: Some(BODY.as_bytes().to_vec()),
        auth: super::AuthHeader::Bearer,
        api_version: API_VERSION,
    }
}

#[cfg(test)]
mod tests {
    use crate::service::test_support::*;
    use crate::service::{AuthHeader, ServiceKind};

    #[test]
    fn posts_the_tiny_language_detection_document() {
        for endpoint in [
            "https://contoso-ai.cognitiveservices.azure.com/",
            "https://contoso-ai.cognitiveservices.azure.com/language",
        ] {
            let request = build(&target(ServiceKind::Language, endpoint));
            assert_eq!(request.method, "POST");
            assert_eq!(
                request.url,
                "https://contoso-ai.cognitiveservices.azure.com/language/:analyze-text?api-version=2023-04-01"
            );
            assert_eq!(
                request.body.as_deref(),
                Some(br#"{"kind":"LanguageDetection","parameters":{"modelVersion":"latest"},"analysisInput":{"documents":[{"id":"1","text":"hello"}]}}"#.as_slice())
            );
            assert_eq!(header(&request, "content-type"), Some("application/json"));
            assert_eq!(request.auth, AuthHeader::Bearer);
        }
    }
}
