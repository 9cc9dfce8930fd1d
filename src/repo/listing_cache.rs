//! What listing the repository learnt last time, kept in the git dir the way git's own untracked
//! cache is: the index's relevant entries (valid while the index file has the same checksum) and
//! the names in each directory read (valid while the directory's stat data are the same). An
//! unchanged repository is then listed with one `stat` per directory, and never with a stale
//! answer: every entry names what it depends on, and anything that differs is read again.

use crate::repo::git_index::{GitDir, ObjectId, Stat};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::ops::Range;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

const KIND: crate::cache::Kind = crate::cache::Kind {
    file: "tfw-listing-cache",
    version: 5,
};

/// One tracked file as the index has it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tracked {
    pub path: String,
    /// Its stat data when it was staged (`None`: read through `git ls-files`).
    pub staged: Option<Stat>,
    /// The staged content's id (`None` in a SHA-256 repository).
    #[serde(with = "serde_bytes")]
    pub id: Option<ObjectId>,
    pub skip_worktree: bool,
    pub symlink: bool,
}

/// What the listing keeps of an index: its relevant files and every directory git has a file in.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexFiles {
    pub tracked: Vec<Tracked>,
    pub git_dirs: Vec<String>,
    /// When the index was written (see `listing::Verifier`).
    pub index_time: Option<(u32, u32)>,
    /// The tree the index holds, when git has it cached.
    pub tree: Option<ObjectId>,
}

/// An entry of a directory: a file (or symlink) the filter keeps, or a subdirectory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    File,
    Symlink,
    Dir,
}

/// What identifies a directory's list of names: any entry added, removed or renamed changes
/// its modification time; a directory replaced by another has another inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
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

/// The cache file: the index's files, and each directory's names encoded apart (decoded when
/// the directory is asked for).
#[derive(Serialize, Deserialize)]
struct Stored<'a> {
    rules: &'a str,
    #[serde(borrow)]
    index: Option<(&'a [u8], std::borrow::Cow<'a, IndexFiles>)>,
    dirs: Vec<(&'a str, DirStat, &'a [u8])>,
}

impl ListingCache {
    /// The cache of `git`'s work tree made under `rules`; empty when none was kept, it is
    /// unreadable, or it was made under other rules.
    pub fn open(git: &GitDir, rules: String) -> Self {
        let mut cache = Self {
            path: None,
            rules,
            index: None,
            bytes: crate::cache::read(&git.git_dir, &KIND).unwrap_or_default(),
            dirs: HashMap::new(),
            changed: false,
        };
        if cache.load().is_none() {
            cache.index = None;
            cache.dirs.clear();
        }
        cache.path = Some(git.git_dir.clone());
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
            (_, Names::Kept(range)) => crate::cache::decode(&self.bytes[range.clone()]),
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
        let (Some(git_dir), true) = (&self.path, self.changed) else {
            return;
        };
        let encoded: Vec<(&str, DirStat, std::borrow::Cow<[u8]>)> = self
            .dirs
            .iter()
            .filter_map(|(dir, (stat, names))| {
                let names = match names {
                    Names::Kept(range) => std::borrow::Cow::Borrowed(&self.bytes[range.clone()]),
                    Names::Read(names) => std::borrow::Cow::Owned(crate::cache::encode(names)?),
                };
                Some((dir.as_str(), *stat, names))
            })
            .collect();
        let stored = Stored {
            rules: &self.rules,
            index: self
                .index
                .as_ref()
                .map(|(key, files)| (key.as_slice(), std::borrow::Cow::Borrowed(files))),
            dirs: encoded
                .iter()
                .map(|(dir, stat, names)| (*dir, *stat, names.as_ref()))
                .collect(),
        };
        crate::cache::write(git_dir, &KIND, &stored);
    }

    fn load(&mut self) -> Option<()> {
        let stored: Stored = crate::cache::decode(&self.bytes)?;
        if stored.rules != self.rules {
            return None;
        }
        let start = self.bytes.as_ptr() as usize;
        let index = stored
            .index
            .map(|(key, files)| (key.to_vec(), files.into_owned()));
        let dirs: Vec<(String, DirStat, Range<usize>)> = stored
            .dirs
            .iter()
            .map(|(dir, stat, names)| {
                let begin = names.as_ptr() as usize - start;
                (dir.to_string(), *stat, begin..begin + names.len())
            })
            .collect();
        self.index = index;
        for (dir, stat, range) in dirs {
            self.dirs.insert(dir, (stat, Names::Kept(range)));
        }
        Some(())
    }
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
    let mut key = checksum;
    for value in [
        size,
        metadata.mtime() as u64,
        metadata.mtime_nsec() as u64,
        metadata.ino(),
    ] {
        key.extend_from_slice(&value.to_le_bytes());
    }
    key.extend_from_slice(index.as_os_str().as_encoded_bytes());
    Some(key)
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
