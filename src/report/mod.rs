//! One renderer per output format. Renderers of a [`Report`](crate::probe::Report): pure functions from the report to the text
//! of one output format.
//!
//! Every renderer starts from [`clean`]: a copy of the report whose every text (finding messages,
//! URLs, names, claims, stages: anything that may have come from a server, a token, a file or a
//! CLI) is redacted and sanitized by [`crate::redact::scrub`] before any format escapes it
//! (escaping first would hide a secret from the redactor). Each renderer also passes its whole
//! output through [`finish`] (or [`finish_with_commands`] for the formats made of CI commands),
//! so a field this copy missed still cannot carry a secret or a control character out.

pub mod azdo;
pub mod github;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod table;

use crate::diagnosis::{Finding, Severity};
use crate::probe::{Cell, Expectation, Report, RowId, Verdict};
use crate::redact::scrub;

/// How a cell ends up for a gate, following `Report::exit_code` (design §5.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// Met its expectation: allowed and expected to be, or denied by authorization and expected
    /// to be.
    Met,
    /// Did not meet its expectation: exit code 1.
    NotMet,
    Skipped,
    /// Neither proven nor refuted: exit code 3 when nothing failed.
    Inconclusive,
}

pub(crate) fn outcome(cell: &Cell) -> Outcome {
    match cell.verdict {
        // A skip the user did not accept (a source named on purpose, or nothing tested at all)
        // fails like any unmet expectation.
        Verdict::Skip if cell.met => Outcome::Skipped,
        Verdict::Skip => Outcome::NotMet,
        Verdict::Inconclusive => Outcome::Inconclusive,
        Verdict::Pass | Verdict::Fail if cell.met => Outcome::Met,
        Verdict::Pass | Verdict::Fail => Outcome::NotMet,
    }
}

/// Counts by outcome: the one summary every format prints ("as expected", "not as expected",
/// "skipped", "inconclusive"), whatever words its cells use.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Tally {
    pub met: usize,
    pub not_met: usize,
    pub skipped: usize,
    pub inconclusive: usize,
}

impl Tally {
    pub fn of(report: &Report) -> Tally {
        let mut t = Tally::default();
        for cell in &report.cells {
            match outcome(cell) {
                Outcome::Met => t.met += 1,
                Outcome::NotMet => t.not_met += 1,
                Outcome::Skipped => t.skipped += 1,
                Outcome::Inconclusive => t.inconclusive += 1,
            }
        }
        t
    }

    pub fn total(&self) -> usize {
        self.met + self.not_met + self.skipped + self.inconclusive
    }

    pub fn sentence(&self, exit_code: i32) -> String {
        format!(
            "{} as expected, {} not as expected, {} skipped, {} inconclusive (exit code {exit_code})",
            thousands(self.met),
            thousands(self.not_met),
            thousands(self.skipped),
            thousands(self.inconclusive)
        )
    }
}

/// `2000` as `2,000`: estate-sized counts are read at a glance.
pub(crate) fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// The cells of one outcome counted by their [`primary_code`], most frequent first (ties by
/// code, so the order is stable).
pub(crate) fn causes(report: &Report, which: Outcome) -> Vec<(&'static str, usize)> {
    let mut counts: std::collections::BTreeMap<&'static str, usize> = Default::default();
    for cell in report.cells.iter().filter(|c| outcome(c) == which) {
        *counts.entry(primary_code(cell)).or_default() += 1;
    }
    let mut causes: Vec<_> = counts.into_iter().collect();
    causes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    causes
}

/// The summary by finding code under a matrix: "Not as expected, by cause: role-at-wrong-scope
/// 37, firewall-blocked 4." and the same for inconclusive cells; nothing when every cell was
/// met or skipped.
pub(crate) fn cause_lines(report: &Report) -> Vec<String> {
    [
        (Outcome::NotMet, "Not as expected"),
        (Outcome::Inconclusive, "Inconclusive"),
    ]
    .into_iter()
    .filter_map(|(which, label)| {
        let causes = causes(report, which);
        (!causes.is_empty()).then(|| {
            let list: Vec<String> = causes
                .iter()
                .map(|(code, n)| format!("{code} {}", thousands(*n)))
                .collect();
            format!("{label}, by cause: {}.", list.join(", "))
        })
    })
    .collect()
}

/// What the human and CI formats were asked to show. (JSON ignores it: it always has every
/// cell.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RenderOptions {
    /// ANSI colours in the table (the caller decides: a terminal, `NO_COLOR` unset).
    pub color: bool,
    /// The columns the table may use (`COLUMNS`, the terminal's width, or [`DEFAULT_WIDTH`]).
    pub width: usize,
    /// `--only-failures`: only cells not as expected or inconclusive; the summary still counts
    /// every cell.
    pub only_failures: bool,
}

/// The table's width when neither `COLUMNS` nor a terminal says otherwise (a pipe, a CI log).
pub const DEFAULT_WIDTH: usize = 100;

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            color: false,
            width: DEFAULT_WIDTH,
            only_failures: false,
        }
    }
}

impl RenderOptions {
    /// Is this cell shown (in the matrix, the findings, the JUnit cases, the annotations)?
    pub(crate) fn shows(&self, cell: &Cell) -> bool {
        !self.only_failures || matches!(outcome(cell), Outcome::NotMet | Outcome::Inconclusive)
    }
}

/// Render `report` in `format`.
pub fn render(format: crate::config::Format, report: &Report, opts: &RenderOptions) -> String {
    use crate::config::Format;
    match format {
        Format::Table => table::render_with(report, opts),
        Format::Json => json::render(report),
        Format::Junit => junit::render_with(report, opts),
        Format::Markdown => markdown::render_with(report, opts),
        Format::Github => github::render_with(report, opts),
        Format::Azdo => azdo::render_with(report, opts),
    }
}

/// The stable name of a cell: `{credential} → {service}`.
pub(crate) fn cell_name(cell: &Cell) -> String {
    format!("{} → {}", cell.credential, cell.service)
}

pub(crate) fn expectation_str(expected: Expectation) -> &'static str {
    match expected {
        Expectation::Allow => "allow",
        Expectation::Deny => "deny",
    }
}

pub(crate) fn verdict_str(verdict: Verdict) -> &'static str {
    match verdict {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
        Verdict::Skip => "skip",
        Verdict::Inconclusive => "inconclusive",
    }
}

/// The outcome word every format uses for a cell.
pub(crate) fn outcome_word(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Met => "as expected",
        Outcome::NotMet => "not as expected",
        Outcome::Skipped => "skipped",
        Outcome::Inconclusive => "inconclusive",
    }
}

/// A cell's outcome and what happened, in the words of every format: "as expected: denied",
/// "not as expected: allowed, expected to be denied", "inconclusive: neither allowed nor
/// denied". (JSON keeps `verdict` pass/fail, which says what the call did, not whether that was
/// wanted.)
pub(crate) fn outcome_line(cell: &Cell) -> String {
    let what = match (outcome(cell), cell.verdict, cell.expected) {
        (Outcome::Met, Verdict::Pass, _) => "allowed",
        (Outcome::Met, _, _) => "denied",
        (Outcome::NotMet, Verdict::Pass, _) => "allowed, expected to be denied",
        (Outcome::NotMet, Verdict::Fail, Expectation::Allow) => "denied, expected to be allowed",
        (Outcome::NotMet, Verdict::Fail, Expectation::Deny) => {
            "no authorization decision, expected to be denied"
        }
        (Outcome::NotMet, _, _) => {
            "no token, although the source was named (or no source gave a token at all)"
        }
        (Outcome::Skipped, _, _) => "the credential source is not configured here",
        (Outcome::Inconclusive, _, _) => "neither allowed nor denied",
    };
    format!("{}: {what}", outcome_word(outcome(cell)))
}

/// A met expected denial needs no fix: its findings are the evidence of why it was denied, and
/// their remedies would grant the very access the user wants denied.
pub(crate) fn shows_fix(cell: &Cell) -> bool {
    !(outcome(cell) == Outcome::Met && cell.expected == Expectation::Deny)
}

/// The code that names why a cell did not meet its expectation: its most specific finding, or,
/// for an expected denial that was allowed, `unexpected-access`.
pub(crate) fn primary_code(cell: &Cell) -> &'static str {
    match cell.findings.first() {
        Some(f) => f.code.as_str(),
        None if cell.expected == Expectation::Deny && cell.verdict == Verdict::Pass => {
            crate::diagnosis::Code::UnexpectedAccess.as_str()
        }
        None => "expectation-not-met",
    }
}

/// One finding as plain text lines: what was seen, then (unless `with_fix` is off) what to do.
pub(crate) fn finding_text(f: &Finding, with_fix: bool) -> String {
    let mut text = format!("{} {}: {}", f.severity, f.code, f.message.trim());
    if with_fix && !f.remedy.trim().is_empty() {
        text.push_str("\nFix: ");
        text.push_str(f.remedy.trim());
    }
    text.push_str(&format!("\nMore: entraprobe explain {}", f.code));
    text
}

/// All findings of a cell, with the HTTP exchange when there was one, as plain text.
pub(crate) fn cell_details(cell: &Cell) -> String {
    let mut parts = vec![outcome_line(cell)];
    if let Some(http) = &cell.http {
        let mut line = format!("{} {} answered {}", http.method, http.url, http.status);
        if let Some(id) = &http.request_id {
            line.push_str(&format!(" (request id {id})"));
        }
        parts.push(line);
    }
    if cell.findings.is_empty() && outcome(cell) == Outcome::NotMet {
        parts.push(format!(
            "{}: the call was authorized. More: entraprobe explain {}",
            primary_code(cell),
            primary_code(cell)
        ));
    }
    for f in &cell.findings {
        parts.push(finding_text(f, shows_fix(cell)));
    }
    parts.join("\n")
}

/// Findings worth an annotation in a cell that met its expectation.
pub(crate) fn warnings(cell: &Cell) -> impl Iterator<Item = &Finding> {
    cell.findings
        .iter()
        .filter(|f| f.severity == Severity::Warning)
}

/// Services in report order, then any a cell names that the list lacks.
pub(crate) fn service_names(report: &Report) -> Vec<String> {
    let mut names: Vec<String> = report.services.iter().map(|s| s.name.clone()).collect();
    for cell in &report.cells {
        if !names.contains(&cell.service) {
            names.push(cell.service.clone());
        }
    }
    names
}

/// Credential rows in report order, then any a cell names that the list lacks.
pub(crate) fn credential_ids(report: &Report) -> Vec<crate::probe::RowId> {
    let mut ids: Vec<_> = report.credentials.iter().map(|c| c.id.clone()).collect();
    for cell in &report.cells {
        if !ids.contains(&cell.credential) {
            ids.push(cell.credential.clone());
        }
    }
    ids
}

pub(crate) fn redact(text: &str) -> String {
    crate::redact::redact(text)
}

/// The report with every text field scrubbed (redacted, control characters and CI commands
/// neutralised): what every renderer renders. Our own enum values (codes, verdicts, kinds) are
/// not text from outside and stay as they are.
pub fn clean(report: &Report) -> Report {
    let mut r = report.clone();
    r.cloud = scrub(&r.cloud);
    for row in &mut r.credentials {
        clean_row_id(&mut row.id);
        if let Some(p) = &mut row.principal {
            for text in [&mut p.object_id, &mut p.tenant_id, &mut p.display] {
                *text = scrub(text);
            }
            clean_opt(&mut p.app_id);
        }
        row.findings.iter_mut().for_each(clean_finding);
    }
    for t in &mut r.services {
        t.name = scrub(&t.name);
        t.endpoint = scrub(&t.endpoint);
        for opt in [&mut t.resource_id, &mut t.region, &mut t.index] {
            clean_opt(opt);
        }
    }
    for cell in &mut r.cells {
        clean_row_id(&mut cell.credential);
        cell.service = scrub(&cell.service);
        let s = &mut cell.stages;
        for text in [&mut s.token, &mut s.claims, &mut s.rbac, &mut s.call] {
            *text = scrub(text);
        }
        if let Some(http) = &mut cell.http {
            for text in [&mut http.method, &mut http.url, &mut http.api_version] {
                *text = scrub(text);
            }
            clean_opt(&mut http.request_id);
        }
        cell.findings.iter_mut().for_each(clean_finding);
    }
    if let Some(d) = &mut r.discovery {
        for sub in &mut d.subscriptions {
            sub.id = scrub(&sub.id);
            sub.name = scrub(&sub.name);
        }
        for n in &mut d.not_probed {
            n.resource_id = scrub(&n.resource_id);
            n.reason = scrub(&n.reason);
        }
        d.already_configured
            .iter_mut()
            .for_each(|id| *id = scrub(id));
    }
    r
}

/// One sentence on what `--discover` found, for the human formats.
pub(crate) fn discovery_sentence(d: &crate::discover::Discovery) -> String {
    let count =
        |n: usize, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    let sum = |f: fn(&crate::discover::SubscriptionFound) -> usize| {
        d.subscriptions.iter().map(f).sum::<usize>()
    };
    let per_subscription: Vec<String> = d
        .subscriptions
        .iter()
        .map(|s| {
            let name = if s.name.is_empty() { &s.id } else { &s.name };
            format!("{name}: {}", s.targets)
        })
        .collect();
    format!(
        "Discovered as {}: {}, {}, {} in {} → {} ({}){}.",
        d.credential.map_or("?", |c| c.as_str()),
        count(sum(|s| s.accounts), "account", "accounts"),
        count(sum(|s| s.projects), "project", "projects"),
        count(
            sum(|s| s.search_services),
            "Search service",
            "Search services"
        ),
        count(d.subscriptions.len(), "subscription", "subscriptions"),
        count(sum(|s| s.targets), "target", "targets"),
        per_subscription.join(", "),
        if d.not_probed.is_empty() {
            String::new()
        } else {
            format!(
                "; {} not probed (see the JSON report's discovery.not_probed)",
                d.not_probed.len()
            )
        }
    )
}

fn clean_opt(text: &mut Option<String>) {
    if let Some(t) = text {
        *t = scrub(t);
    }
}

fn clean_row_id(id: &mut RowId) {
    if let RowId::Principal(p) = id {
        *p = scrub(p);
    }
}

fn clean_finding(f: &mut Finding) {
    f.message = scrub(&f.message);
    f.remedy = scrub(&f.remedy);
}

/// The last step of a renderer whose output holds no CI commands of its own (table without
/// colour, JSON, JUnit, Markdown): the whole text redacted and sanitized once more.
pub(crate) fn finish(out: &str) -> String {
    scrub(out)
}

/// The last step of the `github` and `azdo` renderers, whose lines are CI commands by design:
/// redacted, and any control character other than newline and tab removed. (Their fields are
/// neutralised by [`clean`] and escaped so that none can start a line.)
pub(crate) fn finish_with_commands(out: &str) -> String {
    crate::redact::strip_controls(&crate::redact::redact(out))
}

/// An estate's matrix has a row per service when the services outnumber the credentials: a
/// long list of rows reads (and scrolls) where a wide list of columns does not.
pub(crate) fn services_as_rows(report: &Report) -> bool {
    service_names(report).len() > credential_ids(report).len()
}
