//! Every credential source, success and its main failures, through the production path.

mod common;
use common::{Harness, cell, first_code};

const ACCOUNT: &str = r#"
[tenant]
id = "0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11"
subscription = "5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f"

[[account]]
name = "oai"
kind = "OpenAI"
custom_subdomain = "contoso-oai"

[[search_service]]
name = "srch"
auth = "aadOrApiKey"
indexes = ["products"]
"#;

fn grant(principal: &str) -> String {
    format!(
        "\n[[role_assignment]]\nprincipal = \"{principal}\"\nrole = \"Cognitive Services OpenAI User\"\nscope = \"subscription\"\n\n[[role_assignment]]\nprincipal = \"{principal}\"\nrole = \"Search Service Contributor\"\nscope = \"subscription\"\n\n[[role_assignment]]\nprincipal = \"{principal}\"\nrole = \"Reader\"\nscope = \"subscription\"\n"
    )
}

fn identity(name: &str, kind: &str, extra: &str) -> String {
    format!("\n[[identity]]\nname = \"{name}\"\ntype = \"{kind}\"\n{extra}\n")
}

#[tokio::test(flavor = "multi_thread")]
async fn environment_managed_identity_and_clis_pass_side_by_side() {
    let mut text = ACCOUNT.to_string();
    text += &identity(
        "env-sp",
        "service_principal",
        "secret = \"source-secret-value-1\"",
    );
    text += &identity("vm-mi", "managed_identity", "");
    text += &identity("alice", "user", "upn = \"alice@contoso.com\"");
    text += &identity("bob", "user", "upn = \"bob@contoso.com\"");
    text += &identity(
        "ado-sp",
        "service_principal",
        "federated = [{ issuer = \"https://vstoken.dev.azure.com/00000000-1111-2222-3333-444444444444\", subject = \"sc://contoso/ai/ai-platform-wif\", audience = \"api://AzureADTokenExchange\" }]",
    );
    for p in ["env-sp", "vm-mi", "alice", "bob", "ado-sp"] {
        text += &grant(p);
    }
    text += "\n[machine]\nenvironment = \"env-sp\"\nmanaged_identities = [\"vm-mi\"]\nazure_cli_user = \"alice\"\nazd_user = \"bob\"\nazure_pipelines_identity = \"ado-sp\"\n";
    let h = Harness::start(&text).await;
    let (report, out) = h.matrix(&[]).await;
    for source in [
        "environment",
        "managed-identity",
        "azure-cli",
        "azure-developer-cli",
        "azure-pipelines",
    ] {
        for service in ["oai", "srch"] {
            let c = cell(&report, source, service);
            assert_eq!(
                c["verdict"], "pass",
                "{source} × {service}: {c:#}\nstderr: {}",
                out.stderr
            );
        }
    }
    let rows = report["credentials"].as_array().unwrap();
    let row = |id: &str| rows.iter().find(|r| r["id"] == id).unwrap().clone();
    assert_eq!(
        row("azure-cli")["principal"]["display"],
        "alice@contoso.com"
    );
    assert_eq!(row("azure-cli")["principal"]["type"], "user");
    assert_eq!(
        row("managed-identity")["principal"]["type"],
        "managed_identity"
    );
    assert_eq!(row("environment")["principal"]["type"], "service_principal");
    assert_eq!(row("workload-identity")["status"], "skipped");
    assert_eq!(row("github-actions")["status"], "skipped");
    assert_eq!(report["default_credential"], "environment");
}

#[tokio::test(flavor = "multi_thread")]
async fn certificate_workload_identity_and_github_actions_pass() {
    for (machine, source) in [
        (
            "environment = \"sp\"\nenvironment_auth = \"certificate\"",
            "environment",
        ),
        ("workload_identity = \"sp\"", "workload-identity"),
        ("github_actions_identity = \"sp\"", "github-actions"),
    ] {
        let mut text = ACCOUNT.to_string();
        text += &identity(
            "sp",
            "service_principal",
            "certificate = true\nfederated = [{ issuer = \"https://token.actions.githubusercontent.com\", subject = \"repo:contoso/app:ref:refs/heads/main\" }, { issuer = \"https://oidc.prod-aks.azure.com/abc/\", subject = \"system:serviceaccount:default:app\" }]",
        );
        text += &grant("sp");
        text += &format!("\n[machine]\n{machine}\n");
        let h = Harness::start(&text).await;
        let (report, out) = h.matrix(&["--credential", source]).await;
        let c = cell(&report, source, "oai");
        assert_eq!(
            c["verdict"], "pass",
            "{source}: {c:#}\nstderr: {}",
            out.stderr
        );
    }
}

async fn failing(machine: &str, ident: &str, source: &str) -> (String, serde_json::Value) {
    let mut text = ACCOUNT.to_string();
    text += ident;
    text += &format!("\n[machine]\n{machine}\n");
    let h = Harness::start(&text).await;
    let (report, _) = h.matrix(&["--credential", source]).await;
    let row = report["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == source)
        .unwrap()
        .clone();
    let c = cell(&report, source, "oai").clone();
    let code = row["findings"][0]["code"]
        .as_str()
        .map(str::to_string)
        .unwrap_or_else(|| first_code(&c));
    (code, c)
}

#[tokio::test(flavor = "multi_thread")]
async fn credential_failures_map_to_their_codes() {
    let sp = identity(
        "sp",
        "service_principal",
        "secret = \"right-secret-value-1\"",
    );
    let (code, c) = failing(
        "environment = \"sp\"\nenvironment_auth = \"wrong-secret\"",
        &sp,
        "environment",
    )
    .await;
    assert_eq!(code, "invalid-client-secret", "{c:#}");
    assert_eq!(c["verdict"], "fail");

    let expired = identity(
        "sp",
        "service_principal",
        "secret = \"right-secret-value-1\"\nsecret_expired = true",
    );
    let (code, c) = failing("environment = \"sp\"", &expired, "environment").await;
    assert_eq!(code, "client-secret-expired", "{c:#}");

    let fed = identity(
        "sp",
        "service_principal",
        "federated = [{ issuer = \"https://oidc.prod-aks.azure.com/abc/\", subject = \"system:serviceaccount:default:app\" }]",
    );
    let (code, c) = failing(
        "workload_identity = \"sp\"\nworkload_subject = \"system:serviceaccount:default:other\"",
        &fed,
        "workload-identity",
    )
    .await;
    assert_eq!(code, "federated-credential-mismatch", "{c:#}");

    let mi = identity("mi", "managed_identity", "");
    let (code, c) = failing("managed_identities = []", &mi, "managed-identity").await;
    assert_eq!(code, "imds-unreachable", "{c:#}");
    assert_eq!(c["verdict"], "skip");

    let two = identity("mi-a", "managed_identity", "") + &identity("mi-b", "managed_identity", "");
    let (code, c) = failing(
        "managed_identities = [\"mi-a\", \"mi-b\"]\nsystem_assigned = false",
        &two,
        "managed-identity",
    )
    .await;
    assert_eq!(code, "managed-identity-ambiguous", "{c:#}");

    let (code, c) = failing("", &mi, "azure-cli").await;
    assert_eq!(code, "cli-not-logged-in", "{c:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_machine_without_imds_is_probed_once_however_many_scopes() {
    // OpenAI, Search and ARM: three scopes, one probe of 169.254.169.254.
    let mut text = ACCOUNT.to_string();
    text += &identity("mi", "managed_identity", "");
    text += "\n[machine]\nmanaged_identities = []\n";
    let h = Harness::start(&text).await;
    let (report, _) = h.matrix(&["--credential", "managed-identity"]).await;
    assert_eq!(cell(&report, "managed-identity", "srch")["verdict"], "skip");
    assert_eq!(h.emulator.world().counters.get("imds.absent"), 1);
}
