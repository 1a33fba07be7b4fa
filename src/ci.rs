//! What entraprobe does by itself under a CI runner, so a gate needs no glue steps: the
//! annotations of GitHub Actions or Azure Pipelines whenever stdout is free for them, and under
//! GitHub Actions the job summary (`$GITHUB_STEP_SUMMARY`) and the step outputs
//! (`$GITHUB_OUTPUT`: `exit-code`, `failed-cells`, `inconclusive-cells`).

use crate::config::{Format, OutputSpec};
use crate::probe::Report;
use crate::report::Tally;
use anyhow::Context;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

fn github_actions(env: &BTreeMap<String, String>) -> bool {
    env.get("GITHUB_ACTIONS").is_some_and(|v| v == "true")
}

fn azure_pipelines(env: &BTreeMap<String, String>) -> bool {
    env.get("TF_BUILD")
        .is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// The outputs to render: the explicit ones, or a table on stdout. When nothing explicit goes to
/// stdout, the runner's annotations are added there (they would corrupt a JSON or JUnit
/// stream, so they are left out when one of those is on stdout).
pub fn outputs(explicit: &[OutputSpec], env: &BTreeMap<String, String>) -> Vec<OutputSpec> {
    let mut outputs = explicit.to_vec();
    if outputs.is_empty() {
        outputs.push(OutputSpec {
            format: Format::Table,
            path: None,
        });
    }
    let stdout_free = outputs
        .iter()
        .all(|o| o.path.is_some() || o.format == Format::Table);
    let mut annotate = |wanted: bool, format: Format| {
        if wanted && stdout_free && !outputs.iter().any(|o| o.format == format) {
            outputs.push(OutputSpec { format, path: None });
        }
    };
    annotate(github_actions(env), Format::Github);
    annotate(azure_pipelines(env), Format::Azdo);
    outputs
}

/// Under GitHub Actions: append the Markdown summary (which stops short of GitHub's 1 MiB
/// limit by itself) to `$GITHUB_STEP_SUMMARY` and the step outputs to `$GITHUB_OUTPUT`, where
/// the runner set them.
pub fn write_github_job_files(
    report: &Report,
    env: &BTreeMap<String, String>,
) -> anyhow::Result<()> {
    if !github_actions(env) {
        return Ok(());
    }
    if let Some(path) = env.get("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        append(Path::new(path), &crate::report::markdown::render(report))
            .with_context(|| format!("cannot append to $GITHUB_STEP_SUMMARY ({path})"))?;
    }
    if let Some(path) = env.get("GITHUB_OUTPUT").filter(|p| !p.is_empty()) {
        append(Path::new(path), &step_outputs(report))
            .with_context(|| format!("cannot append to $GITHUB_OUTPUT ({path})"))?;
    }
    Ok(())
}

fn step_outputs(report: &Report) -> String {
    let tally = Tally::of(report);
    format!(
        "exit-code={}\nfailed-cells={}\ninconclusive-cells={}\n",
        report.exit_code(),
        tally.not_met,
        tally.inconclusive
    )
}

fn append(path: &Path, text: &str) -> std::io::Result<()> {
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)?;
    file.write_all(text.as_bytes())?;
    file.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn spec(format: Format, path: Option<&str>) -> OutputSpec {
        OutputSpec {
            format,
            path: path.map(Into::into),
        }
    }

    fn formats(outputs: &[OutputSpec]) -> Vec<(Format, bool)> {
        outputs
            .iter()
            .map(|o| (o.format, o.path.is_some()))
            .collect()
    }

    #[test]
    fn annotations_join_whenever_stdout_is_free() {
        let gha = env(&[("GITHUB_ACTIONS", "true")]);
        assert_eq!(
            formats(&outputs(&[], &gha)),
            [(Format::Table, false), (Format::Github, false)]
        );
        // Explicit outputs that all go to files: the annotations still come.
        let to_files = [
            spec(Format::Junit, Some("r.xml")),
            spec(Format::Markdown, Some("s.md")),
        ];
        assert_eq!(
            formats(&outputs(&to_files, &gha)),
            [
                (Format::Junit, true),
                (Format::Markdown, true),
                (Format::Github, false)
            ]
        );
        // JSON on stdout: annotations would corrupt it.
        let json = [spec(Format::Json, None)];
        assert_eq!(formats(&outputs(&json, &gha)), [(Format::Json, false)]);
        let azdo = env(&[("TF_BUILD", "True")]);
        assert_eq!(
            formats(&outputs(&to_files, &azdo)),
            [
                (Format::Junit, true),
                (Format::Markdown, true),
                (Format::Azdo, false)
            ]
        );
        assert_eq!(formats(&outputs(&[], &env(&[]))), [(Format::Table, false)]);
    }
}
