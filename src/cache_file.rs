//! The byte format of tfw's caches in the git dir: integers little-endian, strings and byte
//! runs prefixed with their length. A cache that does not read back is simply not used.

/// Builds a cache file's bytes.
#[derive(Default)]
pub struct Writer(pub Vec<u8>);

impl Writer {
    pub fn u8(&mut self, value: u8) {
        self.0.push(value);
    }
    pub fn u32(&mut self, value: usize) {
        self.0.extend_from_slice(&(value as u32).to_le_bytes());
    }
    pub fn u64(&mut self, value: u64) {
        self.0.extend_from_slice(&value.to_le_bytes());
    }
    pub fn bytes(&mut self, bytes: &[u8]) {
        self.u32(bytes.len());
        self.0.extend_from_slice(bytes);
    }
    pub fn str(&mut self, text: &str) {
        self.bytes(text.as_bytes());
    }
    pub fn option_str(&mut self, text: Option<&str>) {
        match text {
            Some(text) => {
                self.u8(1);
                self.str(text);
            }
            None => self.u8(0),
        }
    }
}

/// Reads a cache file's bytes back; `None` at the first thing that does not fit.
pub struct Reader<'a>(pub &'a [u8]);

impl<'a> Reader<'a> {
    pub fn take(&mut self, len: usize) -> Option<&'a [u8]> {
        let (taken, rest) = self.0.split_at_checked(len)?;
        self.0 = rest;
        Some(taken)
    }
    pub fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    pub fn u32(&mut self) -> Option<usize> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?) as usize)
    }
    pub fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    pub fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = self.u32()?;
        self.take(len)
    }
    pub fn str(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.bytes()?).ok()
    }
    pub fn option_str(&mut self) -> Option<Option<&'a str>> {
        match self.u8()? {
            0 => Some(None),
            _ => Some(Some(self.str()?)),
        }
    }
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

/// Writes `bytes` to `path` whole (see `atomic_file`), for its owner alone: a cache may hold
/// what the repository's other readers should not see. One that cannot be written only costs
/// time on the next run.
pub fn write(path: &std::path::Path, bytes: &[u8]) {
    let _ = crate::atomic_file::write_private(path, bytes);
}
