//! Mutation fuzzing of every parser that takes outside input: scenario files, config files,
//! flags, JWTs, HTTP bodies the probe classifies, and the emulator's request handlers. Seeds are
//! valid inputs; each round flips, inserts, deletes, duplicates and truncates bytes. Nothing may
//! panic. Deterministic (fixed seeds) so a failure reproduces; bounded so it stays quick.
//!
//! `ENTRAPROBE_FUZZ_ROUNDS` raises the rounds for a longer local session.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entraprobe::emulator::scenario::Scenario;
use entraprobe::emulator::{EmuRequest, World};
use entraprobe::service::{Response, ServiceKind, Target, classify};
use std::panic::{AssertUnwindSafe, catch_unwind};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // xorshift64*: plenty for mutation choices.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const SPICE: &[&[u8]] = &[
    b"\"",
    b"'",
    b"\\",
    b"\n",
    b"\r\n",
    b"=",
    b"[",
    b"]",
    b"[[",
    b"{",
    b"}",
    b",",
    b".",
    b"..",
    b"/",
    b"#",
    b"%",
    b"%00",
    b"\0",
    b"\xff",
    b"\xc3\x28",
    "é".as_bytes(),
    "🦀".as_bytes(),
    b"eyJ",
    b"*",
    b"-1",
    b"99999999999999999999",
    b"1e308",
    b"NaN",
    b"true",
    b"null",
    b":",
    b"@",
    b"aad#",
];

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut out = seed.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(out.len() + 1);
        match rng.below(6) {
            0 if !out.is_empty() => {
                let i = rng.below(out.len());
                out[i] ^= 1 << rng.below(8);
            }
            1 => {
                let spice = SPICE[rng.below(SPICE.len())];
                out.splice(at..at, spice.iter().copied());
            }
            2 if !out.is_empty() => {
                let end = (at + 1 + rng.below(16)).min(out.len());
                out.drain(at.min(end)..end);
            }
            3 => {
                let start = rng.below(out.len() + 1);
                let end = (start + rng.below(32)).min(out.len());
                let chunk = out[start..end].to_vec();
                out.splice(at..at, chunk);
            }
            4 => out.truncate(at),
            _ => out.push(rng.below(256) as u8),
        }
    }
    out
}

fn rounds() -> usize {
    std::env::var("ENTRAPROBE_FUZZ_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1500)
}

/// Run `f` on `rounds()` mutants of each seed; report the first input that panics.
fn fuzz(name: &str, seeds: &[Vec<u8>], mut f: impl FnMut(&[u8])) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ name.len() as u64);
    for seed in seeds {
        f(seed);
        for _ in 0..rounds() {
            let input = mutate(&mut rng, seed);
            if catch_unwind(AssertUnwindSafe(|| f(&input))).is_err() {
                panic!(
                    "{name}: panicked on input {:?}",
                    String::from_utf8_lossy(&input)
                );
            }
        }
    }
}

fn jwt(payload: &str) -> String {
    format!(
        "{}.{}.c2lnbmF0dXJl",
        URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"JWT"}"#),
        URL_SAFE_NO_PAD.encode(payload)
    )
}

#[test]
fn scenario_files() {
    let seeds = vec![
        include_str!("../src/emulator/demo.toml")
            .as_bytes()
            .to_vec(),
        include_str!("fidelity/scenario.toml").as_bytes().to_vec(),
    ];
    fuzz("scenario", &seeds, |input| {
        let text = String::from_utf8_lossy(input);
        if let Err(e) = Scenario::parse(&text, "fuzz.toml") {
            assert!(!e.message.is_empty());
        }
    });
}

#[test]
fn flags_and_durations() {
    let seeds: Vec<Vec<u8>> = [
        "oai=openai@https://x.openai.azure.com/,resource=/subscriptions/s/rg,region=westeurope",
        "s=search@https://x.search.windows.net,index=products",
        "1h30m",
        "250ms",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    fuzz("flags", &seeds, |input| {
        let text = String::from_utf8_lossy(input);
        let _ = entraprobe::config::parse_service_flag(&text);
        let _ = entraprobe::config::parse_duration(&text);
        let _ = entraprobe::config::parse_source(&text);
        let _ = entraprobe::config::parse_kind(&text);
        let _ = entraprobe::config::parse_cloud(&text);
        let _ = entraprobe::diagnosis::explain_text(&text);
    });
}

#[test]
fn jwts_and_claims() {
    let now = time::OffsetDateTime::now_utc();
    let seeds: Vec<Vec<u8>> = [
        r#"{"aud":"https://cognitiveservices.azure.com","iss":"https://sts.windows.net/t/","tid":"t","oid":"o","exp":1900000000,"idtyp":"app","appid":"a"}"#,
        r#"{"aud":["x","y"],"upn":"alice@contoso.com","scp":"user_impersonation","exp":1.5e9,"nbf":"soon"}"#,
        r#"{"xms_mirid":"/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id","exp":-5}"#,
        // Extremes of i64: time arithmetic on claims must saturate.
        r#"{"aud":"https://cognitiveservices.azure.com","exp":-9223372036854775808,"nbf":9223372036854775807}"#,
    ]
    .iter()
    .map(|p| jwt(p).into_bytes())
    .collect();
    fuzz("claims", &seeds, |input| {
        let text = String::from_utf8_lossy(input);
        if let Ok(claims) = entraprobe::claims::decode(&text) {
            let _ = entraprobe::claims::principal(&claims);
            let _ = entraprobe::claims::judge(&claims, "https://cognitiveservices.azure.com", now);
        }
        let redacted = entraprobe::redact::redact(&text);
        let _ = entraprobe::redact::redact(&redacted);
    });
}

#[test]
fn probe_responses() {
    let bodies: Vec<Vec<u8>> = [
        r#"{"error":{"code":"PermissionDenied","message":"The principal `11112222-bbbb-3333-cccc-4444dddd5555` lacks the required data action `Microsoft.CognitiveServices/accounts/OpenAI/models/read` to perform `GET /openai/models` operation."}}"#,
        r#"{"statusCode":401,"message":"Unauthorized. Access token is missing, invalid, audience is incorrect (https://cognitiveservices.azure.com), or have expired."}"#,
        r#"{"error":{"code":"403","message": "Access denied due to Virtual Network/Firewall rules."}}"#,
        r#"{"error":{"code":"Tenant provided in token does not match resource token","message":"Token tenant a does not match resource tenant."}}"#,
        r#"{"error":{"code":401000,"message":"The request isn't authorized because credentials are missing or invalid."}}"#,
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    let targets: Vec<Target> = ServiceKind::ALL
        .iter()
        .map(|&kind| Target {
            name: "t".into(),
            kind,
            endpoint: "https://x.cognitiveservices.azure.com/".into(),
            resource_id: Some("/subscriptions/s/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/x".into()),
            region: Some("westeurope".into()),
            index: None,
        })
        .collect();
    let statuses = [200u16, 301, 400, 401, 403, 404, 429, 500, 503, 0, 999];
    let mut n = 0usize;
    fuzz("classify", &bodies, |body| {
        n += 1;
        let target = &targets[n % targets.len()];
        let headers = vec![(
            "retry-after".to_string(),
            String::from_utf8_lossy(&body[..body.len().min(8)]).into_owned(),
        )];
        let _ = classify(
            target,
            &Response {
                status: statuses[n % statuses.len()],
                headers: &headers,
                body,
            },
        );
    });
}

#[test]
fn emulator_handlers() {
    let scenario = Scenario::parse(include_str!("../src/emulator/demo.toml"), "demo.toml").unwrap();
    let world = World::new(scenario).unwrap();
    let seeds: Vec<Vec<u8>> = [
        "GET management.azure.com /subscriptions/5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f/providers/Microsoft.Authorization/roleAssignments $filter=assignedTo('x')&api-version=2022-04-01",
        "GET contoso-openai.openai.azure.com /openai/models api-version=2024-10-21",
        "POST login.microsoftonline.com /0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11/oauth2/v2.0/token grant_type=client_credentials",
        "GET westeurope.tts.speech.microsoft.com /cognitiveservices/voices/list x=1",
        "GET 169.254.169.254 /metadata/identity/oauth2/token api-version=2018-02-01&resource=https://management.azure.com",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    let token = world.signer.sign(&serde_json::json!({"aud": "https://management.azure.com", "tid": world.tenant_id(), "oid": "x", "exp": 4_000_000_000u64}));
    fuzz("emulator", &seeds, |input| {
        let text = String::from_utf8_lossy(input);
        let mut parts = text.splitn(4, ' ');
        let method = parts.next().unwrap_or_default().to_string();
        let host = parts.next().unwrap_or_default().to_ascii_lowercase();
        let path = parts.next().unwrap_or_default().to_string();
        let raw_query = parts.next().unwrap_or_default().to_string();
        let query = form_urlencoded::parse(raw_query.as_bytes())
            .into_owned()
            .collect();
        let req = EmuRequest {
            method,
            host,
            port: 443,
            scheme: "https",
            path,
            raw_query: raw_query.clone(),
            query,
            headers: vec![
                ("authorization".into(), format!("Bearer {token}")),
                ("metadata".into(), "true".into()),
                (
                    "content-type".into(),
                    "application/x-www-form-urlencoded".into(),
                ),
            ],
            body: raw_query.into_bytes(),
        };
        let _ = entraprobe::emulator::server::route_by_host(&world, &req);
    });
}
