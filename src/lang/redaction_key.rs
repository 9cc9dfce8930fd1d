//! The key of the hash that stands in for secret backend settings: random, kept per repository
//! in its git dir (owner-only), so that a hash in tfw's caches cannot be checked offline against
//! guessed secrets, while equal values still hash equal within the repository.

use std::io::Read;
use std::path::Path;
use std::sync::OnceLock;

const FILE: &str = "tfw-key";
const LEN: usize = 32;

static KEY: OnceLock<[u8; LEN]> = OnceLock::new();

/// The key in use: the repository's once `use_repository_key` found it, else one made for
/// this process (outside git nothing is kept, so nothing needs to match later).
pub fn key() -> &'static [u8; LEN] {
    KEY.get_or_init(random)
}

/// Uses the key kept in `git_dir`, making it when there is none. `None` when it cannot be
/// read or kept (a key for this process stands in: nothing hashed now may be kept); else
/// whether values hashed in an earlier run (in a cache) were hashed with it, false when it was
/// just made.
pub fn use_repository_key(git_dir: &Path) -> Option<bool> {
    let (kept, before) = repository_key(git_dir).ok()?;
    (KEY.get_or_init(|| kept) == &kept).then_some(before)
}

/// The repository's key, and whether it was there before.
fn repository_key(git_dir: &Path) -> std::io::Result<([u8; LEN], bool)> {
    use std::io::Write;
    let path = git_dir.join(FILE);
    match read(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        other => return other.map(|key| (key, true)),
    }
    let key = random();
    // Created whole and owner-only (tempfile's mode), and never over another tfw's key made
    // at the same moment: that one wins.
    let mut file = tempfile::Builder::new()
        .prefix(&format!(".{FILE}."))
        .tempfile_in(git_dir)?;
    file.write_all(&key)?;
    file.as_file().sync_all()?;
    match file.persist_noclobber(&path) {
        Ok(_) => Ok((key, false)),
        Err(e) if e.error.kind() == std::io::ErrorKind::AlreadyExists => {
            read(&path).map(|key| (key, false))
        }
        Err(e) => Err(e.error),
    }
}

fn read(path: &Path) -> std::io::Result<[u8; LEN]> {
    let mut key = [0; LEN];
    std::fs::File::open(path)?.read_exact(&mut key)?;
    Ok(key)
}

/// Random bytes from the system; std's own random hash seeds when /dev/urandom cannot be read.
fn random() -> [u8; LEN] {
    let mut key = [0; LEN];
    let read = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut key));
    if read.is_err() {
        use std::hash::{BuildHasher, Hasher};
        for chunk in key.chunks_mut(8) {
            let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
            hasher.write_usize(chunk.as_ptr() as usize);
            chunk.copy_from_slice(&hasher.finish().to_le_bytes());
        }
    }
    key
}

/// HMAC-SHA1 (RFC 2104) of `message` under the key in use, in hex.
pub fn keyed_hash(message: &[u8]) -> String {
    const BLOCK: usize = 64;
    let mut padded = [0u8; BLOCK];
    padded[..LEN].copy_from_slice(key());
    let mut inner = sha1_smol::Sha1::new();
    inner.update(&padded.map(|b| b ^ 0x36));
    inner.update(message);
    let mut outer = sha1_smol::Sha1::new();
    outer.update(&padded.map(|b| b ^ 0x5c));
    outer.update(&inner.digest().bytes());
    outer.digest().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repository_key_is_made_once_owner_only_and_kept() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let (made, before) = repository_key(dir.path()).unwrap();
        assert!(!before, "a new key says cached hashes are not its own");
        let mode = std::fs::metadata(dir.path().join(FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(repository_key(dir.path()).unwrap(), (made, true));
        assert_ne!(made, random(), "random keys differ");
    }
}
