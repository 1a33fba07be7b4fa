//! Issue 10, items 3 and 6, end to end through the emulator's Microsoft Graph: admin mode
//! speaks names (object id, app id, UPN, display name, managed identity resource id), never
//! guesses between two principals of one display name, finds roles assigned to an app
//! registration object, and settles deny assignments on groups with `checkMemberGroups`.

mod common;

use common::{Harness, cell, codes, first_code};

const SCENARIO: &str = r#"
[[identity]]
name = "alice"
type = "user"
upn = "alice@contoso.com"
display_name = "Alice Admin"

[[identity]]
name = "ci-app"
type = "service_principal"
display_name = "CI App"

[[identity]]
name = "bot-a"
type = "service_principal"
display_name = "Contoso Bot"

[[identity]]
name = "bot-b"
type = "service_principal"
display_name = "Contoso Bot"

[[identity]]
name = "chat-mi"
type = "managed_identity"

[[identity]]
name = "carol"
type = "user"
upn = "carol@contoso.com"

[[identity]]
name = "dave"
type = "user"
upn = "dave@contoso.com"

[[group]]
name = "contractors"
members = ["carol"]

[[account]]
name = "oai"
kind = "OpenAI"
custom_subdomain = "graph-oai"

[[role_assignment]]
principal = "alice"
role = "Reader"
scope = "subscription"

[[role_assignment]]
principal = "app:ci-app"
role = "Cognitive Services OpenAI User"
scope = "account:oai"

[[role_assignment]]
principal = "chat-mi"
role = "Cognitive Services OpenAI User"
scope = "account:oai"

[[role_assignment]]
principal = "carol"
role = "Cognitive Services OpenAI User"
scope = "account:oai"

[[role_assignment]]
principal = "dave"
role = "Cognitive Services OpenAI User"
scope = "account:oai"

[[deny_assignment]]
principal = "contractors"
scope = "account:oai"
data_actions = ["Microsoft.CognitiveServices/*"]

[machine]
azure_cli_user = "alice"
"#;

fn row<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["credentials"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == id)
        .unwrap_or_else(|| panic!("no row {id}: {report:#}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn every_form_of_principal_resolves_to_the_object_rbac_knows() {
    let h = Harness::start(SCENARIO).await;
    let ci = h.scenario.identity("ci-app").unwrap();
    let (ci_oid, ci_app_id) = (ci.object_id(), ci.client_id());
    let app_object = ci.application_object_id();
    let (report, out) = h
        .matrix(&[
            "--credential",
            "azure-cli",
            "--principal",
            "CI App",
            "--principal",
            &ci_app_id,
            "--principal",
            &app_object,
            "--principal",
            "alice@contoso.com",
        ])
        .await;
    for given in ["CI App", ci_app_id.as_str(), app_object.as_str()] {
        let id = format!("principal:{given}");
        let r = row(&report, &id);
        assert_eq!(
            r["principal"]["object_id"],
            ci_oid.as_str(),
            "{given}: {r:#}"
        );
        assert!(
            r["principal"]["display"]
                .as_str()
                .unwrap()
                .contains("CI App"),
            "rows show names: {r:#}"
        );
        // The role is on the app registration object: it never authorizes, and says so.
        let c = cell(&report, &id, "oai");
        assert_eq!(c["verdict"], "fail", "{given}: {c:#}\n{}", out.stderr);
        assert_eq!(first_code(c), "assigned-to-application-object", "{c:#}");
        let f = &c["findings"][0];
        assert!(
            f["message"].as_str().unwrap().contains(&app_object),
            "{f:#}"
        );
        assert!(f["remedy"].as_str().unwrap().contains(&ci_oid), "{f:#}");
    }
    let alice = row(&report, "principal:alice@contoso.com");
    assert_eq!(
        alice["principal"]["object_id"],
        h.scenario.identity("alice").unwrap().object_id().as_str()
    );
    assert_eq!(alice["principal"]["type"], "user", "{alice:#}");
    assert!(
        alice["principal"]["display"]
            .as_str()
            .unwrap()
            .contains("Alice Admin")
    );
    h.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn two_principals_with_one_display_name_are_ambiguous_never_guessed() {
    let h = Harness::start(SCENARIO).await;
    let (report, out) = h
        .matrix(&["--credential", "azure-cli", "--principal", "Contoso Bot"])
        .await;
    let c = cell(&report, "principal:Contoso Bot", "oai");
    assert_eq!(c["verdict"], "inconclusive", "{c:#}");
    assert_eq!(first_code(c), "principal-unresolved", "{c:#}");
    let message = c["findings"][0]["message"].as_str().unwrap();
    assert!(message.contains("2 principals"), "{message}");
    for bot in ["bot-a", "bot-b"] {
        let oid = h.scenario.identity(bot).unwrap().object_id();
        assert!(message.contains(&oid), "{message}");
    }
    assert_ne!(out.code, 0, "{}", out.stderr);
    h.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn expect_deny_works_for_principal_rows() {
    let h = Harness::start(SCENARIO).await;
    let (report, out) = h
        .matrix(&[
            "--credential",
            "azure-cli",
            "--principal",
            "CI App",
            "--expect-deny",
            "CI App:oai",
            "--expect-deny",
            "azure-cli:oai",
        ])
        .await;
    let c = cell(&report, "principal:CI App", "oai");
    assert_eq!(c["expected"], "deny", "{c:#}");
    assert_eq!(c["met"], true, "{c:#}");
    assert_eq!(out.code, 0, "{}\n{report:#}", out.stderr);
    h.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn group_denies_are_settled_through_graph() {
    let h = Harness::start(SCENARIO).await;
    let (report, out) = h
        .matrix(&[
            "--credential",
            "azure-cli",
            "--principal",
            "carol@contoso.com",
            "--principal",
            "dave@contoso.com",
        ])
        .await;
    // carol is in the group the deny names: a definite denial, not "membership unknown".
    let carol = cell(&report, "principal:carol@contoso.com", "oai");
    assert_eq!(carol["verdict"], "fail", "{carol:#}\n{}", out.stderr);
    assert_eq!(first_code(carol), "deny-assignment", "{carol:#}");
    assert!(
        !carol["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("membership unknown"),
        "{carol:#}"
    );
    // dave is not: the deny does not reach him and his role grants.
    let dave = cell(&report, "principal:dave@contoso.com", "oai");
    assert_eq!(dave["verdict"], "pass", "{dave:#}");
    h.emulator.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_graph_access_the_run_says_what_it_could_not_resolve() {
    let h = Harness::start(&SCENARIO.replace(
        "display_name = \"Alice Admin\"",
        "display_name = \"Alice Admin\"\ndirectory_reader = false",
    ))
    .await;
    let carol = h.scenario.identity("carol").unwrap().object_id();
    let (report, _) = h
        .matrix(&[
            "--credential",
            "azure-cli",
            "--principal",
            "CI App",
            "--principal",
            &carol,
        ])
        .await;
    let named = cell(&report, "principal:CI App", "oai");
    assert_eq!(named["verdict"], "inconclusive", "{named:#}");
    assert_eq!(first_code(named), "principal-unresolved", "{named:#}");
    let message = named["findings"][0]["message"].as_str().unwrap();
    assert!(message.contains("a display name"), "{message}");
    assert!(message.contains("Authorization_RequestDenied"), "{message}");
    // An object id still works without Graph; the group deny stays unknown, and says why.
    let by_id = cell(&report, &format!("principal:{carol}"), "oai");
    assert_eq!(by_id["verdict"], "inconclusive", "{by_id:#}");
    assert!(
        codes(by_id).contains(&"deny-assignment".to_string()),
        "{by_id:#}"
    );
    let deny = by_id["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == "deny-assignment")
        .unwrap();
    let text = deny["message"].as_str().unwrap();
    assert!(text.contains("membership unknown"), "{text}");
    assert!(text.contains("Microsoft Graph could not tell"), "{text}");
    h.emulator.shutdown().await;
}
