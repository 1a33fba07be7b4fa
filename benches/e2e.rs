//! End-to-end benchmark: `entraprobe run` against the emulator with injected latency.
//!
//! With every emulated response delayed by L ms, a run that issued its R requests one after the
//! other would take about R × L. The design asks for a wall time near the longest single chain
//! (token → ARM → probe), so this prints three ratios from one run:
//!   wall / (R × L)      how much concurrency saves (smaller is better)
//!   wall / (chain × L)  how close the run is to its longest chain (1.0 is the floor)
//! Run it with `cargo bench --bench e2e`; it asserts nothing (machines here are shared).

use entraprobe::emulator::scenario::Scenario;
use entraprobe::emulator::{EmulatorOptions, RunningEmulator};
use std::time::Instant;

const LATENCY_MS: u64 = 100;
/// IMDS probe → token → [accounts | search services | role assignments] → role definitions →
/// deny assignments → probe: the longest dependent chain of one run (the managed-identity row)
/// when resource ids are given.
const CHAIN: u64 = 6;

fn scenario() -> String {
    let mut s = String::from(
        "[[identity]]\nname = \"sp\"\ntype = \"service_principal\"\nsecret = \"bench-secret-value-1\"\n\
         [[identity]]\nname = \"mi\"\ntype = \"managed_identity\"\n\
         [[identity]]\nname = \"alice\"\ntype = \"user\"\nupn = \"alice@contoso.com\"\n",
    );
    let kinds = [
        "OpenAI",
        "SpeechServices",
        "ComputerVision",
        "TextAnalytics",
        "FormRecognizer",
        "ContentSafety",
        "TextTranslation",
    ];
    for (i, kind) in kinds.iter().enumerate() {
        s += &format!(
            "[[account]]\nname = \"acct{i}\"\nkind = \"{kind}\"\ncustom_subdomain = \"bench-acct{i}\"\n"
        );
    }
    s += "[[search_service]]\nname = \"srch\"\n";
    for p in ["sp", "mi", "alice"] {
        for role in [
            "Reader",
            "Cognitive Services User",
            "Search Service Contributor",
        ] {
            s += &format!(
                "[[role_assignment]]\nprincipal = \"{p}\"\nrole = \"{role}\"\nscope = \"subscription\"\n"
            );
        }
    }
    s += &format!(
        "[machine]\nenvironment = \"sp\"\nmanaged_identities = [\"mi\"]\nazure_cli_user = \"alice\"\n[faults]\nlatency_ms = {LATENCY_MS}\n"
    );
    s
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
        let mut args = vec![
            "run".to_string(),
            "--output".into(),
            "json".into(),
            "--credential".into(),
            "environment,managed-identity,azure-cli".into(),
        ];
        for t in entraprobe::commands::scenario_targets(&scenario) {
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
        let started = Instant::now();
        let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_entraprobe"))
            .args(&args)
            .env_clear()
            .envs(emulator.env())
            .output()
            .await
            .expect("run entraprobe");
        let wall = started.elapsed();
        let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON report");
        // The server also keeps per-surface totals ("arm", "dataplane"); count each request once.
        let snapshot = emulator.world().counters.snapshot();
        let requests: u64 = snapshot
            .iter()
            .filter(|(route, _)| route.as_str() != "arm" && route.as_str() != "dataplane")
            .map(|(_, n)| n)
            .sum();
        let cells = report["cells"].as_array().map(Vec::len).unwrap_or(0);
        let serial_ms = requests * LATENCY_MS;
        println!(
            "e2e: {cells} cells, {requests} emulated requests counted, latency {LATENCY_MS} ms each"
        );
        println!(
            "  wall time                      {:>7.0} ms",
            wall.as_secs_f64() * 1000.0
        );
        println!(
            "  one-after-another estimate     {:>7} ms  (requests × latency)",
            serial_ms
        );
        println!(
            "  longest chain                  {:>7} ms  ({CHAIN} × latency)",
            CHAIN * LATENCY_MS
        );
        println!(
            "  wall / one-after-another       {:>7.3}",
            wall.as_secs_f64() * 1000.0 / serial_ms.max(1) as f64
        );
        println!(
            "  wall / longest chain           {:>7.2}",
            wall.as_secs_f64() * 1000.0 / (CHAIN * LATENCY_MS) as f64
        );
        println!("  summary {}", report["summary"]);
        println!("  requests by route {snapshot:?}");
        emulator.shutdown().await;
    });
}
