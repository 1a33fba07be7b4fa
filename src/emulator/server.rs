//! The emulator's one listening socket: a loopback HTTP proxy that terminates TLS itself.
//!
//! - `CONNECT host:443` → `200`, then a TLS handshake with a leaf for the SNI name (or the
//!   CONNECT host), then HTTP/1.1 on the tunnel, routed by host.
//! - Absolute-form `GET http://host/…` (IMDS, and anything else a proxied client sends as plain
//!   http) → routed by host.
//! - Origin-form requests and absolute-form requests to the emulator's own address → its own
//!   paths (App Service identity endpoint, fake CLI endpoint, OIDC endpoints).
//!
//! Every request becomes an [`EmuRequest`]; every handler is a plain function of it.

use super::cloud::{HostRole, TenantCloud};
use super::pki::Authority;
use super::{EmuRequest, EmuResponse, World};
use super::{arm, cli, dataplane, entra, managed_identity, oidc};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Request bodies beyond this are refused: every real request the emulator serves is small.
pub const MAX_REQUEST_BODY: usize = 1024 * 1024;

/// What the connection tasks share.
pub struct ServerState {
    pub world: Arc<World>,
    pub authority: Arc<Authority>,
    pub port: u16,
}

/// Which emulated surface serves a host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    Entra,
    Arm,
    DataPlane,
    Imds,
    /// Microsoft Graph (`graph.microsoft.com` and its sovereign twins).
    Graph,
    Unknown,
}

/// The surface for a lower-case host name without port. Which cloud the host is of does not
/// matter here; [`surface_in`] asks whether the scenario's tenant lives there.
pub fn surface_for_host(host: &str) -> Surface {
    if entra::is_login_host(host) {
        return Surface::Entra;
    }
    if host == managed_identity::IMDS_HOST {
        return Surface::Imds;
    }
    match TenantCloud::classify(host) {
        Some((_, HostRole::Arm)) => Surface::Arm,
        Some((_, HostRole::Graph)) => Surface::Graph,
        Some(_) => Surface::DataPlane,
        None => Surface::Unknown,
    }
}

/// The surface that answers `host` for this scenario: ARM, Graph and the data planes of a cloud
/// the tenant does not live in know nothing of it. In Azure such a name has no DNS record; a
/// proxy cannot fake a resolver failure, so the emulator answers it as any host it does not
/// emulate (a 502 naming why, inside TLS, so the reason stays readable). Entra answers on every
/// cloud's authority, with its own errors.
fn surface_in(world: &World, host: &str) -> Surface {
    match surface_for_host(host) {
        Surface::Arm | Surface::Graph | Surface::DataPlane
            if !world.scenario.tenant.lives_in(TenantCloud::of_host(host)) =>
        {
            Surface::Unknown
        }
        surface => surface,
    }
}

/// What the emulator does with a request.
#[derive(Debug)]
pub enum Routed {
    Respond(EmuResponse),
    /// Close the connection without an answer, as an address nobody listens on would.
    Drop,
}

/// Route a request that arrived for an Azure host (through a tunnel or as absolute-form http).
pub fn route_by_host(world: &World, req: &EmuRequest) -> Routed {
    count_request(world, req);
    match surface_in(world, &req.host) {
        Surface::Entra => Routed::Respond(entra::handle(world, req)),
        Surface::Arm => {
            world.counters.bump("arm");
            Routed::Respond(arm::handle(world, req))
        }
        Surface::DataPlane => {
            world.counters.bump("dataplane");
            Routed::Respond(dataplane::handle(world, req))
        }
        Surface::Imds if managed_identity::imds_present(world) => {
            Routed::Respond(managed_identity::handle_imds(world, req))
        }
        Surface::Imds => {
            world.counters.bump("imds.absent");
            Routed::Drop
        }
        Surface::Graph => Routed::Respond(super::graph::handle(world, req)),
        Surface::Unknown => {
            world.counters.bump("unknown_host");
            Routed::Respond(EmuResponse::text(502, unknown_host_text(world, &req.host)))
        }
    }
}

/// Why nothing answers `host`: no emulated service, or a service of a cloud the scenario's
/// tenant does not live in.
fn unknown_host_text(world: &World, host: &str) -> String {
    let cloud = world.scenario.tenant.cloud();
    match surface_for_host(host) {
        Surface::Unknown => format!(
            "entraprobe emulator: no emulated service answers for host `{host}` (only Azure's Entra, ARM, Microsoft Graph, IMDS, Cognitive Services and Search hosts of the {} cloud are emulated for this scenario)\n",
            cloud.name()
        ),
        _ => format!(
            "entraprobe emulator: `{host}` is a host of the {} cloud; the scenario's tenant lives in the {} cloud, so no resource of it answers there (as a name without a DNS record)\n",
            TenantCloud::of_host(host).name(),
            cloud.name()
        ),
    }
}

/// The request counter (design §6): one count per request, by the surface that serves it.
fn count_request(world: &World, req: &EmuRequest) {
    let counters = &world.counters;
    counters.count_host(&req.host);
    let surface = match surface_in(world, &req.host) {
        Surface::Entra => Some("entra"),
        Surface::Arm if is_resource_graph(&req.path) => Some("resource_graph"),
        Surface::Arm => {
            if req.method.eq_ignore_ascii_case("GET") && is_role_assignment_listing(&req.path) {
                counters
                    .arm_role_assignment_listings
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            }
            Some("arm")
        }
        Surface::DataPlane => Some("dataplane"),
        Surface::Imds => Some("imds"),
        Surface::Graph => Some("graph"),
        Surface::Unknown => None,
    };
    counters.count_request(surface);
}

/// How a request to the emulator's own address counts: on a surface, in the total only (a path
/// nothing serves), or not at all (health and the counter itself are not Azure traffic).
enum OwnCount {
    Surface(&'static str),
    TotalOnly,
    NotCounted,
}

fn own_count(path: &str) -> OwnCount {
    match path {
        p if p == managed_identity::APP_SERVICE_PATH => OwnCount::Surface("app_service"),
        p if cli::is_cli_path(p) => OwnCount::Surface("cli"),
        p if p == oidc::GITHUB_PATH || p == oidc::PIPELINES_PATH => OwnCount::Surface("oidc"),
        p if p == managed_identity::IMDS_TOKEN_PATH => OwnCount::Surface("imds"),
        p if p.starts_with("/_emulator/") => OwnCount::NotCounted,
        _ => OwnCount::TotalOnly,
    }
}

fn is_resource_graph(path: &str) -> bool {
    path.to_ascii_lowercase()
        .starts_with("/providers/microsoft.resourcegraph/")
}

/// `GET {scope}/providers/Microsoft.Authorization/roleAssignments` (a collection, not one
/// assignment by name).
fn is_role_assignment_listing(path: &str) -> bool {
    path.trim_end_matches('/')
        .to_ascii_lowercase()
        .ends_with("/providers/microsoft.authorization/roleassignments")
}

/// Route a request addressed to the emulator itself, by path.
pub fn route_own(world: &World, req: &EmuRequest) -> Routed {
    let path = req.path.trim_end_matches('/').to_ascii_lowercase();
    match own_count(&path) {
        OwnCount::Surface(surface) => world.counters.count_request(Some(surface)),
        OwnCount::TotalOnly => world.counters.count_request(None),
        OwnCount::NotCounted => {}
    }
    let resp = match path.as_str() {
        p if p == managed_identity::APP_SERVICE_PATH => {
            managed_identity::handle_app_service(world, req)
        }
        p if cli::is_cli_path(p) => cli::handle(world, req),
        p if p == oidc::GITHUB_PATH => oidc::handle_github(world, req),
        p if p == oidc::PIPELINES_PATH => oidc::handle_pipelines(world, req),
        // Lets `AZURE_POD_IDENTITY_AUTHORITY_HOST=http://127.0.0.1:PORT` reach IMDS as well.
        p if p == managed_identity::IMDS_TOKEN_PATH => {
            if !managed_identity::imds_present(world) {
                return Routed::Drop;
            }
            managed_identity::handle_imds(world, req)
        }
        "/_emulator/health" => EmuResponse::text(200, "ok\n"),
        "/_emulator/requests" => EmuResponse::json(200, &world.counters.requests_json()),
        _ => EmuResponse::text(
            404,
            format!(
                "entraprobe emulator: nothing at {} on the emulator's own address\n",
                req.path
            ),
        ),
    };
    Routed::Respond(resp)
}

fn is_loopback_name(host: &str) -> bool {
    matches!(host, "127.0.0.1" | "localhost" | "::1" | "[::1]")
}

/// Split `host[:port]` (IPv6 in brackets) into a lower-case host and a port.
pub fn split_host_port(authority: &str, default_port: u16) -> (String, u16) {
    let authority = authority.trim();
    if let Some((host, after)) = authority
        .strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
    {
        let port = after
            .strip_prefix(':')
            .and_then(|p| p.parse().ok())
            .unwrap_or(default_port);
        return (host.to_ascii_lowercase(), port);
    }
    match authority.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => (
            host.to_ascii_lowercase(),
            port.parse().unwrap_or(default_port),
        ),
        _ => (authority.to_ascii_lowercase(), default_port),
    }
}

#[derive(Debug)]
struct DropConnection;

impl std::fmt::Display for DropConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection dropped on purpose (no such endpoint on this machine)")
    }
}

impl std::error::Error for DropConnection {}

type HttpResponse = Response<Full<Bytes>>;

fn to_http(resp: EmuResponse) -> HttpResponse {
    let mut builder =
        Response::builder().status(StatusCode::from_u16(resp.status).unwrap_or(StatusCode::OK));
    for (name, value) in &resp.headers {
        if let (Ok(n), Ok(v)) = (
            hyper::header::HeaderName::from_bytes(name.as_bytes()),
            hyper::header::HeaderValue::from_str(value),
        ) {
            builder = builder.header(n, v);
        }
    }
    builder
        .body(Full::new(Bytes::from(resp.body)))
        .unwrap_or_else(|_| Response::new(Full::new(Bytes::new())))
}

fn plain(status: StatusCode, text: &str) -> HttpResponse {
    to_http(EmuResponse::text(status.as_u16(), text))
}

/// Read the request into an [`EmuRequest`]; `None` when the body is too large or broken.
async fn read_request(
    req: Request<Incoming>,
    scheme: &'static str,
    host: String,
    port: u16,
) -> Option<EmuRequest> {
    let (parts, body) = req.into_parts();
    let body = Limited::new(body, MAX_REQUEST_BODY)
        .collect()
        .await
        .ok()?
        .to_bytes();
    let raw_query = parts.uri.query().unwrap_or("").to_string();
    let query = form_urlencoded::parse(raw_query.as_bytes())
        .into_owned()
        .collect();
    let headers = parts
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    Some(EmuRequest {
        method: parts.method.as_str().to_string(),
        host,
        port,
        scheme,
        path: parts.uri.path().to_string(),
        raw_query,
        query,
        headers,
        body: body.to_vec(),
    })
}

async fn respond(state: &ServerState, routed: Routed) -> Result<HttpResponse, DropConnection> {
    match routed {
        Routed::Drop => Err(DropConnection),
        Routed::Respond(resp) => {
            let latency = state.world.scenario.faults.latency_ms;
            if latency > 0 {
                tokio::time::sleep(Duration::from_millis(latency)).await;
            }
            Ok(to_http(resp))
        }
    }
}

/// A request on the proxy's own connection (not inside a tunnel).
async fn proxy_request(
    req: Request<Incoming>,
    state: Arc<ServerState>,
    shutdown: watch::Receiver<bool>,
) -> Result<HttpResponse, DropConnection> {
    if req.method() == Method::CONNECT {
        let Some(authority) = req.uri().authority().map(|a| a.as_str().to_string()) else {
            return Ok(plain(StatusCode::BAD_REQUEST, "CONNECT needs host:port\n"));
        };
        let (host, port) = split_host_port(&authority, 443);
        tokio::spawn(async move {
            if let Ok(upgraded) = hyper::upgrade::on(req).await {
                tunnel(TokioIo::new(upgraded), host, port, state, shutdown).await;
            }
        });
        return Ok(Response::new(Full::new(Bytes::new())));
    }
    let absolute = req.uri().host().map(|h| {
        (
            h.trim_start_matches('[')
                .trim_end_matches(']')
                .to_ascii_lowercase(),
            req.uri().port_u16().unwrap_or(80),
        )
    });
    let from_header = req
        .headers()
        .get(hyper::header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| split_host_port(h, 80));
    let (host, port, own) = match (absolute, from_header) {
        (Some((h, p)), _) => {
            let own = is_loopback_name(&h) && p == state.port;
            (h, p, own)
        }
        (None, Some((h, p))) => {
            let own = is_loopback_name(&h) || surface_for_host(&h) == Surface::Unknown;
            (h, p, own)
        }
        (None, None) => ("127.0.0.1".to_string(), state.port, true),
    };
    let Some(emu) = read_request(req, "http", host, port).await else {
        return Ok(plain(
            StatusCode::PAYLOAD_TOO_LARGE,
            "entraprobe emulator: request body too large or unreadable\n",
        ));
    };
    let routed = if own {
        route_own(&state.world, &emu)
    } else {
        route_by_host(&state.world, &emu)
    };
    respond(&state, routed).await
}

#[derive(Debug)]
struct FixedCert(Arc<CertifiedKey>);

impl ResolvesServerCert for FixedCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// Terminate TLS on a CONNECT tunnel with a leaf for the name the client asked for, then serve
/// HTTP/1.1 inside it.
async fn tunnel<IO>(
    io: IO,
    connect_host: String,
    connect_port: u16,
    state: Arc<ServerState>,
    mut shutdown: watch::Receiver<bool>,
) where
    IO: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let acceptor = tokio_rustls::LazyConfigAcceptor::new(rustls::server::Acceptor::default(), io);
    let Ok(start) = acceptor.await else {
        return;
    };
    let name = start
        .client_hello()
        .server_name()
        .map(str::to_string)
        .unwrap_or_else(|| connect_host.clone());
    let Ok(leaf) = state.authority.leaf(&name) else {
        return;
    };
    let Ok(builder) =
        rustls::ServerConfig::builder_with_provider(state.authority.provider().clone())
            .with_safe_default_protocol_versions()
    else {
        return;
    };
    let mut config = builder
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(FixedCert(leaf)));
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    let Ok(tls) = start.into_stream(Arc::new(config)).await else {
        return;
    };
    let service = service_fn(move |req: Request<Incoming>| {
        let state = state.clone();
        let connect_host = connect_host.clone();
        async move {
            let (host, port) = req
                .headers()
                .get(hyper::header::HOST)
                .and_then(|h| h.to_str().ok())
                .map(|h| split_host_port(h, connect_port))
                .unwrap_or((connect_host, connect_port));
            let Some(emu) = read_request(req, "https", host, port).await else {
                return Ok(plain(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "entraprobe emulator: request body too large or unreadable\n",
                ));
            };
            let routed = route_by_host(&state.world, &emu);
            respond(&state, routed).await
        }
    });
    let conn = http1::Builder::new().serve_connection(TokioIo::new(tls), service);
    tokio::select! {
        _ = conn => {}
        _ = shutdown.wait_for(|stop| *stop) => {}
    }
}

/// Accept connections until `shutdown` turns true.
pub async fn serve(
    listener: TcpListener,
    state: Arc<ServerState>,
    shutdown: watch::Receiver<bool>,
) {
    let mut stop = shutdown.clone();
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let state = state.clone();
                let mut conn_shutdown = shutdown.clone();
                tokio::spawn(async move {
                    let service_shutdown = conn_shutdown.clone();
                    let service = service_fn(move |req| {
                        proxy_request(req, state.clone(), service_shutdown.clone())
                    });
                    let conn = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .with_upgrades();
                    tokio::select! {
                        _ = conn => {}
                        _ = conn_shutdown.wait_for(|stop| *stop) => {}
                    }
                });
            }
            _ = stop.wait_for(|stop| *stop) => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_route_to_their_surface() {
        assert_eq!(
            surface_for_host("login.microsoftonline.com"),
            Surface::Entra
        );
        assert_eq!(surface_for_host("login.chinacloudapi.cn"), Surface::Entra);
        assert_eq!(surface_for_host("management.azure.com"), Surface::Arm);
        assert_eq!(
            surface_for_host("contoso.cognitiveservices.azure.com"),
            Surface::DataPlane
        );
        assert_eq!(
            surface_for_host("westeurope.tts.speech.microsoft.com"),
            Surface::DataPlane
        );
        assert_eq!(
            surface_for_host("api.cognitive.microsofttranslator.com"),
            Surface::DataPlane
        );
        assert_eq!(
            surface_for_host("cognitiveservices.azure.com"),
            Surface::Unknown
        );
        assert_eq!(surface_for_host("evil.example.com"), Surface::Unknown);
        assert_eq!(surface_for_host("169.254.169.254"), Surface::Imds);
    }

    #[test]
    fn host_port_split() {
        assert_eq!(
            split_host_port("Login.MicrosoftOnline.com:443", 80),
            ("login.microsoftonline.com".to_string(), 443)
        );
        assert_eq!(split_host_port("[::1]:8080", 80), ("::1".to_string(), 8080));
        assert_eq!(
            split_host_port("169.254.169.254", 80),
            ("169.254.169.254".to_string(), 80)
        );
    }
}
