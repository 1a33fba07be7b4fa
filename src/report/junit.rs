//! `--output junit`: JUnit XML for Azure Pipelines `PublishTestResults@2` and GitHub test
//! reporters. One test suite per service, one test case per credential × service named
//! `{credential} → {service}`.
//!
//! - A cell that met its expectation is a success.
//! - A cell that did not is a `<failure>`: `type` is the most specific finding code, `message`
//!   one line, the text every finding with its remedy.
//! - A skipped cell (its credential source is not configured here) is `<skipped>`.
//! - An inconclusive cell (timeout, 5xx, network) is `<skipped type="inconclusive">` too, not a
//!   failure: it proved neither access nor denial, and exit code 3 says "no failure, but
//!   inconclusive". A JUnit failure would make `failTaskOnFailedTests` fail a run that the exit
//!   code calls not failed. Its findings are in the skip text, so they are not lost.
//!
//! The JUnit schema that Jenkins and the reporters share has no properties on a test case, so a
//! cell's expected/met/verdict/HTTP status are properties of its suite, named
//! `{credential}.expected` and so on; each case's `system-out` repeats them with the stages.

use super::{
    Outcome, cell_details, cell_name, credential_ids, expectation_line, expectation_str, outcome,
    primary_code, redact, service_names, verdict_str,
};
use crate::probe::{Cell, Report};
use quick_junit::{NonSuccessKind, Property, TestCase, TestCaseStatus, TestSuite};
use std::time::Duration;

pub fn render(report: &Report) -> String {
    let report = &super::clean(report);
    let mut junit = quick_junit::Report::new("entraprobe");
    junit.set_time(Duration::from_millis(report.duration_ms));
    let credentials = credential_ids(report);
    for service in service_names(report) {
        let mut suite = TestSuite::new(redact(&service));
        if let Some(target) = report.services.iter().find(|t| t.name == service) {
            suite.add_property(Property::new("kind", target.kind.as_str()));
            suite.add_property(Property::new("endpoint", redact(&target.endpoint)));
        }
        let cells = credentials.iter().filter_map(|id| {
            report
                .cells
                .iter()
                .find(|c| c.credential == *id && c.service == service)
        });
        for cell in cells {
            for (name, value) in cell_properties(cell) {
                suite.add_property(Property::new(
                    format!("{}.{name}", cell.credential),
                    redact(&value),
                ));
            }
            suite.add_test_case(test_case(cell, &service));
        }
        junit.add_test_suite(suite);
    }
    let xml = junit.to_string().unwrap_or_else(|e| {
        // Serializing into a String cannot fail on I/O; say what happened rather than panic.
        format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- entraprobe: JUnit serialization failed: {e} -->\n<testsuites/>\n")
    });
    super::finish(&xml)
}

fn cell_properties(cell: &Cell) -> Vec<(&'static str, String)> {
    let mut props = vec![
        ("expected", expectation_str(cell.expected).to_string()),
        ("verdict", verdict_str(cell.verdict).to_string()),
        ("met", cell.met.to_string()),
    ];
    if let Some(http) = &cell.http {
        props.push(("http_status", http.status.to_string()));
        if let Some(id) = &http.request_id {
            props.push(("request_id", id.clone()));
        }
    }
    props
}

fn test_case(cell: &Cell, service: &str) -> TestCase {
    let details = redact(&cell_details(cell));
    let summary = |prefix: &str| {
        let first = cell
            .findings
            .first()
            .map(|f| format!(": {}: {}", f.code, f.message.lines().next().unwrap_or("")))
            .unwrap_or_default();
        redact(&format!("{prefix}{}{first}", expectation_line(cell)))
    };
    let status = match outcome(cell) {
        Outcome::Met => TestCaseStatus::success(),
        Outcome::NotMet => {
            let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
            s.set_type(primary_code(cell))
                .set_message(summary(""))
                .set_description(details.clone());
            s
        }
        Outcome::Skipped => {
            let mut s = TestCaseStatus::skipped();
            let reason = cell
                .findings
                .first()
                .map(|f| f.message.clone())
                .filter(|m| !m.is_empty())
                .unwrap_or_else(|| cell.stages.token.clone());
            s.set_message(redact(&format!("skipped: {reason}")));
            s
        }
        Outcome::Inconclusive => {
            let mut s = TestCaseStatus::skipped();
            s.set_type("inconclusive")
                .set_message(summary("inconclusive: "))
                .set_description(details.clone());
            s
        }
    };
    let mut case = TestCase::new(redact(&cell_name(cell)), status);
    case.set_classname(redact(&format!("entraprobe.{service}")));
    // A failure or skip already carries the details; repeating them would double the text
    // reporters show. A success keeps them here (its warnings, the HTTP exchange).
    let stages = &cell.stages;
    let stage_lines = format!(
        "token: {}\nclaims: {}\nrbac: {}\ncall: {}\n",
        stages.token, stages.claims, stages.rbac, stages.call
    );
    let system_out = match outcome(cell) {
        Outcome::Met => format!("{details}\n{stage_lines}"),
        _ => stage_lines,
    };
    case.set_system_out(redact(&system_out));
    case
}
