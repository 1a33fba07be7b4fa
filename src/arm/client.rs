//! ARM reads over HTTP: role assignments, role definitions, deny assignments, the caller's own
//! permissions, Cognitive Services accounts, Search services and subscriptions
//! (reference/azure-wire.md §5–6).
//!
//! Every read is memoized in an [`ArmCache`] shared by the whole run, keyed by what was asked
//! and by who asked (a fingerprint of the bearer token: a reader without `roleAssignments/read`
//! must not see another reader's answer). Role definitions, which do not depend on the reader,
//! are also kept by GUID alone once any reader got them. So a run costs one role-assignment
//! listing per (principal, subscription) and one definition read per role, however many
//! targets it probes.

use crate::arm::actions::Permission;
use crate::arm::model::{
    Account, DenyAssignment, ErrorEnvelope, Page, RoleAssignment, RoleDefinition, SearchService,
    Subscription, UserAssignedIdentity, trailing_guid,
};
use crate::arm::pim::{AssignmentScheduleInstance, EligibilityInstance, PIM_API_VERSION};
use crate::redact::redact;
use serde::de::DeserializeOwned;
use sha2::Digest;
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::hash::Hash;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub const ROLE_API_VERSION: &str = "2022-04-01";
pub const ACCOUNTS_API_VERSION: &str = "2024-10-01";
/// The first stable version that knows `accounts/projects`.
pub const PROJECTS_API_VERSION: &str = "2025-06-01";
pub const SEARCH_API_VERSION: &str = "2023-11-01";
pub const SUBSCRIPTIONS_API_VERSION: &str = "2022-12-01";
pub const MANAGED_IDENTITY_API_VERSION: &str = "2023-01-31";

/// ARM listings can be long (every assignment of a busy subscription), but not unbounded.
const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;
const MAX_PAGES: usize = 200;
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(20);
/// The longest an ARM retry waits, whatever `Retry-After` asks: a run has a deadline.
const RETRY_WAIT_CAP: Duration = Duration::from_secs(5);
/// ARM requests in flight at once, unless `--arm-concurrency` says otherwise.
pub const ARM_CONCURRENCY: usize = 16;
/// The most role-assignment listings below subscription scope one run sends (they are the
/// fallback for principals that cannot read their subscription, one per resource group or
/// resource): past it, the RBAC verdict for further targets is unknown rather than the run slow.
pub const MAX_SCOPED_LISTINGS: u64 = 64;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ArmError {
    /// 401: the ARM token was refused (wrong tenant, audience, expired).
    #[error("ARM refused the token ({code}): {message}")]
    Unauthorized { code: String, message: String },
    /// 403, typically `AuthorizationFailed`: the reader may not read this.
    #[error("ARM denied the read ({code}): {message}")]
    Forbidden { code: String, message: String },
    #[error("not found in ARM ({code}): {message}")]
    NotFound { code: String, message: String },
    #[error("could not reach ARM: {0}")]
    Transport(String),
    #[error("ARM did not answer in time")]
    Timeout,
    /// Any other status; `status` 0 means the request was never sent (bad input, bad nextLink).
    #[error("ARM answered {status}: {message}")]
    Other { status: u16, message: String },
}

impl ArmError {
    /// The ARM error code (`AuthorizationFailed`, `ResourceNotFound`, …), when ARM gave one.
    pub fn code(&self) -> Option<&str> {
        match self {
            ArmError::Unauthorized { code, .. }
            | ArmError::Forbidden { code, .. }
            | ArmError::NotFound { code, .. } => Some(code),
            _ => None,
        }
    }

    fn invalid(message: impl Into<String>) -> ArmError {
        ArmError::Other {
            status: 0,
            message: redact(&message.into()),
        }
    }

    fn from_response(status: u16, body: &[u8]) -> ArmError {
        let envelope: ErrorEnvelope = serde_json::from_slice(body).unwrap_or_default();
        let code = redact(&envelope.error.code);
        let message = if envelope.error.message.is_empty() {
            // Not ARM's JSON (a proxy's HTML page, say): quote a little of it, redacted.
            let text = String::from_utf8_lossy(body);
            redact(&text.chars().take(300).collect::<String>())
        } else {
            redact(&envelope.error.message)
        };
        match status {
            401 => ArmError::Unauthorized { code, message },
            403 => ArmError::Forbidden { code, message },
            404 => ArmError::NotFound { code, message },
            _ => ArmError::Other { status, message },
        }
    }

    fn from_reqwest(err: &reqwest::Error) -> ArmError {
        if err.is_timeout() {
            ArmError::Timeout
        } else {
            // reqwest's Display includes the URL (no token in it) and the cause chain.
            let mut text = err.to_string();
            let mut source = std::error::Error::source(err);
            while let Some(cause) = source {
                text.push_str(": ");
                text.push_str(&cause.to_string());
                source = cause.source();
            }
            ArmError::Transport(redact(&text))
        }
    }
}

type Cell<V> = Arc<tokio::sync::OnceCell<Result<V, ArmError>>>;

/// One memo table: concurrent askers of the same key share one request, and its answer, failures
/// included. A timeout or a 429 met by one cell is the answer for every cell of the run: asking
/// again once per cell would multiply a slow ARM into a run that misses its deadline, and
/// multiply throttling. The cache lives for one run, so each `--wait-for-access` round asks anew.
struct Memo<K, V> {
    cells: Mutex<HashMap<K, Cell<V>>>,
}

impl<K: Eq + Hash, V: Clone> Memo<K, V> {
    fn new() -> Memo<K, V> {
        Memo {
            cells: Mutex::new(HashMap::new()),
        }
    }

    async fn get_or_fetch<F, Fut>(&self, key: K, fetch: F) -> Result<V, ArmError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<V, ArmError>>,
    {
        let cell = {
            let mut cells = self.cells.lock().unwrap_or_else(|e| e.into_inner());
            cells.entry(key).or_default().clone()
        };
        cell.get_or_init(fetch).await.clone()
    }
}

type Reader = [u8; 8];

/// The per-run memo of ARM reads. Share one (`Arc`) between every [`ArmClient`] of a run.
pub struct ArmCache {
    assignments: Memo<(Reader, String, String), Vec<RoleAssignment>>,
    definitions: Memo<(Reader, String), RoleDefinition>,
    shared_definitions: Memo<String, RoleDefinition>,
    definitions_by_guid: Mutex<HashMap<String, RoleDefinition>>,
    denies: Memo<(Reader, String), Vec<DenyAssignment>>,
    permissions: Memo<(Reader, String), Vec<Permission>>,
    /// Listings are shared, not copied: every cell of an estate run looks its target up in the
    /// same list, and a copy per cell would cost memory quadratic in the accounts.
    accounts: Memo<(Reader, String), Arc<Vec<Account>>>,
    account: Memo<(Reader, String), Account>,
    search_services: Memo<(Reader, String), Arc<Vec<SearchService>>>,
    subscriptions: Memo<Reader, Vec<Subscription>>,
    requests: AtomicU64,
    /// ARM requests in flight, across every reader of the run: without a bound, a run without
    /// Reader sends one permissions request per cell at once (a socket, and a descriptor, each).
    in_flight: tokio::sync::Semaphore,
    /// `assignedTo()` listings below a subscription, for principals that cannot read it.
    scoped_assignments: Memo<(Reader, String, String), Vec<RoleAssignment>>,
    /// How many such listings the run has sent (see [`MAX_SCOPED_LISTINGS`]).
    scoped_listings: AtomicU64,
    eligibilities: Memo<(Reader, String, String), Vec<EligibilityInstance>>,
    schedules: Memo<(Reader, String, String), Vec<AssignmentScheduleInstance>>,
}

impl Default for ArmCache {
    fn default() -> ArmCache {
        ArmCache {
            assignments: Memo::new(),
            definitions: Memo::new(),
            shared_definitions: Memo::new(),
            definitions_by_guid: Mutex::new(HashMap::new()),
            denies: Memo::new(),
            permissions: Memo::new(),
            accounts: Memo::new(),
            account: Memo::new(),
            search_services: Memo::new(),
            subscriptions: Memo::new(),
            requests: AtomicU64::new(0),
            in_flight: tokio::sync::Semaphore::new(ARM_CONCURRENCY),
            scoped_assignments: Memo::new(),
            scoped_listings: AtomicU64::new(0),
            eligibilities: Memo::new(),
            schedules: Memo::new(),
        }
    }
}

impl std::fmt::Debug for ArmCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArmCache")
            .field("requests", &self.requests_sent())
            .finish_non_exhaustive()
    }
}

impl ArmCache {
    /// A run's cache whose readers keep at most `limit` ARM requests in flight together.
    pub fn with_concurrency(limit: usize) -> Arc<ArmCache> {
        Arc::new(ArmCache {
            in_flight: tokio::sync::Semaphore::new(limit.max(1)),
            ..ArmCache::default()
        })
    }

    /// A permit to send one ARM request (the semaphore is never closed).
    async fn permit(&self) -> tokio::sync::SemaphorePermit<'_> {
        self.in_flight
            .acquire()
            .await
            .expect("the ARM semaphore is never closed")
    }

    pub fn new() -> Arc<ArmCache> {
        Arc::new(ArmCache::default())
    }
    /// HTTP requests sent through this cache so far (each page of a listing counts).
    pub fn requests_sent(&self) -> u64 {
        self.requests.load(Ordering::Relaxed)
    }
}

/// ARM over the tool's one HTTP client, with one bearer token.
#[derive(Clone)]
pub struct ArmClient {
    http: reqwest::Client,
    base: url::Url,
    /// Secret: sent only to `base`, never printed (see the Debug impl).
    token: String,
    reader: Reader,
    timeout: Duration,
    cache: Arc<ArmCache>,
}

impl std::fmt::Debug for ArmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArmClient")
            .field("base", &self.base.as_str())
            .field("token", &crate::redact::REDACTED)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

fn fingerprint(token: &str) -> Reader {
    let digest = sha2::Sha256::digest(token.as_bytes());
    let mut out = [0u8; 8];
    out.copy_from_slice(&digest[..8]);
    out
}

/// Object ids and subscription ids go into URLs and OData filters: accept GUID characters only,
/// so a hostile config cannot smuggle filter syntax or path segments.
fn check_guid(what: &str, value: &str) -> Result<(), ArmError> {
    let ok = !value.is_empty()
        && value.len() <= 64
        && value.chars().all(|c| c.is_ascii_hexdigit() || c == '-');
    if ok {
        Ok(())
    } else {
        Err(ArmError::invalid(format!("{what} {value:?} is not a GUID")))
    }
}

/// Split an ARM id into segments, refusing anything that is not one.
fn id_segments(id: &str) -> Result<Vec<&str>, ArmError> {
    let trimmed = id.trim();
    if !trimmed.starts_with('/') {
        return Err(ArmError::invalid(format!(
            "{trimmed:?} is not an ARM id (it must start with /subscriptions/…)"
        )));
    }
    let segs: Vec<&str> = trimmed.split('/').filter(|s| !s.is_empty()).collect();
    if segs.is_empty() || segs.iter().any(|s| *s == "." || *s == "..") {
        return Err(ArmError::invalid(format!("{trimmed:?} is not an ARM id")));
    }
    Ok(segs)
}

impl ArmClient {
    /// `base` is the cloud's ARM endpoint (`https://management.azure.com`); a bad one makes every
    /// call fail with [`ArmError::Other`] rather than panicking here.
    pub fn new(http: reqwest::Client, base: &str, token: String) -> ArmClient {
        let base = url::Url::parse(base.trim())
            .unwrap_or_else(|_| url::Url::parse("invalid://arm.invalid/").expect("static URL"));
        ArmClient {
            http,
            base,
            reader: fingerprint(&token),
            token,
            timeout: DEFAULT_TIMEOUT,
            cache: ArmCache::new(),
        }
    }

    /// Share the run's cache (one per run; see [`ArmCache`]).
    pub fn with_cache(mut self, cache: Arc<ArmCache>) -> ArmClient {
        self.cache = cache;
        self
    }

    /// Deadline of each request (default 20 s).
    pub fn with_timeout(mut self, timeout: Duration) -> ArmClient {
        self.timeout = timeout;
        self
    }

    pub fn cache(&self) -> &Arc<ArmCache> {
        &self.cache
    }

    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Result<url::Url, ArmError> {
        if !matches!(self.base.scheme(), "https" | "http") {
            return Err(ArmError::invalid("the ARM endpoint is not an http(s) URL"));
        }
        let mut url = self.base.clone();
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|_| ArmError::invalid("the ARM endpoint cannot carry a path"))?;
            path.pop_if_empty();
            path.extend(segments);
        }
        {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in query {
                pairs.append_pair(k, v);
            }
        }
        Ok(url)
    }

    /// The bearer token goes only to the ARM host we were given: a `nextLink` elsewhere is an
    /// error, not a request.
    fn same_origin(&self, url: &url::Url) -> bool {
        url.scheme() == self.base.scheme()
            && url.host_str().map(str::to_ascii_lowercase)
                == self.base.host_str().map(str::to_ascii_lowercase)
            && url.port_or_known_default() == self.base.port_or_known_default()
    }

    async fn get_json<T: DeserializeOwned>(&self, url: url::Url) -> Result<T, ArmError> {
        if !self.same_origin(&url) {
            return Err(ArmError::invalid(format!(
                "refusing to send the ARM token to {}",
                url.host_str().unwrap_or("?")
            )));
        }
        let answer = self
            .exchange(|| self.http.get(url.clone()), &ARM_RETRY)
            .await?;
        if !(200..300).contains(&answer.status) {
            return Err(ArmError::from_response(answer.status, &answer.body));
        }
        serde_json::from_slice(&answer.body).map_err(|e| ArmError::Other {
            status: answer.status,
            message: redact(&format!("ARM answered with a body we could not read: {e}")),
        })
    }

    /// Send one ARM request (the bearer token, the deadline, the run's in-flight bound, the
    /// body bound) and retry it as `retry` says, honouring `Retry-After` (or Resource Graph's
    /// quota reset) up to the rule's cap. A transport error or timeout is not retried: it has
    /// already cost a full deadline.
    async fn exchange(
        &self,
        request: impl Fn() -> reqwest::RequestBuilder,
        retry: &Retry,
    ) -> Result<Answer, ArmError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            self.cache.requests.fetch_add(1, Ordering::Relaxed);
            let permit = self.cache.permit().await;
            let response = crate::http::send(
                request()
                    .bearer_auth(&self.token)
                    .header("accept", "application/json")
                    .timeout(self.timeout),
            )
            .await
            .map_err(|e| ArmError::from_reqwest(&e))?;
            let status = response.status().as_u16();
            let headers = response.headers().clone();
            let body = read_bounded(response).await?;
            drop(permit);
            let answer = Answer {
                status,
                headers,
                body,
            };
            if attempt < retry.tries && retry.statuses.contains(&status) {
                let wait = answer
                    .header("retry-after")
                    .and_then(|v| v.trim().parse::<u64>().ok())
                    .map(Duration::from_secs)
                    .or_else(|| answer.quota_resets_after())
                    .unwrap_or(Duration::from_secs(1))
                    .min(retry.cap)
                    .min(self.timeout);
                tokio::time::sleep(wait).await;
                continue;
            }
            return Ok(answer);
        }
    }

    async fn get_all<T: DeserializeOwned>(&self, first: url::Url) -> Result<Vec<T>, ArmError> {
        let mut items = Vec::new();
        let mut next = Some(first);
        let mut pages = 0;
        while let Some(url) = next.take() {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(ArmError::invalid(format!(
                    "ARM listing did not end after {MAX_PAGES} pages"
                )));
            }
            let page: Page<T> = self.get_json(url).await?;
            items.extend(page.value);
            next = match page.next_link.as_deref().map(str::trim) {
                Some(link) if !link.is_empty() => Some(
                    url::Url::parse(link)
                        .map_err(|_| ArmError::invalid("ARM returned an unreadable nextLink"))?,
                ),
                _ => None,
            };
        }
        Ok(items)
    }

    /// Every role assignment that applies to the principal anywhere in the subscription, its
    /// groups' (transitively) included: one `assignedTo()` listing, followed through `nextLink`.
    pub async fn role_assignments_for(
        &self,
        subscription: &str,
        principal_object_id: &str,
    ) -> Result<Vec<RoleAssignment>, ArmError> {
        check_guid("subscription id", subscription)?;
        check_guid("principal object id", principal_object_id)?;
        let key = (
            self.reader,
            principal_object_id.to_ascii_lowercase(),
            subscription.to_ascii_lowercase(),
        );
        self.cache
            .assignments
            .get_or_fetch(key, || async {
                let filter = format!("assignedTo('{principal_object_id}')");
                let url = self.url(
                    &[
                        "subscriptions",
                        subscription,
                        "providers",
                        "Microsoft.Authorization",
                        "roleAssignments",
                    ],
                    &[("$filter", &filter), ("api-version", ROLE_API_VERSION)],
                )?;
                self.get_all(url).await
            })
            .await
    }

    /// One role definition, by full id or by GUID (read at the subscription scope).
    pub async fn role_definition(
        &self,
        id: &str,
        subscription: &str,
    ) -> Result<RoleDefinition, ArmError> {
        let guid = trailing_guid(id);
        check_guid("role definition id", &guid)?;
        if let Some(known) = self
            .cache
            .definitions_by_guid
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&guid)
        {
            return Ok(known.clone());
        }
        let fetch = || async {
            let url = if id.contains('/') {
                let segs = id_segments(id)?;
                self.url(&segs, &[("api-version", ROLE_API_VERSION)])?
            } else {
                check_guid("subscription id", subscription)?;
                self.url(
                    &[
                        "subscriptions",
                        subscription,
                        "providers",
                        "Microsoft.Authorization",
                        "roleDefinitions",
                        &guid,
                    ],
                    &[("api-version", ROLE_API_VERSION)],
                )?
            };
            self.get_json::<RoleDefinition>(url).await
        };
        // A role's definition is the same whoever reads it: the first reader's request serves
        // every concurrent asker. Only where that one failed (it may not read there) does a
        // reader ask for itself.
        let definition = match self
            .cache
            .shared_definitions
            .get_or_fetch(guid.clone(), fetch)
            .await
        {
            Ok(definition) => definition,
            Err(_) => {
                self.cache
                    .definitions
                    .get_or_fetch((self.reader, guid.clone()), fetch)
                    .await?
            }
        };
        self.cache
            .definitions_by_guid
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(guid, definition.clone());
        Ok(definition)
    }

    /// The definitions of every role the assignments refer to, read concurrently, keyed by
    /// lower-case GUID (what [`crate::arm::rbac::evaluate`] takes). Roles that could not be read
    /// come back beside them, so the evaluator can say "unknown" for just those.
    pub async fn definitions_for(
        &self,
        assignments: &[RoleAssignment],
        subscription: &str,
    ) -> (HashMap<String, RoleDefinition>, Vec<(String, ArmError)>) {
        let mut seen = HashSet::new();
        // A bare GUID is looked up in the assignment's own subscription (a custom role lives
        // in the subscriptions it is assignable in); `subscription` only when the scope names none.
        let wanted: Vec<(&str, &str)> = assignments
            .iter()
            .filter(|a| seen.insert(a.role_guid()))
            .map(|a| {
                let sub =
                    crate::arm::scope::subscription_of(&a.properties.scope).unwrap_or(subscription);
                (a.properties.role_definition_id.as_str(), sub)
            })
            .collect();
        let ids: Vec<&str> = wanted.iter().map(|(id, _)| *id).collect();
        let answers =
            futures::future::join_all(wanted.iter().map(|(id, sub)| self.role_definition(id, sub)))
                .await;
        let mut found = HashMap::new();
        let mut failed = Vec::new();
        for (id, answer) in ids.iter().zip(answers) {
            match answer {
                Ok(definition) => {
                    found.insert(trailing_guid(id), definition);
                }
                Err(e) => failed.push((trailing_guid(id), e)),
            }
        }
        (found, failed)
    }

    /// Every deny assignment at, above and below `scope` (no filter): one listing per
    /// subscription covers all its resources, so the cost does not grow with targets. The
    /// evaluator decides which apply to each resource.
    pub async fn deny_assignments_within(
        &self,
        scope: &str,
    ) -> Result<Vec<DenyAssignment>, ArmError> {
        let segs = id_segments(scope)?;
        let key = (
            self.reader,
            format!("within:{}", crate::arm::scope::segments(scope).join("/")),
        );
        self.cache
            .denies
            .get_or_fetch(key, || async {
                let mut path = segs.clone();
                path.extend(["providers", "Microsoft.Authorization", "denyAssignments"]);
                let url = self.url(&path, &[("api-version", ROLE_API_VERSION)])?;
                self.get_all(url).await
            })
            .await
    }

    /// The calling identity's own effective permissions on a resource: the fallback when it may
    /// not read role assignments (azure-wire.md §5.3; deny assignments and conditions are not
    /// reflected in it).
    pub async fn permissions(&self, resource_id: &str) -> Result<Vec<Permission>, ArmError> {
        let segs = id_segments(resource_id)?;
        let key = (
            self.reader,
            crate::arm::scope::segments(resource_id).join("/"),
        );
        self.cache
            .permissions
            .get_or_fetch(key, || async {
                let mut path = segs.clone();
                path.extend(["providers", "Microsoft.Authorization", "permissions"]);
                let url = self.url(&path, &[("api-version", ROLE_API_VERSION)])?;
                self.get_all(url).await
            })
            .await
    }

    /// Every Cognitive Services account in the subscription that the reader can see.
    pub async fn accounts(&self, subscription: &str) -> Result<Arc<Vec<Account>>, ArmError> {
        check_guid("subscription id", subscription)?;
        let key = (self.reader, subscription.to_ascii_lowercase());
        self.cache
            .accounts
            .get_or_fetch(key, || async {
                let url = self.url(
                    &[
                        "subscriptions",
                        subscription,
                        "providers",
                        "Microsoft.CognitiveServices",
                        "accounts",
                    ],
                    &[("api-version", ACCOUNTS_API_VERSION)],
                )?;
                self.get_all(url).await.map(Arc::new)
            })
            .await
    }

    pub async fn account(&self, resource_id: &str) -> Result<Account, ArmError> {
        let segs = id_segments(resource_id)?;
        let key = (
            self.reader,
            crate::arm::scope::segments(resource_id).join("/"),
        );
        self.cache
            .account
            .get_or_fetch(key, || async {
                let url = self.url(&segs, &[("api-version", ACCOUNTS_API_VERSION)])?;
                self.get_json(url).await
            })
            .await
    }

    /// A Foundry project (`…/accounts/A/projects/P`); the child type needs api-version
    /// 2025-06-01 or later (reference/foundry.md §1.3). Read once per run.
    pub async fn project(&self, resource_id: &str) -> Result<serde_json::Value, ArmError> {
        let segs = id_segments(resource_id)?;
        let url = self.url(&segs, &[("api-version", PROJECTS_API_VERSION)])?;
        self.get_json(url).await
    }

    pub async fn search_services(
        &self,
        subscription: &str,
    ) -> Result<Arc<Vec<SearchService>>, ArmError> {
        check_guid("subscription id", subscription)?;
        let key = (self.reader, subscription.to_ascii_lowercase());
        self.cache
            .search_services
            .get_or_fetch(key, || async {
                let url = self.url(
                    &[
                        "subscriptions",
                        subscription,
                        "providers",
                        "Microsoft.Search",
                        "searchServices",
                    ],
                    &[("api-version", SEARCH_API_VERSION)],
                )?;
                self.get_all(url).await.map(Arc::new)
            })
            .await
    }

    /// The subscriptions the caller can see (lets a run without resource ids find where to look).
    pub async fn subscriptions(&self) -> Result<Vec<Subscription>, ArmError> {
        self.cache
            .subscriptions
            .get_or_fetch(self.reader, || async {
                let url = self.url(
                    &["subscriptions"],
                    &[("api-version", SUBSCRIPTIONS_API_VERSION)],
                )?;
                self.get_all(url).await
            })
            .await
    }
}

/// Azure Resource Graph's query API (design §5.1 `--discover`).
pub const RESOURCE_GRAPH_API_VERSION: &str = "2024-04-01";
/// The longest a Resource Graph page waits for its quota window: the run has a deadline.
const QUOTA_WAIT_CAP: Duration = Duration::from_secs(20);

/// How an ARM request is retried: on which statuses, how many tries in all, the longest wait.
struct Retry {
    tries: u32,
    statuses: &'static [u16],
    cap: Duration,
}

/// A throttled or failing ARM gets one more try, as the Azure SDKs would give it: the answer is
/// kept for the whole run, so a one-off 503 must not decide every cell.
const ARM_RETRY: Retry = Retry {
    tries: 2,
    statuses: &[429, 500, 502, 503, 504],
    cap: RETRY_WAIT_CAP,
};

/// Resource Graph throttles per user and says when its quota window resets: two more tries.
const RESOURCE_GRAPH_RETRY: Retry = Retry {
    tries: 3,
    statuses: &[429],
    cap: QUOTA_WAIT_CAP,
};

/// What one ARM exchange brought back.
struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `x-ms-user-quota-resets-after`, Resource Graph's `hh:mm:ss` until its quota resets.
    fn quota_resets_after(&self) -> Option<Duration> {
        self.header("x-ms-user-quota-resets-after")
            .and_then(parse_hms)
    }
}

/// One page of a Resource Graph query, and what the quota headers said.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct ResourceGraphPage {
    #[serde(default)]
    pub data: Vec<serde_json::Value>,
    #[serde(rename = "$skipToken", default)]
    pub skip_token: Option<String>,
    #[serde(rename = "totalRecords", default)]
    pub total_records: u64,
    /// `x-ms-user-quota-remaining`, when the service sent it.
    #[serde(skip)]
    pub quota_remaining: Option<u64>,
    /// `x-ms-user-quota-resets-after` (`hh:mm:ss`), when the service sent it.
    #[serde(skip)]
    pub quota_resets_after: Option<Duration>,
}

/// `hh:mm:ss` (Resource Graph's `x-ms-user-quota-resets-after`).
fn parse_hms(text: &str) -> Option<Duration> {
    let mut parts = text.trim().split(':').map(|p| p.parse::<u64>().ok());
    let (h, m, s) = (parts.next()??, parts.next()??, parts.next()??);
    (parts.next().is_none() && m < 60 && s < 60).then(|| Duration::from_secs(h * 3600 + m * 60 + s))
}

impl ArmClient {
    /// One page of a Resource Graph query (`POST /providers/Microsoft.ResourceGraph/resources`).
    /// A 429 is retried twice, honouring `Retry-After` (capped); the quota headers come back
    /// with the page so the caller can pace the next one. Not cached: each page is asked once.
    pub async fn resource_graph_page(
        &self,
        request: &serde_json::Value,
    ) -> Result<ResourceGraphPage, ArmError> {
        let url = self.url(
            &["providers", "Microsoft.ResourceGraph", "resources"],
            &[("api-version", RESOURCE_GRAPH_API_VERSION)],
        )?;
        let answer = self
            .exchange(
                || self.http.post(url.clone()).json(request),
                &RESOURCE_GRAPH_RETRY,
            )
            .await?;
        if !(200..300).contains(&answer.status) {
            return Err(ArmError::from_response(answer.status, &answer.body));
        }
        let mut page: ResourceGraphPage =
            serde_json::from_slice(&answer.body).map_err(|e| ArmError::Other {
                status: answer.status,
                message: redact(&format!(
                    "Resource Graph answered with a body we could not read: {e}"
                )),
            })?;
        page.quota_remaining = answer
            .header("x-ms-user-quota-remaining")
            .and_then(|v| v.trim().parse().ok());
        page.quota_resets_after = answer.quota_resets_after().map(|d| d.min(QUOTA_WAIT_CAP));
        Ok(page)
    }
}

impl ArmClient {
    /// A user-assigned managed identity by resource id, for admin mode's
    /// `--principal MANAGED_IDENTITY_RESOURCE_ID` (its `principalId` is the RBAC object id).
    /// Not memoized: each is asked for once per run.
    pub async fn user_assigned_identity(
        &self,
        resource_id: &str,
    ) -> Result<UserAssignedIdentity, ArmError> {
        let segs = id_segments(resource_id)?;
        let url = self.url(&segs, &[("api-version", MANAGED_IDENTITY_API_VERSION)])?;
        self.get_json(url).await
    }
}

impl ArmClient {
    /// Do both clients read as the same caller (the same token)?
    pub fn same_reader(&self, other: &ArmClient) -> bool {
        self.reader == other.reader
    }

    /// The principal's role assignments as seen from `scope` (a resource group or a resource):
    /// `assignedTo('{id}')` there returns those at, above and below it, its groups' included.
    /// The fallback when the subscription's listing is unreadable: one per (principal, scope),
    /// and at most [`MAX_SCOPED_LISTINGS`] per run.
    pub async fn role_assignments_at(
        &self,
        scope: &str,
        principal_object_id: &str,
    ) -> Result<Vec<RoleAssignment>, ArmError> {
        let segs = id_segments(scope)?;
        check_guid("principal object id", principal_object_id)?;
        let key = (
            self.reader,
            principal_object_id.to_ascii_lowercase(),
            crate::arm::scope::segments(scope).join("/"),
        );
        self.cache
            .scoped_assignments
            .get_or_fetch(key, || async {
                if self.cache.scoped_listings.fetch_add(1, Ordering::Relaxed) >= MAX_SCOPED_LISTINGS
                {
                    return Err(ArmError::invalid(format!(
                        "this run already listed role assignments at {MAX_SCOPED_LISTINGS} scopes below a subscription; not asking again"
                    )));
                }
                let filter = format!("assignedTo('{principal_object_id}')");
                let mut path = segs.clone();
                path.extend(["providers", "Microsoft.Authorization", "roleAssignments"]);
                let url = self.url(
                    &path,
                    &[("$filter", &filter), ("api-version", ROLE_API_VERSION)],
                )?;
                self.get_all(url).await
            })
            .await
    }

    /// One role definition read at `scope` (for a reader that may not read its subscription).
    pub async fn role_definition_at(
        &self,
        id: &str,
        scope: &str,
    ) -> Result<RoleDefinition, ArmError> {
        let guid = trailing_guid(id);
        check_guid("role definition id", &guid)?;
        if let Some(known) = self
            .cache
            .definitions_by_guid
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&guid)
        {
            return Ok(known.clone());
        }
        let segs = id_segments(scope)?;
        let key = (
            self.reader,
            format!("{guid}@{}", crate::arm::scope::segments(scope).join("/")),
        );
        let definition = self
            .cache
            .definitions
            .get_or_fetch(key, || async {
                let mut path = segs.clone();
                path.extend([
                    "providers",
                    "Microsoft.Authorization",
                    "roleDefinitions",
                    &guid,
                ]);
                let url = self.url(&path, &[("api-version", ROLE_API_VERSION)])?;
                self.get_json::<RoleDefinition>(url).await
            })
            .await?;
        self.cache
            .definitions_by_guid
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(guid, definition.clone());
        Ok(definition)
    }

    /// [`definitions_for`](Self::definitions_for), read at `scope`.
    pub async fn definitions_at(
        &self,
        assignments: &[RoleAssignment],
        scope: &str,
    ) -> HashMap<String, RoleDefinition> {
        let mut seen = HashSet::new();
        let ids: Vec<&str> = assignments
            .iter()
            .filter(|a| seen.insert(a.role_guid()))
            .map(|a| a.properties.role_definition_id.as_str())
            .collect();
        let answers =
            futures::future::join_all(ids.iter().map(|id| self.role_definition_at(id, scope)))
                .await;
        ids.iter()
            .zip(answers)
            .filter_map(|(id, answer)| answer.ok().map(|d| (trailing_guid(id), d)))
            .collect()
    }

    /// PIM eligibilities (`roleEligibilityScheduleInstances`) at `scope`: the caller's own
    /// (`asTarget()`) when `principal` is `None`, else `assignedTo('{principal}')`.
    pub async fn role_eligibilities(
        &self,
        scope: &str,
        principal: Option<&str>,
    ) -> Result<Vec<EligibilityInstance>, ArmError> {
        let (filter, key) = self.pim_listing_key(scope, principal)?;
        self.cache
            .eligibilities
            .get_or_fetch(key, || {
                self.pim_listing(scope, "roleEligibilityScheduleInstances", filter)
            })
            .await
    }

    /// Active assignments as PIM sees them (`roleAssignmentScheduleInstances`, with their end
    /// if time-bound) at `scope`: the caller's own (`asTarget()`) when `principal` is `None`,
    /// else `assignedTo('{principal}')`.
    pub async fn role_assignment_schedules(
        &self,
        scope: &str,
        principal: Option<&str>,
    ) -> Result<Vec<AssignmentScheduleInstance>, ArmError> {
        let (filter, key) = self.pim_listing_key(scope, principal)?;
        self.cache
            .schedules
            .get_or_fetch(key, || {
                self.pim_listing(scope, "roleAssignmentScheduleInstances", filter)
            })
            .await
    }

    fn pim_listing_key(
        &self,
        scope: &str,
        principal: Option<&str>,
    ) -> Result<(String, (Reader, String, String)), ArmError> {
        id_segments(scope)?;
        let filter = match principal {
            Some(id) => {
                check_guid("principal object id", id)?;
                format!("assignedTo('{id}')")
            }
            None => "asTarget()".to_string(),
        };
        let key = (
            self.reader,
            filter.to_ascii_lowercase(),
            crate::arm::scope::segments(scope).join("/"),
        );
        Ok((filter, key))
    }

    /// One PIM listing. Below a subscription (a fallback, asked per target) it counts against
    /// [`MAX_SCOPED_LISTINGS`] like the role-assignment fallback.
    async fn pim_listing<T: serde::de::DeserializeOwned>(
        &self,
        scope: &str,
        collection: &str,
        filter: String,
    ) -> Result<Vec<T>, ArmError> {
        let mut path = id_segments(scope)?;
        let below_subscription = path.len() > 2;
        if below_subscription
            && self.cache.scoped_listings.fetch_add(1, Ordering::Relaxed) >= MAX_SCOPED_LISTINGS
        {
            return Err(ArmError::invalid(format!(
                "this run already sent {MAX_SCOPED_LISTINGS} listings below a subscription; not asking again"
            )));
        }
        path.extend(["providers", "Microsoft.Authorization", collection]);
        let url = self.url(
            &path,
            &[("$filter", &filter), ("api-version", PIM_API_VERSION)],
        )?;
        self.get_all(url).await
    }
}

/// The tool's one bounded body reader, with ARM's larger bound (a page of a busy listing).
async fn read_bounded(response: reqwest::Response) -> Result<Vec<u8>, ArmError> {
    crate::http::read_body_capped(response, MAX_BODY_BYTES)
        .await
        .map_err(|e| match e {
            crate::http::BodyError::Transport(e) => ArmError::from_reqwest(&e),
            too_large @ crate::http::BodyError::TooLarge { .. } => {
                ArmError::invalid(format!("ARM: {too_large}"))
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_token() {
        let client = ArmClient::new(
            reqwest::Client::new(),
            "https://management.azure.com",
            "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl".into(),
        );
        let shown = format!("{client:?}");
        assert!(!shown.contains("eyJ"), "{shown}");
        assert!(shown.contains("management.azure.com"));
    }

    #[test]
    fn urls_encode_the_filter_and_keep_the_path() {
        let client = ArmClient::new(
            reqwest::Client::new(),
            "https://management.azure.com/",
            "t".into(),
        );
        let url = client
            .url(
                &[
                    "subscriptions",
                    "s",
                    "providers",
                    "Microsoft.Authorization",
                    "roleAssignments",
                ],
                &[
                    ("$filter", "assignedTo('abc')"),
                    ("api-version", ROLE_API_VERSION),
                ],
            )
            .unwrap();
        assert_eq!(
            url.path(),
            "/subscriptions/s/providers/Microsoft.Authorization/roleAssignments"
        );
        let pairs: Vec<(String, String)> = url.query_pairs().into_owned().collect();
        assert_eq!(pairs[0], ("$filter".into(), "assignedTo('abc')".into()));
        assert_eq!(pairs[1], ("api-version".into(), "2022-04-01".into()));
    }

    #[test]
    fn next_links_to_other_hosts_are_refused() {
        let client = ArmClient::new(
            reqwest::Client::new(),
            "https://management.azure.com",
            "t".into(),
        );
        assert!(
            client.same_origin(&url::Url::parse("https://MANAGEMENT.azure.com:443/x?y").unwrap())
        );
        assert!(!client.same_origin(&url::Url::parse("https://evil.example/x").unwrap()));
        assert!(!client.same_origin(&url::Url::parse("http://management.azure.com/x").unwrap()));
    }

    #[test]
    fn ids_and_guids_are_checked_before_any_request() {
        assert!(check_guid("x", "5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f").is_ok());
        assert!(check_guid("x", "abc') or true or ('").is_err());
        assert!(id_segments("subscriptions/s").is_err());
        assert!(id_segments("/subscriptions/s/../x").is_err());
        assert_eq!(
            id_segments("/subscriptions/s/").unwrap(),
            vec!["subscriptions", "s"]
        );
    }

    #[test]
    fn error_bodies_map_to_kinds_and_are_redacted() {
        let body = br#"{"error":{"code":"AuthorizationFailed","message":"The client 'x' with object id 'x' does not have authorization to perform action 'Microsoft.Authorization/roleAssignments/read' over scope '/subscriptions/s/providers/Microsoft.Authorization' or the scope is invalid."}}"#;
        match ArmError::from_response(403, body) {
            ArmError::Forbidden { code, message } => {
                assert_eq!(code, "AuthorizationFailed");
                assert!(message.contains("roleAssignments/read"));
            }
            other => panic!("{other:?}"),
        }
        let leaked = br#"<html>token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl</html>"#;
        let err = ArmError::from_response(502, leaked);
        assert!(!err.to_string().contains("eyJ"), "{err}");
        assert!(matches!(err, ArmError::Other { status: 502, .. }));
        assert!(matches!(
            ArmError::from_response(
                404,
                br#"{"error":{"code":"ResourceNotFound","message":"m"}}"#
            ),
            ArmError::NotFound { .. }
        ));
    }

    #[tokio::test]
    async fn memo_shares_one_fetch_and_its_failures() {
        let memo: Memo<u8, u32> = Memo::new();
        let calls = AtomicU64::new(0);
        let fetch = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Ok::<u32, ArmError>(7)
        };
        let (a, b) = tokio::join!(memo.get_or_fetch(1, fetch), memo.get_or_fetch(1, fetch));
        assert_eq!((a, b), (Ok(7), Ok(7)));
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        let failing = || async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err::<u32, ArmError>(ArmError::Timeout)
        };
        // Concurrent askers share one timed-out request; later askers get its answer too.
        let before = calls.load(Ordering::SeqCst);
        let (a, b) = tokio::join!(memo.get_or_fetch(2, failing), memo.get_or_fetch(2, failing));
        assert_eq!((a, b), (Err(ArmError::Timeout), Err(ArmError::Timeout)));
        assert_eq!(memo.get_or_fetch(2, fetch).await, Err(ArmError::Timeout));
        assert_eq!(calls.load(Ordering::SeqCst), before + 1);
        let forbidden = || async {
            Err::<u32, ArmError>(ArmError::Forbidden {
                code: "AuthorizationFailed".into(),
                message: String::new(),
            })
        };
        assert!(memo.get_or_fetch(3, forbidden).await.is_err());
        // A definitive refusal is kept: asking again does not fetch again.
        assert!(memo.get_or_fetch(3, fetch).await.is_err());
    }

    /// Never through a proxy from the environment: these servers are on loopback.
    fn loopback() -> reqwest::Client {
        reqwest::Client::builder().no_proxy().build().unwrap()
    }

    /// A one-route-table HTTP server on loopback: answers each request from `route(path_and_query)`
    /// and records what it was asked, so the client's real I/O is tested without the emulator.
    async fn serve(
        route: fn(&str, u16) -> (u16, String),
    ) -> (u16, Arc<Mutex<Vec<(String, Option<String>)>>>) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let log = seen.clone();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let log = log.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match socket.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf).to_string();
                    let target = head.split(' ').nth(1).unwrap_or("").to_string();
                    let auth = head
                        .lines()
                        .find(|l| l.to_ascii_lowercase().starts_with("authorization:"))
                        .map(|l| l[14..].trim().to_string());
                    log.lock().unwrap().push((target.clone(), auth));
                    let (status, body) = route(&target, port);
                    let reply = format!(
                        "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    );
                    let _ = socket.write_all(reply.as_bytes()).await;
                });
            }
        });
        (port, seen)
    }

    const SUB: &str = "5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f";
    const OID: &str = "11112222-bbbb-3333-cccc-4444dddd5555";

    fn assignment(n: u32) -> String {
        format!(
            r#"{{"id":"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments/{n}","name":"{n}","properties":{{"roleDefinitionId":"/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/a97b65f3-24c7-4388-baec-2e87135dc908","principalId":"{OID}","principalType":"ServicePrincipal","scope":"/subscriptions/{SUB}"}}}}"#
        )
    }

    #[tokio::test]
    async fn listings_follow_next_link_and_are_read_once_per_principal() {
        let (port, seen) = serve(|target, port| {
            if target.contains("page=2") {
                (200, format!(r#"{{"value":[{}],"nextLink":null}}"#, assignment(2)))
            } else if target.contains("userAssignedIdentities") {
                (200, r#"{"id":"/x","name":"id-app","properties":{"tenantId":"t","principalId":"p-oid","clientId":"c-id"}}"#.into())
            } else if target.contains("roleAssignments") {
                (
                    200,
                    format!(
                        r#"{{"value":[{}],"nextLink":"http://127.0.0.1:{port}/subscriptions/{SUB}/providers/Microsoft.Authorization/roleAssignments?page=2"}}"#,
                        assignment(1)
                    ),
                )
            } else {
                (404, r#"{"error":{"code":"ResourceNotFound","message":"nope"}}"#.into())
            }
        })
        .await;
        let client = ArmClient::new(
            loopback(),
            &format!("http://127.0.0.1:{port}"),
            "tok-abc".into(),
        );
        let (a, b) = tokio::join!(
            client.role_assignments_for(SUB, OID),
            client.role_assignments_for(SUB, OID)
        );
        let a = a.unwrap();
        assert_eq!(
            a.iter().map(|x| x.name.as_str()).collect::<Vec<_>>(),
            ["1", "2"]
        );
        assert_eq!(b.unwrap(), a);
        // A second client of the same run (same cache, same token) does not list again.
        let again = ArmClient::new(
            loopback(),
            &format!("http://127.0.0.1:{port}"),
            "tok-abc".into(),
        )
        .with_cache(client.cache().clone());
        again
            .role_assignments_for(SUB, &OID.to_uppercase())
            .await
            .unwrap();
        let log = seen.lock().unwrap().clone();
        assert_eq!(log.len(), 2, "{log:?}");
        assert_eq!(client.cache().requests_sent(), 2);
        assert!(
            log[0]
                .0
                .contains("%24filter=assignedTo%28%2711112222-bbbb-3333-cccc-4444dddd5555%27%29"),
            "{}",
            log[0].0
        );
        assert!(log[0].0.contains("api-version=2022-04-01"));
        assert!(
            log.iter()
                .all(|(_, auth)| auth.as_deref() == Some("Bearer tok-abc"))
        );

        let mi = client
            .user_assigned_identity(&format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id-app"))
            .await
            .unwrap();
        assert_eq!(
            (
                mi.properties.principal_id.as_str(),
                mi.properties.client_id.as_str()
            ),
            ("p-oid", "c-id")
        );
        assert!(
            seen.lock()
                .unwrap()
                .last()
                .unwrap()
                .0
                .ends_with("id-app?api-version=2023-01-31")
        );

        let missing = client.account(&format!("/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/x")).await;
        assert!(
            matches!(missing, Err(ArmError::NotFound { ref code, .. }) if code == "ResourceNotFound"),
            "{missing:?}"
        );
    }

    #[tokio::test]
    async fn authorization_failed_is_forbidden_and_a_foreign_next_link_is_refused() {
        let (port, seen) = serve(|target, _| {
            if target.contains("roleAssignments") {
                (403, r#"{"error":{"code":"AuthorizationFailed","message":"The client 'x' with object id 'x' does not have authorization to perform action 'Microsoft.Authorization/roleAssignments/read' over scope '/subscriptions/s/providers/Microsoft.Authorization' or the scope is invalid."}}"#.into())
            } else {
                (200, r#"{"value":[{"id":"/subscriptions/s","subscriptionId":"s","tenantId":"t"}],"nextLink":"https://evil.example/subscriptions?page=2"}"#.into())
            }
        })
        .await;
        let client = ArmClient::new(
            loopback(),
            &format!("http://127.0.0.1:{port}"),
            "tok".into(),
        );
        let err = client.role_assignments_for(SUB, OID).await.unwrap_err();
        assert_eq!(err.code(), Some("AuthorizationFailed"));
        assert!(matches!(err, ArmError::Forbidden { .. }));
        // Kept: asking again for the same principal sends nothing.
        client.role_assignments_for(SUB, OID).await.unwrap_err();
        let err = client.subscriptions().await.unwrap_err();
        assert!(
            err.to_string()
                .contains("refusing to send the ARM token to evil.example"),
            "{err}"
        );
        assert_eq!(seen.lock().unwrap().len(), 2);
    }

    #[tokio::test]
    async fn a_throttled_answer_is_tried_once_more() {
        static CALLS: AtomicU64 = AtomicU64::new(0);
        let (port, _) = serve(|_, _| {
            if CALLS.fetch_add(1, Ordering::SeqCst) == 0 {
                (
                    503,
                    r#"{"error":{"code":"ServerBusy","message":"busy"}}"#.into(),
                )
            } else {
                (200, r#"{"value":[]}"#.into())
            }
        })
        .await;
        let client = ArmClient::new(
            loopback(),
            &format!("http://127.0.0.1:{port}"),
            "tok".into(),
        )
        .with_timeout(Duration::from_millis(1500));
        assert_eq!(client.subscriptions().await, Ok(vec![]));
        assert_eq!(client.cache().requests_sent(), 2);
    }

    #[tokio::test]
    async fn a_silent_server_times_out_once_for_the_whole_run() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let client = ArmClient::new(
            loopback(),
            &format!("http://127.0.0.1:{port}"),
            "tok".into(),
        )
        .with_timeout(Duration::from_millis(200));
        // Five cells asking at once, and one after: one request, one deadline, for all.
        let answers = futures::future::join_all((0..5).map(|_| client.subscriptions())).await;
        assert!(answers.iter().all(|a| *a == Err(ArmError::Timeout)));
        assert_eq!(client.subscriptions().await, Err(ArmError::Timeout));
        assert_eq!(client.cache().requests_sent(), 1);
    }
}
