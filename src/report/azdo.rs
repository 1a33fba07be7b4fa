//! Azure DevOps logging commands: `##vso[task.logissue type=error;code=…]` per cell that did not
//! meet its expectation, `type=warning` for inconclusive cells and warnings, and a final
//! `##vso[task.complete result=…;]` that follows the exit code (0 Succeeded, 3
//! SucceededWithIssues, anything else Failed).

use super::{Outcome, Tally, cell_details, cell_name, outcome, primary_code, redact, warnings};
use crate::probe::Report;

pub fn render(report: &Report) -> String {
    let report = &super::clean(report);
    let mut out = String::new();
    for cell in &report.cells {
        let name = cell_name(cell);
        match outcome(cell) {
            Outcome::NotMet => out.push_str(&logissue(
                "error",
                primary_code(cell),
                &format!("{name}: {}", cell_details(cell)),
            )),
            Outcome::Inconclusive => out.push_str(&logissue(
                "warning",
                primary_code(cell),
                &format!("{name}: inconclusive: {}", cell_details(cell)),
            )),
            Outcome::Met => {
                for f in warnings(cell) {
                    out.push_str(&logissue(
                        "warning",
                        f.code.as_str(),
                        &format!("{name}: {}", super::finding_text(f)),
                    ));
                }
            }
            Outcome::Skipped => {}
        }
    }
    let exit_code = report.exit_code();
    let result = match exit_code {
        0 => "Succeeded",
        3 => "SucceededWithIssues",
        _ => "Failed",
    };
    out.push_str(&format!(
        "##vso[task.complete result={result};]{}\n",
        escape(&format!(
            "entraprobe: {}",
            Tally::of(report).sentence(exit_code)
        ))
    ));
    super::finish_with_commands(&out)
}

fn logissue(kind: &str, code: &str, message: &str) -> String {
    format!(
        "##vso[task.logissue type={kind};code={}]{}\n",
        escape(&redact(code)),
        escape(&redact(message))
    )
}

/// The agent's escaping for logging-command properties and messages. `%` goes first so the
/// escapes it introduces are not escaped again.
pub fn escape(text: &str) -> String {
    text.replace('%', "%AZP25")
        .replace(';', "%3B")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
        .replace(']', "%5D")
}
