//! Foundry end to end through the emulator (issue 11): projects on the services host with the
//! `https://ai.azure.com` audience, Foundry Models, OpenAI v1, project-scope roles, and the
//! audience a surface wants.

mod common;
use common::{Harness, cell, codes, first_code};

fn scenario(roles: &str) -> String {
    format!(
        r#"
[[identity]]
name = "app"
type = "service_principal"
secret = "foundry-secret-value-1"

[[identity]]
name = "agents-mi"
type = "managed_identity"

[[account]]
name = "fdy-main"
kind = "AIServices"
custom_subdomain = "fdy-main"
allow_project_management = true
surfaces = ["openai", "model-inference"]
model_deployments = ["DeepSeek-R1"]

[[project]]
name = "agents"
account = "fdy-main"
identity = "agents-mi"

[[role_assignment]]
principal = "app"
role = "Reader"
scope = "subscription"
{roles}
[machine]
environment = "app"
"#
    )
}

fn role(role: &str, scope: &str) -> String {
    format!("[[role_assignment]]\nprincipal = \"app\"\nrole = \"{role}\"\nscope = \"{scope}\"\n")
}

const TARGETS: [&str; 3] = [
    "fdy-main:openai",
    "fdy-main:model-inference",
    "fdy-main/agents",
];

#[tokio::test(flavor = "multi_thread")]
async fn foundry_user_on_the_account_reaches_every_surface_and_its_projects() {
    // The former name is accepted as the same role (matched by GUID).
    for name in ["Foundry User", "Azure AI User"] {
        let h = Harness::start(&scenario(&role(name, "account:fdy-main"))).await;
        let (report, out) = h.matrix(&["--credential", "environment"]).await;
        for t in TARGETS {
            let c = cell(&report, "environment", t);
            assert_eq!(c["verdict"], "pass", "{name} {t}: {c:#}\n{}", out.stderr);
        }
        let project = cell(&report, "environment", "fdy-main/agents");
        assert!(
            project["http"]["url"]
                .as_str()
                .unwrap()
                .starts_with("https://fdy-main.services.ai.azure.com/api/projects/agents/agents?"),
            "{project:#}"
        );
        // OpenAI v1 on the services host, with no dated api-version, says which audience it used.
        let openai = cell(&report, "environment", "fdy-main:openai");
        assert_eq!(
            openai["http"]["url"],
            "https://fdy-main.services.ai.azure.com/openai/v1/models"
        );
        let call = openai["stages"]["call"].as_str().unwrap();
        assert!(
            call.contains("token for `https://cognitiveservices.azure.com`")
                && call.contains("also accepts `https://ai.azure.com`"),
            "{call}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn openai_user_lacks_foundry_models_and_the_project() {
    let h = Harness::start(&scenario(&role(
        "Cognitive Services OpenAI User",
        "account:fdy-main",
    )))
    .await;
    let (report, _) = h.matrix(&["--credential", "environment"]).await;
    assert_eq!(
        cell(&report, "environment", "fdy-main:openai")["verdict"],
        "pass"
    );
    for t in ["fdy-main:model-inference", "fdy-main/agents"] {
        let c = cell(&report, "environment", t);
        assert_eq!(c["verdict"], "fail", "{t}: {c:#}");
        assert_eq!(first_code(c), "missing-data-action", "{t}: {c:#}");
    }
    let text = cell(&report, "environment", "fdy-main:model-inference").to_string();
    assert!(text.contains("MaaS/chat/completions/action"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_project_grant_reaches_the_project_never_the_account() {
    let h = Harness::start(&scenario(&role("Foundry User", "project:fdy-main/agents"))).await;
    let (report, out) = h.matrix(&["--credential", "environment"]).await;
    let project = cell(&report, "environment", "fdy-main/agents");
    assert_eq!(project["verdict"], "pass", "{project:#}\n{}", out.stderr);
    for t in ["fdy-main:openai", "fdy-main:model-inference"] {
        let c = cell(&report, "environment", t);
        assert_eq!(c["verdict"], "fail", "{t}: {c:#}");
        assert_eq!(first_code(c), "role-at-wrong-scope", "{t}: {c:#}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_hub_era_developer_role_lacks_the_agents_actions() {
    let h = Harness::start(&scenario(&role("Azure AI Developer", "account:fdy-main"))).await;
    let (report, _) = h.matrix(&["--credential", "environment"]).await;
    let c = cell(&report, "environment", "fdy-main/agents");
    assert_eq!(c["verdict"], "fail", "{c:#}");
    assert!(c.to_string().contains("AIServices/agents/read"), "{c:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_project_called_with_the_cognitive_services_audience_is_a_wrong_audience() {
    let h = Harness::start(&scenario(&role("Foundry User", "account:fdy-main"))).await;
    let sub = h.scenario.tenant.subscription.clone();
    let id = format!(
        "/subscriptions/{sub}/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/fdy-main/projects/agents"
    );
    let project = "https://fdy-main.services.ai.azure.com/api/projects/agents";
    let wrong = format!(
        "p=foundry-project@{project},resource={id},audience=https://cognitiveservices.azure.com"
    );
    let (report, out) = h
        .report(&["--credential", "environment", "--service", &wrong])
        .await;
    let c = cell(&report, "environment", "p");
    assert_eq!(c["verdict"], "fail", "{c:#}\n{}", out.stderr);
    assert_eq!(first_code(c), "wrong-audience", "{c:#}");
    let finding = &c["findings"][0];
    let message = finding["message"].as_str().unwrap();
    assert!(
        message.contains("wants a token for `https://ai.azure.com`"),
        "{message}"
    );
    let remedy = finding["remedy"].as_str().unwrap();
    assert!(
        remedy.contains("--scope https://ai.azure.com/.default"),
        "{remedy}"
    );

    // Foundry Models accept either audience: the same token passes there.
    let models =
        "m=model-inference@https://fdy-main.services.ai.azure.com/,audience=https://ai.azure.com";
    let (report, _) = h
        .report(&["--credential", "environment", "--service", models])
        .await;
    let c = cell(&report, "environment", "m");
    assert_eq!(c["verdict"], "pass", "{c:#}");
    assert!(
        c["stages"]["call"]
            .as_str()
            .unwrap()
            .contains("token for `https://ai.azure.com`")
    );
    assert!(!codes(c).contains(&"wrong-audience".to_string()));
}

#[tokio::test(flavor = "multi_thread")]
async fn discovery_finds_the_project_and_probes_it_on_its_own_audience() {
    let h = Harness::start(&scenario(&role("Foundry User", "account:fdy-main"))).await;
    let (report, out) = h
        .report(&[
            "--discover",
            "--credential",
            "environment",
            "--timeout",
            "10s",
        ])
        .await;
    let c = cell(&report, "environment", "fdy-main/agents");
    assert_eq!(c["verdict"], "pass", "{c:#}\n{}", out.stderr);
    assert_eq!(report["discovery"]["subscriptions"][0]["projects"], 1);
    // An AIServices account is probed on Foundry Models too.
    let models = cell(&report, "environment", "fdy-main:model-inference");
    assert_eq!(models["verdict"], "pass", "{models:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_project_identity_without_a_role_on_its_account_is_named() {
    let h = Harness::start(&scenario(&role("Foundry User", "account:fdy-main"))).await;
    let (report, out) = h.matrix(&["--credential", "environment"]).await;
    let c = cell(&report, "environment", "fdy-main/agents");
    // The caller may list agents; runs through the project would fail as the project's identity.
    assert_eq!(c["verdict"], "pass", "{c:#}\n{}", out.stderr);
    assert!(
        codes(c).contains(&"project-identity-missing-role".to_string()),
        "{c:#}"
    );
    let oid = entraprobe::emulator::authz::object_id_of(&h.scenario, "agents-mi");
    assert!(c.to_string().contains(&oid), "{c:#}");

    let granted = format!(
        "{}[[role_assignment]]\nprincipal = \"agents-mi\"\nrole = \"Foundry User\"\nscope = \"account:fdy-main\"\n",
        role("Foundry User", "account:fdy-main")
    );
    let h = Harness::start(&scenario(&granted)).await;
    let (report, _) = h.matrix(&["--credential", "environment"]).await;
    let c = cell(&report, "environment", "fdy-main/agents");
    assert_eq!(c["verdict"], "pass", "{c:#}");
    assert!(
        !codes(c).contains(&"project-identity-missing-role".to_string()),
        "{c:#}"
    );
}
