//! The one HTTP client of the tool: the credentials' transport, the ARM reads and the probes all
//! go through the client built here, so proxy, trust, timeout and redirect rules are the same
//! everywhere (design §7).

use crate::UsageError;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct HttpOptions {
    /// Extra root certificates (PEM), trusted in addition to the platform's roots: a corporate
    /// TLS-inspecting proxy, or the emulator's CA.
    pub ca_file: Option<PathBuf>,
    /// Deadline for each request, connect to last body byte.
    pub timeout: Duration,
}

impl Default for HttpOptions {
    fn default() -> Self {
        HttpOptions {
            ca_file: None,
            timeout: Duration::from_secs(30),
        }
    }
}

pub const USER_AGENT: &str = concat!("entraprobe/", env!("CARGO_PKG_VERSION"));

/// Build the client. Redirects are never followed: a probe that gets a 3xx reports it, and an
/// Authorization header must never travel to a host it was not meant for. Proxy variables
/// (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`) are honoured, as reqwest does by default.
pub fn build_client(options: &HttpOptions) -> Result<reqwest::Client, UsageError> {
    let mut builder = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(options.timeout)
        .connect_timeout(options.timeout)
        .user_agent(USER_AGENT);
    if let Some(path) = &options.ca_file {
        builder = builder.tls_certs_merge(read_ca_file(path)?);
    }
    builder.build().map_err(|e| {
        let file = options
            .ca_file
            .as_ref()
            .map(|p| format!(" (with --ca-file {})", p.display()))
            .unwrap_or_default();
        UsageError::new(format!("cannot set up the HTTP client{file}: {e}"))
    })
}

/// The most the tool reads of a token endpoint's answer (Entra ID, IMDS, App Service, the CI
/// systems' OIDC endpoints): real ones are a few KiB.
pub const TOKEN_BODY_LIMIT: usize = 1024 * 1024;

/// Why a body was not read whole.
#[derive(Debug)]
pub enum BodyError {
    /// It went on past the limit; reading stopped there.
    TooLarge { limit: usize },
    /// The connection failed (reset, timeout) before its end.
    Transport(reqwest::Error),
}

impl std::fmt::Display for BodyError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BodyError::TooLarge { limit } => write!(
                f,
                "the answer's body is larger than {} KiB; entraprobe stopped reading it",
                limit / 1024
            ),
            BodyError::Transport(e) => write!(f, "reading the answer's body failed: {e}"),
        }
    }
}

/// Read a response body, refusing it as soon as it passes `limit` bytes: a huge or endless body
/// (chunked, or with a lying Content-Length) costs at most `limit` bytes of memory. Time is
/// bounded by the client's own timeout, which covers the body.
pub async fn read_body_capped(
    mut rsp: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    if rsp.content_length().is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge { limit });
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = rsp.chunk().await.map_err(BodyError::Transport)? {
        if bytes.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge { limit });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// `-v/--verbose`: every HTTP exchange is listed on stderr. Set once in `main`, before any
/// request; a process-wide switch like a log level.
static VERBOSE: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

pub fn set_verbose(on: bool) {
    VERBOSE.store(on, std::sync::atomic::Ordering::Relaxed);
}

pub fn verbose() -> bool {
    VERBOSE.load(std::sync::atomic::Ordering::Relaxed)
}

/// Send a request built on the tool's client: `builder.send()`, listed on stderr under
/// `--verbose`. Every request of the tool goes through here or [`execute`].
pub async fn send(builder: reqwest::RequestBuilder) -> reqwest::Result<reqwest::Response> {
    let (client, request) = builder.build_split();
    execute(&client, request?).await
}

/// `client.execute(request)`, listed on stderr under `--verbose`: method, host, path, status,
/// time to the answer's headers and its request id; never a header or body, and of the query
/// only `api-version`'s value.
pub async fn execute(
    client: &reqwest::Client,
    request: reqwest::Request,
) -> reqwest::Result<reqwest::Response> {
    if !verbose() {
        return client.execute(request).await;
    }
    let method = request.method().to_string();
    let url = request.url().clone();
    let started = std::time::Instant::now();
    let result = client.execute(request).await;
    let outcome = match &result {
        Ok(rsp) => Ok((rsp.status().as_u16(), response_request_id(rsp.headers()))),
        Err(e) => Err(failure_kind(e)),
    };
    eprintln!(
        "{}",
        exchange_line(&method, &url, outcome, started.elapsed())
    );
    result
}

/// One `--verbose` line, scrubbed (registered secrets, tokens, controls): what an exchange was,
/// never what it carried.
pub fn exchange_line(
    method: &str,
    url: &url::Url,
    outcome: Result<(u16, Option<String>), &'static str>,
    elapsed: Duration,
) -> String {
    let query: Vec<String> = url
        .query_pairs()
        .map(|(k, v)| {
            if k.eq_ignore_ascii_case("api-version") {
                format!("{k}={v}")
            } else {
                format!("{k}=…")
            }
        })
        .collect();
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{}", query.join("&"))
    };
    let port = url.port().map(|p| format!(":{p}")).unwrap_or_default();
    let answer = match outcome {
        Ok((status, request_id)) => {
            let id = request_id
                .map(|id| format!(" request-id {id}"))
                .unwrap_or_default();
            format!("{status}{id}")
        }
        Err(kind) => format!("no answer ({kind})"),
    };
    crate::redact::scrub(&format!(
        "http: {method} {}{port}{}{query} → {answer} in {} ms",
        url.host_str().unwrap_or("?"),
        url.path(),
        elapsed.as_millis()
    ))
}

/// The request id an Azure answer carries (services, ARM, Entra ID, IMDS use different headers).
fn response_request_id(headers: &reqwest::header::HeaderMap) -> Option<String> {
    [
        "apim-request-id",
        "x-ms-request-id",
        "request-id",
        "x-request-id",
    ]
    .iter()
    .find_map(|name| headers.get(*name)?.to_str().ok())
    .map(|v| v.trim().chars().take(100).collect::<String>())
    .filter(|v| !v.is_empty())
}

fn failure_kind(e: &reqwest::Error) -> &'static str {
    if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else {
        "transport error"
    }
}

fn read_ca_file(path: &std::path::Path) -> Result<Vec<reqwest::Certificate>, UsageError> {
    let shown = path.display();
    let bytes = crate::input::read_file(path, "--ca-file", crate::input::CA_FILE_LIMIT)
        .map_err(UsageError::new)?;
    // reqwest parses PEM lazily and would only fail at build time with a vaguer message, so the
    // file is checked here first.
    let mut reader = std::io::BufReader::new(bytes.as_slice());
    let mut ders = Vec::new();
    for item in rustls_pemfile::certs(&mut reader) {
        let der = item.map_err(|e| {
            UsageError::new(format!("--ca-file {shown} is not a valid PEM file: {e}"))
        })?;
        ders.push(der);
    }
    if ders.is_empty() {
        return Err(UsageError::new(format!(
            "--ca-file {shown} holds no PEM certificate (expected -----BEGIN CERTIFICATE-----)"
        )));
    }
    ders.iter()
        .map(|der| {
            reqwest::Certificate::from_der(der.as_ref()).map_err(|e| {
                UsageError::new(format!("--ca-file {shown}: unusable certificate: {e}"))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn options(ca_file: Option<PathBuf>) -> HttpOptions {
        HttpOptions {
            ca_file,
            timeout: Duration::from_secs(5),
        }
    }

    #[test]
    fn an_exchange_line_keeps_api_version_and_drops_other_query_values() {
        let url = url::Url::parse(
            "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://x&client_id=secret-ish",
        )
        .unwrap();
        let line = exchange_line(
            "GET",
            &url,
            Ok((200, Some("abc-123".into()))),
            Duration::from_millis(12),
        );
        assert_eq!(
            line,
            "http: GET 169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01&resource=…&client_id=… → 200 request-id abc-123 in 12 ms"
        );
        let url = url::Url::parse("https://h.example/p\x1b[2J").unwrap();
        let line = exchange_line("POST", &url, Err("timed out"), Duration::ZERO);
        assert!(line.ends_with("no answer (timed out) in 0 ms") && !line.contains('\x1b'));
    }

    #[test]
    fn builds_without_a_ca_file() {
        build_client(&options(None)).expect("client");
    }

    #[test]
    fn missing_ca_file_is_a_usage_error_naming_the_file() {
        let err = build_client(&options(Some("/nonexistent/emulator-ca.pem".into()))).unwrap_err();
        assert!(err.0.contains("/nonexistent/emulator-ca.pem"), "{err}");
    }

    #[test]
    fn ca_file_without_certificates_is_a_usage_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("not-a-ca.pem");
        std::fs::write(&path, "hello, I am not a certificate\n").unwrap();
        let err = build_client(&options(Some(path.clone()))).unwrap_err();
        assert!(err.0.contains(&path.display().to_string()), "{err}");
        assert!(err.0.contains("no PEM certificate"), "{err}");
    }

    #[test]
    fn a_generated_ca_is_accepted() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        let cert = params.self_signed(&key).unwrap();
        std::fs::write(&path, cert.pem()).unwrap();
        build_client(&options(Some(path))).expect("client with extra root");
    }
}
