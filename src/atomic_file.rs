//! Every file tfw writes is written whole or not at all: into a temporary file in the same
//! directory, synced (save caches), then renamed over the target; the temporary file goes when
//! that fails.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Writes `bytes` to `path` for anyone to read (as the umask allows): generated files.
pub fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_with_mode(path, bytes, 0o666, true)
}

/// Writes `bytes` to `path` for its owner alone: records, which may hold what the repository's
/// readers should not.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_with_mode(path, bytes, 0o600, true)
}

/// `write_private` without waiting for the disk: for a cache, which a crash may leave torn or
/// empty only because its checksum then tells (see `cache`), so syncing buys nothing.
pub fn write_cache(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write_with_mode(path, bytes, 0o600, false)
}

fn write_with_mode(path: &Path, bytes: &[u8], mode: u32, sync: bool) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let mut file = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .permissions(std::fs::Permissions::from_mode(mode))
        .tempfile_in(dir)?;
    file.write_all(bytes)?;
    if sync {
        file.as_file().sync_all()?;
    }
    // Dropping the temporary file on an error removes it.
    file.persist(path).map_err(|e| e.error)?;
    Ok(())
}
