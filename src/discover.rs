//! `entraprobe run --discover`: the targets of an estate, found through Azure Resource Graph.
//!
//! One credential (the first source that can read ARM, or `--discovery-credential`) lists the
//! subscriptions it can see, sends one inventory query in pages of 1,000 rows (honouring the
//! per-user quota headers), and every Cognitive Services account, Foundry project and Search
//! service it finds becomes targets: the account's default surfaces (the table below, also in
//! docs/configuration.md), named per design §4 (`ACCOUNT` for one surface, `ACCOUNT:SURFACE`
//! for several, the Search service's name). Rows are mapped by a pure function, so what becomes
//! of each resource kind is tested without a server; the I/O is [`discover`].

use crate::UsageError;
use crate::arm::client::{ArmClient, ArmError};
use crate::credential::{Acquisition, CredentialContext, SourceId};
use crate::service::{ServiceCloud, ServiceKind, Target};
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

/// What the user asked to discover.
#[derive(Debug, Clone, Default)]
pub struct DiscoveryOptions {
    /// Subscription ids or display names; empty: every subscription the credential can see.
    pub subscriptions: Vec<String>,
    pub resource_group: Option<String>,
    pub tags: Vec<(String, String)>,
    pub credential: Option<SourceId>,
}

/// Longest value accepted in a filter: names in Azure are far shorter.
const MAX_FILTER_LEN: usize = 256;
/// Resource Graph's page ceiling.
pub const PAGE_SIZE: u64 = 1000;
/// A safety net for a service that never stops paging: 200 pages are 200,000 resources.
const MAX_PAGES: usize = 200;

impl DiscoveryOptions {
    /// Validate the `--discover` flags; None when discovery was not asked for.
    pub fn from_flags(
        discover: bool,
        subscriptions: &[String],
        resource_group: Option<&str>,
        tags: &[String],
        credential: Option<&str>,
    ) -> Result<Option<DiscoveryOptions>, UsageError> {
        let filters_given = !subscriptions.is_empty()
            || resource_group.is_some()
            || !tags.is_empty()
            || credential.is_some();
        if !discover {
            return if filters_given {
                Err(UsageError::new(
                    "--subscription, --resource-group, --tag and --discovery-credential narrow --discover; add --discover",
                ))
            } else {
                Ok(None)
            };
        }
        let checked = |flag: &str, value: &str| -> Result<String, UsageError> {
            let value = value.trim();
            if value.is_empty() || value.chars().count() > MAX_FILTER_LEN {
                return Err(UsageError::new(format!(
                    "{flag} must be 1 to {MAX_FILTER_LEN} characters"
                )));
            }
            if value.chars().any(char::is_control) {
                return Err(UsageError::new(format!(
                    "{flag} {:?} contains a control character",
                    value.escape_debug().to_string()
                )));
            }
            Ok(value.to_string())
        };
        let subscriptions = subscriptions
            .iter()
            .map(|s| checked("--subscription", s))
            .collect::<Result<_, _>>()?;
        let resource_group = resource_group
            .map(|rg| checked("--resource-group", rg))
            .transpose()?;
        let tags = tags
            .iter()
            .map(|t| {
                let t = checked("--tag", t)?;
                match t.split_once('=') {
                    Some((k, v)) if !k.trim().is_empty() => {
                        Ok((k.trim().to_string(), v.trim().to_string()))
                    }
                    _ => Err(UsageError::new(format!(
                        "--tag {t:?} must be KEY=VALUE (e.g. --tag env=prod)"
                    ))),
                }
            })
            .collect::<Result<_, _>>()?;
        let credential = credential
            .map(|c| {
                SourceId::parse(c.trim()).ok_or_else(|| {
                    UsageError::new(format!(
                        "--discovery-credential {c:?} is not a credential source ({})",
                        SourceId::ALL.map(SourceId::as_str).join(", ")
                    ))
                })
            })
            .transpose()?;
        Ok(Some(DiscoveryOptions {
            subscriptions,
            resource_group,
            tags,
            credential,
        }))
    }
}

// ------------------------------------------------------------------------------ the query

/// Resource types the inventory asks for.
pub const TYPES: [&str; 4] = [
    "microsoft.cognitiveservices/accounts",
    "microsoft.cognitiveservices/accounts/projects",
    "microsoft.search/searchservices",
    "microsoft.machinelearningservices/workspaces",
];

/// A KQL string literal: single-quoted, with `\` and `'` escaped.
fn kql_string(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// The inventory query (pure, so its text is tested as it is sent).
pub fn query_text(options: &DiscoveryOptions) -> String {
    let types: Vec<String> = TYPES.iter().map(|t| kql_string(t)).collect();
    let mut query = format!("resources\n| where type in~ ({})", types.join(", "));
    if let Some(rg) = &options.resource_group {
        query.push_str(&format!("\n| where resourceGroup =~ {}", kql_string(rg)));
    }
    for (key, value) in &options.tags {
        query.push_str(&format!(
            "\n| where tags[{}] =~ {}",
            kql_string(key),
            kql_string(value)
        ));
    }
    query.push_str(
        "\n| project id, name, type, kind, location, subscriptionId, resourceGroup, properties\n| order by id asc",
    );
    query
}

// ------------------------------------------------------------------------------ the mapping

/// The surfaces probed on an account of each kind (docs/configuration.md has the same table).
pub fn default_surfaces(account_kind: &str) -> &'static [ServiceKind] {
    use ServiceKind::*;
    match account_kind.to_ascii_lowercase().as_str() {
        "openai" => &[Openai],
        "speechservices" => &[Speech],
        "computervision" => &[Vision],
        "textanalytics" => &[Language],
        "texttranslation" => &[Translator],
        "formrecognizer" => &[DocumentIntelligence],
        "contentsafety" => &[ContentSafety],
        "aiservices" => &[
            Openai,
            ModelInference,
            Speech,
            Language,
            Vision,
            Translator,
            DocumentIntelligence,
            ContentSafety,
        ],
        "cognitiveservices" => &[
            Speech,
            Language,
            Vision,
            Translator,
            DocumentIntelligence,
            ContentSafety,
        ],
        _ => &[],
    }
}

/// A resource the inventory found but entraprobe does not probe, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotProbed {
    pub resource_id: String,
    pub reason: String,
}

/// What discovery found in one subscription.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SubscriptionFound {
    pub id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub accounts: usize,
    pub projects: usize,
    pub search_services: usize,
    pub targets: usize,
    pub not_probed: usize,
}

/// The discovery section of the report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Discovery {
    /// The credential source whose ARM token listed the estate.
    pub credential: Option<SourceId>,
    pub subscriptions: Vec<SubscriptionFound>,
    /// Resource Graph pages read.
    pub pages: usize,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub not_probed: Vec<NotProbed>,
    /// Discovered resources that a configured service already names (by resource id).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub already_configured: Vec<String>,
}

fn text<'a>(row: &'a Value, field: &str) -> &'a str {
    row[field].as_str().unwrap_or_default()
}

/// The endpoint a surface of an account is called at: the OpenAI endpoint ARM lists for the
/// OpenAI surface of a multi-service account, else the account's endpoint.
fn surface_endpoint(row: &Value, surface: ServiceKind) -> Option<String> {
    let properties = &row["properties"];
    let endpoint = properties["endpoint"].as_str().map(str::to_string);
    if surface == ServiceKind::Openai {
        let openai = properties["endpoints"]["OpenAI Language Model Instance API"].as_str();
        return openai.map(str::to_string).or(endpoint);
    }
    if surface == ServiceKind::ModelInference {
        // Foundry Models live on the services host only; clients append `models` to this key's
        // value [O] (reference/foundry.md §1.4). No host is derived when ARM lists none: an
        // account without the key is not known to serve Foundry Models (and outside the public
        // cloud no Foundry host is known at all [L]), so the surface is reported as not probed.
        return properties["endpoints"]["Azure AI Model Inference API"]
            .as_str()
            .map(str::to_string);
    }
    endpoint
}

/// A Foundry project row → its target, `ACCOUNT/PROJECT` at `properties.endpoints["AI Foundry
/// API"]`, or why it cannot be probed.
fn project_target(row: &Value, id: &str) -> Result<Target, String> {
    let endpoint = row["properties"]["endpoints"]["AI Foundry API"]
        .as_str()
        .filter(|e| e.contains("/api/projects/"))
        .ok_or("a Foundry project whose ARM properties list no \"AI Foundry API\" endpoint")?;
    // In real list output `name` is already `ACCOUNT/PROJECT` [O]; build it from the id otherwise.
    let segs: Vec<&str> = id.split('/').collect();
    let from_id = match segs.as_slice() {
        [.., "accounts", account, "projects", project] => format!("{account}/{project}"),
        _ => text(row, "name").to_string(),
    };
    let name = if text(row, "name").contains('/') {
        text(row, "name").to_string()
    } else {
        from_id
    };
    Ok(Target {
        name,
        kind: ServiceKind::FoundryProject,
        endpoint: endpoint.to_string(),
        resource_id: Some(id.to_string()),
        region: Some(text(row, "location").to_string()).filter(|r| !r.is_empty()),
        index: None,
        audience: None,
    })
}

/// Rows → targets (named per design §4) and what was left out, endpoints in `cloud`'s names.
/// Pure.
pub fn map_rows(rows: &[Value], cloud: &ServiceCloud) -> (Vec<Target>, Vec<NotProbed>) {
    let mut targets = Vec::new();
    let mut not_probed = Vec::new();
    for row in rows {
        let id = text(row, "id").to_string();
        let skip = |reason: String| NotProbed {
            resource_id: id.clone(),
            reason,
        };
        match text(row, "type").to_ascii_lowercase().as_str() {
            "microsoft.cognitiveservices/accounts" => {
                let kind = text(row, "kind");
                let surfaces = default_surfaces(kind);
                if surfaces.is_empty() {
                    not_probed.push(skip(format!(
                        "an account of kind {kind:?}: entraprobe has no probe for it"
                    )));
                    continue;
                }
                for &surface in surfaces {
                    let Some(endpoint) = surface_endpoint(row, surface) else {
                        not_probed.push(skip(format!(
                            "{surface} surface: ARM lists no endpoint for it"
                        )));
                        continue;
                    };
                    let name = if surfaces.len() == 1 {
                        text(row, "name").to_string()
                    } else {
                        format!("{}:{surface}", text(row, "name"))
                    };
                    targets.push(Target {
                        name,
                        kind: surface,
                        endpoint,
                        resource_id: Some(id.clone()),
                        region: Some(text(row, "location").to_string())
                            .filter(|r| !r.is_empty()),
                        index: None,
                        audience: None,
                    });
                }
            }
            "microsoft.search/searchservices" => {
                let name = text(row, "name");
                let endpoint = row["properties"]["endpoint"]
                    .as_str()
                    .map_or_else(|| cloud.search_endpoint(name), str::to_string);
                targets.push(Target {
                    name: name.to_string(),
                    kind: ServiceKind::Search,
                    endpoint,
                    resource_id: Some(id.clone()),
                    region: None,
                    index: None,
                    audience: None,
                });
            }
            "microsoft.cognitiveservices/accounts/projects" => match project_target(row, &id) {
                Ok(target) => targets.push(target),
                Err(reason) => not_probed.push(skip(reason)),
            },
            "microsoft.machinelearningservices/workspaces" => not_probed.push(skip(format!(
                "hub-based-project: an Azure Machine Learning workspace (kind {:?}); hub-based projects are a different system, reached through ml.azure.com with their own roles, and are not probed (entraprobe explain hub-based-project)",
                text(row, "kind")
            ))),
            other => not_probed.push(skip(format!("resource type {other:?} is not probed"))),
        }
    }
    disambiguate(&mut targets);
    // Names come from a server: one that would not pass as a configured service name (too long,
    // odd characters) is not made a column header.
    targets.retain(|t| match crate::config::check_service_name(&t.name) {
        Ok(()) => true,
        Err(problem) => {
            not_probed.push(NotProbed {
                resource_id: t.resource_id.clone().unwrap_or_default(),
                reason: problem,
            });
            false
        }
    });
    (targets, not_probed)
}

/// Two resources of one name (in two resource groups or subscriptions) get `@RESOURCE_GROUP`
/// appended, so every target name stays unique.
fn disambiguate(targets: &mut [Target]) {
    let mut count: HashMap<String, usize> = HashMap::new();
    for t in targets.iter() {
        *count.entry(t.name.to_ascii_lowercase()).or_default() += 1;
    }
    for t in targets.iter_mut() {
        if count[&t.name.to_ascii_lowercase()] > 1 {
            let rg = t
                .resource_id
                .as_deref()
                .and_then(|id| {
                    let segs: Vec<&str> = id.split('/').collect();
                    let at = segs
                        .iter()
                        .position(|s| s.eq_ignore_ascii_case("resourceGroups"))?;
                    segs.get(at + 1).copied()
                })
                .unwrap_or("?");
            t.name = format!("{}@{rg}", t.name);
        }
    }
}

/// Add discovered targets to the configured ones: a resource a configured service already
/// names (by resource id and kind) is left to the configuration, which may carry an index or an
/// expectation.
pub fn merge_targets(configured: &mut Vec<Target>, discovered: Vec<Target>) -> Vec<String> {
    let mut already = Vec::new();
    for target in discovered {
        let duplicate = configured.iter().any(|c| {
            c.kind == target.kind
                && c.resource_id
                    .as_deref()
                    .zip(target.resource_id.as_deref())
                    .is_some_and(|(a, b)| a.eq_ignore_ascii_case(b))
        });
        if duplicate {
            already.extend(target.resource_id.clone());
            continue;
        }
        let mut target = target;
        if configured
            .iter()
            .any(|c| c.name.eq_ignore_ascii_case(&target.name))
        {
            target.name = format!("{}@discovered", target.name);
        }
        configured.push(target);
    }
    already.dedup();
    already
}

/// Per-subscription counts for the report.
fn summarize(
    subscriptions: &[(String, String)],
    rows: &[Value],
    targets: &[Target],
    not_probed: &[NotProbed],
) -> Vec<SubscriptionFound> {
    let sub_of = |id: &str| {
        id.split('/')
            .nth(2)
            .map(str::to_ascii_lowercase)
            .unwrap_or_default()
    };
    let mut found: BTreeMap<String, SubscriptionFound> = subscriptions
        .iter()
        .map(|(id, name)| {
            (
                id.to_ascii_lowercase(),
                SubscriptionFound {
                    id: id.clone(),
                    name: name.clone(),
                    ..Default::default()
                },
            )
        })
        .collect();
    for row in rows {
        let entry = found
            .entry(sub_of(text(row, "id")))
            .or_insert_with(|| SubscriptionFound {
                id: text(row, "subscriptionId").to_string(),
                ..Default::default()
            });
        match text(row, "type").to_ascii_lowercase().as_str() {
            "microsoft.cognitiveservices/accounts" => entry.accounts += 1,
            "microsoft.cognitiveservices/accounts/projects" => entry.projects += 1,
            "microsoft.search/searchservices" => entry.search_services += 1,
            _ => {}
        }
    }
    for t in targets {
        if let Some(entry) = t
            .resource_id
            .as_deref()
            .and_then(|id| found.get_mut(&sub_of(id)))
        {
            entry.targets += 1;
        }
    }
    for n in not_probed {
        if let Some(entry) = found.get_mut(&sub_of(&n.resource_id)) {
            entry.not_probed += 1;
        }
    }
    found.into_values().collect()
}

// ------------------------------------------------------------------------------ the I/O

/// Discovery failed in a way that leaves nothing to probe.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    #[error("{0}")]
    Usage(#[from] UsageError),
    #[error("discovery: {0}")]
    Failed(String),
}

/// The first source (in `sources` order, or the one named) that gets an ARM token.
async fn discovery_reader(
    options: &DiscoveryOptions,
    sources: &[SourceId],
    ctx: &CredentialContext,
) -> Result<(SourceId, ArmClient), DiscoveryError> {
    let scope = format!("{}/.default", ctx.cloud.arm);
    let candidates: Vec<SourceId> = match options.credential {
        Some(id) => vec![id],
        None => sources.to_vec(),
    };
    let mut tried = Vec::new();
    for id in candidates {
        match crate::credential::acquire(id, &scope, ctx).await {
            Acquisition::Acquired { token, .. } => {
                let client =
                    ArmClient::new(ctx.http.clone(), ctx.cloud.arm, token.secret().to_string())
                        .with_timeout(ctx.timeout);
                return Ok((id, client));
            }
            Acquisition::Skipped { reason, .. } => tried.push(format!("{id}: {reason}")),
            Acquisition::Failed { findings } => tried.push(format!(
                "{id}: {}",
                findings
                    .first()
                    .map_or("no token".to_string(), |f| f.message.clone())
            )),
        }
    }
    Err(DiscoveryError::Failed(format!(
        "no credential source could get an ARM token to list the estate ({}); sign in (az login) or name one with --discovery-credential",
        crate::redact::redact(&tried.join("; "))
    )))
}

/// Resolve `--subscription` ids or names against the subscriptions the reader can see.
fn resolve_subscriptions(
    wanted: &[String],
    visible: &[crate::arm::model::Subscription],
) -> Result<Vec<(String, String)>, DiscoveryError> {
    if wanted.is_empty() {
        return Ok(visible
            .iter()
            .map(|s| (s.subscription_id.clone(), s.display_name.clone()))
            .collect());
    }
    wanted
        .iter()
        .map(|w| {
            let by_id = visible.iter().find(|s| s.subscription_id.eq_ignore_ascii_case(w));
            let by_name: Vec<_> = visible
                .iter()
                .filter(|s| s.display_name.eq_ignore_ascii_case(w))
                .collect();
            match (by_id, by_name.as_slice()) {
                (Some(s), _) | (None, &[s]) => Ok((s.subscription_id.clone(), s.display_name.clone())),
                (None, []) if uuid::Uuid::parse_str(w).is_ok() => Ok((w.clone(), String::new())),
                (None, []) => Err(DiscoveryError::Failed(format!(
                    "--subscription {w:?}: no subscription of that id or name is visible to the discovery credential"
                ))),
                (None, _) => Err(DiscoveryError::Failed(format!(
                    "--subscription {w:?}: several subscriptions have that name; give the id"
                ))),
            }
        })
        .collect()
}

/// A row with only what the mapping reads: a full account's properties are kilobytes, and an
/// estate has thousands of them.
fn slim(row: Value) -> Value {
    let Value::Object(mut map) = row else {
        return Value::Null;
    };
    let mut kept = serde_json::Map::new();
    for key in [
        "id",
        "name",
        "type",
        "kind",
        "location",
        "subscriptionId",
        "resourceGroup",
    ] {
        if let Some(v) = map.remove(key) {
            kept.insert(key.to_string(), v);
        }
    }
    if let Some(Value::Object(mut properties)) = map.remove("properties") {
        let mut slim_properties = serde_json::Map::new();
        for key in ["endpoint", "endpoints"] {
            if let Some(v) = properties.remove(key) {
                slim_properties.insert(key.to_string(), v);
            }
        }
        kept.insert("properties".into(), Value::Object(slim_properties));
    }
    Value::Object(kept)
}

/// Every page of the inventory query over `subscriptions`.
async fn inventory(
    client: &ArmClient,
    query: &str,
    subscriptions: &[(String, String)],
) -> Result<(Vec<Value>, usize), ArmError> {
    let ids: Vec<&str> = subscriptions.iter().map(|(id, _)| id.as_str()).collect();
    let mut rows = Vec::new();
    let mut skip_token: Option<String> = None;
    for page_number in 1..=MAX_PAGES {
        let mut options = json!({"$top": PAGE_SIZE, "resultFormat": "objectArray"});
        if let Some(token) = &skip_token {
            options["$skipToken"] = json!(token);
        }
        let page = client
            .resource_graph_page(&json!({"subscriptions": ids, "query": query, "options": options}))
            .await?;
        rows.extend(page.data.into_iter().map(slim));
        skip_token = page.skip_token.filter(|t| !t.is_empty());
        if skip_token.is_none() {
            return Ok((rows, page_number));
        }
        // Out of quota for this window: wait for it to reset before the next page.
        if page.quota_remaining == Some(0) {
            tokio::time::sleep(page.quota_resets_after.unwrap_or_default()).await;
        }
    }
    Err(ArmError::Other {
        status: 200,
        message: format!("Resource Graph kept paging after {MAX_PAGES} pages"),
    })
}

/// Find the estate: targets to add, and the report's discovery section.
pub async fn discover(
    options: &DiscoveryOptions,
    sources: &[SourceId],
    ctx: &CredentialContext,
) -> Result<(Vec<Target>, Discovery), DiscoveryError> {
    let (credential, client) = discovery_reader(options, sources, ctx).await?;
    let visible = client.subscriptions().await.map_err(|e| {
        DiscoveryError::Failed(format!("cannot list subscriptions as {credential}: {e}"))
    })?;
    let subscriptions = resolve_subscriptions(&options.subscriptions, &visible)?;
    if subscriptions.is_empty() {
        return Err(DiscoveryError::Failed(format!(
            "{credential} sees no subscription; grant it Reader on the subscriptions to discover, or name them with --subscription"
        )));
    }
    let (rows, pages) = inventory(&client, &query_text(options), &subscriptions)
        .await
        .map_err(|e| {
            DiscoveryError::Failed(format!("Resource Graph query as {credential}: {e}"))
        })?;
    let (targets, not_probed) = map_rows(&rows, &ctx.cloud.services);
    let discovery = Discovery {
        credential: Some(credential),
        subscriptions: summarize(&subscriptions, &rows, &targets, &not_probed),
        pages,
        not_probed,
        already_configured: Vec::new(),
    };
    Ok((targets, discovery))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id_tail: &str, kind: &str, name: &str) -> Value {
        json!({
            "id": format!("/subscriptions/s1/resourceGroups/rg/providers/{id_tail}/{name}"),
            "name": name,
            "type": if id_tail.ends_with("searchServices") { "microsoft.search/searchservices" } else { "microsoft.cognitiveservices/accounts" },
            "kind": kind,
            "location": "westeurope",
            "subscriptionId": "s1",
            "properties": {
                "endpoint": format!("https://{name}.cognitiveservices.azure.com/"),
                "customSubDomainName": name,
                "endpoints": {"OpenAI Language Model Instance API": format!("https://{name}.openai.azure.com/")},
            },
        })
    }

    #[test]
    fn foundry_projects_become_targets_and_hub_projects_are_named_as_another_system() {
        let project = json!({
            "id": "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/fdy/projects/agents",
            "name": "fdy/agents",
            "type": "microsoft.cognitiveservices/accounts/projects",
            "kind": "AIServices",
            "location": "eastus2",
            "properties": {"endpoints": {"AI Foundry API": "https://fdy.services.ai.azure.com/api/projects/agents"}},
        });
        let hub = json!({
            "id": "/subscriptions/s1/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/old-hub",
            "name": "old-hub",
            "type": "microsoft.machinelearningservices/workspaces",
            "kind": "Hub",
        });
        let (targets, not_probed) = map_rows(&[project, hub], &ServiceCloud::PUBLIC);
        assert_eq!(targets.len(), 1);
        assert_eq!(targets[0].name, "fdy/agents");
        assert_eq!(targets[0].kind, ServiceKind::FoundryProject);
        assert_eq!(
            targets[0].endpoint,
            "https://fdy.services.ai.azure.com/api/projects/agents"
        );
        assert_eq!(not_probed.len(), 1);
        assert!(
            not_probed[0].reason.starts_with("hub-based-project"),
            "{not_probed:?}"
        );
        assert!(crate::diagnosis::Code::parse("hub-based-project").is_some());
    }

    #[test]
    fn accounts_become_targets_named_per_surface() {
        let rows = vec![
            row(
                "Microsoft.CognitiveServices/accounts",
                "SpeechServices",
                "speechy",
            ),
            foundry_row("fdy"),
            row("Microsoft.CognitiveServices/accounts", "Face", "facey"),
            row("Microsoft.Search/searchServices", "", "srch"),
        ];
        let (targets, not_probed) = map_rows(&rows, &ServiceCloud::PUBLIC);
        let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
        assert!(names.contains(&"speechy"), "{names:?}");
        assert!(
            names.contains(&"fdy:openai") && names.contains(&"fdy:speech"),
            "{names:?}"
        );
        assert!(names.contains(&"srch"), "{names:?}");
        assert_eq!(targets.len(), 1 + 8 + 1);
        let oai = targets.iter().find(|t| t.name == "fdy:openai").unwrap();
        assert_eq!(oai.endpoint, "https://fdy.openai.azure.com/");
        let models = targets
            .iter()
            .find(|t| t.name == "fdy:model-inference")
            .unwrap();
        assert_eq!(models.endpoint, "https://fdy.services.ai.azure.com/");
        let speech = targets.iter().find(|t| t.name == "speechy").unwrap();
        assert_eq!(speech.region.as_deref(), Some("westeurope"));
        assert!(speech.resource_id.as_deref().unwrap().ends_with("/speechy"));
        assert_eq!(not_probed.len(), 1);
        assert!(not_probed[0].reason.contains("Face"), "{not_probed:?}");
    }

    /// An AIServices account as ARM lists a Foundry resource: its Foundry Models endpoint too.
    fn foundry_row(name: &str) -> Value {
        let mut r = row("Microsoft.CognitiveServices/accounts", "AIServices", name);
        r["properties"]["endpoints"]["Azure AI Model Inference API"] =
            json!(format!("https://{name}.services.ai.azure.com/"));
        r
    }

    #[test]
    fn foundry_models_are_probed_only_where_arm_lists_their_endpoint() {
        // A custom subdomain alone names no Foundry Models host: nothing is derived from it.
        let unlisted = row(
            "Microsoft.CognitiveServices/accounts",
            "AIServices",
            "plain",
        );
        let (targets, not_probed) = map_rows(&[unlisted], &ServiceCloud::PUBLIC);
        assert!(
            targets
                .iter()
                .all(|t| t.kind != ServiceKind::ModelInference),
            "{targets:?}"
        );
        assert_eq!(not_probed.len(), 1, "{not_probed:?}");
        assert!(
            not_probed[0]
                .reason
                .starts_with("model-inference surface: ARM lists no endpoint"),
            "{not_probed:?}"
        );
    }

    #[test]
    fn a_search_service_without_an_endpoint_is_named_in_the_clouds_host() {
        let mut srch = row("Microsoft.Search/searchServices", "", "srch");
        srch["properties"] = json!({});
        for (cloud, expected) in [
            (ServiceCloud::PUBLIC, "https://srch.search.windows.net"),
            (ServiceCloud::USGOV, "https://srch.search.azure.us"),
            (ServiceCloud::CHINA, "https://srch.search.azure.cn"),
        ] {
            let (targets, _) = map_rows(std::slice::from_ref(&srch), &cloud);
            assert_eq!(targets[0].endpoint, expected, "{}", cloud.name);
        }
    }

    #[test]
    fn a_name_no_configured_service_could_have_is_not_probed() {
        let long = "a".repeat(300);
        let rows = vec![
            row("Microsoft.CognitiveServices/accounts", "OpenAI", &long),
            row(
                "Microsoft.CognitiveServices/accounts",
                "OpenAI",
                "bad\u{1b}[31m",
            ),
            row("Microsoft.CognitiveServices/accounts", "OpenAI", "fine"),
        ];
        let (targets, not_probed) = map_rows(&rows, &ServiceCloud::PUBLIC);
        assert_eq!(targets.len(), 1, "{targets:?}");
        assert_eq!(not_probed.len(), 2, "{not_probed:?}");
    }

    #[test]
    fn two_resources_of_one_name_stay_apart() {
        let mut a = row("Microsoft.CognitiveServices/accounts", "OpenAI", "same");
        let mut b = a.clone();
        a["id"] = json!(
            "/subscriptions/s1/resourceGroups/rg-a/providers/Microsoft.CognitiveServices/accounts/same"
        );
        b["id"] = json!(
            "/subscriptions/s2/resourceGroups/rg-b/providers/Microsoft.CognitiveServices/accounts/same"
        );
        let (targets, _) = map_rows(&[a, b], &ServiceCloud::PUBLIC);
        let names: Vec<&str> = targets.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["same@rg-a", "same@rg-b"]);
    }

    #[test]
    fn the_query_escapes_what_the_user_typed() {
        let options = DiscoveryOptions {
            resource_group: Some("rg'x".into()),
            tags: vec![("env\\".into(), "prod".into())],
            ..Default::default()
        };
        let q = query_text(&options);
        assert!(q.contains("resourceGroup =~ 'rg\\'x'"), "{q}");
        assert!(q.contains("tags['env\\\\'] =~ 'prod'"), "{q}");
        assert!(q.starts_with("resources\n| where type in~ ("), "{q}");
    }

    #[test]
    fn flags_are_checked() {
        let none = DiscoveryOptions::from_flags(false, &[], None, &[], None).unwrap();
        assert!(none.is_none());
        assert!(DiscoveryOptions::from_flags(false, &["x".into()], None, &[], None).is_err());
        assert!(DiscoveryOptions::from_flags(true, &[], None, &["novalue".into()], None).is_err());
        assert!(DiscoveryOptions::from_flags(true, &[], Some("a\nb"), &[], None).is_err());
        assert!(DiscoveryOptions::from_flags(true, &[], None, &[], Some("bogus")).is_err());
        let ok = DiscoveryOptions::from_flags(
            true,
            &["prod".into()],
            Some("rg"),
            &["env=prod".into()],
            Some("azure-cli"),
        )
        .unwrap()
        .unwrap();
        assert_eq!(ok.tags, [("env".to_string(), "prod".to_string())]);
        assert_eq!(ok.credential, Some(SourceId::AzureCli));
    }

    #[test]
    fn configured_services_win_over_discovered_ones() {
        let mut configured = vec![Target {
            name: "mine".into(),
            kind: ServiceKind::Openai,
            endpoint: "https://x.openai.azure.com/".into(),
            resource_id: Some("/subscriptions/s/resourceGroups/r/providers/Microsoft.CognitiveServices/accounts/X".into()),
            region: None,
            index: None,
            audience: None,
        }];
        let mut found = configured[0].clone();
        found.name = "x".into();
        found.resource_id = found.resource_id.map(|r| r.to_lowercase());
        let already = merge_targets(&mut configured, vec![found]);
        assert_eq!(configured.len(), 1);
        assert_eq!(already.len(), 1);
    }
}
