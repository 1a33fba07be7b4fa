//! The human output: a matrix, a summary in the words every format uses (as expected, not as
//! expected, skipped, inconclusive; then the cells not as expected counted by cause), and the
//! findings of every cell that needs attention, with their remedies.
//!
//! The matrix fits the width it is given (`COLUMNS`, the terminal, or 100 columns in a pipe) and
//! never breaks a finding code: a row per credential when that fits (and the services do not
//! outnumber the credentials), else a row per service, else a list with a line per cell.

use super::{
    Outcome, RenderOptions, Tally, cell_name, credential_ids, outcome, outcome_line, primary_code,
    service_names, shows_fix,
};
use crate::diagnosis::{Code, Finding, Severity};
use crate::probe::{CredentialStatus, Report, RowId, Verdict};
use comfy_table::{Cell, Color, ContentArrangement, Table, presets};

/// The table at the default width ([`super::DEFAULT_WIDTH`]); `color`: ANSI colours on.
pub fn render(report: &Report, color: bool) -> String {
    render_with(
        report,
        &RenderOptions {
            color,
            ..RenderOptions::default()
        },
    )
}

pub fn render_with(report: &Report, opts: &RenderOptions) -> String {
    let report = &super::clean(report);
    let width = opts.width.max(MIN_WIDTH);
    let mut out = matrix(report, opts, width);
    out.push('\n');
    out.push_str(&summary(report, opts, width));
    out.push_str(&findings(report, opts, width));
    // With colour on, the output holds our own escape sequences; every field is clean already,
    // but two fields side by side may still make a line start with `::`.
    if opts.color {
        crate::redact::neutralise_commands(&crate::redact::redact(&out))
    } else {
        super::finish(&out)
    }
}

/// Narrower than this, nothing useful fits; the width is taken as this.
const MIN_WIDTH: usize = 40;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Layout {
    CredentialRows,
    ServiceRows,
}

/// The rows and columns the matrix shows: all of them, or with `--only-failures` those that
/// hold a cell not as expected or inconclusive.
struct Shown {
    credentials: Vec<RowId>,
    services: Vec<String>,
}

fn shown(report: &Report, opts: &RenderOptions) -> Shown {
    let has = |pred: &dyn Fn(&crate::probe::Cell) -> bool| {
        !opts.only_failures || report.cells.iter().any(|c| opts.shows(c) && pred(c))
    };
    Shown {
        credentials: credential_ids(report)
            .into_iter()
            .filter(|id| has(&|c| &c.credential == id))
            .collect(),
        services: service_names(report)
            .into_iter()
            .filter(|s| has(&|c| &c.service == s))
            .collect(),
    }
}

/// The first layout that fits `width`, else the list.
fn matrix(report: &Report, opts: &RenderOptions, width: usize) -> String {
    let shown = shown(report, opts);
    if shown.credentials.is_empty() || shown.services.is_empty() {
        return String::new();
    }
    let layouts: &[Layout] = if super::services_as_rows(report) {
        &[Layout::ServiceRows]
    } else {
        &[Layout::CredentialRows, Layout::ServiceRows]
    };
    for &layout in layouts {
        let plain = grid(report, opts, &shown, layout, false);
        if plain.lines().all(|l| columns(l) <= width) {
            let mut out = if opts.color {
                grid(report, opts, &shown, layout, true)
            } else {
                plain
            };
            out.push('\n');
            if layout == Layout::ServiceRows {
                out.push_str(&identities(report, &shown, width));
            }
            return out;
        }
    }
    let mut out = list(report, opts, &shown, width);
    out.push_str(&identities(report, &shown, width));
    out
}

/// Display columns of a line: characters (the table's own are all one column wide).
fn columns(line: &str) -> usize {
    line.chars().count()
}

fn grid(
    report: &Report,
    opts: &RenderOptions,
    shown: &Shown,
    layout: Layout,
    color: bool,
) -> String {
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_FULL)
        // Never wrap: a code broken over two lines cannot be searched or explained.
        .set_content_arrangement(ContentArrangement::Disabled);
    if color {
        table.enforce_styling();
    } else {
        table.force_no_tty();
    }
    let cell_at = |id: &RowId, service: &String| match report
        .cells
        .iter()
        .find(|c| &c.credential == id && &c.service == service)
    {
        Some(c) if opts.shows(c) => matrix_cell(c, color),
        _ => Cell::new(""),
    };
    let service_label = |name: &String| match report.services.iter().find(|s| &s.name == name) {
        Some(s) => format!("{name}\n{}", s.kind),
        None => name.clone(),
    };
    match layout {
        Layout::CredentialRows => {
            let mut header = vec![Cell::new("credential"), Cell::new("identity")];
            header.extend(shown.services.iter().map(|s| Cell::new(service_label(s))));
            table.set_header(header);
            for id in &shown.credentials {
                let mut row = vec![Cell::new(id.to_string()), Cell::new(identity(report, id))];
                row.extend(shown.services.iter().map(|s| cell_at(id, s)));
                table.add_row(row);
            }
        }
        Layout::ServiceRows => {
            let mut header = vec![Cell::new("service")];
            header.extend(shown.credentials.iter().map(|id| Cell::new(id.to_string())));
            table.set_header(header);
            for service in &shown.services {
                let mut row = vec![Cell::new(service_label(service))];
                row.extend(shown.credentials.iter().map(|id| cell_at(id, service)));
                table.add_row(row);
            }
        }
    }
    table.to_string()
}

/// One line per cell, `credential → service: VERDICT code`; a credential whose every cell is an
/// accepted skip gets one line for all of them.
fn list(report: &Report, opts: &RenderOptions, shown: &Shown, width: usize) -> String {
    let mut out = String::new();
    for id in &shown.credentials {
        let cells: Vec<&crate::probe::Cell> = shown
            .services
            .iter()
            .filter_map(|s| {
                report
                    .cells
                    .iter()
                    .find(|c| &c.credential == id && &c.service == s)
            })
            .filter(|c| opts.shows(c))
            .collect();
        if cells.len() > 1 && cells.iter().all(|c| outcome(c) == Outcome::Skipped) {
            let word = paint("SKIP", Color::DarkGrey, opts.color);
            out.push_str(&format!("{id} → all {} services: {word}\n", cells.len()));
            continue;
        }
        for c in cells {
            let (text, fg) = verdict_text(c);
            let mut parts = text.splitn(2, '\n');
            let word = paint(parts.next().unwrap_or(""), fg, opts.color);
            let code = parts.next().map(|c| format!(" {c}")).unwrap_or_default();
            let head = format!("{} → {}:", c.credential, c.service);
            let plain_len = columns(&head) + 1 + columns(&text.replace('\n', " "));
            if plain_len <= width {
                out.push_str(&format!("{head} {word}{code}\n"));
            } else {
                out.push_str(&format!("{head}\n    {word}{code}\n"));
            }
        }
    }
    out
}

/// Who each credential row is, when the layout has no identity column.
fn identities(report: &Report, shown: &Shown, width: usize) -> String {
    let mut out = String::new();
    for id in &shown.credentials {
        if let Some(p) = report
            .credentials
            .iter()
            .find(|r| &r.id == id)
            .and_then(|r| r.principal.as_ref())
        {
            let line = format!("{id}: {} ({})", short_display(p), short(&p.object_id));
            out.push_str(&wrap(&line, width, "  ", "      "));
        }
    }
    if out.is_empty() {
        out
    } else {
        format!("\nIdentities:\n{out}")
    }
}

fn identity(report: &Report, id: &RowId) -> String {
    let Some(row) = report.credentials.iter().find(|r| &r.id == id) else {
        return String::new();
    };
    match (&row.principal, row.status) {
        (Some(p), _) => format!("{}\n{}", short_display(p), short(&p.object_id)),
        (None, CredentialStatus::Skipped) => "not configured".into(),
        (None, _) => "no token".into(),
    }
}

/// The counts by outcome (the words every format uses), the cells not as expected by cause, and
/// what the run was about.
fn summary(report: &Report, opts: &RenderOptions, width: usize) -> String {
    let tally = Tally::of(report);
    let mut lines = vec![format!(
        "{} cells in {:.1}s: {}.",
        super::thousands(tally.total()),
        report.duration_ms as f64 / 1000.0,
        tally.sentence(report.exit_code())
    )];
    lines.extend(super::cause_lines(report));
    let skips = report
        .cells
        .iter()
        .filter(|c| c.verdict == Verdict::Skip)
        .count();
    if report.exit_code() == 1 && !report.cells.is_empty() && skips == report.cells.len() {
        lines.push(
            "Nothing was tested: no credential source gave a token (reasons below).".to_string(),
        );
    }
    if opts.only_failures {
        lines.push(format!(
            "--only-failures: the {} cells as expected and {} skipped are not shown.",
            super::thousands(tally.met),
            super::thousands(tally.skipped)
        ));
    }
    if let Some(d) = &report.discovery {
        lines.push(super::discovery_sentence(d));
    }
    if let Some(pick) = report.default_credential {
        lines.push(format!(
            "DefaultAzureCredential (Python/.NET order) would pick `{pick}` on this machine."
        ));
    }
    lines
        .iter()
        .map(|l| wrap(l, width, "", "  "))
        .collect::<String>()
}

/// A finding about the resource itself (keys still enabled) is the same in every row: it is said
/// once, under the matrix, instead of under each cell.
fn per_resource(f: &Finding) -> bool {
    f.code == Code::LocalAuthEnabled
}

fn findings(report: &Report, opts: &RenderOptions, width: usize) -> String {
    let cells: Vec<&crate::probe::Cell> = report.cells.iter().filter(|c| opts.shows(c)).collect();
    let mut details = String::new();
    let mut evidence = String::new();
    let mut resource_notes: Vec<String> = Vec::new();
    let repeats = repeated_cells(&cells);
    for (i, c) in cells.iter().enumerate() {
        if repeats[i].is_some() {
            continue;
        }
        for f in c.findings.iter().filter(|f| per_resource(f)) {
            let note = finding_lines(f, true, opts.color, width);
            if !resource_notes.contains(&note) {
                resource_notes.push(note);
            }
        }
        let warned = c.findings.iter().any(|f| {
            f.severity >= Severity::Warning && c.verdict != Verdict::Skip && !per_resource(f)
        });
        let unmet = matches!(outcome(c), Outcome::NotMet | Outcome::Inconclusive);
        if c.findings.is_empty() || !(warned || unmet) {
            continue;
        }
        if !shows_fix(c) {
            // A met expected denial: why it was denied is the evidence; nothing to fix.
            if let Some(f) = c.findings.iter().find(|f| !per_resource(f)) {
                let line = format!("{}: [{}] {}", cell_name(c), f.code, f.message);
                evidence.push_str(&wrap(&line, width, "  ", "      "));
            }
            continue;
        }
        // A row's cells that repeat this one word for word are named in its heading instead.
        let services: Vec<&str> = std::iter::once(c.service.as_str())
            .chain(
                cells
                    .iter()
                    .zip(&repeats)
                    .filter(|(_, first)| **first == Some(i))
                    .map(|(other, _)| other.service.as_str()),
            )
            .collect();
        let heading = format!("{} → {}", c.credential, services.join(", "));
        details.push_str(&cell_findings(c, &heading, opts.color, width));
    }
    let mut out = String::new();
    if !details.is_empty() {
        out.push_str("\nFindings (`entraprobe explain CODE` for more):\n");
        out.push_str(&details);
    }
    if !evidence.is_empty() {
        out.push_str("\nDenied as expected (why, as evidence; nothing to fix):\n");
        out.push_str(&evidence);
    }
    if !resource_notes.is_empty() {
        out.push_str("\nAbout the resources:\n");
        out.extend(resource_notes);
    }
    let skipped = sources_without_token(report, opts, width);
    if !skipped.is_empty() {
        out.push_str("\nCredential sources without a token:\n");
        out.push_str(&skipped);
    }
    out
}

/// A cell's heading, what the role assignments and the call said, and each finding.
fn cell_findings(c: &crate::probe::Cell, heading: &str, color: bool, width: usize) -> String {
    let mut out = String::from("\n");
    out.push_str(&wrap(
        &format!("{heading}: {}", outcome_line(c)),
        width,
        "",
        "  ",
    ));
    // The rbac line is dropped when a finding already says the same thing.
    let rbac_said = c
        .findings
        .iter()
        .any(|f| !f.message.is_empty() && c.stages.rbac.ends_with(f.message.as_str()));
    if !c.stages.rbac.is_empty() && c.stages.rbac != "not evaluated" && !rbac_said {
        out.push_str(&wrap(
            &format!("rbac: {}", c.stages.rbac),
            width,
            "  ",
            "        ",
        ));
    }
    if let Some(http) = &c.http {
        let id = http
            .request_id
            .as_deref()
            .map(|r| format!(", request id {r}"))
            .unwrap_or_default();
        let line = format!("call: {} {} → {}{id}", http.method, http.url, http.status);
        out.push_str(&wrap(&line, width, "  ", "        "));
    }
    // The service's own refusal (an error) after a more specific cause (an error) is evidence,
    // not a second problem: its generic fix would only repeat the first one's. Notes and
    // warnings under these codes say something else, and keep their fix.
    let first_is_cause = c
        .findings
        .first()
        .is_some_and(|g| g.severity == Severity::Error);
    for (i, f) in c.findings.iter().filter(|f| !per_resource(f)).enumerate() {
        let corroborates = i > 0
            && first_is_cause
            && f.severity == Severity::Error
            && matches!(f.code, Code::PermissionDenied | Code::TokenRejected);
        out.push_str(&finding_lines(f, !corroborates, color, width));
    }
    out
}

/// For each cell, the earlier cell of the same row it repeats word for word, if any: a source
/// that got no token fails every column with the same cause and fix, which Findings then says
/// once per row. Cells with a call of their own never repeat one another.
fn repeated_cells(cells: &[&crate::probe::Cell]) -> Vec<Option<usize>> {
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
        repeats[i] = (0..i).find(|&j| repeats[j].is_none() && same(cells[j], cells[i]));
    }
    repeats
}

/// `  error [code] message` wrapped to `width`, and `      fix: …` on one line: a shell command
/// broken over two lines runs half of itself when pasted, so fixes are never wrapped.
fn finding_lines(f: &Finding, with_fix: bool, color: bool, width: usize) -> String {
    let plain = severity_word(f.severity, false);
    let mut out = wrap(
        &format!("{plain} [{}] {}", f.code, f.message),
        width,
        "  ",
        "      ",
    );
    if color {
        out = out.replacen(&plain, &severity_word(f.severity, true), 1);
    }
    if with_fix && !f.remedy.trim().is_empty() {
        out.push_str(&format!("      fix: {}\n", f.remedy.trim()));
    }
    out
}

fn sources_without_token(report: &Report, opts: &RenderOptions, width: usize) -> String {
    let mut out = String::new();
    for row in report
        .credentials
        .iter()
        .filter(|r| r.status != CredentialStatus::Acquired)
        .filter(|r| {
            !opts.only_failures
                || report
                    .cells
                    .iter()
                    .any(|c| c.credential == r.id && opts.shows(c))
        })
    {
        if let Some(f) = row.findings.first() {
            // Source findings name their source, which the line already starts with.
            let id = row.id.to_string();
            let message = f
                .message
                .strip_prefix(&format!("{id}: "))
                .unwrap_or(&f.message);
            out.push_str(&wrap(
                &format!("{id}: [{}] {message}", f.code),
                width,
                "  ",
                "      ",
            ));
        }
    }
    out
}

/// `text` wrapped at spaces to `width` columns, each line ending in a newline: the first line
/// after `first`, the others after `rest`. A word longer than the line (a URL, a resource id) is
/// kept whole on a line of its own, never broken. Line breaks in `text` are kept.
pub(crate) fn wrap(text: &str, width: usize, first: &str, rest: &str) -> String {
    let mut out = String::new();
    let mut indent = first;
    for paragraph in text.split('\n') {
        let mut line = String::from(indent);
        let mut empty = true;
        for word in paragraph.split(' ').filter(|w| !w.is_empty()) {
            if !empty && columns(&line) + 1 + columns(word) > width {
                out.push_str(&line);
                out.push('\n');
                indent = rest;
                line = String::from(indent);
                empty = true;
            }
            if !empty {
                line.push(' ');
            }
            line.push_str(word);
            empty = false;
        }
        out.push_str(&line);
        out.push('\n');
        indent = rest;
    }
    out
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

fn paint(text: &str, fg: Color, color: bool) -> String {
    if !color {
        return text.to_string();
    }
    let code = match fg {
        Color::Green => "32",
        Color::Red => "31",
        Color::Yellow => "33",
        _ => "90",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

/// A cell of the matrix: its word on the first line and, unless it met its expectation by being
/// allowed or skipped, the code that says why on the second. `PASS` and `DENIED ✓` are as
/// expected, `FAIL` and `SKIP ✗` not as expected, `SKIP` an accepted skip, `?` inconclusive.
fn verdict_text(c: &crate::probe::Cell) -> (String, Color) {
    let code = primary_code(c);
    match (outcome(c), c.verdict) {
        (Outcome::Met, Verdict::Pass) => ("PASS".to_string(), Color::Green),
        (Outcome::Met, _) => (format!("DENIED ✓\n{code}"), Color::Green),
        (Outcome::NotMet, Verdict::Skip) => (format!("SKIP ✗\n{code}"), Color::Red),
        (Outcome::NotMet, _) => (format!("FAIL\n{code}"), Color::Red),
        (Outcome::Skipped, _) => ("SKIP".to_string(), Color::DarkGrey),
        (Outcome::Inconclusive, _) => (format!("?\n{code}"), Color::Yellow),
    }
}

fn matrix_cell(c: &crate::probe::Cell, color: bool) -> Cell {
    let (text, fg) = verdict_text(c);
    let cell = Cell::new(text);
    if color { cell.fg(fg) } else { cell }
}

#[cfg(test)]
mod tests {
    use super::wrap;

    #[test]
    fn wrap_keeps_long_words_whole_and_indents() {
        assert_eq!(
            wrap("aa bb cc dd", 8, "  ", "    "),
            "  aa bb\n    cc\n    dd\n"
        );
        assert_eq!(
            wrap("x https://a.example/long/path y", 10, "", "  "),
            "x\n  https://a.example/long/path\n  y\n"
        );
        assert_eq!(wrap("one\ntwo", 80, "", "  "), "one\n  two\n");
    }
}
