//! Issue 4's "why": one scenario per cause, asserting the first (most specific) finding of the
//! affected cell, through the production path (proxy, TLS, real host names, real ARM reads).

mod common;
use common::{Harness, cell, codes, first_code};

const BASE: &str = r#"
[tenant]
id = "0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11"
subscription = "5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f"

[[identity]]
name = "app"
type = "service_principal"
secret = "matrix-secret-value-1"
__HOME__

[[group]]
name = "inner"
members = ["app"]

[[group]]
name = "outer"
members = ["inner"]

[[account]]
name = "acct"
kind = "OpenAI"
__ACCOUNT__

[[account]]
name = "sibling"
kind = "OpenAI"
custom_subdomain = "sibling-oai"

[machine]
environment = "app"
environment_auth = "secret"
source_ip = "198.51.100.7"
"#;

const READER: &str =
    "[[role_assignment]]\nprincipal = \"app\"\nrole = \"Reader\"\nscope = \"subscription\"\n";

fn scenario(account_extra: &str, roles: &str, home: &str) -> String {
    let account = if account_extra.contains("custom_subdomain") {
        account_extra.to_string()
    } else {
        format!("custom_subdomain = \"acct-oai\"\n{account_extra}")
    };
    BASE.replace("__ACCOUNT__", &account)
        .replace("__HOME__", home)
        + roles
}

fn role(principal: &str, role: &str, scope: &str, extra: &str) -> String {
    format!(
        "\n[[role_assignment]]\nprincipal = \"{principal}\"\nrole = \"{role}\"\nscope = \"{scope}\"\n{extra}\n"
    )
}

async fn first_finding(
    account_extra: &str,
    roles: &str,
    home: &str,
) -> (String, Vec<String>, serde_json::Value) {
    let h = Harness::start(&scenario(account_extra, roles, home)).await;
    let (report, out) = h.matrix(&["--credential", "environment"]).await;
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    let c = cell(&report, "environment", "acct").clone();
    let verdict = c["verdict"].as_str().unwrap().to_string();
    let first = if verdict == "pass" {
        "pass".to_string()
    } else {
        first_code(&c)
    };
    (first, codes(&c), c)
}

#[tokio::test(flavor = "multi_thread")]
async fn access_through_a_nested_group_passes_and_names_the_group() {
    let roles = format!(
        "{READER}{}",
        role("outer", "Cognitive Services User", "account:acct", "")
    );
    let (first, _, c) = first_finding("", &roles, "").await;
    assert_eq!(first, "pass", "{c:#}");
    assert!(
        c["stages"]["rbac"]
            .as_str()
            .unwrap()
            .contains("Cognitive Services User"),
        "{c:#}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_inherited_from_the_subscription_passes() {
    let roles = format!(
        "{READER}{}",
        role("app", "Cognitive Services OpenAI User", "subscription", "")
    );
    assert_eq!(first_finding("", &roles, "").await.0, "pass");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_custom_role_wildcard_grants_and_its_not_data_actions_remove() {
    let custom = "\n[[custom_role]]\nname = \"Inference\"\ndata_actions = [\"Microsoft.CognitiveServices/accounts/OpenAI/*/read\"]\n\n[[custom_role]]\nname = \"AllButModels\"\ndata_actions = [\"Microsoft.CognitiveServices/*\"]\nnot_data_actions = [\"Microsoft.CognitiveServices/accounts/OpenAI/models/read\"]\n";
    let grants = format!(
        "{READER}{custom}{}",
        role("app", "Inference", "account:acct", "")
    );
    assert_eq!(first_finding("", &grants, "").await.0, "pass");
    let removed = format!(
        "{READER}{custom}{}",
        role("app", "AllButModels", "account:acct", "")
    );
    let (first, _, c) = first_finding("", &removed, "").await;
    assert_eq!(first, "missing-data-action", "{c:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deny_assignment_overrides_a_grant() {
    let roles = format!(
        "{READER}{}\n[[deny_assignment]]\nprincipal = \"app\"\nscope = \"account:acct\"\ndata_actions = [\"Microsoft.CognitiveServices/*\"]\n",
        role("app", "Cognitive Services User", "account:acct", "")
    );
    let (first, _, c) = first_finding("", &roles, "").await;
    assert_eq!(first, "deny-assignment", "{c:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_on_a_sibling_account_is_at_the_wrong_scope() {
    let roles = format!(
        "{READER}{}",
        role(
            "app",
            "Cognitive Services OpenAI User",
            "account:sibling",
            ""
        )
    );
    let (first, _, c) = first_finding("", &roles, "").await;
    assert_eq!(first, "role-at-wrong-scope", "{c:#}");
    assert!(
        c["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("sibling"),
        "{c:#}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn contributor_only_is_a_management_role() {
    let roles = format!(
        "{READER}{}",
        role("app", "Contributor", "resource_group:rg-ai", "")
    );
    let (first, codes, c) = first_finding("", &roles, "").await;
    assert_eq!(first, "management-role-only", "{c:#}");
    assert!(
        codes.contains(&"permission-denied".to_string()),
        "the live denial is reported too: {c:#}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_fresh_assignment_is_pending_propagation() {
    let roles = format!(
        "{READER}{}",
        role(
            "app",
            "Cognitive Services User",
            "account:acct",
            "effective_after_s = 600"
        )
    );
    let (first, _, c) = first_finding("", &roles, "").await;
    assert_eq!(first, "role-propagation-pending", "{c:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_data_role_for_another_service_is_a_missing_data_action() {
    let roles = format!(
        "{READER}{}",
        role("app", "Cognitive Services Speech User", "account:acct", "")
    );
    let (first, _, c) = first_finding("", &roles, "").await;
    assert_eq!(first, "missing-data-action", "{c:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn reader_alone_is_a_management_role() {
    let (first, _, c) = first_finding("", READER, "").await;
    assert_eq!(first, "management-role-only", "{c:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn endpoint_and_network_causes() {
    let roles = format!(
        "{READER}{}",
        role("app", "Cognitive Services User", "subscription", "")
    );
    let regional = first_finding("custom_subdomain = \"\"", &roles, "").await;
    assert_eq!(regional.0, "regional-endpoint", "{:#}", regional.2);
    let firewall = first_finding(
        "network_default_action = \"Deny\"\nip_rules = [\"203.0.113.0/24\"]",
        &roles,
        "",
    )
    .await;
    assert_eq!(firewall.0, "firewall-blocked", "{:#}", firewall.2);
    let private = first_finding("public_network_access = \"Disabled\"", &roles, "").await;
    assert_eq!(private.0, "public-access-disabled", "{:#}", private.2);
    let allowed_ip = first_finding(
        "network_default_action = \"Deny\"\nip_rules = [\"198.51.100.0/24\"]",
        &roles,
        "",
    )
    .await;
    assert_eq!(allowed_ip.0, "pass", "{:#}", allowed_ip.2);
    // The call got through the firewall: no guess about it on a passed cell.
    assert!(
        !allowed_ip.1.contains(&"firewall-blocked".to_string()),
        "{:#}",
        allowed_ip.2
    );
}

/// Severity of the first finding of a cell.
fn first_severity(c: &serde_json::Value) -> String {
    c["findings"][0]["severity"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_private_endpoint_only_account_from_outside_and_inside_its_network() {
    let roles = format!(
        "{READER}{}",
        role("app", "Cognitive Services User", "account:acct", "")
    );
    // Outside: the data plane answers 403 "Public access is disabled"; the cause is the
    // private endpoint, an error, with the private DNS zone in the remedy.
    let (first, all, c) = first_finding("private_endpoint = true", &roles, "").await;
    assert_eq!(first, "private-endpoint-required", "{c:#}");
    assert_eq!(c["verdict"], "fail", "{c:#}");
    assert_eq!(first_severity(&c), "error", "{c:#}");
    assert!(
        c["findings"][0]["remedy"]
            .as_str()
            .unwrap()
            .contains("privatelink.openai.azure.com"),
        "{c:#}"
    );
    assert!(all.contains(&"public-access-disabled".to_string()), "{c:#}");
    assert_eq!(c["http"]["status"], 403, "{c:#}");

    // Inside: it passes, and no network warning remains.
    let text = scenario("private_endpoint = true", &roles, "").replace(
        "source_ip = \"198.51.100.7\"",
        "source_ip = \"198.51.100.7\"\nin_private_network = true",
    );
    let h = Harness::start(&text).await;
    let (report, _) = h.matrix(&["--credential", "environment"]).await;
    let c = cell(&report, "environment", "acct");
    assert_eq!(c["verdict"], "pass", "{c:#}");
    let codes = codes(c);
    assert!(
        !codes
            .iter()
            .any(|c| c == "private-endpoint-required" || c == "firewall-blocked"),
        "{codes:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_eligible_through_pim_but_not_active_is_the_cause() {
    let roles = format!(
        "{READER}\n[[role_eligibility]]\nprincipal = \"app\"\nrole = \"Cognitive Services OpenAI User\"\nscope = \"account:acct\"\n"
    );
    let (first, _, c) = first_finding("", &roles, "").await;
    assert_eq!(first, "role-eligible-not-active", "{c:#}");
    assert_eq!(c["verdict"], "fail", "{c:#}");
    assert_eq!(first_severity(&c), "error", "{c:#}");
    assert!(
        c["findings"][0]["remedy"]
            .as_str()
            .unwrap()
            .contains("SelfActivate"),
        "{c:#}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_abac_condition_is_reported() {
    let roles = format!(
        "{READER}{}",
        role(
            "app",
            "Cognitive Services User",
            "account:acct",
            "condition = \"@Resource[Microsoft.CognitiveServices/accounts:name] StringEquals 'x'\""
        )
    );
    let (_, codes, c) = first_finding("", &roles, "").await;
    assert!(codes.contains(&"abac-condition".to_string()), "{c:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_identity_that_cannot_read_rbac_gets_unknown_not_a_guess() {
    let roles = role(
        "app",
        "Cognitive Services OpenAI User",
        "account:sibling",
        "",
    );
    let (_, codes, c) = first_finding("", &roles, "").await;
    assert_eq!(c["verdict"], "fail", "{c:#}");
    assert!(codes.contains(&"permission-denied".to_string()), "{c:#}");
    assert!(codes.contains(&"rbac-unreadable".to_string()), "{c:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_token_from_another_tenant_is_a_tenant_mismatch() {
    let roles = format!(
        "{READER}{}",
        role("app", "Cognitive Services User", "subscription", "")
    );
    let (first, _, c) = first_finding(
        "",
        &roles,
        "home_tenant = \"9a9a9a9a-1b1b-4c4c-8d8d-0e0e0e0e0e0e\"",
    )
    .await;
    assert_eq!(first, "tenant-mismatch", "{c:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn role_assignment_listings_grow_with_principals_not_targets() {
    let mut text = scenario(
        "",
        &format!(
            "{READER}{}",
            role("app", "Cognitive Services User", "subscription", "")
        ),
        "",
    );
    for i in 0..6 {
        text.push_str(&format!("\n[[account]]\nname = \"extra{i}\"\nkind = \"OpenAI\"\ncustom_subdomain = \"extra{i}-oai\"\n"));
    }
    let h = Harness::start(&text).await;
    let (report, _) = h.matrix(&["--credential", "environment"]).await;
    assert_eq!(report["summary"]["pass"], 8, "{report:#}");
    let counters = &h.emulator.world().counters;
    assert_eq!(
        counters.get("arm:roleAssignments"),
        1,
        "{:?}",
        counters.snapshot()
    );
    assert!(
        counters.get("arm:roleDefinitions") <= 2,
        "definitions are fetched once per role: {:?}",
        counters.snapshot()
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_mode_checks_principals_the_machine_cannot_act_as() {
    let text = r#"
[[identity]]
name = "alice"
type = "user"
upn = "alice@contoso.com"

[[identity]]
name = "ci-app"
type = "service_principal"

[[identity]]
name = "chat-mi"
type = "managed_identity"

[[account]]
name = "oai"
kind = "OpenAI"
custom_subdomain = "admin-oai"

[[role_assignment]]
principal = "alice"
role = "Reader"
scope = "subscription"

[[role_assignment]]
principal = "ci-app"
role = "Contributor"
scope = "resource_group:rg-ai"

[[role_assignment]]
principal = "chat-mi"
role = "Cognitive Services OpenAI User"
scope = "account:oai"

[machine]
azure_cli_user = "alice"
"#;
    let h = Harness::start(text).await;
    let ci = h.scenario.identity("ci-app").unwrap().object_id();
    let mi = h.scenario.identity("chat-mi").unwrap().object_id();
    let (report, out) = h
        .matrix(&[
            "--credential",
            "azure-cli",
            "--principal",
            &ci,
            "--principal",
            &mi,
        ])
        .await;
    let ci_cell = cell(&report, &format!("principal:{ci}"), "oai");
    assert_eq!(ci_cell["verdict"], "fail", "{ci_cell:#}\n{}", out.stderr);
    assert_eq!(first_code(ci_cell), "management-role-only", "{ci_cell:#}");
    assert!(
        ci_cell["http"].is_null(),
        "no data-plane call in admin mode"
    );
    let mi_cell = cell(&report, &format!("principal:{mi}"), "oai");
    assert_eq!(mi_cell["verdict"], "pass", "{mi_cell:#}");
    assert!(
        mi_cell["stages"]["rbac"]
            .as_str()
            .unwrap()
            .contains("Cognitive Services OpenAI User")
    );

    // An operator who cannot read role assignments gets "unknown", not a guess.
    let blind = Harness::start(&text.replace(
        "role = \"Reader\"\nscope = \"subscription\"",
        "role = \"Cognitive Services User\"\nscope = \"account:oai\"",
    ))
    .await;
    let (report, _) = blind
        .matrix(&["--credential", "azure-cli", "--principal", &ci])
        .await;
    let c = cell(&report, &format!("principal:{ci}"), "oai");
    assert_eq!(c["verdict"], "inconclusive", "{c:#}");
    assert!(codes(c).contains(&"rbac-unreadable".to_string()), "{c:#}");
}

#[tokio::test(flavor = "multi_thread")]
async fn without_role_assignment_read_its_own_permissions_still_answer() {
    // Cognitive Services User reads no role assignments; the permissions API still answers.
    let roles = role("app", "Cognitive Services User", "account:acct", "");
    let (first, _, c) = first_finding("", &roles, "").await;
    assert_eq!(first, "pass", "{c:#}");
    let rbac = c["stages"]["rbac"].as_str().unwrap();
    assert!(
        rbac.starts_with("granted"),
        "the permissions API decides, not a guess: {rbac}"
    );
}

// ---- PIM: active, time-bound assignments (issue 10 item 4) ----

fn finding<'a>(c: &'a serde_json::Value, code: &str) -> Option<&'a serde_json::Value> {
    c["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["code"] == code)
}

#[tokio::test(flavor = "multi_thread")]
async fn access_that_rests_on_an_activation_ending_within_the_horizon_passes_with_a_warning() {
    let roles = format!(
        "{READER}{}",
        role(
            "app",
            "Cognitive Services OpenAI User",
            "account:acct",
            "expires_after_s = 5400\nactivated = true"
        )
    );
    let h = Harness::start(&scenario("", &roles, "")).await;
    let (report, out) = h.matrix(&["--credential", "environment"]).await;
    let c = cell(&report, "environment", "acct");
    assert_eq!(c["verdict"], "pass", "{c:#}");
    assert_eq!(
        c["met"], true,
        "a warning does not fail the gate: {}",
        out.stderr
    );
    let warning = finding(c, "role-assignment-expiring").unwrap_or_else(|| panic!("{c:#}"));
    assert_eq!(warning["severity"], "warning", "{warning}");
    let message = warning["message"].as_str().unwrap();
    assert!(
        message.contains("*Cognitive Services OpenAI User* at account acct")
            && message.contains("activated through PIM, ends at ")
            && message.contains("(in 1h "),
        "{message}"
    );
    assert!(
        c["stages"]["rbac"]
            .as_str()
            .unwrap()
            .contains("time-bound: the access ends at"),
        "{c:#}"
    );

    // Further off than the horizon: nothing to say. Turned off: not even read.
    let (report, _) = h
        .matrix(&["--credential", "environment", "--expiry-horizon", "1h"])
        .await;
    let c = cell(&report, "environment", "acct");
    assert_eq!(c["verdict"], "pass", "{c:#}");
    assert!(finding(c, "role-assignment-expiring").is_none(), "{c:#}");
    let before = h
        .emulator
        .world()
        .counters
        .get("arm:roleAssignmentScheduleInstances");
    let (report, _) = h
        .matrix(&["--credential", "environment", "--expiry-horizon", "0s"])
        .await;
    assert!(
        finding(
            cell(&report, "environment", "acct"),
            "role-assignment-expiring"
        )
        .is_none()
    );
    assert_eq!(
        h.emulator
            .world()
            .counters
            .get("arm:roleAssignmentScheduleInstances"),
        before,
        "--expiry-horizon 0s reads no schedules"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_lasting_grant_beside_a_time_bound_one_gets_no_warning() {
    // Through a group, permanently, at the subscription: the activation ending soon changes
    // nothing.
    let roles = format!(
        "{READER}{}{}",
        role(
            "app",
            "Cognitive Services OpenAI User",
            "account:acct",
            "expires_after_s = 600\nactivated = true"
        ),
        role("outer", "Cognitive Services User", "subscription", "")
    );
    let (first, codes, c) = first_finding("", &roles, "").await;
    assert_eq!(first, "pass", "{c:#}");
    assert!(
        !codes.iter().any(|c| c == "role-assignment-expiring"),
        "{c:#}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_assignment_until_a_date_that_has_passed_grants_nothing() {
    // PIM removed it when it ended: ARM no longer lists it and the service refuses.
    let roles = format!(
        "{READER}{}",
        role(
            "app",
            "Cognitive Services OpenAI User",
            "account:acct",
            "expires_after_s = 0"
        )
    );
    let (first, _, c) = first_finding("", &roles, "").await;
    assert_eq!(c["verdict"], "fail", "{c:#}");
    assert_eq!(first, "management-role-only", "{c:#}");
    assert!(
        !c["stages"]["rbac"]
            .as_str()
            .unwrap()
            .contains("OpenAI User"),
        "{c:#}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn admin_mode_warns_of_a_principals_assignment_ending_soon() {
    let text = r#"
[tenant]
id = "0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11"
subscription = "5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f"

[[identity]]
name = "alice"
type = "user"

[[identity]]
name = "batch-mi"
type = "managed_identity"

[[account]]
name = "oai"
kind = "OpenAI"
custom_subdomain = "admin-oai"

[[role_assignment]]
principal = "alice"
role = "Reader"
scope = "subscription"

[[role_assignment]]
principal = "batch-mi"
role = "Cognitive Services OpenAI User"
scope = "resource_group:rg-ai"
expires_after_s = 7200

[machine]
azure_cli_user = "alice"
"#;
    let h = Harness::start(text).await;
    let mi = h.scenario.identity("batch-mi").unwrap().object_id();
    let (report, out) = h
        .matrix(&["--credential", "azure-cli", "--principal", &mi])
        .await;
    let c = cell(&report, &format!("principal:{mi}"), "oai");
    assert_eq!(c["verdict"], "pass", "{c:#}\n{}", out.stderr);
    let warning = finding(c, "role-assignment-expiring").unwrap_or_else(|| panic!("{c:#}"));
    assert!(
        warning["message"]
            .as_str()
            .unwrap()
            .contains("at resource group rg-ai, assigned until a date"),
        "{warning}"
    );
    assert!(
        warning["remedy"].as_str().unwrap().contains("extend"),
        "{warning}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_activation_without_an_end_is_refused_by_name() {
    let roles = format!(
        "{READER}{}",
        role(
            "app",
            "Cognitive Services User",
            "account:acct",
            "activated = true"
        )
    );
    let err = entraprobe::emulator::scenario::Scenario::parse(&scenario("", &roles, ""), "s.toml")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("activated = true needs expires_after_s") && err.contains("s.toml:"),
        "{err}"
    );
    // An end past any clock's reach is refused, not a panic in the listing that writes it.
    let roles = format!(
        "{READER}{}",
        role(
            "app",
            "Cognitive Services User",
            "account:acct",
            "expires_after_s = 9223372036854775807"
        )
    );
    let err = entraprobe::emulator::scenario::Scenario::parse(&scenario("", &roles, ""), "s.toml")
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("expires_after_s must be at most") && err.contains("s.toml:"),
        "{err}"
    );
}
