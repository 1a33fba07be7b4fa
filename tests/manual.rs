//! `entraprobe completions SHELL`, `entraprobe man` and `--version`, as a user runs them.

use clap::CommandFactory;
use std::process::Command;

fn entraprobe(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_entraprobe"))
        .args(args)
        .output()
        .expect("run entraprobe");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Every long flag of every subcommand, from the clap definitions themselves.
fn every_long_flag() -> Vec<String> {
    let root = entraprobe::cli::Cli::command();
    root.get_subcommands()
        .flat_map(|s| s.get_arguments().filter_map(|a| a.get_long()))
        .map(|l| format!("--{l}"))
        .collect()
}

#[test]
fn completions_exist_for_every_shell_and_know_every_subcommand() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let (code, script, err) = entraprobe(&["completions", shell]);
        assert_eq!(code, 0, "{shell}: {err}");
        for word in ["entraprobe", "run", "decode", "explain", "wait-for-access"] {
            assert!(script.contains(word), "{shell} completion lacks {word}");
        }
    }
    let (code, _, err) = entraprobe(&["completions", "tcsh"]);
    assert_eq!(code, 2, "an unknown shell is bad input");
    assert!(err.contains("tcsh") && err.contains("bash"), "{err}");
}

#[test]
fn the_bash_completion_is_valid_bash() {
    let (_, script, _) = entraprobe(&["completions", "bash"]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("entraprobe.bash");
    std::fs::write(&file, script).unwrap();
    let Ok(check) = Command::new("bash").arg("-n").arg(&file).output() else {
        eprintln!("bash is not installed here: syntax not checked");
        return;
    };
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
}

#[test]
fn the_man_page_is_roff_and_documents_every_flag() {
    let (code, page, err) = entraprobe(&["man"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        page.lines().any(|l| l.starts_with(".TH entraprobe 1")),
        "{page}"
    );
    for sub in [
        "RUN",
        "DEMO",
        "EMULATE",
        "TOKEN",
        "DECODE",
        "EXPLAIN",
        "COMPLETIONS",
    ] {
        assert!(
            page.contains(&format!(".SH \"{sub}\"")),
            "no section for {sub}"
        );
    }
    // roff escapes `-` as `\-`.
    let page = page.replace("\\-", "-");
    for flag in every_long_flag() {
        assert!(page.contains(&flag), "the man page does not mention {flag}");
    }
}

#[test]
fn version_names_the_commit() {
    let (code, out, _) = entraprobe(&["--version"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with(&format!(
            "entraprobe {} (commit ",
            env!("CARGO_PKG_VERSION")
        )),
        "{out}"
    );
}
