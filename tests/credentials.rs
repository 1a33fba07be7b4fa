//! Every credential source against the emulator, through the production path: the tool's one
//! HTTP client with the emulator as HTTPS proxy and its CA as the extra root, real host names
//! (login.microsoftonline.com, 169.254.169.254), the fake az/azd on PATH.
//!
//! One test function on purpose: reqwest reads the proxy variables, and azure_identity reads
//! IDENTITY_ENDPOINT/IDENTITY_HEADER, from the process environment, so the scenarios run one
//! after another in this binary, each setting the process environment before it builds its
//! client.

use entraprobe::claims;
use entraprobe::cloud::Cloud;
use entraprobe::credential::{
    Acquisition, CredentialContext, SourceId, UserAssignedSelector, acquire,
};
use entraprobe::diagnosis::Code;
use entraprobe::emulator::{EmulatorOptions, RunningEmulator, Scenario};
use entraprobe::http::{HttpOptions, build_client};
use entraprobe::probe::PrincipalType;
use std::collections::BTreeMap;
use std::time::Duration;

const TENANT: &str = "0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11";
const SCOPE: &str = "https://cognitiveservices.azure.com/.default";
const CI_SECRET: &str = "ci-app-secret-value-7Q~x";

fn scenario(machine: &str, extra_identities: &str) -> String {
    format!(
        r#"
[tenant]
id = "{TENANT}"
subscription = "5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f"

[[identity]]
name = "ci-app"
type = "service_principal"
client_id = "00001111-aaaa-2222-bbbb-3333cccc4444"
secret = "{CI_SECRET}"
certificate = true
federated = [
  {{ issuer = "https://token.actions.githubusercontent.com", subject = "repo:contoso/app:ref:refs/heads/main", audience = "api://AzureADTokenExchange" }},
  {{ issuer = "https://oidc.prod-aks.azure.com/cluster-1/", subject = "system:serviceaccount:default:app", audience = "api://AzureADTokenExchange" }},
  {{ issuer = "https://vstoken.dev.azure.com/org-1", subject = "sc://contoso/app/ci-app", audience = "api://AzureADTokenExchange" }},
]

[[identity]]
name = "vm-mi"
type = "managed_identity"

[[identity]]
name = "batch-mi"
type = "managed_identity"

[[identity]]
name = "alice"
type = "user"
upn = "alice@contoso.com"
{extra_identities}
[machine]
{machine}
"#
    )
}

struct Harness {
    emulator: RunningEmulator,
    env: BTreeMap<String, String>,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
}

async fn start(scenario_text: &str) -> Harness {
    let dir = tempfile::tempdir().unwrap();
    let scenario = Scenario::parse(scenario_text, "credentials-test").expect("scenario parses");
    let emulator = RunningEmulator::start(
        scenario,
        EmulatorOptions {
            port: 0,
            dir: dir.path().to_path_buf(),
        },
    )
    .await
    .expect("emulator starts");
    let env: BTreeMap<String, String> = emulator.env().into_iter().collect();
    // SAFETY: this binary has a single test; nothing else reads the environment concurrently
    // while it is changed between scenarios.
    unsafe {
        for key in [
            "HTTPS_PROXY",
            "HTTP_PROXY",
            "https_proxy",
            "http_proxy",
            "NO_PROXY",
            "no_proxy",
        ] {
            match env.get(key) {
                Some(v) => std::env::set_var(key, v),
                None => std::env::remove_var(key),
            }
        }
        for key in ["IDENTITY_ENDPOINT", "IDENTITY_HEADER"] {
            match env.get(key) {
                Some(v) => std::env::set_var(key, v),
                None => std::env::remove_var(key),
            }
        }
    }
    let http = build_client(&HttpOptions {
        ca_file: Some(emulator.ca_file().to_path_buf()),
        timeout: Duration::from_secs(20),
    })
    .expect("client");
    Harness {
        emulator,
        env,
        http,
        _dir: dir,
    }
}

impl Harness {
    fn ctx(&self) -> CredentialContext {
        CredentialContext {
            http: self.http.clone(),
            cloud: Cloud::Public.profile(),
            timeout: Duration::from_secs(20),
            env: self.env.clone(),
            user_assigned: None,
            imds_probe: Default::default(),
        }
    }
}

/// Everything a run could print about an acquisition, for the leak check.
fn printable(a: &Acquisition) -> String {
    format!("{a:?} {}", serde_json::to_string(a.findings()).unwrap())
}

fn acquired(source: SourceId, a: &Acquisition) -> claims::Claims {
    match a {
        Acquisition::Acquired { token, expires_on } => {
            assert!(*expires_on > time::OffsetDateTime::now_utc(), "{source}");
            let c = claims::decode(token.secret()).expect("token decodes");
            assert_eq!(
                c.aud.as_deref().map(|a| a.trim_end_matches('/')),
                Some("https://cognitiveservices.azure.com"),
                "{source}"
            );
            c
        }
        other => panic!("{source}: expected a token, got {other:?}"),
    }
}

fn codes(a: &Acquisition) -> Vec<Code> {
    a.findings().iter().map(|f| f.code).collect()
}

#[test]
fn every_source_against_the_emulator() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut transcript = String::new();
        let mut secrets: Vec<String> = vec![CI_SECRET.to_string()];

        // 1. A machine where everything works: every source gets a token, and the claims say
        //    who it is.
        let h = start(&scenario(
            r#"
environment = "ci-app"
environment_auth = "secret"
managed_identities = ["vm-mi", "batch-mi"]
azure_cli_user = "alice"
azd_user = "alice"
powershell_user = "alice"
workload_identity = "ci-app"
github_actions_identity = "ci-app"
azure_pipelines_identity = "ci-app"
"#,
            "",
        ))
        .await;
        for key in ["SYSTEM_ACCESSTOKEN", "ACTIONS_ID_TOKEN_REQUEST_TOKEN"] {
            secrets.push(h.env[key].clone());
        }
        let ctx = h.ctx();
        let ci_app = h.emulator.world().scenario.identity("ci-app").unwrap().client_id();
        for source in SourceId::ALL {
            let a = acquire(source, SCOPE, &ctx).await;
            transcript.push_str(&printable(&a));
            let c = acquired(source, &a);
            let p = claims::principal(&c);
            assert_eq!(p.tenant_id, TENANT, "{source}");
            match source {
                SourceId::AzureCli | SourceId::AzureDeveloperCli | SourceId::AzurePowerShell => {
                    assert_eq!(p.kind, PrincipalType::User, "{source}");
                    assert_eq!(p.display, "alice@contoso.com");
                }
                SourceId::ManagedIdentity => {
                    assert_eq!(p.kind, PrincipalType::ManagedIdentity);
                    let vm_mi = h.emulator.world().scenario.identity("vm-mi").unwrap().client_id();
                    assert_eq!(p.app_id.as_deref(), Some(vm_mi.as_str()), "system-assigned answers");
                }
                _ => {
                    assert_eq!(p.kind, PrincipalType::ServicePrincipal, "{source}");
                    assert_eq!(p.app_id.as_deref(), Some(ci_app.as_str()), "{source}");
                }
            }
        }
        // A user-assigned identity chosen by client id.
        let batch = h.emulator.world().scenario.identity("batch-mi").unwrap().client_id();
        let mut chosen = h.ctx();
        chosen.user_assigned = Some(UserAssignedSelector::ClientId(batch.clone()));
        let a = acquire(SourceId::ManagedIdentity, SCOPE, &chosen).await;
        let c = acquired(SourceId::ManagedIdentity, &a);
        assert_eq!(claims::principal(&c).app_id.as_deref(), Some(batch.as_str()));
        // One that is not on this machine.
        chosen.user_assigned = Some(UserAssignedSelector::ClientId(
            "99999999-9999-9999-9999-999999999999".into(),
        ));
        let a = acquire(SourceId::ManagedIdentity, SCOPE, &chosen).await;
        transcript.push_str(&printable(&a));
        assert_eq!(codes(&a), vec![Code::ManagedIdentityNotFound], "{a:?}");
        h.emulator.shutdown().await;

        // 2. The certificate variant of `environment`: the tool signs the assertion itself.
        let h = start(&scenario(
            "environment = \"ci-app\"\nenvironment_auth = \"certificate\"\n",
            "",
        ))
        .await;
        assert!(h.env.contains_key("AZURE_CLIENT_CERTIFICATE_PATH"));
        let a = acquire(SourceId::Environment, SCOPE, &h.ctx()).await;
        transcript.push_str(&printable(&a));
        let c = acquired(SourceId::Environment, &a);
        assert_eq!(c.appidacr.as_deref(), Some("2"), "certificate-authenticated");
        // A certificate the app does not know: Entra's AADSTS700027, with the thumbprint shown.
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256).unwrap();
        let stranger = rcgen::CertificateParams::new(vec!["stranger".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        std::fs::write(
            &h.env["AZURE_CLIENT_CERTIFICATE_PATH"],
            format!("{}{}", stranger.pem(), key.serialize_pem()),
        )
        .unwrap();
        let a = acquire(SourceId::Environment, SCOPE, &h.ctx()).await;
        transcript.push_str(&printable(&a));
        assert_eq!(codes(&a), vec![Code::CertificateNotAccepted], "{a:?}");
        let thumbprint = {
            use sha1::Digest;
            hex::encode_upper(sha1::Sha1::digest(stranger.der()))
        };
        assert!(a.findings()[0].message.contains(&thumbprint), "{}", a.findings()[0].message);
        h.emulator.shutdown().await;

        // 3. A machine where things are misconfigured: each failure gets its own code, the
        //    unconfigured ones are skips, and nothing waits for the SDK's retries.
        let h = start(&scenario(
            r#"
environment = "ci-app"
environment_auth = "wrong-secret"
workload_identity = "ci-app"
workload_subject = "system:serviceaccount:default:other-app"
github_actions_identity = "gh-app"
azure_pipelines_identity = "gh-app"
"#,
            r#"
[[identity]]
name = "gh-app"
type = "service_principal"
federated = [{ issuer = "https://token.actions.githubusercontent.com", subject = "repo:contoso/other:ref:refs/heads/main", audience = "api://AzureADTokenExchange" }]
"#,
        ))
        .await;
        secrets.push(h.env["AZURE_CLIENT_SECRET"].clone());
        secrets.push(h.env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"].clone());
        let ctx = h.ctx();

        let a = acquire(SourceId::Environment, SCOPE, &ctx).await;
        transcript.push_str(&printable(&a));
        assert_eq!(codes(&a), vec![Code::InvalidClientSecret], "{a:?}");

        assert!(a.findings()[0].remedy.contains(&format!("az ad app credential reset --id {ci_app}")));

        // Without the emulator's CA (a TLS-inspecting proxy without --ca-file) it is a TLS failure.
        let mut untrusting = h.ctx();
        untrusting.http = build_client(&HttpOptions {
            ca_file: None,
            timeout: Duration::from_secs(20),
        })
        .unwrap();
        let a = acquire(SourceId::Environment, SCOPE, &untrusting).await;
        transcript.push_str(&printable(&a));
        assert_eq!(codes(&a), vec![Code::TlsFailure], "{a:?}");
        assert!(a.findings()[0].remedy.contains("--ca-file"));

        let a = acquire(SourceId::WorkloadIdentity, SCOPE, &ctx).await;
        transcript.push_str(&printable(&a));
        assert_eq!(codes(&a), vec![Code::FederatedCredentialMismatch], "{a:?}");
        let f = &a.findings()[0];
        assert!(f.message.contains("subject 'system:serviceaccount:default:other-app'"), "{}", f.message);
        assert!(f.remedy.contains("\"subject\":\"system:serviceaccount:default:other-app\""), "{}", f.remedy);

        // GitHub: the OIDC token is for gh-app's repository, but AZURE_CLIENT_ID names ci-app
        // (the environment identity wins the shared variable), whose credential differs.
        let a = acquire(SourceId::GithubActions, SCOPE, &ctx).await;
        transcript.push_str(&printable(&a));
        assert!(matches!(a, Acquisition::Failed { .. }), "{a:?}");
        assert_eq!(codes(&a), vec![Code::FederatedCredentialMismatch], "{a:?}");
        assert!(a.findings()[0].message.contains("https://token.actions.githubusercontent.com"));

        let started = std::time::Instant::now();
        let a = acquire(SourceId::ManagedIdentity, SCOPE, &ctx).await;
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
        assert!(matches!(a, Acquisition::Skipped { .. }), "{a:?}");
        assert_eq!(codes(&a), vec![Code::ImdsUnreachable]);

        for source in [SourceId::AzureCli, SourceId::AzureDeveloperCli] {
            let a = acquire(source, SCOPE, &ctx).await;
            transcript.push_str(&printable(&a));
            assert!(matches!(a, Acquisition::Skipped { .. }), "{source}: {a:?}");
            assert_eq!(codes(&a), vec![Code::CliNotLoggedIn], "{source}: {a:?}");
        }
        // Pipelines: gh-app has no federated credential for the Pipelines issuer at all.
        secrets.push(h.env["SYSTEM_ACCESSTOKEN"].clone());
        let a = acquire(SourceId::AzurePipelines, SCOPE, &ctx).await;
        transcript.push_str(&printable(&a));
        assert_eq!(codes(&a), vec![Code::FederatedCredentialMismatch], "{a:?}");
        assert!(a.findings()[0].message.contains("Presented: issuer '"), "{}", a.findings()[0].message);
        h.emulator.shutdown().await;

        // 3b. Nothing configured at all: every source is a skip, none a failure.
        let h = start(&scenario("", "")).await;
        let ctx = h.ctx();
        for source in SourceId::ALL {
            let a = acquire(source, SCOPE, &ctx).await;
            transcript.push_str(&printable(&a));
            assert!(matches!(a, Acquisition::Skipped { .. }), "{source}: {a:?}");
        }
        h.emulator.shutdown().await;

        // 4. An expired client secret.
        let h = start(&scenario(
            "environment = \"old-app\"\n",
            "[[identity]]\nname = \"old-app\"\ntype = \"service_principal\"\nsecret = \"old-app-secret-value\"\nsecret_expired = true\n",
        ))
        .await;
        secrets.push("old-app-secret-value".into());
        let a = acquire(SourceId::Environment, SCOPE, &h.ctx()).await;
        transcript.push_str(&printable(&a));
        assert_eq!(codes(&a), vec![Code::ClientSecretExpired], "{a:?}");
        h.emulator.shutdown().await;

        // 4b. A slow token endpoint: the tool's deadline, not the SDK's patience, decides.
        let h = start(&scenario(
            "environment = \"ci-app\"\n[faults]\nlatency_ms = 4000\n",
            "",
        ))
        .await;
        let mut impatient = h.ctx();
        impatient.timeout = Duration::from_millis(800);
        let started = std::time::Instant::now();
        let a = acquire(SourceId::Environment, SCOPE, &impatient).await;
        assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
        assert_eq!(codes(&a), vec![Code::Timeout], "{a:?}");
        h.emulator.shutdown().await;

        // 5. App Service: IDENTITY_ENDPOINT + IDENTITY_HEADER, no IMDS probe.
        let h = start(&scenario("app_service_identity = \"vm-mi\"\n", "")).await;
        secrets.push(h.env["IDENTITY_HEADER"].clone());
        let a = acquire(SourceId::ManagedIdentity, SCOPE, &h.ctx()).await;
        transcript.push_str(&printable(&a));
        let c = acquired(SourceId::ManagedIdentity, &a);
        assert_eq!(claims::principal(&c).kind, PrincipalType::ManagedIdentity);
        h.emulator.shutdown().await;
        // SAFETY: as above, single test.
        unsafe {
            std::env::remove_var("IDENTITY_ENDPOINT");
            std::env::remove_var("IDENTITY_HEADER");
        }

        // Nothing any of this could print carries a secret or a token.
        for secret in &secrets {
            assert!(!transcript.contains(secret.as_str()), "a secret leaked into the transcript");
        }
        assert!(!transcript.contains("eyJ"), "a JWT leaked into the transcript");
    });
}
