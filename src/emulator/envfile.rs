//! The environment that points a client at the emulator: proxy, trust, PATH with the fake CLIs,
//! and the credential variables the scenario's `[machine]` implies.
//!
//! One machine can carry several credential sources at once. They share `AZURE_CLIENT_ID` and
//! `AZURE_TENANT_ID`, as on a real machine; when several sources name different identities the
//! variables name, in this order of precedence, the `environment` identity, the
//! `workload_identity`, then the `github_actions_identity` (the order in which a
//! DefaultAzureCredential chain would consult them). Azure Pipelines has its own
//! `AZURESUBSCRIPTION_*` variables and never competes.

use super::scenario::{EnvironmentAuth, TenantCloud};
use super::{World, managed_identity, oidc};
use std::path::{Path, PathBuf};

/// Per-run secrets handed to the client through the environment and checked by the emulator.
#[derive(Debug, Clone)]
pub struct MachineSecrets {
    pub identity_header: String,
    pub pipelines_access_token: String,
    pub actions_request_token: String,
}

impl MachineSecrets {
    pub fn generate() -> MachineSecrets {
        let random = || uuid::Uuid::new_v4().simple().to_string();
        MachineSecrets {
            identity_header: random(),
            pipelines_access_token: random(),
            actions_request_token: random(),
        }
    }
}

/// Where the emulator keeps the files the environment points at, all under one directory.
#[derive(Debug, Clone)]
pub struct Layout {
    pub dir: PathBuf,
}

impl Layout {
    pub fn ca_file(&self) -> PathBuf {
        self.dir.join("ca.pem")
    }
    pub fn bin_dir(&self) -> PathBuf {
        self.dir.join("bin")
    }
    pub fn certificate_file(&self, identity: &str) -> PathBuf {
        self.dir.join("certs").join(format!("{identity}.pem"))
    }
    pub fn workload_token_file(&self) -> PathBuf {
        self.dir.join("tokens").join("azure-identity-token")
    }
    pub fn default_env_file(&self) -> PathBuf {
        self.dir.join("emulator.env")
    }
}

fn path_text(p: &Path) -> String {
    p.to_string_lossy().into_owned()
}

/// The variables, in a stable order. `inherited_path` is the PATH the fake CLIs are put before.
pub fn environment(
    world: &World,
    port: u16,
    layout: &Layout,
    inherited_path: &str,
) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = Vec::new();
    let mut set = |k: &str, v: String| env.push((k.to_string(), v));
    let proxy = format!("http://127.0.0.1:{port}");
    let own = format!("http://127.0.0.1:{port}");
    // Upper and lower case: curl reads only the lower-case http_proxy, reqwest and Python both.
    for key in ["HTTPS_PROXY", "HTTP_PROXY", "https_proxy", "http_proxy"] {
        set(key, proxy.clone());
    }
    set("NO_PROXY", String::new());
    set("no_proxy", String::new());
    let ca = path_text(&layout.ca_file());
    for key in ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"] {
        set(key, ca.clone());
    }
    let bin = path_text(&layout.bin_dir());
    set(
        "PATH",
        if inherited_path.is_empty() {
            bin
        } else {
            format!("{bin}:{inherited_path}")
        },
    );

    let scenario = &world.scenario;
    let machine = &scenario.machine;
    let identity = |name: Option<&str>| name.and_then(|n| scenario.identity(n));
    let environment_identity = identity(machine.environment());
    let workload_identity = identity(machine.workload_identity());
    let github_identity = identity(machine.github_actions_identity());
    if let Some(app) = environment_identity
        .or(workload_identity)
        .or(github_identity)
    {
        set(
            "AZURE_TENANT_ID",
            app.tenant_id(&scenario.tenant).to_string(),
        );
        set("AZURE_CLIENT_ID", app.client_id());
    }
    if let Some(app) = environment_identity {
        match machine.environment_auth {
            EnvironmentAuth::Secret => set(
                "AZURE_CLIENT_SECRET",
                app.secret.clone().unwrap_or_default(),
            ),
            // The classic mistake: the secret's id pasted where its value belongs.
            EnvironmentAuth::WrongSecret => set(
                "AZURE_CLIENT_SECRET",
                super::scenario::derived_id("secret-id", app.name()),
            ),
            EnvironmentAuth::Certificate => set(
                "AZURE_CLIENT_CERTIFICATE_PATH",
                path_text(&layout.certificate_file(app.name())),
            ),
        }
    }
    if workload_identity.is_some() {
        set(
            "AZURE_FEDERATED_TOKEN_FILE",
            path_text(&layout.workload_token_file()),
        );
    }
    // What the AKS workload identity webhook injects beside the token file, and what a
    // sovereign-cloud machine sets so the SDKs sign in to its cloud's authority.
    if workload_identity.is_some() || scenario.tenant.cloud() != TenantCloud::Public {
        set("AZURE_AUTHORITY_HOST", scenario.tenant.cloud().authority());
    }
    if machine.app_service_identity().is_some() || machine.app_service_client_id().is_some() {
        set(
            "IDENTITY_ENDPOINT",
            format!("{own}{}", managed_identity::APP_SERVICE_PATH),
        );
        set(
            "IDENTITY_HEADER",
            world.machine_secrets.identity_header.clone(),
        );
    }
    if let Some(app) = identity(machine.azure_pipelines_identity()) {
        set("TF_BUILD", "True".into());
        set(
            "SYSTEM_OIDCREQUESTURI",
            format!("{own}{}", oidc::PIPELINES_PATH),
        );
        set(
            "SYSTEM_ACCESSTOKEN",
            world.machine_secrets.pipelines_access_token.clone(),
        );
        set(
            "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID",
            oidc::service_connection_id(app.name()),
        );
        set("AZURESUBSCRIPTION_CLIENT_ID", app.client_id());
        set(
            "AZURESUBSCRIPTION_TENANT_ID",
            app.tenant_id(&scenario.tenant).to_string(),
        );
    }
    if github_identity.is_some() {
        set("GITHUB_ACTIONS", "true".into());
        set(
            "ACTIONS_ID_TOKEN_REQUEST_URL",
            format!("{own}{}?api-version=2.0", oidc::GITHUB_PATH),
        );
        set(
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
            world.machine_secrets.actions_request_token.clone(),
        );
    }
    env
}

/// Quote a value for a POSIX shell only when it needs it, so simple files stay readable by
/// `docker --env-file` and systemd as well.
pub fn quote(value: &str) -> String {
    let plain = !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./:@%+,=-".contains(c));
    if plain || value.is_empty() {
        value.to_string()
    } else {
        format!("'{}'", value.replace('\'', "'\\''"))
    }
}

/// One `KEY=VALUE` a line.
pub fn render(env: &[(String, String)]) -> String {
    env.iter()
        .map(|(k, v)| format!("{k}={}\n", quote(v)))
        .collect()
}

/// Write atomically (temporary file, then rename), so a watcher never reads half a file.
pub fn write(path: &Path, env: &[(String, String)]) -> std::io::Result<()> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent)?;
    }
    let tmp = path.with_extension("tmp-entraprobe");
    std::fs::write(&tmp, render(env))?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_a_shell() {
        assert_eq!(quote("http://127.0.0.1:8080"), "http://127.0.0.1:8080");
        assert_eq!(quote(""), "");
        assert_eq!(quote("a b'c"), "'a b'\\''c'");
        let env = vec![
            ("A".to_string(), "it's $HOME `x`".to_string()),
            ("B".to_string(), String::new()),
        ];
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!(
                "{}printf '%s|%s' \"$A\" \"$B\"",
                render(&env).replace('\n', ";")
            ))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&out.stdout), "it's $HOME `x`|");
    }
}
