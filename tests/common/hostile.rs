//! A hostile HTTPS proxy for the tests, placed between the `entraprobe` binary and the embedded
//! emulator.
//!
//! The binary is pointed at this proxy (`HTTPS_PROXY`/`HTTP_PROXY`, and `--ca-file` with this
//! proxy's own CA). The proxy terminates `CONNECT` tunnels with a leaf for the name asked for,
//! reads each HTTP/1.1 request itself, and then, per the first rule whose [`Target`] matches,
//! either forwards the request to the emulator untouched (the emulator is itself a proxy with
//! its own CA) or answers the way an attacker, a broken middlebox or an unlucky network would:
//! redirects to a foreign host, huge or endless bodies, a byte at a time, no answer, a TCP
//! reset, the request's own secrets echoed back in many encodings, CI commands and terminal
//! escapes injected into bodies and headers, an ARM `nextLink` to a foreign host.
//!
//! It writes its answers byte by byte (no HTTP library on the answering side), so it can send
//! what a well-behaved server library never would. Everything it saw is recorded: every
//! secret that crossed it (bearer tokens, client secrets and assertions, issued tokens), and
//! every request to a host that is not Azure's, so a test can assert that no secret reached an
//! output and no bearer token reached a foreign host.

#![allow(dead_code)]

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use entraprobe::emulator::managed_identity::{APP_SERVICE_PATH, IMDS_HOST};
use entraprobe::emulator::pki::Authority;
use entraprobe::emulator::server::{Surface, surface_for_host};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// Where redirects and `nextLink`s point: not Azure, not loopback.
pub const FOREIGN_HOST: &str = "evil.example.net";

/// Text an attacker would like to reach a terminal or a CI log: Azure Pipelines commands (also
/// mid-line, where the agent still acts on them), GitHub workflow commands after a newline and
/// in the legacy `##[` form, ANSI CSI/OSC sequences (screen clear, colour, window title, a
/// hyperlink), bidi overrides, a bare CR that rewrites the line, C1 controls, a NUL.
pub const INJECTED: &str = "access denied\r##vso[task.setvariable variable=HOSTILE_VAR;issecret=false]owned \
mid-line ##vso[task.complete result=Succeeded;]HOSTILE_DONE\n::set-output name=HOSTILE_OUT::owned\n\
::error::HOSTILE_ERR\n  ::add-mask::HOSTILE_MASK\n##[set-output name=HOSTILE_LEGACY;]owned\n\
\x1b[2J\x1b[31mHOSTILE_RED\x1b[0m \x1b]0;HOSTILE_TITLE\x07 \x1b]8;;https://evil.example.net/\x1b\\click\x1b]8;;\x1b\\ \
\u{202E}HOSTILE_BIDI\u{202C} \u{2066}isolate\u{2069} \u{9b}31mC1 \u{85}NEL \x00NUL \x08\x08BS end";

/// What goes into injected response headers: header values cannot carry CR, LF or ESC
/// (an HTTP client refuses the whole answer), but they can carry CI commands and bidi text.
pub const INJECTED_HEADER: &str = "##vso[task.setvariable variable=HOSTILE_HDR]owned ##vso[task.complete result=Succeeded;]HOSTILE_HDR \u{202E}HOSTILE_HDR_BIDI";

/// Which requests a rule applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// Entra ID's token endpoint (`/oauth2/v2.0/token`, `/oauth2/token`).
    EntraToken,
    /// Everything on Entra ID's hosts (discovery documents as well).
    Entra,
    /// Everything on the IMDS address, the tool's own probe included.
    Imds,
    /// The App Service / Functions identity endpoint (`IDENTITY_ENDPOINT`).
    AppService,
    /// Everything on ARM.
    Arm,
    /// ARM role-assignment listings (the pages the RBAC stage reads).
    ArmRoleAssignments,
    /// Every data-plane host (Cognitive Services, OpenAI, Search, Speech, Translator).
    DataPlane,
}

impl Target {
    fn matches(self, req: &Request) -> bool {
        let path = req.path().to_ascii_lowercase();
        match self {
            Target::EntraToken => {
                req.surface() == Surface::Entra
                    && path.contains("/oauth2/")
                    && path.ends_with("/token")
            }
            Target::Entra => req.surface() == Surface::Entra,
            Target::Imds => req.host == IMDS_HOST,
            Target::AppService => req.is_own() && path.starts_with(APP_SERVICE_PATH),
            Target::Arm => req.surface() == Surface::Arm,
            Target::ArmRoleAssignments => {
                req.surface() == Surface::Arm
                    && path.contains("/providers/microsoft.authorization/roleassignments")
            }
            Target::DataPlane => req.surface() == Surface::DataPlane,
        }
    }
}

/// What the proxy does with a matching request.
#[derive(Clone, Debug)]
pub enum Action {
    /// Forward to the emulator, answer what it answered.
    Pass,
    /// `status` with `Location:` the same path on [`FOREIGN_HOST`].
    Redirect { status: u16 },
    /// `status` with a JSON-looking body of `bytes` bytes (with `Content-Length`).
    Huge { status: u16, bytes: u64 },
    /// `status`, chunked, chunks of JSON-looking text until the client hangs up.
    Endless { status: u16 },
    /// `status` and its headers, then one byte every `every`, until the client hangs up.
    Trickle { status: u16, every: Duration },
    /// Read the request, never answer, keep the connection open.
    Hang,
    /// Read the request, then close the connection with a TCP reset.
    Reset,
    /// A fixed answer.
    Fixed {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// An error answer in the surface's own shape whose message carries the request's secrets,
    /// body and header values in the encoding `encoding` names (see [`encodings`]), or in all.
    Echo {
        status: u16,
        encoding: Option<&'static str>,
    },
    /// An error answer in the surface's own shape whose message is [`INJECTED`], with
    /// [`INJECTED_HEADER`] in the request-id and challenge headers.
    Inject { status: u16 },
    /// Forward, then rewrite a JSON answer's `nextLink` to [`FOREIGN_HOST`] (ARM paging).
    ForeignNextLink,
    /// Forward, then replace the issued token with one whose claims carry [`INJECTED`] in
    /// every name-like claim and whose signature is garbage (claims are outside text too).
    ForgedToken,
}

/// A request as the proxy read it.
#[derive(Clone, Debug)]
pub struct Request {
    pub method: String,
    /// Lower-case, without port.
    pub host: String,
    pub port: u16,
    pub scheme: &'static str,
    /// Path and query, as sent.
    pub target: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
    /// The proxy's own port: a request to it is for the emulator's own address.
    proxy_port: u16,
}

impl Request {
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or_default()
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn is_own(&self) -> bool {
        matches!(self.host.as_str(), "127.0.0.1" | "localhost" | "::1")
    }
    fn surface(&self) -> Surface {
        surface_for_host(&self.host)
    }
    /// A host that is neither Azure's (as the emulator serves them) nor loopback.
    pub fn is_foreign(&self) -> bool {
        !self.is_own() && self.surface() == Surface::Unknown
    }
}

/// One request to a foreign host, as recorded.
#[derive(Clone, Debug)]
pub struct ForeignRequest {
    pub host: String,
    pub target: String,
    pub had_authorization: bool,
}

#[derive(Default)]
struct Record {
    secrets: BTreeSet<String>,
    foreign: Vec<ForeignRequest>,
    matched: Vec<String>,
    requests: usize,
}

struct State {
    rules: Vec<(Target, Action)>,
    record: Mutex<Record>,
    upstream: reqwest::Client,
    emulator_port: u16,
    authority: Authority,
    port: u16,
}

/// The running proxy. Dropping it leaves its tasks to the test's runtime, which ends with
/// the test.
pub struct HostileProxy {
    state: Arc<State>,
    ca_file: PathBuf,
}

impl HostileProxy {
    /// Listen on a free loopback port; forward to the emulator at `emulator_port`, trusting
    /// `emulator_ca` (its PEM file); write this proxy's CA into `dir`.
    pub async fn start(
        emulator_port: u16,
        emulator_ca: &Path,
        dir: &Path,
        rules: Vec<(Target, Action)>,
    ) -> HostileProxy {
        let ca_pem = std::fs::read(emulator_ca).expect("emulator CA");
        let upstream = reqwest::Client::builder()
            .no_proxy()
            .proxy(reqwest::Proxy::all(format!("http://127.0.0.1:{emulator_port}")).unwrap())
            .tls_certs_merge([reqwest::Certificate::from_pem(&ca_pem).unwrap()])
            .redirect(reqwest::redirect::Policy::none())
            .http1_only()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("upstream client");
        let authority = Authority::generate().expect("proxy CA");
        let ca_file = dir.join("hostile-proxy-ca.pem");
        std::fs::write(&ca_file, authority.ca_pem()).unwrap();
        let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State {
            rules,
            record: Mutex::new(Record::default()),
            upstream,
            emulator_port,
            authority,
            port,
        });
        let accept_state = state.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve_plain(stream, accept_state.clone()));
            }
        });
        HostileProxy { state, ca_file }
    }

    pub fn port(&self) -> u16 {
        self.state.port
    }

    /// This proxy's CA (PEM): what the binary gets as `--ca-file` and `SSL_CERT_FILE`.
    pub fn ca_file(&self) -> &Path {
        &self.ca_file
    }

    /// Record a secret the outputs must not contain (e.g. one from the environment).
    pub fn add_secret(&self, secret: &str) {
        register(&self.state, secret);
    }

    /// Every secret seen or registered so far.
    pub fn secrets(&self) -> Vec<String> {
        self.state
            .record
            .lock()
            .unwrap()
            .secrets
            .iter()
            .cloned()
            .collect()
    }

    /// Requests that reached a foreign host (a followed redirect or `nextLink`).
    pub fn foreign_requests(&self) -> Vec<ForeignRequest> {
        self.state.record.lock().unwrap().foreign.clone()
    }

    /// `METHOD host path` of every request a non-`Pass` rule answered.
    pub fn mangled(&self) -> Vec<String> {
        self.state.record.lock().unwrap().matched.clone()
    }

    pub fn request_count(&self) -> usize {
        self.state.record.lock().unwrap().requests
    }

    /// The emulator's environment rewritten to go through this proxy: proxy variables and
    /// URLs naming the emulator's port point here, and trust is this proxy's CA.
    pub fn environment(&self, emulator_env: &[(String, String)]) -> Vec<(String, String)> {
        let from = format!("127.0.0.1:{}", self.state.emulator_port);
        let to = format!("127.0.0.1:{}", self.state.port);
        let ca = self.ca_file.to_string_lossy().into_owned();
        emulator_env
            .iter()
            .map(|(k, v)| {
                let v = match k.as_str() {
                    "SSL_CERT_FILE" | "REQUESTS_CA_BUNDLE" | "CURL_CA_BUNDLE" => ca.clone(),
                    _ => v.replace(&from, &to),
                };
                (k.clone(), v)
            })
            .collect()
    }
}

fn register(state: &State, secret: &str) {
    let secret = secret.trim();
    if secret.len() >= 8 {
        state
            .record
            .lock()
            .unwrap()
            .secrets
            .insert(secret.to_string());
    }
}

/// Remember every secret a request carries: its bearer token, any other credential-bearing
/// header, and the secret fields of a form body.
fn register_request_secrets(state: &State, req: &Request) {
    for (name, value) in &req.headers {
        let name = name.to_ascii_lowercase();
        if name == "authorization" {
            let token = value.split_once(' ').map(|(_, t)| t).unwrap_or(value);
            // Speech's `aad#{resourceId}#{token}` form.
            register(state, token.rsplit('#').next().unwrap_or(token));
        } else if name.contains("identity-header") || name == "x-identity-header" {
            register(state, value);
        }
    }
    for (k, v) in form_urlencoded::parse(&req.body) {
        if matches!(
            k.as_ref(),
            "client_secret" | "client_assertion" | "assertion" | "refresh_token" | "password"
        ) {
            register(state, &v);
        }
    }
}

/// Remember tokens an answer hands out.
fn register_response_secrets(state: &State, body: &[u8]) {
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) {
        for key in [
            "access_token",
            "refresh_token",
            "id_token",
            "value",
            "accessToken",
        ] {
            if let Some(s) = json.get(key).and_then(|v| v.as_str())
                && s.matches('.').count() == 2
            {
                register(state, s);
            }
        }
    }
}

/// Anything the proxy talks over: plain TCP or TLS on TCP (to reset the TCP under it).
trait Conn: AsyncRead + AsyncWrite + Unpin + Send {
    fn tcp(&self) -> &TcpStream;
}

impl Conn for TcpStream {
    fn tcp(&self) -> &TcpStream {
        self
    }
}

impl Conn for tokio_rustls::server::TlsStream<TcpStream> {
    fn tcp(&self) -> &TcpStream {
        self.get_ref().0
    }
}

#[derive(Debug)]
struct FixedCert(Arc<CertifiedKey>);

impl ResolvesServerCert for FixedCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.0.clone())
    }
}

const MAX_HEAD: usize = 64 * 1024;
const MAX_BODY: usize = 1024 * 1024;

/// Read one request head and body. `None` at EOF or on anything unreadable.
async fn read_request<S: Conn>(
    io: &mut S,
    buf: &mut Vec<u8>,
    scheme: &'static str,
    default_host: &str,
    default_port: u16,
    proxy_port: u16,
) -> Option<(String, Request)> {
    let head_end = loop {
        if let Some(i) = find(buf, b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return None;
        }
        let mut chunk = [0u8; 8192];
        let n = io.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    buf.drain(..head_end + 4);
    let mut lines = head.split("\r\n");
    let mut first = lines.next()?.split(' ');
    let method = first.next()?.to_string();
    let raw_target = first.next()?.to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(0);
    if length > MAX_BODY {
        return None;
    }
    while buf.len() < length {
        let mut chunk = [0u8; 8192];
        let n = io.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let body: Vec<u8> = buf.drain(..length).collect();
    let host_header = headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("host"))
        .map(|(_, v)| v.clone());
    // Absolute form (`GET http://169.254.169.254/…`), else the Host header, else the tunnel's.
    let (authority, target) = match raw_target.strip_prefix("http://") {
        Some(rest) => {
            let slash = rest.find('/').unwrap_or(rest.len());
            (Some(rest[..slash].to_string()), rest[slash..].to_string())
        }
        None => (host_header, raw_target.clone()),
    };
    let (host, port) = match authority {
        Some(a) => split_host_port(&a, default_port),
        None => (default_host.to_string(), default_port),
    };
    let target = if target.is_empty() {
        "/".into()
    } else {
        target
    };
    Some((
        raw_target,
        Request {
            method,
            host,
            port,
            scheme,
            target,
            headers,
            body,
            proxy_port,
        },
    ))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn split_host_port(authority: &str, default_port: u16) -> (String, u16) {
    let authority = authority.trim();
    if let Some(rest) = authority.strip_prefix('[') {
        let (h, p) = rest.split_once(']').unwrap_or((rest, ""));
        let port = p.trim_start_matches(':').parse().unwrap_or(default_port);
        return (h.to_ascii_lowercase(), port);
    }
    match authority.rsplit_once(':') {
        Some((h, p)) if p.chars().all(|c| c.is_ascii_digit()) && !p.is_empty() => {
            (h.to_ascii_lowercase(), p.parse().unwrap_or(default_port))
        }
        _ => (authority.to_ascii_lowercase(), default_port),
    }
}

/// A connection as accepted: `CONNECT` opens a TLS tunnel, anything else is plain HTTP.
async fn serve_plain(mut stream: TcpStream, state: Arc<State>) {
    let mut buf = Vec::new();
    let Some((raw_target, first)) =
        read_request(&mut stream, &mut buf, "http", "127.0.0.1", 80, state.port).await
    else {
        return;
    };
    if first.method.eq_ignore_ascii_case("CONNECT") {
        let (host, port) = split_host_port(&raw_target, 443);
        if stream
            .write_all(b"HTTP/1.1 200 Connection Established\r\n\r\n")
            .await
            .is_err()
        {
            return;
        }
        tunnel(stream, host, port, state).await;
        return;
    }
    if !handle(&mut stream, first, &state).await {
        return;
    }
    serve_requests(stream, buf, "http", "127.0.0.1", 80, state).await;
}

async fn tunnel(stream: TcpStream, host: String, port: u16, state: Arc<State>) {
    let Ok(leaf) = state.authority.leaf(&host) else {
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
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let Ok(tls) = acceptor.accept(stream).await else {
        return;
    };
    serve_requests(tls, Vec::new(), "https", &host, port, state).await;
}

async fn serve_requests<S: Conn>(
    mut io: S,
    mut buf: Vec<u8>,
    scheme: &'static str,
    host: &str,
    port: u16,
    state: Arc<State>,
) {
    while let Some((_, req)) = read_request(&mut io, &mut buf, scheme, host, port, state.port).await
    {
        if !handle(&mut io, req, &state).await {
            return;
        }
    }
}

/// Answer one request; `false` when the connection must end.
async fn handle<S: Conn>(io: &mut S, req: Request, state: &Arc<State>) -> bool {
    register_request_secrets(state, &req);
    {
        let mut record = state.record.lock().unwrap();
        record.requests += 1;
        if req.is_foreign() {
            record.foreign.push(ForeignRequest {
                host: req.host.clone(),
                target: req.target.clone(),
                had_authorization: req.header("authorization").is_some(),
            });
        }
    }
    if req.is_foreign() {
        return foreign_answer(io).await;
    }
    let action = state
        .rules
        .iter()
        .find(|(t, _)| t.matches(&req))
        .map(|(_, a)| a.clone())
        .unwrap_or(Action::Pass);
    if !matches!(action, Action::Pass) {
        state.record.lock().unwrap().matched.push(format!(
            "{} {}{}",
            req.method,
            req.host,
            req.path()
        ));
    }
    match action {
        Action::Pass => forward(io, &req, state, Rewrite::None).await,
        Action::ForeignNextLink => forward(io, &req, state, Rewrite::ForeignNextLink).await,
        Action::ForgedToken => forward(io, &req, state, Rewrite::ForgedToken).await,
        Action::Redirect { status } => {
            let location = format!("https://{FOREIGN_HOST}{}", req.target);
            let body = format!("Moved to {location}");
            respond(
                io,
                status,
                &[("Location".into(), location)],
                body.as_bytes(),
            )
            .await
        }
        Action::Fixed {
            status,
            headers,
            body,
        } => respond(io, status, &headers, body.as_bytes()).await,
        Action::Echo { status, encoding } => {
            let text = echo_text(&req, encoding);
            let body = error_body(&req, status, &text);
            respond(io, status, &json_headers(), body.as_bytes()).await
        }
        Action::Inject { status } => {
            let body = error_body(&req, status, INJECTED);
            let mut headers = json_headers();
            for name in [
                "x-ms-request-id",
                "apim-request-id",
                "x-ms-correlation-request-id",
                "x-ms-ags-diagnostic",
            ] {
                headers.push((name.into(), INJECTED_HEADER.into()));
            }
            headers.push((
                "WWW-Authenticate".into(),
                format!("Bearer error=\"invalid_token\", error_description=\"{INJECTED_HEADER}\""),
            ));
            respond(io, status, &headers, body.as_bytes()).await
        }
        Action::Huge { status, bytes } => huge(io, status, bytes).await,
        Action::Endless { status } => endless(io, status).await,
        Action::Trickle { status, every } => trickle(io, status, every).await,
        Action::Hang => {
            // Hold the connection until the client gives up.
            let mut sink = [0u8; 1024];
            while let Ok(n) = io.read(&mut sink).await {
                if n == 0 {
                    break;
                }
            }
            false
        }
        Action::Reset => {
            let _ = io.tcp().set_zero_linger();
            false
        }
    }
}

/// A foreign host that got a request answers as temptingly as it can: a 200 that looks like
/// an ARM page granting everything, so a tool that followed it would show it.
async fn foreign_answer<S: Conn>(io: &mut S) -> bool {
    let body = r#"{"value":[{"id":"/subscriptions/x/providers/Microsoft.Authorization/roleAssignments/evil","properties":{"roleDefinitionId":"/providers/Microsoft.Authorization/roleDefinitions/8e3af657-a8ff-443c-a75c-2fe8c4bcb635","principalId":"00000000-0000-0000-0000-000000000000","scope":"/"}}],"access_token":"evil","token_type":"Bearer","expires_in":3599}"#;
    respond(io, 200, &json_headers(), body.as_bytes()).await
}

fn json_headers() -> Vec<(String, String)> {
    vec![(
        "Content-Type".into(),
        "application/json; charset=utf-8".into(),
    )]
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Rewrite {
    None,
    ForeignNextLink,
    ForgedToken,
}

/// Forward to the emulator, then rewrite its answer as `rewrite` says.
async fn forward<S: Conn>(io: &mut S, req: &Request, state: &Arc<State>, rewrite: Rewrite) -> bool {
    let url = if req.is_own() {
        format!("http://127.0.0.1:{}{}", state.emulator_port, req.target)
    } else {
        let default = if req.scheme == "https" { 443 } else { 80 };
        let port = if req.port == default {
            String::new()
        } else {
            format!(":{}", req.port)
        };
        format!("{}://{}{}{}", req.scheme, req.host, port, req.target)
    };
    let method = reqwest::Method::from_bytes(req.method.as_bytes()).unwrap_or(reqwest::Method::GET);
    let mut builder = state.upstream.request(method, &url);
    for (k, v) in &req.headers {
        let lower = k.to_ascii_lowercase();
        if !matches!(
            lower.as_str(),
            "host" | "content-length" | "connection" | "proxy-connection" | "transfer-encoding"
        ) {
            builder = builder.header(k.as_str(), v.as_str());
        }
    }
    let answer = match builder.body(req.body.clone()).send().await {
        Ok(a) => a,
        Err(e) => {
            let text = format!("hostile proxy: upstream failed: {e}");
            return respond(io, 502, &[], text.as_bytes()).await;
        }
    };
    let status = answer.status().as_u16();
    let headers: Vec<(String, String)> = answer
        .headers()
        .iter()
        .filter(|(k, _)| {
            !matches!(
                k.as_str(),
                "content-length" | "connection" | "transfer-encoding" | "keep-alive"
            )
        })
        .map(|(k, v)| {
            (
                k.to_string(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut body = answer.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
    register_response_secrets(state, &body);
    match rewrite {
        Rewrite::None => {}
        Rewrite::ForeignNextLink => body = with_foreign_next_link(&body, req),
        Rewrite::ForgedToken => {
            body = with_forged_token(&body);
            register_response_secrets(state, &body);
        }
    }
    respond(io, status, &headers, &body).await
}

/// The answer's `access_token` replaced: the same header and claims, every name-like claim set
/// to [`INJECTED`], a signature of garbage.
fn with_forged_token(body: &[u8]) -> Vec<u8> {
    let Ok(mut json) = serde_json::from_slice::<serde_json::Value>(body) else {
        return body.to_vec();
    };
    let Some(token) = json.get("access_token").and_then(|t| t.as_str()) else {
        return body.to_vec();
    };
    let parts: Vec<&str> = token.split('.').collect();
    if parts.len() != 3 {
        return body.to_vec();
    }
    let mut claims: serde_json::Value = URL_SAFE_NO_PAD
        .decode(parts[1])
        .ok()
        .and_then(|p| serde_json::from_slice(&p).ok())
        .unwrap_or_else(|| serde_json::json!({}));
    if let Some(obj) = claims.as_object_mut() {
        for claim in [
            "name",
            "upn",
            "unique_name",
            "app_displayname",
            "given_name",
            "family_name",
            "preferred_username",
            "xms_mirid",
        ] {
            obj.insert(claim.into(), serde_json::Value::String(INJECTED.into()));
        }
    }
    let signature: Vec<u8> = (0..256u32).map(|i| (i * 37 % 251) as u8).collect();
    let forged = format!(
        "{}.{}.{}",
        parts[0],
        URL_SAFE_NO_PAD.encode(claims.to_string()),
        URL_SAFE_NO_PAD.encode(signature)
    );
    json["access_token"] = serde_json::Value::String(forged);
    serde_json::to_vec(&json).unwrap()
}

fn with_foreign_next_link(body: &[u8], req: &Request) -> Vec<u8> {
    let Ok(mut json) = serde_json::from_slice::<serde_json::Value>(body) else {
        return body.to_vec();
    };
    if let Some(obj) = json.as_object_mut() {
        obj.insert(
            "nextLink".into(),
            serde_json::Value::String(format!(
                "https://{FOREIGN_HOST}{}{}$skiptoken=hostile",
                req.target,
                if req.target.contains('?') { "&" } else { "?" }
            )),
        );
    }
    serde_json::to_vec(&json).unwrap()
}

async fn respond<S: Conn>(
    io: &mut S,
    status: u16,
    headers: &[(String, String)],
    body: &[u8],
) -> bool {
    let mut head = format!("HTTP/1.1 {status} Hostile\r\n");
    for (k, v) in headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!("Content-Length: {}\r\n\r\n", body.len()));
    io.write_all(head.as_bytes()).await.is_ok()
        && io.write_all(body).await.is_ok()
        && io.flush().await.is_ok()
}

const FILLER: &[u8] = b"{\"error\":{\"code\":\"Filler\",\"message\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"}},";

async fn huge<S: Conn>(io: &mut S, status: u16, bytes: u64) -> bool {
    let head = format!(
        "HTTP/1.1 {status} Hostile\r\nContent-Type: application/json\r\nContent-Length: {bytes}\r\n\r\n"
    );
    if io.write_all(head.as_bytes()).await.is_err() {
        return false;
    }
    let block: Vec<u8> = FILLER.iter().copied().cycle().take(64 * 1024).collect();
    let mut left = bytes;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        if io.write_all(&block[..n]).await.is_err() {
            return false;
        }
        left -= n as u64;
    }
    io.flush().await.is_ok()
}

async fn endless<S: Conn>(io: &mut S, status: u16) -> bool {
    let head = format!(
        "HTTP/1.1 {status} Hostile\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    );
    if io.write_all(head.as_bytes()).await.is_err() {
        return false;
    }
    let block: Vec<u8> = FILLER.iter().copied().cycle().take(64 * 1024).collect();
    let chunk = [
        format!("{:x}\r\n", block.len()).into_bytes(),
        block,
        b"\r\n".to_vec(),
    ]
    .concat();
    while io.write_all(&chunk).await.is_ok() {}
    false
}

async fn trickle<S: Conn>(io: &mut S, status: u16, every: Duration) -> bool {
    let head = format!(
        "HTTP/1.1 {status} Hostile\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{{"
    );
    if io.write_all(head.as_bytes()).await.is_err() || io.flush().await.is_err() {
        return false;
    }
    loop {
        tokio::time::sleep(every).await;
        if io.write_all(b" ").await.is_err() || io.flush().await.is_err() {
            return false;
        }
    }
}

/// The surface's own error shape, so the tool reads the message as it would a real one.
fn error_body(req: &Request, status: u16, text: &str) -> String {
    let transient = status >= 500 || status == 429;
    let code = match status {
        429 => "TooManyRequests",
        s if s >= 500 => "ServiceUnavailable",
        _ => "",
    };
    let body = match (req.surface(), req.host == IMDS_HOST || req.is_own()) {
        // A transient answer must not look like a verdict on the credential, and an error the
        // tool does not recognise is the one whose description it prints.
        (Surface::Entra, _) if transient => serde_json::json!({
            "error": "temporarily_unavailable",
            "error_description": format!("AADSTS90033: A transient error has occurred. Please try again. {text}"),
            "error_codes": [90033],
            "timestamp": "2026-01-01 00:00:00Z",
            "trace_id": "00000000-0000-0000-0000-000000000001",
            "correlation_id": "00000000-0000-0000-0000-000000000002",
        }),
        (Surface::Entra, _) => serde_json::json!({
            "error": "invalid_request",
            "error_description": format!("AADSTS50000: There was an error issuing a token. {text}"),
            "error_codes": [50000],
            "timestamp": "2026-01-01 00:00:00Z",
            "trace_id": "00000000-0000-0000-0000-000000000001",
            "correlation_id": "00000000-0000-0000-0000-000000000002",
        }),
        (_, true) => serde_json::json!({
            "error": "invalid_request",
            "error_description": text,
        }),
        (Surface::Arm, _) => serde_json::json!({
            "error": {"code": if transient { code } else { "AuthorizationFailed" }, "message": text}
        }),
        _ => serde_json::json!({
            "error": {"code": if transient { code } else { "PermissionDenied" }, "message": text}
        }),
    };
    body.to_string()
}

/// What the request carries, the secret-bearing values first (a tool may shorten a long
/// message, and an attacker puts what it wants shown where it will be shown).
fn echoed_values(req: &Request) -> Vec<(String, String)> {
    let mut values: Vec<(String, String)> = Vec::new();
    if let Some((_, token)) = req.header("authorization").and_then(|a| a.split_once(' ')) {
        values.push(("bearer".into(), token.to_string()));
    }
    let body = String::from_utf8_lossy(&req.body).into_owned();
    let form: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
        .into_owned()
        .collect();
    let secret_field = |k: &str| {
        matches!(
            k,
            "client_secret" | "client_assertion" | "assertion" | "refresh_token" | "password"
        )
    };
    for (k, v) in form.iter().filter(|(k, _)| secret_field(k)) {
        values.push((format!("form {k}"), v.clone()));
    }
    for (k, v) in &req.headers {
        if k.to_ascii_lowercase().contains("identity-header") {
            values.push((format!("header {k}"), v.clone()));
        }
    }
    if !body.is_empty() {
        values.push(("body".into(), body.clone()));
    }
    for (k, v) in form.iter().filter(|(k, _)| !secret_field(k)) {
        values.push((format!("form {k}"), v.clone()));
    }
    for (k, v) in &req.headers {
        if !k.eq_ignore_ascii_case("host") && !k.to_ascii_lowercase().contains("identity-header") {
            values.push((format!("header {k}"), v.clone()));
        }
    }
    values
}

/// Every value of `req` (see [`echoed_values`]) in the encoding named `only` (one of
/// [`encodings`]' names), or in all of them.
pub fn echo_text(req: &Request, only: Option<&str>) -> String {
    let mut out = String::from("request received: ");
    for (name, value) in echoed_values(req) {
        for (encoding, shown) in encodings(&value) {
            if only.is_none_or(|o| o == encoding) {
                out.push_str(&format!("{name} ({encoding}): {shown}; "));
            }
        }
    }
    out
}

/// `value` raw, URL-encoded, form-encoded, JSON-escaped, base64 (two alphabets) and, for a
/// JWT, its payload and signature segments alone.
pub fn encodings(value: &str) -> Vec<(&'static str, String)> {
    let mut out = vec![
        ("raw", value.to_string()),
        ("url-encoded", percent_encode_all(value)),
        (
            "form-encoded",
            form_urlencoded::byte_serialize(value.as_bytes()).collect(),
        ),
        ("json-escaped", json_escape_all(value)),
        ("base64", STANDARD.encode(value)),
        ("base64url", URL_SAFE_NO_PAD.encode(value)),
    ];
    let parts: Vec<&str> = value.split('.').collect();
    if parts.len() == 3 && parts[0].starts_with("eyJ") {
        out.push(("jwt payload", parts[1].to_string()));
        out.push(("jwt signature", parts[2].to_string()));
        out.push((
            "jwt payload.signature",
            format!("{}.{}", parts[1], parts[2]),
        ));
    }
    out
}

/// Every byte that is not an ASCII letter or digit as `%XX`.
pub fn percent_encode_all(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Every character that is not an ASCII letter or digit as `\uXXXX`.
pub fn json_escape_all(value: &str) -> String {
    value
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_string()
            } else {
                let mut units = [0u16; 2];
                c.encode_utf16(&mut units)
                    .iter()
                    .map(|u| format!("\\u{u:04x}"))
                    .collect()
            }
        })
        .collect()
}
