//! Git's index read directly: the tracked paths with their modes, object ids, stat data and
//! skip-worktree bits, without starting git. Versions 2 to 4, SHA-1 and SHA-256; a split or
//! sparse index is read through `git ls-files` instead (no stat data: every entry is rehashed).

use std::path::{Path, PathBuf};

/// A SHA-1 object id. In a SHA-256 repository entries carry none (content is hashed instead).
pub type ObjectId = [u8; 20];

pub const MODE_SYMLINK: u32 = 0o120000;
const MODE_GITLINK: u32 = 0o160000;
const MODE_DIRECTORY: u32 = 0o040000;

/// Where git keeps what tfw reads of one work tree.
#[derive(Debug, Clone)]
pub struct GitDir {
    /// The work tree's top directory.
    pub top: PathBuf,
    /// `.git`, or where a worktree's or submodule's `.git` file points.
    pub git_dir: PathBuf,
    /// Where the refs and objects shared by all worktrees are (`git_dir` but in a linked
    /// worktree).
    pub common_dir: PathBuf,
    /// The index to read: `$GIT_INDEX_FILE` (a hook of `git commit -a` gets a temporary one),
    /// else `<git_dir>/index`.
    pub index: PathBuf,
    /// Bytes in an object id: 20 (SHA-1) or 32 (SHA-256).
    pub id_len: usize,
}

/// What the index says of one file's stat data when it was last staged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct Stat {
    pub ctime: (u32, u32),
    pub mtime: (u32, u32),
    pub ino: u32,
    pub size: u32,
}

impl Stat {
    /// The stat data of a file as the index would record it (truncated to 32 bits as git does).
    pub fn of(metadata: &std::fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        Self {
            ctime: (metadata.ctime() as u32, metadata.ctime_nsec() as u32),
            mtime: (metadata.mtime() as u32, metadata.mtime_nsec() as u32),
            ino: metadata.ino() as u32,
            size: metadata.size() as u32,
        }
    }
}

/// `lstat` of `path` relative to the open directory `dir`; `None` when it does not exist.
pub fn lstat_at(dir: &std::fs::File, path: &str) -> Option<libc::stat> {
    use std::os::fd::AsRawFd;
    let path = std::ffi::CString::new(if path.is_empty() { "." } else { path }).ok()?;
    let mut stat = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: `dir` is an open directory, `path` a NUL-terminated string, and `stat` is
    // written in full by a successful call before it is read.
    unsafe {
        if libc::fstatat(
            dir.as_raw_fd(),
            path.as_ptr(),
            stat.as_mut_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        ) != 0
        {
            return None;
        }
        Some(stat.assume_init())
    }
}

/// The directory `path` relative to the open directory `dir`, opened only to look files up
/// from (a short lookup each, not one from the root); `None` when it is not one.
pub fn open_dir_at(dir: &std::fs::File, path: &str) -> Option<std::fs::File> {
    use std::os::fd::{AsRawFd, FromRawFd};
    let path = std::ffi::CString::new(if path.is_empty() { "." } else { path }).ok()?;
    // SAFETY: `dir` is an open directory and `path` a NUL-terminated string; a descriptor the
    // call returns is owned by nothing else.
    unsafe {
        let fd = libc::openat(
            dir.as_raw_fd(),
            path.as_ptr(),
            libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC,
        );
        (fd >= 0).then(|| std::fs::File::from_raw_fd(fd))
    }
}

/// The content of `path` relative to the open directory `dir`, links followed, as
/// `std::fs::read` reads it (the same errors) with one lookup fewer and no size asked first:
/// the files tfw reads are small.
pub fn read_at(dir: &std::fs::File, path: &str, size: Option<u32>) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    use std::os::fd::{AsRawFd, FromRawFd};
    let path = std::ffi::CString::new(path)?;
    // SAFETY: `dir` is an open directory and `path` a NUL-terminated string; a descriptor the
    // call returns is owned by nothing else.
    let mut file = unsafe {
        let fd = libc::openat(
            dir.as_raw_fd(),
            path.as_ptr(),
            // Not blocking: opening a FIFO waits for a writer, and one that never comes would
            // hang tfw (a pre-commit hook forever); it is refused below instead.
            libc::O_RDONLY | libc::O_CLOEXEC | libc::O_NONBLOCK,
        );
        if fd < 0 {
            return Err(std::io::Error::last_os_error());
        }
        std::fs::File::from_raw_fd(fd)
    };
    // `File::read_to_end` would ask the size first (`statx`, `lseek`). With the size a `stat`
    // gave, one read asking one byte more ends it when it gives exactly that size; otherwise
    // (no size, or the file changed) reads go on to the end. A size stated too big costs no
    // more than 1 MB up front: the buffer grows as the file really is.
    let expected = size.map(|size| size as usize);
    let mut bytes = vec![0; expected.map_or(8192, |size| (size + 1).min(1 << 20))];
    let mut len = 0;
    loop {
        if len == bytes.len() {
            bytes.resize(len * 2, 0);
        }
        match file.read(&mut bytes[len..]) {
            Ok(0) => break,
            Ok(n) => {
                len += n;
                if Some(len) == expected && len < bytes.len() {
                    bytes.truncate(len);
                    return Ok(bytes);
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(not_regular(&file).unwrap_or(e)),
        }
    }
    // Only a read that ended otherwise than at the size a `stat` gave asks what the file is
    // (a FIFO's size is 0, so its read never ends there): a FIFO, socket or device has no
    // content to read whole, and what terraform would read from it is not known now.
    if let Some(e) = not_regular(&file) {
        return Err(e);
    }
    bytes.truncate(len);
    Ok(bytes)
}

/// The error for an open file that is not a regular file (or cannot be asked).
fn not_regular(file: &std::fs::File) -> Option<std::io::Error> {
    match file.metadata() {
        Ok(metadata) if metadata.is_file() => None,
        Ok(_) => Some(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        )),
        Err(e) => Some(e),
    }
}

/// The stat data of `path` relative to the open directory `dir` as the index records them (not
/// following a symlink); `None` when it does not exist.
pub fn stat_at(dir: &std::fs::File, path: &str) -> Option<Stat> {
    let stat = lstat_at(dir, path)?;
    Some(Stat {
        ctime: (stat.st_ctime as u32, stat.st_ctime_nsec as u32),
        mtime: (stat.st_mtime as u32, stat.st_mtime_nsec as u32),
        ino: stat.st_ino as u32,
        size: stat.st_size as u32,
    })
}

/// One tracked file.
pub struct Entry<'a> {
    pub path: &'a [u8],
    pub mode: u32,
    /// `None` in a SHA-256 repository.
    pub id: Option<&'a ObjectId>,
    /// `None` when read through `git ls-files`.
    pub stat: Option<Stat>,
    /// Sparse checkout: in git, deliberately not in the working tree.
    pub skip_worktree: bool,
}

impl Entry<'_> {
    pub fn is_symlink(&self) -> bool {
        self.mode == MODE_SYMLINK
    }
}

/// Receives each tracked file, sorted by path, once per path; `None` means "forget the files
/// given so far": the index turned out to be one tfw does not read, git lists them again.
pub type Visitor<'a> = &'a mut dyn FnMut(Option<Entry>);

/// The top level of the work tree holding `dir` (canonical): the nearest directory with a
/// `.git`, not looking above a directory of `GIT_CEILING_DIRECTORIES`, as git does.
pub fn top_level(dir: &Path) -> Option<&Path> {
    let ceilings: Vec<PathBuf> = std::env::var_os("GIT_CEILING_DIRECTORIES")
        .map(|value| {
            std::env::split_paths(&value)
                .filter(|c| c.is_absolute())
                .map(|c| c.canonicalize().unwrap_or(c))
                .collect()
        })
        .unwrap_or_default();
    for candidate in dir.ancestors() {
        if candidate.join(".git").exists() {
            return Some(candidate);
        }
        if candidate
            .parent()
            .is_some_and(|p| ceilings.iter().any(|c| c == p))
        {
            return None;
        }
    }
    None
}

/// The work tree holding `dir` and its git dir; `None` outside git.
pub fn locate(dir: &Path) -> Option<GitDir> {
    let top = top_level(dir)?;
    let dot_git = top.join(".git");
    let git_dir = if dot_git.is_dir() {
        dot_git
    } else {
        // A linked worktree or a submodule: `gitdir: <path>`, relative to the work tree.
        let text = std::fs::read_to_string(&dot_git).ok()?;
        top.join(text.strip_prefix("gitdir:")?.trim())
    };
    // A linked worktree keeps its config (and so the object format) in the common dir.
    let common = match std::fs::read_to_string(git_dir.join("commondir")) {
        Ok(text) => git_dir.join(text.trim()),
        Err(_) => git_dir.clone(),
    };
    let config = std::fs::read_to_string(common.join("config")).unwrap_or_default();
    let id_len = if is_sha256(&config) { 32 } else { 20 };
    let index = match std::env::var_os("GIT_INDEX_FILE").filter(|v| !v.is_empty()) {
        // Git resolves a relative value against the directory it runs in: hooks run at the top.
        Some(file) => top.join(file),
        None => git_dir.join("index"),
    };
    Some(GitDir {
        common_dir: common,
        top: top.to_path_buf(),
        git_dir,
        index,
        id_len,
    })
}

impl GitDir {
    /// The object a commit-ish names, read from git's refs without starting git: a full id,
    /// `HEAD`, or a ref name the way `git rev-parse` looks it up (`main`, `origin/main`,
    /// `v1.0`, `refs/…`). `None` for anything else (`HEAD~1`, a short id): ask git. An
    /// annotated tag names the tag, not its commit: an id all the same.
    pub fn resolve(&self, name: &str) -> Option<ObjectId> {
        if let Some(id) = parse_hex(name) {
            return Some(id);
        }
        if name == "HEAD" {
            return self.reference("HEAD", 0);
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c))
        {
            return None;
        }
        [
            name.to_string(),
            format!("refs/{name}"),
            format!("refs/tags/{name}"),
            format!("refs/heads/{name}"),
            format!("refs/remotes/{name}"),
            format!("refs/remotes/{name}/HEAD"),
        ]
        .iter()
        .filter(|r| r.starts_with("refs/"))
        .find_map(|r| self.reference(r, 0))
    }

    /// A ref's object: its loose file (`HEAD` is the worktree's own; other refs are shared),
    /// following `ref:` links, else `packed-refs`.
    fn reference(&self, name: &str, depth: usize) -> Option<ObjectId> {
        let dir = if name == "HEAD" {
            &self.git_dir
        } else {
            &self.common_dir
        };
        match std::fs::read_to_string(dir.join(name)) {
            Ok(text) => match text.trim().strip_prefix("ref:") {
                Some(target) if depth < 5 => self.reference(target.trim(), depth + 1),
                Some(_) => None,
                None => parse_hex(text.trim()),
            },
            Err(_) => std::fs::read_to_string(self.common_dir.join("packed-refs"))
                .ok()?
                .lines()
                .filter(|line| !line.starts_with('#') && !line.starts_with('^'))
                .find_map(|line| {
                    let (id, reference) = line.split_once(' ')?;
                    (reference == name).then(|| parse_hex(id)).flatten()
                }),
        }
    }
}

#[cfg(test)]
impl GitDir {
    /// A work tree, git dir and index all in `dir`: where a cache test keeps its files.
    pub fn all_in(dir: &Path) -> Self {
        Self {
            top: dir.to_path_buf(),
            git_dir: dir.to_path_buf(),
            common_dir: dir.to_path_buf(),
            index: dir.join("index"),
            id_len: 20,
        }
    }
}

/// `[extensions] objectformat = sha256` in a git config file.
fn is_sha256(config: &str) -> bool {
    config.lines().any(|line| {
        let line = line.trim().to_ascii_lowercase();
        line.strip_prefix("objectformat")
            .and_then(|rest| rest.trim_start().strip_prefix('='))
            .is_some_and(|value| value.trim() == "sha256")
    })
}

/// What the index says beyond its entries.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct IndexInfo {
    /// When the index was written (an entry modified in the same second may be "racily
    /// clean": its stat data prove nothing).
    pub time: Option<(u32, u32)>,
    /// The tree the index holds, when its cached tree (`TREE` extension) is valid at the top.
    pub tree: Option<ObjectId>,
}

/// Gives each entry of the index to `visit`, and returns what else it says. Falls back to
/// `git ls-files` where the format is one tfw does not read; what git cannot read either is an
/// error saying why (git's own words).
pub fn read(git: &GitDir, visit: Visitor) -> Result<IndexInfo, String> {
    use std::io::Read;
    let mut file = match std::fs::File::open(&git.index) {
        Ok(file) => file,
        // A repository where nothing was ever added has no index: nothing is tracked.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(IndexInfo::default()),
        Err(_) => return ls_files(git, visit).map(|()| IndexInfo::default()),
    };
    let time = file.metadata().ok().map(|m| Stat::of(&m).mtime);
    let mut data = Vec::new();
    if file.read_to_end(&mut data).is_ok()
        && let Some(tree) = parse(&data, git.id_len, visit)
    {
        return Ok(IndexInfo { time, tree });
    }
    // A split or sparse index: git reads it.
    visit(None);
    ls_files(git, visit).map(|()| IndexInfo::default())
}

/// The entries, then the root of the cached tree when it is valid (`Some(None)` otherwise).
fn parse(data: &[u8], id_len: usize, visit: Visitor) -> Option<Option<ObjectId>> {
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
        let stat = Stat {
            ctime: (u32_at(at)?, u32_at(at + 4)?),
            mtime: (u32_at(at + 8)?, u32_at(at + 12)?),
            ino: u32_at(at + 20)?,
            size: u32_at(at + 36)?,
        };
        let mode = u32_at(at + 24)?;
        let id_bytes = data.get(at + 40..at + 40 + id_len)?;
        let flags_at = at + 40 + id_len;
        let flags = u16::from_be_bytes(data.get(flags_at..flags_at + 2)?.try_into().ok()?);
        at = flags_at + 2;
        let mut skip_worktree = false;
        if version >= 3 && flags & 0x4000 != 0 {
            let extended = u16::from_be_bytes(data.get(at..at + 2)?.try_into().ok()?);
            skip_worktree = extended & 0x4000 != 0;
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
            visit(Some(Entry {
                path,
                mode,
                id: id_bytes.try_into().ok(),
                stat: Some(stat),
                skip_worktree,
            }));
        }
    }
    // Extensions follow the entries; a split index keeps entries elsewhere.
    let mut tree = None;
    while at + 8 <= data.len().saturating_sub(id_len) {
        let signature = &data[at..at + 4];
        let size = usize::try_from(u32_at(at + 4)?).ok()?;
        if signature == b"link" || signature == b"sdir" {
            return None;
        }
        if signature == b"TREE" {
            tree = cached_root(data.get(at + 8..at + 8 + size)?).filter(|_| id_len == 20);
        }
        at += 8 + size;
    }
    Some(tree)
}

/// The root tree's id in a `TREE` extension: `\0<entries> <subtrees>\n<id>` first, where a
/// negative entry count means the tree is out of date.
fn cached_root(extension: &[u8]) -> Option<ObjectId> {
    let rest = extension.strip_prefix(b"\0")?;
    let line_end = rest.iter().position(|b| *b == b'\n')?;
    let counts = std::str::from_utf8(&rest[..line_end]).ok()?;
    let entries: i64 = counts.split(' ').next()?.parse().ok()?;
    if entries < 0 {
        return None;
    }
    rest.get(line_end + 1..line_end + 21)?.try_into().ok()
}

/// `git ls-files --stage -t -z` in the work tree, each entry given to `visit`. A sparse
/// directory entry (`S … dir/`) stands for files that are all outside the working tree.
fn ls_files(git: &GitDir, visit: Visitor) -> Result<(), String> {
    let output = std::process::Command::new("git")
        .args(["ls-files", "--stage", "-t", "-z"])
        .current_dir(&git.top)
        .env("GIT_INDEX_FILE", &git.index)
        .output()
        .map_err(|e| format!("cannot run git to read it: {e}"))?;
    if !output.status.success() {
        let said = String::from_utf8_lossy(&output.stderr);
        let said: Vec<&str> = said
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .collect();
        return Err(match said.is_empty() {
            false => format!("git says: {}", said.join("; ")),
            true => format!("git ls-files failed ({})", output.status),
        });
    }
    let unexpected = || "unexpected output from git ls-files".to_string();
    let mut previous: &[u8] = b"";
    // Each record: `<tag> <mode> <object> <stage>\t<path>\0`.
    for record in output.stdout.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        let tab = record
            .iter()
            .position(|b| *b == b'\t')
            .ok_or_else(unexpected)?;
        let (meta, path) = (
            std::str::from_utf8(&record[..tab]).map_err(|_| unexpected())?,
            &record[tab + 1..],
        );
        let mut fields = meta.split(' ');
        let tag = fields.next().ok_or_else(unexpected)?;
        let mode = fields
            .next()
            .and_then(|mode| u32::from_str_radix(mode, 8).ok())
            .ok_or_else(unexpected)?;
        let id = parse_hex(fields.next().ok_or_else(unexpected)?);
        // A file in a merge conflict has several stages: keep one.
        if path == previous || path.ends_with(b"/") {
            continue;
        }
        if mode != MODE_GITLINK {
            visit(Some(Entry {
                path,
                mode,
                id: id.as_ref(),
                stat: None,
                skip_worktree: tag == "S",
            }));
        }
        previous = path;
    }
    Ok(())
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

/// Test output: an id as git prints it.
#[cfg(test)]
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for byte in bytes {
        out.push(char::from(DIGITS[usize::from(byte >> 4)]));
        out.push(char::from(DIGITS[usize::from(byte & 0xf)]));
    }
    out
}

/// The SHA-1 object id in `text` (40 hex digits).
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

/// Git's object id of a blob with these contents (SHA-1).
pub fn blob_id(bytes: &[u8]) -> ObjectId {
    let mut hasher = sha1_smol::Sha1::new();
    hasher.update(format!("blob {}\0", bytes.len()).as_bytes());
    hasher.update(bytes);
    hasher.digest().bytes()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::fixture::git;

    #[test]
    fn a_file_is_read_whole_whatever_size_it_was_said_to_have() {
        let dir = tempfile::tempdir().unwrap();
        let content: Vec<u8> = (0..20_000u32).map(|i| (i % 251) as u8).collect();
        for len in [0, 1, 100, 8191, 8192, 8193, 20_000] {
            std::fs::write(dir.path().join("f"), &content[..len]).unwrap();
            let opened = std::fs::File::open(dir.path()).unwrap();
            let len32 = len as u32;
            for hint in [
                None,
                Some(u32::MAX),
                Some(len32),
                Some(0),
                Some(len32 / 2),
                Some(len32 + 1),
                Some(len32 * 3),
            ] {
                let read = read_at(&opened, "f", hint).unwrap();
                assert_eq!(read, &content[..len], "{len} bytes read with size {hint:?}");
            }
        }
    }

    #[test]
    fn a_fifo_is_refused_at_once_not_waited_on() {
        let dir = tempfile::tempdir().unwrap();
        let fifo =
            std::ffi::CString::new(dir.path().join("p").into_os_string().into_encoded_bytes())
                .unwrap();
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o644) }, 0);
        let opened = std::fs::File::open(dir.path()).unwrap();
        // On a thread, so a read that waits for a writer fails the test instead of hanging it.
        let (send, receive) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for size in [None, Some(0), Some(5)] {
                send.send(read_at(&opened, "p", size).map(|_| ())).unwrap();
            }
        });
        for _ in 0..3 {
            let read = receive.recv_timeout(std::time::Duration::from_secs(10));
            let error = read
                .expect("reading a FIFO waited for a writer")
                .unwrap_err();
            assert_eq!(error.kind(), std::io::ErrorKind::InvalidInput, "{error}");
        }
    }

    fn listed(git_dir: &GitDir) -> String {
        let mut got = String::new();
        read(git_dir, &mut |e| {
            let Some(e) = e else {
                got.clear();
                return;
            };
            got.push_str(&format!(
                "{}{:o} {} 0\t{}\n",
                if e.skip_worktree { "S " } else { "H " },
                e.mode,
                e.id.map(|id| hex(id)).unwrap_or_default(),
                String::from_utf8_lossy(e.path)
            ))
        })
        .unwrap();
        got
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
        let located = locate(root).unwrap();
        for version in ["2", "3", "4"] {
            git(root, &["update-index", "--index-version", version]);
            let expected = git(
                root,
                &["-c", "core.quotepath=off", "ls-files", "--stage", "-t"],
            );
            assert_eq!(listed(&located), expected, "index version {version}");
        }
        git(root, &["update-index", "--skip-worktree", "z.tf"]);
        assert!(listed(&located).contains("S 100644"), "skip-worktree bit");
        let mut stat = None;
        read(&located, &mut |e| {
            if let Some(e) = e.filter(|e| e.path == b"main.tf") {
                stat = e.stat
            }
        })
        .unwrap();
        let on_disk = Stat::of(&std::fs::symlink_metadata(root.join("main.tf")).unwrap());
        assert_eq!(stat, Some(on_disk), "stat data as git recorded it");
    }

    #[test]
    fn refs_resolve_like_git_rev_parse_loose_or_packed() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git(root, &["init", "-q", "-b", "main"]);
        std::fs::write(root.join("main.tf"), "").unwrap();
        git(root, &["add", "-A"]);
        git(
            root,
            &[
                "-c",
                "user.email=t@e",
                "-c",
                "user.name=t",
                "commit",
                "-qm",
                "one",
            ],
        );
        git(root, &["tag", "v1"]);
        let located = locate(root).unwrap();
        let head = parse_hex(git(root, &["rev-parse", "HEAD"]).trim());
        for name in [
            "HEAD",
            "main",
            "refs/heads/main",
            "v1",
            head.map(|h| hex(&h)).unwrap().as_str(),
        ] {
            assert_eq!(located.resolve(name), head, "{name}");
        }
        git(root, &["pack-refs", "--all"]);
        assert!(!root.join(".git/refs/heads/main").exists());
        assert_eq!(located.resolve("main"), head, "packed");
        assert_eq!(located.resolve("v1"), head, "packed tag");
        assert_eq!(located.resolve("HEAD~1"), None, "git's to answer");
        assert_eq!(located.resolve("nope"), None);
    }

    #[test]
    fn split_index_is_read_through_git() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        git(root, &["init", "-q"]);
        std::fs::write(root.join("main.tf"), "").unwrap();
        git(root, &["add", "-A"]);
        git(root, &["update-index", "--split-index"]);
        assert!(listed(&locate(root).unwrap()).ends_with("\tmain.tf\n"));
        let expected = git(root, &["ls-files", "--stage", "-t"]);
        assert_eq!(
            listed(&locate(root).unwrap()),
            expected,
            "each file once, though the direct parse gave up part-way"
        );
    }

    #[test]
    fn sha256_is_told_by_the_common_dir_config() {
        assert!(is_sha256(
            "[core]\n\tbare = false\n[extensions]\n\tobjectFormat = sha256\n"
        ));
        assert!(!is_sha256("[core]\n\tbare = false\n"));
    }

    #[test]
    fn garbage_is_refused() {
        let mut ignore = |_: Option<Entry>| {};
        assert!(parse(b"DIRC", 20, &mut ignore).is_none());
        assert!(parse(b"nope", 20, &mut ignore).is_none());
        assert!(
            parse(
                &[b'D', b'I', b'R', b'C', 0, 0, 0, 9, 0, 0, 0, 0],
                20,
                &mut ignore
            )
            .is_none()
        );
    }

    #[test]
    fn blob_id_matches_git() {
        assert_eq!(
            hex(&blob_id(b"")),
            "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391"
        );
        assert_eq!(
            hex(&blob_id(b"hello\n")),
            "ce013625030ba8dba906f756967f9e9ca394464a"
        );
    }
}
