//! `azure-powershell`: the eighth source, through the real binary and the emulator's fake `pwsh`
//! (which reads the encoded script the tool sends, as pwsh would run it).

mod common;
use common::{Harness, cell};

const SCENARIO: &str = r#"
[tenant]
id = "0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11"
subscription = "5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f"

[[account]]
name = "oai"
kind = "OpenAI"
custom_subdomain = "contoso-oai"

[[identity]]
name = "alice"
type = "user"
upn = "alice@contoso.com"

[[role_assignment]]
principal = "alice"
role = "Cognitive Services OpenAI User"
scope = "subscription"
"#;

fn row(report: &serde_json::Value, id: &str) -> serde_json::Value {
    report["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no row {id} in {report:#}"))
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_signed_in_azure_powershell_gets_a_token_and_passes() {
    let h = Harness::start(&format!(
        "{SCENARIO}\n[machine]\npowershell_user = \"alice\"\n"
    ))
    .await;
    let (report, out) = h.matrix(&["--credential", "azure-powershell"]).await;
    let c = cell(&report, "azure-powershell", "oai");
    assert_eq!(c["verdict"], "pass", "{c:#}\nstderr: {}", out.stderr);
    let r = row(&report, "azure-powershell");
    assert_eq!(r["status"], "acquired");
    assert_eq!(r["principal"]["display"], "alice@contoso.com");
    assert_eq!(r["principal"]["type"], "user");
    // The token was Azure PowerShell's (its public client), not the Azure CLI's.
    assert_eq!(
        r["principal"]["app_id"], "1950a258-227b-4e31-a9cf-717495945fc2",
        "{r:#}"
    );
    assert!(!out.stdout.contains("eyJ") && !out.stderr.contains("eyJ"));

    // `token` shows the same identity.
    let out = h
        .run(&["token", "--credential", "azure-powershell", "--json"])
        .await;
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("alice@contoso.com"), "{}", out.stdout);
}

#[tokio::test(flavor = "multi_thread")]
async fn not_signed_in_and_module_missing_are_skips_with_their_fix() {
    // Nobody ran Connect-AzAccount.
    let h = Harness::start(&format!("{SCENARIO}\n[machine]\n")).await;
    let (report, _) = h.matrix(&["--credential", "azure-powershell"]).await;
    let r = row(&report, "azure-powershell");
    assert_eq!(r["status"], "skipped", "{r:#}");
    assert_eq!(r["findings"][0]["code"], "cli-not-logged-in", "{r:#}");
    let message = r["findings"][0]["message"].as_str().unwrap();
    assert!(message.contains("Run Connect-AzAccount to login"), "{r:#}");
    assert!(
        r["findings"][0]["remedy"]
            .as_str()
            .unwrap()
            .contains("Connect-AzAccount"),
        "{r:#}"
    );

    // pwsh is there, Az.Accounts is not.
    let h = Harness::start(&format!(
        "{SCENARIO}\n[machine]\npowershell_user = \"alice\"\npowershell_az_accounts = false\n"
    ))
    .await;
    let (report, _) = h.matrix(&["--credential", "azure-powershell"]).await;
    let r = row(&report, "azure-powershell");
    assert_eq!(r["status"], "skipped", "{r:#}");
    assert_eq!(r["findings"][0]["code"], "cli-not-installed", "{r:#}");
    assert!(
        r["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Az.Accounts"),
        "{r:#}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn powershell_is_picked_after_a_logged_out_azure_cli() {
    // az is on PATH but logged out (the chain skips it); Azure PowerShell is signed in; azd is
    // signed in too but comes after PowerShell in azure-identity's chain.
    let h = Harness::start(&format!(
        "{SCENARIO}\n[[identity]]\nname = \"bob\"\ntype = \"user\"\n\n[machine]\npowershell_user = \"alice\"\nazd_user = \"bob\"\n"
    ))
    .await;
    let (report, out) = h.matrix(&[]).await;
    assert_eq!(
        report["default_credential"], "azure-powershell",
        "{}",
        out.stderr
    );
}
