use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::*;
use crate::emulator::Scenario;

const TENANT: &str = "0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11";
const SUB: &str = "5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f";

const SCENARIO: &str = r#"
[tenant]
id = "0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11"
subscription = "5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f"

[[identity]]
name = "alice"
type = "user"
upn = "alice@contoso.com"

[[identity]]
name = "ci-app"
type = "service_principal"

[[identity]]
name = "vm-mi"
type = "managed_identity"

[[identity]]
name = "bob"
type = "user"

[[identity]]
name = "guest-app"
type = "service_principal"
home_tenant = "aaaabbbb-0000-cccc-1111-dddd2222eeee"

[[group]]
name = "inner"
members = ["alice"]

[[group]]
name = "outer"
members = ["inner"]

[[account]]
name = "oai"
kind = "OpenAI"
custom_subdomain = "oai"

[[account]]
name = "oai-2"
kind = "OpenAI"
custom_subdomain = "oai-2"
deployments = ["gpt-4o"]

[[account]]
name = "multi"
kind = "CognitiveServices"
custom_subdomain = "multi"
resource_group = "rg-other"
disable_local_auth = true

[[account]]
name = "lang"
kind = "TextAnalytics"
custom_subdomain = "lang"

[[account]]
name = "regional-vision"
kind = "ComputerVision"

[[account]]
name = "locked"
kind = "AIServices"
custom_subdomain = "locked"
public_network_access = "Disabled"

[[account]]
name = "fw"
kind = "ContentSafety"
custom_subdomain = "fw"
network_default_action = "Deny"
ip_rules = ["203.0.113.0/24"]

[[account]]
name = "fw-open"
kind = "ContentSafety"
custom_subdomain = "fw-open"
network_default_action = "Deny"
ip_rules = ["198.51.100.7"]

[[account]]
name = "speech"
kind = "SpeechServices"
custom_subdomain = "speech"

[[account]]
name = "speech-regional"
kind = "SpeechServices"

[[account]]
name = "tr"
kind = "TextTranslation"
custom_subdomain = "tr"
location = "global"

[[account]]
name = "foundry"
kind = "AIServices"
custom_subdomain = "foundry"

[[search_service]]
name = "srch"
indexes = ["products"]

[[search_service]]
name = "keyonly"
auth = "apiKeyOnly"

[[custom_role]]
name = "Lang Except Analyze"
data_actions = ["Microsoft.CognitiveServices/accounts/*"]
not_data_actions = ["Microsoft.CognitiveServices/accounts/Language/analyze-text/action"]

[[role_assignment]]
principal = "outer"
role = "Cognitive Services OpenAI User"
scope = "account:oai"

[[role_assignment]]
principal = "ci-app"
role = "Cognitive Services User"
scope = "subscription"

[[role_assignment]]
principal = "vm-mi"
role = "Lang Except Analyze"
scope = "account:lang"

[[role_assignment]]
principal = "bob"
role = "Cognitive Services OpenAI User"
scope = "account:oai-2"
effective_after_s = 60

[[role_assignment]]
principal = "alice"
role = "Search Index Data Reader"
scope = "search:srch"

[[role_assignment]]
principal = "bob"
role = "Reader"
scope = "search:srch"

[[role_assignment]]
principal = "guest-app"
role = "Cognitive Services User"
scope = "subscription"

[[deny_assignment]]
principal = "ci-app"
scope = "account:fw-open"
data_actions = ["Microsoft.CognitiveServices/*"]
"#;

fn world() -> World {
    world_with("")
}

/// The scenario with `extra` TOML appended.
fn world_with(extra: &str) -> World {
    let text = format!("{SCENARIO}\n{extra}");
    World::new(Scenario::parse(&text, "t.toml").unwrap()).unwrap()
}

fn oid(w: &World, name: &str) -> String {
    w.scenario.identity(name).unwrap().object_id()
}

fn token_with(w: &World, name: &str, overrides: Value) -> String {
    let identity = w.scenario.identity(name).unwrap();
    let tid = identity.tenant_id(&w.scenario.tenant).to_string();
    let now = authz::now_unix();
    let mut claims = json!({
        "aud": "https://cognitiveservices.azure.com",
        "iss": format!("https://sts.windows.net/{tid}/"),
        "iat": now - 60, "nbf": now - 60, "exp": now + 3600,
        "tid": tid, "oid": identity.object_id(), "sub": identity.object_id(),
        "appid": identity.client_id(), "appidacr": "1", "ver": "1.0",
    });
    if let (Some(map), Some(extra)) = (claims.as_object_mut(), overrides.as_object()) {
        for (k, v) in extra {
            map.insert(k.clone(), v.clone());
        }
    }
    w.signer.sign(&claims)
}

fn token(w: &World, name: &str) -> String {
    token_with(w, name, json!({}))
}

fn request(method: &str, host: &str, target: &str, headers: &[(&str, &str)]) -> EmuRequest {
    let (path, raw_query) = target.split_once('?').unwrap_or((target, ""));
    EmuRequest {
        method: method.into(),
        host: host.into(),
        port: 443,
        scheme: "https",
        path: path.into(),
        raw_query: raw_query.into(),
        query: form_urlencoded::parse(raw_query.as_bytes())
            .into_owned()
            .collect(),
        headers: headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect(),
        body: Vec::new(),
    }
}

/// `POST host target` with `headers` and `body`.
fn post(host: &str, target: &str, headers: &[(&str, &str)], body: &[u8]) -> EmuRequest {
    let mut req = request("POST", host, target, headers);
    req.body = body.to_vec();
    req
}

fn bearer(t: &str) -> String {
    format!("Bearer {t}")
}

/// A bearer for Search: the same claims with Search's audience.
fn search_bearer(w: &World, name: &str) -> String {
    bearer(&token_with(
        w,
        name,
        json!({"aud": "https://search.azure.com"}),
    ))
}

/// Speech's `aad#{resource id}#{token}` form, for `name` on the Speech account `account`.
fn speech_aad(w: &World, account: &str, name: &str) -> String {
    let id = w.scenario.account(account).unwrap().resource_id(SUB);
    format!("Bearer aad#{id}#{}", token(w, name))
}

/// `GET host target` with `auth` as the `Authorization` header (none if `None`).
fn get(w: &World, host: &str, target: &str, auth: Option<&str>) -> EmuResponse {
    let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
    handle(w, &request("GET", host, target, &headers))
}

/// `GET host target` with an API key (not one the scenario knows) in `key_header`.
fn get_with_key(w: &World, host: &str, target: &str, key_header: &str) -> EmuResponse {
    handle(
        w,
        &request("GET", host, target, &[(key_header, "0123456789abcdef")]),
    )
}

/// `GET host target` as `name`, with a Cognitive Services bearer token.
fn get_as(w: &World, name: &str, host: &str, target: &str) -> EmuResponse {
    get(w, host, target, Some(&bearer(&token(w, name))))
}

fn body(r: &EmuResponse) -> String {
    String::from_utf8(r.body.clone()).unwrap()
}

fn header<'a>(r: &'a EmuResponse, name: &str) -> Option<&'a str> {
    r.headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

const MODELS: &str = "/openai/models?api-version=2024-10-21";
const VISION_MODELS: &str = "/vision/v3.2/models";
const BLOCKLISTS: &str = "/contentsafety/text/blocklists?api-version=2024-09-01";
/// Speech's voice list on its regional host, and on a custom domain.
const REGIONAL_TTS: &str = "westeurope.tts.speech.microsoft.com";
const VOICES: &str = "/cognitiveservices/voices/list";
const SPEECH_DOMAIN: &str = "speech.cognitiveservices.azure.com";
const DOMAIN_VOICES: &str = "/tts/cognitiveservices/voices/list";
const SEARCH: &str = "srch.search.windows.net";
const SEARCH_COUNT: &str = "/indexes/products/docs/$count?api-version=2023-11-01";
const AUTHORIZATION_FAILED: &str = r#"{"error":{"code":"","message":"Authorization failed."}}"#;

#[test]
fn openai_models_through_a_nested_group() {
    let w = world();
    let r = get_as(&w, "alice", "oai.openai.azure.com", MODELS);
    assert_eq!(r.status, 200, "{}", body(&r));
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["object"], "list");
    assert_eq!(v["data"][0]["id"], "gpt-4o-2024-08-06");
    assert_eq!(header(&r, "x-ms-region"), Some("West Europe"));
    assert!(uuid::Uuid::parse_str(header(&r, "apim-request-id").unwrap()).is_ok());
    assert_eq!(w.counters.get("dataplane:openai"), 1);
    // The same account answers on its cognitiveservices host too.
    let r = get_as(&w, "alice", "oai.cognitiveservices.azure.com", MODELS);
    assert_eq!(r.status, 200);
}

#[test]
fn permission_denied_names_principal_action_and_operation() {
    let w = world();
    let r = get_as(&w, "vm-mi", "oai.openai.azure.com", MODELS);
    assert_eq!(r.status, 401);
    assert_eq!(
        body(&r),
        format!(
            r#"{{"error":{{"code":"PermissionDenied","message":"The principal `{}` lacks the required data action `Microsoft.CognitiveServices/accounts/OpenAI/models/read` to perform `GET /openai/models` operation."}}}}"#,
            oid(&w, "vm-mi")
        )
    );
}

#[test]
fn foundry_accounts_append_the_permissions_link() {
    let w = world();
    let r = get_as(&w, "bob", "foundry.cognitiveservices.azure.com", MODELS);
    assert_eq!(r.status, 401);
    assert!(
        body(&r).ends_with(" operation. For instructions on granting the necessary permissions, see https://aka.ms/FoundryPermissions.\"}}"),
        "{}",
        body(&r)
    );
}

#[test]
fn subscription_role_reaches_an_account_in_another_group() {
    let w = world();
    let multi = |target: &str| get_as(&w, "ci-app", "multi.cognitiveservices.azure.com", target);
    let r = multi(VISION_MODELS);
    assert_eq!(r.status, 200, "{}", body(&r));
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["models"][0]["name"], "celebrities");
    let r = multi("/documentintelligence/info?api-version=2024-11-30");
    assert_eq!(
        body(&r),
        r#"{"customDocumentModels":{"count":0,"limit":250}}"#
    );
    let r = multi("/formrecognizer/info?api-version=2023-07-31");
    assert_eq!(r.status, 200);
    let r = multi(BLOCKLISTS);
    assert_eq!(body(&r), r#"{"value":[]}"#);
    assert_eq!(w.counters.get("dataplane:vision"), 1);
    assert_eq!(w.counters.get("dataplane:document-intelligence"), 2);
    assert_eq!(w.counters.get("dataplane:content-safety"), 1);
}

#[test]
fn custom_role_wildcard_grants_and_not_data_actions_remove() {
    let w = world();
    let t = bearer(&token(&w, "vm-mi"));
    let req = post(
        "lang.cognitiveservices.azure.com",
        "/text/analytics/v3.1/languages",
        &[("Authorization", &t)],
        br#"{"documents":[{"id":"7","text":"hello"}]}"#,
    );
    let r = handle(&w, &req);
    assert_eq!(r.status, 200, "{}", body(&r));
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v["documents"][0]["id"], "7");

    let req = post(
        "lang.cognitiveservices.azure.com",
        "/language/:analyze-text?api-version=2023-04-01",
        &[("Authorization", &t)],
        br#"{"kind":"LanguageDetection","analysisInput":{"documents":[{"id":"1","text":"hello"}]}}"#,
    );
    let r = handle(&w, &req);
    assert_eq!(r.status, 401);
    assert!(body(&r).contains(
        "lacks the required data action `Microsoft.CognitiveServices/accounts/Language/analyze-text/action` to perform `POST /language/:analyze-text` operation."
    ));
}

#[test]
fn language_analyze_text_succeeds_and_a_bad_body_is_400_after_auth() {
    let w = world();
    let t = bearer(&token(&w, "ci-app"));
    let mut req = post(
        "lang.cognitiveservices.azure.com",
        "/language/%3Aanalyze-text?api-version=2023-04-01",
        &[("Authorization", &t)],
        br#"{"kind":"LanguageDetection","parameters":{"modelVersion":"latest"},"analysisInput":{"documents":[{"id":"1","text":"hello"}]}}"#,
    );
    let r = handle(&w, &req);
    assert_eq!(r.status, 200, "{}", body(&r));
    assert_eq!(
        body(&r),
        r#"{"kind":"LanguageDetectionResults","results":{"documents":[{"detectedLanguage":{"confidenceScore":1.0,"iso6391Name":"en","name":"English"},"id":"1","warnings":[]}],"errors":[],"modelVersion":"2022-10-01"}}"#
    );
    req.body = b"{}".to_vec();
    let r = handle(&w, &req);
    assert_eq!(r.status, 400);
    assert!(body(&r).contains("InvalidRequest"));
}

#[test]
fn a_role_on_a_sibling_account_does_not_apply() {
    let w = world();
    // alice's group holds OpenAI User on "oai", not on "oai-2".
    let r = get_as(&w, "alice", "oai-2.openai.azure.com", MODELS);
    assert_eq!(r.status, 401);
    assert!(body(&r).contains("PermissionDenied"));
}

#[test]
fn propagation_pending_then_effective() {
    let mut w = world();
    let t = bearer(&token(&w, "bob"));
    let r = get(&w, "oai-2.openai.azure.com", MODELS, Some(&t));
    assert_eq!(r.status, 401);
    w.started = Instant::now().checked_sub(Duration::from_secs(61)).unwrap();
    let r = get(&w, "oai-2.openai.azure.com", MODELS, Some(&t));
    assert_eq!(r.status, 200, "{}", body(&r));
}

#[test]
fn deny_assignment_overrides_the_subscription_grant() {
    let w = world();
    let r = get_as(
        &w,
        "ci-app",
        "fw-open.cognitiveservices.azure.com",
        BLOCKLISTS,
    );
    assert_eq!(r.status, 401);
    assert!(body(&r).contains("ContentSafety/text/blocklists/read"));
}

#[test]
fn network_rules_come_before_the_token() {
    let w = world();
    let r = get(
        &w,
        "locked.cognitiveservices.azure.com",
        MODELS,
        Some("Bearer not-a-token"),
    );
    assert_eq!(r.status, 403);
    assert_eq!(
        body(&r),
        r#"{"error":{"code":"403","message": "Public access is disabled. Please configure private endpoint."}}"#
    );
    let r = get(&w, "fw.cognitiveservices.azure.com", BLOCKLISTS, None);
    assert_eq!(r.status, 403);
    assert_eq!(
        body(&r),
        r#"{"error":{"code":"403","message": "Access denied due to Virtual Network/Firewall rules."}}"#
    );
}

#[test]
fn bad_tokens_get_the_gateway_401() {
    let w = world();
    let expected = r#"{"statusCode":401,"message":"Unauthorized. Access token is missing, invalid, audience is incorrect (https://cognitiveservices.azure.com), or have expired."}"#;
    let now = authz::now_unix();
    let foreign = crate::emulator::tokens::TokenSigner::generate().unwrap();
    let ci_app_with = |claims: Value| Some(bearer(&token_with(&w, "ci-app", claims)));
    let cases = [
        ("no token", None),
        ("garbage", Some("Bearer garbage".to_string())),
        (
            "management audience",
            ci_app_with(json!({"aud": "https://management.azure.com"})),
        ),
        (
            "expired",
            ci_app_with(json!({"exp": now - 3600, "nbf": now - 7200})),
        ),
        (
            "foreign signer",
            Some(bearer(&foreign.sign(&json!({
                "aud": "https://cognitiveservices.azure.com", "oid": oid(&w, "ci-app"),
                "tid": TENANT, "exp": now + 3600
            })))),
        ),
    ];
    for (case, auth) in cases {
        let r = get(&w, "oai.openai.azure.com", MODELS, auth.as_deref());
        assert_eq!((r.status, body(&r).as_str()), (401, expected), "{case}");
    }
    // The trailing-slash audience is accepted.
    let slash = token_with(
        &w,
        "alice",
        json!({"aud": "https://cognitiveservices.azure.com/"}),
    );
    let r = get(&w, "oai.openai.azure.com", MODELS, Some(&bearer(&slash)));
    assert_eq!(r.status, 200);
}

#[test]
fn token_from_another_tenant_is_400() {
    let w = world();
    let r = get_as(
        &w,
        "guest-app",
        "multi.cognitiveservices.azure.com",
        VISION_MODELS,
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        body(&r),
        r#"{"error":{"code":"Tenant provided in token does not match resource token","message":"Token tenant aaaabbbb-0000-cccc-1111-dddd2222eeee does not match resource tenant."}}"#
    );
}

#[test]
fn regional_endpoint_needs_a_custom_subdomain_for_tokens() {
    let w = world();
    let r = get_as(
        &w,
        "ci-app",
        "westeurope.api.cognitive.microsoft.com",
        VISION_MODELS,
    );
    assert_eq!(r.status, 400);
    assert_eq!(
        body(&r),
        r#"{"error":{"code":"BadRequest","message":"Please provide a custom subdomain for token authentication, otherwise API key is required."}}"#
    );
    assert_eq!(header(&r, "x-ms-region"), Some("West Europe"));
}

#[test]
fn keys_on_a_local_auth_disabled_account_are_403() {
    let w = world();
    let r = get_with_key(
        &w,
        "multi.cognitiveservices.azure.com",
        VISION_MODELS,
        "Ocp-Apim-Subscription-Key",
    );
    assert_eq!(r.status, 403);
    assert_eq!(
        body(&r),
        r#"{"error":{"code":"AuthenticationTypeDisabled","message": "Key based authentication is disabled for this resource."}}"#
    );
    let r = get_with_key(
        &w,
        "lang.cognitiveservices.azure.com",
        "/language/:analyze-text?api-version=2023-04-01",
        "api-key",
    );
    assert_eq!(r.status, 404, "GET is not the method of analyze-text");
}

#[test]
fn unknown_paths_versions_and_kinds_are_404() {
    let w = world();
    let t = bearer(&token(&w, "ci-app"));
    let not_found = r#"{"error":{"code":"404","message": "Resource not found"}}"#;
    for (host, target) in [
        (
            "oai.openai.azure.com",
            "/openai/models?api-version=2019-01-01",
        ),
        (
            "oai.openai.azure.com",
            "/openai/nothing?api-version=2024-10-21",
        ),
        ("multi.cognitiveservices.azure.com", MODELS),
        ("lang.cognitiveservices.azure.com", VISION_MODELS),
    ] {
        let r = get(&w, host, target, Some(&t));
        assert_eq!(
            (r.status, body(&r).as_str()),
            (404, not_found),
            "{host}{target}"
        );
    }
}

#[test]
fn speech_voices_with_the_aad_form() {
    let w = world();
    let aad = speech_aad(&w, "speech", "ci-app");
    let r = get(&w, REGIONAL_TTS, VOICES, Some(&aad));
    assert_eq!(r.status, 200, "{}", body(&r));
    let v: Value = serde_json::from_slice(&r.body).unwrap();
    assert_eq!(v[0]["ShortName"], "en-US-JennyNeural");
    assert_eq!(w.counters.get("dataplane:speech"), 1);
    // Custom domain: aad# form or plain bearer.
    let r = get(&w, SPEECH_DOMAIN, DOMAIN_VOICES, Some(&aad));
    assert_eq!(r.status, 200);
    // A plain bearer on the regional host is rejected [L].
    let r = get_as(&w, "ci-app", REGIONAL_TTS, VOICES);
    assert_eq!(r.status, 401);
    // A speech account without a custom subdomain cannot use Entra tokens.
    let aad = speech_aad(&w, "speech-regional", "ci-app");
    let r = get(&w, REGIONAL_TTS, VOICES, Some(&aad));
    assert_eq!(r.status, 400);
    // The data action is checked: alice has no speech role.
    let aad = speech_aad(&w, "speech", "alice");
    let r = get(&w, REGIONAL_TTS, VOICES, Some(&aad));
    assert_eq!(r.status, 401);
    assert!(body(&r).contains("SpeechServices/unified-speech/frontend/action"));
}

#[test]
fn translator_global_host_needs_the_resource_id() {
    let w = world();
    let t = bearer(&token(&w, "ci-app"));
    let tr_id = w.scenario.account("tr").unwrap().resource_id(SUB);
    let mut req = post(
        "api.cognitive.microsofttranslator.com",
        "/translate?api-version=3.0&to=en",
        &[("Authorization", &t)],
        br#"[{"Text":"hola"}]"#,
    );
    let r = handle(&w, &req);
    assert_eq!(r.status, 401);
    assert_eq!(
        body(&r),
        r#"{"error":{"code":401000,"message":"The request isn't authorized because credentials are missing or invalid."}}"#
    );
    req.headers
        .push(("ocp-apim-resourceid".into(), format!("{tr_id}/")));
    let r = handle(&w, &req);
    assert_eq!(r.status, 200, "{}", body(&r));
    assert_eq!(
        body(&r),
        r#"[{"detectedLanguage":{"language":"en","score":1.0},"translations":[{"text":"hola","to":"en"}]}]"#
    );
    // A wrong region header on a global resource is rejected [L].
    req.headers
        .push(("ocp-apim-subscription-region".into(), "westeurope".into()));
    assert_eq!(handle(&w, &req).status, 401);

    let custom = post(
        "tr.cognitiveservices.azure.com",
        "/translator/text/v3.0/translate?api-version=3.0&to=de",
        &[("Authorization", &t)],
        br#"[{"Text":"hola"}]"#,
    );
    let r = handle(&w, &custom);
    assert_eq!(r.status, 200, "{}", body(&r));
    assert_eq!(w.counters.get("dataplane:translator"), 4);
}

#[test]
fn throttling_every_nth_call() {
    let w = world_with("[faults]\nthrottle_every = 2\n");
    let t = bearer(&token(&w, "alice"));
    let first = get(&w, "oai.openai.azure.com", MODELS, Some(&t));
    assert_eq!(first.status, 200);
    let second = get(&w, "oai.openai.azure.com", MODELS, Some(&t));
    assert_eq!(second.status, 429);
    assert_eq!(header(&second, "retry-after"), Some("1"));
    assert!(body(&second).starts_with(r#"{"error":{"code":"429","message": "Requests to the"#));
    let third = get(&w, "oai.openai.azure.com", MODELS, Some(&t));
    assert_eq!(third.status, 200);
    let fourth = get(
        &w,
        "multi.cognitiveservices.azure.com",
        VISION_MODELS,
        Some(&t),
    );
    assert_eq!(fourth.status, 429);
    assert_eq!(body(&fourth), THROTTLED);
}

#[test]
fn throttling_before_auth_strikes_callers_with_no_role_and_blocked_networks() {
    let w = world_with("[faults]\nthrottle_every = 1\nthrottle_stage = \"before-auth\"\n");
    // bob has no role on `oai`; `fw` admits only another network; no token at all.
    let t = bearer(&token(&w, "bob"));
    let cases = [
        ("no role", "oai.openai.azure.com", MODELS, Some(t.as_str())),
        (
            "blocked network",
            "fw.cognitiveservices.azure.com",
            BLOCKLISTS,
            Some(t.as_str()),
        ),
        ("no token", "oai.openai.azure.com", MODELS, None),
        (
            "search, no token",
            SEARCH,
            "/indexes?api-version=2023-11-01",
            None,
        ),
    ];
    for (case, host, target, auth) in cases {
        assert_eq!(get(&w, host, target, auth).status, 429, "{case}");
    }
}

#[test]
fn throttling_after_auth_strikes_only_calls_that_would_succeed() {
    let w = world_with("[faults]\nthrottle_every = 1\nthrottle_stage = \"after-auth\"\n");
    // No role: the denial, not a 429.
    let denied = get_as(&w, "bob", "oai.openai.azure.com", MODELS);
    assert_eq!(denied.status, 401, "{}", body(&denied));
    assert!(body(&denied).contains("PermissionDenied"));
    // Blocked network and no token: refused before the limiter.
    let fw = get_as(&w, "ci-app", "fw.cognitiveservices.azure.com", BLOCKLISTS);
    assert_eq!(fw.status, 403, "{}", body(&fw));
    assert_eq!(get(&w, "oai.openai.azure.com", MODELS, None).status, 401);
    // A granted call is throttled.
    let granted = get_as(&w, "alice", "oai.openai.azure.com", MODELS);
    assert_eq!(granted.status, 429);
    assert_eq!(header(&granted, "retry-after"), Some("1"));
    // Search: the same order.
    let count_as = |name: &str| get(&w, SEARCH, SEARCH_COUNT, Some(&search_bearer(&w, name)));
    assert_eq!(count_as("bob").status, 403);
    assert_eq!(count_as("alice").status, 429);
}

#[test]
fn search_list_indexes_needs_the_action_and_count_needs_the_data_action() {
    let w = world();
    let search_as =
        |name: &str, target: &str| get(&w, SEARCH, target, Some(&search_bearer(&w, name)));
    let list = "/indexes?api-version=2023-11-01&$select=name";
    // bob: Reader → Action indexes/read, no data action.
    let r = search_as("bob", list);
    assert_eq!(r.status, 200, "{}", body(&r));
    assert_eq!(
        body(&r),
        r#"{"@odata.context":"https://srch.search.windows.net/$metadata#indexes(name)","value":[{"name":"products"}]}"#
    );
    let r = search_as("bob", SEARCH_COUNT);
    assert_eq!(r.status, 403);
    assert_eq!(body(&r), AUTHORIZATION_FAILED);
    // alice: Search Index Data Reader → documents, not the index list.
    let r = search_as("alice", SEARCH_COUNT);
    assert_eq!((r.status, body(&r).as_str()), (200, "0"));
    let r = search_as("alice", list);
    assert_eq!(r.status, 403);
    // Unknown index, after authorization.
    let r = search_as(
        "alice",
        "/indexes/nope/docs/%24count?api-version=2023-11-01",
    );
    assert_eq!(r.status, 404);
    assert_eq!(
        body(&r),
        r#"{"error":{"code":"","message":"The index 'nope' for service 'srch' was not found."}}"#
    );
    assert_eq!(w.counters.get("dataplane:search"), 5);
}

#[test]
fn search_rejects_tokens_by_auth_options_and_audience() {
    let w = world();
    let list = "/indexes?api-version=2023-11-01";
    let r = get_as(&w, "bob", SEARCH, list);
    assert_eq!(r.status, 401);
    assert_eq!(
        header(&r, "www-authenticate"),
        Some(
            format!(
                r#"Bearer authorization_uri="https://login.microsoftonline.com/{TENANT}/oauth2/authorize""#
            )
            .as_str()
        )
    );
    let search = search_bearer(&w, "bob");
    let r = get(&w, "keyonly.search.windows.net", list, Some(&search));
    assert_eq!(r.status, 403);
    assert_eq!(body(&r), AUTHORIZATION_FAILED);
    let r = get(&w, SEARCH, "/indexes?api-version=1999-01-01", Some(&search));
    assert_eq!(r.status, 400);
}

#[test]
fn chat_completions_need_their_own_data_action_and_an_existing_deployment() {
    let w = world_with(
        "[[custom_role]]\nname = \"AI Inference Only\"\ndata_actions = [\"Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action\"]\n\n[[role_assignment]]\nprincipal = \"vm-mi\"\nrole = \"AI Inference Only\"\nscope = \"account:oai-2\"\n",
    );
    let chat = |who: &str, deployment: &str| {
        let req = post(
            "oai-2.openai.azure.com",
            &format!("/openai/deployments/{deployment}/chat/completions?api-version=2024-10-21"),
            &[("Authorization", &bearer(&token(&w, who)))],
            br#"{"messages":[{"role":"user","content":"hi"}],"max_tokens":1}"#,
        );
        handle(&w, &req)
    };
    let r = chat("vm-mi", "gpt-4o");
    assert_eq!(r.status, 200, "{}", body(&r));
    assert_eq!(
        serde_json::from_slice::<Value>(&r.body).unwrap()["object"],
        "chat.completion"
    );
    // Inference only: listing models is not part of the custom role.
    let r = get_as(&w, "vm-mi", "oai-2.openai.azure.com", MODELS);
    assert_eq!(r.status, 401);
    let r = chat("vm-mi", "nope");
    assert_eq!(r.status, 404);
    assert_eq!(
        body(&r),
        r#"{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist. If you created the deployment within the last 5 minutes, please wait a moment and try again."}}"#
    );
    let r = chat("alice", "gpt-4o");
    assert_eq!(r.status, 401);
    assert_eq!(
        body(&r),
        format!(
            r#"{{"error":{{"code":"PermissionDenied","message":"The principal `{}` lacks the required data action `Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action` to perform `POST /openai/deployments/{{deployment-id}}/chat/completions` operation."}}}}"#,
            oid(&w, "alice")
        )
    );
}

#[test]
fn keys_on_an_account_with_local_auth_are_checked_and_no_scenario_key_is_valid() {
    let w = world();
    let r = get_with_key(&w, "oai.openai.azure.com", MODELS, "api-key");
    assert_eq!(r.status, 401);
    assert_eq!(
        body(&r),
        r#"{"error":{"code":"401","message": "Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource."}}"#
    );
}

#[test]
fn odd_requests_never_panic() {
    let w = world();
    let huge = w.signer.sign(&json!({"aud": "https://cognitiveservices.azure.com", "oid": "x", "tid": TENANT, "exp": 1e300, "nbf": -1e300}));
    let auths = [
        None,
        Some("Bearer".to_string()),
        Some("Bearer aad#".to_string()),
        Some("Bearer aad##".to_string()),
        Some("Bearer aad#/subscriptions/x#".to_string()),
        Some(format!("Bearer {huge}")),
        Some("Bearer é.é.é".to_string()),
    ];
    let hosts = [
        "",
        "oai.openai.azure.com",
        "multi.cognitiveservices.azure.com",
        ".cognitiveservices.azure.com",
        "westeurope.tts.speech.microsoft.com",
        "api.cognitive.microsofttranslator.com",
        "srch.search.windows.net",
        ".search.windows.net",
    ];
    let targets = [
        "",
        "/",
        "//",
        "/%",
        "/%ff%fe",
        "/openai/deployments//chat/completions?api-version=2024-10-21",
        "/indexes//docs/$count?api-version=2023-11-01",
        "/language/:analyze-text?api-version=2023-04-01&api-version=x",
        "/é/ü?to=",
    ];
    for auth in &auths {
        for host in hosts {
            for target in targets {
                for method in ["GET", "POST", "DELETE"] {
                    let mut req = request(method, host, target, &[]);
                    if let Some(a) = auth {
                        req.headers.push(("authorization".into(), a.clone()));
                    }
                    req.body = b"\xff\x00[{".to_vec();
                    let r = handle(&w, &req);
                    assert!((200..600).contains(&r.status));
                }
            }
        }
    }
}

#[test]
fn search_network_rules_come_first() {
    let w = world_with(
        "[[search_service]]\nname = \"closed\"\npublic_network_access = \"Disabled\"\n\n[[search_service]]\nname = \"fenced\"\nip_rules = [\"203.0.113.0/24\"]\n\n[[search_service]]\nname = \"open-to-me\"\nip_rules = [\"198.51.100.0/24\"]\nindexes = [\"a\"]\n",
    );
    let list = "/indexes?api-version=2024-07-01";
    for host in ["closed.search.windows.net", "fenced.search.windows.net"] {
        let r = get(&w, host, list, Some("Bearer garbage"));
        assert_eq!((r.status, body(&r).as_str()), (403, "Forbidden"), "{host}");
    }
    let r = get(
        &w,
        "open-to-me.search.windows.net",
        list,
        Some("Bearer garbage"),
    );
    assert_eq!(r.status, 401);
}

#[test]
fn speech_custom_domain_accepts_a_plain_bearer() {
    let w = world();
    let r = get_as(&w, "ci-app", SPEECH_DOMAIN, DOMAIN_VOICES);
    assert_eq!(r.status, 200, "{}", body(&r));
    // An aad# id naming another account than the host's is rejected [L].
    let r = get(
        &w,
        SPEECH_DOMAIN,
        DOMAIN_VOICES,
        Some(&speech_aad(&w, "oai", "ci-app")),
    );
    assert_eq!(r.status, 401);
}

#[test]
fn regional_translator_resources_need_the_region_header() {
    let w = world_with(
        "[[account]]\nname = \"tr-weu\"\nkind = \"TextTranslation\"\ncustom_subdomain = \"tr-weu\"\n",
    );
    let id = w.scenario.account("tr-weu").unwrap().resource_id(SUB);
    let t = bearer(&token(&w, "ci-app"));
    let mut req = post(
        "api.cognitive.microsofttranslator.com",
        "/translate?api-version=3.0&to=en",
        &[("Authorization", &t), ("Ocp-Apim-ResourceId", &id)],
        br#"[{"Text":"hola"}]"#,
    );
    assert_eq!(handle(&w, &req).status, 401);
    req.headers
        .push(("ocp-apim-subscription-region".into(), "westeurope".into()));
    let r = handle(&w, &req);
    assert_eq!(r.status, 200, "{}", body(&r));
    // Without a target language, after authorization.
    req.path = "/translate".into();
    req.query.retain(|(k, _)| k != "to");
    let r = handle(&w, &req);
    assert_eq!(
        (r.status, body(&r).as_str()),
        (
            400,
            r#"{"error":{"code":400036,"message":"The target language is not valid."}}"#
        )
    );
}

/// The current Speech SDK on a custom domain (reference/foundry.md §6): the redirect request
/// without credentials names the regional host and the custom domain; the regional host then
/// takes a plain Entra bearer with `Ocp-Apim-Custom-Domain-Name`, and checks the data action.
#[test]
fn speech_as_the_sdk_calls_it_on_a_custom_domain() {
    let w = world();
    let r = get(
        &w,
        SPEECH_DOMAIN,
        "/tts/cognitiveservices/websocket/v1?GenerateRedirectResponse=true",
        None,
    );
    assert_eq!(r.status, 200, "{}", body(&r));
    assert_eq!(
        body(&r),
        "https://westeurope.tts.speech.microsoft.com/cognitiveservices/websocket/v1?Ocp-Apim-Custom-Domain-Name=speech.cognitiveservices.azure.com"
    );
    let voices = "/cognitiveservices/voices/list?Ocp-Apim-Custom-Domain-Name=speech.cognitiveservices.azure.com";
    let plain = bearer(&token(&w, "ci-app"));
    let r = get(&w, REGIONAL_TTS, voices, Some(&plain));
    assert_eq!(r.status, 200, "{}", body(&r));
    // Another region's host does not serve this domain; without the parameter a plain bearer
    // is a bare 401 as before.
    let r = get(&w, "eastus.tts.speech.microsoft.com", voices, Some(&plain));
    assert_eq!(r.status, 401);
    let r = get(
        &w,
        REGIONAL_TTS,
        "/cognitiveservices/voices/list?Ocp-Apim-Custom-Domain-Name=nobody.cognitiveservices.azure.com",
        Some(&plain),
    );
    assert_eq!((r.status, body(&r).as_str()), (401, ""));
    // The audience and the data action are still checked.
    let management = token_with(&w, "ci-app", json!({"aud": "https://management.azure.com"}));
    let r = get(&w, REGIONAL_TTS, voices, Some(&bearer(&management)));
    assert_eq!(r.status, 401);
    let r = get_as(&w, "alice", REGIONAL_TTS, voices);
    assert_eq!(r.status, 401);
    assert!(
        body(&r).contains("SpeechServices/unified-speech/frontend/action"),
        "{}",
        body(&r)
    );
}
