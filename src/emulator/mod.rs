//! The embedded fake Azure (design §6): one loopback HTTP proxy that terminates TLS for Azure's
//! host names and answers with Azure's real wire formats, driven by a scenario file.
//!
//! Layout: `scenario` (input), `tokens` (the token authority),
//! `pki` (CA, per-host leaves, identity certificates), `server` (proxy + TLS + routing),
//! one module per emulated surface (`entra`, `managed_identity`, `cli`, `oidc`, `arm`,
//! `dataplane`), and `envfile` (what makes a client talk to it).
//!
//! Every handler is a function from an [`EmuRequest`] and the shared [`World`] to an
//! [`EmuResponse`]: plain data in, plain data out, so each surface is tested without sockets.

pub mod arm;
pub mod authz;
pub mod cli;
pub mod cloud;
pub mod condition;
pub mod dataplane;
pub mod entra;
pub mod envfile;
pub mod graph;
pub mod managed_identity;
pub mod oidc;
pub mod pki;

pub mod resource_graph;
pub mod running;
pub mod scenario;
pub mod server;
pub mod tokens;

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

pub use running::{EmulatorOptions, RunningEmulator, run_foreground};
pub use scenario::Scenario;

/// A request as the emulator's handlers see it, whatever transport brought it.
#[derive(Debug, Clone, Default)]
pub struct EmuRequest {
    pub method: String,
    /// Lower-case host name without the port (`login.microsoftonline.com`, `169.254.169.254`).
    pub host: String,
    pub port: u16,
    /// `https` when it arrived through a CONNECT tunnel, `http` otherwise.
    pub scheme: &'static str,
    /// Path without the query, still percent-encoded as sent.
    pub path: String,
    /// The raw query string (without `?`), as sent.
    pub raw_query: String,
    /// Query parameters, percent-decoded, in order.
    pub query: Vec<(String, String)>,
    /// Header names lower-cased.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl EmuRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    /// Form fields of an `application/x-www-form-urlencoded` body.
    pub fn form(&self) -> BTreeMap<String, String> {
        form_urlencoded::parse(&self.body).into_owned().collect()
    }
    /// The bearer token, if an `Authorization: Bearer …` header is present.
    pub fn bearer(&self) -> Option<&str> {
        let value = self.header("authorization")?;
        let (scheme, token) = value.split_once(' ')?;
        scheme
            .eq_ignore_ascii_case("bearer")
            .then_some(token.trim())
    }
}

#[derive(Debug, Clone)]
pub struct EmuResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl EmuResponse {
    pub fn json(status: u16, body: &serde_json::Value) -> EmuResponse {
        EmuResponse::raw_json(
            status,
            serde_json::to_string(body).expect("JSON values serialize"),
        )
    }
    /// A JSON body given as text, for bodies whose exact bytes matter (Azure's gateways put a
    /// space after `"message":`).
    pub fn raw_json(status: u16, body: impl Into<String>) -> EmuResponse {
        EmuResponse {
            status,
            headers: vec![(
                "content-type".into(),
                "application/json; charset=utf-8".into(),
            )],
            body: body.into().into_bytes(),
        }
    }
    pub fn text(status: u16, body: impl Into<String>) -> EmuResponse {
        EmuResponse {
            status,
            headers: vec![("content-type".into(), "text/plain; charset=utf-8".into())],
            body: body.into().into_bytes(),
        }
    }
    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> EmuResponse {
        self.headers.push((name.to_ascii_lowercase(), value.into()));
        self
    }
}

/// The surfaces of the request counter (design §6), in the order `GET /_emulator/requests`
/// lists them. Resource Graph is its own surface, not part of `arm`.
pub const REQUEST_SURFACES: [&str; 9] = [
    "entra",
    "arm",
    "resource_graph",
    "graph",
    "imds",
    "app_service",
    "cli",
    "oidc",
    "dataplane",
];

/// Counts of what the emulator served, by surface; tests read them (for example, to prove that
/// role-assignment listings grow with principals, not with targets).
#[derive(Debug, Default)]
pub struct Counters {
    pub by_route: Mutex<BTreeMap<String, u64>>,
    /// Data-plane calls so far, for `faults.throttle_every`.
    pub data_plane_calls: AtomicU64,
    /// Every request served (the counter and health endpoints excepted), for
    /// `GET /_emulator/requests`.
    pub total: AtomicU64,
    /// Per [`REQUEST_SURFACES`] entry.
    pub by_surface: [AtomicU64; REQUEST_SURFACES.len()],
    /// ARM role-assignment listings (`GET {scope}/providers/Microsoft.Authorization/roleAssignments`).
    pub arm_role_assignment_listings: AtomicU64,
    /// Requests by the host they were addressed to (not the emulator's own address), so a test
    /// can tell which cloud's names a client used. Bounded: past [`MAX_COUNTED_HOSTS`] names,
    /// new ones count under [`OTHER_HOSTS`].
    pub by_host: Mutex<BTreeMap<String, u64>>,
}

/// How many distinct host names the counter keeps apart.
pub const MAX_COUNTED_HOSTS: usize = 256;
/// Where the counter puts hosts past [`MAX_COUNTED_HOSTS`].
pub const OTHER_HOSTS: &str = "(other hosts)";

impl Counters {
    /// Count one request on `surface` (a [`REQUEST_SURFACES`] name; None: a host nothing
    /// emulates, counted in the total only).
    pub fn count_request(&self, surface: Option<&str>) {
        self.total.fetch_add(1, Ordering::Relaxed);
        if let Some(i) = surface.and_then(|s| REQUEST_SURFACES.iter().position(|n| *n == s)) {
            self.by_surface[i].fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Count one request addressed to `host` (lower case, no port).
    pub fn count_host(&self, host: &str) {
        // A DNS name is at most 253 characters; a longer one is not a host anyone resolves.
        let host: String = host.chars().take(253).collect();
        let mut by_host = self.by_host.lock().unwrap_or_else(|e| e.into_inner());
        let key = if by_host.contains_key(&host) || by_host.len() < MAX_COUNTED_HOSTS {
            host
        } else {
            OTHER_HOSTS.to_string()
        };
        *by_host.entry(key).or_default() += 1;
    }

    /// The body of `GET /_emulator/requests`.
    pub fn requests_json(&self) -> serde_json::Value {
        let by_surface: serde_json::Map<String, serde_json::Value> = REQUEST_SURFACES
            .iter()
            .zip(&self.by_surface)
            .map(|(name, n)| (name.to_string(), n.load(Ordering::Relaxed).into()))
            .collect();
        serde_json::json!({
            "total": self.total.load(Ordering::Relaxed),
            "by_surface": by_surface,
            "arm_role_assignment_listings": self.arm_role_assignment_listings.load(Ordering::Relaxed),
            "by_host": self.by_host.lock().unwrap_or_else(|e| e.into_inner()).clone(),
        })
    }

    pub fn bump(&self, route: &str) {
        *self
            .by_route
            .lock()
            .expect("counter lock")
            .entry(route.to_string())
            .or_default() += 1;
    }
    pub fn get(&self, route: &str) -> u64 {
        self.by_route
            .lock()
            .expect("counter lock")
            .get(route)
            .copied()
            .unwrap_or(0)
    }
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.by_route.lock().expect("counter lock").clone()
    }
}

/// Everything the handlers share: the scenario, the token authority, the clock.
pub struct World {
    pub scenario: Scenario,
    pub signer: tokens::TokenSigner,
    /// When the emulator started; `effective_after_s` counts from here.
    pub started: Instant,
    pub counters: Counters,
    /// Certificates of identities with `certificate = true` (Entra checks assertions against them).
    pub certificates: pki::IdentityCertificates,
    /// Per-run secrets the machine's credential variables carry (App Service identity header,
    /// Pipelines system token, GitHub OIDC request token).
    pub machine_secrets: envfile::MachineSecrets,
    /// Resource Graph's per-user quota windows, by caller object id.
    pub resource_graph_quota: Mutex<std::collections::HashMap<String, resource_graph::QuotaWindow>>,
    /// Every subscription of the tenant with the management groups above it, the default first.
    pub subscriptions: Vec<scenario::SubscriptionInfo>,
}

impl World {
    pub fn new(scenario: Scenario) -> anyhow::Result<World> {
        let certificates = pki::IdentityCertificates::generate(&scenario)?;
        let subscriptions = scenario.subscription_infos();
        Ok(World {
            subscriptions,
            scenario,
            signer: tokens::TokenSigner::generate()?,
            started: Instant::now(),
            counters: Counters::default(),
            certificates,
            machine_secrets: envfile::MachineSecrets::generate(),
            resource_graph_quota: Mutex::default(),
        })
    }
    pub fn tenant_id(&self) -> &str {
        &self.scenario.tenant.id
    }
    /// The tenant's default subscription (`[tenant] subscription`): where managed identities
    /// and App Service sites live.
    pub fn subscription(&self) -> &str {
        &self.scenario.tenant.subscription
    }
    /// One of the tenant's subscriptions, by id (case-insensitive).
    pub fn subscription_by_id(&self, id: &str) -> Option<&scenario::SubscriptionInfo> {
        self.subscriptions
            .iter()
            .find(|s| s.id.eq_ignore_ascii_case(id))
    }
}
