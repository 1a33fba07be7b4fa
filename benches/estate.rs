//! Estate benchmark: `entraprobe run --discover` over N accounts, as an admin validating a whole
//! estate runs it, under a 256-descriptor limit, against the emulator with injected latency.
//!
//! The accounts are spread over 4 subscriptions under one management group, where the identity's
//! roles are assigned (inherited by every subscription, as ARM lists them).
//!
//! For each N (default 500, 2,000 and 5,000; `ENTRAPROBE_ESTATE_SIZES=500,2000` to choose) it
//! prints, from one run each:
//!   - wall time, and wall / floor, where the floor is what the probe concurrency bound implies:
//!     the measured one-target chain (token → Resource Graph → ARM → probe) plus
//!     ceil(cells / concurrency) waves of one probe latency each;
//!   - the binary's peak resident memory (VmHWM from /proc, sampled while it runs);
//!   - requests by surface from the emulator's counter: ARM reads should not grow with N (apart
//!     from Resource Graph pages), data-plane calls equal the cells;
//!   - how many cells passed (every one should: one identity with a role on everything).
//!
//! Run it with `cargo bench --bench estate`; it asserts nothing (machines here are shared), and
//! docs/performance.md records what it printed.

use entraprobe::emulator::scenario::Scenario;
use entraprobe::emulator::{EmulatorOptions, RunningEmulator};
use std::time::{Duration, Instant};

const LATENCY_MS: u64 = 20;
const PROBE_CONCURRENCY: u64 = entraprobe::probe::runner::PROBE_CONCURRENCY as u64;
const SUBSCRIPTION: &str = "5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f";
/// The estate's four subscriptions (the first is the tenant's default), all under one
/// management group whose roles they inherit.
const SUBSCRIPTIONS: [&str; 4] = [
    SUBSCRIPTION,
    "5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e71",
    "5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e72",
    "5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e73",
];
const KINDS: [&str; 4] = ["OpenAI", "TextAnalytics", "ComputerVision", "ContentSafety"];

fn scenario(accounts: usize) -> String {
    let mut s = format!(
        "[tenant]\nsubscription = \"{SUBSCRIPTION}\"\n\
         [[management_group]]\nname = \"mg-estate\"\n\
         [[identity]]\nname = \"sp\"\ntype = \"service_principal\"\nsecret = \"estate-bench-secret-1\"\n"
    );
    for (n, id) in SUBSCRIPTIONS.iter().enumerate() {
        s += &format!(
            "[[subscription]]\nname = \"estate-{n}\"\nid = \"{id}\"\nmanagement_group = \"mg-estate\"\n"
        );
    }
    for i in 0..accounts {
        let kind = KINDS[i % KINDS.len()];
        s += &format!(
            "[[account]]\nname = \"acct{i:05}\"\nkind = \"{kind}\"\nresource_group = \"rg-{}\"\ncustom_subdomain = \"estate-acct{i:05}\"\nsubscription = \"estate-{}\"\n",
            i % 8,
            i % SUBSCRIPTIONS.len()
        );
    }
    for role in ["Reader", "Cognitive Services User"] {
        s += &format!(
            "[[role_assignment]]\nprincipal = \"sp\"\nrole = \"{role}\"\nscope = \"management_group:mg-estate\"\n"
        );
    }
    s += &format!("[machine]\nenvironment = \"sp\"\n[faults]\nlatency_ms = {LATENCY_MS}\n");
    s
}

/// Peak resident memory of a running process, in KiB (VmHWM).
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

struct Measured {
    wall: Duration,
    peak_kib: u64,
    report: serde_json::Value,
    stderr: String,
}

/// `entraprobe ARGS` under `ulimit -n 256`, with the emulator's environment; polls VmHWM.
async fn run_limited(emulator: &RunningEmulator, args: &[&str]) -> Measured {
    let started = Instant::now();
    let mut child = tokio::process::Command::new("sh")
        .arg("-c")
        .arg("ulimit -n 256 && exec \"$0\" \"$@\"")
        .arg(env!("CARGO_BIN_EXE_entraprobe"))
        .args(args)
        .env_clear()
        .envs(emulator.env())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run entraprobe");
    let pid = child.id().expect("pid");
    let mut stdout = child.stdout.take().expect("stdout");
    let mut stderr = child.stderr.take().expect("stderr");
    let read_out = tokio::spawn(async move {
        let mut buf = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut stdout, &mut buf)
            .await
            .ok();
        buf
    });
    let read_err = tokio::spawn(async move {
        let mut buf = Vec::new();
        tokio::io::AsyncReadExt::read_to_end(&mut stderr, &mut buf)
            .await
            .ok();
        buf
    });
    let mut peak_kib = 0;
    loop {
        if let Some(kib) = peak_rss_kib(pid) {
            peak_kib = peak_kib.max(kib);
        }
        match tokio::time::timeout(Duration::from_millis(10), child.wait()).await {
            Ok(_) => break,
            Err(_) => continue,
        }
    }
    let wall = started.elapsed();
    let out = read_out.await.unwrap_or_default();
    let err = read_err.await.unwrap_or_default();
    let report = serde_json::from_slice(&out).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}); stderr:\n{}",
            String::from_utf8_lossy(&err)
        )
    });
    Measured {
        wall,
        peak_kib,
        report,
        stderr: String::from_utf8_lossy(&err).into_owned(),
    }
}

async fn counter(emulator: &RunningEmulator) -> serde_json::Value {
    reqwest::Client::builder()
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
        .expect("counter JSON")
}

async fn estate(accounts: usize) {
    let scenario = Scenario::parse(&scenario(accounts), "estate bench").expect("scenario");
    let dir = tempfile::tempdir().expect("tempdir");
    let emulator = RunningEmulator::start(
        scenario,
        EmulatorOptions {
            port: 0,
            dir: dir.path().to_path_buf(),
        },
    )
    .await
    .expect("emulator");
    let base = ["run", "--output", "json", "--credential", "environment"];

    // The chain, measured: one target, the same source, the same stages.
    let one = format!(
        "one=language@https://estate-acct00001.cognitiveservices.azure.com/,resource=/subscriptions/{}/resourceGroups/rg-1/providers/Microsoft.CognitiveServices/accounts/acct00001",
        SUBSCRIPTIONS[1]
    );
    let mut chain_args = base.to_vec();
    chain_args.extend(["--service", one.as_str()]);
    let chain = run_limited(&emulator, &chain_args).await.wall;
    let before = counter(&emulator).await;

    let mut args = base.to_vec();
    args.extend(["--discover", "--timeout", "60s"]);
    let m = run_limited(&emulator, &args).await;
    let after = counter(&emulator).await;
    let delta = |surface: &str| {
        after["by_surface"][surface].as_u64().unwrap_or(0)
            - before["by_surface"][surface].as_u64().unwrap_or(0)
    };
    let cells = m.report["cells"].as_array().map_or(0, Vec::len) as u64;
    let waves = cells.div_ceil(PROBE_CONCURRENCY);
    let floor = chain + Duration::from_millis(waves.saturating_sub(1) * LATENCY_MS);
    println!("estate: {accounts} accounts, {cells} cells, latency {LATENCY_MS} ms, ulimit -n 256");
    println!("  wall time                 {:>8.0} ms", ms(m.wall));
    println!(
        "  floor                     {:>8.0} ms  (one-target chain {:.0} ms + {} more probe waves of {LATENCY_MS} ms)",
        ms(floor),
        ms(chain),
        waves.saturating_sub(1)
    );
    println!(
        "  wall / floor              {:>8.2}",
        ms(m.wall) / ms(floor)
    );
    println!(
        "  peak RSS                  {:>8.1} MB",
        m.peak_kib as f64 / 1024.0
    );
    println!(
        "  requests: arm {}, resource_graph {}, entra {}, dataplane {}",
        delta("arm"),
        delta("resource_graph"),
        delta("entra"),
        delta("dataplane")
    );
    println!("  summary {}", m.report["summary"]);
    if m.report["summary"]["pass"].as_u64() != Some(cells) {
        let codes: std::collections::BTreeMap<String, usize> = m.report["cells"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["verdict"] != "pass")
            .map(|c| c["findings"][0]["code"].as_str().unwrap_or("?").to_string())
            .fold(Default::default(), |mut acc, code| {
                *acc.entry(code).or_default() += 1;
                acc
            });
        println!("  NOT EVERY CELL PASSED: {codes:?}");
        println!(
            "  stderr: {}",
            m.stderr.lines().take(5).collect::<Vec<_>>().join(" | ")
        );
    }
    emulator.shutdown().await;
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn main() {
    let sizes: Vec<usize> = std::env::var("ENTRAPROBE_ESTATE_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![500, 2000, 5000]);
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    for n in sizes {
        runtime.block_on(estate(n));
    }
}
