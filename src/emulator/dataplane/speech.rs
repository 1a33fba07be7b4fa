//! Speech as the current Speech SDK reaches it on a custom domain (reference/foundry.md §6):
//! the SDK asks the custom domain where to go (`GET /tts/cognitiveservices/websocket/v1?
//! GenerateRedirectResponse=true`, sent without credentials; the answer is the regional URL
//! carrying `Ocp-Apim-Custom-Domain-Name`), then calls the regional host with a plain Entra
//! bearer and that parameter. Route and parameter are from the JS SDK's source and tests [D code];
//! that the redirect needs no credential follows from the SDK sending none [I].

use crate::emulator::cloud::{HostRole, TenantCloud};
use crate::emulator::scenario::{AccountKind, AccountSpec};
use crate::emulator::{EmuRequest, EmuResponse, World};

/// The query parameter that names the custom domain on a regional Speech host.
pub const CUSTOM_DOMAIN_PARAM: &str = "Ocp-Apim-Custom-Domain-Name";

const REDIRECT_PATH: &str = "/tts/cognitiveservices/websocket/v1";
/// Where the redirect points on the regional host (the SDK's tests show this form).
const REGIONAL_PATH: &str = "/cognitiveservices/websocket/v1";

fn serves_speech(account: &AccountSpec) -> bool {
    matches!(
        account.kind,
        AccountKind::SpeechServices | AccountKind::CognitiveServices | AccountKind::AIServices
    )
}

/// The redirect answer on a custom domain, when this is the SDK's redirect request: the
/// regional host and the custom domain in the names of `cloud`, the cloud it was asked in.
pub fn redirect(
    req: &EmuRequest,
    path: &str,
    account: &AccountSpec,
    cloud: TenantCloud,
) -> Option<EmuResponse> {
    let asked = req.method.eq_ignore_ascii_case("GET")
        && path
            .trim_end_matches('/')
            .eq_ignore_ascii_case(REDIRECT_PATH)
        && req
            .query_param("GenerateRedirectResponse")
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
    if !asked || !serves_speech(account) {
        return None;
    }
    let sub = account.subdomain()?;
    let tts = cloud.host_name(HostRole::SpeechTts)?;
    let domain = cloud.host_name(HostRole::CustomSubdomain)?;
    Some(EmuResponse::text(
        200,
        format!(
            "https://{}{tts}{REGIONAL_PATH}?{CUSTOM_DOMAIN_PARAM}={}{domain}",
            account.location.to_ascii_lowercase(),
            sub.to_ascii_lowercase()
        ),
    ))
}

/// The account a regional Speech request names with `Ocp-Apim-Custom-Domain-Name`: one with that
/// custom domain (in the names of `cloud`, the regional host's cloud), serving Speech, in the
/// host's region. A domain of another region is not served there [I].
pub fn account_by_custom_domain<'w>(
    world: &'w World,
    req: &EmuRequest,
    region: Option<&str>,
    cloud: TenantCloud,
) -> Option<&'w AccountSpec> {
    let domain = req
        .query_param(CUSTOM_DOMAIN_PARAM)?
        .trim()
        .to_ascii_lowercase();
    let sub = domain
        .strip_suffix(cloud.host_name(HostRole::CustomSubdomain)?)?
        .to_string();
    world.scenario.accounts.iter().find(|a| {
        serves_speech(a)
            && a.subdomain().is_some_and(|s| s.eq_ignore_ascii_case(&sub))
            && region.is_some_and(|r| r.eq_ignore_ascii_case(&a.location))
    })
}
