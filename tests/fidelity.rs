//! Fidelity: unmodified Python `azure-identity` and `azure-mgmt-authorization` get tokens and
//! list role assignments from the emulator with nothing but its environment applied. This is
//! what proves the emulator speaks Azure's protocols rather than our own client's dialect.
//!
//! Needs a Python with those packages: `.ci/run` builds one and sets
//! `ENTRAPROBE_FIDELITY_PYTHON`. Outside CI, without it, the test says so and passes; in CI
//! (`CI=true`) a missing interpreter is a failure.

mod common;

use common::{Harness, RunOutput};
use std::ffi::OsString;

/// The client secret of the scenario's service principal, which the script signs in with.
const SECRET: &str = "fidelity-secret-value-1";

/// The Python that has the fidelity packages, or `None` when the test is to be skipped: outside
/// CI only, since in CI (`CI` set) a missing interpreter is a failure.
fn fidelity_python() -> Option<OsString> {
    let python = std::env::var_os("ENTRAPROBE_FIDELITY_PYTHON");
    if python.is_none() {
        assert!(
            std::env::var("CI").is_err(),
            "CI must run the fidelity test: set ENTRAPROBE_FIDELITY_PYTHON (see .ci/run)"
        );
        eprintln!("skipping: ENTRAPROBE_FIDELITY_PYTHON is not set (.ci/run sets it)");
    }
    python
}

/// The emulator on tests/fidelity/scenario.toml.
async fn start_fidelity_emulator() -> Harness {
    Harness::start(include_str!("fidelity/scenario.toml")).await
}

/// `real_clients.py` under `python` with nothing but the emulator's environment and `env`;
/// the emulator is shut down once the script has ended. Fails unless the script succeeds.
async fn run_real_clients(
    python: OsString,
    harness: Harness,
    env: Vec<(String, String)>,
) -> RunOutput {
    let output = tokio::process::Command::new(python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fidelity/real_clients.py"
        ))
        .env_clear()
        .envs(harness.emulator.env())
        .envs(env)
        .output()
        .await
        .unwrap();
    harness.emulator.shutdown().await;
    let output = RunOutput::from(output);
    assert_eq!(output.code, 0, "python failed: {}", output.stderr);
    output
}

/// The variables the azure-identity and azure-mgmt-authorization part of the script reads:
/// the client secret, the workload and VM identities' client ids, the subscription and alice.
fn sdk_env(harness: &Harness) -> Vec<(String, String)> {
    let scenario = &harness.scenario;
    [
        ("FIDELITY_SECRET", SECRET.to_string()),
        (
            "FIDELITY_WORKLOAD_CLIENT_ID",
            "22222222-2222-4222-8222-222222222222".to_string(),
        ),
        (
            "FIDELITY_VM_MI_CLIENT_ID",
            "33333333-3333-4333-8333-333333333333".to_string(),
        ),
        (
            "FIDELITY_SUBSCRIPTION",
            scenario.tenant.subscription.clone(),
        ),
        (
            "FIDELITY_ALICE_OID",
            scenario.identity("alice").unwrap().object_id(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// None of `secrets`, and nothing that starts like a JWT, in any of `texts`.
fn assert_nothing_leaked(texts: &[&str], secrets: &[&str]) {
    for text in texts {
        for secret in secrets {
            assert!(!text.contains(secret), "a secret leaked: {text}");
        }
        assert!(
            !text.contains("eyJ0eX") && !text.contains("eyJhbG"),
            "a token leaked"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn real_python_clients_talk_to_the_emulator() {
    let Some(python) = fidelity_python() else {
        return;
    };
    let harness = start_fidelity_emulator().await;
    let alice = harness.scenario.identity("alice").unwrap().object_id();
    let group = harness.scenario.group("ai-devs").unwrap().object_id();
    let env = sdk_env(&harness);
    let output = run_real_clients(python, harness, env).await;
    assert_nothing_leaked(&[&output.stdout, &output.stderr], &[SECRET]);
    let out = output.json();
    let oid = |name: &str| {
        let v = &out[name];
        assert!(v.get("error").is_none(), "{name}: {}", v["error"]);
        assert_eq!(
            v["aud"], "https://cognitiveservices.azure.com",
            "{name}: {v}"
        );
        v["oid"].as_str().unwrap_or_default().to_string()
    };
    assert_eq!(oid("client_secret"), "11111111-aaaa-4aaa-8aaa-111111111111");
    assert_eq!(out["client_secret"]["appidacr"], "1");
    assert_eq!(oid("certificate"), "11111111-aaaa-4aaa-8aaa-111111111111");
    assert_eq!(out["certificate"]["appidacr"], "2");
    assert_eq!(
        oid("workload_identity"),
        "22222222-aaaa-4aaa-8aaa-222222222222"
    );
    assert_eq!(oid("app_service"), "44444444-aaaa-4aaa-8aaa-444444444444");
    assert_eq!(oid("imds"), "33333333-aaaa-4aaa-8aaa-333333333333");
    assert_eq!(
        oid("imds_by_client_id"),
        "33333333-aaaa-4aaa-8aaa-333333333333"
    );
    assert_eq!(oid("azure_cli"), alice);
    assert_eq!(out["azure_cli"]["upn"], "alice@contoso.com");
    let listed = out["assigned_to_alice"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", out["assigned_to_alice"]));
    assert!(
        listed.iter().any(|a| a["principal_id"] == group.as_str()
            && a["principal_type"] == "Group"
            && a["role"] == "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd"),
        "assignedTo(alice) must include the group's OpenAI User assignment: {listed:?}"
    );
    assert!(
        !listed
            .iter()
            .any(|a| a["principal_id"] == "11111111-aaaa-4aaa-8aaa-111111111111"),
        "{listed:?}"
    );
    let graph = &out["resource_graph"];
    assert!(
        graph.get("error").is_none(),
        "resource graph: {}",
        graph["error"]
    );
    assert_eq!(graph["total"], 2, "{graph}");
    assert_eq!(
        graph["rows"][0],
        serde_json::json!({"name": "fid-openai", "type": "microsoft.cognitiveservices/accounts", "kind": "OpenAI"}),
        "{graph}"
    );
}

/// Issue 10: real `requests` against the emulator's Microsoft Graph with an azure-identity
/// token, and a PIM eligibility listing through azure-mgmt-authorization.
#[tokio::test(flavor = "multi_thread")]
async fn real_python_clients_read_graph_and_pim() {
    let Some(python) = fidelity_python() else {
        return;
    };
    let harness = start_fidelity_emulator().await;
    let alice = harness.scenario.identity("alice").unwrap().object_id();
    let group = harness.scenario.group("ai-devs").unwrap().object_id();
    let mut env = sdk_env(&harness);
    env.push(("FIDELITY_GROUP_OID".into(), group.clone()));
    let output = run_real_clients(python, harness, env).await;
    assert_nothing_leaked(&[&output.stdout], &[]);
    let out = output.json();
    let graph = &out["graph"];
    assert!(graph.get("error").is_none(), "graph: {}", graph["error"]);
    let user = &graph["user"];
    assert_eq!(user["status"], 200, "{user}");
    assert_eq!(
        user["body"]["@odata.context"],
        "https://graph.microsoft.com/v1.0/$metadata#users/$entity"
    );
    assert_eq!(user["body"]["id"], alice.as_str());
    assert_eq!(user["body"]["userPrincipalName"], "alice@contoso.com");
    let sps = &graph["service_principals"];
    assert_eq!(sps["status"], 200, "{sps}");
    assert_eq!(
        sps["body"]["@odata.context"],
        "https://graph.microsoft.com/v1.0/$metadata#servicePrincipals"
    );
    assert_eq!(
        sps["body"]["value"][0]["id"], "11111111-aaaa-4aaa-8aaa-111111111111",
        "{sps}"
    );
    assert_eq!(
        sps["body"]["value"][0]["appId"],
        "11111111-1111-4111-8111-111111111111"
    );
    let member = &graph["check_member_groups"];
    assert_eq!(member["status"], 200, "{member}");
    assert_eq!(
        member["body"]["value"],
        serde_json::json!([group]),
        "{member}"
    );
    let denied = &graph["denied"];
    assert_eq!(denied["status"], 403, "{denied}");
    assert_eq!(
        denied["body"]["error"]["code"], "Authorization_RequestDenied",
        "{denied}"
    );
    assert_eq!(
        denied["body"]["error"]["message"],
        "Insufficient privileges to complete the operation."
    );
    let eligible = out["pim_eligible"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", out["pim_eligible"]));
    assert!(
        eligible.iter().any(|e| e["principal_id"] == alice.as_str()
            && e["scope"]
                .as_str()
                .is_some_and(|s| s.ends_with("/accounts/fid-openai"))),
        "{eligible:?}"
    );
    // The SDK's model reads the activation's type, end and origin assignment; a permanent
    // assignment has no end.
    let active = out["pim_active"]
        .as_array()
        .unwrap_or_else(|| panic!("{}", out["pim_active"]));
    let activation = active
        .iter()
        .find(|a| a["assignment_type"] == "Activated")
        .unwrap_or_else(|| panic!("{active:?}"));
    assert_eq!(activation["principal_id"], alice.as_str(), "{activation}");
    assert!(activation["end"].is_string(), "{activation}");
    assert!(
        activation["origin"]
            .as_str()
            .is_some_and(|o| o.contains("/providers/Microsoft.Authorization/roleAssignments/")),
        "{activation}"
    );
    assert!(
        active
            .iter()
            .any(|a| a["assignment_type"] == "Assigned" && a["end"].is_null()),
        "{active:?}"
    );
}

/// Issue 11 item 9: the stock openai-python `OpenAI` client (base_url `…/openai/v1/`, an
/// azure-identity bearer-token provider as `api_key`) and azure-ai-projects' `AIProjectClient`
/// (agents list on a project endpoint), unmodified, through the emulator's proxy: Foundry User on
/// the account reaches both; on the project only, it reaches the project and not the account's
/// v1 routes; a principal with no data action gets each client's own authorization error.
#[tokio::test(flavor = "multi_thread")]
async fn real_foundry_clients_list_models_and_agents() {
    let Some(python) = fidelity_python() else {
        return;
    };
    let harness = start_fidelity_emulator().await;
    let scenario = &harness.scenario;
    let identities = ["fid-builder", "fid-project-dev", "fid-outsider"];
    let mut env: Vec<(String, String)> = vec![
        ("FIDELITY_PART".into(), "foundry".into()),
        ("FIDELITY_FOUNDRY_ACCOUNT".into(), "fid-foundry".into()),
        ("FIDELITY_FOUNDRY_PROJECT".into(), "agents".into()),
        ("FIDELITY_FOUNDRY_IDENTITIES".into(), identities.join(",")),
    ];
    let mut secrets = Vec::new();
    for name in identities {
        let identity = scenario.identity(name).unwrap();
        let secret = identity.secret.clone().expect("a secret in the scenario");
        let key = format!("FIDELITY_FOUNDRY_{}", name.to_uppercase().replace('-', "_"));
        env.push((key, format!("{}:{secret}", identity.client_id())));
        secrets.push(secret);
    }
    let oid = |name: &str| scenario.identity(name).unwrap().object_id();
    let (builder, project_dev, outsider) = (
        oid("fid-builder"),
        oid("fid-project-dev"),
        oid("fid-outsider"),
    );
    let output = run_real_clients(python, harness, env).await;
    let secrets: Vec<&str> = secrets.iter().map(String::as_str).collect();
    assert_nothing_leaked(&[&output.stdout, &output.stderr], &secrets);
    let out = output.json();
    let foundry = &out["foundry"];
    assert!(foundry.get("error").is_none(), "{foundry:#}");

    // The provider minted what it was asked for, and the gateway accepted either audience.
    let builder_out = &foundry["fid-builder"];
    for (case, aud) in [
        ("openai_v1_ai_audience", "https://ai.azure.com"),
        (
            "openai_v1_cognitive_audience",
            "https://cognitiveservices.azure.com",
        ),
    ] {
        let result = &builder_out[case];
        assert_eq!(result["claims"]["aud"], aud, "{case}: {result:#}");
        assert_eq!(
            result["claims"]["oid"],
            builder.as_str(),
            "{case}: {result:#}"
        );
        let models = result["models"]
            .as_array()
            .unwrap_or_else(|| panic!("{case}: openai.OpenAI must list models: {result:#}"));
        assert!(
            models.iter().any(|m| m == "gpt-4o-2024-08-06"),
            "{case}: {result:#}"
        );
    }
    let agents = &builder_out["project_agents"];
    assert!(
        agents["agents"].as_array().is_some_and(|a| a.is_empty()),
        "AIProjectClient.agents.list must page an empty list: {agents:#}"
    );

    // Denied: each client raises its own authorization error for the emulator's PermissionDenied.
    let openai_denied = |who: &str, oid: &str, case: &str| {
        let result = &foundry[who][case];
        assert_eq!(
            result["error_type"], "openai.AuthenticationError",
            "{who} {case}: a 401 PermissionDenied is openai's AuthenticationError: {result:#}"
        );
        assert_eq!(result["status"], 401, "{who} {case}: {result:#}");
        assert_eq!(
            result["code"], "PermissionDenied",
            "{who} {case}: {result:#}"
        );
        let message = result["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(oid)
                && message.contains("Microsoft.CognitiveServices/accounts/OpenAI/models/read"),
            "{who} {case}: the message names the principal and the data action: {result:#}"
        );
    };
    let project_denied = |who: &str, oid: &str| {
        let result = &foundry[who]["project_agents"];
        assert_eq!(
            result["error_type"], "azure.core.exceptions.ClientAuthenticationError",
            "{who}: a 401 is azure-core's ClientAuthenticationError (an HttpResponseError): {result:#}"
        );
        assert_eq!(result["status"], 401, "{who}: {result:#}");
        assert_eq!(result["code"], "PermissionDenied", "{who}: {result:#}");
        let message = result["message"].as_str().unwrap_or_default();
        assert!(
            message.contains(oid)
                && message.contains("Microsoft.CognitiveServices/accounts/AIServices/agents/read")
                && message.contains("GET /api/projects/{projectName}/agents"),
            "{who}: {result:#}"
        );
    };
    for case in ["openai_v1_ai_audience", "openai_v1_cognitive_audience"] {
        // A grant on the project never flows up to the account's own routes.
        openai_denied("fid-project-dev", &project_dev, case);
        openai_denied("fid-outsider", &outsider, case);
    }
    let inherited = &foundry["fid-project-dev"]["project_agents"];
    assert!(
        inherited["agents"].as_array().is_some(),
        "a grant on the project reaches the project: {inherited:#}"
    );
    project_denied("fid-outsider", &outsider);

    // The classic audience on a project route: the project gateway's flat 401, which azure-core
    // raises as ClientAuthenticationError, whatever the caller's roles.
    for who in identities {
        let result = &foundry[who]["project_agents_cognitive_audience"];
        assert_eq!(
            result["error_type"], "azure.core.exceptions.ClientAuthenticationError",
            "{who}: {result:#}"
        );
        assert_eq!(result["status"], 401, "{who}: {result:#}");
        assert!(
            result["message"]
                .as_str()
                .is_some_and(|m| m.contains("audience is incorrect (https://ai.azure.com)")),
            "{who}: {result:#}"
        );
    }
}
