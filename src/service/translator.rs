//! Translator: translate one word. On the custom subdomain a bearer token is enough; the global
//! host (and a regional account, whose text API it serves) also needs `Ocp-Apim-ResourceId`
//! and, for a regional resource, `Ocp-Apim-Subscription-Region`.

use super::classify::{CallOutcome, Ctx};
use super::endpoint::{
    EndpointShape, ServiceCloud, shape_in_any_cloud, translator_resource_id_problem,
    translator_uses_global_host,
};
use super::{ActionKind, ProbeRequest, RequiredAction, Target, join, json_headers};
use crate::diagnosis::{Code, Finding};

pub const API_VERSION: &str = "3.0";
pub const OPERATION: &str = "POST /translate";
pub const REQUIRED: RequiredAction = RequiredAction {
    action: "Microsoft.CognitiveServices/accounts/TextTranslation/translate/action",
    kind: ActionKind::DataAction,
};
pub const BODY: &str = r#"[{"Text":"hola"}]"#;

pub fn request(
    target: &Target,
    endpoint: &url::Url,
    shape: &EndpointShape,
    cloud: &ServiceCloud,
) -> Result<ProbeRequest, Vec<Finding>> {
    let query = format!("?api-version={API_VERSION}&to=en");
    let mut headers = json_headers();
    let url = if translator_uses_global_host(shape) {
        if let Some(problem) = translator_resource_id_problem(target, shape, cloud) {
            return Err(vec![problem]);
        }
        let resource_id = target.resource_id.as_deref().unwrap_or_default().trim();
        headers.push(("Ocp-Apim-ResourceId".to_string(), resource_id.to_string()));
        let region = configured_region(target).or(match shape {
            EndpointShape::Regional { region } => Some(region.as_str()),
            _ => None,
        });
        if let Some(region) = region {
            headers.push((
                "Ocp-Apim-Subscription-Region".to_string(),
                region.to_string(),
            ));
        }
        match shape {
            EndpointShape::TranslatorGlobal => join(endpoint, &[], &format!("/translate{query}")),
            _ => format!("https://{}/translate{query}", cloud.translator_global_host),
        }
    } else {
        join(
            endpoint,
            super::endpoint::own_path_prefixes(super::ServiceKind::Translator),
            &format!("/translator/text/v3.0/translate{query}"),
        )
    };
    Ok(ProbeRequest {
        method: "POST",
        url,
        headers,
        body: Some(BODY.as_bytes().to_vec()),
        auth: super::AuthHeader::Bearer,
        api_version: API_VERSION,
    })
}

fn configured_region(target: &Target) -> Option<&str> {
    target
        .region
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
}

/// Translator's own numeric error codes (translator `status-response-codes.md`).
pub(crate) fn classify(ctx: &Ctx) -> Option<CallOutcome> {
    let code = ctx.error.code.as_deref()?;
    match code {
        "401000" => {
            let global = translator_uses_global_host(&shape_in_any_cloud(ctx.target));
            let (message, remedy) = if global && configured_region(ctx.target).is_none() {
                (
                    format!(
                        "Translator's global host rejected the credentials ({}). With an Entra \
                         ID token it identifies the resource by `Ocp-Apim-ResourceId` and, for \
                         a resource that is not `global`, by `Ocp-Apim-Subscription-Region`, \
                         which was not sent because no region is configured.",
                        ctx.seen()
                    ),
                    format!(
                        "Add `region=LOCATION` (the account's location, e.g. `westeurope`) to the \
                         service, or use the account's custom subdomain endpoint (`{}`), which \
                         needs neither header.",
                        ctx.cloud().account_endpoint("NAME")
                    ),
                )
            } else if global {
                (
                    format!(
                        "Translator's global host rejected the credentials ({}). The token, the \
                         `Ocp-Apim-ResourceId` (`{}`) and the region (`{}`) must all belong to \
                         the same Translator resource.",
                        ctx.seen(),
                        super::endpoint::short(ctx.target.resource_id.as_deref().unwrap_or("none")),
                        configured_region(ctx.target).unwrap_or_default()
                    ),
                    "Check the resource id and region against `az cognitiveservices account show \
                     -n NAME -g RG --query \"{id:id,location:location}\"`, and the token's `aud` and \
                     `tid` with `entraprobe token --credential ID`; or use the custom subdomain \
                     endpoint."
                        .to_string(),
                )
            } else {
                (
                    format!(
                        "Translator rejected the token as missing or invalid ({}).",
                        ctx.seen()
                    ),
                    "Check the token's `aud` (Cognitive Services), `exp` and `tid` with \
                     `entraprobe token --credential ID`."
                        .to_string(),
                )
            };
            Some(CallOutcome::Denied {
                findings: vec![Finding::new(Code::TokenRejected, message, remedy)],
            })
        }
        "401015" => Some(CallOutcome::Denied {
            findings: vec![Finding::new(
                Code::TokenRejected,
                format!(
                    "Translator says the credentials belong to a Speech resource ({}).",
                    ctx.seen()
                ),
                "Point the service at the Translator account (its endpoint and resource id), not \
                 at a Speech account.",
            )],
        }),
        "403000" => Some(CallOutcome::Denied {
            findings: vec![Finding::new(
                Code::PermissionDenied,
                format!(
                    "Translator refused the operation ({}); the call needs the data action `{}`.",
                    ctx.seen(),
                    REQUIRED.action
                ),
                ctx.role_remedy(),
            )],
        }),
        // Free-tier quota exhausted. That this comes after authorization is an inference [M], and
        // like a 429 it decides nothing: diagnosis asks the RBAC evidence instead.
        "403001" => Some(CallOutcome::Inconclusive {
            findings: vec![Finding::new(
                Code::Throttled,
                format!(
                    "Translator answered that the free-tier quota is used up ({}) before saying \
                     whether this identity may call it.",
                    ctx.seen()
                ),
                "Retry when the quota resets, or move the resource to a paid tier (S1).",
            )],
        }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use crate::diagnosis::Code;
    use crate::service::test_support::*;
    use crate::service::{AuthHeader, ServiceKind, build_request};

    #[test]
    fn custom_domain_needs_no_extra_headers() {
        for endpoint in [
            "https://contoso-ai.cognitiveservices.azure.com",
            "https://contoso-ai.cognitiveservices.azure.com/",
            "https://contoso-ai.cognitiveservices.azure.com/translator/text/v3.0/",
        ] {
            let request = build(&target(ServiceKind::Translator, endpoint));
            assert_eq!(request.method, "POST");
            assert_eq!(
                request.url,
                "https://contoso-ai.cognitiveservices.azure.com/translator/text/v3.0/translate?api-version=3.0&to=en"
            );
            assert_eq!(
                request.body.as_deref(),
                Some(br#"[{"Text":"hola"}]"#.as_slice())
            );
            assert_eq!(header(&request, "ocp-apim-resourceid"), None);
            assert_eq!(header(&request, "ocp-apim-subscription-region"), None);
            assert_eq!(request.auth, AuthHeader::Bearer);
        }
    }

    #[test]
    fn global_host_sends_resource_id_and_region_when_known() {
        let mut t = target(
            ServiceKind::Translator,
            "https://api.cognitive.microsofttranslator.com/",
        );
        t.resource_id = Some(ACCOUNT_ID.into());
        let no_region = build(&t);
        assert_eq!(
            no_region.url,
            "https://api.cognitive.microsofttranslator.com/translate?api-version=3.0&to=en"
        );
        assert_eq!(header(&no_region, "ocp-apim-resourceid"), Some(ACCOUNT_ID));
        assert_eq!(header(&no_region, "ocp-apim-subscription-region"), None);
        t.region = Some("westeurope".into());
        let with_region = build(&t);
        assert_eq!(
            header(&with_region, "ocp-apim-subscription-region"),
            Some("westeurope")
        );
    }

    #[test]
    fn regional_account_endpoint_goes_to_the_global_host_with_its_region() {
        let mut t = target(
            ServiceKind::Translator,
            "https://westeurope.api.cognitive.microsoft.com/",
        );
        t.resource_id = Some(ACCOUNT_ID.into());
        let request = build(&t);
        assert_eq!(
            request.url,
            "https://api.cognitive.microsofttranslator.com/translate?api-version=3.0&to=en"
        );
        assert_eq!(
            header(&request, "ocp-apim-subscription-region"),
            Some("westeurope")
        );
        assert_eq!(header(&request, "ocp-apim-resourceid"), Some(ACCOUNT_ID));
    }

    #[test]
    fn global_host_without_resource_id_is_not_probed() {
        let t = target(
            ServiceKind::Translator,
            "https://api.cognitive.microsofttranslator.com",
        );
        let findings = build_request(&t).unwrap_err();
        assert_eq!(findings[0].code, Code::RegionalEndpoint);
        assert!(findings[0].remedy.contains("Ocp-Apim-ResourceId"));
    }
}
