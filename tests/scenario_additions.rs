//! Scenario additions of design §5.5.1 (issue 10 item 8), each end to end: the emulator answers
//! as Azure does for the new field, and the real `entraprobe` binary classifies that answer.

mod common;

use common::{Harness, cell, codes, first_code};
use serde_json::Value;

const TENANT: &str = "0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11";
const OTHER_TENANT: &str = "9a9a9a9a-1b1b-4c4c-8d8d-0e0e0e0e0e0e";

/// A client that reaches the emulated Azure hosts through the emulator's proxy.
fn http(h: &Harness) -> reqwest::Client {
    let ca = std::fs::read(h.emulator.ca_file()).unwrap();
    reqwest::Client::builder()
        .proxy(reqwest::Proxy::all(format!("http://127.0.0.1:{}", h.emulator.port())).unwrap())
        .tls_certs_only([reqwest::Certificate::from_pem(&ca).unwrap()])
        .build()
        .unwrap()
}

/// A token for a scenario identity straight from the emulated Entra token endpoint.
async fn token(h: &Harness, identity: &str, secret: &str, scope: &str) -> String {
    let client_id = h.scenario.identity(identity).unwrap().client_id();
    let response = http(h)
        .post(format!(
            "https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token"
        ))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(
            form_urlencoded::Serializer::new(String::new())
                .append_pair("grant_type", "client_credentials")
                .append_pair("client_id", &client_id)
                .append_pair("client_secret", secret)
                .append_pair("scope", scope)
                .finish(),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body: Value = response.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_string()
}

// ---- [[search_service]] auth = "rbacOnly", aad_auth_failure_mode ----

fn search_scenario(environment: &str) -> String {
    format!(
        r#"
[tenant]
id = "{TENANT}"

[[identity]]
name = "app"
type = "service_principal"
secret = "app-secret-value"

[[identity]]
name = "norole"
type = "service_principal"
secret = "norole-secret-value"

[[identity]]
name = "guest"
type = "service_principal"
secret = "guest-secret-value"
home_tenant = "{OTHER_TENANT}"

[[search_service]]
name = "rbaconly"
auth = "rbacOnly"

[[search_service]]
name = "challenge"
auth = "aadOrApiKey"

[[search_service]]
name = "forbidden"
auth = "aadOrApiKey"
aad_auth_failure_mode = "http403"

[[role_assignment]]
principal = "app"
role = "Search Service Contributor"
scope = "subscription"

[[role_assignment]]
principal = "app"
role = "Reader"
scope = "subscription"

[[role_assignment]]
principal = "guest"
role = "Reader"
scope = "subscription"

[machine]
environment = "{environment}"
"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn rbac_only_search_refuses_keys_takes_tokens_and_arm_shows_the_failure_mode() {
    let h = Harness::start(&search_scenario("app")).await;
    let client = http(&h);
    // API keys are refused on a service with local authentication disabled.
    let keyed = client
        .get("https://rbaconly.search.windows.net/indexes?api-version=2023-11-01")
        .header("api-key", "0123456789abcdef")
        .send()
        .await
        .unwrap();
    assert_eq!(keyed.status(), 403);
    // ARM: disableLocalAuth with null authOptions; the failure mode where keys and tokens mix.
    let arm = token(
        &h,
        "app",
        "app-secret-value",
        "https://management.azure.com/.default",
    )
    .await;
    let sub = &h.scenario.tenant.subscription;
    let get = |name: &str| {
        client
            .get(format!("https://management.azure.com/subscriptions/{sub}/resourceGroups/rg-ai/providers/Microsoft.Search/searchServices/{name}?api-version=2023-11-01"))
            .bearer_auth(&arm)
            .send()
    };
    let rbac_only: Value = get("rbaconly").await.unwrap().json().await.unwrap();
    assert_eq!(rbac_only["properties"]["disableLocalAuth"], true);
    assert!(rbac_only["properties"]["authOptions"].is_null());
    let forbidden: Value = get("forbidden").await.unwrap().json().await.unwrap();
    assert_eq!(
        forbidden["properties"]["authOptions"]["aadOrApiKey"]["aadAuthFailureMode"],
        "http403"
    );
    let challenge: Value = get("challenge").await.unwrap().json().await.unwrap();
    assert_eq!(
        challenge["properties"]["authOptions"]["aadOrApiKey"]["aadAuthFailureMode"],
        "http401WithBearerChallenge"
    );

    // The tool: every service passes with a token; only the services that keep keys warn.
    let (report, out) = h.matrix(&["--credential", "environment"]).await;
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    for name in ["rbaconly", "challenge", "forbidden"] {
        assert_eq!(
            cell(&report, "environment", name)["verdict"],
            "pass",
            "{report:#}"
        );
    }
    let rbac_only_codes = codes(cell(&report, "environment", "rbaconly"));
    assert!(
        !rbac_only_codes.contains(&"local-auth-enabled".to_string()),
        "{rbac_only_codes:?}"
    );
    assert!(
        codes(cell(&report, "environment", "challenge"))
            .contains(&"local-auth-enabled".to_string())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_token_fails_under_either_failure_mode() {
    let h = Harness::start(&search_scenario("guest")).await;
    let (report, out) = h.matrix(&["--credential", "environment"]).await;
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    // A guest's token cannot read the resource tenant's ARM, so only the service's answer
    // speaks. Under http401WithBearerChallenge it is a rejection naming the tenant it expects;
    // under http403 it is the missing-role 403, and the finding says a rejected token is one
    // of its causes.
    for name in ["challenge", "rbaconly"] {
        let c = cell(&report, "environment", name);
        assert_eq!(c["verdict"], "fail", "{c:#}");
        assert_eq!(first_code(c), "token-rejected", "{name}: {c:#}");
        assert!(c.to_string().contains(TENANT), "{c:#}");
    }
    let c = cell(&report, "environment", "forbidden");
    assert_eq!(c["verdict"], "fail", "{c:#}");
    assert_eq!(first_code(c), "permission-denied", "{c:#}");
    assert!(
        c["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("aadAuthFailureMode: http403"),
        "{c:#}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_role_under_http403_names_the_role_and_the_failure_mode() {
    let h = Harness::start(&search_scenario("norole")).await;
    let (report, out) = h.matrix(&["--credential", "environment"]).await;
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    let c = cell(&report, "environment", "forbidden");
    assert_eq!(c["verdict"], "fail", "{c:#}");
    assert_eq!(first_code(c), "permission-denied", "{c:#}");
    assert!(
        c.to_string()
            .contains("Microsoft.Search/searchServices/indexes/read"),
        "{c:#}"
    );
    let challenge = cell(&report, "environment", "challenge");
    assert_eq!(challenge["verdict"], "fail", "{challenge:#}");
    assert_eq!(first_code(challenge), "permission-denied", "{challenge:#}");
}

// ---- [[identity]] certificate = "expired" | "not-uploaded" ----

async fn certificate_cell(state: &str) -> Value {
    let text = format!(
        r#"
[tenant]
id = "{TENANT}"

[[identity]]
name = "cert-app"
type = "service_principal"
certificate = "{state}"

[[account]]
name = "oai"
kind = "OpenAI"
custom_subdomain = "cert-oai"

[[role_assignment]]
principal = "cert-app"
role = "Cognitive Services OpenAI User"
scope = "subscription"

[machine]
environment = "cert-app"
environment_auth = "certificate"
"#
    );
    let h = Harness::start(&text).await;
    let (report, out) = h.matrix(&["--credential", "environment"]).await;
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    cell(&report, "environment", "oai").clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expired_certificate_is_named_as_expired() {
    let c = certificate_cell("expired").await;
    assert_eq!(c["verdict"], "fail", "{c:#}");
    assert_eq!(first_code(&c), "certificate-not-accepted", "{c:#}");
    let message = c["findings"][0]["message"].as_str().unwrap();
    assert!(message.contains("has expired"), "{message}");
    assert!(
        c["findings"][0]["remedy"]
            .as_str()
            .unwrap()
            .contains("new certificate")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_certificate_not_uploaded_is_named_as_not_uploaded() {
    let c = certificate_cell("not-uploaded").await;
    assert_eq!(c["verdict"], "fail", "{c:#}");
    assert_eq!(first_code(&c), "certificate-not-accepted", "{c:#}");
    let message = c["findings"][0]["message"].as_str().unwrap();
    assert!(message.contains("not uploaded"), "{message}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_registered_certificate_still_passes() {
    let c = certificate_cell_true().await;
    assert_eq!(c["verdict"], "pass", "{c:#}");
}

async fn certificate_cell_true() -> Value {
    // `true` stays a boolean in TOML.
    let text = format!(
        "[tenant]\nid = \"{TENANT}\"\n[[identity]]\nname = \"cert-app\"\ntype = \"service_principal\"\ncertificate = true\n[[account]]\nname = \"oai\"\nkind = \"OpenAI\"\ncustom_subdomain = \"cert-oai\"\n[[role_assignment]]\nprincipal = \"cert-app\"\nrole = \"Cognitive Services OpenAI User\"\nscope = \"subscription\"\n[machine]\nenvironment = \"cert-app\"\nenvironment_auth = \"certificate\"\n"
    );
    let h = Harness::start(&text).await;
    let (report, _) = h.matrix(&["--credential", "environment"]).await;
    cell(&report, "environment", "oai").clone()
}

#[test]
fn an_unknown_certificate_state_is_refused_with_its_line() {
    let err = entraprobe::emulator::scenario::Scenario::parse(
        "[[identity]]\nname = \"a\"\ntype = \"service_principal\"\ncertificate = \"revoked\"\n",
        "bad.toml",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("not-uploaded") && err.contains("bad.toml:"),
        "{err}"
    );
}

// ---- [[role_assignment]] revoked_after_s ----

fn revoked_scenario(revoked_after_s: u64) -> String {
    format!(
        r#"
[tenant]
id = "{TENANT}"

[[identity]]
name = "app"
type = "service_principal"
secret = "app-secret-value"

[[account]]
name = "oai"
kind = "OpenAI"
custom_subdomain = "revoked-oai"

[[role_assignment]]
principal = "app"
role = "Reader"
scope = "subscription"

[[role_assignment]]
principal = "app"
role = "Cognitive Services OpenAI User"
scope = "account:oai"
revoked_after_s = {revoked_after_s}

[machine]
environment = "app"
"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn access_lingering_after_a_removal_is_explained() {
    let h = Harness::start(&revoked_scenario(3600)).await;
    let (report, out) = h.matrix(&["--credential", "environment"]).await;
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    let c = cell(&report, "environment", "oai");
    // The live call wins: access is still in force.
    assert_eq!(c["verdict"], "pass", "{c:#}");
    // ARM no longer lists the assignment, so RBAC predicted a denial, and the cell says why
    // the two disagree.
    let note = c["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["message"].as_str().unwrap().contains("after a removal"))
        .unwrap_or_else(|| panic!("no removal note: {c:#}"));
    assert_eq!(note["code"], "permission-denied", "{c:#}");
    assert_eq!(note["severity"], "info", "{c:#}");
    // A gate that expects the removal to hold is not met yet.
    let (report, out) = h
        .matrix(&[
            "--credential",
            "environment",
            "--expect-deny",
            "environment:oai",
        ])
        .await;
    assert_ne!(out.code, 0, "{report:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_removal_that_has_propagated_denies() {
    let h = Harness::start(&revoked_scenario(0)).await;
    let (report, out) = h
        .matrix(&[
            "--credential",
            "environment",
            "--expect-deny",
            "environment:oai",
        ])
        .await;
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    let c = cell(&report, "environment", "oai");
    assert_eq!(c["verdict"], "fail", "{c:#}");
    assert_eq!(c["met"], true, "{c:#}");
    assert_eq!(out.code, 0, "{report:#}");
}

// ---- [machine] github_subject, app_service_client_id ----

#[tokio::test(flavor = "multi_thread")]
async fn a_github_subject_the_federated_credential_does_not_expect_is_a_mismatch() {
    let text = format!(
        r#"
[tenant]
id = "{TENANT}"

[[identity]]
name = "gh-app"
type = "service_principal"
federated = [{{ issuer = "https://token.actions.githubusercontent.com", subject = "repo:contoso/app:ref:refs/heads/main" }}]

[[account]]
name = "oai"
kind = "OpenAI"
custom_subdomain = "gh-oai"

[[role_assignment]]
principal = "gh-app"
role = "Cognitive Services OpenAI User"
scope = "subscription"

[machine]
github_actions_identity = "gh-app"
github_subject = "repo:contoso/app:environment:prod"
"#
    );
    let h = Harness::start(&text).await;
    let (report, out) = h.matrix(&["--credential", "github-actions"]).await;
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    let c = cell(&report, "github-actions", "oai");
    assert_eq!(c["verdict"], "fail", "{c:#}");
    assert_eq!(first_code(c), "federated-credential-mismatch", "{c:#}");
    let message = c["findings"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("repo:contoso/app:environment:prod"),
        "{message}"
    );
}

fn app_service_scenario() -> String {
    format!(
        r#"
[tenant]
id = "{TENANT}"

[[identity]]
name = "site-mi"
type = "managed_identity"
client_id = "7d1e0a52-3c4b-4e5f-8a9b-0c1d2e3f4a5b"

[[account]]
name = "oai"
kind = "OpenAI"
custom_subdomain = "site-oai"

[[role_assignment]]
principal = "site-mi"
role = "Cognitive Services OpenAI User"
scope = "subscription"

[machine]
app_service_client_id = "7d1e0a52-3c4b-4e5f-8a9b-0c1d2e3f4a5b"
"#
    )
}

async fn app_service_run(client_id: &str) -> Value {
    let h = Harness::start(&app_service_scenario()).await;
    let config = h.dir.path().join("entraprobe.toml");
    std::fs::write(
        &config,
        format!("[managed_identity]\nclient_id = \"{client_id}\"\n"),
    )
    .unwrap();
    let mut args: Vec<String> = vec![
        "run".into(),
        "--output".into(),
        "json".into(),
        "--config".into(),
        config.to_string_lossy().into_owned(),
        "--credential".into(),
        "managed-identity".into(),
    ];
    args.extend(h.service_flags());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = h.run(&refs).await;
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    cell(&out.json(), "managed-identity", "oai").clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn app_service_answers_for_its_user_assigned_identity() {
    let c = app_service_run("7d1e0a52-3c4b-4e5f-8a9b-0c1d2e3f4a5b").await;
    assert_eq!(c["verdict"], "pass", "{c:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn app_service_refuses_a_client_id_it_does_not_have() {
    let c = app_service_run("11111111-2222-4333-8444-555555555555").await;
    assert_eq!(c["verdict"], "fail", "{c:#}");
    assert_eq!(first_code(&c), "managed-identity-not-found", "{c:#}");
    let message = c["findings"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("11111111-2222-4333-8444-555555555555"),
        "{message}"
    );
    assert!(
        message.contains("App Service identity endpoint"),
        "{message}"
    );
}

#[test]
fn an_app_service_client_id_that_names_no_managed_identity_is_refused() {
    let err = entraprobe::emulator::scenario::Scenario::parse(
        "[machine]\napp_service_client_id = \"nobody\"\n",
        "bad.toml",
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("app_service_client_id") && err.contains("bad.toml:2"),
        "{err}"
    );
}

// ---- [tenant] cloud ----

fn usgov_scenario() -> String {
    format!(
        r#"
[tenant]
id = "{TENANT}"
cloud = "usgov"

[[identity]]
name = "gov-app"
type = "service_principal"
secret = "gov-secret-value"

[[account]]
name = "oai"
kind = "OpenAI"
custom_subdomain = "gov-oai"

[[search_service]]
name = "govsearch"

[[role_assignment]]
principal = "gov-app"
role = "Reader"
scope = "subscription"

[[role_assignment]]
principal = "gov-app"
role = "Cognitive Services OpenAI User"
scope = "subscription"

[[role_assignment]]
principal = "gov-app"
role = "Search Service Contributor"
scope = "subscription"

[machine]
environment = "gov-app"
"#
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn a_usgov_tenant_is_reached_with_cloud_usgov_and_unknown_to_the_public_cloud() {
    let h = Harness::start(&usgov_scenario()).await;
    let env: Vec<(String, String)> = h.emulator.env();
    assert!(
        env.iter()
            .any(|(k, v)| k == "AZURE_AUTHORITY_HOST" && v == "https://login.microsoftonline.us/"),
        "{env:?}"
    );
    let flags = h.service_flags();
    assert!(
        flags
            .iter()
            .any(|f| f.contains("https://gov-oai.openai.azure.us")),
        "{flags:?}"
    );
    assert!(
        flags
            .iter()
            .any(|f| f.contains("https://govsearch.search.azure.us")),
        "{flags:?}"
    );

    let (report, out) = h
        .matrix(&["--credential", "environment", "--cloud", "usgov"])
        .await;
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    assert_eq!(report["cloud"], "usgov", "{report:#}");
    for name in ["oai", "govsearch"] {
        let c = cell(&report, "environment", name);
        assert_eq!(c["verdict"], "pass", "{c:#}");
    }

    // The public cloud's authority does not know a US Government tenant: a machine without
    // AZURE_AUTHORITY_HOST, probed without --cloud, is told the tenant is not found there.
    let mut args: Vec<String> = ["run", "--output", "json", "--credential", "environment"]
        .map(String::from)
        .to_vec();
    args.extend(h.service_flags());
    let out: common::RunOutput = tokio::process::Command::new(common::bin())
        .args(&args)
        .env_clear()
        .envs(
            env.iter()
                .filter(|(k, _)| k != "AZURE_AUTHORITY_HOST")
                .cloned(),
        )
        .output()
        .await
        .unwrap()
        .into();
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    let report = out.json();
    let c = cell(&report, "environment", "oai");
    assert_eq!(c["verdict"], "fail", "{c:#}");
    assert_eq!(first_code(c), "tenant-not-found", "{c:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_usgov_tenant_gets_no_token_for_a_public_cloud_resource() {
    let h = Harness::start(&usgov_scenario()).await;
    let client_id = h.scenario.identity("gov-app").unwrap().client_id();
    let token = |scope: &'static str| {
        let client = http(&h);
        let client_id = client_id.clone();
        async move {
            client
                .post(format!(
                    "https://login.microsoftonline.us/{TENANT}/oauth2/v2.0/token"
                ))
                .header("content-type", "application/x-www-form-urlencoded")
                .body(
                    form_urlencoded::Serializer::new(String::new())
                        .append_pair("grant_type", "client_credentials")
                        .append_pair("client_id", &client_id)
                        .append_pair("client_secret", "gov-secret-value")
                        .append_pair("scope", scope)
                        .finish(),
                )
                .send()
                .await
                .unwrap()
        }
    };
    let gov = token("https://cognitiveservices.azure.us/.default").await;
    assert_eq!(gov.status(), 200);
    let body: Value = gov.json().await.unwrap();
    let claims = entraprobe::claims::decode(body["access_token"].as_str().unwrap()).unwrap();
    assert_eq!(
        claims.aud.as_deref(),
        Some("https://cognitiveservices.azure.us")
    );
    let public = token("https://cognitiveservices.azure.com/.default").await;
    assert_eq!(public.status(), 400);
    assert!(public.text().await.unwrap().contains("AADSTS500011"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_usgov_machine_probed_without_cloud_usgov_is_told_to_pass_it() {
    // AZURE_AUTHORITY_HOST sends the SDK to the US Government authority; the tool, left on the
    // public cloud, asks it for public-cloud audiences.
    let h = Harness::start(&usgov_scenario()).await;
    let (report, out) = h.matrix(&["--credential", "environment"]).await;
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    let c = cell(&report, "environment", "oai");
    assert_eq!(c["verdict"], "fail", "{c:#}");
    let finding = &c["findings"][0];
    assert!(
        finding["message"]
            .as_str()
            .unwrap()
            .contains("AADSTS500011"),
        "{c:#}"
    );
    assert!(
        finding["remedy"]
            .as_str()
            .unwrap()
            .contains("--cloud usgov"),
        "{c:#}"
    );
}
