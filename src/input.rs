//! Bounded reading of every file (and stdin) the tool reads: configuration, CA bundles,
//! scenarios, federated token files, client certificates, `decode -`.
//!
//! A path from the user or the environment may name anything: a FIFO (open blocks until a writer
//! appears, past every deadline), `/dev/zero` (never ends), a directory, a 2 GB file. Only
//! regular files are read, and at most `limit` bytes of them; stdin, which is a pipe by design,
//! is read up to the limit. Every error names the file and what it was given as, never its
//! content.

use std::io::Read;
use std::path::Path;

/// Configuration files, scenarios, certificates (a PFX with its chain is a few KiB).
pub const FILE_LIMIT: u64 = 1024 * 1024;
/// CA bundles: a whole platform bundle is about 250 KiB.
pub const CA_FILE_LIMIT: u64 = 4 * 1024 * 1024;
/// A JWT (a federated token file, `decode` input): real ones are 1-4 KiB.
pub const TOKEN_LIMIT: u64 = 64 * 1024;

/// Read at most `limit` bytes of the regular file `path`. `what` says what the file was given
/// as (`--config`, `AZURE_FEDERATED_TOKEN_FILE`, …) and leads every error message.
pub fn read_file(path: &Path, what: &str, limit: u64) -> Result<Vec<u8>, String> {
    let shown = path.display();
    // stat does not open the file, so a FIFO is refused before anything could block on it.
    let meta =
        std::fs::metadata(path).map_err(|e| format!("{what} {shown}: cannot read it: {e}"))?;
    check_regular(&meta, what, &shown.to_string())?;
    check_size(meta.len(), limit, what, &shown.to_string())?;
    let file =
        std::fs::File::open(path).map_err(|e| format!("{what} {shown}: cannot read it: {e}"))?;
    // The file may have changed between stat and open: check the opened one again, and read
    // one byte past the limit to notice growth.
    let opened = file
        .metadata()
        .map_err(|e| format!("{what} {shown}: cannot read it: {e}"))?;
    check_regular(&opened, what, &shown.to_string())?;
    read_capped(file, limit, what, &shown.to_string())
}

/// [`read_file`], as UTF-8 text.
pub fn read_text(path: &Path, what: &str, limit: u64) -> Result<String, String> {
    let bytes = read_file(path, what, limit)?;
    String::from_utf8(bytes).map_err(|_| format!("{what} {}: is not UTF-8 text", path.display()))
}

/// Read stdin up to `limit` bytes, as UTF-8 text.
pub fn read_stdin_text(what: &str, limit: u64) -> Result<String, String> {
    let bytes = read_capped(std::io::stdin().lock(), limit, what, "on stdin")?;
    String::from_utf8(bytes).map_err(|_| format!("{what} on stdin: is not UTF-8 text"))
}

/// Read one line of stdin, up to `limit` bytes, as UTF-8 text without its line end: a person
/// pasting at a prompt ends with Enter, not with end-of-file.
pub fn read_stdin_line(what: &str, limit: u64) -> Result<String, String> {
    use std::io::BufRead;
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(limit + 1)
        .read_until(b'\n', &mut bytes)
        .map_err(|e| format!("{what} on stdin: cannot read it: {e}"))?;
    if bytes.last() == Some(&b'\n') {
        bytes.pop();
    }
    check_size(bytes.len() as u64, limit, what, "on stdin")?;
    String::from_utf8(bytes).map_err(|_| format!("{what} on stdin: is not UTF-8 text"))
}

fn read_capped(source: impl Read, limit: u64, what: &str, shown: &str) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::new();
    source
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{what} {shown}: cannot read it: {e}"))?;
    check_size(bytes.len() as u64, limit, what, shown)?;
    Ok(bytes)
}

fn check_size(len: u64, limit: u64, what: &str, shown: &str) -> Result<(), String> {
    if len > limit {
        return Err(format!(
            "{what} {shown}: is larger than {}; entraprobe reads at most that much of it",
            human_size(limit)
        ));
    }
    Ok(())
}

fn check_regular(meta: &std::fs::Metadata, what: &str, shown: &str) -> Result<(), String> {
    if meta.is_file() {
        return Ok(());
    }
    Err(format!(
        "{what} {shown}: is {}, not a regular file; entraprobe reads only regular files",
        kind_of(meta)
    ))
}

fn kind_of(meta: &std::fs::Metadata) -> &'static str {
    let kind = meta.file_type();
    if kind.is_dir() {
        return "a directory";
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        if kind.is_fifo() {
            return "a FIFO (named pipe)";
        }
        if kind.is_char_device() {
            return "a character device";
        }
        if kind.is_block_device() {
            return "a block device";
        }
        if kind.is_socket() {
            return "a socket";
        }
    }
    "not a regular file"
}

fn human_size(bytes: u64) -> String {
    if bytes >= 1024 * 1024 && bytes.is_multiple_of(1024 * 1024) {
        format!("{} MiB", bytes / (1024 * 1024))
    } else if bytes >= 1024 && bytes.is_multiple_of(1024) {
        format!("{} KiB", bytes / 1024)
    } else {
        format!("{bytes} bytes")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_small_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ok.toml");
        std::fs::write(&path, "a = 1\n").unwrap();
        assert_eq!(read_text(&path, "--config", 100).unwrap(), "a = 1\n");
    }

    #[test]
    fn a_file_over_the_limit_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("big.toml");
        std::fs::write(&path, vec![b'x'; 2048]).unwrap();
        let err = read_file(&path, "--config", 1024).unwrap_err();
        assert!(
            err.contains("--config") && err.contains("big.toml") && err.contains("1 KiB"),
            "{err}"
        );
    }

    #[test]
    fn directories_and_missing_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let err = read_file(dir.path(), "--ca-file", 1024).unwrap_err();
        assert!(
            err.contains("a directory") && err.contains("--ca-file"),
            "{err}"
        );
        let err = read_file(&dir.path().join("nope"), "--ca-file", 1024).unwrap_err();
        assert!(err.contains("nope") && err.contains("cannot read"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn devices_are_refused_without_reading() {
        let err = read_file(Path::new("/dev/zero"), "scenario", FILE_LIMIT).unwrap_err();
        assert!(
            err.contains("character device") && err.contains("/dev/zero"),
            "{err}"
        );
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("token");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .expect("mkfifo");
        assert!(made.success());
        let err = read_file(&fifo, "AZURE_FEDERATED_TOKEN_FILE", TOKEN_LIMIT).unwrap_err();
        assert!(
            err.contains("FIFO") && err.contains("AZURE_FEDERATED_TOKEN_FILE"),
            "{err}"
        );
    }

    #[test]
    fn endless_input_stops_one_byte_past_the_limit() {
        let err = read_capped(std::io::repeat(0), 4096, "stdin", "(stdin)").unwrap_err();
        assert!(err.contains("larger than 4 KiB"), "{err}");
    }
}
