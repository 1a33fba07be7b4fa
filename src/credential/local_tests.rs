//! Source tests that need no TLS: fake `az`/`azd` scripts on the snapshot's PATH, and a tiny
//! loopback HTTP stand-in used as the client's proxy for IMDS and as the CI OIDC endpoints.
//! (Token exchanges at Entra ID need the emulator's TLS and are tested in tests/credentials.rs.)

use super::*;
use crate::cloud::Cloud;
use base64::Engine;
use std::sync::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const SCOPE: &str = "https://cognitiveservices.azure.com/.default";

fn test_jwt(claims: serde_json::Value) -> String {
    let e = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    format!(
        "{}.{}.c2lnbmF0dXJl",
        e(serde_json::json!({"alg":"RS256","typ":"JWT"})),
        e(claims)
    )
}

fn ctx_with(
    env: BTreeMap<String, String>,
    http: reqwest::Client,
    timeout: Duration,
) -> CredentialContext {
    CredentialContext {
        http,
        cloud: Cloud::Public.profile(),
        timeout,
        env,
        user_assigned: None,
        imds_probe: Default::default(),
    }
}

fn plain_client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

fn proxied_client(port: u16) -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .proxy(reqwest::Proxy::http(format!("http://127.0.0.1:{port}")).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn codes(a: &Acquisition) -> Vec<Code> {
    a.findings().iter().map(|f| f.code).collect()
}

// ---- fake CLIs -------------------------------------------------------------------------------

#[cfg(unix)]
fn fake_tool(dir: &std::path::Path, name: &str, script: &str) {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

#[cfg(unix)]
fn path_env(dir: &std::path::Path) -> BTreeMap<String, String> {
    [(
        "PATH".to_string(),
        format!("{}:/usr/bin:/bin", dir.display()),
    )]
    .into()
}

#[cfg(unix)]
#[tokio::test]
async fn azure_cli_token_is_acquired_with_the_requested_scope() {
    let dir = tempfile::tempdir().unwrap();
    let jwt = test_jwt(
        serde_json::json!({"aud":"https://cognitiveservices.azure.com","upn":"alice@contoso.com"}),
    );
    let args_file = dir.path().join("args");
    fake_tool(
        dir.path(),
        "az",
        &format!(
            "echo \"$@\" > '{}'\necho '{{\"accessToken\":\"{jwt}\",\"expiresOn\":\"2030-01-01 00:00:00.000000\",\"expires_on\":1893456000,\"tenant\":\"t\",\"tokenType\":\"Bearer\"}}'",
            args_file.display()
        ),
    );
    let ctx = ctx_with(
        path_env(dir.path()),
        plain_client(),
        Duration::from_secs(20),
    );
    match acquire(SourceId::AzureCli, SCOPE, &ctx).await {
        Acquisition::Acquired { token, expires_on } => {
            assert_eq!(token.secret(), jwt);
            assert_eq!(expires_on.unix_timestamp(), 1893456000);
        }
        other => panic!("{other:?}"),
    }
    let args = std::fs::read_to_string(args_file).unwrap();
    assert!(args.contains(&format!("--scope {SCOPE}")), "{args}");
}

#[cfg(unix)]
#[tokio::test]
async fn azure_cli_not_logged_in_and_not_installed_are_skips() {
    let dir = tempfile::tempdir().unwrap();
    fake_tool(
        dir.path(),
        "az",
        "echo \"ERROR: Please run 'az login' to setup account.\" >&2\nexit 1",
    );
    let ctx = ctx_with(
        path_env(dir.path()),
        plain_client(),
        Duration::from_secs(20),
    );
    let a = acquire(SourceId::AzureCli, SCOPE, &ctx).await;
    assert!(matches!(a, Acquisition::Skipped { .. }), "{a:?}");
    assert_eq!(codes(&a), vec![Code::CliNotLoggedIn]);
    assert!(a.findings()[0].remedy.contains("az login"));

    let empty = tempfile::tempdir().unwrap();
    let ctx = ctx_with(
        path_env(empty.path()),
        plain_client(),
        Duration::from_secs(20),
    );
    let a = acquire(SourceId::AzureCli, SCOPE, &ctx).await;
    assert!(matches!(a, Acquisition::Skipped { .. }), "{a:?}");
    assert_eq!(codes(&a), vec![Code::CliNotInstalled]);
    let a = acquire(SourceId::AzureDeveloperCli, SCOPE, &ctx).await;
    assert_eq!(codes(&a), vec![Code::CliNotInstalled]);
}

#[cfg(unix)]
#[tokio::test]
async fn a_hanging_cli_is_cut_off_at_the_deadline() {
    let dir = tempfile::tempdir().unwrap();
    fake_tool(dir.path(), "az", "sleep 30");
    let ctx = ctx_with(
        path_env(dir.path()),
        plain_client(),
        Duration::from_millis(500),
    );
    let started = std::time::Instant::now();
    let a = acquire(SourceId::AzureCli, SCOPE, &ctx).await;
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(matches!(a, Acquisition::Failed { .. }));
    assert_eq!(codes(&a), vec![Code::Timeout]);
}

#[cfg(unix)]
#[tokio::test]
async fn azd_token_and_azd_not_logged_in() {
    let dir = tempfile::tempdir().unwrap();
    let jwt = test_jwt(serde_json::json!({"aud":"https://cognitiveservices.azure.com"}));
    fake_tool(
        dir.path(),
        "azd",
        &format!("echo '{{\"token\":\"{jwt}\",\"expiresOn\":\"2030-01-01T00:00:00Z\"}}'"),
    );
    let ctx = ctx_with(
        path_env(dir.path()),
        plain_client(),
        Duration::from_secs(20),
    );
    match acquire(SourceId::AzureDeveloperCli, SCOPE, &ctx).await {
        Acquisition::Acquired { token, .. } => assert_eq!(token.secret(), jwt),
        other => panic!("{other:?}"),
    }

    fake_tool(
        dir.path(),
        "azd",
        r#"echo '{"type":"consoleMessage","timestamp":"2024-06-15T09:22:51Z","data":{"message":"\nERROR: not logged in, run `azd auth login` to login\n"}}' >&2
exit 1"#,
    );
    let a = acquire(SourceId::AzureDeveloperCli, SCOPE, &ctx).await;
    assert!(matches!(a, Acquisition::Skipped { .. }), "{a:?}");
    assert_eq!(codes(&a), vec![Code::CliNotLoggedIn]);
    assert!(a.findings()[0].remedy.contains("azd auth login"));
}

// ---- loopback HTTP stand-in ----------------------------------------------------------------

#[derive(Debug, Clone)]
struct Seen {
    method: String,
    target: String,
    headers: Vec<(String, String)>,
}

impl Seen {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

type Responder = Box<dyn Fn(&Seen) -> Option<(u16, String)> + Send + Sync>;

/// A one-connection-per-request HTTP/1.1 server. `None` from the responder means: never answer.
async fn stand_in(respond: Responder) -> (u16, std::sync::Arc<Mutex<Vec<Seen>>>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = std::sync::Arc::new(Mutex::new(Vec::new()));
    let respond = std::sync::Arc::new(respond);
    let log = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            let respond = respond.clone();
            let log = log.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
                let text = String::from_utf8_lossy(&buf).to_string();
                let mut lines = text.split("\r\n");
                let mut first = lines.next().unwrap_or_default().split(' ');
                let seen = Seen {
                    method: first.next().unwrap_or_default().to_string(),
                    target: first.next().unwrap_or_default().to_string(),
                    headers: lines
                        .take_while(|l| !l.is_empty())
                        .filter_map(|l| l.split_once(':'))
                        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                        .collect(),
                };
                log.lock().unwrap().push(seen.clone());
                match respond(&seen) {
                    Some((status, body)) => {
                        let rsp = format!(
                            "HTTP/1.1 {status} X\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = sock.write_all(rsp.as_bytes()).await;
                        let _ = sock.shutdown().await;
                    }
                    None => tokio::time::sleep(Duration::from_secs(30)).await,
                }
            });
        }
    });
    (port, seen)
}

fn imds(token: String, not_found: bool) -> Responder {
    Box::new(move |req: &Seen| {
        if req.header("metadata").is_none() {
            return Some((
                400,
                r#"{"error":"bad_request_102","error_description":"Required metadata header not specified"}"#.into(),
            ));
        }
        if not_found {
            return Some((
                400,
                r#"{"error":"invalid_request","error_description":"Identity not found"}"#.into(),
            ));
        }
        Some((
            200,
            format!(
                r#"{{"access_token":"{token}","refresh_token":"","expires_in":"86399","expires_on":"1893456000","ext_expires_in":"86399","not_before":"1718438100","resource":"https://cognitiveservices.azure.com","token_type":"Bearer","client_id":"mi-client"}}"#
            ),
        ))
    })
}

#[tokio::test]
async fn managed_identity_probes_imds_then_asks_with_metadata_and_the_selected_identity() {
    let jwt = test_jwt(
        serde_json::json!({"aud":"https://cognitiveservices.azure.com","xms_mirid":"/subscriptions/s/x"}),
    );
    let (port, seen) = stand_in(imds(jwt.clone(), false)).await;
    let mut ctx = ctx_with(
        BTreeMap::new(),
        proxied_client(port),
        Duration::from_secs(10),
    );
    ctx.user_assigned = Some(UserAssignedSelector::ClientId("mi-client".into()));
    match acquire(SourceId::ManagedIdentity, SCOPE, &ctx).await {
        Acquisition::Acquired { token, expires_on } => {
            assert_eq!(token.secret(), jwt);
            assert_eq!(expires_on.unix_timestamp(), 1893456000);
        }
        other => panic!("{other:?}"),
    }
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 2, "{seen:?}");
    assert!(seen[0].target.starts_with(managed_identity::IMDS_TOKEN_URL));
    assert_eq!(
        seen[0].header("metadata"),
        None,
        "the probe goes without Metadata"
    );
    assert_eq!(seen[1].header("metadata"), Some("true"));
    assert!(
        seen[1]
            .target
            .contains("resource=https%3A%2F%2Fcognitiveservices.azure.com"),
        "{}",
        seen[1].target
    );
    assert!(
        seen[1].target.contains("client_id=mi-client"),
        "{}",
        seen[1].target
    );
}

#[tokio::test]
async fn managed_identity_not_found_is_a_failure_with_its_code() {
    let (port, _) = stand_in(imds(String::new(), true)).await;
    let ctx = ctx_with(
        BTreeMap::new(),
        proxied_client(port),
        Duration::from_secs(10),
    );
    let a = acquire(SourceId::ManagedIdentity, SCOPE, &ctx).await;
    assert!(matches!(a, Acquisition::Failed { .. }), "{a:?}");
    assert_eq!(codes(&a), vec![Code::ManagedIdentityNotFound]);
}

#[tokio::test]
async fn no_imds_is_a_quick_skip() {
    // A proxy that cannot reach the address answers 502.
    let (port, _) = stand_in(Box::new(|_| Some((502, "bad gateway".into())))).await;
    let ctx = ctx_with(
        BTreeMap::new(),
        proxied_client(port),
        Duration::from_secs(10),
    );
    let a = acquire(SourceId::ManagedIdentity, SCOPE, &ctx).await;
    assert!(matches!(a, Acquisition::Skipped { .. }), "{a:?}");
    assert_eq!(codes(&a), vec![Code::ImdsUnreachable]);

    // Nothing answers at all: the one-second probe gives up, not the SDK's 100 s of retries.
    let (port, _) = stand_in(Box::new(|_| None)).await;
    let ctx = ctx_with(
        BTreeMap::new(),
        proxied_client(port),
        Duration::from_secs(10),
    );
    let started = std::time::Instant::now();
    let a = acquire(SourceId::ManagedIdentity, SCOPE, &ctx).await;
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(codes(&a), vec![Code::ImdsUnreachable]);
}

#[tokio::test]
async fn github_oidc_request_is_made_as_github_expects_and_its_failure_is_reported_without_the_request_token()
 {
    let (port, seen) = stand_in(Box::new(|_| {
        Some((
            403,
            r#"{"message":"Resource not accessible by integration"}"#.into(),
        ))
    }))
    .await;
    let request_token = "ghs_request_token_value_123";
    let env: BTreeMap<String, String> = [
        (
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            format!("http://127.0.0.1:{port}/_apis/idtoken?api-version=2.0"),
        ),
        ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", request_token.to_string()),
        (
            "AZURE_TENANT_ID",
            "aaaabbbb-0000-cccc-1111-dddd2222eeee".to_string(),
        ),
        (
            "AZURE_CLIENT_ID",
            "00001111-aaaa-2222-bbbb-3333cccc4444".to_string(),
        ),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let ctx = ctx_with(env, plain_client(), Duration::from_secs(10));
    let a = acquire(SourceId::GithubActions, SCOPE, &ctx).await;
    assert_eq!(codes(&a), vec![Code::TokenRequestFailed]);
    let f = &a.findings()[0];
    assert!(
        f.message.contains("403") && f.message.contains("Resource not accessible"),
        "{}",
        f.message
    );
    assert!(f.remedy.contains("id-token: write"));
    assert!(!format!("{a:?}").contains(request_token));
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen[0].method, "GET");
    assert!(seen[0].target.contains("api-version=2.0"));
    assert!(
        seen[0]
            .target
            .contains("audience=api%3A%2F%2FAzureADTokenExchange"),
        "{}",
        seen[0].target
    );
    assert_eq!(
        seen[0].header("authorization"),
        Some(format!("Bearer {request_token}").as_str())
    );
}

#[tokio::test]
async fn pipelines_oidc_request_names_the_service_connection() {
    let (port, seen) = stand_in(Box::new(|_| Some((404, "{}".into())))).await;
    let env: BTreeMap<String, String> = [
        ("SYSTEM_OIDCREQUESTURI", format!("http://127.0.0.1:{port}/org/proj/_apis/distributedtask/hubs/build/plans/p/jobs/j/oidctoken")),
        ("SYSTEM_ACCESSTOKEN", "system-access-token-value".to_string()),
        ("AZURESUBSCRIPTION_TENANT_ID", "aaaabbbb-0000-cccc-1111-dddd2222eeee".to_string()),
        ("AZURESUBSCRIPTION_CLIENT_ID", "00001111-aaaa-2222-bbbb-3333cccc4444".to_string()),
        ("AZURESUBSCRIPTION_SERVICE_CONNECTION_ID", "sc-123".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let ctx = ctx_with(env, plain_client(), Duration::from_secs(10));
    let a = acquire(SourceId::AzurePipelines, SCOPE, &ctx).await;
    assert_eq!(codes(&a), vec![Code::TokenRequestFailed]);
    assert!(
        a.findings()[0].message.contains("sc-123"),
        "{}",
        a.findings()[0].message
    );
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen[0].method, "POST");
    assert!(
        seen[0]
            .target
            .contains("api-version=7.1&serviceConnectionId=sc-123"),
        "{}",
        seen[0].target
    );
    assert_eq!(
        seen[0].header("authorization"),
        Some("Bearer system-access-token-value")
    );
}

#[tokio::test]
async fn unconfigured_sources_are_skipped_with_the_missing_variables() {
    let ctx = ctx_with(
        [("AZURE_CLIENT_ID".to_string(), "c".to_string())].into(),
        plain_client(),
        Duration::from_secs(5),
    );
    for (source, names) in [
        (
            SourceId::Environment,
            vec!["AZURE_TENANT_ID", "AZURE_CLIENT_SECRET"],
        ),
        (
            SourceId::WorkloadIdentity,
            vec!["AZURE_FEDERATED_TOKEN_FILE", "AZURE_TENANT_ID"],
        ),
        (
            SourceId::GithubActions,
            vec!["ACTIONS_ID_TOKEN_REQUEST_URL"],
        ),
        (
            SourceId::AzurePipelines,
            vec![
                "SYSTEM_OIDCREQUESTURI",
                "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID",
            ],
        ),
    ] {
        let a = acquire(source, SCOPE, &ctx).await;
        let Acquisition::Skipped { reason, findings } = &a else {
            panic!("{source}: {a:?}")
        };
        for name in names {
            assert!(reason.contains(name), "{source}: {reason}");
        }
        assert!(
            !reason.contains("AZURE_CLIENT_ID"),
            "{source}: set variables are not missing: {reason}"
        );
        assert_eq!(findings[0].code, Code::CredentialNotConfigured);
    }
}

#[tokio::test]
async fn unusable_certificate_file_fails_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.pem");
    std::fs::write(
        &path,
        "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
    )
    .unwrap();
    let env: BTreeMap<String, String> = [
        ("AZURE_TENANT_ID", "t".to_string()),
        ("AZURE_CLIENT_ID", "c".to_string()),
        ("AZURE_CLIENT_CERTIFICATE_PATH", path.display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let ctx = ctx_with(env, plain_client(), Duration::from_secs(5));
    let a = acquire(SourceId::Environment, SCOPE, &ctx).await;
    assert!(matches!(a, Acquisition::Failed { .. }), "{a:?}");
    assert!(
        a.findings()[0].message.contains("broken.pem"),
        "{}",
        a.findings()[0].message
    );
}
