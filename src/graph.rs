//! Microsoft Graph reads: who a `--principal` names (an object id, an app id, a UPN, a display
//! name), what kind of object an id is (`directoryObjects/{id}`), the app registration behind a
//! service principal, and group membership (`checkMemberGroups`). Same HTTP client as
//! everything else (src/http.rs); the token is the operator's, sent to the cloud's Graph host
//! only. Every string from Graph is bounded and scrubbed before it reaches a finding.

use crate::redact::scrub;
use serde::Deserialize;
use std::time::Duration;

/// Graph answers are small (a handful of objects); anything past this is refused.
const BODY_LIMIT: usize = 256 * 1024;
/// Objects a look-up by display name reads at most (`$top`): enough to say "ambiguous".
const TOP: &str = "10";
/// Longest string from Graph kept for display.
const MAX_TEXT: usize = 200;

/// The Graph endpoint of a cloud (`public`, `usgov`, `china`): where its token may be sent.
pub fn endpoint(cloud: &str) -> &'static str {
    match cloud {
        "usgov" => "https://graph.microsoft.us",
        "china" => "https://microsoftgraph.chinacloudapi.cn",
        _ => "https://graph.microsoft.com",
    }
}

/// The scope to request a Graph token for.
pub fn scope(cloud: &str) -> String {
    format!("{}/.default", endpoint(cloud))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GraphError {
    /// 403 `Authorization_RequestDenied`: the caller may not read the directory.
    Forbidden(String),
    NotFound,
    Other(String),
}

impl std::fmt::Display for GraphError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            GraphError::Forbidden(m) => write!(f, "Microsoft Graph refused the read: {m}"),
            GraphError::NotFound => f.write_str("not found in the directory"),
            GraphError::Other(m) => write!(f, "Microsoft Graph could not be read: {m}"),
        }
    }
}

/// What kind of directory object an id is (`@odata.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ObjectKind {
    User,
    ServicePrincipal,
    Application,
    Group,
    Other,
}

/// The fields of a directory object the tool uses.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryObject {
    #[serde(rename = "@odata.type", default)]
    pub odata_type: Option<String>,
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub app_id: Option<String>,
    #[serde(default)]
    pub user_principal_name: Option<String>,
    #[serde(default)]
    pub service_principal_type: Option<String>,
}

impl DirectoryObject {
    pub fn kind(&self) -> ObjectKind {
        match self.odata_type.as_deref().unwrap_or_default() {
            "#microsoft.graph.user" => ObjectKind::User,
            "#microsoft.graph.servicePrincipal" => ObjectKind::ServicePrincipal,
            "#microsoft.graph.application" => ObjectKind::Application,
            "#microsoft.graph.group" => ObjectKind::Group,
            _ => ObjectKind::Other,
        }
    }
    /// The name to show: display name, else UPN, else the id; bounded and scrubbed.
    pub fn name(&self) -> String {
        let text = self
            .display_name
            .as_deref()
            .filter(|s| !s.trim().is_empty())
            .or(self.user_principal_name.as_deref())
            .unwrap_or(&self.id);
        clean(text)
    }
    fn with_kind(mut self, kind: &str) -> DirectoryObject {
        if self.odata_type.is_none() {
            self.odata_type = Some(format!("#microsoft.graph.{kind}"));
        }
        self
    }
}

/// Bounded, scrubbed text from outside.
pub fn clean(text: &str) -> String {
    scrub(&text.chars().take(MAX_TEXT).collect::<String>())
}

#[derive(Deserialize)]
struct Collection<T> {
    #[serde(default = "Vec::new")]
    value: Vec<T>,
}

#[derive(Deserialize, Default)]
struct ErrorEnvelope {
    #[serde(default)]
    error: ErrorBody,
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
}

/// A Graph reader with one token. The token is secret: never printed (see the Debug impl).
#[derive(Clone)]
pub struct GraphClient {
    http: reqwest::Client,
    base: url::Url,
    token: String,
    timeout: Duration,
}

impl std::fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphClient")
            .field("base", &self.base.as_str())
            .field("token", &crate::redact::REDACTED)
            .finish_non_exhaustive()
    }
}

/// Ids go into URL paths and OData filters: GUID characters only.
fn is_guid(value: &str) -> bool {
    uuid::Uuid::parse_str(value.trim()).is_ok()
}

/// An OData string literal: single quotes doubled.
fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

impl GraphClient {
    pub fn new(http: reqwest::Client, cloud: &str, token: String, timeout: Duration) -> Self {
        GraphClient {
            http,
            base: url::Url::parse(endpoint(cloud)).expect("static URL"),
            token,
            timeout,
        }
    }

    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> url::Url {
        let mut url = self.base.clone();
        {
            let mut path = url.path_segments_mut().expect("an https URL has a path");
            path.pop_if_empty();
            path.push("v1.0");
            path.extend(segments);
        }
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
        }
        url
    }

    async fn send<T: serde::de::DeserializeOwned>(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<T, GraphError> {
        let response = crate::http::send(
            request
                .bearer_auth(&self.token)
                .header("accept", "application/json")
                .timeout(self.timeout),
        )
        .await
        .map_err(|e| GraphError::Other(clean(&e.to_string())))?;
        let status = response.status().as_u16();
        let body = crate::http::read_body_capped(response, BODY_LIMIT)
            .await
            .map_err(|e| GraphError::Other(e.to_string()))?;
        if (200..300).contains(&status) {
            return serde_json::from_slice(&body)
                .map_err(|e| GraphError::Other(format!("an answer it could not read: {e}")));
        }
        let envelope: ErrorEnvelope = serde_json::from_slice(&body).unwrap_or_default();
        let said = clean(&format!(
            "{status} {}: {}",
            envelope.error.code, envelope.error.message
        ));
        Err(match status {
            403 => GraphError::Forbidden(said),
            404 => GraphError::NotFound,
            _ => GraphError::Other(said),
        })
    }

    async fn get<T: serde::de::DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &[(&str, &str)],
    ) -> Result<T, GraphError> {
        let url = self.url(segments, query);
        self.send(self.http.get(url)).await
    }

    /// `GET /directoryObjects/{id}`: any object, with its `@odata.type`.
    pub async fn directory_object(&self, id: &str) -> Result<DirectoryObject, GraphError> {
        if !is_guid(id) {
            return Err(GraphError::NotFound);
        }
        self.get(&["directoryObjects", id.trim()], &[]).await
    }

    /// `GET /users/{upn}`.
    pub async fn user(&self, upn: &str) -> Result<DirectoryObject, GraphError> {
        let user: DirectoryObject = self.get(&["users", upn.trim()], &[]).await?;
        Ok(user.with_kind("user"))
    }

    /// `GET /servicePrincipals?$filter=PROPERTY eq 'VALUE'`.
    pub async fn service_principals_where(
        &self,
        property: &str,
        value: &str,
    ) -> Result<Vec<DirectoryObject>, GraphError> {
        let filter = format!("{property} eq {}", literal(value));
        let page: Collection<DirectoryObject> = self
            .get(
                &["servicePrincipals"],
                &[("$filter", &filter), ("$top", TOP)],
            )
            .await?;
        Ok(page
            .value
            .into_iter()
            .map(|o| o.with_kind("servicePrincipal"))
            .collect())
    }

    /// `GET /users?$filter=displayName eq 'VALUE'`.
    pub async fn users_named(&self, name: &str) -> Result<Vec<DirectoryObject>, GraphError> {
        let filter = format!("displayName eq {}", literal(name));
        let page: Collection<DirectoryObject> = self
            .get(&["users"], &[("$filter", &filter), ("$top", TOP)])
            .await?;
        Ok(page
            .value
            .into_iter()
            .map(|o| o.with_kind("user"))
            .collect())
    }

    /// `GET /applications?$filter=appId eq '…'`: the app registration behind an app id.
    pub async fn application(&self, app_id: &str) -> Result<Option<DirectoryObject>, GraphError> {
        if !is_guid(app_id) {
            return Ok(None);
        }
        let filter = format!("appId eq {}", literal(app_id.trim()));
        let page: Collection<DirectoryObject> =
            self.get(&["applications"], &[("$filter", &filter)]).await?;
        Ok(page
            .value
            .into_iter()
            .next()
            .map(|o| o.with_kind("application")))
    }

    /// `POST /directoryObjects/{id}/checkMemberGroups`: which of `groups` (at most 20) the
    /// object belongs to, transitively.
    pub async fn member_groups(
        &self,
        id: &str,
        groups: &[String],
    ) -> Result<Vec<String>, GraphError> {
        if !is_guid(id) || groups.iter().any(|g| !is_guid(g)) {
            return Err(GraphError::Other("not an object id".into()));
        }
        let mut found = Vec::new();
        for chunk in groups.chunks(20) {
            let url = self.url(&["directoryObjects", id.trim(), "checkMemberGroups"], &[]);
            let page: Collection<String> = self
                .send(
                    self.http
                        .post(url)
                        .json(&serde_json::json!({ "groupIds": chunk })),
                )
                .await?;
            found.extend(page.value.into_iter().map(|g| g.to_ascii_lowercase()));
        }
        Ok(found)
    }
}

/// The operator's Graph reader, found once per run and only when something asks: the first
/// credential source (in row order) that gets a Graph token. Asking costs a token request per
/// source tried, so a run that never needs Graph never asks.
pub struct GraphHandle {
    sources: Vec<crate::credential::SourceId>,
    ctx: std::sync::Arc<crate::credential::CredentialContext>,
    cell: tokio::sync::OnceCell<Result<GraphClient, String>>,
    /// principal object id → its app registration (if a service principal with one): asked
    /// once per principal per run, however many cells ask.
    applications: tokio::sync::Mutex<std::collections::HashMap<String, AppCell>>,
}

type AppCell = std::sync::Arc<tokio::sync::OnceCell<Option<DirectoryObject>>>;

impl GraphHandle {
    pub fn new(
        sources: Vec<crate::credential::SourceId>,
        ctx: std::sync::Arc<crate::credential::CredentialContext>,
    ) -> GraphHandle {
        GraphHandle {
            sources,
            ctx,
            cell: tokio::sync::OnceCell::new(),
            applications: Default::default(),
        }
    }

    /// The app registration behind a service principal (`directoryObjects/{id}`, then
    /// `applications?$filter=appId eq …`), once per principal per run; `None` for users,
    /// managed identities, or when Graph cannot say.
    pub async fn application_of(&self, principal_id: &str) -> Option<DirectoryObject> {
        let key = principal_id.trim().to_ascii_lowercase();
        let cell = self
            .applications
            .lock()
            .await
            .entry(key)
            .or_default()
            .clone();
        cell.get_or_init(|| async {
            let client = self.client().await.ok()?;
            let principal = client.directory_object(principal_id).await.ok()?;
            if principal.kind() != ObjectKind::ServicePrincipal {
                return None;
            }
            client
                .application(principal.app_id.as_deref()?)
                .await
                .ok()
                .flatten()
        })
        .await
        .clone()
    }

    /// The reader, or why there is none.
    pub async fn client(&self) -> Result<&GraphClient, String> {
        self.cell
            .get_or_init(|| async {
                let scope = scope(self.ctx.cloud.name);
                for &id in &self.sources {
                    if let crate::credential::Acquisition::Acquired { token, .. } =
                        crate::credential::acquire(id, &scope, &self.ctx).await
                    {
                        return Ok(GraphClient::new(
                            self.ctx.http.clone(),
                            self.ctx.cloud.name,
                            token.secret().to_string(),
                            self.ctx.timeout,
                        ));
                    }
                }
                Err("no credential source on this machine got a Microsoft Graph token".to_string())
            })
            .await
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// A `--principal` resolved to one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub object_id: String,
    pub kind: ObjectKind,
    /// Display name (or UPN), for the row.
    pub name: Option<String>,
    pub app_id: Option<String>,
    pub managed_identity: bool,
    /// Said on the row: how the input was read (an application object id taken to its
    /// service principal, say).
    pub note: Option<String>,
}

impl Resolved {
    fn from_object(o: &DirectoryObject) -> Resolved {
        Resolved {
            object_id: o.id.trim().to_ascii_lowercase(),
            kind: o.kind(),
            name: Some(o.name()),
            app_id: o.app_id.as_deref().map(clean),
            managed_identity: o
                .service_principal_type
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case("ManagedIdentity")),
            note: None,
        }
    }
}

/// Why a `--principal` did not resolve to one object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unresolved {
    NotFound,
    /// Several principals answer to it (never guessed).
    Ambiguous(Vec<String>),
    /// Graph could not be asked, or refused.
    NoGraph(String),
}

fn describe(o: &DirectoryObject) -> String {
    let kind = match o.kind() {
        ObjectKind::User => "user",
        ObjectKind::ServicePrincipal => "service principal",
        ObjectKind::Application => "application",
        ObjectKind::Group => "group",
        ObjectKind::Other => "object",
    };
    format!("{kind} {}", clean(o.id.trim()))
}

/// One object out of a look-up, or why not.
fn exactly_one(found: Vec<DirectoryObject>) -> Result<Resolved, Unresolved> {
    match found.len() {
        0 => Err(Unresolved::NotFound),
        1 => Ok(Resolved::from_object(&found[0])),
        _ => Err(Unresolved::Ambiguous(found.iter().map(describe).collect())),
    }
}

fn no_graph(e: GraphError) -> Unresolved {
    match e {
        GraphError::NotFound => Unresolved::NotFound,
        other => Unresolved::NoGraph(other.to_string()),
    }
}

/// Resolve a GUID: an object id (a user, a service principal; an application object is taken
/// to its service principal, and says so), else an app (client) id.
async fn resolve_guid(graph: &GraphClient, id: &str) -> Result<Resolved, Unresolved> {
    match graph.directory_object(id).await {
        Ok(o) if o.kind() == ObjectKind::Application => {
            let app_id = o.app_id.clone().unwrap_or_default();
            let mut sp = exactly_one(
                graph
                    .service_principals_where("appId", &app_id)
                    .await
                    .map_err(no_graph)?,
            )?;
            sp.note = Some(format!(
                "{} is the object id of the app registration {}; RBAC uses its service principal {}",
                clean(id),
                o.name(),
                sp.object_id
            ));
            Ok(sp)
        }
        Ok(o) => Ok(Resolved::from_object(&o)),
        Err(GraphError::NotFound) => exactly_one(
            graph
                .service_principals_where("appId", id)
                .await
                .map_err(no_graph)?,
        ),
        Err(e) => Err(no_graph(e)),
    }
}

/// Resolve a `--principal` given as an object id, an app (client) id, a UPN or a display name
/// (a managed identity resource id is ARM's business, not Graph's).
pub async fn resolve(graph: &GraphClient, input: &str) -> Result<Resolved, Unresolved> {
    let input = input.trim();
    if is_guid(input) {
        return resolve_guid(graph, input).await;
    }
    if input.contains('@') {
        return match graph.user(input).await {
            Ok(user) => Ok(Resolved::from_object(&user)),
            Err(e) => Err(no_graph(e)),
        };
    }
    let (sps, users) = futures::join!(
        graph.service_principals_where("displayName", input),
        graph.users_named(input)
    );
    let mut found = sps.map_err(no_graph)?;
    found.extend(users.map_err(no_graph)?);
    exactly_one(found)
}

/// The forms of `--principal` that need Graph (all but object ids and MI resource ids).
pub fn needs_graph(input: &str) -> bool {
    let input = input.trim();
    !is_guid(input) && !input.starts_with('/')
}

/// Is `input` a display name (as opposed to an id, a UPN or a resource id)?
pub fn form_of(input: &str) -> &'static str {
    let input = input.trim();
    if is_guid(input) {
        "an object or app id"
    } else if input.starts_with('/') {
        "a managed identity resource id"
    } else if input.contains('@') {
        "a user principal name"
    } else {
        "a display name"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odata_literals_double_their_quotes() {
        assert_eq!(literal("O'Brien"), "'O''Brien'");
    }

    #[test]
    fn forms_are_told_apart() {
        assert_eq!(
            form_of("0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11"),
            "an object or app id"
        );
        assert_eq!(form_of("alice@contoso.com"), "a user principal name");
        assert_eq!(form_of("Contoso Bot"), "a display name");
        assert!(!needs_graph("/subscriptions/x/resourceGroups/y"));
        assert!(needs_graph("Contoso Bot"));
    }

    #[test]
    fn two_objects_are_ambiguous_never_the_first() {
        let o = |id: &str| DirectoryObject {
            odata_type: Some("#microsoft.graph.servicePrincipal".into()),
            id: id.into(),
            ..Default::default()
        };
        assert_eq!(
            exactly_one(vec![o("a"), o("b")]),
            Err(Unresolved::Ambiguous(vec![
                "service principal a".into(),
                "service principal b".into()
            ]))
        );
        assert_eq!(exactly_one(vec![]), Err(Unresolved::NotFound));
    }
}
