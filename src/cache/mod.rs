//! The one format of every cache tfw keeps in the git dir: a header naming the cache, its
//! version and the tfw that wrote it, a checksum, then the content in postcard. A file that is
//! not exactly what this tfw would write — another cache, another version, another build, a
//! flipped byte, cut short — is never decoded: the caller rebuilds it, so a cache can make a
//! run faster and never change its answer.

use serde::Serialize;
use std::path::Path;

/// The first bytes of every cache file.
const MAGIC: &[u8; 8] = b"tfwcache";

/// One cache: its name (also its file name in the git dir) and the version of its content.
/// A change to what a user keeps bumps the version, so an older file reads as empty.
pub struct Kind {
    pub file: &'static str,
    pub version: u32,
}

/// Whether caches are off (`TFW_NO_CACHE`, set to anything but empty or `0`): nothing is read
/// or written, and answers are the same, only slower.
pub fn disabled() -> bool {
    std::env::var_os("TFW_NO_CACHE").is_some_and(|v| !v.is_empty() && v != "0")
}

/// The header this tfw writes for `kind`: magic, name, version and the build (see `maker`).
fn header(kind: &Kind) -> Vec<u8> {
    let mut header = MAGIC.to_vec();
    header.extend_from_slice(&(kind.file.len() as u32).to_le_bytes());
    header.extend_from_slice(kind.file.as_bytes());
    header.extend_from_slice(&kind.version.to_le_bytes());
    let maker = sha1_smol::Sha1::from(maker()).digest().bytes();
    header.extend_from_slice(&maker);
    header
}

/// Cache writes under way (see `in_background`).
static PENDING: std::sync::Mutex<Vec<std::thread::JoinHandle<()>>> =
    std::sync::Mutex::new(Vec::new());

/// Runs `save` (a cache's encoding and write) beside the rest of the run: a big repository's
/// caches take as long to write as its slowest check. `finish` waits for it, and so does every
/// read of a cache, so a run in this process never reads one half written.
pub fn in_background(save: impl FnOnce() + Send + 'static) {
    if disabled() {
        return;
    }
    // A thread that cannot start takes the write with it: only the next run's time is lost.
    if let (Ok(handle), Ok(mut pending)) = (std::thread::Builder::new().spawn(save), PENDING.lock())
    {
        pending.push(handle);
    }
}

/// Waits for every cache write under way: before tfw exits, and before a cache is read.
pub fn finish() {
    let handles = std::mem::take(&mut *PENDING.lock().unwrap_or_else(|e| e.into_inner()));
    for handle in handles {
        let _ = handle.join();
    }
}

/// The content of the cache file `kind` in `git_dir`, verified: `None` when there is none, or
/// it is not whole and this tfw's (then the caller starts empty).
pub fn read(git_dir: &Path, kind: &Kind) -> Option<Vec<u8>> {
    if disabled() {
        return None;
    }
    finish();
    let bytes = std::fs::read(git_dir.join(kind.file)).ok()?;
    content(bytes, kind)
}

/// The content of a cache file's `bytes`, when its header is `kind`'s and its checksum holds.
fn content(mut bytes: Vec<u8>, kind: &Kind) -> Option<Vec<u8>> {
    let header = header(kind);
    let rest = bytes.strip_prefix(header.as_slice())?;
    let (checksum, content) = rest.split_first_chunk::<4>()?;
    if u32::from_le_bytes(*checksum) != crc32fast::hash(content) {
        return None;
    }
    let start = header.len() + 4;
    bytes.drain(..start);
    Some(bytes)
}

/// Decodes a user's value from verified content; `None` when it does not fit the type (a cache
/// whose version was not bumped with its type: rebuilt rather than misread).
pub fn decode<'a, T: serde::Deserialize<'a>>(content: &'a [u8]) -> Option<T> {
    let (value, rest) = postcard::take_from_bytes(content).ok()?;
    rest.is_empty().then_some(value)
}

/// A part of a cache's content encoded apart, to be decoded only when asked for.
pub fn encode<T: Serialize + ?Sized>(value: &T) -> Option<Vec<u8>> {
    postcard::to_stdvec(value).ok()
}

/// Writes `value` as the cache file `kind` in `git_dir`: renamed into place whole (see
/// `atomic_file`), not synced (a crash can only leave a file its checksum refuses), for its
/// owner alone (a cache may hold what the repository's other readers should not see). One that
/// cannot be written only costs time on the next run.
pub fn write<T: Serialize + ?Sized>(git_dir: &Path, kind: &Kind, value: &T) {
    if disabled() {
        return;
    }
    let Some(content) = encode(value) else {
        return;
    };
    let mut bytes = header(kind);
    bytes.extend_from_slice(&crc32fast::hash(&content).to_le_bytes());
    bytes.extend_from_slice(&content);
    let _ = crate::atomic_file::write_cache(&git_dir.join(kind.file), &bytes);
}

/// What identifies the tfw that made a cache: its version, and its executable's path, size and
/// modification time, so that a tfw rebuilt from another commit (pre-commit builds each `rev`
/// with the same version number) does not trust what another one kept. When the executable
/// cannot be told, nothing kept matches (the process id stands in). Asked of the system once.
pub fn maker() -> &'static [u8] {
    static MAKER: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    MAKER.get_or_init(|| {
        use std::os::unix::fs::MetadataExt;
        let mut identity = env!("CARGO_PKG_VERSION").as_bytes().to_vec();
        match std::env::current_exe().and_then(|exe| Ok((std::fs::metadata(&exe)?, exe))) {
            Ok((metadata, exe)) => {
                identity.extend_from_slice(exe.as_os_str().as_encoded_bytes());
                for value in [
                    metadata.size(),
                    metadata.mtime() as u64,
                    metadata.mtime_nsec() as u64,
                ] {
                    identity.extend_from_slice(&value.to_le_bytes());
                }
            }
            Err(_) => identity.extend_from_slice(&std::process::id().to_le_bytes()),
        }
        identity
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const KIND: Kind = Kind {
        file: "tfw-test-cache",
        version: 1,
    };

    #[derive(Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Value {
        names: Vec<String>,
        count: u64,
    }

    #[test]
    fn a_value_survives_a_round_trip_and_nothing_else_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let value = Value {
            names: vec!["a".into(), "b/c".into()],
            count: 7,
        };
        write(dir.path(), &KIND, &value);
        assert_eq!(
            read(dir.path(), &KIND).and_then(|c| decode::<Value>(&c)),
            Some(value)
        );
        let other = Kind {
            file: KIND.file,
            version: 2,
        };
        assert_eq!(read(dir.path(), &other), None, "another version");
        let file = dir.path().join(KIND.file);
        let bytes = std::fs::read(&file).unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // Every flipped bit and every cut is refused, never decoded into another answer.
        for at in 0..bytes.len() {
            for bit in 0..8 {
                let mut flipped = bytes.clone();
                flipped[at] ^= 1 << bit;
                assert_eq!(content(flipped, &KIND), None, "bit {bit} of byte {at}");
            }
            assert_eq!(content(bytes[..at].to_vec(), &KIND), None, "cut at {at}");
        }
    }

    #[test]
    fn content_that_does_not_fit_the_type_is_not_decoded() {
        let content = postcard::to_stdvec(&(1u8, 2u8)).unwrap();
        assert_eq!(decode::<(u8, u8, u8)>(&content), None);
        assert_eq!(decode::<u8>(&content), None, "left over bytes");
        assert_eq!(decode::<(u8, u8)>(&content), Some((1, 2)));
    }
}
