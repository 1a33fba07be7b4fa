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
            &["/tts/cognitiveservices", "/tts"],
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
                 token's audience must be Cognitive Services.",
                ctx.seen(),
                super::endpoint::short(ctx.target.resource_id.as_deref().unwrap_or("none")),
            ),
            "Compare the resource id with `az cognitiveservices account show -n NAME -g RG \
             --query id -o tsv`, check that `properties.customSubDomainName` is set, and check the \
             token's `aud` with `entraprobe token --credential ID`.",
        )],
    })
}
