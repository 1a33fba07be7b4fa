//! Issue 9, items 2, 3, 6 and 7: everything the tool reads from outside is bounded in size and
//! time, and a transient or foreign answer is named for what it is.
//!
//! The emulator does not model hostile answers (huge or endless bodies, a firewall's HTML page at
//! 169.254.169.254, a throttling Entra ID), so this file has its own small server on 127.0.0.1
//! speaking raw HTTP (and TLS, with a throwaway CA, where the tool insists on https). The real
//! `entraprobe` binary runs against it with only the variables each case sets; nothing leaves
//! loopback. Memory is the binary's peak RSS (VmHWM), sampled while it runs.
//! Linux only: FIFOs, /dev/zero, /proc and process groups are what is tested.

#![cfg(target_os = "linux")]

use entraprobe::emulator::pki::Authority;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;

/// The most the binary may hold at its peak, whatever the other side sends.
const PEAK_RSS_LIMIT_KB: u64 = 200 * 1024;
/// A case that takes longer than this hung: the tool's own deadlines are a few seconds here.
const HANG: Duration = Duration::from_secs(60);

// ------------------------------------------------------------------ the hostile server

/// What the server answers to one request.
#[derive(Clone)]
enum Reply {
    Fixed {
        status: &'static str,
        headers: Vec<(&'static str, String)>,
        body: String,
    },
    /// `Content-Length: 2 GB`, then zeros for as long as the client reads.
    Huge,
    /// Chunked, never ending.
    Endless,
}

fn json(status: &'static str, body: &str) -> Reply {
    Reply::Fixed {
        status,
        headers: vec![("content-type", "application/json".into())],
        body: body.to_string(),
    }
}

type Behaviour = Arc<dyn Fn(&str, usize) -> Reply + Send + Sync>;

struct Hostile {
    port: u16,
    hits: Arc<AtomicUsize>,
}

impl Hostile {
    /// Plain HTTP: an App Service identity endpoint, or a forward proxy (IMDS requests arrive
    /// in absolute form, `GET http://169.254.169.254/…`, and are answered here, never forwarded).
    async fn http(behaviour: impl Fn(&str, usize) -> Reply + Send + Sync + 'static) -> Hostile {
        Hostile::start(Arc::new(behaviour), None).await
    }

    /// HTTPS for `localhost` with a leaf from `ca`: an Entra ID authority host.
    async fn https(
        ca: &Authority,
        behaviour: impl Fn(&str, usize) -> Reply + Send + Sync + 'static,
    ) -> Hostile {
        let leaf = ca.leaf("localhost").unwrap();
        let config = rustls::ServerConfig::builder_with_provider(ca.provider().clone())
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_cert_resolver(Arc::new(Fixed(leaf)));
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        Hostile::start(Arc::new(behaviour), Some(acceptor)).await
    }

    async fn start(behaviour: Behaviour, tls: Option<tokio_rustls::TlsAcceptor>) -> Hostile {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let behaviour = behaviour.clone();
                let counter = counter.clone();
                let tls = tls.clone();
                tokio::spawn(async move {
                    match tls {
                        Some(acceptor) => {
                            if let Ok(stream) = acceptor.accept(stream).await {
                                serve(stream, behaviour, counter).await;
                            }
                        }
                        None => serve(stream, behaviour, counter).await,
                    }
                });
            }
        });
        Hostile { port, hits }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

#[derive(Debug)]
struct Fixed(Arc<rustls::sign::CertifiedKey>);

impl rustls::server::ResolvesServerCert for Fixed {
    fn resolve(
        &self,
        _: rustls::server::ClientHello<'_>,
    ) -> Option<Arc<rustls::sign::CertifiedKey>> {
        Some(self.0.clone())
    }
}

/// One request per connection: read its head (and body), answer, close.
async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    behaviour: Behaviour,
    hits: Arc<AtomicUsize>,
) {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 64 * 1024 || stream.read(&mut byte).await.unwrap_or(0) == 0 {
            return;
        }
        head.push(byte[0]);
    }
    let head = String::from_utf8_lossy(&head).to_string();
    let length = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-length")
                .then(|| v.trim().parse::<usize>().ok())?
        })
        .unwrap_or(0);
    let mut body = vec![0u8; length.min(1 << 20)];
    let _ = stream.read_exact(&mut body).await;
    let hit = hits.fetch_add(1, Ordering::SeqCst);
    match behaviour(&head, hit) {
        Reply::Fixed {
            status,
            headers,
            body,
        } => {
            let mut out = format!(
                "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
            out.push_str("\r\n");
            out.push_str(&body);
            let _ = stream.write_all(out.as_bytes()).await;
        }
        Reply::Huge => {
            let header = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2147483648\r\nconnection: close\r\n\r\n{\"access_token\":\"";
            if stream.write_all(header.as_bytes()).await.is_err() {
                return;
            }
            let chunk = vec![b'A'; 64 * 1024];
            while stream.write_all(&chunk).await.is_ok() {}
        }
        Reply::Endless => {
            let header = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n";
            if stream.write_all(header.as_bytes()).await.is_err() {
                return;
            }
            let mut chunk = format!("{:x}\r\n", 64 * 1024).into_bytes();
            chunk.extend(std::iter::repeat_n(b'A', 64 * 1024));
            chunk.extend_from_slice(b"\r\n");
            while stream.write_all(&chunk).await.is_ok() {}
        }
    }
    let _ = stream.shutdown().await;
}

// ------------------------------------------------------------------ running the binary

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    /// The binary's peak resident memory, in KiB (the largest VmHWM sampled while it ran).
    peak_kb: u64,
}

/// `entraprobe ARGS` with only `env`, `stdin` fed in, its peak memory sampled; panics past
/// [`HANG`].
async fn entraprobe(args: &[&str], env: &[(&str, &str)], stdin: Option<Vec<u8>>) -> Run {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_entraprobe"))
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .envs(env.iter().copied())
        .stdin(if stdin.is_some() {
            std::process::Stdio::piped()
        } else {
            std::process::Stdio::null()
        })
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("run entraprobe");
    let pid = child.id().unwrap();
    if let Some(bytes) = stdin {
        let mut pipe = child.stdin.take().unwrap();
        tokio::spawn(async move {
            let _ = pipe.write_all(&bytes).await;
        });
    }
    let sampler = tokio::spawn(async move {
        let mut peak = 0;
        loop {
            match vm_hwm_kb(pid) {
                Some(kb) => peak = peak.max(kb),
                None => return peak,
            }
            // Past the limit the case has failed: stop the binary before it takes the machine.
            #[cfg(unix)]
            if peak > PEAK_RSS_LIMIT_KB {
                // SAFETY: kill(2) on our own child's pid; no memory is touched.
                unsafe {
                    libc::kill(pid as i32, libc::SIGKILL);
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let output = tokio::time::timeout(HANG, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("entraprobe {args:?} hung past {HANG:?}"))
        .unwrap();
    Run {
        code: output.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        peak_kb: sampler.await.unwrap(),
    }
}

fn vm_hwm_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// An unsigned JWT with the claims a Cognitive Services token carries.
fn fake_token() -> String {
    use base64::Engine;
    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let claims = serde_json::json!({
        "aud": "https://cognitiveservices.azure.com",
        "iss": "https://sts.windows.net/0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11/",
        "tid": "0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11",
        "oid": "aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb",
        "appid": "00001111-aaaa-2222-bbbb-3333cccc4444",
        "idtyp": "app",
        "ver": "1.0",
        "iat": now, "nbf": now, "exp": now + 3600,
    });
    format!(
        "{}.{}.c2lnbmF0dXJl",
        b64(serde_json::json!({"alg": "RS256", "typ": "JWT"})),
        b64(claims)
    )
}

/// The largest peak RSS (KiB) of any child this test binary has waited for: an upper bound on
/// each run's peak, exact even for a run too short to be sampled while it lived.
fn children_peak_kb() -> u64 {
    // SAFETY: getrusage writes into the zeroed struct we own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let ok = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    assert_eq!(ok, 0, "getrusage");
    u64::try_from(usage.ru_maxrss).unwrap_or(u64::MAX)
}

fn assert_bounded(run: &Run, what: &str) {
    let bound = children_peak_kb().max(run.peak_kb);
    assert!(
        bound < PEAK_RSS_LIMIT_KB,
        "{what}: peak RSS up to {bound} KiB (limit {PEAK_RSS_LIMIT_KB} KiB)\nstderr: {}",
        run.stderr
    );
    eprintln!(
        "{what}: peak RSS sampled {} KiB, at most {bound} KiB",
        run.peak_kb
    );
}

// ------------------------------------------------------------------ item 2: bodies

/// The App Service identity endpoint is plain http on loopback: a huge body and an endless
/// chunked one are cut at 1 MiB, within the deadline, in bounded memory.
#[tokio::test(flavor = "multi_thread")]
async fn huge_and_endless_token_bodies_are_cut_at_one_mebibyte() {
    for (name, reply) in [("huge", Reply::Huge), ("endless", Reply::Endless)] {
        let server = Hostile::http(move |_, _| reply.clone()).await;
        let endpoint = format!("http://127.0.0.1:{}/msi/token", server.port);
        let run = entraprobe(
            &[
                "token",
                "--credential",
                "managed-identity",
                "--timeout",
                "20s",
            ],
            &[
                ("IDENTITY_ENDPOINT", &endpoint),
                ("IDENTITY_HEADER", "app-service-header"),
            ],
            None,
        )
        .await;
        assert_eq!(run.code, 1, "{name}: {}", run.stderr);
        assert!(
            run.stderr.contains("[token-request-failed]")
                && run.stderr.contains("larger than 1024 KiB"),
            "{name}: {}",
            run.stderr
        );
        assert_bounded(&run, &format!("{name} App Service body"));
    }
}

/// The OIDC endpoints of the CI systems are read to 1 MiB as well.
#[tokio::test(flavor = "multi_thread")]
async fn an_endless_oidc_answer_is_cut() {
    let ca = Authority::generate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.ca_pem()).unwrap();
    let server = Hostile::https(&ca, |_, _| Reply::Endless).await;
    let url = format!("https://localhost:{}/oidc", server.port);
    let run = entraprobe(
        &[
            "token",
            "--credential",
            "github-actions",
            "--timeout",
            "20s",
            "--ca-file",
            ca_file.to_str().unwrap(),
        ],
        &[
            ("ACTIONS_ID_TOKEN_REQUEST_URL", &url),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "gh-request-token"),
            ("AZURE_TENANT_ID", "0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11"),
            ("AZURE_CLIENT_ID", "00001111-aaaa-2222-bbbb-3333cccc4444"),
        ],
        None,
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("larger than 1024 KiB"),
        "{}",
        run.stderr
    );
    assert_bounded(&run, "endless GitHub OIDC body");
}

// ------------------------------------------------------------------ item 2: CLIs

#[cfg(unix)]
fn fake_cli(dir: &std::path::Path, name: &str, script: &str) {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{script}")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Alive and not a zombie waiting for its reaper.
#[cfg(unix)]
fn running(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map(|s| {
            !s.lines()
                .any(|l| l.starts_with("State:") && l.contains('Z'))
        })
        .unwrap_or(false)
}

/// A hanging `az` that left a process in the background: both are gone when the tool is.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn a_hanging_cli_is_killed_with_its_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let pids = dir.path().join("pids");
    fake_cli(
        dir.path(),
        "az",
        &format!(
            "sleep 300 &\necho $! > {p}\necho $$ >> {p}\nsleep 300\n",
            p = pids.display()
        ),
    );
    let path = format!("{}:/usr/bin:/bin", dir.path().display());
    let run = entraprobe(
        &["token", "--credential", "azure-cli", "--timeout", "2s"],
        &[("PATH", &path)],
        None,
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("[timeout]"), "{}", run.stderr);
    let pids: Vec<u32> = std::fs::read_to_string(&pids)
        .unwrap()
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    assert_eq!(pids.len(), 2, "the fake az wrote its pids");
    // SIGKILL is delivered at once; give the kernel a moment to tear the processes down.
    let mut survivors = pids.clone();
    for _ in 0..50 {
        survivors.retain(|p| running(*p));
        if survivors.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        survivors.is_empty(),
        "processes of the fake az outlived entraprobe: {survivors:?}"
    );
}

/// An `az` that never stops writing is stopped at 1 MiB, not read until memory runs out.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn endless_cli_output_is_cut() {
    let dir = tempfile::tempdir().unwrap();
    fake_cli(dir.path(), "azd", "exec yes entraprobe\n");
    let path = format!("{}:/usr/bin:/bin", dir.path().display());
    let run = entraprobe(
        &[
            "token",
            "--credential",
            "azure-developer-cli",
            "--timeout",
            "20s",
        ],
        &[("PATH", &path)],
        None,
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("more than 1024 KiB to stdout"),
        "{}",
        run.stderr
    );
    assert_bounded(&run, "endless azd output");
}

// ------------------------------------------------------------------ item 3: files

#[cfg(unix)]
fn fifo(dir: &std::path::Path, name: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    let made = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    assert!(made.success());
    path
}

/// Credential files that are FIFOs or devices are a finding on their row, not a hang.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn credential_files_that_never_end_are_findings_not_hangs() {
    let dir = tempfile::tempdir().unwrap();
    let pipe = fifo(dir.path(), "token");
    let ids = [
        ("AZURE_TENANT_ID", "0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11"),
        ("AZURE_CLIENT_ID", "00001111-aaaa-2222-bbbb-3333cccc4444"),
    ];
    for (source, var, file, expect) in [
        (
            "workload-identity",
            "AZURE_FEDERATED_TOKEN_FILE",
            pipe.to_str().unwrap(),
            "FIFO",
        ),
        (
            "workload-identity",
            "AZURE_FEDERATED_TOKEN_FILE",
            "/dev/zero",
            "character device",
        ),
        (
            "environment",
            "AZURE_CLIENT_CERTIFICATE_PATH",
            pipe.to_str().unwrap(),
            "FIFO",
        ),
        (
            "environment",
            "AZURE_CLIENT_CERTIFICATE_PATH",
            "/dev/zero",
            "character device",
        ),
    ] {
        let mut env = ids.to_vec();
        env.push((var, file));
        let run = entraprobe(
            &["token", "--credential", source, "--timeout", "5s"],
            &env,
            None,
        )
        .await;
        assert_eq!(run.code, 1, "{source} {file}: {}", run.stderr);
        assert!(
            run.stderr.contains("[token-request-failed]")
                && run.stderr.contains(var)
                && run.stderr.contains(file)
                && run.stderr.contains(expect),
            "{source} {file}: {}",
            run.stderr
        );
    }
}

/// A big regular credential file is refused by size.
#[tokio::test(flavor = "multi_thread")]
async fn an_oversized_token_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, vec![b'e'; 200 * 1024]).unwrap();
    let run = entraprobe(
        &[
            "token",
            "--credential",
            "workload-identity",
            "--timeout",
            "5s",
        ],
        &[
            ("AZURE_TENANT_ID", "0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11"),
            ("AZURE_CLIENT_ID", "00001111-aaaa-2222-bbbb-3333cccc4444"),
            ("AZURE_FEDERATED_TOKEN_FILE", file.to_str().unwrap()),
        ],
        None,
    )
    .await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("larger than 64 KiB") && run.stderr.contains("token"),
        "{}",
        run.stderr
    );
}

/// User input that is a FIFO, a device or endless: exit 2, the file named.
#[cfg(unix)]
#[tokio::test(flavor = "multi_thread")]
async fn user_files_and_stdin_that_never_end_are_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let pipe = fifo(dir.path(), "input");
    let pipe = pipe.to_str().unwrap();
    let service = "oai=openai@https://contoso.openai.azure.com";
    for args in [
        vec!["run", "--config", "/dev/zero", "--service", service],
        vec!["run", "--config", pipe, "--service", service],
        vec!["run", "--ca-file", "/dev/zero", "--service", service],
        vec!["run", "--ca-file", pipe, "--service", service],
        vec!["demo", "--scenario", "/dev/zero"],
        vec!["demo", "--scenario", pipe],
        vec!["run", "--config", "/tmp", "--service", service],
    ] {
        let run = entraprobe(&args, &[], None).await;
        let file = args[2];
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(run.stderr.contains(file), "{args:?}: {}", run.stderr);
    }
    let run = entraprobe(&["decode", "-"], &[], Some(vec![b'e'; 4 << 20])).await;
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("stdin") && run.stderr.contains("larger than 64 KiB"),
        "{}",
        run.stderr
    );
    assert_bounded(&run, "4 MiB on decode stdin");
}

// ------------------------------------------------------------------ items 6 and 7: answers

fn entra_env(port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("AZURE_AUTHORITY_HOST", format!("https://localhost:{port}")),
        (
            "AZURE_TENANT_ID",
            "0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11".into(),
        ),
        (
            "AZURE_CLIENT_ID",
            "00001111-aaaa-2222-bbbb-3333cccc4444".into(),
        ),
        ("AZURE_CLIENT_SECRET", "Zq48Q~Hk-not-a-real-secret".into()),
    ]
}

async fn token_from_entra(ca_file: &std::path::Path, port: u16) -> Run {
    let env = entra_env(port);
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    entraprobe(
        &[
            "token",
            "--credential",
            "environment",
            "--timeout",
            "15s",
            "--ca-file",
            ca_file.to_str().unwrap(),
        ],
        &env,
        None,
    )
    .await
}

/// Entra ID throttles once with `Retry-After: 1`: the tool waits and gets its token. When it
/// keeps throttling, the row names the throttling, with the status in the message.
#[tokio::test(flavor = "multi_thread")]
async fn entra_throttling_is_retried_then_named() {
    let ca = Authority::generate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.ca_pem()).unwrap();
    let throttled = Reply::Fixed {
        status: "429 Too Many Requests",
        headers: vec![("retry-after", "1".into())],
        body: String::new(),
    };

    let token = fake_token();
    let once = throttled.clone();
    let server = Hostile::https(&ca, move |_, hit| match hit {
        0 => once.clone(),
        _ => json(
            "200 OK",
            &serde_json::json!({"token_type": "Bearer", "expires_in": 3599, "ext_expires_in": 3599, "access_token": token})
                .to_string(),
        ),
    })
    .await;
    let run = token_from_entra(&ca_file, server.port).await;
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    assert_eq!(server.hits(), 2, "one 429, then the token");

    let always = Hostile::https(&ca, move |_, _| throttled.clone()).await;
    let run = token_from_entra(&ca_file, always.port).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("[token-endpoint-unavailable]")
            && run.stderr.contains("answered HTTP 429"),
        "{}",
        run.stderr
    );
    assert!(
        (2..=3).contains(&always.hits()),
        "retried within bounds: {}",
        always.hits()
    );

    let failing = Hostile::https(&ca, |_, _| json("503 Service Unavailable", "{}")).await;
    let run = token_from_entra(&ca_file, failing.port).await;
    assert!(
        run.stderr.contains("[token-endpoint-unavailable]")
            && run.stderr.contains("answered HTTP 503"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("Zq48Q"),
        "no secret in output: {}",
        run.stderr
    );
}

/// IMDS at 169.254.169.254, reached through a forward proxy on loopback that answers itself.
async fn managed_identity_through(proxy: &Hostile, timeout: &str) -> Run {
    let url = format!("http://127.0.0.1:{}", proxy.port);
    entraprobe(
        &[
            "token",
            "--credential",
            "managed-identity",
            "--timeout",
            timeout,
        ],
        &[("HTTP_PROXY", &url), ("http_proxy", &url)],
        None,
    )
    .await
}

fn is_probe(head: &str) -> bool {
    !head.to_ascii_lowercase().contains("metadata: true")
}

/// A firewall's HTML 403 page at 169.254.169.254 is not IMDS: managed identity is skipped as not
/// configured, not failed.
#[tokio::test(flavor = "multi_thread")]
async fn a_firewall_page_at_the_imds_address_is_not_imds() {
    let firewall = Hostile::http(|_, _| Reply::Fixed {
        status: "403 Forbidden",
        headers: vec![("content-type", "text/html".into())],
        body: "<html><body><h1>Access denied by corporate firewall</h1></body></html>".into(),
    })
    .await;
    let run = managed_identity_through(&firewall, "10s").await;
    assert_eq!(run.code, 3, "not configured here: {}", run.stderr);
    assert!(
        run.stderr.contains("[imds-unreachable]") && run.stderr.contains("HTTP 403"),
        "{}",
        run.stderr
    );
    assert_eq!(firewall.hits(), 1, "only the probe");
}

/// IMDS itself answering 500 to the token request is reported as a 500 of IMDS, not a timeout.
#[tokio::test(flavor = "multi_thread")]
async fn an_imds_500_is_named_not_a_timeout() {
    let imds = Hostile::http(|head, _| {
        if is_probe(head) {
            json(
                "400 Bad Request",
                r#"{"error":"bad_request_102","error_description":"Required metadata header not specified"}"#,
            )
        } else {
            json("500 Internal Server Error", r#"{"error":"server_error"}"#)
        }
    })
    .await;
    let run = managed_identity_through(&imds, "6s").await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("[token-endpoint-unavailable]")
            && run.stderr.contains("169.254.169.254 answered HTTP 500"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("[timeout]"), "{}", run.stderr);
}

/// In a run, a source whose token endpoint keeps throttling makes its cells inconclusive (exit
/// 3), never failed: a gate retries it instead of reading it as a denial. Everything but the
/// loopback Entra ID goes to a proxy address that refuses, so nothing leaves the machine.
#[tokio::test(flavor = "multi_thread")]
async fn a_throttled_token_endpoint_makes_the_run_inconclusive() {
    let ca = Authority::generate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.ca_pem()).unwrap();
    let entra = Hostile::https(&ca, |_, _| Reply::Fixed {
        status: "429 Too Many Requests",
        headers: vec![("retry-after", "30".into())],
        body: r#"{"error":"temporarily_unavailable"}"#.into(),
    })
    .await;
    let mut env = entra_env(entra.port);
    env.push(("HTTPS_PROXY", "http://127.0.0.1:9".into()));
    env.push(("NO_PROXY", "localhost".into()));
    let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let run = entraprobe(
        &[
            "run",
            "--credential",
            "environment",
            "--service",
            "oai=openai@https://contoso.openai.azure.com",
            "--output",
            "json",
            "--timeout",
            "10s",
            "--ca-file",
            ca_file.to_str().unwrap(),
        ],
        &env,
        None,
    )
    .await;
    assert_eq!(run.code, 3, "{}\n{}", run.stdout, run.stderr);
    let report: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let cell = &report["cells"][0];
    assert_eq!(cell["verdict"], "inconclusive", "{cell:#}");
    assert_eq!(cell["findings"][0]["code"], "token-endpoint-unavailable");
    let message = cell["findings"][0]["message"].as_str().unwrap();
    assert!(
        message.contains("HTTP 429") && message.contains("retry after 30 s"),
        "{message}"
    );
    assert_eq!(
        entra.hits(),
        2,
        "one request per scope (the service, ARM): a Retry-After past 5 s is not waited out"
    );
}

/// Entra ID (https) and IMDS (through a loopback proxy) go through the same transport: an
/// endless answer from either is cut at 1 MiB too.
#[tokio::test(flavor = "multi_thread")]
async fn endless_answers_from_entra_and_imds_are_cut() {
    let ca = Authority::generate().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = dir.path().join("ca.pem");
    std::fs::write(&ca_file, ca.ca_pem()).unwrap();
    let entra = Hostile::https(&ca, |_, _| Reply::Endless).await;
    let run = token_from_entra(&ca_file, entra.port).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("localhost sent a token answer larger than 1024 KiB"),
        "{}",
        run.stderr
    );
    assert_bounded(&run, "endless Entra ID body");

    let imds = Hostile::http(|head, _| {
        if is_probe(head) {
            json(
                "400 Bad Request",
                r#"{"error":"bad_request_102","error_description":"Required metadata header not specified"}"#,
            )
        } else {
            Reply::Huge
        }
    })
    .await;
    let run = managed_identity_through(&imds, "10s").await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains("169.254.169.254 sent a token answer larger than 1024 KiB"),
        "{}",
        run.stderr
    );
    assert_bounded(&run, "2 GB IMDS body");
}
