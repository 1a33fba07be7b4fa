//! The emulator's transport and identity surfaces, tested the way clients use them: through the
//! proxy, over TLS with the emulator's CA, at Azure's real host names.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entraprobe::emulator::{EmulatorOptions, RunningEmulator, Scenario};
use serde_json::{Value, json};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const TENANT: &str = "0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11";
const SUBSCRIPTION: &str = "5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f";
const CI_APP: &str = "00001111-aaaa-2222-bbbb-3333cccc4444";
const COGNITIVE: &str = "https://cognitiveservices.azure.com/.default";

const FULL: &str = r#"
[tenant]
id = "0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11"
subscription = "5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f"

[[identity]]
name = "ci-app"
type = "service_principal"
client_id = "00001111-aaaa-2222-bbbb-3333cccc4444"
secret = "s3cret"
certificate = true
federated = [{ issuer = "https://token.actions.githubusercontent.com", subject = "repo:contoso/app:ref:refs/heads/main", audience = "api://AzureADTokenExchange" }]

[[identity]]
name = "old-app"
type = "service_principal"
secret = "old"
secret_expired = true

[[identity]]
name = "no-fic-app"
type = "service_principal"
secret = "x"

[[identity]]
name = "aks-app"
type = "managed_identity"
federated = [{ issuer = "https://oidc.prod-aks.azure.com/abc/", subject = "system:serviceaccount:ai:probe" }]

[[identity]]
name = "pipe-app"
type = "service_principal"
federated = [{ issuer = "https://vstoken.dev.azure.com/11111111-2222-3333-4444-555555555555", subject = "sc://contoso/ai/pipe-app" }]

[[identity]]
name = "vm-mi"
type = "managed_identity"

[[identity]]
name = "uami"
type = "managed_identity"

[[identity]]
name = "web-mi"
type = "managed_identity"

[[identity]]
name = "alice"
type = "user"
upn = "alice@contoso.com"

[machine]
environment = "ci-app"
environment_auth = "secret"
managed_identities = ["vm-mi", "uami"]
app_service_identity = "web-mi"
azure_cli_user = "alice"
azd_user = "alice"
workload_identity = "aks-app"
github_actions_identity = "ci-app"
azure_pipelines_identity = "pipe-app"
"#;

/// A laptop: nobody signed in to the CLIs, no IMDS.
const LAPTOP: &str = r#"
[tenant]
id = "0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11"

[[identity]]
name = "alice"
type = "user"
"#;

struct Emu {
    emu: RunningEmulator,
    _dir: tempfile::TempDir,
    http: reqwest::Client,
}

async fn start(text: &str) -> Emu {
    let scenario = Scenario::parse(text, "test.toml").expect("fixture parses");
    let dir = tempfile::tempdir().unwrap();
    let emu = RunningEmulator::start(
        scenario,
        EmulatorOptions {
            port: 0,
            dir: dir.path().to_path_buf(),
        },
    )
    .await
    .expect("emulator starts");
    let ca = std::fs::read(emu.ca_file()).unwrap();
    let http = reqwest::Client::builder()
        .proxy(reqwest::Proxy::all(format!("http://127.0.0.1:{}", emu.port())).unwrap())
        .add_root_certificate(reqwest::Certificate::from_pem(&ca).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap();
    Emu {
        emu,
        _dir: dir,
        http,
    }
}

impl Emu {
    fn env(&self, key: &str) -> String {
        self.emu
            .env()
            .into_iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v)
            .unwrap_or_else(|| panic!("{key} is not in the environment"))
    }

    async fn token(&self, tenant: &str, form: &[(&str, &str)]) -> (u16, String) {
        self.token_at("login.microsoftonline.com", tenant, form)
            .await
    }

    async fn token_at(&self, host: &str, tenant: &str, form: &[(&str, &str)]) -> (u16, String) {
        let resp = self
            .http
            .post(format!("https://{host}/{tenant}/oauth2/v2.0/token"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(form))
            .send()
            .await
            .expect("token endpoint answers");
        (resp.status().as_u16(), resp.text().await.unwrap())
    }
}

fn form_body(pairs: &[(&str, &str)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

fn claims_of(jwt: &str) -> Value {
    let payload = jwt.split('.').nth(1).expect("three parts");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// The exact Entra error body: keys in Entra's order, description `AADSTS{code}: {message}`
/// followed by the trace lines this very body names.
fn assert_aadsts(got: &(u16, String), status: u16, error: &str, code: u64, message: &str) {
    let (got_status, text) = got;
    assert_eq!(*got_status, status, "{text}");
    let body: Value = serde_json::from_str(text).unwrap();
    let trace = body["trace_id"].as_str().unwrap();
    let corr = body["correlation_id"].as_str().unwrap();
    let ts = body["timestamp"].as_str().unwrap();
    assert_eq!(ts.len(), "2024-06-15 08:22:51Z".len(), "{ts}");
    let expected = format!(
        "{{\"error\":{},\"error_description\":{},\"error_codes\":[{code}],\"timestamp\":\"{ts}\",\"trace_id\":\"{trace}\",\"correlation_id\":\"{corr}\",\"error_uri\":\"https://login.microsoftonline.com/error?code={code}\"}}",
        json!(error),
        json!(format!(
            "AADSTS{code}: {message}\r\nTrace ID: {trace}\r\nCorrelation ID: {corr}\r\nTimestamp: {ts}"
        )),
    );
    assert_eq!(text, &expected);
}

fn secret_form<'a>(client_id: &'a str, secret: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("client_id", client_id),
        ("grant_type", "client_credentials"),
        ("client_info", "1"),
        ("client_secret", secret),
        ("scope", COGNITIVE),
    ]
}

fn assertion_form(client_id: &str, assertion: &str) -> Vec<(String, String)> {
    vec![
        ("client_assertion".into(), assertion.into()),
        (
            "client_assertion_type".into(),
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer".into(),
        ),
        ("client_id".into(), client_id.into()),
        ("grant_type".into(), "client_credentials".into()),
        ("scope".into(), COGNITIVE.into()),
    ]
}

async fn exchange(e: &Emu, client_id: &str, assertion: &str) -> (u16, String) {
    let form = assertion_form(client_id, assertion);
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    e.token(TENANT, &form).await
}

// ------------------------------------------------------------------------------------------
// Transport

#[tokio::test(flavor = "multi_thread")]
async fn unknown_host_gets_a_502_through_tls_not_a_handshake_error() {
    let e = start(LAPTOP).await;
    let resp = e.http.get("https://example.com/").send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 502);
    assert!(resp.text().await.unwrap().contains("`example.com`"));
    e.emu.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn latency_fault_delays_every_response() {
    let e = start(&format!("{LAPTOP}\n[faults]\nlatency_ms = 300\n")).await;
    let started = Instant::now();
    let resp = e
        .http
        .get(format!(
            "https://login.microsoftonline.com/{TENANT}/discovery/v2.0/keys"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(started.elapsed() >= Duration::from_millis(300));
}

// ------------------------------------------------------------------------------------------
// Entra discovery

#[tokio::test(flavor = "multi_thread")]
async fn discovery_builds_urls_from_the_host_and_rejects_unknown_tenants() {
    let e = start(FULL).await;
    for host in ["login.microsoftonline.com", "login.microsoftonline.us"] {
        let doc: Value = e
            .http
            .get(format!(
                "https://{host}/{TENANT}/v2.0/.well-known/openid-configuration"
            ))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(
            doc["token_endpoint"],
            format!("https://{host}/{TENANT}/oauth2/v2.0/token")
        );
        assert_eq!(doc["issuer"], format!("https://{host}/{TENANT}/v2.0"));
        assert_eq!(
            doc["jwks_uri"],
            format!("https://{host}/{TENANT}/discovery/v2.0/keys")
        );
        assert!(doc["authorization_endpoint"].is_string());
    }
    let unknown = "11111111-0000-0000-0000-000000000000";
    let resp = e
        .http
        .get(format!(
            "https://login.microsoftonline.com/{unknown}/v2.0/.well-known/openid-configuration"
        ))
        .send()
        .await
        .unwrap();
    let got = (resp.status().as_u16(), resp.text().await.unwrap());
    assert_aadsts(
        &got,
        400,
        "invalid_tenant",
        90002,
        &format!(
            "Tenant '{unknown}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."
        ),
    );
    let got = e.token(unknown, &secret_form(CI_APP, "s3cret")).await;
    assert_eq!(got.0, 400);
    assert!(got.1.contains("AADSTS90002"));

    let keys: Value = e
        .http
        .get(format!(
            "https://login.microsoftonline.com/{TENANT}/discovery/keys"
        ))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(keys["keys"][0]["kid"], e.emu.world().signer.kid);
    let instance: Value = e
        .http
        .get("https://login.microsoftonline.com/common/discovery/instance?api-version=1.1&authorization_endpoint=https://login.microsoftonline.com/common/oauth2/authorize")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        instance["tenant_discovery_endpoint"],
        "https://login.microsoftonline.com/common/v2.0/.well-known/openid-configuration"
    );
}

// ------------------------------------------------------------------------------------------
// Client secret

#[tokio::test(flavor = "multi_thread")]
async fn client_secret_success_and_every_failure() {
    let e = start(FULL).await;
    let (status, body) = e.token(TENANT, &secret_form(CI_APP, "s3cret")).await;
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["token_type"], "Bearer");
    assert_eq!(body["expires_in"], 3599);
    assert_eq!(body["ext_expires_in"], 3599);
    let token = body["access_token"].as_str().unwrap();
    assert!(e.emu.world().signer.verify(token).is_ok());
    let c = claims_of(token);
    let ci = e.emu.world().scenario.identity("ci-app").unwrap();
    assert_eq!(c["aud"], "https://cognitiveservices.azure.com");
    assert_eq!(c["iss"], format!("https://sts.windows.net/{TENANT}/"));
    assert_eq!(c["tid"], TENANT);
    assert_eq!(c["oid"], ci.object_id());
    assert_eq!(c["sub"], ci.object_id());
    assert_eq!(c["appid"], CI_APP);
    assert_eq!(c["appidacr"], "1");
    assert_eq!(c["idtyp"], "app");
    assert_eq!(c["ver"], "1.0");
    assert_eq!(
        c["exp"].as_i64().unwrap() - c["iat"].as_i64().unwrap(),
        3599
    );

    assert_aadsts(
        &e.token(TENANT, &secret_form(CI_APP, "wrong")).await,
        401,
        "invalid_client",
        7000215,
        &format!(
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{CI_APP}'."
        ),
    );
    let old = e
        .emu
        .world()
        .scenario
        .identity("old-app")
        .unwrap()
        .client_id();
    assert_aadsts(
        &e.token(TENANT, &secret_form(&old, "old")).await,
        401,
        "invalid_client",
        7000222,
        &format!(
            "The provided client secret keys for app '{old}' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, or consider using certificate credentials for added security: https://aka.ms/certCreds."
        ),
    );
    let stranger = "99999999-9999-9999-9999-999999999999";
    assert_aadsts(
        &e.token(TENANT, &secret_form(stranger, "s3cret")).await,
        400,
        "unauthorized_client",
        700016,
        &format!(
            "Application with identifier '{stranger}' was not found in the directory '{TENANT}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."
        ),
    );
    assert_aadsts(
        &e.token(
            TENANT,
            &[
                ("client_id", CI_APP),
                ("grant_type", "client_credentials"),
                ("scope", COGNITIVE),
            ],
        )
        .await,
        401,
        "invalid_client",
        7000218,
        "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
    );
    assert_aadsts(
        &e.token(
            TENANT,
            &[
                ("client_id", CI_APP),
                ("grant_type", "client_credentials"),
                ("client_secret", "s3cret"),
                ("scope", "https://cognitiveservices.azure.com"),
            ],
        )
        .await,
        400,
        "invalid_scope",
        70011,
        "The provided value for the input parameter 'scope' is not valid. The scope https://cognitiveservices.azure.com is not valid.",
    );
    // Basic authentication carries the same secret.
    let resp = e
        .http
        .post(format!(
            "https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token"
        ))
        .basic_auth(CI_APP, Some("s3cret"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form_body(&[
            ("grant_type", "client_credentials"),
            ("scope", COGNITIVE),
        ]))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
}

#[tokio::test(flavor = "multi_thread")]
async fn sovereign_authorities_issue_their_clouds_issuer() {
    let e = start(FULL).await;
    let (status, body) = e
        .token_at(
            "login.chinacloudapi.cn",
            TENANT,
            &[
                ("client_id", CI_APP),
                ("grant_type", "client_credentials"),
                ("client_secret", "s3cret"),
                ("scope", "https://cognitiveservices.azure.cn/.default"),
            ],
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    let c = claims_of(body["access_token"].as_str().unwrap());
    assert_eq!(c["iss"], format!("https://sts.chinacloudapi.cn/{TENANT}/"));
    assert_eq!(c["aud"], "https://cognitiveservices.azure.cn");
}

// ------------------------------------------------------------------------------------------
// Certificate assertions

fn sign_assertion(key_pem: &str, x5t: &str, claims: &Value) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.x5t = Some(x5t.to_string());
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(key_pem.as_bytes()).unwrap();
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

fn assertion_claims(aud: &str, exp: f64) -> Value {
    let now = now();
    json!({"aud": aud, "iss": CI_APP, "sub": CI_APP, "jti": "9d3a0c1e-0000-4000-8000-000000000001",
           "nbf": now - 10.25, "iat": now - 10.25, "exp": exp})
}

#[tokio::test(flavor = "multi_thread")]
async fn certificate_assertion_is_verified_like_entra() {
    let e = start(FULL).await;
    let world = e.emu.world();
    let cert = world.certificates.get("ci-app").unwrap();
    // The PEM the environment points at holds the certificate and the key.
    let pem_path = e.env("AZURE_CLIENT_ID");
    assert_eq!(pem_path, CI_APP);
    let pem = std::fs::read_to_string(e.emu.dir().join("certs/ci-app.pem")).unwrap();
    assert!(pem.contains("BEGIN CERTIFICATE") && pem.contains("PRIVATE KEY"));

    let aud = format!("https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token");
    // MSAL Python sends fractional NumericDates.
    let good = sign_assertion(
        &cert.key_pem,
        &cert.x5t,
        &assertion_claims(&aud, now() + 600.5),
    );
    let (status, body) = exchange(&e, CI_APP, &good).await;
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        claims_of(body["access_token"].as_str().unwrap())["appidacr"],
        "2"
    );

    // MSAL Python pads its x5t; Entra compares the thumbprint, not the text.
    let padded = sign_assertion(
        &cert.key_pem,
        &format!("{}=", cert.x5t),
        &assertion_claims(&aud, now() + 600.0),
    );
    assert_eq!(exchange(&e, CI_APP, &padded).await.0, 200);

    // Signed by another key while claiming the registered certificate's thumbprint.
    let other = entraprobe::emulator::pki::IdentityCertificate::generate("intruder").unwrap();
    let forged = sign_assertion(
        &other.key_pem,
        &cert.x5t,
        &assertion_claims(&aud, now() + 600.0),
    );
    let got = exchange(&e, CI_APP, &forged).await;
    let fmt = time::macros::format_description!("[month]/[day]/[year] [hour]:[minute]:[second]");
    assert_aadsts(
        &got,
        401,
        "invalid_client",
        700027,
        &format!(
            "Client assertion failed signature validation. [Reason - Key was found, but use of the key to verify the signature failed., Thumbprint of key used by client: '{}', Found key 'Start={}, End={}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{CI_APP}'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding service endpoint and https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http to build a query request URL, such as 'https://graph.microsoft.com/beta/applications/{CI_APP}'].",
            cert.thumbprint_hex,
            cert.not_before.format(fmt).unwrap(),
            cert.not_after.format(fmt).unwrap(),
        ),
    );
    // Signed by an unregistered certificate, honestly named.
    let unknown = sign_assertion(
        &other.key_pem,
        &other.x5t,
        &assertion_claims(&aud, now() + 600.0),
    );
    assert_aadsts(
        &exchange(&e, CI_APP, &unknown).await,
        401,
        "invalid_client",
        700027,
        &format!(
            "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '{CI_APP}'. Review the documentation at https://docs.microsoft.com/en-us/graph/deployments to determine the corresponding service endpoint and https://docs.microsoft.com/en-us/graph/api/application-get?view=graph-rest-1.0&tabs=http to build a query request URL, such as 'https://graph.microsoft.com/beta/applications/{CI_APP}'].",
            other.thumbprint_hex
        ),
    );
    // Expired.
    let exp = now() - 120.0;
    let expired = sign_assertion(&cert.key_pem, &cert.x5t, &assertion_claims(&aud, exp));
    let got = exchange(&e, CI_APP, &expired).await;
    assert_eq!(got.0, 401, "{}", got.1);
    let body: Value = serde_json::from_str(&got.1).unwrap();
    assert_eq!(body["error_codes"], json!([700024]));
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.starts_with(
            "AADSTS700024: Client assertion is not within its valid time range. Current time: "
        ),
        "{description}"
    );
    assert!(description.contains(", expiry time of assertion "));
    assert!(description.contains(". Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials\r\nTrace ID: "));
    // Audience must be this token endpoint.
    let wrong_aud = sign_assertion(
        &cert.key_pem,
        &cert.x5t,
        &assertion_claims(
            "https://login.microsoftonline.com/common/oauth2/v2.0/token",
            now() + 600.0,
        ),
    );
    let got = exchange(&e, CI_APP, &wrong_aud).await;
    assert_eq!(got.0, 401);
    assert!(got.1.contains("AADSTS700023"), "{}", got.1);
}

// ------------------------------------------------------------------------------------------
// Federated credentials and the OIDC issuers

async fn github_token(e: &Emu, audience: &str) -> String {
    let url = format!(
        "{}&audience={audience}",
        e.env("ACTIONS_ID_TOKEN_REQUEST_URL")
    );
    let resp = e
        .http
        .get(url)
        .bearer_auth(e.env("ACTIONS_ID_TOKEN_REQUEST_TOKEN"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.unwrap();
    body["value"].as_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn github_actions_token_exchanges_and_mismatches_are_named() {
    let e = start(FULL).await;
    let token = github_token(&e, "api://AzureADTokenExchange").await;
    let c = claims_of(&token);
    assert_eq!(c["iss"], "https://token.actions.githubusercontent.com");
    assert_eq!(c["sub"], "repo:contoso/app:ref:refs/heads/main");
    assert_eq!(c["aud"], "api://AzureADTokenExchange");
    let (status, body) = exchange(&e, CI_APP, &token).await;
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    let issued = claims_of(body["access_token"].as_str().unwrap());
    assert_eq!(issued["appidacr"], "2");
    assert_eq!(issued["appid"], CI_APP);

    // Wrong request token.
    let resp = e
        .http
        .get(e.env("ACTIONS_ID_TOKEN_REQUEST_URL"))
        .bearer_auth("not-the-token")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);

    let fic = "https://learn.microsoft.com/entra/workload-id/workload-identity-federation";
    let other_aud = github_token(&e, "api://SomethingElse").await;
    assert_aadsts(
        &exchange(&e, CI_APP, &other_aud).await,
        401,
        "invalid_client",
        700212,
        &format!(
            "No matching federated identity record found for presented assertion audience 'api://SomethingElse'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. {fic}"
        ),
    );
    // The same token presented for an app without any federated credential.
    let no_fic = e
        .emu
        .world()
        .scenario
        .identity("no-fic-app")
        .unwrap()
        .client_id();
    assert_aadsts(
        &exchange(&e, &no_fic, &token).await,
        400,
        "invalid_request",
        70021,
        "No matching federated identity record found for presented assertion. Assertion Issuer: 'https://token.actions.githubusercontent.com'. Assertion Subject: 'repo:contoso/app:ref:refs/heads/main'. Assertion Audience: 'api://AzureADTokenExchange'. https://docs.microsoft.com/en-us/azure/active-directory/develop/workload-identity-federation",
    );
    // Presented for an identity whose federated credential names another issuer.
    let aks = e
        .emu
        .world()
        .scenario
        .identity("aks-app")
        .unwrap()
        .client_id();
    assert_aadsts(
        &exchange(&e, &aks, &token).await,
        401,
        "invalid_client",
        700211,
        &format!(
            "No matching federated identity record found for presented assertion issuer 'https://token.actions.githubusercontent.com'. Please check your federated identity credential Subject, Audience and Issuer against the presented assertion. {fic}"
        ),
    );
    // A token the issuer did not sign.
    let (h, p, _) = {
        let mut parts = token.split('.');
        (parts.next().unwrap(), parts.next().unwrap(), ())
    };
    let forged = format!("{h}.{p}.{}", URL_SAFE_NO_PAD.encode([7u8; 256]));
    let got = exchange(&e, CI_APP, &forged).await;
    assert_eq!(got.0, 401);
    assert!(got.1.contains("AADSTS700027"));
}

#[tokio::test(flavor = "multi_thread")]
async fn workload_identity_token_file_exchanges_and_subject_mismatch_is_700213() {
    let e = start(FULL).await;
    let file = e.env("AZURE_FEDERATED_TOKEN_FILE");
    let token = std::fs::read_to_string(&file).unwrap();
    let c = claims_of(&token);
    assert_eq!(c["iss"], "https://oidc.prod-aks.azure.com/abc/");
    assert_eq!(c["sub"], "system:serviceaccount:ai:probe");
    let aks = e
        .emu
        .world()
        .scenario
        .identity("aks-app")
        .unwrap()
        .client_id();
    let (status, body) = exchange(&e, &aks, &token).await;
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    let issued = claims_of(body["access_token"].as_str().unwrap());
    // A user-assigned managed identity exchanging a federated token: MI claims, a day's life.
    assert!(
        issued["xms_mirid"]
            .as_str()
            .unwrap()
            .ends_with("/userAssignedIdentities/aks-app")
    );
    e.emu.shutdown().await;

    let mismatch = FULL.replace(
        "workload_identity = \"aks-app\"",
        "workload_identity = \"aks-app\"\nworkload_subject = \"system:serviceaccount:ai:Probe\"",
    );
    let e = start(&mismatch).await;
    let token = std::fs::read_to_string(e.env("AZURE_FEDERATED_TOKEN_FILE")).unwrap();
    let aks = e
        .emu
        .world()
        .scenario
        .identity("aks-app")
        .unwrap()
        .client_id();
    assert_aadsts(
        &exchange(&e, &aks, &token).await,
        401,
        "invalid_client",
        700213,
        "No matching federated identity record found for presented assertion subject 'system:serviceaccount:ai:Probe'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion. https://learn.microsoft.com/entra/workload-id/workload-identity-federation",
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn expired_federated_token_is_700024() {
    let e = start(FULL).await;
    let then = now() as i64 - 7200;
    let stale = e.emu.world().signer.sign(&json!({
        "iss": "https://oidc.prod-aks.azure.com/abc/", "sub": "system:serviceaccount:ai:probe",
        "aud": ["api://AzureADTokenExchange"], "iat": then, "nbf": then, "exp": then + 3600,
    }));
    let aks = e
        .emu
        .world()
        .scenario
        .identity("aks-app")
        .unwrap()
        .client_id();
    let got = exchange(&e, &aks, &stale).await;
    assert_eq!(got.0, 401);
    let body: Value = serde_json::from_str(&got.1).unwrap();
    assert_eq!(body["error_codes"], json!([700024]));
}

#[tokio::test(flavor = "multi_thread")]
async fn azure_pipelines_oidc_endpoint_as_the_sdk_calls_it() {
    let e = start(FULL).await;
    let url = format!(
        "{}?api-version=7.1&serviceConnectionId={}",
        e.env("SYSTEM_OIDCREQUESTURI"),
        e.env("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID")
    );
    let resp = e
        .http
        .post(&url)
        .bearer_auth(e.env("SYSTEM_ACCESSTOKEN"))
        .header("x-tfs-fedauthredirect", "Suppress")
        .header("content-length", "0")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.unwrap();
    let token = body["oidcToken"].as_str().unwrap();
    assert_eq!(claims_of(token)["sub"], "sc://contoso/ai/pipe-app");
    let (status, body) = exchange(&e, &e.env("AZURESUBSCRIPTION_CLIENT_ID"), token).await;
    assert_eq!(status, 200, "{body}");

    let resp = e.http.post(&url).bearer_auth("wrong").send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
}

// ------------------------------------------------------------------------------------------
// Managed identity

async fn imds(e: &Emu, query: &str, metadata: bool) -> (u16, String) {
    let mut req = e.http.get(format!(
        "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://cognitiveservices.azure.com{query}"
    ));
    if metadata {
        req = req.header("Metadata", "true");
    }
    let resp = req.send().await.unwrap();
    (resp.status().as_u16(), resp.text().await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn imds_answers_like_imds() {
    let e = start(FULL).await;
    assert_eq!(
        imds(&e, "", false).await,
        (
            400,
            r#"{"error":"bad_request_102","error_description":"Required metadata header not specified"}"#.to_string()
        )
    );
    let (status, body) = imds(&e, "", true).await;
    assert_eq!(status, 200, "{body}");
    let body: Value = serde_json::from_str(&body).unwrap();
    for key in [
        "access_token",
        "refresh_token",
        "expires_in",
        "expires_on",
        "ext_expires_in",
        "not_before",
        "resource",
        "token_type",
        "client_id",
    ] {
        assert!(body[key].is_string(), "{key} must be a string: {body}");
    }
    assert_eq!(body["expires_in"], "86399");
    assert_eq!(body["resource"], "https://cognitiveservices.azure.com");
    let vm = e.emu.world().scenario.identity("vm-mi").unwrap();
    assert_eq!(body["client_id"], vm.client_id());
    let c = claims_of(body["access_token"].as_str().unwrap());
    assert_eq!(c["oid"], vm.object_id());
    assert_eq!(c["appidacr"], "2");
    assert_eq!(c["idtyp"], "app");
    assert!(
        c["xms_mirid"]
            .as_str()
            .unwrap()
            .contains("/virtualMachines/vm-mi")
    );

    let uami = e.emu.world().scenario.identity("uami").unwrap();
    let (status, body) = imds(&e, &format!("&client_id={}", uami.client_id()), true).await;
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["client_id"], uami.client_id());
    let res_id = format!(
        "/subscriptions/{SUBSCRIPTION}/resourcegroups/rg-identity/providers/Microsoft.ManagedIdentity/userAssignedIdentities/uami"
    );
    let (status, body) = imds(&e, &format!("&msi_res_id={res_id}"), true).await;
    assert_eq!(status, 200);
    let body: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(
        claims_of(body["access_token"].as_str().unwrap())["xms_mirid"],
        res_id
    );
    let (status, body) = imds(&e, &format!("&object_id={}", uami.object_id()), true).await;
    assert_eq!(status, 200, "{body}");

    // The same endpoint on the emulator's own address, for AZURE_POD_IDENTITY_AUTHORITY_HOST.
    let direct = reqwest::Client::builder().no_proxy().build().unwrap();
    let resp = direct
        .get(format!(
            "http://127.0.0.1:{}/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://cognitiveservices.azure.com",
            e.emu.port()
        ))
        .header("Metadata", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);

    assert_eq!(
        imds(&e, "&client_id=99999999-9999-9999-9999-999999999999", true).await,
        (
            400,
            r#"{"error":"invalid_request","error_description":"Identity not found"}"#.to_string()
        )
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn no_imds_on_a_laptop_means_no_answer_at_all() {
    let e = start(LAPTOP).await;
    let result = e
        .http
        .get("http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://cognitiveservices.azure.com")
        .header("Metadata", "true")
        .send()
        .await;
    assert!(result.is_err(), "{result:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn app_service_identity_endpoint() {
    let e = start(FULL).await;
    let endpoint = e.env("IDENTITY_ENDPOINT");
    let url =
        format!("{endpoint}?api-version=2019-08-01&resource=https://cognitiveservices.azure.com");
    let resp = e
        .http
        .get(&url)
        .header("X-IDENTITY-HEADER", e.env("IDENTITY_HEADER"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let body: Value = resp.json().await.unwrap();
    let expires_on: i64 = body["expires_on"].as_str().unwrap().parse().unwrap();
    assert!(expires_on > now() as i64);
    assert_eq!(body["token_type"], "Bearer");
    let web = e.emu.world().scenario.identity("web-mi").unwrap();
    assert_eq!(body["client_id"], web.client_id());
    assert_eq!(
        claims_of(body["access_token"].as_str().unwrap())["oid"],
        web.object_id()
    );

    let resp = e.http.get(&url).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    // Straight to the emulator, without the proxy, as a client with NO_PROXY would.
    let direct = reqwest::Client::builder().no_proxy().build().unwrap();
    let resp = direct
        .get(&url)
        .header("X-IDENTITY-HEADER", e.env("IDENTITY_HEADER"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
}

// ------------------------------------------------------------------------------------------
// Fake CLIs and the env file

async fn run_with_env(e: &Emu, shell_command: &str) -> std::process::Output {
    let mut cmd = tokio::process::Command::new("/bin/sh");
    cmd.arg("-c").arg(shell_command).env_clear();
    for (k, v) in e.emu.env() {
        cmd.env(k, v);
    }
    cmd.output().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn fake_az_and_azd_print_what_the_real_clis_print() {
    let e = start(FULL).await;
    // As the Rust SDK runs it.
    let out = run_with_env(
        &e,
        "cd /bin && az account get-access-token -o json --scope https://cognitiveservices.azure.com/.default",
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let body: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(body["tokenType"], "Bearer");
    assert_eq!(body["tenant"], TENANT);
    assert_eq!(body["subscription"], SUBSCRIPTION);
    assert!(body["expires_on"].is_i64());
    let expires_on = body["expiresOn"].as_str().unwrap();
    assert_eq!(
        expires_on.len(),
        "2024-06-15 10:22:51.000000".len(),
        "{expires_on}"
    );
    let c = claims_of(body["accessToken"].as_str().unwrap());
    let alice = e.emu.world().scenario.identity("alice").unwrap();
    assert_eq!(c["aud"], "https://cognitiveservices.azure.com");
    assert_eq!(c["upn"], "alice@contoso.com");
    assert_eq!(c["oid"], alice.object_id());
    assert_eq!(c["scp"], "user_impersonation");
    assert_eq!(c["appid"], "04b07795-8ddb-461a-bbee-02f9e1bf7b46");
    assert!(c.get("idtyp").is_none());

    // As Python's AzureCliCredential runs it, with --tenant (then no subscription is printed).
    let out = run_with_env(
        &e,
        &format!("az account get-access-token --output json --resource https://search.azure.com --tenant {TENANT}"),
    )
    .await;
    assert!(out.status.success());
    let body: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(body.get("subscription").is_none());
    assert_eq!(
        claims_of(body["accessToken"].as_str().unwrap())["aud"],
        "https://search.azure.com"
    );

    let out = run_with_env(
        &e,
        "az account get-access-token --resource https://cognitiveservices.azure.com --query accessToken -o tsv",
    )
    .await;
    let tsv = String::from_utf8(out.stdout).unwrap();
    assert_eq!(claims_of(tsv.trim_end())["upn"], "alice@contoso.com");

    let out = run_with_env(
        &e,
        "azd auth token -o json --no-prompt --scope https://cognitiveservices.azure.com/.default",
    )
    .await;
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let body: Value = serde_json::from_slice(&out.stdout).unwrap();
    let expires = body["expiresOn"].as_str().unwrap();
    assert!(
        time::OffsetDateTime::parse(expires, &time::format_description::well_known::Rfc3339)
            .is_ok()
    );
    assert_eq!(
        claims_of(body["token"].as_str().unwrap())["upn"],
        "alice@contoso.com"
    );

    let e = start(LAPTOP).await;
    let out = run_with_env(
        &e,
        "cd /bin && az account get-access-token -o json --scope https://cognitiveservices.azure.com/.default",
    )
    .await;
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "ERROR: Please run 'az login' to setup account.\n"
    );
    let out = run_with_env(&e, "azd auth token --output json --scope https://cognitiveservices.azure.com/.default --no-prompt").await;
    assert_ne!(out.status.code(), Some(0));
    let err: Value = serde_json::from_slice(&out.stderr).unwrap();
    assert_eq!(err["type"], "consoleMessage");
    assert_eq!(
        err["data"]["message"],
        "\nERROR: not logged in, run `azd auth login` to login\n"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn env_file_is_shell_sourceable_and_names_every_source() {
    let e = start(FULL).await;
    let path = e.emu.dir().join("out/emulator.env");
    e.emu.write_env_file(&path).unwrap();
    let out = tokio::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -a; . '{}'; set +a; printf '%s\\n' \"$HTTPS_PROXY\" \"$NO_PROXY\" \"$SSL_CERT_FILE\" \"$AZURE_CLIENT_SECRET\" \"$(command -v az)\"",
            path.display()
        ))
        .env_clear()
        .output()
        .await
        .unwrap();
    let lines: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    assert_eq!(lines[0], format!("http://127.0.0.1:{}", e.emu.port()));
    assert_eq!(lines[1], "");
    assert_eq!(lines[2], e.emu.ca_file().display().to_string());
    assert_eq!(lines[3], "s3cret");
    assert_eq!(lines[4], e.emu.dir().join("bin/az").display().to_string());
    let env = e.emu.env();
    for key in [
        "REQUESTS_CA_BUNDLE",
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_FEDERATED_TOKEN_FILE",
        "IDENTITY_ENDPOINT",
        "IDENTITY_HEADER",
        "SYSTEM_OIDCREQUESTURI",
        "SYSTEM_ACCESSTOKEN",
        "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID",
        "AZURESUBSCRIPTION_CLIENT_ID",
        "AZURESUBSCRIPTION_TENANT_ID",
        "ACTIONS_ID_TOKEN_REQUEST_URL",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    ] {
        assert!(env.iter().any(|(k, _)| k == key), "{key} missing");
    }

    let wrong = FULL.replace(
        "environment_auth = \"secret\"",
        "environment_auth = \"wrong-secret\"",
    );
    let e = start(&wrong).await;
    let secret = e.env("AZURE_CLIENT_SECRET");
    assert_ne!(secret, "s3cret");
    let got = e.token(TENANT, &secret_form(CI_APP, &secret)).await;
    assert_eq!(got.0, 401);
    assert!(got.1.contains("AADSTS7000215"));

    let cert = FULL.replace(
        "environment_auth = \"secret\"",
        "environment_auth = \"certificate\"",
    );
    let e = start(&cert).await;
    let pem_path = e.env("AZURE_CLIENT_CERTIFICATE_PATH");
    let pem = std::fs::read_to_string(pem_path).unwrap();
    assert!(pem.contains("BEGIN CERTIFICATE"));
    assert!(!e.emu.env().iter().any(|(k, _)| k == "AZURE_CLIENT_SECRET"));
}

// ------------------------------------------------------------------------------------------
// The Rust SDK itself (azure_identity 1.0) against the emulator, through the same proxy.

mod sdk {
    use super::*;
    use azure_core::credentials::{Secret, TokenCredential};
    use azure_core::http::{ClientMethodOptions, ClientOptions, Transport};
    use azure_identity::{
        ClientAssertion, ClientAssertionCredential, ClientAssertionCredentialOptions,
        ClientSecretCredential, ClientSecretCredentialOptions, ManagedIdentityCredential,
        ManagedIdentityCredentialOptions, UserAssignedId, WorkloadIdentityCredential,
        WorkloadIdentityCredentialOptions,
    };
    use std::sync::Arc;

    fn options(e: &Emu) -> ClientOptions {
        ClientOptions {
            transport: Some(Transport::new(Arc::new(e.http.clone()))),
            ..Default::default()
        }
    }

    async fn claims(credential: &dyn TokenCredential, scope: &str) -> Value {
        let token = credential.get_token(&[scope], None).await.expect("token");
        claims_of(token.token.secret())
    }

    #[derive(Debug)]
    struct CertificateAssertion {
        key_pem: String,
        x5t: String,
    }

    #[async_trait::async_trait]
    impl ClientAssertion for CertificateAssertion {
        async fn secret(&self, _: Option<ClientMethodOptions<'_>>) -> azure_core::Result<String> {
            let aud = format!("https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token");
            Ok(sign_assertion(
                &self.key_pem,
                &self.x5t,
                &assertion_claims(&aud, now() + 600.0),
            ))
        }
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn azure_identity_credentials_get_emulator_tokens() {
        let e = start(FULL).await;
        let secret = ClientSecretCredential::new(
            TENANT,
            CI_APP.to_string(),
            Secret::new("s3cret"),
            Some(ClientSecretCredentialOptions {
                client_options: options(&e),
            }),
        )
        .unwrap();
        let c = claims(secret.as_ref(), COGNITIVE).await;
        assert_eq!(c["appid"], CI_APP);
        assert_eq!(c["appidacr"], "1");

        let cert = e.emu.world().certificates.get("ci-app").unwrap();
        let assertion = ClientAssertionCredential::new(
            TENANT.to_string(),
            CI_APP.to_string(),
            CertificateAssertion {
                key_pem: cert.key_pem.clone(),
                x5t: cert.x5t.clone(),
            },
            Some(ClientAssertionCredentialOptions {
                client_options: options(&e),
            }),
        )
        .unwrap();
        assert_eq!(claims(assertion.as_ref(), COGNITIVE).await["appidacr"], "2");

        let aks = e
            .emu
            .world()
            .scenario
            .identity("aks-app")
            .unwrap()
            .client_id();
        let workload = WorkloadIdentityCredential::new(Some(WorkloadIdentityCredentialOptions {
            credential_options: ClientAssertionCredentialOptions {
                client_options: options(&e),
            },
            client_id: Some(aks.clone()),
            tenant_id: Some(TENANT.to_string()),
            token_file_path: Some(e.env("AZURE_FEDERATED_TOKEN_FILE").into()),
        }))
        .unwrap();
        assert_eq!(claims(workload.as_ref(), COGNITIVE).await["appid"], aks);

        let system = ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
            client_options: options(&e),
            ..Default::default()
        }))
        .unwrap();
        let vm = e.emu.world().scenario.identity("vm-mi").unwrap();
        assert_eq!(
            claims(system.as_ref(), COGNITIVE).await["oid"],
            vm.object_id()
        );

        let res_id = format!(
            "/subscriptions/{SUBSCRIPTION}/resourcegroups/rg-identity/providers/Microsoft.ManagedIdentity/userAssignedIdentities/uami"
        );
        let user = ManagedIdentityCredential::new(Some(ManagedIdentityCredentialOptions {
            user_assigned_id: Some(UserAssignedId::ResourceId(res_id)),
            client_options: options(&e),
        }))
        .unwrap();
        let uami = e.emu.world().scenario.identity("uami").unwrap();
        assert_eq!(
            claims(user.as_ref(), COGNITIVE).await["oid"],
            uami.object_id()
        );
    }
}

#[test]
fn the_documented_scenario_example_parses() {
    let doc = include_str!("../docs/emulator.md");
    let start = doc.find("```toml\n").expect("a toml example") + "```toml\n".len();
    let end = start + doc[start..].find("```").unwrap();
    let scenario = Scenario::parse(&doc[start..end], "docs/emulator.md").unwrap();
    assert_eq!(scenario.machine.environment(), Some("ci-app"));
}

#[tokio::test(flavor = "multi_thread")]
async fn emulate_writes_the_env_file_once_it_answers() {
    let dir = tempfile::tempdir().unwrap();
    let scenario = dir.path().join("s.toml");
    std::fs::write(&scenario, FULL).unwrap();
    let env_file = dir.path().join("emu.env");
    let task = {
        let (scenario, env_file) = (scenario.clone(), env_file.clone());
        tokio::spawn(async move {
            entraprobe::emulator::run_foreground(&scenario, 0, Some(&env_file)).await
        })
    };
    let started = Instant::now();
    while !env_file.exists() {
        assert!(started.elapsed() < Duration::from_secs(20), "no env file");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let text = std::fs::read_to_string(&env_file).unwrap();
    let proxy = text
        .lines()
        .find_map(|l| l.strip_prefix("HTTPS_PROXY="))
        .unwrap()
        .to_string();
    // Written only once ready: the port answers at once.
    let health = reqwest::Client::builder()
        .no_proxy()
        .build()
        .unwrap()
        .get(format!("{proxy}/_emulator/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status().as_u16(), 200);
    assert!(dir.path().join("emu.env.d/ca.pem").exists());
    assert!(text.contains(&format!(
        "SSL_CERT_FILE={}",
        dir.path().join("emu.env.d/ca.pem").display()
    )));
    task.abort();

    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[tenant]\nid = \"x\"\nbogus = 1\n").unwrap();
    let err = entraprobe::emulator::run_foreground(&bad, 0, None)
        .await
        .unwrap_err();
    let usage = err
        .downcast_ref::<entraprobe::UsageError>()
        .expect("bad input is a UsageError");
    assert!(usage.0.contains("bad.toml:3"), "{}", usage.0);
}
