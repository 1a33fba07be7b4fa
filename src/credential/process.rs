//! Running `az`/`azd` for azure_identity with the environment snapshot instead of the process's
//! own, so what the tool reports is what the snapshot says (and tests can point PATH at a fake).

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::PathBuf;

/// The first executable `name` in the snapshot's PATH.
pub(crate) fn find_on_path(env: &BTreeMap<String, String>, name: &str) -> Option<PathBuf> {
    let path = env.get("PATH")?;
    std::env::split_paths(path).find_map(|dir| {
        let candidate = dir.join(name);
        is_executable(&candidate).then_some(candidate)
    })
}

#[cfg(unix)]
fn is_executable(path: &std::path::Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

#[cfg(not(unix))]
fn is_executable(path: &std::path::Path) -> bool {
    path.is_file() || path.with_extension("cmd").is_file() || path.with_extension("exe").is_file()
}

/// azure_identity's CLI credentials hand their command to an [`azure_identity::Executor`]; this
/// one runs it with exactly the snapshot's environment and kills it when the deadline drops it.
#[derive(Debug)]
pub(crate) struct SnapshotExecutor {
    pub env: BTreeMap<String, String>,
}

#[async_trait::async_trait]
impl azure_identity::Executor for SnapshotExecutor {
    async fn run(&self, program: &OsStr, args: &[&OsStr]) -> std::io::Result<std::process::Output> {
        tokio::process::Command::new(program)
            .args(args)
            .env_clear()
            .envs(&self.env)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true)
            .output()
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn finds_only_executables_on_the_snapshot_path() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let az = dir.path().join("az");
        std::fs::write(&az, "#!/bin/sh\n").unwrap();
        let env: BTreeMap<String, String> = [(
            "PATH".to_string(),
            format!("/nonexistent:{}", dir.path().display()),
        )]
        .into();
        assert_eq!(find_on_path(&env, "az"), None, "not executable yet");
        std::fs::set_permissions(&az, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(find_on_path(&env, "az"), Some(az));
        assert_eq!(find_on_path(&env, "azd"), None);
        assert_eq!(find_on_path(&BTreeMap::new(), "az"), None);
    }
}
