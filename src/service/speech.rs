//! Speech: list the text-to-speech voices with an Entra ID token, in the form the client a
//! user runs would send it (reference/foundry.md §6):
//!
//! - on a custom domain whose region is known (a scenario or discovered account, or `region=`),
//!   the current Speech SDK's form: a plain `Bearer` token on the region's text-to-speech host
//!   with `Ocp-Apim-Custom-Domain-Name={subdomain}.cognitiveservices.azure.com` (the SDK learns
//!   the region from the custom domain's redirect answer; the probe already knows it);
//! - otherwise the REST form, `Bearer aad#{resourceId}#{token}`: on the regional host for a
//!   regional endpoint, on the custom domain's own voices route when the region is unknown.

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

/// The query parameter by which the Speech SDK names a custom domain on a regional host.
pub const CUSTOM_DOMAIN_PARAM: &str = "Ocp-Apim-Custom-Domain-Name";

/// Which of Speech's token forms a probe of `target` sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Form {
    /// The Speech SDK's: plain bearer, regional host, `Ocp-Apim-Custom-Domain-Name`.
    Sdk {
        custom_domain: String,
        region: String,
    },
    /// The REST form `Bearer aad#{resourceId}#{token}`.
    Aad,
}

impl Form {
    pub fn describe(&self) -> String {
        match self {
            Form::Sdk {
                custom_domain,
                region,
            } => format!(
                "the Speech SDK's form: a plain Entra bearer on the {region} text-to-speech host \
                 with {CUSTOM_DOMAIN_PARAM}={custom_domain}"
            ),
            Form::Aad => "the REST form `Bearer aad#{resourceId}#{token}`".to_string(),
        }
    }
}

/// The form for `target` reached at an endpoint of `shape`.
pub fn form(target: &Target, shape: &EndpointShape, cloud: &ServiceCloud) -> Form {
    let region = target.region.as_deref().map(str::trim).unwrap_or_default();
    let is_label = !region.is_empty() && region.chars().all(|c| c.is_ascii_alphanumeric());
    match shape {
        EndpointShape::CustomSubdomain { subdomain } if is_label => Form::Sdk {
            custom_domain: format!(
                "{subdomain}.{}",
                cloud
                    .custom_subdomain_suffixes
                    .first()
                    .copied()
                    .unwrap_or_default()
            ),
            region: region.to_ascii_lowercase(),
        },
        _ => Form::Aad,
    }
}

/// The form a probe of `target` sends, from its endpoint alone (for wording findings).
pub fn form_of(target: &Target) -> Form {
    match super::endpoint::parse(target) {
        Ok(endpoint) => {
            let (shape, cloud) = super::endpoint::shape_and_cloud(&endpoint);
            form(target, &shape, &cloud)
        }
        Err(_) => Form::Aad,
    }
}

pub fn request(
    target: &Target,
    endpoint: &url::Url,
    shape: &EndpointShape,
    cloud: &ServiceCloud,
) -> Result<ProbeRequest, Vec<Finding>> {
    if let Form::Sdk {
        custom_domain,
        region,
    } = form(target, shape, cloud)
    {
        // Both parts are DNS labels and a fixed suffix: nothing to encode.
        let url = format!(
            "https://{}/cognitiveservices/voices/list?{CUSTOM_DOMAIN_PARAM}={custom_domain}",
            cloud.tts_host(&region)
        );
        return Ok(ProbeRequest {
            method: "GET",
            url,
            headers: accept_json(),
            body: None,
            auth: AuthHeader::Bearer,
            api_version: API_VERSION,
        });
    }
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
        // The custom-domain form (private-link doc path) [M], when the region is unknown.
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

/// Speech answers a rejected token with a bare 401 (no JSON), which says nothing by itself:
/// the finding names the form that was sent and what that form depends on.
pub(crate) fn classify(ctx: &Ctx) -> Option<CallOutcome> {
    if ctx.status != 401 || ctx.error.is_json {
        return None;
    }
    let form = form_of(ctx.target);
    let (depends, check) = match &form {
        Form::Sdk { custom_domain, .. } => (
            format!(
                "the region must be the account's own (a custom domain is served only by its \
                 region's host), `{custom_domain}` must be the account's custom domain, and the \
                 token's audience must be Cognitive Services"
            ),
            "Compare the region with `az cognitiveservices account show -n NAME -g RG --query \
             location -o tsv` and the custom domain with its `properties.customSubDomainName`"
                .to_string(),
        ),
        Form::Aad => (
            format!(
                "the resource id must be the account's own ARM id (configured: `{}`), the \
                 account must have a custom subdomain, and the token's audience must be \
                 Cognitive Services",
                super::endpoint::short(ctx.target.resource_id.as_deref().unwrap_or("none")),
            ),
            "Compare the resource id with `az cognitiveservices account show -n NAME -g RG \
             --query id -o tsv`, check that `properties.customSubDomainName` is set"
                .to_string(),
        ),
    };
    Some(CallOutcome::Denied {
        findings: vec![Finding::new(
            Code::TokenRejected,
            format!(
                "Speech rejected the token with a bare 401 ({}), sent in {}. With that form, {depends}. \
                 A missing role may answer the same way [L].",
                ctx.seen(),
                form.describe(),
            ),
            format!(
                "{check}, check the token's `aud` with `entraprobe token --credential ID`, and \
                 make sure {} is assigned on the account.",
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
    fn custom_domain_with_a_known_region_uses_the_sdk_form() {
        for endpoint in [
            "https://contoso-ai.cognitiveservices.azure.com/",
            "https://contoso-ai.services.ai.azure.com",
        ] {
            let mut t = target(ServiceKind::Speech, endpoint);
            t.region = Some("WestEurope".into());
            // No resource id needed: the SDK form names the account by its custom domain.
            let request = build(&t);
            assert_eq!(
                request.url,
                "https://westeurope.tts.speech.microsoft.com/cognitiveservices/voices/list?Ocp-Apim-Custom-Domain-Name=contoso-ai.cognitiveservices.azure.com",
                "{endpoint}"
            );
            assert_eq!(request.auth, AuthHeader::Bearer);
            assert!(matches!(super::form_of(&t), super::Form::Sdk { .. }));
        }
        // A region that is not a DNS label falls back to the REST form.
        let mut t = speech("https://contoso-ai.cognitiveservices.azure.com/");
        t.region = Some("west europe".into());
        assert!(matches!(build(&t).auth, AuthHeader::SpeechAad { .. }));
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
