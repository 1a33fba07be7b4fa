//! `--output github`: GitHub Actions workflow commands. One `::error` per cell that did not meet
//! its expectation, `::warning` for inconclusive cells and for warnings in cells that did, and a
//! closing `::notice` with the tally. (GitHub shows only the first few annotations of each kind
//! per step on the run page; the notice's tally and the Markdown summary carry the rest.)

use super::{Outcome, Tally, cell_details, cell_name, outcome, primary_code, redact, warnings};
use crate::probe::Report;

pub fn render(report: &Report) -> String {
    let report = &super::clean(report);
    let mut out = String::new();
    for cell in &report.cells {
        let name = cell_name(cell);
        match outcome(cell) {
            Outcome::NotMet => out.push_str(&command(
                "error",
                &format!("entraprobe: {name}: {}", primary_code(cell)),
                &cell_details(cell),
            )),
            Outcome::Inconclusive => out.push_str(&command(
                "warning",
                &format!("entraprobe: {name}: inconclusive ({})", primary_code(cell)),
                &cell_details(cell),
            )),
            Outcome::Met => {
                for f in warnings(cell) {
                    out.push_str(&command(
                        "warning",
                        &format!("entraprobe: {name}: {}", f.code),
                        &super::finding_text(f),
                    ));
                }
            }
            Outcome::Skipped => {}
        }
    }
    out.push_str(&command(
        "notice",
        "entraprobe",
        &Tally::of(report).sentence(report.exit_code()),
    ));
    super::finish_with_commands(&out)
}

/// `::{kind} title={title}::{message}` with both parts redacted, then escaped.
fn command(kind: &str, title: &str, message: &str) -> String {
    format!(
        "::{kind} title={}::{}\n",
        escape_property(&redact(title)),
        escape_data(&redact(message))
    )
}

/// Escaping of a command's message, as the runner unescapes it.
pub fn escape_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escaping of a property value: the message escapes plus the `:` and `,` that delimit
/// properties.
pub fn escape_property(text: &str) -> String {
    escape_data(text).replace(':', "%3A").replace(',', "%2C")
}
