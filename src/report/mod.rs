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

/// Counts by outcome, for the summary lines of the CI formats.
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

    pub fn sentence(&self, exit_code: i32) -> String {
        format!(
            "{} as expected, {} not as expected, {} skipped, {} inconclusive (exit code {exit_code})",
            self.met, self.not_met, self.skipped, self.inconclusive
        )
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

/// "expected allow, got fail"
pub(crate) fn expectation_line(cell: &Cell) -> String {
    format!(
        "expected {}, got {}",
        expectation_str(cell.expected),
        verdict_str(cell.verdict)
    )
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

/// One finding as plain text lines: what was seen, then what to do.
pub(crate) fn finding_text(f: &Finding) -> String {
    let mut text = format!("{} {}: {}", f.severity, f.code, f.message.trim());
    if !f.remedy.trim().is_empty() {
        text.push_str("\nFix: ");
        text.push_str(f.remedy.trim());
    }
    text.push_str(&format!("\nMore: entraprobe explain {}", f.code));
    text
}

/// All findings of a cell, with the HTTP exchange when there was one, as plain text.
pub(crate) fn cell_details(cell: &Cell) -> String {
    let mut parts = vec![expectation_line(cell)];
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
        parts.push(finding_text(f));
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
