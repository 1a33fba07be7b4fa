//! Test harness: the emulator in the test process, the real `entraprobe` binary as a child
//! process with only the emulator's environment — the production code path, end to end.

#![allow(dead_code)]

use entraprobe::emulator::scenario::Scenario;
use entraprobe::emulator::{EmulatorOptions, RunningEmulator};
use serde_json::Value;
use std::process::Output;

pub struct Harness {
    pub emulator: RunningEmulator,
    pub scenario: Scenario,
    pub dir: tempfile::TempDir,
}

pub struct RunOutput {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl RunOutput {
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }
}

impl From<Output> for RunOutput {
    fn from(o: Output) -> RunOutput {
        RunOutput {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_entraprobe")
}

/// `entraprobe ARGS` with nothing from the test's own environment.
pub async fn entraprobe(args: &[&str]) -> RunOutput {
    entraprobe_with(args, &[]).await
}

/// `entraprobe ARGS` with only `env` (and a system PATH, unless `env` sets one).
pub async fn entraprobe_with(args: &[&str], env: &[(&str, &str)]) -> RunOutput {
    tokio::process::Command::new(bin())
        .args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .envs(env.iter().copied())
        .output()
        .await
        .expect("run entraprobe")
        .into()
}

impl Harness {
    pub async fn start(toml: &str) -> Harness {
        let scenario = Scenario::parse(toml, "test scenario").unwrap_or_else(|e| panic!("{e}"));
        let dir = tempfile::tempdir().unwrap();
        let emulator = RunningEmulator::start(
            scenario.clone(),
            EmulatorOptions {
                port: 0,
                dir: dir.path().to_path_buf(),
            },
        )
        .await
        .expect("emulator starts");
        Harness {
            emulator,
            scenario,
            dir,
        }
    }

    /// The emulator's request counter (`GET /_emulator/requests`, design §6).
    pub async fn requests(&self) -> Value {
        reqwest::Client::builder()
            .no_proxy()
            .build()
            .unwrap()
            .get(format!(
                "http://127.0.0.1:{}/_emulator/requests",
                self.emulator.port()
            ))
            .send()
            .await
            .expect("the counter answers")
            .json()
            .await
            .expect("the counter is JSON")
    }

    /// `--service` flags for every account and search service of the scenario.
    pub fn service_flags(&self) -> Vec<String> {
        let mut flags = Vec::new();
        for t in entraprobe::commands::scenario_targets(&self.scenario) {
            let mut spec = format!("{}={}@{}", t.name, t.kind, t.endpoint);
            if let Some(r) = &t.resource_id {
                spec.push_str(&format!(",resource={r}"));
            }
            if let Some(r) = &t.region {
                spec.push_str(&format!(",region={r}"));
            }
            if let Some(a) = &t.audience {
                spec.push_str(&format!(",audience={a}"));
            }
            flags.push("--service".to_string());
            flags.push(spec);
        }
        flags
    }

    /// Run the binary with the emulator's environment, then `args`.
    pub async fn run(&self, args: &[&str]) -> RunOutput {
        tokio::process::Command::new(bin())
            .args(args)
            .env_clear()
            .envs(self.emulator.env())
            .output()
            .await
            .expect("run entraprobe")
            .into()
    }

    /// `run --output json ARGS`: the report and the raw output.
    pub async fn report(&self, args: &[&str]) -> (Value, RunOutput) {
        let mut all = vec!["run", "--output", "json"];
        all.extend_from_slice(args);
        let out = self.run(&all).await;
        (out.json(), out)
    }

    /// `run` over every scenario target with JSON output; extra args appended.
    pub async fn matrix(&self, extra: &[&str]) -> (Value, RunOutput) {
        let mut args: Vec<String> = vec![
            "run".into(),
            "--output".into(),
            "json".into(),
            "--timeout".into(),
            "10s".into(),
        ];
        args.extend(self.service_flags());
        args.extend(extra.iter().map(|s| s.to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = self.run(&refs).await;
        (out.json(), out)
    }
}

/// The cell for (credential, service) in a JSON report.
pub fn cell<'a>(report: &'a Value, credential: &str, service: &str) -> &'a Value {
    report["cells"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["credential"] == credential && c["service"] == service)
        .unwrap_or_else(|| panic!("no cell {credential} × {service} in {report:#}"))
}

/// The first finding code of a cell (its most specific cause), or "".
pub fn first_code(cell: &Value) -> String {
    cell["findings"][0]["code"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

pub fn codes(cell: &Value) -> Vec<String> {
    cell["findings"]
        .as_array()
        .map(|f| {
            f.iter()
                .map(|x| x["code"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}
