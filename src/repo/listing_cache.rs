//! What listing the repository learnt last time, kept in the git dir the way git's own untracked
//! cache is: the index's relevant entries (valid while the index file has the same checksum) and
//! the names in each directory read (valid while the directory's stat data are the same). An
//! unchanged repository is then listed with one `stat` per directory, and never with a stale
//! answer: every entry names what it depends on, and anything that differs is read again.

use crate::cache_file::{self, Reader, Writer};
use crate::repo::git_index::{GitDir, ObjectId, Stat};
use std::collections::HashMap;
use std::ops::Range;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// The first bytes of the cache file; anything else is another format.
const MAGIC: &[u8] = b"tfw listing cache v3\n";

/// One tracked file as the index has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracked {
    pub path: String,
    /// Its stat data when it was staged (`None`: read through `git ls-files`).
    pub staged: Option<Stat>,
    /// The staged content's id (`None` in a SHA-256 repository).
    pub id: Option<ObjectId>,
    pub skip_worktree: bool,
    pub symlink: bool,
}

/// What the listing keeps of an index: its relevant files and every directory git has a file in.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct IndexFiles {
    pub tracked: Vec<Tracked>,
    pub git_dirs: Vec<String>,
    /// When the index was written (see `listing::Verifier`).
    pub index_time: Option<(u32, u32)>,
    /// The tree the index holds, when git has it cached.
    pub tree: Option<ObjectId>,
}

/// An entry of a directory: a file (or symlink) the filter keeps, or a subdirectory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    File,
    Symlink,
    Dir,
}

/// What identifies a directory's list of names: any entry added, removed or renamed changes
/// its modification time; a directory replaced by another has another inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirStat {
    mtime: (i64, i64),
    ctime: (i64, i64),
    ino: u64,
}

impl DirStat {
    #[cfg(test)]
    pub fn of(metadata: &std::fs::Metadata) -> Self {
        Self {
            mtime: (metadata.mtime(), metadata.mtime_nsec()),
            ctime: (metadata.ctime(), metadata.ctime_nsec()),
            ino: metadata.ino(),
        }
    }

    /// The directory `path` relative to the open directory `dir`.
    pub fn at(dir: &std::fs::File, path: &str) -> Option<Self> {
        let stat = crate::repo::git_index::lstat_at(dir, path)?;
        Some(Self {
            mtime: (stat.st_mtime, stat.st_mtime_nsec),
            ctime: (stat.st_ctime, stat.st_ctime_nsec),
            ino: stat.st_ino,
        })
    }

    /// Changed within the last two seconds of `now` (seconds): an entry added in the same clock
    /// tick as the read would leave the time as it was ("racily clean"), so such a directory
    /// is read again next time rather than trusted.
    pub fn is_recent(&self, now: i64) -> bool {
        self.mtime.0.max(self.ctime.0) + 2 >= now
    }
}

pub type DirNames = Vec<(String, Kind)>;

/// The cache of one work tree, for one set of listing rules.
pub struct ListingCache {
    path: Option<PathBuf>,
    /// The listing rules the entries were made with (tfw.toml's patterns and excludes).
    rules: String,
    index: Option<(Vec<u8>, IndexFiles)>,
    /// The cache file as read: a directory's names are decoded when it is asked for.
    bytes: Vec<u8>,
    dirs: HashMap<String, (DirStat, Names)>,
    changed: bool,
}

/// A directory's names: where they lie in the file read, or as just read from the disk.
enum Names {
    Kept(Range<usize>),
    Read(DirNames),
}

impl ListingCache {
    /// The cache of `git`'s work tree made under `rules`; empty when none was kept, it is
    /// unreadable, or it was made under other rules.
    pub fn open(git: &GitDir, rules: String) -> Self {
        let path = git.git_dir.join("tfw-listing-cache");
        let mut cache = Self {
            path: None,
            rules,
            index: None,
            bytes: Vec::new(),
            dirs: HashMap::new(),
            changed: false,
        };
        if let Ok(bytes) = std::fs::read(&path) {
            cache.bytes = bytes;
            if cache.load().is_none() {
                cache.index = None;
                cache.dirs.clear();
            }
        }
        cache.path = Some(path);
        cache
    }

    /// The files of the index whose identity is `key`, when they were kept.
    pub fn index(&self, key: &[u8]) -> Option<&IndexFiles> {
        self.index
            .as_ref()
            .filter(|(kept, _)| kept == key)
            .map(|(_, files)| files)
    }

    /// The files of the index last kept or found.
    pub fn current_index(&self) -> Option<&IndexFiles> {
        self.index.as_ref().map(|(_, files)| files)
    }

    pub fn set_index(&mut self, key: Vec<u8>, files: IndexFiles) {
        self.index = Some((key, files));
        self.changed = true;
    }

    /// The names kept for `dir` (relative to the root), when its stat data are still `stat`.
    pub fn dir(&self, dir: &str, stat: &DirStat) -> Option<DirNames> {
        match self.dirs.get(dir).filter(|(kept, _)| kept == stat)? {
            (_, Names::Kept(range)) => read_names(&mut Reader(&self.bytes[range.clone()])),
            (_, Names::Read(names)) => Some(names.clone()),
        }
    }

    pub fn set_dirs(&mut self, read: impl IntoIterator<Item = (String, DirStat, DirNames)>) {
        for (dir, stat, names) in read {
            self.dirs.insert(dir, (stat, Names::Read(names)));
            self.changed = true;
        }
    }

    /// Writes the cache back when something changed.
    pub fn save(self) {
        let (Some(path), true) = (&self.path, self.changed) else {
            return;
        };
        let mut out = Writer(MAGIC.to_vec());
        out.str(&self.rules);
        match &self.index {
            Some((key, files)) => {
                out.u8(1);
                out.bytes(key);
                write_index(&mut out, files);
            }
            None => out.u8(0),
        }
        out.u32(self.dirs.len());
        for (dir, (stat, names)) in &self.dirs {
            out.str(dir);
            for value in [stat.mtime.0, stat.mtime.1, stat.ctime.0, stat.ctime.1] {
                out.u64(value as u64);
            }
            out.u64(stat.ino);
            match names {
                Names::Kept(range) => out.bytes(&self.bytes[range.clone()]),
                Names::Read(names) => {
                    let mut encoded = Writer::default();
                    encoded.u32(names.len());
                    for (name, kind) in names {
                        encoded.str(name);
                        encoded.u8(*kind as u8);
                    }
                    out.bytes(&encoded.0);
                }
            }
        }
        cache_file::write(path, &out.0);
    }

    fn load(&mut self) -> Option<()> {
        let bytes = std::mem::take(&mut self.bytes);
        let loaded = self.load_from(&bytes);
        self.bytes = bytes;
        loaded
    }

    fn load_from(&mut self, bytes: &[u8]) -> Option<()> {
        let start = bytes.strip_prefix(MAGIC)?;
        let offset = bytes.len() - start.len();
        let mut input = Reader(start);
        if input.str()? != self.rules {
            return None;
        }
        if input.u8()? == 1 {
            let key = input.bytes()?.to_vec();
            self.index = Some((key, read_index(&mut input)?));
        }
        for _ in 0..input.u32()? {
            let dir = input.str()?.to_string();
            let mut value = || Some(input.u64()? as i64);
            let stat = DirStat {
                mtime: (value()?, value()?),
                ctime: (value()?, value()?),
                ino: input.u64()?,
            };
            let names = input.bytes()?;
            let begin = offset + (names.as_ptr() as usize - start.as_ptr() as usize);
            let range = begin..begin + names.len();
            self.dirs.insert(dir, (stat, Names::Kept(range)));
        }
        Some(())
    }
}

fn read_names(input: &mut Reader) -> Option<DirNames> {
    let count = input.u32()?;
    let mut names = Vec::with_capacity(count);
    for _ in 0..count {
        let name = input.str()?.to_string();
        let kind = match input.u8()? {
            0 => Kind::File,
            1 => Kind::Symlink,
            2 => Kind::Dir,
            _ => return None,
        };
        names.push((name, kind));
    }
    Some(names)
}

/// What identifies an index's content: its checksum (git's last bytes), with its size, time
/// and inode. `None` when the index has no checksum (`index.skipHash`): then it is read.
pub fn index_key(index: &Path, id_len: usize) -> Option<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    let file = std::fs::File::open(index).ok()?;
    let metadata = file.metadata().ok()?;
    let size = metadata.len();
    let mut checksum = vec![0u8; id_len];
    file.read_exact_at(&mut checksum, size.checked_sub(id_len as u64)?)
        .ok()?;
    if checksum.iter().all(|b| *b == 0) {
        return None;
    }
    let mut key = Writer(checksum);
    key.u64(size);
    key.u64(metadata.mtime() as u64);
    key.u64(metadata.mtime_nsec() as u64);
    key.u64(metadata.ino());
    key.str(&index.to_string_lossy());
    Some(key.0)
}

fn write_index(out: &mut Writer, files: &IndexFiles) {
    match files.index_time {
        Some((seconds, nanos)) => {
            out.u8(1);
            out.u32(seconds as usize);
            out.u32(nanos as usize);
        }
        None => out.u8(0),
    }
    match &files.tree {
        Some(id) => {
            out.u8(1);
            out.0.extend_from_slice(id);
        }
        None => out.u8(0),
    }
    out.u32(files.git_dirs.len());
    for dir in &files.git_dirs {
        out.str(dir);
    }
    out.u32(files.tracked.len());
    for file in &files.tracked {
        out.str(&file.path);
        out.u8(u8::from(file.skip_worktree) | u8::from(file.symlink) << 1);
        match &file.staged {
            Some(stat) => {
                out.u8(1);
                for value in [stat.ctime.0, stat.ctime.1, stat.mtime.0, stat.mtime.1] {
                    out.u32(value as usize);
                }
                out.u32(stat.ino as usize);
                out.u32(stat.size as usize);
            }
            None => out.u8(0),
        }
        match &file.id {
            Some(id) => {
                out.u8(1);
                out.0.extend_from_slice(id);
            }
            None => out.u8(0),
        }
    }
}

fn read_index(input: &mut Reader) -> Option<IndexFiles> {
    let index_time = match input.u8()? {
        1 => Some((input.u32()? as u32, input.u32()? as u32)),
        _ => None,
    };
    let tree = match input.u8()? {
        1 => Some(input.take(20)?.try_into().ok()?),
        _ => None,
    };
    let mut git_dirs = Vec::with_capacity(input.u32()?);
    for _ in 0..git_dirs.capacity() {
        git_dirs.push(input.str()?.to_string());
    }
    let mut tracked = Vec::with_capacity(input.u32()?);
    for _ in 0..tracked.capacity() {
        let path = input.str()?.to_string();
        let flags = input.u8()?;
        let staged = match input.u8()? {
            1 => {
                let mut value = || Some(input.u32()? as u32);
                Some(Stat {
                    ctime: (value()?, value()?),
                    mtime: (value()?, value()?),
                    ino: value()?,
                    size: value()?,
                })
            }
            _ => None,
        };
        let id = match input.u8()? {
            1 => Some(input.take(20)?.try_into().ok()?),
            _ => None,
        };
        tracked.push(Tracked {
            path,
            staged,
            id,
            skip_worktree: flags & 1 != 0,
            symlink: flags & 2 != 0,
        });
    }
    Some(IndexFiles {
        tracked,
        git_dirs,
        index_time,
        tree,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_survive_a_round_trip_and_other_rules_start_empty() {
        let dir = tempfile::tempdir().unwrap();
        let git = GitDir::all_in(dir.path());
        let files = IndexFiles {
            tracked: vec![Tracked {
                path: "a/main.tf".into(),
                staged: Some(Stat {
                    ctime: (1, 2),
                    mtime: (3, 4),
                    ino: 5,
                    size: 6,
                }),
                id: Some([7; 20]),
                skip_worktree: false,
                symlink: true,
            }],
            git_dirs: vec!["".into(), "a".into()],
            index_time: Some((8, 9)),
            tree: Some([10; 20]),
        };
        let stat = DirStat::of(&std::fs::metadata(dir.path()).unwrap());
        let names = vec![("main.tf".to_string(), Kind::File), ("b".into(), Kind::Dir)];
        let mut cache = ListingCache::open(&git, "rules".into());
        cache.set_index(b"key".to_vec(), files.clone());
        cache.set_dirs([("a".to_string(), stat, names.clone())]);
        cache.save();
        let cache = ListingCache::open(&git, "rules".into());
        assert_eq!(cache.index(b"key"), Some(&files));
        assert_eq!(cache.index(b"other"), None);
        assert_eq!(cache.dir("a", &stat), Some(names));
        let changed = DirStat {
            ino: stat.ino + 1,
            ..stat
        };
        assert_eq!(cache.dir("a", &changed), None);
        let cache = ListingCache::open(&git, "other rules".into());
        assert_eq!(cache.index(b"key"), None);
        assert_eq!(cache.dir("a", &stat), None);
    }
}
