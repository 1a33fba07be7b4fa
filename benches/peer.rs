//! Peer benchmark: entraprobe against a seed-style script, on the same emulator and latency.
//!
//! The script (benches/peer/seed_style.py) is how such checks are written before a tool exists:
//! Python azure-identity for the token and `requests` for the call, one cell after another, once
//! without and once with a role-assignment listing per cell. Both check the same cells of the
//! demo-sized scenario (benches/common/demo_sized.rs: 3 sources × 8 services, 100 ms a
//! response). It needs a Python with azure-identity and requests:
//! `ENTRAPROBE_FIDELITY_PYTHON=/path/to/venv/bin/python cargo bench --bench peer` (.ci/run builds
//! such a venv); without one it says so and measures nothing. It asserts nothing.

use entraprobe::emulator::scenario::Scenario;
use entraprobe::emulator::{EmulatorOptions, RunningEmulator};
use std::time::Instant;

#[path = "common/demo_sized.rs"]
mod demo_sized;
use demo_sized::{LATENCY_MS, scenario};

const SOURCES: [&str; 3] = ["environment", "managed-identity", "azure-cli"];

/// The cells as the script sends them: the same minimal call entraprobe builds for each.
fn peer_cells(scenario: &Scenario) -> serde_json::Value {
    let cloud = entraprobe::cloud::Cloud::Public.profile();
    let mut cells = Vec::new();
    for source in SOURCES {
        for target in entraprobe::commands::scenario_targets(scenario) {
            let Ok(request) = entraprobe::service::build_request(&target) else {
                continue;
            };
            let speech = match &request.auth {
                entraprobe::service::AuthHeader::SpeechAad { resource_id } => {
                    Some(resource_id.clone())
                }
                entraprobe::service::AuthHeader::Bearer => None,
            };
            cells.push(serde_json::json!({
                "source": source,
                "scope": target.scope(&cloud.services),
                "method": request.method,
                "url": request.url,
                "headers": request.headers,
                "body": request.body.map(|b| String::from_utf8_lossy(&b).into_owned()),
                "speech_resource_id": speech,
            }));
        }
    }
    serde_json::Value::Array(cells)
}

async fn seed_style(
    python: &str,
    emulator: &RunningEmulator,
    cells: &serde_json::Value,
    subscription: &str,
    list_roles: bool,
) -> Option<f64> {
    let out = tokio::process::Command::new(python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/benches/peer/seed_style.py"
        ))
        .env_clear()
        .envs(emulator.env())
        .env("PEER_CELLS", cells.to_string())
        .env("PEER_LIST_ROLES", if list_roles { "1" } else { "0" })
        .env("PEER_SUBSCRIPTION", subscription)
        .output()
        .await
        .ok()?;
    if !out.status.success() {
        eprintln!(
            "peer: the script failed: {}",
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .last()
                .unwrap_or("")
        );
        return None;
    }
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    report["seconds"].as_f64()
}

fn main() {
    let Ok(python) = std::env::var("ENTRAPROBE_FIDELITY_PYTHON") else {
        println!(
            "peer: skipped (set ENTRAPROBE_FIDELITY_PYTHON to a Python with azure-identity and requests)"
        );
        return;
    };
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let scenario = Scenario::parse(&scenario(), "peer bench").expect("scenario");
        let dir = tempfile::tempdir().expect("tempdir");
        let emulator = RunningEmulator::start(
            scenario.clone(),
            EmulatorOptions {
                port: 0,
                dir: dir.path().to_path_buf(),
            },
        )
        .await
        .expect("emulator");
        let mut args = vec![
            "run".to_string(),
            "--output".into(),
            "json".into(),
            "--credential".into(),
            SOURCES.join(","),
        ];
        for t in entraprobe::commands::scenario_targets(&scenario) {
            let mut spec = format!("{}={}@{}", t.name, t.kind, t.endpoint);
            if let Some(r) = &t.resource_id {
                spec += &format!(",resource={r}");
            }
            if let Some(r) = &t.region {
                spec += &format!(",region={r}");
            }
            args.extend(["--service".to_string(), spec]);
        }
        let started = Instant::now();
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_entraprobe"))
            .args(&args)
            .env_clear()
            .envs(emulator.env())
            .output()
            .await
            .expect("run entraprobe");
        let ours = started.elapsed().as_secs_f64();
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
        let cells = peer_cells(&scenario);
        let sub = scenario.tenant.subscription.clone();
        let plain = seed_style(&python, &emulator, &cells, &sub, false).await;
        let listing = seed_style(&python, &emulator, &cells, &sub, true).await;
        println!(
            "peer: {} cells, latency {LATENCY_MS} ms a response",
            cells.as_array().map_or(0, Vec::len)
        );
        println!(
            "  entraprobe (tokens, claims, ARM preflight and RBAC, probe)  {:>7.0} ms  summary {}",
            ours * 1000.0,
            report["summary"]
        );
        for (name, seconds) in [
            ("seed-style script, call only", plain),
            ("seed-style script, listing + call", listing),
        ] {
            match seconds {
                Some(s) => println!(
                    "  {name:<36} {:>7.0} ms  entraprobe is {:.1}× faster",
                    s * 1000.0,
                    s / ours
                ),
                None => println!("  {name:<36} failed (see above)"),
            }
        }
        emulator.shutdown().await;
    });
}
