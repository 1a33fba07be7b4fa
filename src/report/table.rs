//! The human output: a matrix (rows = credentials, columns = services) and, under it, every
//! failed or notable cell's findings with their remedies.

use crate::diagnosis::Severity;
use crate::probe::{CredentialStatus, Expectation, Report, Verdict};
use comfy_table::{Cell, Color, ContentArrangement, Table, presets};

/// `color`: ANSI colours on (the caller decides: a TTY, and `NO_COLOR` unset).
pub fn render(report: &Report, color: bool) -> String {
    let report = &super::clean(report);
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_FULL)
        .set_content_arrangement(ContentArrangement::Dynamic);
    if !color {
        table.force_no_tty();
    } else {
        table.enforce_styling();
    }
    let mut header = vec![Cell::new("credential"), Cell::new("identity")];
    header.extend(
        report
            .services
            .iter()
            .map(|s| Cell::new(format!("{}\n{}", s.name, s.kind))),
    );
    table.set_header(header);
    for row in &report.credentials {
        let identity = match (&row.principal, row.status) {
            (Some(p), _) => format!("{}\n{}", short_display(p), short(&p.object_id)),
            (None, CredentialStatus::Skipped) => "not configured".into(),
            (None, _) => "no token".into(),
        };
        let mut cells = vec![Cell::new(row.id.to_string()), Cell::new(identity)];
        for service in &report.services {
            let cell = report
                .cells
                .iter()
                .find(|c| c.credential == row.id && c.service == service.name);
            cells.push(match cell {
                Some(c) => verdict_cell(
                    c.verdict,
                    c.expected,
                    c.met,
                    c.findings.first().map(|f| f.code.as_str()),
                    color,
                ),
                None => Cell::new(""),
            });
        }
        table.add_row(cells);
    }
    let mut out = table.to_string();
    out.push('\n');
    let s = &report.summary;
    out.push_str(&format!(
        "\n{} pass, {} fail, {} skip, {} inconclusive in {:.1}s",
        s.pass,
        s.fail,
        s.skip,
        s.inconclusive,
        report.duration_ms as f64 / 1000.0
    ));
    // Inconclusive cells are not met either, but they decide exit code 3, not 1.
    let unmet = report
        .cells
        .iter()
        .filter(|c| !c.met && c.verdict != Verdict::Inconclusive)
        .count();
    match report.exit_code() {
        1 if report.summary.skip == report.cells.len() => out.push_str(
            "\nExit code 1: nothing was tested, no credential source gave a token (reasons below).",
        ),
        1 => out.push_str(&format!(
            "\nExit code 1: {unmet} {} not meet {} expectation (see Findings).",
            if unmet == 1 { "cell did" } else { "cells did" },
            if unmet == 1 { "its" } else { "their" },
        )),
        3 => out.push_str(&format!(
            "\nExit code 3: nothing failed, but {} {} inconclusive.",
            report.summary.inconclusive,
            if report.summary.inconclusive == 1 {
                "cell is"
            } else {
                "cells are"
            },
        )),
        _ => {}
    }
    if let Some(d) = &report.discovery {
        out.push('\n');
        out.push_str(&super::discovery_sentence(d));
    }
    if let Some(pick) = report.default_credential {
        out.push_str(&format!(
            "\nDefaultAzureCredential (Python/.NET order) would pick `{pick}` on this machine."
        ));
    }
    out.push('\n');

    // A finding about the resource itself (keys still enabled) is the same in every row: say it
    // once, under the matrix, instead of under each cell.
    let per_resource =
        |f: &crate::diagnosis::Finding| f.code == crate::diagnosis::Code::LocalAuthEnabled;
    let mut resource_notes: Vec<String> = Vec::new();
    for c in &report.cells {
        for f in c.findings.iter().filter(|f| per_resource(f)) {
            let line = format!(
                "  {} [{}] {}\n      fix: {}\n",
                severity_word(f.severity, color),
                f.code,
                f.message,
                f.remedy
            );
            if !resource_notes.contains(&line) {
                resource_notes.push(line);
            }
        }
    }
    let mut details = String::new();
    let repeats = repeated_cells(&report.cells);
    for (i, c) in report.cells.iter().enumerate() {
        if repeats[i].is_some() {
            continue;
        }
        let notable = !c.met
            || c.findings.iter().any(|f| {
                f.severity >= Severity::Warning && c.verdict != Verdict::Skip && !per_resource(f)
            });
        if !notable || c.findings.is_empty() {
            continue;
        }
        let expect = if c.expected == Expectation::Deny {
            " (expected: deny)"
        } else {
            ""
        };
        let services: Vec<&str> = std::iter::once(c.service.as_str())
            .chain(
                report
                    .cells
                    .iter()
                    .zip(&repeats)
                    .filter(|(_, first)| **first == Some(i))
                    .map(|(other, _)| other.service.as_str()),
            )
            .collect();
        details.push_str(&format!(
            "\n{} → {}: {}{expect}\n",
            c.credential,
            services.join(", "),
            verdict_word(c.verdict)
        ));
        // The rbac line is dropped when a finding already says the same thing.
        let rbac_said = c
            .findings
            .iter()
            .any(|f| !f.message.is_empty() && c.stages.rbac.ends_with(f.message.as_str()));
        if !c.stages.rbac.is_empty() && c.stages.rbac != "not evaluated" && !rbac_said {
            details.push_str(&format!("  rbac: {}\n", c.stages.rbac));
        }
        if let Some(http) = &c.http {
            let id = http
                .request_id
                .as_deref()
                .map(|r| format!(", request id {r}"))
                .unwrap_or_default();
            details.push_str(&format!(
                "  call: {} {} → {}{id}\n",
                http.method, http.url, http.status
            ));
        }
        for (i, f) in c.findings.iter().filter(|f| !per_resource(f)).enumerate() {
            details.push_str(&format!(
                "  {} [{}] {}\n",
                severity_word(f.severity, color),
                f.code,
                f.message
            ));
            // The service's own refusal (an error) after a more specific cause (an error) is
            // evidence, not a second problem: its generic fix would only repeat the first one's.
            // Notes and warnings under these codes say something else, and keep their fix.
            let first_is_cause = c
                .findings
                .first()
                .is_some_and(|g| g.severity == Severity::Error);
            let corroborates = i > 0
                && first_is_cause
                && f.severity == Severity::Error
                && matches!(
                    f.code,
                    crate::diagnosis::Code::PermissionDenied
                        | crate::diagnosis::Code::TokenRejected
                );
            if !corroborates {
                details.push_str(&format!("      fix: {}\n", f.remedy));
            }
        }
    }
    let mut skipped = String::new();
    for row in report
        .credentials
        .iter()
        .filter(|r| r.status != CredentialStatus::Acquired)
    {
        if let Some(f) = row.findings.first() {
            // Source findings name their source, which the line already starts with.
            let id = row.id.to_string();
            let message = f
                .message
                .strip_prefix(&format!("{id}: "))
                .unwrap_or(&f.message);
            skipped.push_str(&format!("  {id}: [{}] {message}\n", f.code));
        }
    }
    if !details.is_empty() {
        out.push_str("\nFindings (`entraprobe explain CODE` for more):\n");
        out.push_str(&details);
    }
    if !resource_notes.is_empty() {
        out.push_str("\nAbout the resources:\n");
        for line in &resource_notes {
            out.push_str(line);
        }
    }
    if !skipped.is_empty() {
        out.push_str("\nCredential sources without a token:\n");
        out.push_str(&skipped);
    }
    // With colour on, the output holds our own escape sequences; every field is clean already,
    // but two fields side by side may still make a line start with `::`.
    if color {
        crate::redact::neutralise_commands(&crate::redact::redact(&out))
    } else {
        super::finish(&out)
    }
}

/// A managed identity's display is its ARM resource id: its last segment is the name people
/// know. An application's display is its app id: shortened like the object id under it, and
/// labelled, so the two GUIDs are not confused.
fn short_display(p: &crate::probe::Principal) -> String {
    let display = p.display.as_str();
    match display.rsplit_once('/') {
        Some((_, name)) if display.starts_with("/subscriptions/") => name.to_string(),
        _ if p.app_id.as_deref() == Some(display) => format!("app {}", short(display)),
        _ if uuid::Uuid::parse_str(display).is_ok() => short(display),
        _ => display.to_string(),
    }
}

fn short(id: &str) -> String {
    // By characters: an id from a token is outside input and need not be ASCII.
    if id.chars().count() > 13 {
        format!("{}…", id.chars().take(13).collect::<String>())
    } else {
        id.to_string()
    }
}

/// For each cell, the earlier cell of the same row it repeats word for word, if any: a source
/// that got no token fails every column with the same cause and fix, which Findings then says
/// once per row. Cells with a call of their own never repeat one another.
fn repeated_cells(cells: &[crate::probe::Cell]) -> Vec<Option<usize>> {
    let same = |a: &crate::probe::Cell, b: &crate::probe::Cell| {
        a.credential == b.credential
            && a.http.is_none()
            && b.http.is_none()
            && a.verdict == b.verdict
            && a.expected == b.expected
            && a.met == b.met
            && a.stages.rbac == b.stages.rbac
            && a.findings == b.findings
    };
    let mut repeats: Vec<Option<usize>> = vec![None; cells.len()];
    for i in 0..cells.len() {
        repeats[i] = (0..i).find(|&j| repeats[j].is_none() && same(&cells[j], &cells[i]));
    }
    repeats
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Pass => "PASS",
        Verdict::Fail => "FAIL",
        Verdict::Skip => "SKIP",
        Verdict::Inconclusive => "INCONCLUSIVE",
    }
}

fn severity_word(s: Severity, color: bool) -> String {
    let (word, code) = match s {
        Severity::Error => ("error", "31"),
        Severity::Warning => ("warning", "33"),
        Severity::Info => ("info", "36"),
    };
    if color {
        format!("\x1b[{code}m{word}\x1b[0m")
    } else {
        word.to_string()
    }
}

fn verdict_cell(
    verdict: Verdict,
    expected: Expectation,
    met: bool,
    code: Option<&str>,
    color: bool,
) -> Cell {
    let (text, fg) = match (verdict, expected, met) {
        (Verdict::Pass, Expectation::Allow, _) => ("PASS".to_string(), Color::Green),
        (Verdict::Pass, Expectation::Deny, _) => {
            ("FAIL\nallowed, expected deny".to_string(), Color::Red)
        }
        (Verdict::Fail, Expectation::Deny, true) => {
            (format!("DENIED ✓\n{}", code.unwrap_or("")), Color::Green)
        }
        (Verdict::Fail, _, _) => (format!("FAIL\n{}", code.unwrap_or("")), Color::Red),
        (Verdict::Skip, _, true) => ("SKIP".to_string(), Color::DarkGrey),
        // A named source that is not configured: the skip itself fails the gate.
        (Verdict::Skip, _, false) => (format!("SKIP ✗\n{}", code.unwrap_or("")), Color::Red),
        (Verdict::Inconclusive, _, _) => (format!("?\n{}", code.unwrap_or("")), Color::Yellow),
    };
    let cell = Cell::new(text.trim_end());
    if color { cell.fg(fg) } else { cell }
}
