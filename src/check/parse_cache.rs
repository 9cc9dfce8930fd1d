//! Parsed env and terraform files remembered by the git object id of their content, so that a
//! pre-commit run on a big repository reads and parses only the files that changed since the
//! last run. Keyed by content, a cache can make a run faster, never change its answer.

use crate::lang::hcl::Parsed;
use crate::lang::redaction_key;
use crate::repo::git_index::{self, ObjectId};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const KIND: crate::cache::Kind = crate::cache::Kind {
    file: "tfw-check-cache",
    version: 5,
};

/// What a file was read as: one content parses differently as a backend file, a var file or a
/// terraform file, in HCL or JSON (a backend file that is also a var file is read both ways).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Purpose {
    Backend { json: bool },
    VarFile { json: bool },
    Terraform { json: bool },
    Lock,
}

/// A parse as kept: the content's id and what it was read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Entry(#[serde(with = "serde_bytes")] pub ObjectId, pub Purpose);

pub struct ParseCache {
    git_dir: Option<PathBuf>,
    /// The cache's content as read: each parse is decoded only when asked for.
    bytes: Vec<u8>,
    /// Where each kept parse lies in `bytes`.
    known: HashMap<Entry, Range<usize>, ById>,
}

/// The cache file: each parse encoded apart, sorted by entry.
type Stored<'a> = Vec<(Entry, &'a serde_bytes::Bytes)>;

/// Object ids are already uniformly spread: their first bytes are a good hash as they are.
#[derive(Default, Clone, Copy)]
struct ById;

impl std::hash::BuildHasher for ById {
    type Hasher = IdHasher;
    fn build_hasher(&self) -> IdHasher {
        IdHasher(0)
    }
}

struct IdHasher(u64);

impl std::hash::Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8).take(1) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(word);
        }
    }
}

/// What one stack's check used of the cache and added to it: what is saved.
#[derive(Default)]
pub struct Touched {
    used: Vec<Entry>,
    fresh: Vec<(Entry, Arc<Parsed>)>,
}

/// What one stack's check used and added, its parses encoded by the worker that made them: the
/// save at the end of a run only copies bytes, and each parse is freed where it was made.
#[derive(Default)]
pub struct Kept {
    used: Vec<Entry>,
    fresh: Vec<(Entry, Vec<u8>)>,
}

impl Touched {
    /// What this stack parsed for `entry`. A stack has a few files, so a scan is enough.
    fn fresh_parse(&self, entry: &Entry) -> Option<Arc<Parsed>> {
        self.fresh
            .iter()
            .find(|(e, _)| e == entry)
            .map(|(_, p)| p.clone())
    }

    /// Every entry used or added.
    pub fn entries(&self) -> Vec<Entry> {
        self.used
            .iter()
            .chain(self.fresh.iter().map(|(entry, _)| entry))
            .copied()
            .collect()
    }

    /// The entries, with the fresh parses encoded (one that cannot be is not kept).
    pub fn keep(self) -> Kept {
        let fresh = self
            .fresh
            .iter()
            .filter_map(|(entry, parsed)| Some((*entry, crate::cache::encode(&**parsed)?)))
            .collect();
        Kept {
            used: self.used,
            fresh,
        }
    }
}

impl Kept {
    /// What results kept from an earlier run used: kept alive, not read.
    pub fn reused(entries: Vec<Entry>) -> Self {
        Self {
            used: entries,
            fresh: Vec::new(),
        }
    }
}

impl ParseCache {
    /// The cache of the git repository around `root` (in its git dir), empty outside git.
    pub fn open(root: &Path) -> Self {
        // Kept settings are hashed with the repository's key: without it nothing is kept, and
        // with a new one nothing kept is used.
        let (git_dir, same_key) = git_index::locate(root)
            .and_then(|git| {
                let same_key = redaction_key::use_repository_key(&git.git_dir)?;
                Some((git.git_dir, same_key))
            })
            .unzip();
        let bytes = git_dir
            .as_ref()
            .filter(|_| same_key == Some(true))
            .and_then(|dir| crate::cache::read(dir, &KIND))
            .unwrap_or_default();
        let start = bytes.as_ptr() as usize;
        let known = crate::cache::decode::<Stored>(&bytes)
            .unwrap_or_default()
            .into_iter()
            .map(|(entry, parsed)| {
                let begin = parsed.as_ptr() as usize - start;
                (entry, begin..begin + parsed.len())
            })
            .collect();
        Self {
            git_dir,
            bytes,
            known,
        }
    }

    /// The kept parse of `entry`, decoded.
    fn kept(&self, entry: &Entry) -> Option<Parsed> {
        crate::cache::decode(&self.bytes[self.known.get(entry)?.clone()])
    }

    /// The parse of the file `read` reads, as `purpose`. `id` is its content's object id when git's stat
    /// data vouch for it (as `git status` trusts them); otherwise the file is read and hashed
    /// first.
    pub fn get(
        &self,
        id: Option<&ObjectId>,
        purpose: Purpose,
        read: impl FnOnce() -> std::io::Result<Vec<u8>>,
        touched: &mut Touched,
        parse: impl FnOnce(&[u8]) -> Parsed,
    ) -> Arc<Parsed> {
        let known = |entry: Entry, touched: &mut Touched| {
            // A stack reads one file for two checks (a var file's values, then its types).
            if let Some(parsed) = touched.fresh_parse(&entry) {
                return Some(parsed);
            }
            let hit = Arc::new(self.kept(&entry)?);
            touched.used.push(entry);
            Some(hit)
        };
        if let Some(id) = id
            && let Some(hit) = known(Entry(*id, purpose), touched)
        {
            return hit;
        }
        let bytes = match read() {
            Ok(bytes) => bytes,
            Err(e) => return Arc::new(Parsed::Invalid(format!("cannot read: {e}"))),
        };
        // Keyed by what was read, not by the id vouched for before: a file changed in between
        // is kept under its own content.
        let entry = Entry(git_index::blob_id(&bytes), purpose);
        if let Some(hit) = known(entry, touched) {
            return hit;
        }
        let parsed = Arc::new(parse(&bytes));
        touched.fresh.push((entry, parsed.clone()));
        parsed
    }

    /// Writes the entries of this run back (dropping those no longer used), when they changed.
    pub fn save(self, kept: impl IntoIterator<Item = Kept>) {
        let Some(git_dir) = &self.git_dir else { return };
        let parts: Vec<Kept> = kept.into_iter().collect();
        let mut used: Vec<Entry> = parts
            .iter()
            .flat_map(|part| part.used.iter().copied())
            .filter(|entry| self.known.contains_key(entry))
            .collect();
        used.sort_unstable();
        used.dedup();
        let fresh = parts.iter().flat_map(|part| part.fresh.iter());
        if fresh.clone().next().is_none() && used.len() == self.known.len() {
            return;
        }
        let mut entries: Stored = used
            .iter()
            .map(|entry| {
                (
                    *entry,
                    serde_bytes::Bytes::new(&self.bytes[self.known[entry].clone()]),
                )
            })
            .chain(fresh.map(|(entry, parsed)| (*entry, serde_bytes::Bytes::new(parsed))))
            .collect();
        // Two stacks with one content each parsed it: it is kept once.
        entries.sort_unstable_by_key(|(entry, _)| *entry);
        entries.dedup_by_key(|(entry, _)| *entry);
        crate::cache::write(git_dir, &KIND, &entries);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_keyed_by_content_and_purpose_and_never_change_an_answer() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        let file = dir.path().join("a.tfvars");
        std::fs::write(&file, "hello\n").unwrap();
        let hello = git_index::parse_hex("ce013625030ba8dba906f756967f9e9ca394464a").unwrap();
        let var_file = Purpose::VarFile { json: false };
        let parse = |bytes: &[u8]| Parsed::Invalid(String::from_utf8_lossy(bytes).trim().into());
        let cache = ParseCache::open(dir.path());
        let mut touched = Touched::default();
        cache.get(None, var_file, || std::fs::read(&file), &mut touched, parse);
        cache.save([touched.keep()]);
        let cache = ParseCache::open(dir.path());
        assert!(
            cache.known.contains_key(&Entry(hello, var_file)),
            "stored by content id"
        );
        let hit = cache.get(
            Some(&hello),
            var_file,
            || std::fs::read(&file),
            &mut Touched::default(),
            |_| unreachable!("same content: from the cache"),
        );
        assert_eq!(*hit, Parsed::Invalid("hello".into()));
        let as_backend = cache.get(
            Some(&hello),
            Purpose::Backend { json: false },
            || std::fs::read(&file),
            &mut Touched::default(),
            |_| Parsed::Invalid("read as a backend file".into()),
        );
        assert_eq!(
            *as_backend,
            Parsed::Invalid("read as a backend file".into()),
            "the same content read for another purpose is parsed again"
        );
        std::fs::write(&file, "changed\n").unwrap();
        let fresh = cache.get(
            None,
            var_file,
            || std::fs::read(&file),
            &mut Touched::default(),
            parse,
        );
        assert_eq!(
            *fresh,
            Parsed::Invalid("changed".into()),
            "new content is parsed"
        );
    }
}
