//! Property-checking fuzzing of everything that takes outside input: scenario and `--config`
//! files, flags, JWTs (structure-aware: valid base64url of mutated JSON claims, as well as byte
//! mutants), the HTTP answers the probe classifies, ARM JSON, the Azure CLI's output as the
//! credential source classifies it, PEM/PFX certificate files, the emulator's raw HTTP, and every
//! report renderer. Seeds are valid inputs; each round flips, inserts, deletes, duplicates and
//! truncates bytes, and splices in hostile text (terminal escapes, CI commands, a registered
//! secret in its encodings, a JWT). Besides "no panic", the properties checked are:
//!
//! - a 401 or 403 is never classified as authorized;
//! - no rendered output (table plain and coloured, JSON, JUnit, Markdown, GitHub, Azure DevOps,
//!   and the text and JSON of `decode`/`token`) holds a JWT, a registered secret in any of its
//!   encodings, a masked claim's value, a control character other than newline and tab (the
//!   coloured table's own SGR codes aside), or a CI command that is not our own;
//! - an acquired token is registered with the redactor;
//! - a credential error text (an Entra, IMDS or CLI answer) is never classified as a token, and
//!   its findings hold no token or secret, for every source and every last answer;
//! - a PEM or PFX certificate file gives a key that signs, or an error that names the file and
//!   quotes neither its content nor its password;
//! - the emulator, over loopback TCP, answers every raw request with HTTP or closes the
//!   connection once the client has sent everything, no server task panics, and it still serves
//!   afterwards.
//!
//! Deterministic (fixed seeds) so a failure reproduces, and bounded so `cargo test` spends a few
//! seconds here. For a longer session, raise the rounds per seed and vary the seed:
//!
//! ```text
//! ENTRAPROBE_FUZZ_ROUNDS=20000 ENTRAPROBE_FUZZ_SEED=7 cargo test --release --test fuzz_parsers
//! ```
//!
//! `ENTRAPROBE_FUZZ_ROUNDS` sets the rounds per seed of every target (the defaults differ per
//! target, by cost); `ENTRAPROBE_FUZZ_SEED` changes the mutation stream.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use entraprobe::credential::SourceId;
use entraprobe::diagnosis::{Code, Finding, Severity};
use entraprobe::emulator::scenario::Scenario;
use entraprobe::emulator::{EmuRequest, World};
use entraprobe::probe::{
    Cell, CredentialRow, CredentialStatus, Expectation, HttpSummary, Principal, PrincipalType,
    Report, RowId, SCHEMA_VERSION, Stages, ToolInfo, Verdict,
};
use entraprobe::service::{CallOutcome, Response, ServiceKind, Target, classify};
use serde_json::{Value, json};
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
    // Terminal escapes and CI commands.
    b"\x1b[2J",
    b"\x1b]0;t\x07",
    b"\xc2\x9b31m",
    b"\r",
    b"\r::error::x\n",
    b"::stop-commands::t\n",
    b"##vso[task.complete result=Succeeded;]",
    b"##[error]",
    "\u{202e}".as_bytes(),
    // The registered secret in its encodings, and a token.
    SECRET.as_bytes(),
    b"Fz9Q%7EHk.bQ_c+d%2Fe-fuzz",
    b"Fz9Q%7eHk.bQ_c%20d%2fe-fuzz",
    b"Fz9Q\\u007eHk.bQ_c d\\/e-fuzz",
    ECHO_JWT.as_bytes(),
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

/// Rounds per seed: `ENTRAPROBE_FUZZ_ROUNDS`, or the target's default.
fn rounds(default: usize) -> usize {
    std::env::var("ENTRAPROBE_FUZZ_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn rng_for(name: &str) -> Rng {
    let seed: u64 = std::env::var("ENTRAPROBE_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut h = 0x9e37_79b9_7f4a_7c15u64 ^ seed.wrapping_mul(0x1000_0000_01b3);
    for b in name.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x1000_0000_01b3);
    }
    Rng(h | 1)
}

/// Run `f` on `rounds(default)` mutants of each seed; report the first input that panics (a
/// failed property is a panic too).
fn fuzz(name: &str, seeds: &[Vec<u8>], default: usize, mut f: impl FnMut(&[u8])) {
    let mut rng = rng_for(name);
    for seed in seeds {
        f(seed);
        for _ in 0..rounds(default) {
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
    fuzz("scenario", &seeds, 500, |input| {
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
    fuzz("flags", &seeds, 400, |input| {
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
    register_fixtures();
    fuzz("claims", &seeds, 800, |input| {
        let text = String::from_utf8_lossy(input);
        match entraprobe::claims::decode(&text) {
            Ok(claims) => {
                let _ = entraprobe::claims::principal(&claims);
                let _ =
                    entraprobe::claims::judge(&claims, "https://cognitiveservices.azure.com", now);
            }
            // The error is printed: it must not repeat the token.
            Err(e) => assert_eq!(leak(&e.to_string(), &[]), None, "{e}"),
        }
        let redacted = entraprobe::redact::redact(&text);
        assert_eq!(
            entraprobe::redact::redact(&redacted),
            redacted,
            "redaction is stable"
        );
        assert_eq!(leak(&redacted, &[]), None, "{redacted}");
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
            audience: None,
        })
        .collect();
    let statuses = [200u16, 301, 400, 401, 403, 404, 429, 500, 503, 0, 999];
    register_fixtures();
    let mut n = 0usize;
    fuzz("classify", &bodies, 600, |body| {
        n += 1;
        let target = &targets[n % targets.len()];
        let status = statuses[n % statuses.len()];
        let headers = vec![
            (
                "retry-after".to_string(),
                String::from_utf8_lossy(&body[..body.len().min(8)]).into_owned(),
            ),
            (
                "x-ms-request-id".to_string(),
                String::from_utf8_lossy(&body[body.len() / 2..]).into_owned(),
            ),
        ];
        let outcome = classify(
            target,
            &Response {
                status,
                headers: &headers,
                body,
            },
        );
        if status == 401 || status == 403 {
            assert!(
                !matches!(outcome, CallOutcome::Authorized { .. }),
                "{status} classified as authorized: {outcome:?}"
            );
        }
        // Rendering is the slow part: every few rounds, the outcome goes through every format.
        if n.is_multiple_of(40) {
            let verdict = match outcome {
                CallOutcome::Authorized { .. } => Verdict::Pass,
                CallOutcome::Denied { .. } => Verdict::Fail,
                CallOutcome::Inconclusive { .. } => Verdict::Inconclusive,
            };
            let mut report = report_of(&[&String::from_utf8_lossy(body)]);
            let cell = &mut report.cells[0];
            cell.verdict = verdict;
            cell.met = false;
            cell.findings = outcome.findings().to_vec();
            check_every_format(&report, &[]);
        }
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
    fuzz("emulator", &seeds, 600, |input| {
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

// ------------------------------------------------------------------------------- properties

/// A registered secret shaped like an Azure-generated one (`~`, `.`, `_`), with a space and a
/// slash so every encoding differs from the raw text.
const SECRET: &str = "Fz9Q~Hk.bQ_c d/e-fuzz";
/// How an echoing server writes [`SECRET`]: URL-encoded with `%7E`, `%7e` or a raw `~`,
/// form-encoded (`+`), JSON-escaped.
const SECRET_FORMS: [&str; 6] = [
    SECRET,
    "Fz9Q~Hk.bQ_c%20d%2Fe-fuzz",
    "Fz9Q~Hk.bQ_c%20d%2fe-fuzz",
    "Fz9Q%7EHk.bQ_c+d%2Fe-fuzz",
    "Fz9Q%7eHk.bQ_c+d%2fe-fuzz",
    "Fz9Q\\u007eHk.bQ_c d\\/e-fuzz",
];
const ECHO_PAYLOAD: &str =
    "eyJvaWQiOiJmdXp6LWVjaG8iLCJhdWQiOiJodHRwczovL2NvZ25pdGl2ZXNlcnZpY2VzLmF6dXJlLmNvbSJ9";
const ECHO_SIGNATURE: &str =
    "ZnV6ei1zaWduYXR1cmUtYnl0ZXMtdGhhdC1tdXN0LW5ldmVyLWJlLXByaW50ZWQtYW55d2hlcmUtYXQtYWxs";
/// An "acquired" token: registered as the credential sources register theirs.
const ECHO_JWT: &str = concat!(
    "eyJhbGciOiJSUzI1NiJ9",
    ".",
    "eyJvaWQiOiJmdXp6LWVjaG8iLCJhdWQiOiJodHRwczovL2NvZ25pdGl2ZXNlcnZpY2VzLmF6dXJlLmNvbSJ9",
    ".",
    "ZnV6ei1zaWduYXR1cmUtYnl0ZXMtdGhhdC1tdXN0LW5ldmVyLWJlLXByaW50ZWQtYW55d2hlcmUtYXQtYWxs"
);

fn register_fixtures() {
    entraprobe::redact::register(SECRET);
    entraprobe::redact::register_token(ECHO_JWT);
}

/// What in `text` must never be printed: a JWT, the secret in one of its forms, a piece of the
/// registered token, or one of `extra`.
fn leak(text: &str, extra: &[&str]) -> Option<String> {
    for (i, _) in text.match_indices("eyJ") {
        let rest = &text[i..];
        let part = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .unwrap_or(rest.len());
        if part >= 10 && rest[part..].starts_with(".eyJ") {
            return Some(format!("a JWT at byte {i}"));
        }
    }
    for form in SECRET_FORMS {
        if text.contains(form) {
            return Some(format!("the secret as {form}"));
        }
    }
    for piece in [&ECHO_PAYLOAD[8..40], &ECHO_SIGNATURE[8..40]] {
        if text.contains(piece) {
            return Some(format!("a token piece {piece}"));
        }
    }
    extra
        .iter()
        .find(|e| text.contains(*e))
        .map(|e| format!("the masked value {e}"))
}

/// `text` without the SGR colour sequences (`ESC [ digits;… m`) the coloured table adds itself.
fn without_own_colours(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("\u{1b}[") {
        out.push_str(&rest[..at]);
        let end = rest[at + 2..]
            .find(|c: char| !(c.is_ascii_digit() || c == ';'))
            .map(|n| at + 2 + n);
        match end {
            Some(end) if rest[end..].starts_with('m') => rest = &rest[end + 1..],
            _ => {
                out.push_str("\u{1b}[");
                rest = &rest[at + 2..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A control character (other than newline and tab) or bidi control, an Azure Pipelines command
/// anywhere but our own line starts, or a GitHub command at a line start other than our own.
fn ci_injection(format: &str, text: &str) -> Option<String> {
    let text = if format == "table-color" {
        without_own_colours(text)
    } else {
        text.to_string()
    };
    if let Some(c) = text.chars().find(|&c| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    }) {
        return Some(format!("control character {c:?}"));
    }
    for line in text.lines() {
        let lower = line.to_ascii_lowercase();
        let own_vso = format == "azdo"
            && (line.starts_with("##vso[task.logissue ")
                || line.starts_with("##vso[task.complete "));
        if lower.matches("##vso[").count() > usize::from(own_vso)
            || (lower.contains("##[") && !own_vso)
        {
            return Some(format!("an Azure Pipelines command in {line:?}"));
        }
        let own_annotation = format == "github"
            && ["::error title=", "::warning title=", "::notice title="]
                .iter()
                .any(|p| line.starts_with(p));
        if line.trim_start().starts_with("::") && !own_annotation {
            return Some(format!("a GitHub command in {line:?}"));
        }
    }
    None
}

/// Render `report` in every format and check each output.
fn check_every_format(report: &Report, extra: &[&str]) {
    use entraprobe::report::{azdo, github, json, junit, markdown, table};
    for (format, out) in [
        ("table", table::render(report, false)),
        ("table-color", table::render(report, true)),
        ("json", json::render(report)),
        ("junit", junit::render(report)),
        ("markdown", markdown::render(report)),
        ("github", github::render(report)),
        ("azdo", azdo::render(report)),
    ] {
        if let Some(what) = leak(&out, extra).or_else(|| ci_injection(format, &out)) {
            panic!("{format} output holds {what}:\n{out}");
        }
    }
}

/// A report whose every text field is one of `texts` (in turn): two credential rows and an
/// admin-mode row, two services, a cell for each pair with a finding, a failed row with one.
fn report_of(texts: &[&str]) -> Report {
    let mut i = 0;
    let mut next = || {
        i += 1;
        texts[i % texts.len()].to_string()
    };
    let services: Vec<Target> = [ServiceKind::Openai, ServiceKind::Speech]
        .into_iter()
        .map(|kind| Target {
            name: next(),
            kind,
            endpoint: next(),
            resource_id: Some(next()),
            region: Some(next()),
            index: Some(next()),
            audience: Some(next()),
        })
        .collect();
    let rows: Vec<RowId> = vec![SourceId::AzureCli.into(), RowId::Principal(next())];
    let mut cells = Vec::new();
    for (r, row) in rows.iter().enumerate() {
        for (s, service) in services.iter().enumerate() {
            let (verdict, expected, met) = [
                (Verdict::Fail, Expectation::Allow, false),
                (Verdict::Inconclusive, Expectation::Allow, false),
                (Verdict::Pass, Expectation::Allow, true),
                (Verdict::Pass, Expectation::Deny, false),
            ][r * 2 + s];
            cells.push(Cell {
                credential: row.clone(),
                service: service.name.clone(),
                verdict,
                expected,
                met,
                stages: Stages {
                    token: next(),
                    claims: next(),
                    rbac: next(),
                    call: next(),
                },
                http: Some(HttpSummary {
                    method: next(),
                    url: next(),
                    status: 403,
                    request_id: Some(next()),
                    retry_after_s: None,
                    api_version: next(),
                }),
                findings: vec![
                    Finding {
                        code: Code::PermissionDenied,
                        severity: Severity::Error,
                        message: next(),
                        remedy: next(),
                    },
                    Finding {
                        code: Code::LocalAuthEnabled,
                        severity: Severity::Warning,
                        message: next(),
                        remedy: next(),
                    },
                ],
            });
        }
    }
    let principal = Principal {
        object_id: next(),
        tenant_id: next(),
        kind: PrincipalType::User,
        display: next(),
        app_id: Some(next()),
    };
    let failed = CredentialRow {
        id: SourceId::Environment.into(),
        status: CredentialStatus::Failed,
        principal: None,
        findings: vec![Finding {
            code: Code::TokenRequestFailed,
            severity: Severity::Error,
            message: next(),
            remedy: next(),
        }],
    };
    Report {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo::default(),
        cloud: next(),
        duration_ms: 1,
        credentials: vec![
            CredentialRow {
                id: rows[0].clone(),
                status: CredentialStatus::Acquired,
                principal: Some(principal),
                findings: vec![],
            },
            CredentialRow {
                id: rows[1].clone(),
                status: CredentialStatus::Acquired,
                principal: None,
                findings: vec![],
            },
            failed,
        ],
        summary: Report::summarize(&cells),
        default_credential: Some(SourceId::AzureCli),
        discovery: None,
        services,
        cells,
    }
}

/// Text a hostile server could send, to be mutated further.
const HOSTILE_SEEDS: [&str; 4] = [
    "{\"error\":{\"code\":\"PermissionDenied\",\"message\":\"denied \u{1b}[2J\u{1b}]0;t\u{7} ##vso[task.complete result=Succeeded;]\"}}",
    "client_id=x&client_secret=Fz9Q%7EHk.bQ_c+d%2Fe-fuzz&grant_type=client_credentials\r::error::forged\n::stop-commands::x",
    "Authorization: Bearer eyJvaWQiOiJmdXp6LWVjaG8iLCJhdWQiOiJodHRwczovL2NvZ25pdGl2ZXNlcnZpY2VzLmF6dXJlLmNvbSJ9.ZnV6ei1zaWduYXR1cmUtYnl0ZXMtdGhhdC1tdXN0LW5ldmVyLWJlLXByaW50ZWQtYW55d2hlcmUtYXQtYWxs",
    "alice@contoso.com \u{202e}fdp.exe \u{9b}31m\u{85} ##[error] | <b>*x*</b> %0A %AZP25 ]; `code`",
];

#[test]
fn renderers() {
    register_fixtures();
    let seeds: Vec<Vec<u8>> = HOSTILE_SEEDS
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
    let mut rng = rng_for("renderers-pick");
    let mut pool: Vec<String> = HOSTILE_SEEDS.iter().map(|s| s.to_string()).collect();
    pool.push(ECHO_JWT.to_string());
    pool.extend(SECRET_FORMS.iter().map(|s| s.to_string()));
    fuzz("renderers", &seeds, 15, |input| {
        let mutant = String::from_utf8_lossy(input).into_owned();
        let a = pool[rng.below(pool.len())].clone();
        let b = format!("{} {mutant}", pool[rng.below(pool.len())]);
        check_every_format(&report_of(&[&mutant, &a, &b]), &[]);
        pool.push(mutant);
        if pool.len() > 64 {
            pool.remove(HOSTILE_SEEDS.len() + 1 + SECRET_FORMS.len());
        }
    });
}

// ------------------------------------------------------------------------------- JWTs

/// Values of secret-looking claims, from a small pool so the redactor's registry stays small.
const CLAIM_SECRETS: [&str; 4] = [
    "fuzz-claim-secret-0a1",
    "fuzz-claim-secret-1b2",
    "fuzz-claim-secret-2c3",
    "fuzz-claim-secret-3d4",
];
const SECRET_CLAIM_NAMES: [&str; 6] = [
    "client_secret",
    "Password",
    "refresh_token",
    "api_key",
    "X-Signing-Key",
    "db_secret",
];
const CLAIM_NAMES: [&str; 14] = [
    "aud",
    "iss",
    "tid",
    "oid",
    "sub",
    "appid",
    "azp",
    "idtyp",
    "upn",
    "name",
    "scp",
    "roles",
    "exp",
    "xms_mirid",
];

/// A random JSON value: hostile strings, extreme numbers, nesting.
fn random_value(rng: &mut Rng, depth: usize) -> Value {
    match rng.below(if depth > 2 { 6 } else { 8 }) {
        0 => json!(HOSTILE_SEEDS[rng.below(HOSTILE_SEEDS.len())]),
        1 => json!(String::from_utf8_lossy(&mutate(rng, b"alice@contoso.com"))),
        2 => json!([i64::MIN, i64::MAX, -1, 0, 1_900_000_000][rng.below(5)]),
        3 => json!([1e308, -0.5, f64::MIN_POSITIVE][rng.below(3)]),
        4 => [Value::Null, json!(true), json!("")][rng.below(3)].clone(),
        5 => json!(SECRET_FORMS[rng.below(SECRET_FORMS.len())]),
        6 => Value::Array(
            (0..rng.below(4))
                .map(|_| random_value(rng, depth + 1))
                .collect(),
        ),
        _ => {
            let mut map = serde_json::Map::new();
            for _ in 0..rng.below(4) {
                let key = if rng.below(2) == 0 {
                    SECRET_CLAIM_NAMES[rng.below(SECRET_CLAIM_NAMES.len())].to_string()
                } else {
                    CLAIM_NAMES[rng.below(CLAIM_NAMES.len())].to_string()
                };
                map.insert(key, random_value(rng, depth + 1));
            }
            Value::Object(map)
        }
    }
}

/// Structure-aware mutation of a claims object: set, replace or remove claims (secret-looking
/// ones get a value from [`CLAIM_SECRETS`]), and sometimes mutate the JSON text itself.
fn mutate_claims(rng: &mut Rng, seed: &Value) -> String {
    let mut claims = seed.clone();
    let map = claims.as_object_mut().expect("seeds are objects");
    for _ in 0..=rng.below(4) {
        match rng.below(4) {
            0 => {
                let name = SECRET_CLAIM_NAMES[rng.below(SECRET_CLAIM_NAMES.len())];
                map.insert(
                    name.into(),
                    json!(CLAIM_SECRETS[rng.below(CLAIM_SECRETS.len())]),
                );
            }
            1 => {
                let name = CLAIM_NAMES[rng.below(CLAIM_NAMES.len())];
                map.remove(name);
            }
            _ => {
                let name = CLAIM_NAMES[rng.below(CLAIM_NAMES.len())];
                let value = random_value(rng, 0);
                map.insert(name.into(), value);
            }
        }
    }
    let text = claims.to_string();
    if rng.below(8) == 0 {
        String::from_utf8_lossy(&mutate(rng, text.as_bytes())).into_owned()
    } else {
        text
    }
}

#[test]
fn jwts_structure_aware() {
    register_fixtures();
    let now = time::OffsetDateTime::now_utc();
    let seeds = [
        json!({"aud":"https://cognitiveservices.azure.com","iss":"https://sts.windows.net/t/","tid":"t","oid":"o","exp":1900000000,"idtyp":"app","appid":"a"}),
        json!({"aud":["x","y"],"upn":"alice@contoso.com","scp":"user_impersonation","exp":1.5e9,"name":"Alice"}),
        json!({"xms_mirid":"/subscriptions/s/resourcegroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/id","oid":"o","cnf":{"jwk":{"kid":"k"}}}),
    ];
    let header = URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"JWT","kid":"k"}"#);
    let signature =
        URL_SAFE_NO_PAD.encode("signature bytes of a structured fuzz token, never shown");
    let mut rng = rng_for("jwts-structured");
    let mut decoded = 0;
    for seed in &seeds {
        for _ in 0..rounds(500) {
            let payload = mutate_claims(&mut rng, seed);
            let token = format!("{header}.{}.{signature}", URL_SAFE_NO_PAD.encode(&payload));
            let claims = match catch_unwind(|| entraprobe::claims::decode(&token)) {
                Err(_) => panic!("decode panicked on payload {payload:?}"),
                Ok(Err(e)) => {
                    assert_eq!(leak(&e.to_string(), &[&signature]), None, "{e}");
                    continue;
                }
                Ok(Ok(claims)) => claims,
            };
            decoded += 1;
            let principal = entraprobe::claims::principal(&claims);
            let findings =
                entraprobe::claims::judge(&claims, "https://cognitiveservices.azure.com", now);
            for json in [false, true] {
                let out = entraprobe::commands::render_claims(
                    "decoded token (signature not verified)",
                    &principal,
                    &claims,
                    &findings,
                    None,
                    json,
                );
                let mut extra: Vec<&str> = CLAIM_SECRETS.to_vec();
                extra.push(&signature);
                if let Some(what) = leak(&out, &extra).or_else(|| ci_injection("decode", &out)) {
                    panic!("decode (json={json}) of {payload:?} prints {what}:\n{out}");
                }
            }
        }
    }
    assert!(
        decoded > rounds(500),
        "most structured mutants decode: {decoded}"
    );
}

// ------------------------------------------------------------------------------- ARM, config

#[test]
fn arm_json() {
    use entraprobe::arm::model::*;
    let seeds: Vec<Vec<u8>> = [
        r#"{"value":[{"id":"/subscriptions/s/providers/Microsoft.Authorization/roleAssignments/a1","name":"a1","properties":{"roleDefinitionId":"/subscriptions/s/providers/Microsoft.Authorization/roleDefinitions/5e0bd9bd-7b93-4f28-af87-19fc36ad61bd","principalId":"p","principalType":"User","scope":"/subscriptions/s","condition":"@Resource[x] StringEquals 'y'","conditionVersion":"2.0","createdOn":"2024-05-01T10:00:00.1234567Z"}}],"nextLink":"https://management.azure.com/next?$skiptoken=x"}"#,
        r#"{"value":[{"id":"/providers/Microsoft.Authorization/roleDefinitions/r","name":"r","properties":{"roleName":"Cognitive Services User","type":"BuiltInRole","permissions":[{"actions":["Microsoft.CognitiveServices/*/read"],"notActions":[],"dataActions":["Microsoft.CognitiveServices/*"],"notDataActions":[]}],"assignableScopes":["/"]}}]}"#,
        r#"{"value":[{"id":"d","name":"d","properties":{"denyAssignmentName":"deny","permissions":[{"actions":[],"dataActions":["*"]}],"principals":[{"id":"00000000-0000-0000-0000-000000000000","type":"SystemDefined"}],"excludePrincipals":[],"scope":"/subscriptions/s","doNotApplyToChildScopes":false}}]}"#,
        r#"{"id":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/a","name":"a","kind":"OpenAI","location":"westeurope","properties":{"endpoint":"https://a.openai.azure.com/","endpoints":{"OpenAI Language Model Instance API":"https://a.openai.azure.com/"},"customSubDomainName":"a","disableLocalAuth":false,"publicNetworkAccess":"Enabled","networkAcls":{"defaultAction":"Deny","ipRules":[{"value":"203.0.113.0/24"}],"virtualNetworkRules":[]},"privateEndpointConnections":[{"properties":{"privateLinkServiceConnectionState":{"status":"Approved"}}}]}}"#,
        r#"{"id":"/subscriptions/s/resourceGroups/rg/providers/Microsoft.Search/searchServices/x","name":"x","location":"westeurope","properties":{"authOptions":{"aadOrApiKey":{"aadAuthFailureMode":"http401WithBearerChallenge"}},"disableLocalAuth":null,"publicNetworkAccess":"disabled","networkRuleSet":{"ipRules":[]}}}"#,
        r#"{"error":{"code":"AuthorizationFailed","message":"The client 'x' with object id 'y' does not have authorization to perform action 'Microsoft.Authorization/roleAssignments/read' over scope '/subscriptions/s'."}}"#,
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    fuzz("arm", &seeds, 400, |input| {
        if let Ok(page) = serde_json::from_slice::<Page<RoleAssignment>>(input) {
            for a in &page.value {
                let _ = (a.role_guid(), a.created_on(), a.condition());
            }
        }
        if let Ok(page) = serde_json::from_slice::<Page<RoleDefinition>>(input) {
            for d in &page.value {
                let _ = (d.guid(), d.display_name(), d.has_data_actions());
            }
        }
        let _ = serde_json::from_slice::<Page<DenyAssignment>>(input);
        let _ = serde_json::from_slice::<Page<Subscription>>(input);
        if let Ok(account) = serde_json::from_slice::<Account>(input) {
            let _ = account.properties.endpoint_urls();
        }
        if let Ok(search) = serde_json::from_slice::<SearchService>(input) {
            let _ = search.properties.search_auth();
        }
        let _ = serde_json::from_slice::<ErrorEnvelope>(input);
        let text = String::from_utf8_lossy(input);
        let _ = parse_arm_time(&text);
        let _ = trailing_guid(&text);
    });
}

#[test]
fn config_files() {
    use clap::Parser;
    let seeds: Vec<Vec<u8>> = [
        "cloud = \"public\"\ntimeout = \"20s\"\nwait_for_access = \"5m\"\ncredentials = [\"azure-cli\", \"environment\"]\n\n[managed_identity]\nclient_id = \"00001111-aaaa-2222-bbbb-3333cccc4444\"\n\n[[service]]\nname = \"oai\"\nkind = \"openai\"\nendpoint = \"https://contoso.openai.azure.com/\"\nresource_id = \"/subscriptions/s/resourceGroups/rg/providers/Microsoft.CognitiveServices/accounts/contoso\"\nexpect_deny = [\"azure-cli\"]\n",
        "[[service]]\nname = \"search\"\nkind = \"search\"\nendpoint = \"https://x.search.windows.net\"\nindex = \"products\"\n\n[[service]]\nname = \"speech\"\nkind = \"speech\"\nendpoint = \"https://westeurope.api.cognitive.microsoft.com/\"\nregion = \"westeurope\"\n",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("entraprobe.toml");
    let path_text = path.display().to_string();
    fuzz("config", &seeds, 300, |input| {
        std::fs::write(&path, input).unwrap();
        let cli =
            entraprobe::cli::Cli::try_parse_from(["entraprobe", "run", "--config", &path_text])
                .expect("the flags themselves are valid");
        let entraprobe::cli::Command::Run(args) = cli.command else {
            unreachable!("a run command")
        };
        if let Err(e) = entraprobe::config::Config::from_run_args(&args) {
            assert!(!e.to_string().trim().is_empty());
        }
    });
}

// ------------------------------------------------------------------ credential error texts

/// azure_identity's wording around an Entra answer, as `errors::error_text` flattens it: the
/// message, the troubleshooting link, then `[HTTP status]` and the body.
fn sdk_error(credential: &str, description: &str, status: u16, body: &str) -> String {
    format!(
        "{credential} authentication failed. {description}\nTo troubleshoot, visit https://aka.ms/azsdk/rust/identity/troubleshoot\n[HTTP {status}] {body}"
    )
}

/// Credential error classification: mutated AADSTS bodies, IMDS answers and CLI outputs (some
/// echoing the secret or a token) never panic, never become `Acquired`, and leave no token or
/// secret in any finding's message or remedy, for every source and every last answer.
#[test]
fn credential_error_texts() {
    use entraprobe::claims::Claims;
    use entraprobe::credential::Acquisition;
    use entraprobe::credential::errors::{FailureContext, classify, classify_with_answer};
    use entraprobe::credential::transport::LastAnswer;
    use std::time::Duration;
    register_fixtures();
    let aadsts = r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '00001111-aaaa-2222-bbbb-3333cccc4444'. Trace ID: 0000aaaa-11bb-cccc-dd22-eeeeee333333 Correlation ID: aaaa0000-bb11-2222-33cc-444444dddddd Timestamp: 2024-06-15 08:22:51Z","error_codes":[7000215],"timestamp":"2024-06-15 08:22:51Z","trace_id":"0000aaaa-11bb-cccc-dd22-eeeeee333333","correlation_id":"aaaa0000-bb11-2222-33cc-444444dddddd","error_uri":"https://login.microsoftonline.com/error?code=7000215"}"#;
    let echoed = format!(
        r#"{{"error":"invalid_request","error_description":"AADSTS900144: The request body must contain the following parameter: 'grant_type'. Received: client_id=x&client_secret={}&client_assertion={ECHO_JWT}"}}"#,
        SECRET_FORMS[3]
    );
    let seeds: Vec<Vec<u8>> = [
        sdk_error("ClientSecretCredential", "", 401, aadsts),
        sdk_error("ClientSecretCredential", "", 400, &echoed),
        sdk_error("ClientAssertionCredential", "AADSTS700213: No matching federated identity record found for presented assertion subject 'repo:contoso/app:ref:refs/heads/main'. Check your federated identity credential Subject, Audience and Issuer against the presented assertion.", 400, r#"{"error":"invalid_client","error_codes":[700213]}"#),
        sdk_error("ClientSecretCredential", "AADSTS90002: Tenant 'aaaabbbb-0000-cccc-1111-dddd2222eeee' not found.", 400, "{}"),
        sdk_error("ManagedIdentityCredential", "The requested identity has not been assigned to this resource", 400, r#"{"error":"invalid_request","error_description":"Identity not found"}"#),
        sdk_error("ManagedIdentityCredential", "", 400, r#"{"error":"invalid_request","error_description":"Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request"}"#),
        "AzureCliCredential authentication failed. ERROR: Please run 'az login' to setup account.\n".to_string(),
        "AzureCliCredential authentication failed. ERROR: AADSTS70043: The refresh token has expired or is invalid due to sign-in frequency checks by conditional access.\nTrace ID: x\n".to_string(),
        format!("AzureCliCredential authentication failed. unexpected output: {{\"accessToken\": \"{ECHO_JWT}\", \"expiresOn\": \"2026-01-01 10:00:00.000000\", \"tokenType\": \"Bearer\"}}"),
        "AzureCliCredential authentication failed. Azure CLI not found on PATH".to_string(),
        "AzureDeveloperCliCredential authentication failed. \nERROR: not logged in, run `azd auth login` to login\n".to_string(),
        format!("ClientSecretCredential authentication failed. error sending request\nclient error (Connect)\ninvalid peer certificate: UnknownIssuer\nsecret {SECRET}"),
        "WorkloadIdentityCredential authentication failed. error sending request\ndns error: failed to lookup address information: Name or service not known".to_string(),
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    let cloud = entraprobe::cloud::Cloud::Public.profile();
    let selector = entraprobe::credential::UserAssignedSelector::ClientId(
        "33333333-3333-4333-8333-333333333333".into(),
    );
    let contexts: Vec<FailureContext> = SourceId::ALL
        .iter()
        .map(|&source| {
            let mut fc = FailureContext::new(source, cloud);
            fc.tenant = Some("aaaabbbb-0000-cccc-1111-dddd2222eeee");
            fc.client_id = Some("00001111-aaaa-2222-bbbb-3333cccc4444");
            if matches!(source, SourceId::GithubActions | SourceId::WorkloadIdentity) {
                fc.presented = Some(Claims {
                    iss: Some("https://token.actions.githubusercontent.com".into()),
                    sub: Some("repo:contoso/app:ref:refs/heads/main".into()),
                    aud: Some("api://AzureADTokenExchange".into()),
                    ..Default::default()
                });
            }
            if source == SourceId::ManagedIdentity {
                fc.user_assigned = Some(&selector);
            }
            fc
        })
        .collect();
    let host = "login.microsoftonline.com".to_string();
    let answers = [
        None,
        Some(LastAnswer::Status {
            host: host.clone(),
            status: 429,
            retry_after: Some(Duration::from_secs(2)),
            tries: 3,
        }),
        Some(LastAnswer::Status {
            host: host.clone(),
            status: 400,
            retry_after: None,
            tries: 1,
        }),
        Some(LastAnswer::Reset {
            host: host.clone(),
            tries: 3,
        }),
        Some(LastAnswer::TooLarge { host }),
    ];
    let check = |what: &str, acquisition: Acquisition, text: &str| {
        let findings = match &acquisition {
            Acquisition::Acquired { .. } => {
                panic!("{what}: an error text became a token: {text:?}")
            }
            Acquisition::Failed { findings } | Acquisition::Skipped { findings, .. } => findings,
        };
        assert!(
            !findings.is_empty(),
            "{what}: a failure without a finding: {text:?}"
        );
        for f in findings {
            for shown in [&f.message, &f.remedy] {
                if let Some(leaked) = leak(shown, &[]) {
                    panic!("{what}: the finding holds {leaked}: {shown}");
                }
            }
        }
    };
    let mut n = 0usize;
    fuzz("credential-errors", &seeds, 60, |input| {
        let text = String::from_utf8_lossy(input);
        n += 1;
        for fc in &contexts {
            check(fc.source.as_str(), classify(&text, fc), &text);
        }
        // One source per round against every last answer keeps the round cheap.
        let fc = &contexts[n % contexts.len()];
        for answer in &answers {
            let what = format!("{} after {answer:?}", fc.source);
            check(
                &what,
                classify_with_answer(&text, answer.as_ref(), fc),
                &text,
            );
        }
    });
}

// ---------------------------------------------------------------- certificate files (PEM, PFX)

/// A PFX (PKCS#12) holding `cert` and its key, opened with `password`; low iteration counts keep
/// each mutant's key derivation cheap (the parser's own caps bound a hostile file's).
fn pfx_of(cert: &entraprobe::emulator::pki::IdentityCertificate, password: &str) -> Vec<u8> {
    use p12_keystore::{Certificate, KeyStore, KeyStoreEntry, PrivateKey, PrivateKeyChain};
    let key = rustls_pemfile::private_key(&mut cert.key_pem.as_bytes())
        .unwrap()
        .expect("a PKCS#8 key");
    let chain = PrivateKeyChain::new(
        vec![1u8; 20],
        PrivateKey::from_der(key.secret_der()).unwrap(),
        [Certificate::from_der(&cert.cert_der).unwrap()],
    );
    let mut store = KeyStore::new();
    store.add_entry("fuzz", KeyStoreEntry::PrivateKeyChain(chain));
    store
        .writer(password)
        .encryption_iterations(16)
        .mac_iterations(16)
        .write()
        .unwrap()
}

/// PEM and PFX loading: every mutant of a valid file gives either a key that signs an assertion
/// or an error that names the file and quotes neither its content nor the password, in bounded
/// time (a hang would show as a mutant taking seconds: the bound only catches runaway work, it
/// is not a speed check).
#[test]
fn certificate_files() {
    use entraprobe::credential::certificate::CertificateSigner;
    use entraprobe::emulator::pki::IdentityCertificate;
    register_fixtures();
    let password = "Fz9Q~Hk.bQ_c d/e-fuzz"; // the registered SECRET: it must never be printed
    let cert = IdentityCertificate::generate("fuzz-cert").unwrap();
    let key_body: String = cert
        .key_pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let seeds: Vec<Vec<u8>> = vec![
        cert.pem_with_key.clone().into_bytes(),
        // Key first, then the certificate, with CRLF line ends, as Windows tools write it.
        format!(
            "{}{}",
            cert.key_pem,
            cert.pem_with_key
                .split("-----BEGIN PRIVATE KEY")
                .next()
                .unwrap()
        )
        .replace('\n', "\r\n")
        .into_bytes(),
        pfx_of(&cert, password),
        pfx_of(&cert, ""),
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("client-cert.pem");
    let mut n = 0usize;
    fuzz("certificates", &seeds, 80, |input| {
        n += 1;
        std::fs::write(&path, input).unwrap();
        let given = n.is_multiple_of(2).then_some(password);
        let started = std::time::Instant::now();
        let loaded = CertificateSigner::load(
            &path,
            given,
            "https://login.microsoftonline.com",
            "aaaabbbb-0000-cccc-1111-dddd2222eeee",
            "00001111-aaaa-2222-bbbb-3333cccc4444",
        );
        let spent = started.elapsed();
        assert!(
            spent < std::time::Duration::from_secs(20),
            "loading took {spent:?}: unbounded work on a hostile file"
        );
        match loaded {
            Ok(signer) => {
                let assertion = signer.sign().expect("a loaded key signs");
                assert_eq!(assertion.split('.').count(), 3, "a compact JWS");
                assert_eq!(signer.thumbprint_hex().len(), 40);
            }
            Err(e) => {
                assert!(
                    e.contains("client-cert.pem"),
                    "the error names the file: {e}"
                );
                assert_eq!(leak(&e, &[password, &key_body[..40]]), None, "{e}");
                assert!(!e.contains("MII"), "the error quotes the file: {e}");
            }
        }
    });
}

// ------------------------------------------------------------ the emulator's raw HTTP parsing

/// Raw HTTP/1.1 mutants over loopback TCP to a running emulator (plain requests, absolute-form
/// proxy requests, CONNECT, chunked bodies): each is answered with HTTP or the connection is
/// closed, within a bound, after the client has sent everything; no server task panics; the
/// emulator still serves a clean request at the end. Few rounds: each is a connection.
#[test]
fn emulator_raw_http() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    // Panics on the emulator's own worker threads are counted (a panicking connection task
    // would otherwise look like a closed connection).
    static SERVER_PANICS: AtomicUsize = AtomicUsize::new(0);
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current()
            .name()
            .is_some_and(|n| n.starts_with("fuzz-emulator"))
        {
            SERVER_PANICS.fetch_add(1, Ordering::SeqCst);
        }
        previous(info);
    }));
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("fuzz-emulator")
        .enable_all()
        .build()
        .unwrap();
    let scenario = Scenario::parse(
        include_str!("fidelity/scenario.toml"),
        "fidelity/scenario.toml",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let emulator = runtime
        .block_on(entraprobe::emulator::RunningEmulator::start(
            scenario,
            entraprobe::emulator::EmulatorOptions {
                port: 0,
                dir: dir.path().to_path_buf(),
            },
        ))
        .unwrap();
    let port = emulator.port();
    let token_body = "grant_type=client_credentials&client_id=11111111-1111-4111-8111-111111111111&client_secret=fidelity-secret-value-1&scope=https%3A%2F%2Fmanagement.azure.com%2F.default";
    let seeds: Vec<Vec<u8>> = [
        "GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://management.azure.com HTTP/1.1\r\nHost: 169.254.169.254\r\nMetadata: true\r\n\r\n".to_string(),
        format!("POST http://login.microsoftonline.com/7f1d5c2a-3b4e-4f60-8a9b-0c1d2e3f4a5b/oauth2/v2.0/token HTTP/1.1\r\nHost: login.microsoftonline.com\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{token_body}", token_body.len()),
        "GET http://fid-openai.openai.azure.com/openai/models?api-version=2024-10-21 HTTP/1.1\r\nHost: fid-openai.openai.azure.com\r\nAuthorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJ4In0.c2ln\r\nAccept: application/json\r\n\r\n".to_string(),
        "POST /msi/token HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\nX-IDENTITY-HEADER: x\r\n\r\n5\r\nhello\r\n0\r\n\r\n".to_string(),
        "CONNECT management.azure.com:443 HTTP/1.1\r\nHost: management.azure.com:443\r\n\r\n".to_string(),
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();

    /// What came back before the server closed. The client gives the server a moment to answer
    /// what it sent, then shuts its side (everything is sent: a server still waiting for more
    /// would wait forever) and reads to the end, which must come within the bound. With the
    /// write side shut, hyper may close without answering a request it is still working on;
    /// that counts as closing.
    async fn exchange(port: u16, input: &[u8]) -> Result<Vec<u8>, String> {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .map_err(|e| format!("connect: {e}"))?;
        stream
            .write_all(input)
            .await
            .map_err(|e| format!("write: {e}"))?;
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        if let Ok(Ok(k)) =
            tokio::time::timeout(Duration::from_millis(30), stream.read(&mut buf)).await
        {
            answer.extend_from_slice(&buf[..k]);
        }
        let _ = stream.shutdown().await;
        let read = tokio::time::timeout(Duration::from_secs(10), async {
            loop {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(k) => answer.extend_from_slice(&buf[..k]),
                }
                if answer.len() > 1 << 20 {
                    break;
                }
            }
        })
        .await;
        match read {
            Ok(()) => Ok(answer),
            Err(_) => Err(format!(
                "neither answered nor closed within 10 s of the client's last byte (got {:?})",
                String::from_utf8_lossy(&answer)
            )),
        }
    }

    /// The head of the answer to a complete request, the connection left open.
    async fn answer_head(port: u16, input: &[u8]) -> Vec<u8> {
        let mut stream = tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .unwrap();
        stream.write_all(input).await.unwrap();
        let mut answer = Vec::new();
        let mut buf = [0u8; 4096];
        let _ = tokio::time::timeout(Duration::from_secs(10), async {
            while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(k) => answer.extend_from_slice(&buf[..k]),
                }
            }
        })
        .await;
        answer
    }

    let answered = Arc::new(AtomicUsize::new(0));
    fuzz("emulator-raw-http", &seeds, 24, |input| {
        let result = runtime.block_on(exchange(port, input));
        let answer = result.unwrap_or_else(|e| panic!("{e}"));
        assert!(
            answer.is_empty() || answer.starts_with(b"HTTP/1."),
            "an answer that is not HTTP: {:?}",
            String::from_utf8_lossy(&answer)
        );
        if !answer.is_empty() {
            answered.fetch_add(1, Ordering::SeqCst);
        }
    });
    // Every seed is answered (the harness is not vacuous), and the server still serves.
    for seed in &seeds {
        let answer = runtime.block_on(answer_head(port, seed));
        assert!(
            answer.starts_with(b"HTTP/1.1 "),
            "a valid request is answered: {:?}",
            String::from_utf8_lossy(seed)
        );
    }
    assert!(answered.load(Ordering::SeqCst) > 0);
    assert_eq!(
        SERVER_PANICS.load(Ordering::SeqCst),
        0,
        "an emulator task panicked (see the panic message above)"
    );
    runtime.block_on(emulator.shutdown());
}
