//! `entraprobe emulate` as a user runs it: a relative `--env-file`, the printed hint sourced by
//! `sh` from another folder, and the fake `az` answering through what the file sets.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

const SCENARIO: &str = r#"
[tenant]
id = "0f6c6a2e-1b1e-4d7a-9a7e-3f2a5d0c8b11"
subscription = "5e2a3c1d-7b4f-4c8e-9d10-2a3b4c5d6e7f"

[[identity]]
name = "alice"
type = "user"
upn = "alice@contoso.com"

[machine]
azure_cli_user = "alice"
"#;

/// Kills the emulator when the test ends, however it ends.
struct Child(std::process::Child);
impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_relative_env_file_holds_absolute_paths_and_its_hint_works_in_sh_from_anywhere() {
    let work = tempfile::tempdir().unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    std::fs::write(work.path().join("s.toml"), SCENARIO).unwrap();
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_entraprobe"))
            .args(["emulate", "--scenario", "s.toml", "--env-file", "emu.env"])
            .current_dir(work.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start entraprobe emulate"),
    );
    let (lines, hint) = mpsc::channel();
    let stderr = child.0.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines.send(line);
        }
    });
    let hint = loop {
        let line = hint
            .recv_timeout(Duration::from_secs(60))
            .expect("emulate prints its `use it:` hint");
        if let Some(rest) = line.split_once("use it:") {
            break rest.1.split("   (").next().unwrap().trim().to_string();
        }
    };

    let text = std::fs::read_to_string(work.path().join("emu.env")).unwrap();
    for key in ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"] {
        let value = text
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{key}=")))
            .unwrap_or_else(|| panic!("{key} in the env file:\n{text}"));
        assert!(value.starts_with('/'), "{key}={value} is not absolute");
    }
    let path = text.lines().find_map(|l| l.strip_prefix("PATH=")).unwrap();
    assert!(
        path.starts_with('/'),
        "PATH starts with the fake CLIs' absolute folder: {path}"
    );

    // The hint, verbatim, in POSIX sh from another folder: then `az` is the emulator's.
    let output = Command::new("sh")
        .arg("-c")
        .arg(format!("{hint} && az account show"))
        .current_dir(elsewhere.path())
        .env_remove("HTTPS_PROXY")
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "`{hint}` then az from another folder:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("alice@contoso.com"),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
}
