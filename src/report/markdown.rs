//! `--output markdown`: a summary for `$GITHUB_STEP_SUMMARY` (or `##vso[task.uploadsummary]`).
//! A table with a row per credential and a column per service, then the findings of every cell
//! that needs attention, then the credential sources.

use super::{
    Outcome, Tally, cell_name, credential_ids, expectation_line, outcome, primary_code, redact,
    service_names, warnings,
};
use crate::probe::{CredentialStatus, Expectation, Report};

/// GitHub caps a step summary at 1 MiB; past that the whole summary is dropped, so the renderer
/// stops short of it.
const STEP_SUMMARY_LIMIT: usize = 1_000_000;

pub fn render(report: &Report) -> String {
    let report = &super::clean(report);
    let tally = Tally::of(report);
    let mut out = String::from("## entraprobe\n\n");
    out.push_str(&format!(
        "**{}** · cloud `{}` · {} ms\n\n",
        tally.sentence(report.exit_code()),
        cell_text(&report.cloud),
        report.duration_ms
    ));
    if let Some(d) = &report.discovery {
        out.push_str(&cell_text(&super::discovery_sentence(d)));
        out.push_str("\n\n");
    }
    out.push_str(&table(report));
    out.push_str("\n✅ as expected · ❌ not as expected · ⏭ skipped · ❔ inconclusive\n");

    let attention: Vec<_> = report
        .cells
        .iter()
        .filter(|c| {
            matches!(outcome(c), Outcome::NotMet | Outcome::Inconclusive)
                || (outcome(c) == Outcome::Met && warnings(c).next().is_some())
        })
        .collect();
    if !attention.is_empty() {
        out.push_str("\n### Findings\n");
        for cell in attention {
            let symbol = match outcome(cell) {
                Outcome::NotMet => "❌",
                Outcome::Inconclusive => "❔",
                _ => "⚠️",
            };
            out.push_str(&format!(
                "\n#### {symbol} {}\n\n",
                cell_text(&cell_name(cell))
            ));
            out.push_str(&cell_text(&expectation_line(cell)));
            if let Some(http) = &cell.http {
                out.push_str(&format!(
                    " · {} {} → HTTP {}",
                    cell_text(&http.method),
                    cell_text(&http.url),
                    http.status
                ));
                if let Some(id) = &http.request_id {
                    out.push_str(&format!(" · request id {}", cell_text(id)));
                }
            }
            out.push_str("\n\n");
            if cell.findings.is_empty() {
                out.push_str(&format!(
                    "- **error** `{0}`: the call was authorized. More: `entraprobe explain {0}`\n",
                    primary_code(cell)
                ));
            }
            for f in &cell.findings {
                out.push_str(&format!(
                    "- **{}** `{}`: {}",
                    f.severity,
                    f.code,
                    cell_text(f.message.trim())
                ));
                if !f.remedy.trim().is_empty() {
                    out.push_str(&format!("<br>**Fix:** {}", cell_text(f.remedy.trim())));
                }
                out.push_str(&format!("<br>More: `entraprobe explain {}`\n", f.code));
            }
            let stages = &cell.stages;
            let stage_line = [
                ("token", &stages.token),
                ("claims", &stages.claims),
                ("rbac", &stages.rbac),
                ("call", &stages.call),
            ]
            .iter()
            .filter(|(_, text)| !text.is_empty())
            .map(|(stage, text)| format!("{stage}: {}", cell_text(text)))
            .collect::<Vec<_>>()
            .join(" · ");
            if !stage_line.is_empty() {
                out.push_str(&format!("\n<sub>{stage_line}</sub>\n"));
            }
        }
    }

    if !report.credentials.is_empty() {
        out.push_str("\n### Credential sources\n\n| source | status | identity | note |\n|---|---|---|---|\n");
        for row in &report.credentials {
            let status = match row.status {
                CredentialStatus::Acquired => "acquired",
                CredentialStatus::Skipped => "skipped",
                CredentialStatus::Failed => "failed",
            };
            let identity = row
                .principal
                .as_ref()
                .map(|p| format!("{} ({})", cell_text(&p.display), cell_text(&p.object_id)))
                .unwrap_or_default();
            let note = row
                .findings
                .first()
                .map(|f| format!("`{}` {}", f.code, cell_text(&f.message)))
                .unwrap_or_default();
            out.push_str(&format!(
                "| `{}` | {status} | {identity} | {note} |\n",
                row.id
            ));
        }
    }

    let mut out = super::finish(&out);
    if out.len() > STEP_SUMMARY_LIMIT {
        let mut cut = STEP_SUMMARY_LIMIT - 200;
        while !out.is_char_boundary(cut) {
            cut -= 1;
        }
        let cut = out[..cut].rfind('\n').unwrap_or(cut);
        out.truncate(cut);
        out.push_str("\n\n*Truncated: the step summary limit is 1 MiB. The JSON or JUnit report has every finding.*\n");
    }
    out
}

fn table(report: &Report) -> String {
    let services = service_names(report);
    let mut out = String::from("| credential |");
    for s in &services {
        out.push_str(&format!(" {} |", cell_text(s)));
    }
    out.push_str("\n|---|");
    out.push_str(&":---:|".repeat(services.len()));
    out.push('\n');
    for id in credential_ids(report) {
        let display = report
            .credentials
            .iter()
            .find(|c| c.id == id)
            .and_then(|c| c.principal.as_ref())
            .map(|p| format!("<br>{}", cell_text(&p.display)))
            .unwrap_or_default();
        out.push_str(&format!("| `{id}`{display} |"));
        for service in &services {
            let cell = report
                .cells
                .iter()
                .find(|c| c.credential == id && &c.service == service);
            let text = match cell {
                None => "–".to_string(),
                Some(cell) => match outcome(cell) {
                    Outcome::Met if cell.expected == Expectation::Deny => "✅ denied".to_string(),
                    Outcome::Met => "✅".to_string(),
                    Outcome::NotMet => format!("❌ `{}`", primary_code(cell)),
                    Outcome::Skipped => "⏭".to_string(),
                    Outcome::Inconclusive => format!("❔ `{}`", primary_code(cell)),
                },
            };
            out.push_str(&format!(" {text} |"));
        }
        out.push('\n');
    }
    out
}

/// Text safe inside a table cell or a list item: redacted, HTML-significant characters and
/// Markdown emphasis neutralised, `|` escaped (GitHub splits cells on it even inside code spans),
/// and line breaks as `<br>`.
fn cell_text(text: &str) -> String {
    let text = redact(text);
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '|' => out.push_str("\\|"),
            '\\' | '*' | '_' | '`' | '[' | ']' | '#' | '~' => {
                out.push('\\');
                out.push(c);
            }
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("<br>");
            }
            '\n' => out.push_str("<br>"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::cell_text;

    #[test]
    fn cell_text_escapes_what_breaks_a_table() {
        assert_eq!(cell_text("a|b\r\nc\nd"), "a\\|b<br>c<br>d");
        assert_eq!(cell_text("<script>*x*"), "&lt;script&gt;\\*x\\*");
    }
}
