//! Speech: list the text-to-speech voices with `Bearer aad#{resourceId}#{token}`, the only form
//! in which the Speech REST API takes a Microsoft Entra ID token.

use super::classify::{CallOutcome, Ctx};
use super::endpoint::{EndpointShape, ServiceCloud, speech_resource_id_problem};
use super::{ActionKind, AuthHeader, ProbeRequest, RequiredAction, Target, accept_json, join};
use crate::diagnosis::{Code, Finding};

/// The voices list has no `api-version` parameter; "v1" is the text-to-speech REST version.
pub const API_VERSION: &str = "v1";
pub const OPERATION: &str = "GET /cognitiveservices/voices/list";
// Unconfirmed [L]: no "voices" data action is documented; `unified-speech/frontend/action` is
// the most likely candidate (reference/data-actions.md §2 row 4).
pub const REQUIRED: RequiredAction = RequiredAction {
    action: "Microsoft.CognitiveServices/accounts/SpeechServices/unified-speech/frontend/action",
    kind: ActionKind::DataAction,
};

pub fn request(
    target: &Target,
    endpoint: &url::Url,
    shape: &EndpointShape,
    cloud: &ServiceCloud,
) -> Result<ProbeRequest, Vec<Finding>> {
    if let Some(problem) = speech_resource_id_problem(target) {
        return Err(vec![problem]);
    }
    let resource_id = target.resource_id.as_deref().unwrap_or_default().trim();
    let url = match shape {
        // A regional account endpoint or a Speech host: the voices list lives on the region's
        // text-to-speech host.
        EndpointShape::Regional { region } | EndpointShape::SpeechRegional { region } => {
            format!(
                "https://{}/cognitiveservices/voices/list",
                cloud.tts_host(region)
            )
        }
        // The custom-domain form (private-link doc path) [M].
        _ => join(
            endpoint,
            super::endpoint::own_path_prefixes(super::ServiceKind::Speech),
            "/tts/cognitiveservices/voices/list",
        ),
    };
    Ok(ProbeRequest {
        method: "GET",
        url,
        headers: accept_json(),
        body: None,
        auth: AuthHeader::SpeechAad {
            resource_id: resource_id.to_string(),
        },
        api_version: API_VERSION,
    })
}

/// Speech answers a rejected token with a bare 401 (no JSON), which says nothing by itself.
pub(crate) fn classify(ctx: &Ctx) -> Option<CallOutcome> {
    if ctx.status != 401 || ctx.error.is_json {
        return None;
    }
    Some(CallOutcome::Denied {
        findings: vec![Finding::new(
            Code::TokenRejected,
            format!(
                "Speech rejected the token with a bare 401 ({}). Speech checks the whole \
                 `aad#{{resourceId}}#{{token}}` value: the resource id must be the account's own \
                 ARM id (configured: `{}`), the account must have a custom subdomain, and the \
                 token's audience must be Cognitive Services. A missing role may answer the same \
                 way [L].",
                ctx.seen(),
                super::endpoint::short(ctx.target.resource_id.as_deref().unwrap_or("none")),
            ),
            format!(
                "Compare the resource id with `az cognitiveservices account show -n NAME -g RG \
                 --query id -o tsv`, check that `properties.customSubDomainName` is set, check \
                 the token's `aud` with `entraprobe token --credential ID`, and make sure {} is \
                 assigned on the account.",
                ctx.target.kind.granting_roles(ctx.target)
            ),
        )],
    })
}

#[cfg(test)]
mod tests {
    use crate::diagnosis::Code;
    use crate::service::test_support::*;
    use crate::service::{AuthHeader, ServiceKind, build_request};

    fn speech(endpoint: &str) -> crate::service::Target {
        let mut t = target(ServiceKind::Speech, endpoint);
        t.resource_id = Some(ACCOUNT_ID.into());
        t
    }

    #[test]
    fn custom_domain_uses_the_tts_path_with_the_aad_form() {
        for endpoint in [
            "https://contoso-ai.cognitiveservices.azure.com",
            "https://contoso-ai.cognitiveservices.azure.com/",
            "https://contoso-ai.cognitiveservices.azure.com/tts/cognitiveservices/",
        ] {
            let request = build(&speech(endpoint));
            assert_eq!(request.method, "GET");
            assert_eq!(
                request.url,
                "https://contoso-ai.cognitiveservices.azure.com/tts/cognitiveservices/voices/list"
            );
            assert_eq!(
                request.auth,
                AuthHeader::SpeechAad {
                    resource_id: ACCOUNT_ID.into()
                }
            );
        }
    }

    #[test]
    fn regional_forms_use_the_regions_tts_host() {
        for endpoint in [
            "https://westeurope.api.cognitive.microsoft.com/",
            "https://westeurope.tts.speech.microsoft.com",
            "https://westeurope.stt.speech.microsoft.com/speech/recognition",
        ] {
            assert_eq!(
                build(&speech(endpoint)).url,
                "https://westeurope.tts.speech.microsoft.com/cognitiveservices/voices/list",
                "{endpoint}"
            );
        }
        let gov =
            build_request(&speech("https://usgovarizona.api.cognitive.microsoft.us/")).unwrap();
        assert_eq!(
            gov.url,
            "https://usgovarizona.tts.speech.azure.us/cognitiveservices/voices/list"
        );
    }

    #[test]
    fn no_request_without_the_resource_id() {
        let t = target(
            ServiceKind::Speech,
            "https://contoso-ai.cognitiveservices.azure.com/",
        );
        let findings = build_request(&t).unwrap_err();
        assert_eq!(findings.len(), 1);
        assert_eq!(findings[0].code, Code::SpeechResourceIdMissing);
        let mut blank = t.clone();
        blank.resource_id = Some("  ".into());
        assert!(build_request(&blank).is_err());
    }
}
