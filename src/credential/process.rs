//! Running `az`/`azd` for azure_identity with the environment snapshot instead of the process's
//! own, so what the tool reports is what the snapshot says (and tests can point PATH at a fake).

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::path::{Path, PathBuf};

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

/// The most of a CLI's stdout or stderr the tool keeps: a token answer is a few KiB.
pub(crate) const OUTPUT_LIMIT: usize = 1024 * 1024;

/// azure_identity's CLI credentials hand their command to an [`azure_identity::Executor`]; this
/// one runs it with exactly the snapshot's environment, in a process group of its own, reads at
/// most [`OUTPUT_LIMIT`] of each output, and kills the whole group when the CLI is done or when
/// the deadline drops the run: nothing the CLI started outlives the tool.
#[derive(Debug)]
pub(crate) struct SnapshotExecutor {
    pub env: BTreeMap<String, String>,
}

#[async_trait::async_trait]
impl azure_identity::Executor for SnapshotExecutor {
    async fn run(&self, program: &OsStr, args: &[&OsStr]) -> std::io::Result<std::process::Output> {
        let mut command = tokio::process::Command::new(program);
        command
            .args(args)
            .env_clear()
            .envs(&self.env)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        #[cfg(unix)]
        command.process_group(0);
        let mut child = command.spawn()?;
        // Owned by this future alone, so dropping it at the deadline kills the group even while
        // the readers still wait on pipes a background process holds open.
        let group = GroupGuard(child.id());
        let name = Path::new(program)
            .file_name()
            .unwrap_or(program)
            .to_string_lossy()
            .into_owned();
        let stdout = tokio::spawn(read_output(
            child.stdout.take(),
            group.0,
            name.clone(),
            "stdout",
        ));
        let stderr = tokio::spawn(read_output(child.stderr.take(), group.0, name, "stderr"));
        let status = child.wait().await?;
        // What the CLI left running in the background goes with it; that also closes the pipes
        // a background process may still hold, so the reads below end.
        kill_group(group.0);
        let stdout = stdout.await.map_err(std::io::Error::other)??;
        let stderr = stderr.await.map_err(std::io::Error::other)??;
        Ok(std::process::Output {
            status,
            stdout,
            stderr,
        })
    }
}

/// Read one output of the CLI up to [`OUTPUT_LIMIT`]; past it, kill the CLI's group and fail.
async fn read_output(
    pipe: Option<impl tokio::io::AsyncRead + Unpin>,
    group: Option<u32>,
    program: String,
    which: &'static str,
) -> std::io::Result<Vec<u8>> {
    use tokio::io::AsyncReadExt;
    let mut bytes = Vec::new();
    let Some(pipe) = pipe else { return Ok(bytes) };
    pipe.take(OUTPUT_LIMIT as u64 + 1)
        .read_to_end(&mut bytes)
        .await?;
    if bytes.len() > OUTPUT_LIMIT {
        kill_group(group);
        return Err(std::io::Error::other(format!(
            "{program} wrote more than {} KiB to {which}; entraprobe stopped it",
            OUTPUT_LIMIT / 1024
        )));
    }
    Ok(bytes)
}

/// The process group of a spawned CLI (its id is the CLI's pid); killed when dropped.
#[derive(Debug)]
struct GroupGuard(Option<u32>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        kill_group(self.0);
    }
}

/// SIGKILL the process group led by `leader` (spawned with `process_group(0)`).
fn kill_group(leader: Option<u32>) {
    #[cfg(unix)]
    if let Some(pid) = leader.and_then(|p| i32::try_from(p).ok())
        && pid > 0
    {
        // SAFETY: kill(2) with a negative pid signals that process group; no memory is
        // touched. An empty group is ESRCH, which is fine.
        unsafe {
            libc::kill(-pid, libc::SIGKILL);
        }
    }
    #[cfg(not(unix))]
    let _ = leader;
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
