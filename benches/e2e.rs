//! End-to-end benchmark: `entraprobe run` against the emulator with injected latency.
//!
//! With every emulated response delayed by L ms, a run that issued its R requests one after the
//! other would take about R × L. The design asks for a wall time near the longest single chain
//! (token → ARM → probe). The chain is measured, not assumed: the same run narrowed to its
//! slowest row and one target (the managed-identity row, whose IMDS probe comes first) is timed
//! first. From one run each, this prints:
//!   wall / (R × L)        how much concurrency saves (smaller is better)
//!   wall / chain          how close the run is to its longest chain (1.0 is the floor; the
//!                         probe wave and the cells' own ARM reads are what is left)
//! Run it with `cargo bench --bench e2e`; it asserts nothing (machines here are shared).

use entraprobe::emulator::scenario::Scenario;
use entraprobe::emulator::{EmulatorOptions, RunningEmulator};
use std::time::{Duration, Instant};

#[path = "common/demo_sized.rs"]
mod demo_sized;
use demo_sized::{LATENCY_MS, scenario};

fn service_flags(scenario: &Scenario, only: Option<&str>) -> Vec<String> {
    let mut args = Vec::new();
    for t in entraprobe::commands::scenario_targets(scenario) {
        if only.is_some_and(|name| name != t.name) {
            continue;
        }
        let mut spec = format!("{}={}@{}", t.name, t.kind, t.endpoint);
        if let Some(r) = &t.resource_id {
            spec += &format!(",resource={r}");
        }
        if let Some(r) = &t.region {
            spec += &format!(",region={r}");
        }
        args.push("--service".into());
        args.push(spec);
    }
    args
}

async fn total_requests(emulator: &RunningEmulator) -> u64 {
    let counted: serde_json::Value = reqwest::Client::builder()
        .no_proxy()
        .build()
        .expect("client")
        .get(format!(
            "http://127.0.0.1:{}/_emulator/requests",
            emulator.port()
        ))
        .send()
        .await
        .expect("counter")
        .json()
        .await
        .expect("counter JSON");
    counted["total"].as_u64().unwrap_or(0)
}

async fn timed_run(emulator: &RunningEmulator, args: &[String]) -> (Duration, serde_json::Value) {
    let started = Instant::now();
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_entraprobe"))
        .args(args)
        .env_clear()
        .envs(emulator.env())
        .output()
        .await
        .expect("run entraprobe");
    let wall = started.elapsed();
    let report = serde_json::from_slice(&out.stdout).expect("JSON report");
    (wall, report)
}

fn main() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let scenario = Scenario::parse(&scenario(), "bench").expect("bench scenario");
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
        let base = ["run", "--output", "json"].map(String::from);

        // The chain, measured: the slowest row (managed identity: IMDS probe first) and one
        // target of the kind with the most ARM reads (Speech: resource id and region).
        let mut chain_args = base.to_vec();
        chain_args.extend(["--credential".into(), "managed-identity".into()]);
        chain_args.extend(service_flags(&scenario, Some("acct1")));
        let (chain, _) = timed_run(&emulator, &chain_args).await;

        let mut args = base.to_vec();
        args.extend([
            "--credential".into(),
            "environment,managed-identity,azure-cli".into(),
        ]);
        args.extend(service_flags(&scenario, None));
        let before = total_requests(&emulator).await;
        let (wall, report) = timed_run(&emulator, &args).await;
        let requests = total_requests(&emulator).await - before;
        let cells = report["cells"].as_array().map(Vec::len).unwrap_or(0);
        let serial_ms = requests * LATENCY_MS;
        let ms = |d: Duration| d.as_secs_f64() * 1000.0;
        println!("e2e: {cells} cells, {requests} emulated requests, latency {LATENCY_MS} ms each");
        println!("  wall time                      {:>7.0} ms", ms(wall));
        println!("  one-after-another estimate     {serial_ms:>7} ms  (requests × latency)");
        println!(
            "  longest chain, measured        {:>7.0} ms  (managed-identity × acct1 alone)",
            ms(chain)
        );
        println!(
            "  wall / one-after-another       {:>7.3}",
            ms(wall) / serial_ms.max(1) as f64
        );
        println!(
            "  wall / longest chain           {:>7.2}",
            ms(wall) / ms(chain)
        );
        println!("  summary {}", report["summary"]);
        // The binary this benchmark ran, built with the bench profile (the release profile's
        // settings): its size on disk is what `cargo install` ships.
        if let Ok(meta) = std::fs::metadata(env!("CARGO_BIN_EXE_entraprobe")) {
            println!(
                "  binary size                    {:>7.1} MB (release settings, stripped)",
                meta.len() as f64 / 1_000_000.0
            );
        }
        emulator.shutdown().await;
    });
}
