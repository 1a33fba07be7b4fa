//! Resource reads: the subscription, Cognitive Services accounts and Search services, with the
//! property shapes of reference/azure-wire.md §6.

use serde_json::{Map, Value, json};

use super::{
    authorization_failed, eq, may, resource_group, resource_group_not_found, resource_not_found,
    subscription, subscription_not_found, unknown_route,
};
use crate::emulator::authz::{self, Caller, principal_closure};
use crate::emulator::cloud::TenantCloud;
use crate::emulator::scenario::{
    AccountKind, AccountSpec, EnabledDisabled, NetworkAction, ProjectSpec, SearchAuth,
    SearchServiceSpec, SubscriptionInfo, derived_id,
};
use crate::emulator::{EmuRequest, EmuResponse, World};

const ACCOUNT_READ: &str = "Microsoft.CognitiveServices/accounts/read";
const SEARCH_READ: &str = "Microsoft.Search/searchServices/read";

pub(super) fn handle(
    world: &World,
    req: &EmuRequest,
    caller: &Caller,
    segments: &[String],
) -> EmuResponse {
    let seg: Vec<&str> = segments.iter().map(String::as_str).collect();
    if seg.first().is_none_or(|s| !eq(s, "subscriptions")) {
        return unknown_route(&req.path);
    }
    if seg.len() == 1 {
        // Every subscription the caller holds a role in, or above (a management group).
        let value: Vec<Value> = if eq(&caller.tid, world.tenant_id()) {
            world
                .subscriptions
                .iter()
                .filter(|s| sees_subscription(world, caller, &s.id))
                .map(|s| subscription_json(world, s))
                .collect()
        } else {
            Vec::new()
        };
        return EmuResponse::json(
            200,
            &json!({"value": value, "count": {"type": "Total", "value": value.len()}}),
        );
    }
    let is_account =
        |ns: &str, kind: &str| eq(ns, "Microsoft.CognitiveServices") && eq(kind, "accounts");
    let is_search = |ns: &str, kind: &str| eq(ns, "Microsoft.Search") && eq(kind, "searchServices");
    if let [_, sub, rgs, rg, providers, ns, kind, name, "deployments"] = seg.as_slice()
        && eq(rgs, "resourceGroups")
        && eq(providers, "providers")
        && is_account(ns, kind)
    {
        let Some(sub) = subscription(world, sub) else {
            return subscription_not_found(sub);
        };
        return deployments(world, caller, sub, rg, name);
    }
    if let [
        _,
        sub,
        rgs,
        rg,
        providers,
        ns,
        kind,
        name,
        children,
        rest @ ..,
    ] = seg.as_slice()
        && eq(rgs, "resourceGroups")
        && eq(providers, "providers")
        && is_account(ns, kind)
        && eq(children, "projects")
        && rest.len() <= 1
    {
        let Some(sub) = subscription(world, sub) else {
            return subscription_not_found(sub);
        };
        return projects(world, req, caller, (sub, rg), name, rest.first().copied());
    }
    let route = match seg.as_slice() {
        [_, _] => "arm:subscriptions",
        [_, _, "providers", ns, kind]
        | [_, _, _, _, "providers", ns, kind]
        | [_, _, _, _, "providers", ns, kind, _]
            if is_account(ns, kind) =>
        {
            "arm:accounts"
        }
        [_, _, "providers", ns, kind]
        | [_, _, _, _, "providers", ns, kind]
        | [_, _, _, _, "providers", ns, kind, _]
            if is_search(ns, kind) =>
        {
            "arm:searchServices"
        }
        _ => return unknown_route(&req.path),
    };
    let Some(info) = world.subscription_by_id(seg[1]) else {
        return subscription_not_found(seg[1]);
    };
    let sub = info.id.as_str();
    if seg.len() == 2 {
        return if sees_subscription(world, caller, sub) {
            EmuResponse::json(200, &subscription_json(world, info))
        } else {
            // Anyone with a role anywhere in a subscription can read it; everyone else gets
            // ARM's 403 for the subscription read action [L].
            authorization_failed(
                world,
                caller,
                "Microsoft.Resources/subscriptions/read",
                &format!("/subscriptions/{sub}"),
            )
        };
    }
    if seg.len() >= 7 && !eq(seg[2], "resourceGroups") {
        return unknown_route(&req.path);
    }
    let rg = (seg.len() >= 7).then(|| seg[3]);
    let name = seg.get(7).copied();
    let accounts = route == "arm:accounts";
    match (rg, name) {
        (Some(rg), Some(name)) => {
            let (action, namespace_and_type) = if accounts {
                (ACCOUNT_READ, "Microsoft.CognitiveServices/accounts")
            } else {
                (SEARCH_READ, "Microsoft.Search/searchServices")
            };
            // ARM authorizes the requested id before asking the provider whether it exists.
            let requested_id = format!(
                "/subscriptions/{sub}/resourceGroups/{rg}/providers/{namespace_and_type}/{name}"
            );
            if !may(world, caller, action, &requested_id) {
                return authorization_failed(world, caller, action, &requested_id);
            }
            let Some(rg_name) = resource_group(world, sub, rg) else {
                return resource_group_not_found(rg);
            };
            let here = |group: &str, id: &str| eq(group, rg_name) && eq(id, sub);
            let found = if accounts {
                world
                    .scenario
                    .accounts
                    .iter()
                    .find(|a| eq(a.name(), name) && here(&a.resource_group, &a.subscription_id))
                    .map(|a| account_json(world, a))
            } else {
                world
                    .scenario
                    .search_services
                    .iter()
                    .find(|s| eq(s.name(), name) && here(&s.resource_group, &s.subscription_id))
                    .map(|s| search_json(world, s))
            };
            match found {
                Some(body) => EmuResponse::json(200, &body),
                None => resource_not_found(namespace_and_type, name, rg),
            }
        }
        (rg, _) => {
            let rg_name = match rg {
                Some(rg) => match resource_group(world, sub, rg) {
                    Some(found) => Some(found),
                    None => return resource_group_not_found(rg),
                },
                None => None,
            };
            let in_scope =
                |group: &str, id: &str| eq(id, sub) && rg_name.is_none_or(|r| eq(r, group));
            // Collection reads are filtered to what the caller may read rather than refused
            // outright [L].
            let value: Vec<Value> = if accounts {
                world
                    .scenario
                    .accounts
                    .iter()
                    .filter(|a| in_scope(&a.resource_group, &a.subscription_id))
                    .filter(|a| may(world, caller, ACCOUNT_READ, &a.id()))
                    .map(|a| account_json(world, a))
                    .collect()
            } else {
                world
                    .scenario
                    .search_services
                    .iter()
                    .filter(|s| in_scope(&s.resource_group, &s.subscription_id))
                    .filter(|s| may(world, caller, SEARCH_READ, &s.id()))
                    .map(|s| search_json(world, s))
                    .collect()
            };
            EmuResponse::json(200, &json!({"value": value}))
        }
    }
}

/// `GET …/accounts/{name}/deployments`: the model deployments of an Azure OpenAI or AIServices
/// account (the inference API no longer lists them, so clients ask ARM).
fn deployments(world: &World, caller: &Caller, sub: &str, rg: &str, name: &str) -> EmuResponse {
    let requested = format!(
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.CognitiveServices/accounts/{name}"
    );
    let action = "Microsoft.CognitiveServices/accounts/deployments/read";
    if !may(world, caller, action, &requested) {
        return authorization_failed(world, caller, action, &format!("{requested}/deployments"));
    }
    let Some(account) = find_account(world, sub, rg, name) else {
        return match resource_group(world, sub, rg) {
            None => resource_group_not_found(rg),
            Some(_) => resource_not_found("Microsoft.CognitiveServices/accounts", name, rg),
        };
    };
    let id = account.id();
    let value: Vec<Value> = account
        .deployments
        .iter()
        .map(|d| {
            json!({
                "id": format!("{id}/deployments/{d}"),
                "name": d,
                "type": "Microsoft.CognitiveServices/accounts/deployments",
                "sku": {"name": "Standard", "capacity": 10},
                "properties": {
                    // The scenario names deployments only; the model behind each is taken to
                    // share its name [L].
                    "model": {"format": "OpenAI", "name": d},
                    "provisioningState": "Succeeded",
                    "raiPolicyName": "Microsoft.DefaultV2"
                }
            })
        })
        .collect();
    EmuResponse::json(200, &json!({"value": value}))
}

/// An account by subscription, resource group and name (case-insensitive).
fn find_account<'w>(world: &'w World, sub: &str, rg: &str, name: &str) -> Option<&'w AccountSpec> {
    world
        .scenario
        .accounts
        .iter()
        .find(|a| eq(a.name(), name) && eq(&a.resource_group, rg) && eq(&a.subscription_id, sub))
}

/// A subscription is visible to whoever holds an effective role anywhere inside it, or above it
/// (a management group it is under, or the tenant root group).
fn sees_subscription(world: &World, caller: &Caller, sub: &str) -> bool {
    let names = principal_closure(&world.scenario, &caller.oid);
    let elapsed = world.started.elapsed();
    let subscription_scope = format!("/subscriptions/{sub}");
    // A removed assignment is gone from ARM at once, whatever the data plane still honours.
    authz::arm_assignments(&world.scenario, elapsed)
        .iter()
        .any(|a| {
            names.contains(a.spec.principal.get_ref())
                && !a.is_pending(elapsed)
                && (authz::scope_covers(&subscription_scope, &a.scope)
                    || authz::covers(&world.scenario, &a.scope, &subscription_scope))
        })
}

pub(crate) fn subscription_json(world: &World, info: &SubscriptionInfo) -> Value {
    let sub = &info.id;
    json!({
        "id": format!("/subscriptions/{sub}"),
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": sub,
        "tenantId": world.tenant_id(),
        "displayName": info.display_name,
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off"
        }
    })
}

/// `properties.endpoints` by kind, in the names of the tenant's cloud. The key names are those
/// real accounts report [M]; the set per kind is abridged [L]. An endpoint the cloud has no host
/// for (Foundry's, outside the public cloud [L]) is left out.
fn endpoints(account: &AccountSpec, cloud: TenantCloud) -> Value {
    let base = account.endpoint();
    let sub = account.subdomain();
    let openai = sub.map(|s| format!("https://{s}.openai.azure.com/"));
    let mut map = Map::new();
    let mut put = |key: &str, value: &str| {
        if let Some(url) = cloud.url_in(value) {
            map.insert(key.to_string(), json!(url));
        }
    };
    let openai_keys = [
        "OpenAI Language Model Instance API",
        "OpenAI Dall-E API",
        "OpenAI Whisper API",
        "OpenAI Model Scaleset API",
        "OpenAI Moderations API",
        "OpenAI Realtime API",
    ];
    match account.kind {
        AccountKind::OpenAI => {
            for key in openai_keys {
                put(key, &base);
            }
        }
        AccountKind::AIServices => {
            if let Some(openai) = &openai {
                for key in openai_keys {
                    put(key, openai);
                }
            }
            if let Some(s) = sub {
                put(
                    "AI Foundry API",
                    &format!("https://{s}.services.ai.azure.com/"),
                );
                put(
                    "Azure AI Model Inference API",
                    &format!("https://{s}.services.ai.azure.com/"),
                );
            }
            for key in [
                "Computer Vision",
                "Content Safety",
                "Form Recognizer",
                "Language",
                "Speech Services Speech to Text",
                "Speech Services Text to Speech",
            ] {
                put(key, &base);
            }
        }
        AccountKind::CognitiveServices => {
            for key in [
                "Computer Vision",
                "Content Moderator",
                "Content Safety",
                "Form Recognizer",
                "Language",
                "Speech Services Speech to Text",
                "Speech Services Text to Speech",
            ] {
                put(key, &base);
            }
        }
        AccountKind::SpeechServices => {
            for key in [
                "Speech Services Speech to Text",
                "Speech Services Speech to Text (Standard)",
                "Speech Services Text to Speech",
            ] {
                put(key, &base);
            }
        }
        AccountKind::ComputerVision => put("Computer Vision", &base),
        AccountKind::TextAnalytics => put("Language", &base),
        AccountKind::TextTranslation => {
            put("DocumentTranslation", &base);
            put(
                "TextTranslation",
                "https://api.cognitive.microsofttranslator.com/",
            );
        }
        AccountKind::FormRecognizer => put("Form Recognizer", &base),
        AccountKind::ContentSafety => put("Content Safety", &base),
    }
    put("Token Service API", &base);
    Value::Object(map)
}

/// The `projects` child type first appears in 2025-04-01-preview; earlier versions do not define
/// it (reference/foundry.md §1.3). ARM's answer to such a version is taken to be its usual
/// `NoRegisteredProviderFound` 400 [I].
const PROJECT_API_VERSIONS: &[&str] = &[
    "2025-04-01-preview",
    "2025-06-01",
    "2025-07-01-preview",
    "2025-09-01",
    "2025-10-01-preview",
    "2026-03-01",
    "2026-05-01",
];

/// `GET …/accounts/{a}/projects[/{p}]?api-version=2025-06-01`: Foundry projects, each with its
/// system-assigned identity and its endpoint (the shape of real `az … project show` output [O]).
fn projects(
    world: &World,
    req: &EmuRequest,
    caller: &Caller,
    (sub, rg): (&str, &str),
    account_name: &str,
    project: Option<&str>,
) -> EmuResponse {
    let version = req.query_param("api-version").unwrap_or_default();
    if !PROJECT_API_VERSIONS.contains(&version) {
        let message = format!(
            "No registered resource provider found for location 'westeurope' and API version \
             '{}' for type 'accounts/projects'. The supported api-versions are '{}'.",
            version.chars().take(40).collect::<String>(),
            PROJECT_API_VERSIONS.join(", ")
        );
        return EmuResponse::json(
            400,
            &json!({"error": {"code": "NoRegisteredProviderFound", "message": message}}),
        );
    }
    let account_id = format!(
        "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.CognitiveServices/accounts/{account_name}"
    );
    let action = "Microsoft.CognitiveServices/accounts/projects/read";
    let requested = match project {
        Some(p) => format!("{account_id}/projects/{p}"),
        None => account_id.clone(),
    };
    if !may(world, caller, action, &requested) {
        return authorization_failed(world, caller, action, &requested);
    }
    let Some(account) = find_account(world, sub, rg, account_name) else {
        return match resource_group(world, sub, rg) {
            None => resource_group_not_found(rg),
            Some(_) => resource_not_found("Microsoft.CognitiveServices/accounts", account_name, rg),
        };
    };
    let mut all = world.scenario.projects_of(account.name());
    match project {
        Some(p) => match all.find(|spec| eq(spec.name(), p)) {
            Some(spec) => EmuResponse::json(200, &project_json(world, account, spec)),
            None => resource_not_found(
                "Microsoft.CognitiveServices/accounts/projects",
                &format!("{account_name}/{p}"),
                rg,
            ),
        },
        None => {
            let value: Vec<Value> = all.map(|p| project_json(world, account, p)).collect();
            EmuResponse::json(200, &json!({"value": value}))
        }
    }
}

pub(crate) fn project_json(world: &World, account: &AccountSpec, project: &ProjectSpec) -> Value {
    let endpoint = format!(
        "https://{}.services.ai.azure.com/api/projects/{}",
        account.subdomain().unwrap_or(account.name()),
        project.name()
    );
    // No Foundry host is known outside the public cloud [L]: a project there lists none.
    let endpoints = match world.scenario.tenant.cloud().url_in(&endpoint) {
        Some(url) => json!({"AI Foundry API": url}),
        None => json!({}),
    };
    let is_default = world
        .scenario
        .projects_of(account.name())
        .next()
        .is_some_and(|p| p.name() == project.name());
    let qualified = format!("{}/{}", account.name(), project.name());
    json!({
        "id": project.id(account),
        "name": qualified,
        "type": "Microsoft.CognitiveServices/accounts/projects",
        "kind": "AIServices",
        "location": account.location,
        "identity": {
            "type": "SystemAssigned",
            "principalId": project.identity_object_id(&world.scenario),
            "tenantId": world.tenant_id(),
        },
        "properties": {
            "displayName": project.name(),
            "description": "",
            "endpoints": endpoints,
            "isDefault": is_default,
            "provisioningState": "Succeeded",
            "internalId": derived_id("internal", &qualified).replace('-', ""),
        }
    })
}

pub(crate) fn account_json(world: &World, a: &AccountSpec) -> Value {
    let created = "2024-05-24T10:00:00Z";
    let admin = derived_id("object", "scenario-administrator");
    let cloud = world.scenario.tenant.cloud();
    let mut properties = json!({
        "provisioningState": "Succeeded",
        "endpoint": cloud.service_url(&a.endpoint()),
        "endpoints": endpoints(a, cloud),
        "internalId": derived_id("internal", a.name()).replace('-', ""),
        "dateCreated": "2024-05-24T10:00:00.000Z",
        "capabilities": [{"name": "VirtualNetworks"}, {"name": "CustomerManagedKey"}],
        "callRateLimit": {"rules": [{"key": "default", "renewalPeriod": 1, "count": 10,
                                      "matchPatterns": [{"path": "*", "method": "*"}]}]},
        "networkAcls": {
            "defaultAction": match a.network_default_action {
                NetworkAction::Allow => "Allow",
                NetworkAction::Deny => "Deny",
            },
            "bypass": "AzureServices",
            "ipRules": a.ip_rules.iter().map(|r| json!({"value": r.get_ref()})).collect::<Vec<_>>(),
            "virtualNetworkRules": [],
        },
        "privateEndpointConnections": private_endpoint_connections(a),
        "publicNetworkAccess": if a.public_access_disabled() { "Disabled" } else { "Enabled" },
        "disableLocalAuth": a.disable_local_auth,
        "restrictOutboundNetworkAccess": false,
        "allowedFqdnList": [],
        "isMigrated": false,
        "dynamicThrottlingEnabled": false,
        "apiProperties": {},
    });
    // Absent, not null, on accounts that never had a custom subdomain (§6).
    if let (Some(subdomain), Some(map)) = (a.subdomain(), properties.as_object_mut()) {
        map.insert("customSubDomainName".into(), json!(subdomain));
    }
    // A Foundry resource: projects can be created under it (reference/foundry.md §1.2).
    if a.kind == AccountKind::AIServices
        && let Some(map) = properties.as_object_mut()
    {
        let projects: Vec<&str> = world
            .scenario
            .projects_of(a.name())
            .map(|p| p.name())
            .collect();
        map.insert(
            "allowProjectManagement".into(),
            json!(a.allow_project_management),
        );
        if a.allow_project_management {
            map.insert("associatedProjects".into(), json!(projects));
            if let Some(first) = projects.first() {
                map.insert("defaultProject".into(), json!(first));
            }
        }
    }
    json!({
        "id": a.id(),
        "name": a.name(),
        "type": "Microsoft.CognitiveServices/accounts",
        "etag": format!("\"{}\"", derived_id("etag", a.name())),
        "location": a.location,
        "kind": a.kind.as_str(),
        "sku": {"name": "S0"},
        "tags": a.tags,
        "identity": {"type": "None"},
        "systemData": {
            "createdBy": admin, "createdByType": "User", "createdAt": created,
            "lastModifiedBy": admin, "lastModifiedByType": "User", "lastModifiedAt": created
        },
        "properties": properties,
    })
}

/// A `private_endpoint` account has one approved connection, as ARM lists it (azure-wire.md §6).
fn private_endpoint_connections(a: &AccountSpec) -> Value {
    if !a.private_endpoint {
        return json!([]);
    }
    let sub = &a.subscription_id;
    json!([{
        "id": format!("{}/privateEndpointConnections/pe-{}", a.id(), a.name()),
        "name": format!("pe-{}", a.name()),
        "type": "Microsoft.CognitiveServices/accounts/privateEndpointConnections",
        "properties": {
            "privateEndpoint": {"id": format!("/subscriptions/{sub}/resourceGroups/{}/providers/Microsoft.Network/privateEndpoints/pe-{}", a.resource_group, a.name())},
            "privateLinkServiceConnectionState": {"status": "Approved", "description": "Auto-Approved", "actionsRequired": "None"},
            "provisioningState": "Succeeded",
            "groupIds": ["account"]
        }
    }])
}

pub(crate) fn search_json(world: &World, s: &SearchServiceSpec) -> Value {
    // With `disableLocalAuth: true`, ARM requires `authOptions` to be null (azure-wire.md §6).
    let auth_options = match s.auth {
        SearchAuth::ApiKeyOnly => json!({"apiKeyOnly": {}}),
        SearchAuth::AadOrApiKey => {
            json!({"aadOrApiKey": {"aadAuthFailureMode": s.failure_mode().as_arm()}})
        }
        SearchAuth::RbacOnly => Value::Null,
    };
    json!({
        "id": s.id(),
        "name": s.name(),
        "type": "Microsoft.Search/searchServices",
        "location": s.location,
        "tags": s.tags,
        "sku": {"name": "standard"},
        "properties": {
            "replicaCount": 1,
            "partitionCount": 1,
            "status": "running",
            "statusDetails": "",
            "provisioningState": "succeeded",
            "hostingMode": "default",
            // Search spells these in lower case, unlike Cognitive Services (§6).
            "publicNetworkAccess": match s.public_network_access {
                EnabledDisabled::Enabled => "enabled",
                EnabledDisabled::Disabled => "disabled",
            },
            "networkRuleSet": {
                "ipRules": s.ip_rules.iter().map(|r| json!({"value": r.get_ref()})).collect::<Vec<_>>(),
                "bypass": "None"
            },
            "encryptionWithCmk": {"enforcement": "Unspecified", "encryptionComplianceStatus": "Compliant"},
            "disableLocalAuth": s.auth == SearchAuth::RbacOnly,
            "authOptions": auth_options,
            "endpoint": world.scenario.tenant.cloud().service_url(&s.endpoint()),
            "semanticSearch": "disabled",
            "privateEndpointConnections": [],
            "sharedPrivateLinkResources": [],
        }
    })
}
