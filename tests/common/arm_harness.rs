//! The emulator for in-process ARM tests: the tool's own `ArmClient` and a plain HTTP client,
//! both through the emulator's TLS-terminating proxy (real host names, real URLs, real TLS), and
//! tokens from the emulated Entra token endpoint.
//!
//! Included with `#[path = "common/arm_harness.rs"] mod arm_harness;` by the tests that use it.

#![allow(dead_code)]

use entraprobe::arm::actions::ActionKind;
use entraprobe::arm::client::{ArmCache, ArmClient};
use entraprobe::arm::rbac::RbacQuestion;
use entraprobe::emulator::{EmulatorOptions, RunningEmulator, Scenario};
use std::sync::Arc;

pub const ARM: &str = "https://management.azure.com";
pub const OPENAI_MODELS: &str = "Microsoft.CognitiveServices/accounts/OpenAI/models/read";

pub struct ArmHarness {
    pub emulator: RunningEmulator,
    /// Trusts only the emulator's CA and sends everything through its proxy.
    pub http: reqwest::Client,
    /// Shared by every client [`ArmHarness::arm`] makes.
    pub cache: Arc<ArmCache>,
    _dir: tempfile::TempDir,
}

impl ArmHarness {
    pub async fn start(toml: &str) -> ArmHarness {
        let dir = tempfile::tempdir().unwrap();
        let scenario = Scenario::parse(toml, "test scenario").unwrap_or_else(|e| panic!("{e}"));
        let emulator = RunningEmulator::start(
            scenario,
            EmulatorOptions {
                port: 0,
                dir: dir.path().join("emu"),
            },
        )
        .await
        .unwrap();
        let ca = std::fs::read(emulator.ca_file()).unwrap();
        let http = reqwest::Client::builder()
            .proxy(reqwest::Proxy::all(format!("http://127.0.0.1:{}", emulator.port())).unwrap())
            .tls_certs_only([reqwest::Certificate::from_pem(&ca).unwrap()])
            .build()
            .unwrap();
        ArmHarness {
            emulator,
            http,
            cache: ArmCache::new(),
            _dir: dir,
        }
    }

    /// The object id of a scenario identity, or else of a group.
    pub fn object_id(&self, name: &str) -> String {
        let scenario = &self.emulator.world().scenario;
        match scenario.identity(name) {
            Some(identity) => identity.object_id(),
            None => scenario.group(name).unwrap().object_id(),
        }
    }

    /// A client-credentials token for the service principal `name` with `secret`, for `scope`.
    pub async fn token_with_secret(&self, name: &str, secret: &str, scope: &str) -> String {
        let identity = self.emulator.world().scenario.identity(name).unwrap();
        let tenant = self.emulator.world().scenario.tenant.id.clone();
        let body = form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "client_credentials")
            .append_pair("client_id", &identity.client_id())
            .append_pair("client_secret", secret)
            .append_pair("scope", scope)
            .finish();
        let response = self
            .http
            .post(format!(
                "https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token"
            ))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "token for {name}");
        let json: serde_json::Value = response.json().await.unwrap();
        json["access_token"].as_str().unwrap().to_string()
    }

    /// [`ArmHarness::token_with_secret`] for a scenario whose secrets are `{name}-secret`.
    pub async fn token(&self, name: &str, scope: &str) -> String {
        self.token_with_secret(name, &format!("{name}-secret"), scope)
            .await
    }

    /// The tool's ARM client as `name`, on the shared cache.
    pub async fn arm(&self, name: &str) -> ArmClient {
        let token = self.token(name, &format!("{ARM}/.default")).await;
        ArmClient::new(self.http.clone(), ARM, token).with_cache(self.cache.clone())
    }

    /// The live call, decided by the emulator's data plane on its own: the status `name` gets
    /// for `GET url` with a token for `audience`.
    pub async fn live(&self, name: &str, url: &str, audience: &str) -> u16 {
        let token = self.token(name, &format!("{audience}/.default")).await;
        self.http
            .get(url)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }
}

/// "May `principal` do `action` on `resource`?", asked now, with no expiry horizon.
pub fn question<'a>(
    principal: &'a str,
    resource: &'a str,
    action: &'a str,
    kind: ActionKind,
) -> RbacQuestion<'a> {
    RbacQuestion {
        principal_id: principal,
        resource_id: resource,
        action,
        kind,
        now: time::OffsetDateTime::now_utc(),
        horizon: time::Duration::ZERO,
    }
}

/// May `principal` read the OpenAI models on `resource`? Looking 24 hours ahead, so a
/// time-bound grant that ends sooner is reported.
pub fn models_question<'a>(principal: &'a str, resource: &'a str) -> RbacQuestion<'a> {
    RbacQuestion {
        horizon: time::Duration::hours(24),
        ..question(principal, resource, OPENAI_MODELS, ActionKind::DataAction)
    }
}
