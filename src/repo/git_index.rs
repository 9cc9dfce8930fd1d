//! Git's index file read directly: the tracked paths with their modes and object ids, without
//! starting git. Versions 2 to 4; anything else (split or sparse index, SHA-256) gives `None`
//! and the caller asks git instead.

use std::path::{Path, PathBuf};

pub type ObjectId = [u8; 20];

/// Receives each tracked file: path, mode, object id.
pub type Visitor<'a> = &'a mut dyn FnMut(&str, u32, &ObjectId);

pub const MODE_SYMLINK: u32 = 0o120000;
const MODE_GITLINK: u32 = 0o160000;
const MODE_DIRECTORY: u32 = 0o040000;
const ID_LEN: usize = 20;

/// The work tree holding `dir` and its git dir (`.git`, or where a `.git` file points).
pub fn locate(dir: &Path) -> Option<(PathBuf, PathBuf)> {
    let top = dir.ancestors().find(|d| d.join(".git").exists())?;
    let dot_git = top.join(".git");
    if dot_git.is_dir() {
        return Some((top.to_path_buf(), dot_git));
    }
    let text = std::fs::read_to_string(&dot_git).ok()?;
    Some((
        top.to_path_buf(),
        top.join(text.strip_prefix("gitdir:")?.trim()),
    ))
}

/// Gives each entry of the index in `git_dir` to `visit` (path, mode, object id), sorted by
/// path, one per path. `None` (after some entries, perhaps) when the index cannot be read.
pub fn read(git_dir: &Path, visit: Visitor) -> Option<()> {
    let config = std::fs::read_to_string(git_dir.join("config")).unwrap_or_default();
    if config.to_ascii_lowercase().contains("sha256") {
        return None;
    }
    let file = std::fs::File::open(git_dir.join("index")).ok()?;
    let map = Mapped::new(&file)?;
    parse(map.bytes(), visit)
}

/// A file mapped read-only into memory: a big repository's index is megabytes, and copying
/// it into fresh pages costs more than parsing it.
struct Mapped {
    pointer: *mut libc::c_void,
    len: usize,
}

impl Mapped {
    fn new(file: &std::fs::File) -> Option<Self> {
        use std::os::fd::AsRawFd;
        let len = usize::try_from(file.metadata().ok()?.len())
            .ok()
            .filter(|len| *len > 0)?;
        // SAFETY: a fresh private read-only mapping of an open file; checked for failure below.
        let pointer = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE,
                file.as_raw_fd(),
                0,
            )
        };
        (pointer != libc::MAP_FAILED).then_some(Self { pointer, len })
    }

    fn bytes(&self) -> &[u8] {
        // SAFETY: the mapping is `len` readable bytes and lives as long as `self`. Git replaces
        // the index by renaming a new file over it, so the mapped file does not change.
        unsafe { std::slice::from_raw_parts(self.pointer.cast::<u8>(), self.len) }
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        // SAFETY: unmaps exactly the mapping made in `new`.
        unsafe {
            libc::munmap(self.pointer, self.len);
        }
    }
}

fn parse(data: &[u8], visit: Visitor) -> Option<()> {
    let u32_at = |at: usize| Some(u32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?));
    if data.get(..4)? != b"DIRC" {
        return None;
    }
    let version = u32_at(4)?;
    if !(2..=4).contains(&version) {
        return None;
    }
    let count = usize::try_from(u32_at(8)?).ok()?;
    let mut at = 12;
    // v4 stores each path as a change to the previous one.
    let mut previous: Vec<u8> = Vec::new();
    // A file in a merge conflict has several stages in a row: visit it once.
    let mut conflicted: Vec<u8> = Vec::new();
    for _ in 0..count {
        let start = at;
        let mode = u32_at(at + 24)?;
        let id: &ObjectId = data.get(at + 40..at + 40 + ID_LEN)?.try_into().ok()?;
        let flags = u16::from_be_bytes(data.get(at + 60..at + 62)?.try_into().ok()?);
        at += 62;
        if version >= 3 && flags & 0x4000 != 0 {
            at += 2;
        }
        let path: &[u8] = if version == 4 {
            let (strip, used) = varint(data.get(at..)?)?;
            at += used;
            let end = at + data.get(at..)?.iter().position(|b| *b == 0)?;
            let keep = previous.len().checked_sub(strip)?;
            previous.truncate(keep);
            previous.extend_from_slice(&data[at..end]);
            at = end + 1;
            &previous
        } else {
            let name_start = at;
            let end = at + data.get(at..)?.iter().position(|b| *b == 0)?;
            // Entries are padded with NULs to a multiple of 8 bytes.
            at = start + ((end - start + 8) & !7);
            &data[name_start..end]
        };
        if mode == MODE_DIRECTORY {
            return None;
        }
        if (flags >> 12) & 3 > 0 {
            if conflicted == path {
                continue;
            }
            conflicted = path.to_vec();
        }
        if mode != MODE_GITLINK {
            visit(std::str::from_utf8(path).ok()?, mode, id);
        }
    }
    // Extensions follow the entries; a split index keeps entries elsewhere.
    while at + 8 <= data.len().saturating_sub(ID_LEN) {
        let signature = &data[at..at + 4];
        if signature == b"link" || signature == b"sdir" {
            return None;
        }
        at += 8 + usize::try_from(u32_at(at + 4)?).ok()?;
    }
    Some(())
}

/// Git's offset varint (index v4 path prefix lengths).
fn varint(data: &[u8]) -> Option<(usize, usize)> {
    let mut used = 0;
    let mut byte = *data.get(used)?;
    let mut value = usize::from(byte & 0x7f);
    while byte & 0x80 != 0 {
        used += 1;
        byte = *data.get(used)?;
        value = ((value + 1) << 7) | usize::from(byte & 0x7f);
    }
    Some((value, used + 1))
}

pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    out
}

/// The object id in `text` (40 hex digits).
pub fn parse_hex(text: &str) -> Option<ObjectId> {
    let digit = |c: u8| match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    };
    let bytes: &[u8; 40] = text.as_bytes().try_into().ok()?;
    let mut id = [0u8; 20];
    for (byte, pair) in id.iter_mut().zip(bytes.chunks_exact(2)) {
        *byte = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn git(dir: &Path, args: &[&str]) -> String {
        let output = Command::new("git")
            .args(args)
            .current_dir(dir)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    #[test]
    fn matches_git_ls_files_for_every_index_version() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git(root, &["init", "-q"]);
        for (i, file) in [
            "main.tf",
            "a/b/c.tfvars",
            "a/b/cd.tfvars",
            "a/long-name-with-many-characters-to-pad.tfbackend",
            "z.tf",
            "é.tf",
        ]
        .iter()
        .enumerate()
        {
            let path = root.join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, format!("x = {i}\n")).unwrap();
        }
        std::os::unix::fs::symlink("missing", root.join("link.sh")).unwrap();
        git(root, &["add", "-A"]);
        for version in ["2", "3", "4"] {
            git(root, &["update-index", "--index-version", version]);
            let expected = git(root, &["-c", "core.quotepath=off", "ls-files", "--stage"]);
            let mut got = String::new();
            read(&root.join(".git"), &mut |path, mode, id| {
                got.push_str(&format!("{mode:o} {} 0\t{path}\n", hex(id)))
            })
            .unwrap_or_else(|| panic!("version {version}"));
            assert_eq!(got, expected, "index version {version}");
            assert!(got.starts_with("100644") && got.contains("120000"));
        }
    }

    #[test]
    fn garbage_is_refused() {
        let mut ignore = |_: &str, _: u32, _: &ObjectId| {};
        assert!(parse(b"DIRC", &mut ignore).is_none());
        assert!(parse(b"nope", &mut ignore).is_none());
        assert!(
            parse(
                &[b'D', b'I', b'R', b'C', 0, 0, 0, 9, 0, 0, 0, 0],
                &mut ignore
            )
            .is_none()
        );
    }
}
