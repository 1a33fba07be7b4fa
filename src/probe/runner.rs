//! The runner: plan (credential × target), run the stages concurrently, assemble the report.
//!
//! Concurrency follows the design: one token per (source, audience), one role-assignment
//! listing per (principal, subscription), role definitions cached per run, probes in parallel
//! with a bound. A run's wall time approaches its longest chain, not the sum of its cells.

use super::{
    Cell, CredentialRow, CredentialStatus, Expectation, HttpSummary, Principal, Report, RowId,
    SCHEMA_VERSION, Stages, ToolInfo, Verdict,
};
use crate::UsageError;
use crate::arm::client::ArmClient;
use crate::arm::preflight::{ResourceFacts, preflight_findings};
use crate::arm::rbac::{RbacQuestion, RbacVerdict, explain, pending_propagation};
use crate::arm::stage;
use crate::claims;
use crate::cloud::{Cloud, CloudProfile};
use crate::config::Config;
use crate::credential::{Acquisition, CredentialContext, SourceId, acquire};
use crate::diagnosis::cell::{
    CallEvidence, Evidence, TokenEvidence, blocks_call, diagnose, waiting_can_fix,
};
use crate::diagnosis::{Code, Finding};
use crate::http::{HttpOptions, build_client};
use crate::service::{self, CallOutcome, Target};
use futures::StreamExt;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::Semaphore;

/// Response bodies are read up to this bound for classification (design §7).
const BODY_LIMIT: usize = 64 * 1024;
/// Probes in flight at once, unless `--concurrency` says otherwise: far below a 256-descriptor
/// limit (each probe holds one socket, closed after its answer), high enough that a demo-sized
/// run sends all its probes in one wave.
pub const PROBE_CONCURRENCY: usize = 32;
/// Cells of one source in flight per probe slot: the rest wait as plain targets, not futures.
const CELLS_PER_PROBE_SLOT: usize = 4;
/// A throttled probe is sent again this many times at most, each after the `Retry-After` it was
/// given when that is at most [`THROTTLE_RETRY_MAX_WAIT`] (one second when it names none): a
/// throttled answer decides nothing, and a short wait usually turns it into one that does.
const THROTTLE_RETRIES: usize = 3;
const THROTTLE_RETRY_MAX_WAIT: Duration = Duration::from_secs(5);

/// What one credential source yielded: tokens per scope, who it is, and how it reads ARM.
struct SourceOutcome {
    id: SourceId,
    /// scope → token (secret) or the evidence of why there is none.
    tokens: BTreeMap<String, Result<String, TokenEvidence>>,
    principal: Option<Principal>,
    row_findings: Vec<Finding>,
    arm: ArmAccess,
}

/// How a source reads ARM for its own preflight and RBAC questions (and, for the first that
/// can, as the operator of admin mode). The reads themselves are `arm::stage`'s, shared with
/// every other cell through the run's cache.
enum ArmAccess {
    /// No token at all: nothing to ask about.
    NotApplicable,
    /// A token for the services but none for ARM: RBAC is unknown, with this finding.
    NoToken(Finding),
    Reader(ArmClient),
}

impl ArmAccess {
    fn client(&self) -> Option<&ArmClient> {
        match self {
            ArmAccess::Reader(client) => Some(client),
            _ => None,
        }
    }
}

/// What every credential source of a run shares: the one HTTP client, the cloud, the deadline
/// and the environment snapshot. Checked input (the cloud, the authority host, the CA file)
/// fails here, before anything is sent.
pub fn credential_context(
    config: &Config,
    env: &BTreeMap<String, String>,
) -> Result<Arc<CredentialContext>, UsageError> {
    let cloud_kind: Cloud = config.cloud.parse()?;
    crate::credential::check_authority_host(env, &config.credentials)?;
    let http = build_client(&HttpOptions {
        ca_file: config.ca_file.clone(),
        timeout: config.timeout,
    })?;
    Ok(Arc::new(CredentialContext {
        http,
        cloud: cloud_kind.profile(),
        timeout: config.timeout,
        env: env.clone(),
        user_assigned: config.user_assigned.clone(),
        imds_probe: Default::default(),
    }))
}

/// Run every stage once and build the report.
pub async fn run_once(
    config: &Config,
    env: &BTreeMap<String, String>,
) -> Result<Report, UsageError> {
    let started = Instant::now();
    let ctx = credential_context(config, env)?;
    let (cloud, http) = (ctx.cloud, ctx.http.clone());
    let scopes: BTreeSet<String> = config
        .targets
        .iter()
        .map(|t| t.scope(&cloud.services))
        .collect();
    // One ARM cache per run: a question asked twice (two sources, the same role definition)
    // is sent once, and concurrent askers share the answer.
    let arm_cache = crate::arm::client::ArmCache::with_concurrency(config.arm_concurrency);

    // The bound is on probes in flight, not on cells: a cell waiting for its ARM answers (shared
    // with every other cell through the cache) must not hold a probe's place.
    let limit = Semaphore::new(config.probe_concurrency.max(1));
    // The operator's Microsoft Graph reader, asked for only when a question needs it.
    let graph = crate::graph::GraphHandle::new(config.credentials.clone(), ctx.clone());
    // Each source streams: its cells start as soon as its own tokens are in, without waiting
    // for the slowest source (an IMDS probe, a CLI) to finish.
    // Progress hook: the command prints long runs' progress from this count.
    config
        .progress
        .start(config.credentials.len() * config.targets.len());
    let per_source = futures::future::join_all(config.credentials.iter().map(|&id| {
        let (ctx, scopes, arm_cache) = (ctx.clone(), &scopes, arm_cache.clone());
        let (http, limit, graph) = (&http, &limit, &graph);
        async move {
            let source = source_stage(id, scopes, &ctx, arm_cache).await;
            // A bounded window of cells in flight, in order: at thousands of targets, one live
            // future per cell (each holding its whole stage state) would dominate memory, while
            // a window a few times the probe bound keeps every probe slot busy.
            let window = config.probe_concurrency.max(1) * CELLS_PER_PROBE_SLOT;
            let cells: Vec<Cell> = futures::stream::iter(config.targets.iter())
                .map(|target| async {
                    let cell = cell_stage(config, cloud, http, limit, graph, &source, target).await;
                    config.progress.tick();
                    cell
                })
                .buffered(window)
                .collect()
                .await;
            (source, cells)
        }
    }))
    .await;
    let (sources, cells): (Vec<SourceOutcome>, Vec<Vec<Cell>>) = per_source.into_iter().unzip();
    let cells: Vec<Cell> = cells.into_iter().flatten().collect();

    let (principal_rows, principal_cells) = if config.principals.is_empty() {
        (Vec::new(), Vec::new())
    } else {
        admin_stage(config, cloud, &sources, &graph).await
    };
    let mut cells = cells;
    // No source gave a token and no principal was checked: nothing was tested, and a gate that
    // tested nothing must not be green.
    if principal_cells.is_empty() && cells.iter().all(|c| c.verdict == Verdict::Skip) {
        for c in &mut cells {
            c.met = false;
        }
    }
    cells.extend(principal_cells);

    let mut credentials: Vec<CredentialRow> = sources
        .iter()
        .map(|s| CredentialRow {
            id: s.id.into(),
            status: if s.principal.is_some() {
                CredentialStatus::Acquired
            } else if s
                .tokens
                .values()
                .any(|t| matches!(t, Err(TokenEvidence::Failed(_))))
            {
                CredentialStatus::Failed
            } else {
                CredentialStatus::Skipped
            },
            principal: s.principal.clone(),
            findings: s.row_findings.clone(),
        })
        .collect();
    credentials.extend(principal_rows);
    let summary = Report::summarize(&cells);
    let default_credential = default_pick(&credentials, env);
    Ok(Report {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo::default(),
        cloud: config.cloud.clone(),
        duration_ms: started.elapsed().as_millis() as u64,
        credentials,
        services: config.targets.clone(),
        cells,
        summary,
        default_credential,
        discovery: None,
    })
}

/// Which row a `DefaultAzureCredential` chain would pick: named only when that source got a
/// token in this run (see `credential::default_chain_pick_observed`).
fn default_pick(rows: &[CredentialRow], env: &BTreeMap<String, String>) -> Option<SourceId> {
    let observed: Vec<_> = rows
        .iter()
        .filter_map(|r| match r.id {
            RowId::Source(id) => Some((id, r.status)),
            RowId::Principal(_) => None,
        })
        .collect();
    crate::credential::default_chain_pick_observed(&observed, env)
}

async fn source_stage(
    id: SourceId,
    scopes: &BTreeSet<String>,
    ctx: &CredentialContext,
    arm_cache: Arc<crate::arm::client::ArmCache>,
) -> SourceOutcome {
    let arm_scope = format!("{}/.default", ctx.cloud.arm);
    let mut all_scopes: Vec<String> = scopes.iter().cloned().collect();
    all_scopes.push(arm_scope.clone());
    let acquired =
        futures::future::join_all(all_scopes.iter().map(|scope| acquire(id, scope, ctx))).await;

    let mut tokens = BTreeMap::new();
    let mut row_findings = Vec::new();
    let mut arm_token = None;
    for (scope, acquisition) in all_scopes.iter().zip(acquired) {
        let entry = match acquisition {
            Acquisition::Acquired { token, .. } => Ok(token.secret().to_string()),
            Acquisition::Skipped { reason, findings } => {
                let findings = if findings.is_empty() {
                    vec![Finding::new(
                        Code::CredentialNotConfigured,
                        reason,
                        "configure this source to test it",
                    )]
                } else {
                    findings
                };
                Err(TokenEvidence::Skipped(findings))
            }
            Acquisition::Failed { findings } => Err(TokenEvidence::Failed(findings)),
        };
        if *scope == arm_scope {
            arm_token = entry.ok();
            continue;
        }
        if let Err(TokenEvidence::Skipped(f) | TokenEvidence::Failed(f)) = &entry {
            for finding in f {
                if !row_findings
                    .iter()
                    .any(|g: &Finding| g.code == finding.code && g.message == finding.message)
                {
                    row_findings.push(finding.clone());
                }
            }
        }
        tokens.insert(scope.clone(), entry);
    }
    let claims = tokens
        .values()
        .find_map(|t| t.as_ref().ok())
        .and_then(|t| claims::decode(t).ok());
    let principal = claims.as_ref().map(claims::principal);
    let arm = match (arm_token, &claims) {
        (Some(token), Some(_)) => ArmAccess::Reader(
            ArmClient::new(ctx.http.clone(), ctx.cloud.arm, token)
                .with_cache(arm_cache)
                .with_timeout(ctx.timeout),
        ),
        (None, Some(_)) => ArmAccess::NoToken(Finding::new(
            Code::RbacUnreadable,
            "no ARM token for this source, so its role assignments could not be read",
            "grant the identity Reader (or a role with Microsoft.Authorization/roleAssignments/read) on the subscription, or run with an operator's --principal check",
        )),
        _ => ArmAccess::NotApplicable,
    };
    SourceOutcome {
        id,
        tokens,
        principal,
        row_findings,
        arm,
    }
}

/// The ARM resource behind a target: what preflight found by its endpoint, else the id given.
fn arm_resource_id(target: &Target, facts: Option<&ResourceFacts>) -> Option<String> {
    facts
        .map(|f| f.resource_id.clone())
        .or_else(|| target.resource_id.clone())
}

/// The scope the RBAC question is asked at: the resource itself, or, for a Search index's
/// documents, that index (an assignment scoped to one index grants nothing on another).
fn question_scope(target: &Target, resource_id: &str) -> String {
    match (target.kind, target.index.as_deref()) {
        (service::ServiceKind::Search, Some(index)) => {
            crate::arm::rbac::search_index_scope(resource_id, index)
        }
        _ => resource_id.to_string(),
    }
}

/// One cell: the source's token for the target's audience, then the target's ARM facts, its
/// claims and preflight, the RBAC question and the live call, judged by `diagnose`.
async fn cell_stage(
    config: &Config,
    cloud: &'static CloudProfile,
    http: &reqwest::Client,
    limit: &Semaphore,
    graph: &crate::graph::GraphHandle,
    source: &SourceOutcome,
    target: &Target,
) -> Cell {
    let expected = if config
        .expect_deny
        .contains(&(source.id, target.name.clone()))
    {
        Expectation::Deny
    } else {
        Expectation::Allow
    };
    let must_run = config.credentials_named || expected == Expectation::Deny;
    let scope = target.scope(&cloud.services);
    let mut stages = Stages::default();
    let token = match source.tokens.get(&scope) {
        Some(Ok(token)) => token.clone(),
        Some(Err(evidence)) => {
            stages.token = match evidence {
                TokenEvidence::Skipped(_) => "skipped".into(),
                _ => "failed".into(),
            };
            let d = diagnose(&Evidence {
                expected,
                must_run,
                token: evidence.clone(),
                claims: vec![],
                endpoint: vec![],
                preflight: None,
                rbac: None,
                grant_is_fresh: false,
                call: CallEvidence::NotSent,
            });
            return cell(source.id.into(), target, expected, d, stages, None);
        }
        None => unreachable!("every target's scope was requested"),
    };
    stages.token = "acquired".into();

    let now = time::OffsetDateTime::now_utc();
    let token_claims = claims::decode(&token).ok();
    let audience = scope.trim_end_matches("/.default").to_string();
    let claim_findings = token_claims
        .as_ref()
        .map(|c| claims::judge(c, &audience, now))
        .unwrap_or_default();
    stages.claims = if claim_findings.is_empty() {
        "ok".into()
    } else {
        claim_findings[0].code.to_string()
    };

    // The ARM side (the resource, its preflight, the RBAC question) and the live call need
    // nothing from each other: only the diagnosis needs both, so they run at once and a cell
    // costs the longer of the two chains, not their sum.
    let arm_side = async {
        let facts = locate_target(source, target, token_claims.as_ref()).await;
        let preflight = preflight_stage(
            source,
            target,
            facts.as_ref(),
            token_claims.as_ref(),
            now,
            &cloud.services,
        )
        .await;
        let resource_id = arm_resource_id(target, facts.as_ref());
        let (rbac, fresh) = rbac_stage(
            config,
            graph,
            source,
            target,
            resource_id,
            token_claims.as_ref(),
            now,
        )
        .await;
        (preflight, rbac, fresh)
    };
    let mut endpoint_findings =
        service::check_endpoint(target, &cloud.services, &config.allow_hosts);
    let call_side = call_stage(
        config,
        http,
        limit,
        target,
        &token,
        &mut endpoint_findings,
        &mut stages,
    );
    let ((preflight, rbac, grant_is_fresh), (call, http_summary)) =
        futures::join!(arm_side, call_side);
    stages.rbac = rbac
        .as_ref()
        .map(explain)
        .unwrap_or_else(|| "not evaluated".into());
    let d = diagnose(&Evidence {
        expected,
        must_run,
        token: TokenEvidence::Acquired,
        claims: claim_findings,
        endpoint: endpoint_findings,
        preflight,
        rbac,
        grant_is_fresh,
        call,
    });
    cell(source.id.into(), target, expected, d, stages, http_summary)
}

/// The resource behind the target, as the source's ARM reader sees it. With the resource id
/// given, the RBAC reads need not wait for the resource to be found: they start alongside.
async fn locate_target(
    source: &SourceOutcome,
    target: &Target,
    token_claims: Option<&claims::Claims>,
) -> Option<ResourceFacts> {
    let client = source.arm.client()?;
    let prefetch = async {
        let oid = token_claims.and_then(|c| c.oid.as_deref());
        if let (Some(resource_id), Some(oid)) = (target.resource_id.as_deref(), oid) {
            stage::prefetch_access(client, resource_id, oid).await;
        }
    };
    let (facts, ()) = futures::join!(stage::locate(client, target), prefetch);
    facts.ok().flatten()
}

/// What the resource's ARM properties say before any call (`None`: not read), with a Foundry
/// project's own identity's role on its account (issue 11 item 5).
async fn preflight_stage(
    source: &SourceOutcome,
    target: &Target,
    facts: Option<&ResourceFacts>,
    token_claims: Option<&claims::Claims>,
    now: time::OffsetDateTime,
    cloud: &service::ServiceCloud,
) -> Option<Vec<Finding>> {
    let tenant = token_claims.and_then(|c| c.tid.as_deref());
    let mut preflight = facts.map(|f| preflight_findings(target, f, None, tenant, cloud));
    if target.kind == service::ServiceKind::FoundryProject
        && let (Some(client), Some(id)) = (source.arm.client(), target.resource_id.as_deref())
    {
        let found = crate::arm::project::identity_findings(client, id, now).await;
        if !found.is_empty() {
            preflight.get_or_insert_with(Vec::new).extend(found);
        }
    }
    preflight
}

/// The RBAC question for this cell, asked with the source's own ARM reader (`None`: no ARM
/// access to ask with), and whether the granting assignment is still propagating.
async fn rbac_stage(
    config: &Config,
    graph: &crate::graph::GraphHandle,
    source: &SourceOutcome,
    target: &Target,
    resource_id: Option<String>,
    token_claims: Option<&claims::Claims>,
    now: time::OffsetDateTime,
) -> (Option<RbacVerdict>, bool) {
    let required = target.kind.required_action(target);
    match (&source.arm, token_claims) {
        (ArmAccess::NoToken(finding), Some(_)) => (
            Some(RbacVerdict::Unknown {
                findings: vec![finding.clone()],
            }),
            false,
        ),
        (ArmAccess::Reader(client), Some(c)) => match resource_id {
            Some(resource_id) => {
                let scope = question_scope(target, &resource_id);
                let q = RbacQuestion {
                    principal_id: c.oid.as_deref().unwrap_or_default(),
                    resource_id: &scope,
                    action: required.action,
                    kind: required.kind,
                    now,
                    horizon: horizon(config),
                };
                // Its own reader: where it may not list role assignments, it may still read its
                // own effective permissions.
                let verdict = stage::check_access_with(client, Some(client), Some(graph), &q).await;
                let fresh = match &verdict {
                    RbacVerdict::Allowed { grant } => pending_propagation(grant, None, now),
                    _ => false,
                };
                (Some(verdict), fresh)
            }
            None => (
                Some(RbacVerdict::Unknown {
                    findings: vec![Finding::new(
                        Code::RbacUnreadable,
                        format!(
                            "no resource this identity can read in ARM has the endpoint {}",
                            target.endpoint
                        ),
                        "give the resource id (--service NAME=KIND@URL,resource=/subscriptions/…) or grant Reader on the resource",
                    )],
                }),
                false,
            ),
        },
        _ => (None, false),
    }
}

/// `--expiry-horizon` as the RBAC question's look-ahead.
fn horizon(config: &Config) -> time::Duration {
    time::Duration::try_from(config.expiry_horizon).unwrap_or(time::Duration::ZERO)
}

/// The live call, unless an endpoint finding stops it (only an error does: an allow-listed
/// gateway, a warning, is still probed, so its cell is judged on a live answer like any
/// other). A request that cannot be built adds its findings to `endpoint`.
async fn call_stage(
    config: &Config,
    http: &reqwest::Client,
    limit: &Semaphore,
    target: &Target,
    token: &str,
    endpoint: &mut Vec<Finding>,
    stages: &mut Stages,
) -> (CallEvidence, Option<HttpSummary>) {
    if endpoint.iter().any(blocks_call) {
        stages.call = "not sent".into();
        return (CallEvidence::NotSent, None);
    }
    let request = match service::build_request(target) {
        Ok(request) => request,
        Err(findings) => {
            endpoint.extend(findings);
            stages.call = "not sent".into();
            return (CallEvidence::NotSent, None);
        }
    };
    let (outcome, summary) = {
        let _permit = limit
            .acquire()
            .await
            .expect("the semaphore is never closed");
        send_until_not_throttled(config, http, target, &request, token).await
    };
    stages.call = match &outcome {
        Ok(CallOutcome::Authorized { note, .. }) => format!("authorized ({note})"),
        Ok(CallOutcome::Denied { findings }) | Ok(CallOutcome::Inconclusive { findings }) => {
            findings
                .first()
                .map(|f| f.code.to_string())
                .unwrap_or_default()
        }
        Err(f) => f.code.to_string(),
    };
    (CallEvidence::Sent(outcome), summary)
}

fn cell(
    credential: RowId,
    target: &Target,
    expected: Expectation,
    d: crate::diagnosis::cell::Diagnosis,
    stages: Stages,
    http: Option<HttpSummary>,
) -> Cell {
    Cell {
        credential,
        service: target.name.clone(),
        verdict: d.verdict,
        expected,
        met: d.met,
        stages,
        http,
        findings: d.findings,
    }
}

fn is_throttled(outcome: &Result<CallOutcome, Finding>) -> bool {
    matches!(outcome, Ok(CallOutcome::Inconclusive { findings })
        if findings.first().is_some_and(|f| f.code == Code::Throttled))
}

/// Send the probe; while the answer is throttled and the service asks for a short wait, wait and
/// send it again (a few times, within the call's own timeout per wait). What is still throttled
/// after that is judged by diagnosis, which never takes it as proof of access.
async fn send_until_not_throttled(
    config: &Config,
    http: &reqwest::Client,
    target: &Target,
    request: &service::ProbeRequest,
    token: &str,
) -> (Result<CallOutcome, Finding>, Option<HttpSummary>) {
    let mut answer = send(config, http, target, request, token).await;
    for _ in 0..THROTTLE_RETRIES {
        if !is_throttled(&answer.0) {
            break;
        }
        let wait = answer
            .1
            .as_ref()
            .and_then(|s| s.retry_after_s)
            .map_or(Duration::from_secs(1), Duration::from_secs);
        if wait > THROTTLE_RETRY_MAX_WAIT.min(config.timeout) {
            break;
        }
        tokio::time::sleep(wait).await;
        answer = send(config, http, target, request, token).await;
    }
    answer
}

/// Send the probe: no redirects (the client has them off), a deadline, a bounded body.
async fn send(
    config: &Config,
    http: &reqwest::Client,
    target: &Target,
    request: &service::ProbeRequest,
    token: &str,
) -> (Result<CallOutcome, Finding>, Option<HttpSummary>) {
    let method =
        reqwest::Method::from_bytes(request.method.as_bytes()).unwrap_or(reqwest::Method::GET);
    // `Connection: close`: each data-plane host is asked once per source, so a kept-alive
    // connection would mostly sit idle holding a descriptor; at thousands of accounts the pool
    // alone would pass a 256-descriptor limit.
    let mut builder = http
        .request(method, &request.url)
        .timeout(config.timeout)
        .header("connection", "close")
        .header(
            "authorization",
            service::authorization_value(&request.auth, token),
        );
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    if let Some(body) = &request.body {
        builder = builder.body(body.clone());
    }
    let response = match crate::http::send(builder).await {
        Ok(r) => r,
        Err(e) => {
            return (
                Err(transport_finding(
                    &e,
                    &request.url,
                    config.timeout,
                    &config
                        .cloud
                        .parse::<Cloud>()
                        .unwrap_or_default()
                        .profile()
                        .services,
                )),
                None,
            );
        }
    };
    let status = response.status().as_u16();
    let headers: Vec<(String, String)> = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut body = Vec::new();
    let mut response = response;
    // A body that stops mid-way still classifies on what arrived: stop at the bound, an error or
    // the deadline.
    while let Ok(Ok(Some(chunk))) = tokio::time::timeout(config.timeout, response.chunk()).await {
        let room = BODY_LIMIT - body.len();
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if body.len() >= BODY_LIMIT {
            break;
        }
    }
    let summary = HttpSummary {
        method: request.method.to_string(),
        url: crate::redact::redact(&request.url),
        status,
        request_id: service::request_id(&headers),
        api_version: request.api_version.to_string(),
        // Seconds, as Azure AI services send it; the HTTP-date form is not used by them.
        retry_after_s: headers
            .iter()
            .find(|(k, _)| k == "retry-after")
            .and_then(|(_, v)| v.trim().parse().ok()),
    };
    let outcome = service::classify(
        target,
        &service::Response {
            status,
            headers: &headers,
            body: &body,
        },
    );
    (Ok(outcome), Some(summary))
}

/// EMFILE anywhere in the error's causes: the machine's limit, not the network's fault.
fn out_of_file_descriptors(e: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && io.raw_os_error() == Some(24)
        {
            return true;
        }
        if s.to_string()
            .to_ascii_lowercase()
            .contains("too many open files")
        {
            return true;
        }
        source = s.source();
    }
    false
}

/// Name a transport failure by its cause: DNS, TLS, timeout, or a refused connection. `cloud`
/// is the run's (checked when the configuration was read): remedies name its hosts.
fn transport_finding(
    e: &reqwest::Error,
    url: &str,
    timeout: Duration,
    cloud: &service::ServiceCloud,
) -> Finding {
    // The whole chain is shown; only the causes are matched, since reqwest's own message
    // carries the URL, and a host may well contain "proxy" or "connect".
    let mut chain = e.to_string().to_ascii_lowercase();
    let mut causes = String::new();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        causes.push_str(&s.to_string().to_ascii_lowercase());
        causes.push(' ');
        source = s.source();
    }
    chain.push(' ');
    chain.push_str(&causes);
    let host = url::Url::parse(url)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
        .unwrap_or_default();
    if out_of_file_descriptors(e) {
        Finding::new(
            Code::TooManyOpenFiles,
            format!("could not open a connection to {host}: too many open files (os error 24)"),
            "raise the open-file limit (ulimit -n 4096) and run again",
        )
    } else if e.is_timeout() {
        Finding::new(
            Code::Timeout,
            format!("no answer from {host} within {}s", timeout.as_secs_f32()),
            "check the network path to the endpoint (proxy, private endpoint DNS, firewall) or raise --timeout",
        )
    } else if causes.contains("dns error")
        || causes.contains("failed to lookup")
        || causes.contains("name or service not known")
    {
        dns_failure(&host, cloud)
    } else if causes.contains("certificate")
        || causes.contains("tls")
        || causes.contains("handshake")
    {
        Finding::new(
            Code::TlsFailure,
            format!("TLS with {host} failed: {}", chain.trim()),
            "if a TLS-inspecting proxy sits in between, pass its root CA with --ca-file",
        )
    } else if causes.contains("connection reset") || causes.contains("broken pipe") {
        // A reset is a fault of the moment, like a 5xx, whichever phase it cut.
        Finding::new(
            Code::ServerError,
            format!("the connection to {host} was reset: {}", chain.trim()),
            "retry; if it persists, check the network path (a proxy or firewall cutting connections)",
        )
    } else if e.is_connect()
        || causes.contains("tcp connect error")
        || causes.contains("unsuccessful tunnel")
    {
        Finding::new(
            Code::ConnectionFailed,
            format!("could not connect to {host}: {}", chain.trim()),
            "check the network path to the endpoint (proxy settings HTTPS_PROXY/NO_PROXY, firewall)",
        )
    } else {
        Finding::new(
            Code::ServerError,
            format!(
                "the connection to {host} failed mid-exchange: {}",
                chain.trim()
            ),
            "retry; if it persists, check the network path (a proxy or firewall cutting connections)",
        )
    }
}

/// `host` does not resolve: a typo, an account without a custom subdomain, or a private DNS
/// zone not linked where this runs, in the names of `cloud`.
fn dns_failure(host: &str, cloud: &service::ServiceCloud) -> Finding {
    Finding::new(
        Code::DnsFailure,
        format!("{host} does not resolve"),
        format!(
            "check the endpoint for typos; an account without a custom subdomain has no \
             {{name}}.{} host; behind a private endpoint, check the private DNS zone",
            cloud.custom_subdomain_suffixes[0]
        ),
    )
}

/// One round of `--wait-for-access`, for the progress lines.
#[derive(Debug, Clone, Default)]
pub struct WaitProgress {
    pub round: u32,
    pub elapsed: Duration,
    /// `credential × service (code)` of every cell still waited for.
    pub waiting: Vec<String>,
    /// `credential × service: code` of cells no longer waited for since this round, because
    /// waiting cannot fix their cause.
    pub given_up: Vec<String>,
    /// When the next round starts; `None` when the wait is over.
    pub next_try: Option<Duration>,
}

impl WaitProgress {
    /// Lines that stand on their own: each cell given up, and the end of a wait cut short.
    /// Names are service names (validated plain), source ids and codes (slugs).
    pub fn notices(&self) -> Vec<String> {
        let mut lines: Vec<String> = self
            .given_up
            .iter()
            .map(|c| format!("entraprobe: not waiting for {c}: waiting cannot fix this cause"))
            .collect();
        if self.next_try.is_none() && self.waiting.is_empty() && !self.given_up.is_empty() {
            lines.push(format!(
                "entraprobe: stopped waiting after round {}: no cell left that waiting can fix",
                self.round
            ));
        }
        lines
    }

    /// The round's state while the wait goes on.
    pub fn status(&self) -> Option<String> {
        let next = self.next_try?;
        Some(format!(
            "entraprobe: waiting for access: round {}, {} cell(s) still waiting ({}), next try in {}s ({}s elapsed)",
            self.round,
            self.waiting.len(),
            self.waiting.join(", "),
            next.as_secs_f32().ceil() as u64,
            self.elapsed.as_secs()
        ))
    }
}

/// The expected-allow cells that have not passed, split into those waiting may still fix and
/// those it cannot (by their first finding's code).
fn waiting_and_hopeless(report: &Report) -> (Vec<&Cell>, Vec<&Cell>) {
    report
        .cells
        .iter()
        .filter(|c| {
            c.expected == Expectation::Allow
                && c.verdict != Verdict::Pass
                && c.verdict != Verdict::Skip
        })
        .partition(|c| c.findings.first().is_none_or(|f| waiting_can_fix(f.code)))
}

fn cell_label(c: &Cell) -> String {
    let code = c.findings.first().map_or("no finding", |f| f.code.as_str());
    format!("{} × {} ({code})", c.credential, c.service)
}

/// `--wait-for-access`: run until every expected-allow cell passes, no failing cell is one that
/// waiting can fix, or the time is up. Each round acquires fresh tokens (a token cached from
/// before the assignment would keep failing) and reports its progress.
pub async fn run(
    config: &Config,
    env: &BTreeMap<String, String>,
    mut progress: impl FnMut(&WaitProgress),
) -> anyhow::Result<Report> {
    let Some(wait) = config.wait_for_access else {
        return run_with_deadline(config, env).await;
    };
    let started = Instant::now();
    let mut first_pass: HashMap<(RowId, String), Duration> = HashMap::new();
    let mut given_up: BTreeSet<(String, String)> = BTreeSet::new();
    let mut delay = Duration::from_secs(2);
    let mut round = 0;
    loop {
        round += 1;
        let mut report = run_with_deadline(config, env).await?;
        let elapsed = started.elapsed();
        for c in &report.cells {
            if c.verdict == Verdict::Pass {
                first_pass
                    .entry((c.credential.clone(), c.service.clone()))
                    .or_insert(elapsed);
            }
        }
        let (waiting, hopeless) = waiting_and_hopeless(&report);
        let mut state = WaitProgress {
            round,
            elapsed,
            waiting: waiting.iter().map(|c| cell_label(c)).collect(),
            given_up: hopeless
                .iter()
                .filter(|c| given_up.insert((c.credential.to_string(), c.service.clone())))
                .map(|c| {
                    let code = c.findings.first().map_or("no finding", |f| f.code.as_str());
                    format!("{} × {}: {code}", c.credential, c.service)
                })
                .collect(),
            next_try: None,
        };
        if waiting.is_empty() || elapsed >= wait {
            progress(&state);
            for c in &mut report.cells {
                if let Some(t) = first_pass.get(&(c.credential.clone(), c.service.clone())) {
                    c.stages.call = format!(
                        "{} (access effective after {}s)",
                        c.stages.call,
                        t.as_secs()
                    );
                }
            }
            report.duration_ms = started.elapsed().as_millis() as u64;
            return Ok(report);
        }
        let sleep = retry_after_hint(&report)
            .unwrap_or(delay)
            .min(wait.saturating_sub(elapsed))
            .max(Duration::from_millis(200));
        state.next_try = Some(sleep);
        progress(&state);
        tokio::time::sleep(sleep).await;
        delay = (delay * 2).min(Duration::from_secs(30));
    }
}

/// Every call has its own deadline; the run as a whole gets one too, so nothing (a CLI that
/// hangs, an endless listing) can keep a pipeline waiting: ten times `--timeout` covers the
/// longest chain (IMDS probe, token, three rounds of ARM reads with paging, the probe).
pub fn run_deadline(config: &Config) -> Duration {
    config.timeout.saturating_mul(10)
}

async fn run_with_deadline(
    config: &Config,
    env: &BTreeMap<String, String>,
) -> anyhow::Result<Report> {
    let deadline = run_deadline(config);
    match tokio::time::timeout(deadline, run_once(config, env)).await {
        Ok(report) => Ok(report?),
        Err(_) => anyhow::bail!(
            "the run did not finish within its deadline of {}s (10 × --timeout); \
             raise --timeout, or narrow --credential to find the source that hangs",
            deadline.as_secs()
        ),
    }
}

/// The largest `Retry-After` any probe's response asked for (capped at a minute a round).
fn retry_after_hint(report: &Report) -> Option<Duration> {
    report
        .cells
        .iter()
        .filter_map(|c| c.http.as_ref()?.retry_after_s)
        .map(|secs| Duration::from_secs(secs.min(60)))
        .max()
}

/// Admin mode (`--principal`): rows for identities this machine cannot act as. The operator's
/// own ARM reader (the first source that could read ARM) lists each principal's role
/// assignments; the verdict is the RBAC troubleshooter's, with no data-plane call. Where the
/// operator cannot read, the cell is inconclusive, never a guess.
async fn admin_stage(
    config: &Config,
    cloud: &'static CloudProfile,
    sources: &[SourceOutcome],
    graph: &crate::graph::GraphHandle,
) -> (Vec<CredentialRow>, Vec<Cell>) {
    let operator = sources.iter().find_map(|s| Some((s, s.arm.client()?)));
    let mut rows = Vec::new();
    let mut cells = Vec::new();
    let now = time::OffsetDateTime::now_utc();
    for id in &config.principals {
        let row_id = RowId::Principal(id.clone());
        let Some((operator_source, client)) = operator else {
            let finding = Finding::new(
                Code::RbacUnreadable,
                "no credential source on this machine could read ARM, so other principals cannot be checked",
                "run where a credential with Reader (or Microsoft.Authorization/roleAssignments/read) on the subscription is available, e.g. after `az login`",
            );
            rows.push(CredentialRow {
                id: row_id.clone(),
                status: CredentialStatus::Failed,
                principal: None,
                findings: vec![finding.clone()],
            });
            for target in &config.targets {
                cells.push(admin_cell(
                    &row_id,
                    target,
                    Verdict::Inconclusive,
                    vec![finding.clone()],
                    "not evaluated".into(),
                ));
            }
            continue;
        };
        let resolved = match resolve_principal(client, graph, id).await {
            Ok(found) => found,
            Err(finding) => {
                rows.push(CredentialRow {
                    id: row_id.clone(),
                    status: CredentialStatus::Failed,
                    principal: None,
                    findings: vec![finding.clone()],
                });
                for target in &config.targets {
                    cells.push(admin_cell(
                        &row_id,
                        target,
                        Verdict::Inconclusive,
                        vec![finding.clone()],
                        "not evaluated".into(),
                    ));
                }
                continue;
            }
        };
        let object_id = resolved.object_id.clone();
        let mut row_findings: Vec<Finding> = resolved.notes.clone();
        let mut subscriptions = BTreeSet::new();
        for target in &config.targets {
            let facts = stage::locate(client, target).await.ok().flatten();
            let endpoint = service::check_endpoint(target, &cloud.services, &config.allow_hosts);
            let preflight = facts
                .as_ref()
                .map(|f| preflight_findings(target, f, None, None, &cloud.services));
            let required = target.kind.required_action(target);
            let rbac = match arm_resource_id(target, facts.as_ref()) {
                None => RbacVerdict::Unknown {
                    findings: vec![Finding::new(
                        Code::RbacUnreadable,
                        format!(
                            "the operator cannot see a resource with the endpoint {}",
                            target.endpoint
                        ),
                        "give the resource id (--service NAME=KIND@URL,resource=/subscriptions/…) or run as an operator with Reader on it",
                    )],
                },
                Some(resource_id) => {
                    if let Some(sub) = crate::arm::scope::subscription_of(&resource_id) {
                        subscriptions.insert(sub.to_string());
                    }
                    let scope = question_scope(target, &resource_id);
                    let q = RbacQuestion {
                        principal_id: &object_id,
                        resource_id: &scope,
                        action: required.action,
                        kind: required.kind,
                        now,
                        horizon: horizon(config),
                    };
                    // The operator's reader only: the permissions API answers for the caller,
                    // never for someone else.
                    stage::check_access_with(client, None, Some(graph), &q).await
                }
            };
            // What the operator could not read is said once on the row as well (the cells
            // say it per service).
            if let RbacVerdict::Unknown { findings } = &rbac
                && let Some(f) = findings.iter().find(|f| f.code == Code::RbacUnreadable)
                && row_findings.is_empty()
            {
                row_findings.push(f.clone());
            }
            let stages_rbac = explain(&rbac);
            let fresh = matches!(&rbac, RbacVerdict::Allowed { grant } if pending_propagation(grant, None, now));
            let expected = if config
                .expect_deny_principals
                .contains(&(id.clone(), target.name.clone()))
            {
                Expectation::Deny
            } else {
                Expectation::Allow
            };
            let d = diagnose(&Evidence {
                expected,
                must_run: false,
                token: TokenEvidence::Acquired,
                claims: vec![],
                endpoint,
                preflight,
                rbac: Some(rbac),
                grant_is_fresh: fresh,
                call: CallEvidence::AdminMode,
            });
            let mut c = cell(row_id.clone(), target, expected, d, Stages::default(), None);
            c.stages = Stages {
                token: "not used (admin mode)".into(),
                claims: "not used (admin mode)".into(),
                rbac: stages_rbac,
                call: "not sent (admin mode checks role assignments only)".into(),
            };
            cells.push(c);
        }
        // The principal's type, when the id alone did not say: its assignments carry it (the
        // listings are the ones the RBAC questions just read, from the run's cache).
        let mut kind = resolved.kind;
        for sub in &subscriptions {
            if kind.is_some() {
                break;
            }
            kind = client
                .role_assignments_for(sub, &object_id)
                .await
                .unwrap_or_default()
                .iter()
                .find(|a| a.properties.principal_id.eq_ignore_ascii_case(&object_id))
                .and_then(|a| match a.properties.principal_type.as_str() {
                    "User" => Some(super::PrincipalType::User),
                    "ServicePrincipal" => Some(super::PrincipalType::ServicePrincipal),
                    _ => None,
                });
        }
        rows.push(CredentialRow {
            id: row_id.clone(),
            status: CredentialStatus::Acquired,
            principal: Some(Principal {
                object_id: object_id.clone(),
                tenant_id: operator_source
                    .principal
                    .as_ref()
                    .map(|p| p.tenant_id.clone())
                    .unwrap_or_default(),
                kind: kind.unwrap_or(super::PrincipalType::ServicePrincipal),
                display: resolved.display,
                app_id: resolved.app_id,
            }),
            findings: row_findings,
        });
    }
    (rows, cells)
}

/// A `--principal` resolved: the object id RBAC knows it by, and what to show.
struct ResolvedPrincipal {
    object_id: String,
    kind: Option<super::PrincipalType>,
    /// The name (and what was given, when that differs), for the row.
    display: String,
    app_id: Option<String>,
    /// Said once on the row (names that could not be looked up, an application object id).
    notes: Vec<Finding>,
}

/// Resolve a `--principal`: a managed identity resource id through ARM; an object id, app id,
/// UPN or display name through Microsoft Graph with the operator's token. Object ids work
/// without Graph (shown without a name); the other forms need it, and say so.
async fn resolve_principal(
    client: &ArmClient,
    graph: &crate::graph::GraphHandle,
    id: &str,
) -> Result<ResolvedPrincipal, Finding> {
    use crate::graph::{ObjectKind, Unresolved};
    let given = crate::graph::clean(id.trim());
    if id.trim().starts_with('/') {
        let object_id = managed_identity_principal(client, id).await?;
        let name = id.trim().rsplit('/').next().map(crate::graph::clean);
        return Ok(ResolvedPrincipal {
            object_id,
            kind: Some(super::PrincipalType::ManagedIdentity),
            display: name.unwrap_or(given),
            app_id: None,
            notes: Vec::new(),
        });
    }
    let looked_up = match graph.client().await {
        Ok(reader) => crate::graph::resolve(reader, id).await,
        Err(why) => Err(Unresolved::NoGraph(why)),
    };
    let form = crate::graph::form_of(id);
    match looked_up {
        Ok(found) => {
            let kind = match found.kind {
                ObjectKind::User => Some(super::PrincipalType::User),
                ObjectKind::ServicePrincipal if found.managed_identity => {
                    Some(super::PrincipalType::ManagedIdentity)
                }
                ObjectKind::ServicePrincipal => Some(super::PrincipalType::ServicePrincipal),
                _ => None,
            };
            let name = found.name.clone().unwrap_or_else(|| given.clone());
            let display = if name.eq_ignore_ascii_case(&given) || given == found.object_id {
                name
            } else {
                format!("{name} ({given})")
            };
            let notes = found
                .note
                .map(|n| {
                    Finding::new(Code::PrincipalUnresolved, n, "give the service principal's object id")
                        .with_severity(crate::diagnosis::Severity::Info)
                })
                .into_iter()
                .collect();
            Ok(ResolvedPrincipal {
                object_id: found.object_id,
                kind,
                display,
                app_id: found.app_id,
                notes,
            })
        }
        // Without Graph an object id still works: RBAC knows it; only the name is missing.
        Err(Unresolved::NoGraph(why)) if !crate::graph::needs_graph(id) => Ok(ResolvedPrincipal {
            object_id: id.trim().to_ascii_lowercase(),
            kind: None,
            display: given,
            app_id: None,
            notes: vec![Finding::new(
                Code::PrincipalUnresolved,
                format!("taken as an object id without a name: {why}"),
                "an app (client) id is not an object id; if this is one, give the service principal's object id (az ad sp show --id APP_ID --query id -o tsv)",
            )
            .with_severity(crate::diagnosis::Severity::Warning)],
        }),
        Err(Unresolved::NoGraph(why)) => Err(Finding::new(
            Code::PrincipalUnresolved,
            format!("principal `{given}` is {form}, which only Microsoft Graph can resolve, and it could not be asked: {why}"),
            "give the object id instead (az ad sp show --id APP_ID --query id -o tsv, az ad user show --id UPN --query id -o tsv), or run as an operator that may read the directory",
        )),
        Err(Unresolved::NotFound) => Err(Finding::new(
            Code::PrincipalUnresolved,
            format!("principal `{given}` ({form}): Microsoft Graph knows no user or service principal by it"),
            "check the spelling, or give the object id",
        )),
        Err(Unresolved::Ambiguous(candidates)) => Err(Finding::new(
            Code::PrincipalUnresolved,
            format!(
                "principal `{given}`: {} principals have this display name ({}); entraprobe does not guess",
                candidates.len(),
                candidates.join(", ")
            ),
            "give the object id of the one you mean",
        )),
    }
}

async fn managed_identity_principal(client: &ArmClient, id: &str) -> Result<String, Finding> {
    match client.user_assigned_identity(id).await {
        Ok(mi) if !mi.properties.principal_id.is_empty() => Ok(mi.properties.principal_id),
        Ok(_) => Err(Finding::new(
            Code::RbacUnreadable,
            format!("{id} has no principal id"),
            "check that the resource is a user-assigned managed identity",
        )),
        Err(e) => Err(Finding::new(
            Code::RbacUnreadable,
            format!("the managed identity {id} could not be read: {e}"),
            "check the resource id, or give the identity's object (principal) id instead",
        )),
    }
}

fn admin_cell(
    row: &RowId,
    target: &Target,
    verdict: Verdict,
    findings: Vec<Finding>,
    rbac: String,
) -> Cell {
    Cell {
        credential: row.clone(),
        service: target.name.clone(),
        verdict,
        expected: Expectation::Allow,
        met: false,
        stages: Stages {
            token: "not used (admin mode)".into(),
            claims: String::new(),
            rbac,
            call: "not sent".into(),
        },
        http: None,
        findings,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::parse_service_flag;

    #[test]
    fn a_search_index_target_asks_rbac_about_that_index() {
        let service =
            "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Search/searchServices/srch";
        let docs = parse_service_flag(&format!(
            "docs=search@https://srch.search.windows.net,resource={service},index=products"
        ))
        .unwrap();
        assert_eq!(
            question_scope(&docs, service),
            format!("{service}/indexes/products")
        );
        let listing = parse_service_flag("list=search@https://srch.search.windows.net").unwrap();
        assert_eq!(question_scope(&listing, service), service);
        assert_eq!(
            arm_resource_id(&docs, None).as_deref(),
            Some(service),
            "the ARM resource stays the service (the permissions API knows no index)"
        );
    }

    #[test]
    fn a_dns_failure_names_the_clouds_custom_subdomain_host() {
        let public = dns_failure("x.example", &service::ServiceCloud::PUBLIC);
        assert_eq!(
            public.remedy,
            "check the endpoint for typos; an account without a custom subdomain has no {name}.cognitiveservices.azure.com host; behind a private endpoint, check the private DNS zone"
        );
        for cloud in [service::ServiceCloud::USGOV, service::ServiceCloud::CHINA] {
            let f = dns_failure("contoso.openai.azure.us", &cloud);
            assert_eq!(f.code, Code::DnsFailure);
            let own = format!("{{name}}.{} host", cloud.custom_subdomain_suffixes[0]);
            assert!(f.remedy.contains(&own), "{}", f.remedy);
            assert!(
                service::endpoint::public_cloud_hosts(&f.remedy).is_empty(),
                "{}",
                f.remedy
            );
        }
    }

    #[tokio::test]
    async fn a_refused_connection_is_a_network_finding_not_a_server_error() {
        // A port that was just free: connecting is refused, on loopback only.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let url = format!("http://127.0.0.1:{port}/");
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let e = client.get(&url).send().await.unwrap_err();
        let f = transport_finding(
            &e,
            &url,
            Duration::from_secs(1),
            &service::ServiceCloud::PUBLIC,
        );
        assert_eq!(f.code, Code::ConnectionFailed, "{}", f.message);
    }

    #[tokio::test]
    async fn a_reset_even_during_the_handshake_is_a_fault_of_the_moment() {
        // Accepts and resets (SO_LINGER 0): the TLS handshake meets ECONNRESET.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let _ = socket.set_zero_linger();
                drop(socket);
            }
        });
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let url = format!("https://127.0.0.1:{port}/");
        let e = client.get(&url).send().await.unwrap_err();
        let f = transport_finding(
            &e,
            &url,
            Duration::from_secs(1),
            &service::ServiceCloud::PUBLIC,
        );
        assert_eq!(f.code, Code::ServerError, "{}", f.message);
        assert!(f.message.contains("reset"), "{}", f.message);
    }

    #[tokio::test]
    async fn a_connection_cut_mid_exchange_is_not_called_a_failure_to_connect() {
        use tokio::io::AsyncReadExt;
        // Accepts, reads the request, hangs up without an answer. The host name holds
        // "connect" and "proxy", which must not sway the verdict.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            while let Ok((mut socket, _)) = listener.accept().await {
                let mut buf = [0u8; 4096];
                let _ = socket.read(&mut buf).await;
            }
        });
        let client = reqwest::Client::builder()
            .no_proxy()
            .resolve(
                "connect-proxy.example.test",
                std::net::SocketAddr::from(([127, 0, 0, 1], port)),
            )
            .build()
            .unwrap();
        let url = format!("http://connect-proxy.example.test:{port}/");
        let e = client.get(&url).send().await.unwrap_err();
        assert!(!e.is_connect(), "{e:?}");
        let f = transport_finding(
            &e,
            &url,
            Duration::from_secs(1),
            &service::ServiceCloud::PUBLIC,
        );
        assert_eq!(f.code, Code::ServerError, "{}", f.message);
    }
}
