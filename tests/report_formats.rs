//! The CI renderers (`report::{junit, markdown, github, azdo}`) over a hand-built report: the
//! JUnit XML holds the JUnit schema's content model, the GitHub and Azure DevOps command lines parse
//! back to the original text, the Markdown table keeps its shape, and no token or registered
//! secret survives any of them.

use entraprobe::credential::SourceId;
use entraprobe::diagnosis::{Code, Finding, Severity};
use entraprobe::probe::{
    Cell, CredentialRow, CredentialStatus, Expectation, HttpSummary, Principal, PrincipalType,
    Report, SCHEMA_VERSION, Stages, ToolInfo, Verdict,
};
use entraprobe::report::{azdo, github, junit, markdown};
use entraprobe::service::{ServiceKind, Target};
use std::path::PathBuf;
use std::process::Command;

/// A token-shaped value whose parts are base64url of `{"alg":"RS256","typ":"JWT"}`,
/// `{"aud":"https://cognitiveservices.azure.com"}` and the text "signature-bytes-that-must-not-leak":
/// no real token, and kept in pieces so no token-shaped literal sits in the source.
const JWT: &str = concat!(
    "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9",
    ".",
    "eyJhdWQiOiJodHRwczovL2NvZ25pdGl2ZXNlcnZpY2VzLmF6dXJlLmNvbSJ9",
    ".",
    "c2lnbmF0dXJlLWJ5dGVzLXRoYXQtbXVzdC1ub3QtbGVhaw"
);
/// Every character some format escapes, so a renderer that escapes before it redacts leaks it.
const SECRET: &str = "Sup3rSecretValue;%,:]&<x\"";
/// What is left in the text when a secret is replaced or a JWT is cut.
const SECRET_CORE: &str = "Sup3rSecretValue";
const JWT_PARTS: [&str; 2] = ["eyJhdWQiOiJodHRwczovL2NvZ25p", "c2lnbmF0dXJlLWJ5dGVz"];

/// A message with every character the CI formats escape: `%`, CR, LF, `:`, `,`, `;`, `]`.
const TRICKY: &str = "100% of calls: denied, retry;\r\nsecond line] done\nthird";

fn target(name: &str, kind: ServiceKind, endpoint: &str) -> Target {
    Target {
        name: name.into(),
        kind,
        endpoint: endpoint.into(),
        resource_id: None,
        region: None,
        index: None,
    }
}

/// A finding built without `Finding::new`, which redacts: the renderers must not rely on it.
fn raw_finding(code: Code, message: &str, remedy: &str) -> Finding {
    Finding {
        code,
        severity: code.default_severity(),
        message: message.into(),
        remedy: remedy.into(),
    }
}

fn cell(
    credential: SourceId,
    service: &str,
    verdict: Verdict,
    expected: Expectation,
    met: bool,
    findings: Vec<Finding>,
) -> Cell {
    Cell {
        credential: credential.into(),
        service: service.into(),
        verdict,
        expected,
        met,
        stages: Stages {
            token: "acquired".into(),
            claims: "aud ok, expires in 59m".into(),
            rbac: "Cognitive Services User at account".into(),
            call: "200".into(),
        },
        http: None,
        findings,
    }
}

fn fixture() -> Report {
    entraprobe::redact::register(SECRET);
    let user = Principal {
        object_id: "11112222-bbbb-3333-cccc-4444dddd5555".into(),
        tenant_id: "aaaabbbb-0000-cccc-1111-dddd2222eeee".into(),
        kind: PrincipalType::User,
        display: "alice@contoso.com".into(),
        app_id: None,
    };
    let app = Principal {
        object_id: "22223333-cccc-4444-dddd-5555eeee6666".into(),
        tenant_id: "aaaabbbb-0000-cccc-1111-dddd2222eeee".into(),
        kind: PrincipalType::ServicePrincipal,
        display: "ci-app | deploy".into(),
        app_id: Some("00001111-aaaa-2222-bbbb-3333cccc4444".into()),
    };
    let services = vec![
        target(
            "openai-prod",
            ServiceKind::Openai,
            "https://contoso-oai.openai.azure.com/",
        ),
        target(
            "speech|prod",
            ServiceKind::Speech,
            "https://westeurope.api.cognitive.microsoft.com/",
        ),
        target(
            "search-docs",
            ServiceKind::Search,
            "https://contoso.search.windows.net/",
        ),
    ];

    let mut regional = cell(
        SourceId::AzureCli,
        "speech|prod",
        Verdict::Fail,
        Expectation::Allow,
        false,
        vec![
            raw_finding(
                Code::RegionalEndpoint,
                &format!("{TRICKY} token {JWT} secret {SECRET}"),
                "az cognitiveservices account update -n contoso-speech -g rg-ai --custom-domain contoso-speech",
            ),
            raw_finding(
                Code::LocalAuthEnabled,
                "keys still work, 2 of them: key1,key2",
                "",
            ),
        ],
    );
    regional.http = Some(HttpSummary {
        method: "GET".into(),
        url: format!(
            "https://westeurope.api.cognitive.microsoft.com/cognitiveservices/voices/list?t={JWT}&s={SECRET}"
        ),
        status: 400,
        request_id: Some("3f2a5d0c-8b11-4d7a-9a7e-0f6c6a2e1b1e".into()),
        retry_after_s: None,
        api_version: "v1".into(),
    });

    let mut ok = cell(
        SourceId::AzureCli,
        "openai-prod",
        Verdict::Pass,
        Expectation::Allow,
        true,
        vec![],
    );
    ok.http = Some(HttpSummary {
        method: "GET".into(),
        url: "https://contoso-oai.openai.azure.com/openai/models?api-version=2024-10-21".into(),
        status: 200,
        request_id: None,
        retry_after_s: None,
        api_version: "2024-10-21".into(),
    });

    let cells = vec![
        ok,
        regional,
        cell(
            SourceId::AzureCli,
            "search-docs",
            Verdict::Inconclusive,
            Expectation::Allow,
            false,
            vec![raw_finding(Code::Timeout, "no response within 20s", "check the proxy")],
        ),
        cell(
            SourceId::Environment,
            "openai-prod",
            Verdict::Fail,
            Expectation::Deny,
            true,
            vec![raw_finding(
                Code::MissingDataAction,
                "lacks `Microsoft.CognitiveServices/accounts/OpenAI/models/read`",
                "az role assignment create --role \"Cognitive Services OpenAI User\"",
            )],
        ),
        cell(SourceId::Environment, "speech|prod", Verdict::Pass, Expectation::Deny, false, vec![]),
        cell(
            SourceId::Environment,
            "search-docs",
            Verdict::Pass,
            Expectation::Allow,
            true,
            vec![raw_finding(Code::AbacCondition, TRICKY, "read the condition")],
        ),
        cell(
            SourceId::ManagedIdentity,
            "openai-prod",
            Verdict::Skip,
            Expectation::Allow,
            // Every source was tried, so this machine simply has no managed identity.
            true,
            vec![raw_finding(Code::ImdsUnreachable, "no answer from 169.254.169.254 within 1s", "")],
        ),
        cell(
            SourceId::GithubActions,
            "openai-prod",
            Verdict::Fail,
            Expectation::Allow,
            false,
            vec![raw_finding(
                Code::FederatedCredentialMismatch,
                "AADSTS70021: No matching federated identity record found for presented assertion. Assertion Subject: 'repo:contoso/app:ref:refs/heads/main'.",
                "az ad app federated-credential create --id 00001111-aaaa-2222-bbbb-3333cccc4444 --parameters fic.json",
            )
            .with_severity(Severity::Error)],
        ),
    ];
    Report {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo::default(),
        cloud: "public".into(),
        duration_ms: 812,
        credentials: vec![
            CredentialRow {
                id: SourceId::AzureCli.into(),
                status: CredentialStatus::Acquired,
                principal: Some(user),
                findings: vec![],
            },
            CredentialRow {
                id: SourceId::Environment.into(),
                status: CredentialStatus::Acquired,
                principal: Some(app),
                findings: vec![],
            },
            CredentialRow {
                id: SourceId::ManagedIdentity.into(),
                status: CredentialStatus::Skipped,
                principal: None,
                findings: vec![raw_finding(
                    Code::ImdsUnreachable,
                    &format!("skipped | {SECRET}"),
                    "",
                )],
            },
            CredentialRow {
                id: SourceId::GithubActions.into(),
                status: CredentialStatus::Failed,
                principal: None,
                findings: vec![],
            },
        ],
        summary: Report::summarize(&cells),
        default_credential: Some(SourceId::AzureCli),
        discovery: None,
        services,
        cells,
    }
}

fn all_met(report: &Report) -> Report {
    let mut r = report.clone();
    r.cells
        .retain(|c| c.met && c.verdict != Verdict::Inconclusive);
    r
}

fn only_inconclusive(report: &Report) -> Report {
    let mut r = report.clone();
    r.cells
        .retain(|c| c.met || c.verdict == Verdict::Inconclusive);
    r
}

// ------------------------------------------------------------------------------- redaction

#[test]
fn no_token_or_registered_secret_survives_any_renderer() {
    let report = fixture();
    for (format, output) in [
        ("junit", junit::render(&report)),
        ("markdown", markdown::render(&report)),
        ("github", github::render(&report)),
        ("azdo", azdo::render(&report)),
    ] {
        assert!(
            !output.contains(SECRET_CORE),
            "{format} leaks the secret:\n{output}"
        );
        for part in JWT_PARTS {
            assert!(
                !output.contains(part),
                "{format} leaks a JWT part:\n{output}"
            );
        }
        assert!(
            output.contains("REDACTED"),
            "{format} lost the redaction marker"
        );
    }
}

/// Text a hostile server, token or file could put in any field: a screen clear, a window title
/// (OSC), an 8-bit CSI, a bare CR that rewrites the line and starts a GitHub command, Azure
/// Pipelines commands mid-line, a GitHub `::stop-commands::`, a bidi override, NUL and NEL.
const HOSTILE: &str = "\u{1b}[2J\u{1b}]0;pwned\u{7} evil\r::error title=x::forged\n##vso[task.complete result=Succeeded;]mid ##VSO[task.setvariable variable=x]1 \u{202e}gnp.exe\u{0}\u{9b}31m\u{85}\n::stop-commands::tok\n  ::add-mask::x ##[error]fake";

/// The fixture with [`HOSTILE`] in every text field the report model has.
fn hostile_fixture() -> Report {
    let mut r = fixture();
    let h = |s: &mut String| s.push_str(HOSTILE);
    h(&mut r.cloud);
    for row in &mut r.credentials {
        if let Some(p) = &mut row.principal {
            h(&mut p.display);
            h(&mut p.object_id);
            h(&mut p.tenant_id);
            p.app_id = Some(HOSTILE.into());
        }
        row.findings
            .push(raw_finding(Code::TokenRequestFailed, HOSTILE, HOSTILE));
    }
    r.credentials.push(CredentialRow {
        id: entraprobe::probe::RowId::Principal(HOSTILE.into()),
        status: CredentialStatus::Failed,
        principal: None,
        findings: vec![raw_finding(Code::TokenRequestFailed, HOSTILE, HOSTILE)],
    });
    for t in &mut r.services {
        h(&mut t.name);
        h(&mut t.endpoint);
        t.resource_id = Some(HOSTILE.into());
        t.region = Some(HOSTILE.into());
        t.index = Some(HOSTILE.into());
    }
    for c in &mut r.cells {
        h(&mut c.service);
        for s in [
            &mut c.stages.token,
            &mut c.stages.claims,
            &mut c.stages.rbac,
            &mut c.stages.call,
        ] {
            h(s);
        }
        let http = c.http.get_or_insert_with(|| HttpSummary {
            method: String::new(),
            url: String::new(),
            status: 403,
            request_id: None,
            retry_after_s: None,
            api_version: String::new(),
        });
        h(&mut http.method);
        h(&mut http.url);
        h(&mut http.api_version);
        http.request_id = Some(HOSTILE.into());
        for f in &mut c.findings {
            h(&mut f.message);
            h(&mut f.remedy);
        }
        c.findings.push(
            raw_finding(Code::PermissionDenied, HOSTILE, HOSTILE).with_severity(Severity::Warning),
        );
    }
    r
}

/// Every format, with the table both plain and coloured.
fn every_format(report: &Report) -> Vec<(&'static str, String)> {
    use entraprobe::report::{json, table};
    vec![
        ("table", table::render(report, false)),
        ("table-color", table::render(report, true)),
        ("json", json::render(report)),
        ("junit", junit::render(report)),
        ("markdown", markdown::render(report)),
        ("github", github::render(report)),
        ("azdo", azdo::render(report)),
    ]
}

/// `text` without the SGR colour sequences (`ESC [ digits;… m`) the coloured table adds itself.
fn without_own_colours(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find("\u{1b}[") {
        out.push_str(&rest[..at]);
        let params = rest[at + 2..]
            .find(|c: char| !(c.is_ascii_digit() || c == ';'))
            .map(|n| at + 2 + n);
        match params {
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

/// What a terminal or a CI agent must never receive from outside text: a control character
/// other than newline and tab, a bidi control, an Azure Pipelines command or `##[` anywhere but
/// our own line starts, a GitHub command at a line start other than our own annotations.
fn ci_injection(format: &str, text: &str) -> Option<String> {
    let text = if format == "table-color" {
        without_own_colours(text)
    } else {
        text.to_string()
    };
    if let Some(c) = text.chars().find(|&c| {
        (c.is_control() && c != '\n' && c != '\t')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200b}')
    }) {
        return Some(format!("control character {c:?}"));
    }
    for line in text.lines() {
        let lower = line.to_ascii_lowercase();
        let own_vso = format == "azdo"
            && (line.starts_with("##vso[task.logissue ")
                || line.starts_with("##vso[task.complete "));
        let allowed = usize::from(own_vso);
        if lower.matches("##vso[").count() > allowed || (lower.contains("##[") && !own_vso) {
            return Some(format!("an Azure Pipelines command in {line:?}"));
        }
        let own_annotation = format == "github"
            && [
                "::error title=entraprobe",
                "::warning title=entraprobe",
                "::notice title=entraprobe",
            ]
            .iter()
            .any(|p| line.starts_with(p));
        if line.trim_start().starts_with("::") && !own_annotation {
            return Some(format!("a GitHub command in {line:?}"));
        }
    }
    None
}

#[test]
fn outside_text_cannot_inject_ci_commands_or_terminal_escapes_in_any_format() {
    let report = hostile_fixture();
    for (format, output) in every_format(&report) {
        assert_eq!(ci_injection(format, &output), None, "{format}:\n{output}");
        // Neutralised, not dropped: the reader still sees what the server said.
        assert!(
            output.contains("forged") && output.contains("evil"),
            "{format}:\n{output}"
        );
    }
    // Our own commands are still there, one per line.
    assert!(github::render(&report).lines().all(|l| l.starts_with("::")));
    assert!(
        azdo::render(&report)
            .lines()
            .all(|l| l.starts_with("##vso[task."))
    );
    assert_valid_junit(&junit::render(&report));
}

/// An Azure-generated client secret (with `~` and `.`), and the ways an echoing endpoint or proxy
/// writes it: percent-encoded with `%7E`, `%7e` or a raw `~`, form-encoded with `+` for a space,
/// JSON-escaped.
const TILDE_SECRET: &str = "Zq48Q~Hk9.bQ_c d/e";
const TILDE_ECHOES: [&str; 6] = [
    "Zq48Q~Hk9.bQ_c d/e",
    "Zq48Q%7EHk9.bQ_c%20d%2Fe",
    "Zq48Q%7eHk9.bQ_c%20d%2fe",
    "Zq48Q~Hk9.bQ_c+d%2Fe",
    "Zq48Q%7EHk9.bQ_c+d%2Fe",
    "Zq48Q\\u007eHk9.bQ_c d\\/e",
];

/// The payload and signature of a token this run acquired (registered as it would be on
/// acquisition), echoed without the header, alone, or truncated.
const ECHO_PAYLOAD: &str =
    "eyJvaWQiOiJlY2hvLXRlc3QiLCJhdWQiOiJodHRwczovL2NvZ25pdGl2ZXNlcnZpY2VzLmF6dXJlLmNvbSJ9";
const ECHO_SIGNATURE: &str =
    "ZWNob2VkLXNpZ25hdHVyZS1ieXRlcy10aGF0LW11c3QtbmV2ZXItYmUtcHJpbnRlZC1hbnl3aGVyZQ";

#[test]
fn a_secret_or_token_piece_echoed_in_any_encoding_is_redacted_in_every_format() {
    entraprobe::redact::register(TILDE_SECRET);
    entraprobe::redact::register_token(&format!(
        "eyJhbGciOiJSUzI1NiJ9.{ECHO_PAYLOAD}.{ECHO_SIGNATURE}"
    ));
    let mut echoes: Vec<String> = TILDE_ECHOES
        .iter()
        .map(|e| format!("client_id=x&client_secret={e}&grant_type=client_credentials"))
        .collect();
    echoes.push(format!(
        "Authorization: Bearer {ECHO_PAYLOAD}.{ECHO_SIGNATURE}"
    ));
    echoes.push(format!("sig {ECHO_SIGNATURE} end"));
    echoes.push(format!("truncated {}…", &ECHO_SIGNATURE[..48]));
    let echo = echoes.join("\n");
    let mut report = fixture();
    for c in &mut report.cells {
        c.stages.call = echo.clone();
        c.findings
            .push(raw_finding(Code::TokenRejected, &echo, "").with_severity(Severity::Warning));
        if let Some(http) = &mut c.http {
            http.url = format!("{}?{}", http.url, echoes[1]);
        }
    }
    for (format, output) in every_format(&report) {
        for secret in TILDE_ECHOES {
            assert!(
                !output.contains(secret),
                "{format} leaks {secret}:\n{output}"
            );
        }
        for piece in [&ECHO_PAYLOAD[10..42], &ECHO_SIGNATURE[10..42]] {
            assert!(
                !output.contains(piece),
                "{format} leaks a token piece:\n{output}"
            );
        }
        assert!(
            output.contains("client\\_credentials") || output.contains("client_credentials"),
            "{format}"
        );
    }
}

// ------------------------------------------------------------------------------- GitHub

/// One parsed workflow command: `::name key=value,key=value::message`.
#[derive(Debug)]
struct WorkflowCommand {
    name: String,
    properties: Vec<(String, String)>,
    message: String,
}

/// The runner's unescaping, in one left-to-right pass so `%250A` stays `%0A`.
fn unescape(text: &str, table: &[(&str, &str)]) -> String {
    let mut out = String::new();
    let mut rest = text;
    'outer: while !rest.is_empty() {
        for (escaped, plain) in table {
            if let Some(after) = rest.strip_prefix(escaped) {
                out.push_str(plain);
                rest = after;
                continue 'outer;
            }
        }
        let c = rest.chars().next().unwrap();
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

const GITHUB_DATA: &[(&str, &str)] = &[("%25", "%"), ("%0D", "\r"), ("%0A", "\n")];
const GITHUB_PROPERTY: &[(&str, &str)] = &[
    ("%25", "%"),
    ("%0D", "\r"),
    ("%0A", "\n"),
    ("%3A", ":"),
    ("%2C", ","),
];

fn parse_github(line: &str) -> WorkflowCommand {
    let body = line
        .strip_prefix("::")
        .unwrap_or_else(|| panic!("not a command: {line}"));
    let end = body
        .find("::")
        .unwrap_or_else(|| panic!("no message separator: {line}"));
    let (head, message) = (&body[..end], &body[end + 2..]);
    let (name, props) = head.split_once(' ').unwrap_or((head, ""));
    let properties = props
        .split(',')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p
                .split_once('=')
                .unwrap_or_else(|| panic!("bad property {p} in {line}"));
            (k.to_string(), unescape(v, GITHUB_PROPERTY))
        })
        .collect();
    WorkflowCommand {
        name: name.into(),
        properties,
        message: unescape(message, GITHUB_DATA),
    }
}

#[test]
fn github_commands_parse_back_to_the_original_text() {
    let report = fixture();
    let output = github::render(&report);
    let commands: Vec<WorkflowCommand> = output.lines().map(parse_github).collect();
    let title = |c: &WorkflowCommand| {
        c.properties
            .iter()
            .find(|(k, _)| k == "title")
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };

    let errors: Vec<_> = commands.iter().filter(|c| c.name == "error").collect();
    let error_titles: Vec<String> = errors.iter().map(|c| title(c)).collect();
    assert_eq!(
        error_titles,
        [
            "entraprobe: azure-cli → speech|prod: regional-endpoint",
            "entraprobe: environment → speech|prod: unexpected-access",
            "entraprobe: github-actions → openai-prod: federated-credential-mismatch",
        ],
        "one error per cell that did not meet its expectation, titles with `:` round-tripped"
    );
    let regional = errors[0];
    let expected_message = entraprobe::redact::scrub(TRICKY);
    assert!(
        regional.message.contains(&expected_message),
        "`%`, CR, LF, `:`, `,`, `;`, `]` must survive:\n{:?}",
        regional.message
    );
    assert!(regional.message.contains("expected allow, got fail"));
    assert!(
        regional
            .message
            .contains("Fix: az cognitiveservices account update")
    );
    assert!(
        regional.message.contains("local-auth-enabled"),
        "every finding of the cell"
    );

    let warnings: Vec<String> = commands
        .iter()
        .filter(|c| c.name == "warning")
        .map(title)
        .collect();
    assert_eq!(
        warnings,
        [
            "entraprobe: azure-cli → search-docs: inconclusive (timeout)",
            "entraprobe: environment → search-docs: abac-condition",
        ]
    );
    let abac = commands
        .iter()
        .find(|c| title(c).ends_with("abac-condition"))
        .unwrap();
    assert!(
        abac.message.contains(&entraprobe::redact::scrub(TRICKY)),
        "{:?}",
        abac.message
    );

    let notice = commands.last().unwrap();
    assert_eq!(notice.name, "notice");
    assert_eq!(
        notice.message,
        "3 as expected, 3 not as expected, 1 skipped, 1 inconclusive (exit code 1)"
    );
}

#[test]
fn github_escaping_is_exact() {
    assert_eq!(github::escape_data("a%b\r\nc:d,e"), "a%25b%0D%0Ac:d,e");
    assert_eq!(
        github::escape_property("a%b\r\nc:d,e"),
        "a%25b%0D%0Ac%3Ad%2Ce"
    );
    // Escaping an already escaped sequence must not unescape into something else.
    assert_eq!(unescape(&github::escape_data("%0A"), GITHUB_DATA), "%0A");
}

// ------------------------------------------------------------------------------- Azure DevOps

const AZDO: &[(&str, &str)] = &[
    ("%AZP25", "%"),
    ("%3B", ";"),
    ("%0D", "\r"),
    ("%0A", "\n"),
    ("%5D", "]"),
];

#[derive(Debug)]
struct LoggingCommand {
    command: String,
    properties: Vec<(String, String)>,
    message: String,
}

fn parse_azdo(line: &str) -> LoggingCommand {
    let body = line
        .strip_prefix("##vso[")
        .unwrap_or_else(|| panic!("not a command: {line}"));
    let end = body
        .find(']')
        .unwrap_or_else(|| panic!("unterminated: {line}"));
    let (head, message) = (&body[..end], &body[end + 1..]);
    let (command, props) = head.split_once(' ').unwrap_or((head, ""));
    let properties = props
        .split(';')
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let (k, v) = p
                .split_once('=')
                .unwrap_or_else(|| panic!("bad property {p} in {line}"));
            (k.trim().to_string(), unescape(v, AZDO))
        })
        .collect();
    LoggingCommand {
        command: command.into(),
        properties,
        message: unescape(message, AZDO),
    }
}

fn property<'a>(c: &'a LoggingCommand, name: &str) -> &'a str {
    c.properties
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or("")
}

#[test]
fn azdo_commands_parse_back_and_complete_follows_the_exit_code() {
    let report = fixture();
    let output = azdo::render(&report);
    let commands: Vec<LoggingCommand> = output.lines().map(parse_azdo).collect();

    let issues: Vec<(&str, &str)> = commands
        .iter()
        .filter(|c| c.command == "task.logissue")
        .map(|c| (property(c, "type"), property(c, "code")))
        .collect();
    assert_eq!(
        issues,
        [
            ("error", "regional-endpoint"),
            ("warning", "timeout"),
            ("error", "unexpected-access"),
            ("warning", "abac-condition"),
            ("error", "federated-credential-mismatch"),
        ]
    );
    let regional = commands
        .iter()
        .find(|c| property(c, "code") == "regional-endpoint")
        .unwrap();
    assert!(
        regional
            .message
            .starts_with("azure-cli → speech|prod: expected allow, got fail")
    );
    assert!(
        regional
            .message
            .contains(&entraprobe::redact::scrub(TRICKY)),
        "`%`, `;`, `]`, CR, LF must survive:\n{:?}",
        regional.message
    );

    let complete = commands.last().unwrap();
    assert_eq!(complete.command, "task.complete");
    assert_eq!(property(complete, "result"), "Failed");
    assert!(
        output.ends_with("\n")
            && output
                .lines()
                .last()
                .unwrap()
                .starts_with("##vso[task.complete result=Failed;]")
    );

    let result = |r: &Report| {
        let out = azdo::render(r);
        let last = parse_azdo(out.lines().last().unwrap());
        property(&last, "result").to_string()
    };
    assert_eq!(all_met(&report).exit_code(), 0);
    assert_eq!(result(&all_met(&report)), "Succeeded");
    assert_eq!(only_inconclusive(&report).exit_code(), 3);
    assert_eq!(result(&only_inconclusive(&report)), "SucceededWithIssues");
}

#[test]
fn azdo_escaping_is_exact() {
    assert_eq!(azdo::escape("50%;a]\r\n"), "50%AZP25%3Ba%5D%0D%0A");
    assert_eq!(
        unescape(&azdo::escape("%3B literally"), AZDO),
        "%3B literally"
    );
}

// ------------------------------------------------------------------------------- Markdown

#[test]
fn markdown_table_keeps_its_shape() {
    let report = fixture();
    let output = markdown::render(&report);
    let unescaped_pipes = |line: &str| {
        let bytes = line.as_bytes();
        (0..bytes.len())
            .filter(|&i| bytes[i] == b'|' && (i == 0 || bytes[i - 1] != b'\\'))
            .count()
    };
    let table: Vec<&str> = output
        .lines()
        .skip_while(|l| !l.starts_with("| credential |"))
        .take_while(|l| l.starts_with('|'))
        .collect();
    assert_eq!(
        table.len(),
        2 + 4,
        "header, separator and one row per credential:\n{output}"
    );
    for line in &table {
        assert_eq!(
            unescaped_pipes(line),
            5,
            "1 + 3 services + 1 borders: {line}"
        );
    }
    assert!(table[0].contains("speech\\|prod"), "{}", table[0]);
    let row = |id: &str| {
        *table
            .iter()
            .find(|l| l.starts_with(&format!("| `{id}`")))
            .unwrap()
    };
    assert!(row("azure-cli").contains("✅") && row("azure-cli").contains("❌ `regional-endpoint`"));
    assert!(row("azure-cli").contains("❔ `timeout`"));
    assert!(row("environment").contains("✅ denied"));
    assert!(row("environment").contains("❌ `unexpected-access`"));
    assert!(row("environment").contains("ci-app \\| deploy"));
    assert!(row("managed-identity").contains("⏭"));

    // The findings section keeps each finding on one line: CR/LF became <br>.
    let regional_line = output
        .lines()
        .find(|l| l.starts_with("- **error** `regional-endpoint`"))
        .expect("finding line");
    assert!(
        regional_line.contains("100% of calls: denied, retry;<br>second line\\] done<br>third")
    );
    assert!(regional_line.contains("**Fix:** az cognitiveservices account update"));
    assert!(output.contains("#### ❌ azure-cli → speech\\|prod"));
    assert!(output.contains("#### ⚠️ environment → search-docs"));
    assert!(!output.contains('\r'));
}

// ------------------------------------------------------------------------------- JUnit

#[test]
fn junit_validates_against_the_junit_schema() {
    assert_valid_junit(&junit::render(&fixture()));
}

#[test]
fn an_empty_report_renders_in_every_format() {
    let mut report = fixture();
    report.cells.clear();
    report.services.clear();
    report.credentials.clear();
    assert_valid_junit(&junit::render(&report));
    assert!(markdown::render(&report).contains("| credential |"));
    let github = github::render(&report);
    assert_eq!(github.lines().count(), 1, "only the notice: {github}");
    let azdo = azdo::render(&report);
    assert!(
        azdo.starts_with("##vso[task.complete result=Succeeded;]"),
        "{azdo}"
    );
}

/// The JUnit output must hold the content model of tests/schemas/junit.xsd. The structure is
/// checked here in Rust, so `cargo test` needs nothing but the toolchain; where `xmllint` is
/// installed (`.ci/run` installs it and sets `ENTRAPROBE_REQUIRE_XMLLINT=1`) the file is also
/// validated against the schema itself.
fn assert_valid_junit(xml: &str) {
    if let Err(problem) = junit_structure::check(xml) {
        panic!("JUnit output breaks the schema's content model: {problem}\n{xml}");
    }
    if let Some(output) = xmllint_against_schema(xml) {
        assert!(
            output.status.success(),
            "JUnit output does not validate:\n{}\n{xml}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

/// `xmllint --schema` over `xml`, or None where xmllint is not installed and not required.
fn xmllint_against_schema(xml: &str) -> Option<std::process::Output> {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("report.xml");
    std::fs::write(&file, xml).expect("write report");
    let schema = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/schemas/junit.xsd");
    let result = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .arg(&file)
        .output();
    match result {
        Ok(output) => Some(output),
        Err(e) if std::env::var_os("ENTRAPROBE_REQUIRE_XMLLINT").is_some() => panic!(
            "ENTRAPROBE_REQUIRE_XMLLINT is set but xmllint cannot run ({e}); \
             install it with `apt-get install -y libxml2-utils`"
        ),
        Err(_) => None,
    }
}

/// The content model of tests/schemas/junit.xsd, checked with a streaming XML reader: which
/// element may hold which, the required attributes, and the numeric ones.
mod junit_structure {
    use quick_xml::Reader;
    use quick_xml::events::{BytesStart, Event};

    const COUNTERS: [&str; 4] = ["tests", "failures", "errors", "skipped"];
    const RESULTS: [&str; 3] = ["skipped", "error", "failure"];
    const RERUNS: [&str; 4] = ["rerunFailure", "rerunError", "flakyFailure", "flakyError"];
    const TEXT: [&str; 3] = ["system-out", "system-err", "stackTrace"];

    fn allowed_children(parent: Option<&str>) -> &'static [&'static str] {
        match parent {
            None => &["testsuites"],
            Some("testsuites") => &["testsuite"],
            Some("testsuite") => &[
                "testsuite",
                "properties",
                "testcase",
                "system-out",
                "system-err",
            ],
            Some("properties") => &["property"],
            Some("testcase") => &[
                "skipped",
                "error",
                "failure",
                "rerunFailure",
                "rerunError",
                "flakyFailure",
                "flakyError",
                "system-out",
                "system-err",
            ],
            Some(r) if RERUNS.contains(&r) => &["stackTrace", "system-out", "system-err"],
            _ => &[],
        }
    }

    fn required(element: &str) -> &'static [&'static str] {
        match element {
            "testsuite" => &["name", "tests", "failures", "errors"],
            "testcase" => &["name"],
            "property" => &["name", "value"],
            r if RERUNS.contains(&r) => &["type"],
            _ => &[],
        }
    }

    fn check_attributes(name: &str, start: &BytesStart) -> Result<(), String> {
        let mut seen = Vec::new();
        for attribute in start.attributes() {
            let attribute = attribute.map_err(|e| format!("<{name}>: bad attribute: {e}"))?;
            let key = String::from_utf8_lossy(attribute.key.as_ref()).into_owned();
            let value = attribute
                .normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .map_err(|e| format!("<{name} {key}>: {e}"))?;
            let counter = COUNTERS.contains(&key.as_str()) || key == "disabled";
            if counter && value.parse::<u64>().is_err() {
                return Err(format!("<{name} {key}=\"{value}\"> is not a count"));
            }
            if key == "time" && !value.parse::<f64>().is_ok_and(|t| t >= 0.0) {
                return Err(format!("<{name} time=\"{value}\"> is not seconds"));
            }
            seen.push(key);
        }
        match required(name)
            .iter()
            .find(|r| !seen.iter().any(|s| s == *r))
        {
            Some(missing) => Err(format!("<{name}> lacks the required attribute `{missing}`")),
            None => Ok(()),
        }
    }

    pub fn check(xml: &str) -> Result<(), String> {
        let mut reader = Reader::from_str(xml);
        let mut open: Vec<String> = Vec::new();
        let mut roots = 0;
        loop {
            let event = reader
                .read_event()
                .map_err(|e| format!("not well-formed: {e}"))?;
            let (start, empty) = match &event {
                Event::Start(s) => (s, false),
                Event::Empty(s) => (s, true),
                Event::End(_) => {
                    open.pop();
                    continue;
                }
                Event::Text(t) => {
                    let parent = open.last().map(String::as_str).unwrap_or("");
                    let mixed = RESULTS.contains(&parent)
                        || RERUNS.contains(&parent)
                        || TEXT.contains(&parent);
                    if !mixed && !t.iter().all(u8::is_ascii_whitespace) {
                        return Err(format!("text inside <{parent}>"));
                    }
                    continue;
                }
                Event::Eof => break,
                _ => continue,
            };
            let name = String::from_utf8_lossy(start.name().as_ref()).into_owned();
            let parent = open.last().map(String::as_str);
            if !allowed_children(parent).contains(&name.as_str()) {
                return Err(format!("<{name}> may not stand inside {parent:?}"));
            }
            if parent.is_none() {
                roots += 1;
            }
            check_attributes(&name, start)?;
            if !empty {
                open.push(name);
            }
        }
        match (roots, open.last()) {
            (1, None) => Ok(()),
            (_, Some(unclosed)) => Err(format!("<{unclosed}> is never closed")),
            (n, None) => Err(format!("{n} root elements, expected one <testsuites>")),
        }
    }
}

#[test]
fn junit_structure_check_rejects_what_the_schema_rejects() {
    // The validation above means something only if it can fail: a suite without `tests` and a
    // nameless case, a count that is not a number, a case outside a suite, an unclosed element.
    let bad = [
        "<testsuites><testsuite name=\"s\" failures=\"0\" errors=\"0\"><testcase/></testsuite></testsuites>",
        "<testsuites><testsuite name=\"s\" tests=\"x\" failures=\"0\" errors=\"0\"/></testsuites>",
        "<testsuites><testcase name=\"c\"/></testsuites>",
        "<testsuites><testsuite name=\"s\" tests=\"1\" failures=\"0\" errors=\"0\">",
        "<testsuites><testsuite name=\"s\" tests=\"1\" failures=\"0\" errors=\"0\">stray</testsuite></testsuites>",
    ];
    for xml in bad {
        assert!(junit_structure::check(xml).is_err(), "accepted: {xml}");
        if let Some(output) = xmllint_against_schema(xml) {
            assert!(!output.status.success(), "the schema accepted: {xml}");
        }
    }
    let good = "<testsuites><testsuite name=\"s\" tests=\"1\" failures=\"1\" errors=\"0\">\
                <testcase name=\"c\" time=\"0.5\"><failure message=\"m\">text</failure></testcase>\
                </testsuite></testsuites>";
    junit_structure::check(good).expect("a minimal valid report");
}

#[test]
fn junit_has_a_suite_per_service_and_a_case_per_cell() {
    let report = fixture();
    let xml = junit::render(&report);
    let parsed = quick_junit::Report::deserialize_from_str(&xml).expect("quick-junit parses it");
    let suites: Vec<&str> = parsed.test_suites.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(suites, ["openai-prod", "speech|prod", "search-docs"]);
    let counts: Vec<(usize, usize, usize)> = parsed
        .test_suites
        .iter()
        .map(|s| (s.tests, s.failures, s.skipped))
        .collect();
    // openai-prod: azure-cli pass, environment denied as expected, managed-identity skipped,
    // github-actions failed. speech: both failed. search: inconclusive (skipped), pass.
    assert_eq!(counts, [(4, 1, 1), (2, 2, 0), (2, 0, 1)]);
    let openai = &parsed.test_suites[0];
    let names: Vec<&str> = openai.test_cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "azure-cli → openai-prod",
            "environment → openai-prod",
            "managed-identity → openai-prod",
            "github-actions → openai-prod"
        ]
    );
    let property = |suite: &quick_junit::TestSuite, name: &str| {
        suite
            .properties
            .iter()
            .find(|p| p.name.as_str() == name)
            .map(|p| p.value.as_str().to_string())
    };
    assert_eq!(
        property(openai, "environment.expected").as_deref(),
        Some("deny")
    );
    assert_eq!(property(openai, "environment.met").as_deref(), Some("true"));
    assert_eq!(
        property(openai, "azure-cli.http_status").as_deref(),
        Some("200")
    );

    let speech = &parsed.test_suites[1];
    match &speech.test_cases[0].status {
        quick_junit::TestCaseStatus::NonSuccess {
            kind,
            ty,
            message,
            description,
            ..
        } => {
            assert_eq!(*kind, quick_junit::NonSuccessKind::Failure);
            assert_eq!(ty.as_ref().map(|t| t.as_str()), Some("regional-endpoint"));
            assert!(
                message
                    .as_ref()
                    .unwrap()
                    .as_str()
                    .starts_with("expected allow, got fail: regional-endpoint")
            );
            let text = description.as_ref().unwrap().as_str();
            assert!(
                text.contains("Fix: az cognitiveservices account update"),
                "{text}"
            );
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    let search = &parsed.test_suites[2];
    match &search.test_cases[0].status {
        quick_junit::TestCaseStatus::Skipped { ty, .. } => {
            assert_eq!(ty.as_ref().map(|t| t.as_str()), Some("inconclusive"));
        }
        other => panic!("inconclusive is documented as skipped, got {other:?}"),
    }
}

#[test]
fn a_skip_that_does_not_meet_its_expectation_fails_in_every_ci_format() {
    // A source named with --credential that is not configured: the runner marks it not met.
    let mut report = fixture();
    for c in report
        .cells
        .iter_mut()
        .filter(|c| c.verdict == Verdict::Skip)
    {
        c.met = false;
    }
    assert_eq!(report.exit_code(), 1);
    let github = github::render(&report);
    assert!(
        github
            .lines()
            .any(|l| l.starts_with("::error") && l.contains("managed-identity")),
        "{github}"
    );
    let azdo = azdo::render(&report);
    assert!(
        azdo.lines()
            .any(|l| l.contains("type=error") && l.contains("managed-identity")),
        "{azdo}"
    );
    let junit = junit::render(&report);
    let case = junit
        .split("<testcase ")
        .skip(1)
        .find(|c| c.contains("managed-identity"))
        .expect("a case for the skipped source");
    assert!(case.contains("<failure"), "{case}");
}
