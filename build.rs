//! Records the commit the binary was built from, for `entraprobe --version`. Outside a git
//! checkout (a crate tarball, a vendored copy) the version says so instead of failing the build.

use std::process::Command;

fn git(args: &[&str]) -> Option<String> {
    let out = Command::new("git").args(args).output().ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?.trim().to_string();
    (!text.is_empty()).then_some(text)
}

fn main() {
    // Uncommitted changes are not marked: this script reruns when HEAD moves, not on every
    // edit, so such a mark would go stale.
    let described = match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(c) => format!("commit {c}"),
        None => "commit unknown".to_string(),
    };
    println!("cargo:rustc-env=ENTRAPROBE_BUILD_COMMIT={described}");
    // Rebuild when HEAD moves (a commit, a checkout), not on every source edit.
    for path in ["HEAD", "packed-refs", "refs/heads"] {
        if let Some(p) = git(&["rev-parse", "--git-path", path]) {
            println!("cargo:rerun-if-changed={p}");
        }
    }
    println!("cargo:rerun-if-changed=build.rs");
}
