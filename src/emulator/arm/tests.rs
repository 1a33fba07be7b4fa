use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::*;
use crate::emulator::Scenario;

const TENANT: &str = "0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11";
const SUB: &str = "5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f";
const OAI_USER: &str = "5e0bd9bd-7b93-4f28-af87-19fc36ad61bd";

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
name = "ops"
type = "user"
upn = "ops@contoso.com"

[[identity]]
name = "reader-app"
type = "service_principal"

[[identity]]
name = "bob"
type = "user"

[[identity]]
name = "guest"
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
deployments = ["gpt-4o"]
disable_local_auth = true
network_default_action = "Deny"
ip_rules = ["203.0.113.0/24"]

[[account]]
name = "vision"
kind = "ComputerVision"

[[account]]
name = "lang"
kind = "TextAnalytics"
custom_subdomain = "lang"
resource_group = "rg-other"

[[search_service]]
name = "srch"
auth = "apiKeyOnly"

[[custom_role]]
name = "AI Inference Only"
data_actions = ["Microsoft.CognitiveServices/accounts/OpenAI/deployments/chat/completions/action"]

[[role_assignment]]
principal = "outer"
role = "Cognitive Services OpenAI User"
scope = "account:oai"

[[role_assignment]]
principal = "ci-app"
role = "Cognitive Services User"
scope = "subscription"

[[role_assignment]]
principal = "alice"
role = "Reader"
scope = "resource_group:rg-ai"

[[role_assignment]]
principal = "ops"
role = "Cognitive Services User"
scope = "account:oai"

[[role_assignment]]
principal = "ci-app"
role = "AI Inference Only"
scope = "account:oai"
condition = "@Resource[Microsoft.CognitiveServices/accounts:name] StringEquals 'oai'"

[[role_assignment]]
principal = "alice"
role = "Cognitive Services User"
scope = "account:lang"
effective_after_s = 60

[[role_assignment]]
principal = "reader-app"
role = "Reader"
scope = "subscription"

[[deny_assignment]]
principal = "inner"
scope = "account:oai"
data_actions = ["Microsoft.CognitiveServices/accounts/OpenAI/*"]
"#;

fn world() -> World {
    World::new(Scenario::parse(SCENARIO, "t.toml").unwrap()).unwrap()
}

fn oid(w: &World, name: &str) -> String {
    authz::object_id_of(&w.scenario, name)
}

fn token_with(w: &World, name: &str, overrides: Value) -> String {
    let identity = w.scenario.identity(name).unwrap();
    let tid = identity.tenant_id(&w.scenario.tenant).to_string();
    let now = authz::now_unix();
    let mut claims = json!({
        "aud": "https://management.azure.com",
        "iss": format!("https://sts.windows.net/{tid}/"),
        "iat": now - 60, "nbf": now - 60, "exp": now + 3600,
        "tid": tid, "oid": identity.object_id(), "sub": identity.object_id(),
        "appid": identity.client_id(), "ver": "1.0",
    });
    if let Some(upn) = &identity.upn {
        claims["upn"] = json!(upn);
    } else if identity.kind != IdentityType::User {
        claims["idtyp"] = json!("app");
    }
    if let (Some(map), Some(extra)) = (claims.as_object_mut(), overrides.as_object()) {
        for (k, v) in extra {
            map.insert(k.clone(), v.clone());
        }
    }
    w.signer.sign(&claims)
}

/// A GET with the query given raw (as a client put it on the wire).
fn get_raw(w: &World, who: Option<&str>, path: &str, raw_query: &str) -> EmuResponse {
    let headers = who
        .map(|name| {
            vec![(
                "authorization".to_string(),
                format!("Bearer {}", token_with(w, name, json!({}))),
            )]
        })
        .unwrap_or_default();
    let query = raw_query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            // Percent-decoding only, as the proxy does: `+` stays `+`.
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            };
            (decode(k), decode(v))
        })
        .collect();
    handle(
        w,
        &EmuRequest {
            method: "GET".into(),
            host: "management.azure.com".into(),
            port: 443,
            scheme: "https",
            path: path.into(),
            raw_query: raw_query.into(),
            query,
            headers,
            body: Vec::new(),
        },
    )
}

fn get(w: &World, who: &str, path: &str, raw_query: &str) -> EmuResponse {
    get_raw(w, Some(who), path, raw_query)
}

fn body(r: &EmuResponse) -> String {
    String::from_utf8(r.body.clone()).unwrap()
}

fn json_of(r: &EmuResponse) -> Value {
    serde_json::from_slice(&r.body).unwrap()
}

fn header<'a>(r: &'a EmuResponse, name: &str) -> Option<&'a str> {
    r.headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn account_id(name: &str, rg: &str) -> String {
    format!(
        "/subscriptions/{SUB}/resourceGroups/{rg}/providers/Microsoft.CognitiveServices/accounts/{name}"
    )
}

const API: &str = "api-version=2022-04-01";

#[test]
fn missing_and_malformed_headers_are_401_with_a_challenge() {
    let w = world();
    let path = format!("/subscriptions/{SUB}");
    let r = get_raw(&w, None, &path, API);
    assert_eq!(r.status, 401);
    assert_eq!(
        body(&r),
        r#"{"error":{"code":"AuthenticationFailed","message":"Authentication failed. The 'Authorization' header is missing."}}"#
    );
    assert_eq!(
        header(&r, "www-authenticate"),
        Some(format!(r#"Bearer authorization_uri="https://login.windows.net/{TENANT}", error="invalid_token", error_description="The authentication failed because of missing 'Authorization' header.""#).as_str())
    );
    let mut req = EmuRequest {
        method: "GET".into(),
        host: "management.azure.com".into(),
        path: path.clone(),
        query: vec![("api-version".into(), "2022-04-01".into())],
        headers: vec![("authorization".into(), "Basic dXNlcjpwYXNz".into())],
        ..Default::default()
    };
    let r = handle(&w, &req);
    assert_eq!(
        body(&r),
        r#"{"error":{"code":"AuthenticationFailedInvalidHeader","message":"Authentication failed. The 'Authorization' header is provided in an invalid format."}}"#
    );
    req.headers = vec![("authorization".into(), "Bearer not.a.jwt".into())];
    let r = handle(&w, &req);
    assert_eq!(
        (r.status, body(&r).as_str()),
        (
            401,
            r#"{"error":{"code":"InvalidAuthenticationToken","message":"The access token is invalid."}}"#
        )
    );
    // Rejected requests are counted too.
    assert_eq!(w.counters.get("arm:subscriptions"), 3);
}

#[test]
fn wrong_audience_tenant_and_expiry_are_arm_401s() {
    let w = world();
    let path = format!("/subscriptions/{SUB}");
    let send = |token: String| {
        handle(
            &w,
            &EmuRequest {
                method: "GET".into(),
                host: "management.azure.com".into(),
                path: path.clone(),
                query: vec![("api-version".into(), "2022-12-01".into())],
                headers: vec![("authorization".into(), format!("Bearer {token}"))],
                ..Default::default()
            },
        )
    };
    let r = send(token_with(
        &w,
        "ci-app",
        json!({"aud": "https://cognitiveservices.azure.com"}),
    ));
    assert_eq!(r.status, 401);
    assert_eq!(
        body(&r),
        r#"{"error":{"code":"InvalidAuthenticationTokenAudience","message":"The access token has been obtained for wrong audience or resource 'https://cognitiveservices.azure.com'. It should exactly match with one of the allowed audiences 'https://management.core.windows.net/','https://management.core.windows.net','https://management.azure.com/','https://management.azure.com'."}}"#
    );
    assert!(header(&r, "www-authenticate").is_some());
    // The trailing-slash and legacy audiences are accepted.
    let r = send(token_with(
        &w,
        "ci-app",
        json!({"aud": "https://management.core.windows.net/"}),
    ));
    assert_eq!(r.status, 200, "{}", body(&r));

    let r = send(token_with(&w, "guest", json!({})));
    assert_eq!(r.status, 401);
    assert_eq!(
        body(&r),
        format!(
            r#"{{"error":{{"code":"InvalidAuthenticationTokenTenant","message":"The access token is from the wrong issuer 'https://sts.windows.net/aaaabbbb-0000-cccc-1111-dddd2222eeee/'. It must match the tenant 'https://sts.windows.net/{TENANT}/' associated with this subscription. Please use the authority (URL) 'https://login.windows.net/{TENANT}' to get the token. Note, if the subscription is transferred to another tenant there is no impact to the services, but information about new tenant could take time to propagate (up to an hour). If you just transferred your subscription and see this error message, please try back later."}}}}"#
        )
    );

    // 2024-06-15 08:22:51 UTC.
    let r = send(token_with(
        &w,
        "ci-app",
        json!({"exp": 1_718_439_771, "nbf": 1_718_436_171}),
    ));
    assert_eq!(r.status, 401);
    let text = body(&r);
    assert!(
        text.starts_with(r#"{"error":{"code":"ExpiredAuthenticationToken","message":"The access token expiry UTC time '6/15/2024 8:22:51 AM' is earlier than current UTC time '"#),
        "{text}"
    );
    assert!(text.ends_with(r#"'."}}"#), "{text}");
}

#[test]
fn dotnet_time_uses_twelve_hour_clock() {
    assert_eq!(dotnet_time(1_718_439_771), "6/15/2024 8:22:51 AM");
    assert_eq!(
        dotnet_time(1_718_442_000 + 4 * 3600 + 5 * 60),
        "6/15/2024 1:05:00 PM"
    );
    assert_eq!(dotnet_time(1_718_409_600), "6/15/2024 12:00:00 AM");
}

#[test]
fn missing_api_version_is_400() {
    let w = world();
    let r = get(&w, "ci-app", &format!("/subscriptions/{SUB}"), "");
    assert_eq!(
        (r.status, body(&r).as_str()),
        (
            400,
            r#"{"error":{"code":"MissingApiVersionParameter","message":"The api-version query parameter (?api-version=) is required for all requests."}}"#
        )
    );
}

fn assignments_path(scope: &str) -> String {
    format!("{scope}/providers/Microsoft.Authorization/roleAssignments")
}

#[test]
fn at_scope_and_assigned_to_follow_nested_groups_in_raw_and_encoded_filters() {
    let w = world();
    let alice = oid(&w, "alice");
    let path = assignments_path(&account_id("oai", "rg-ai"));
    let raw = format!("$filter=atScope()+and+assignedTo('{alice}')&{API}");
    let encoded = format!("%24filter=atScope%28%29%20and%20assignedTo%28%27{alice}%27%29&{API}");
    for query in [raw, encoded] {
        let r = get(&w, "reader-app", &path, &query);
        assert_eq!(r.status, 200, "{}", body(&r));
        let v = json_of(&r);
        let items = v["value"].as_array().unwrap();
        assert_eq!(items.len(), 2, "{v}");
        assert!(v["nextLink"].is_null());
        // Through outer ⊇ inner ∋ alice, at the account.
        let group = &items[0];
        assert_eq!(group["type"], "Microsoft.Authorization/roleAssignments");
        let p = &group["properties"];
        assert_eq!(
            p["roleDefinitionId"],
            format!(
                "/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{OAI_USER}"
            )
        );
        assert_eq!(p["principalId"], oid(&w, "outer"));
        assert_eq!(p["principalType"], "Group");
        assert_eq!(p["scope"], account_id("oai", "rg-ai"));
        assert!(p["condition"].is_null() && p["conditionVersion"].is_null());
        assert_eq!(
            group["id"],
            format!(
                "{}/providers/Microsoft.Authorization/roleAssignments/{}",
                account_id("oai", "rg-ai"),
                group["name"].as_str().unwrap()
            )
        );
        // Inherited from the resource group.
        assert_eq!(items[1]["properties"]["principalType"], "User");
        assert_eq!(
            items[1]["properties"]["scope"],
            format!("/subscriptions/{SUB}/resourceGroups/rg-ai")
        );
    }
    assert_eq!(w.counters.get("arm:roleAssignments"), 2);
}

#[test]
fn principal_id_eq_is_direct_only_and_reaches_below_the_scope() {
    let w = world();
    let alice = oid(&w, "alice");
    let path = assignments_path(&format!("/subscriptions/{SUB}"));
    let r = get(
        &w,
        "reader-app",
        &path,
        &format!("$filter=principalId eq '{alice}'&{API}"),
    );
    let v = json_of(&r);
    let scopes: Vec<&str> = v["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["properties"]["scope"].as_str().unwrap())
        .collect();
    assert_eq!(
        scopes,
        vec![
            format!("/subscriptions/{SUB}/resourceGroups/rg-ai"),
            account_id("lang", "rg-other")
        ]
    );
}

#[test]
fn conditions_and_pending_assignments_show_in_the_listing() {
    let w = world();
    let ci = oid(&w, "ci-app");
    let path = assignments_path(&account_id("oai", "rg-ai"));
    let r = get(
        &w,
        "reader-app",
        &path,
        &format!("$filter=principalId eq '{ci}'&{API}"),
    );
    let v = json_of(&r);
    let conditional = v["value"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| !i["properties"]["condition"].is_null())
        .unwrap();
    assert_eq!(conditional["properties"]["conditionVersion"], "2.0");
    assert_eq!(
        conditional["properties"]["principalType"],
        "ServicePrincipal"
    );

    let lang = assignments_path(&account_id("lang", "rg-other"));
    let r = get(&w, "reader-app", &lang, &format!("$filter=atScope()&{API}"));
    let v = json_of(&r);
    let by_principal = |id: &str| {
        v["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["properties"]["principalId"] == id)
            .map(|i| i["properties"].clone())
            .unwrap()
    };
    let created_of = |p: &Value| {
        time::OffsetDateTime::parse(
            p["createdOn"].as_str().unwrap(),
            &time::format_description::well_known::Rfc3339,
        )
        .unwrap()
    };
    // Created when the emulator started: within the last minute, not a month ago.
    let pending = created_of(&by_principal(&oid(&w, "alice")));
    let age = time::OffsetDateTime::now_utc() - pending;
    assert!(age.whole_seconds() < 60, "{age}");
    let old = created_of(&by_principal(&ci));
    assert!((time::OffsetDateTime::now_utc() - old).whole_days() >= 29);
}

/// Follow `nextLink`s the way azure-core does: parse the absolute URL, re-encode the query.
fn all_pages(w: &World, who: &str, path: &str, query: &str) -> (Vec<Value>, usize) {
    let mut items = Vec::new();
    let mut pages = 0;
    let (mut path, mut query) = (path.to_string(), query.to_string());
    loop {
        let r = get(w, who, &path, &query);
        assert_eq!(r.status, 200, "{}", body(&r));
        pages += 1;
        let v = json_of(&r);
        let page = v["value"].as_array().unwrap();
        assert!(page.len() <= authorization::ROLE_ASSIGNMENTS_PAGE_SIZE);
        items.extend(page.iter().cloned());
        let Some(next) = v["nextLink"].as_str() else {
            break;
        };
        let url = url::Url::parse(next).unwrap();
        assert_eq!(url.host_str(), Some("management.azure.com"));
        path = url.path().to_string();
        query = url
            .query_pairs()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    k,
                    percent_encoding::utf8_percent_encode(&v, percent_encoding::NON_ALPHANUMERIC)
                )
            })
            .collect::<Vec<_>>()
            .join("&");
    }
    (items, pages)
}

#[test]
fn paging_through_next_link() {
    let w = world();
    let path = assignments_path(&format!("/subscriptions/{SUB}"));
    let (items, pages) = all_pages(&w, "reader-app", &path, API);
    assert_eq!(items.len(), 7);
    assert_eq!(pages, 4);
    let mut names: Vec<&str> = items.iter().map(|i| i["name"].as_str().unwrap()).collect();
    names.sort();
    names.dedup();
    assert_eq!(names.len(), 7, "pages must not repeat items");

    let alice = oid(&w, "alice");
    let (items, pages) = all_pages(
        &w,
        "reader-app",
        &path,
        &format!("$filter=assignedTo('{alice}')&{API}"),
    );
    assert_eq!((items.len(), pages), (3, 2));
    assert_eq!(w.counters.get("arm:roleAssignments"), 6);
}

#[test]
fn a_caller_without_role_assignment_read_gets_authorization_failed() {
    let w = world();
    let path = assignments_path(&format!("/subscriptions/{SUB}"));
    let r = get(&w, "ops", &path, API);
    assert_eq!(r.status, 403);
    assert_eq!(
        body(&r),
        format!(
            r#"{{"error":{{"code":"AuthorizationFailed","message":"The client 'ops@contoso.com' with object id '{}' does not have authorization to perform action 'Microsoft.Authorization/roleAssignments/read' over scope '/subscriptions/{SUB}/providers/Microsoft.Authorization' or the scope is invalid. If access was recently granted, please refresh your credentials."}}}}"#,
            oid(&w, "ops")
        )
    );
    // A service principal is named by its object id.
    let ci = oid(&w, "ci-app");
    let r = get(&w, "ci-app", &path, API);
    assert_eq!(r.status, 403);
    assert!(body(&r).contains(&format!("The client '{ci}' with object id '{ci}'")));
}

#[test]
fn role_definitions_by_guid_and_filters() {
    let w = world();
    let base = format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions");
    let r = get(&w, "reader-app", &format!("{base}/{OAI_USER}"), API);
    assert_eq!(r.status, 200);
    let v = json_of(&r);
    assert_eq!(v["id"], format!("{base}/{OAI_USER}"));
    assert_eq!(v["name"], OAI_USER);
    assert_eq!(
        v["properties"]["roleName"],
        "Cognitive Services OpenAI User"
    );
    assert_eq!(v["properties"]["type"], "BuiltInRole");
    assert_eq!(
        v["properties"]["permissions"][0]["dataActions"][0],
        "Microsoft.CognitiveServices/accounts/OpenAI/*/read"
    );
    assert_eq!(v["properties"]["assignableScopes"], json!(["/"]));

    let custom = w.scenario.custom_roles[0].role_id();
    let r = get(&w, "reader-app", &format!("{base}/{custom}"), API);
    let v = json_of(&r);
    assert_eq!(v["properties"]["type"], "CustomRole");
    assert_eq!(
        v["properties"]["assignableScopes"],
        json!([format!("/subscriptions/{SUB}")])
    );

    let missing = "00000000-0000-0000-0000-000000000000";
    let r = get(&w, "reader-app", &format!("{base}/{missing}"), API);
    assert_eq!(
        (r.status, body(&r)),
        (
            404,
            format!(
                r#"{{"error":{{"code":"RoleDefinitionDoesNotExist","message":"The specified role definition with ID '{missing}' does not exist."}}}}"#
            )
        )
    );

    let r = get(
        &w,
        "reader-app",
        &base,
        &format!("$filter=roleName+eq+'Cognitive Services User'&{API}"),
    );
    let v = json_of(&r);
    assert_eq!(v["value"].as_array().unwrap().len(), 1);
    assert_eq!(
        v["value"][0]["name"],
        "a97b65f3-24c7-4388-baec-2e87135dc908"
    );
    let r = get(
        &w,
        "reader-app",
        &base,
        &format!("$filter=type eq 'CustomRole'&{API}"),
    );
    assert_eq!(json_of(&r)["value"][0]["name"], custom);
    let r = get(&w, "reader-app", &base, API);
    let total = json_of(&r)["value"].as_array().unwrap().len();
    assert_eq!(total, crate::arm::builtin_roles::BUILTIN_ROLES.len() + 1);

    // Tenant root: built-ins only, unqualified ids, readable by anyone signed in.
    let r = get(
        &w,
        "bob",
        &format!("/providers/Microsoft.Authorization/roleDefinitions/{OAI_USER}"),
        API,
    );
    assert_eq!(r.status, 200, "{}", body(&r));
    assert_eq!(
        json_of(&r)["id"],
        format!("/providers/Microsoft.Authorization/roleDefinitions/{OAI_USER}")
    );
    // bob has no role in the subscription.
    let r = get(&w, "bob", &format!("{base}/{OAI_USER}"), API);
    assert_eq!(r.status, 403);
    assert!(body(&r).contains("'Microsoft.Authorization/roleDefinitions/read'"));
    assert_eq!(w.counters.get("arm:roleDefinitions"), 8);
}

#[test]
fn deny_assignments_list_with_their_shape() {
    let w = world();
    let path = format!(
        "{}/providers/Microsoft.Authorization/denyAssignments",
        account_id("oai", "rg-ai")
    );
    let r = get(&w, "reader-app", &path, &format!("$filter=atScope()&{API}"));
    assert_eq!(r.status, 200, "{}", body(&r));
    let v = json_of(&r);
    let d = &v["value"][0];
    assert_eq!(d["type"], "Microsoft.Authorization/denyAssignments");
    let p = &d["properties"];
    assert_eq!(p["scope"], account_id("oai", "rg-ai"));
    assert_eq!(
        p["principals"],
        json!([{"id": oid(&w, "inner"), "type": "Group"}])
    );
    assert_eq!(
        p["permissions"][0]["dataActions"],
        json!(["Microsoft.CognitiveServices/accounts/OpenAI/*"])
    );
    assert_eq!(p["doNotApplyToChildScopes"], false);
    assert_eq!(p["isSystemProtected"], true);
    assert_eq!(p["excludePrincipals"], json!([]));

    // alice is in "inner" (the denied group); ci-app is not.
    let alice = oid(&w, "alice");
    let r = get(
        &w,
        "reader-app",
        &path,
        &format!("$filter=principalId eq '{alice}'&{API}"),
    );
    assert_eq!(json_of(&r)["value"].as_array().unwrap().len(), 1);
    let ci = oid(&w, "ci-app");
    let r = get(
        &w,
        "reader-app",
        &path,
        &format!("$filter=principalId eq '{ci}'&{API}"),
    );
    assert_eq!(json_of(&r)["value"], json!([]));
    // The lang account is outside the deny's scope.
    let lang = format!(
        "{}/providers/Microsoft.Authorization/denyAssignments",
        account_id("lang", "rg-other")
    );
    let r = get(&w, "reader-app", &lang, API);
    assert_eq!(json_of(&r)["value"], json!([]));
    let r = get(&w, "ops", &path, API);
    assert_eq!(r.status, 403);
    assert_eq!(w.counters.get("arm:denyAssignments"), 5);
}

#[test]
fn permissions_api_reports_the_callers_own_blocks() {
    let mut w = world();
    let oai = format!(
        "{}/providers/Microsoft.Authorization/permissions",
        account_id("oai", "rg-ai")
    );
    // ci-app: CSU from the subscription and the conditional custom role (conditions are not
    // evaluated by this API).
    let r = get(&w, "ci-app", &oai, API);
    assert_eq!(r.status, 200, "{}", body(&r));
    let v = json_of(&r);
    assert_eq!(v["value"].as_array().unwrap().len(), 2);
    assert_eq!(
        v["value"][0]["dataActions"],
        json!(["Microsoft.CognitiveServices/*"])
    );
    assert!(v["nextLink"].is_null());
    // bob holds nothing, and may still ask.
    let r = get(&w, "bob", &oai, API);
    assert_eq!((r.status, json_of(&r)["value"].clone()), (200, json!([])));
    // alice's role on lang is still propagating.
    let lang = format!(
        "{}/providers/Microsoft.Authorization/permissions",
        account_id("lang", "rg-other")
    );
    assert_eq!(json_of(&get(&w, "alice", &lang, API))["value"], json!([]));
    w.started = Instant::now().checked_sub(Duration::from_secs(61)).unwrap();
    assert_eq!(
        json_of(&get(&w, "alice", &lang, API))["value"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let rg = format!(
        "/subscriptions/{SUB}/resourceGroups/rg-ai/providers/Microsoft.Authorization/permissions"
    );
    let r = get(&w, "alice", &rg, API);
    assert_eq!(json_of(&r)["value"][0]["actions"], json!(["*/read"]));
    assert_eq!(w.counters.get("arm:permissions"), 5);
}

#[test]
fn accounts_get_and_list_with_real_shapes() {
    let w = world();
    let r = get(
        &w,
        "alice",
        &account_id("oai", "rg-ai"),
        "api-version=2024-10-01",
    );
    assert_eq!(r.status, 200, "{}", body(&r));
    let v = json_of(&r);
    assert_eq!(v["kind"], "OpenAI");
    assert_eq!(v["type"], "Microsoft.CognitiveServices/accounts");
    assert_eq!(v["location"], "westeurope");
    let p = &v["properties"];
    assert_eq!(p["endpoint"], "https://oai.openai.azure.com/");
    assert_eq!(p["customSubDomainName"], "oai");
    assert_eq!(p["disableLocalAuth"], true);
    assert_eq!(p["publicNetworkAccess"], "Enabled");
    assert_eq!(
        p["networkAcls"],
        json!({"defaultAction": "Deny", "bypass": "AzureServices",
               "ipRules": [{"value": "203.0.113.0/24"}], "virtualNetworkRules": []})
    );
    assert_eq!(p["privateEndpointConnections"], json!([]));
    assert_eq!(p["provisioningState"], "Succeeded");
    assert_eq!(
        p["endpoints"]["OpenAI Language Model Instance API"],
        "https://oai.openai.azure.com/"
    );

    let r = get(
        &w,
        "alice",
        &account_id("vision", "rg-ai"),
        "api-version=2024-10-01",
    );
    let v = json_of(&r);
    assert_eq!(
        v["properties"]["endpoint"],
        "https://westeurope.api.cognitive.microsoft.com/"
    );
    assert!(v["properties"].get("customSubDomainName").is_none());

    // alice reads rg-ai only: the subscription listing is filtered, lang is refused.
    let list = format!("/subscriptions/{SUB}/providers/Microsoft.CognitiveServices/accounts");
    let r = get(&w, "alice", &list, "api-version=2024-10-01");
    let names: Vec<String> = json_of(&r)["value"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, vec!["oai", "vision"]);
    let r = get(&w, "reader-app", &list, "api-version=2024-10-01");
    assert_eq!(json_of(&r)["value"].as_array().unwrap().len(), 3);
    let by_rg = format!(
        "/subscriptions/{SUB}/resourceGroups/rg-other/providers/Microsoft.CognitiveServices/accounts"
    );
    let r = get(&w, "reader-app", &by_rg, "api-version=2024-10-01");
    assert_eq!(json_of(&r)["value"][0]["name"], "lang");

    let r = get(
        &w,
        "alice",
        &account_id("lang", "rg-other"),
        "api-version=2024-10-01",
    );
    assert_eq!(r.status, 403);
    assert_eq!(
        body(&r),
        format!(
            r#"{{"error":{{"code":"AuthorizationFailed","message":"The client 'alice@contoso.com' with object id '{}' does not have authorization to perform action 'Microsoft.CognitiveServices/accounts/read' over scope '{}' or the scope is invalid. If access was recently granted, please refresh your credentials."}}}}"#,
            oid(&w, "alice"),
            account_id("lang", "rg-other")
        )
    );
    assert_eq!(w.counters.get("arm:accounts"), 6);
}

#[test]
fn not_found_bodies() {
    let w = world();
    let r = get(
        &w,
        "reader-app",
        &account_id("nope", "rg-ai"),
        "api-version=2024-10-01",
    );
    assert_eq!(
        (r.status, body(&r).as_str()),
        (
            404,
            r#"{"error":{"code":"ResourceNotFound","message":"The Resource 'Microsoft.CognitiveServices/accounts/nope' under resource group 'rg-ai' was not found. For more details please go to https://aka.ms/ARMResourceNotFoundFix"}}"#
        )
    );
    let r = get(
        &w,
        "reader-app",
        &account_id("oai", "rg-missing"),
        "api-version=2024-10-01",
    );
    assert_eq!(
        (r.status, body(&r).as_str()),
        (
            404,
            r#"{"error":{"code":"ResourceGroupNotFound","message":"Resource group 'rg-missing' could not be found."}}"#
        )
    );
    let other = "11111111-2222-3333-4444-555555555555";
    let r = get(&w, "reader-app", &format!("/subscriptions/{other}"), API);
    assert_eq!(
        (r.status, body(&r)),
        (
            404,
            format!(
                r#"{{"error":{{"code":"SubscriptionNotFound","message":"The subscription '{other}' could not be found."}}}}"#
            )
        )
    );
    let r = get(
        &w,
        "reader-app",
        &assignments_path(&format!("/subscriptions/{SUB}/resourceGroups/rg-missing")),
        API,
    );
    assert_eq!(r.status, 404);
    assert!(body(&r).contains("ResourceGroupNotFound"));
}

#[test]
fn subscription_shows_its_tenant_to_anyone_with_a_role_in_it() {
    let w = world();
    let r = get(
        &w,
        "ops",
        &format!("/subscriptions/{SUB}"),
        "api-version=2022-12-01",
    );
    assert_eq!(r.status, 200);
    let v = json_of(&r);
    assert_eq!(v["tenantId"], TENANT);
    assert_eq!(v["subscriptionId"], SUB);
    assert_eq!(v["state"], "Enabled");
    let r = get(
        &w,
        "bob",
        &format!("/subscriptions/{SUB}"),
        "api-version=2022-12-01",
    );
    assert_eq!(r.status, 403);
    let r = get(&w, "ops", "/subscriptions", "api-version=2022-12-01");
    assert_eq!(json_of(&r)["value"][0]["tenantId"], TENANT);
    let r = get(&w, "bob", "/subscriptions", "api-version=2022-12-01");
    assert_eq!(json_of(&r)["value"], json!([]));
    assert_eq!(w.counters.get("arm:subscriptions"), 4);
}

#[test]
fn search_services_report_auth_options() {
    let w = world();
    let id = format!(
        "/subscriptions/{SUB}/resourceGroups/rg-ai/providers/Microsoft.Search/searchServices/srch"
    );
    let r = get(&w, "reader-app", &id, "api-version=2023-11-01");
    assert_eq!(r.status, 200, "{}", body(&r));
    let v = json_of(&r);
    assert_eq!(v["properties"]["authOptions"], json!({"apiKeyOnly": {}}));
    assert_eq!(v["properties"]["publicNetworkAccess"], "enabled");
    assert_eq!(
        v["properties"]["endpoint"],
        "https://srch.search.windows.net"
    );
    assert_eq!(v["properties"]["networkRuleSet"]["ipRules"], json!([]));
    let list = format!("/subscriptions/{SUB}/providers/Microsoft.Search/searchServices");
    let r = get(&w, "reader-app", &list, "api-version=2023-11-01");
    assert_eq!(json_of(&r)["value"][0]["name"], "srch");
    let r = get(&w, "ops", &id, "api-version=2023-11-01");
    assert_eq!(r.status, 403);
    assert!(body(&r).contains("'Microsoft.Search/searchServices/read'"));
    assert_eq!(w.counters.get("arm:searchServices"), 3);
}

#[test]
fn openai_deployments_are_listed_through_arm() {
    let w = world();
    let path = format!("{}/deployments", account_id("oai", "rg-ai"));
    let r = get(&w, "alice", &path, "api-version=2023-05-01");
    assert_eq!(r.status, 200, "{}", body(&r));
    let v = json_of(&r);
    assert_eq!(v["value"][0]["name"], "gpt-4o");
    assert_eq!(v["value"][0]["id"], format!("{path}/gpt-4o"));
    assert_eq!(
        v["value"][0]["properties"]["provisioningState"],
        "Succeeded"
    );
    let r = get(&w, "bob", &path, "api-version=2023-05-01");
    assert_eq!(r.status, 403);
    assert!(body(&r).contains("'Microsoft.CognitiveServices/accounts/deployments/read'"));
    assert_eq!(w.counters.get("arm:accounts"), 2);
}

#[test]
fn odd_requests_never_panic() {
    let w = world();
    let paths = [
        "".to_string(),
        "/".to_string(),
        "/subscriptions".to_string(),
        "/subscriptions/".to_string(),
        "/providers/Microsoft.Authorization".to_string(),
        "/providers/Microsoft.Authorization/roleAssignments/a/b/c".to_string(),
        format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/unknownThings"),
        format!(
            "/subscriptions/{SUB}/resourceGroups/%ff/providers/x/y/z/providers/Microsoft.Authorization/permissions"
        ),
        format!(
            "/subscriptions/{SUB}/resourceGroups/rg-ai/providers/Microsoft.CognitiveServices/accounts/oai/extra/segments/here"
        ),
        "/é/ü".to_string(),
    ];
    let filters = [
        "",
        "$filter=",
        "$filter=assignedTo(",
        "$filter=assignedTo(')",
        "$filter=principalId eq ",
        "$filter=principalId eq 'é",
        "$filter=roleName eq 'é'",
        "$filter=type eq",
        "$filter=%ff%fe",
        "$skiptoken=-1",
        "$skiptoken=99999999999999999999999",
    ];
    for who in ["reader-app", "bob", "guest"] {
        for path in &paths {
            for filter in filters {
                for kind in [
                    "",
                    "/providers/Microsoft.Authorization/roleAssignments",
                    "/providers/Microsoft.Authorization/roleDefinitions",
                    "/providers/Microsoft.Authorization/denyAssignments",
                ] {
                    let r = get(
                        &w,
                        who,
                        &format!("{path}{kind}"),
                        &format!("{filter}&{API}"),
                    );
                    assert!((200..600).contains(&r.status));
                }
            }
        }
    }
    let huge = w.signer.sign(&json!({"aud": "https://management.azure.com", "oid": "x", "tid": TENANT, "exp": 1e300, "nbf": -1e300}));
    let r = handle(
        &w,
        &EmuRequest {
            method: "GET".into(),
            path: format!("/subscriptions/{SUB}"),
            query: vec![("api-version".into(), "1".into())],
            headers: vec![("authorization".into(), format!("Bearer {huge}"))],
            ..Default::default()
        },
    );
    assert_eq!(r.status, 403);
}

#[test]
fn unsupported_filters_are_400() {
    let w = world();
    let path = assignments_path(&format!("/subscriptions/{SUB}"));
    let r = get(
        &w,
        "reader-app",
        &path,
        &format!("$filter=roleName eq 'x'&{API}"),
    );
    assert_eq!(r.status, 400);
    assert_eq!(json_of(&r)["error"]["code"], "UnsupportedQuery");
    let defs = format!("/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions");
    let r = get(
        &w,
        "reader-app",
        &defs,
        &format!("$filter=principalId eq 'x'&{API}"),
    );
    assert_eq!(r.status, 400);
}

mod subscriptions;
