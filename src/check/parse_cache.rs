//! Parsed env and terraform files remembered by the git object id of their content, so that a
//! pre-commit run on a big repository reads and parses only the files that changed since the
//! last run. Keyed by content, a cache can make a run faster, never change its answer.

use crate::repo::git_index::{self, ObjectId};
use crate::terraform::hcl::{Attributes, FIELD, Parsed};
use crate::terraform::redaction_key;
use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The first line of the cache file; another one means another format.
const HEADER: &str = "tfw check cache v2";

pub struct ParseCache {
    path: Option<PathBuf>,
    known: HashMap<ObjectId, Parsed, ById>,
}

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
            self.0 ^= u64::from_le_bytes(word);
        }
    }
}

/// What one worker used of the cache and added to it: what is saved.
#[derive(Default)]
pub struct Touched {
    used: Vec<ObjectId>,
    fresh: Vec<(ObjectId, Parsed)>,
}

impl Touched {
    /// What results kept from an earlier run used: kept alive, not read.
    pub fn reused(ids: Vec<ObjectId>) -> Self {
        Self {
            used: ids,
            fresh: Vec::new(),
        }
    }

    /// Every entry used or added.
    pub fn ids(&self) -> Vec<ObjectId> {
        self.used
            .iter()
            .chain(self.fresh.iter().map(|(id, _)| id))
            .copied()
            .collect()
    }
}

impl ParseCache {
    /// The cache of the git repository around `root` (in its git dir), empty outside git.
    pub fn open(root: &Path) -> Self {
        // Kept settings are hashed with the repository's key: without it nothing is kept, and
        // with a new one nothing kept is used.
        let (path, same_key) = git_index::locate(root)
            .and_then(|git| {
                let same_key = redaction_key::use_repository_key(&git.git_dir)?;
                Some((git.git_dir.join("tfw-check-cache"), same_key))
            })
            .unzip();
        let known = path
            .as_ref()
            .filter(|_| same_key == Some(true))
            .and_then(|p| std::fs::read_to_string(p).ok())
            .map(|text| load(&text))
            .unwrap_or_default();
        Self { path, known }
    }

    /// The parse of `file`. `id` is its content's object id when git's stat data vouch for
    /// it (as `git status` trusts them); otherwise the file is read and hashed first.
    pub fn get(
        &self,
        id: Option<&ObjectId>,
        file: impl FnOnce() -> PathBuf,
        touched: &mut Touched,
        parse: impl FnOnce(&[u8]) -> Parsed,
    ) -> Cow<'_, Parsed> {
        if let Some((id, hit)) = id.and_then(|id| Some((id, self.known.get(id)?))) {
            touched.used.push(*id);
            return Cow::Borrowed(hit);
        }
        let bytes = match std::fs::read(file()) {
            Ok(bytes) => bytes,
            Err(e) => return Cow::Owned(Parsed::Invalid(format!("cannot read: {e}"))),
        };
        let content = git_index::blob_id(&bytes);
        if let Some(hit) = self.known.get(&content) {
            touched.used.push(content);
            return Cow::Borrowed(hit);
        }
        let parsed = parse(&bytes);
        touched.fresh.push((content, parsed.clone()));
        Cow::Owned(parsed)
    }

    /// Writes the entries of this run back (dropping those no longer used), when they changed.
    pub fn save(self, touched: impl IntoIterator<Item = Touched>) {
        let Some(path) = self.path else { return };
        let mut used = Vec::new();
        let mut fresh = HashMap::new();
        for part in touched {
            used.extend(part.used);
            fresh.extend(part.fresh);
        }
        used.sort_unstable();
        used.dedup();
        if fresh.is_empty() && used.len() == self.known.len() {
            return;
        }
        let mut text = format!("{HEADER}\n");
        let kept = self
            .known
            .iter()
            .filter(|(id, _)| used.binary_search(id).is_ok());
        for (id, parsed) in kept.chain(fresh.iter()) {
            store(&mut text, id, parsed);
        }
        crate::cache_file::write(&path, text.as_bytes());
    }
}

/// One line: `<id> <kind> <fields…>`, fields separated by FIELD, attributes as `key=value`,
/// variables and value shapes as JSON (which escapes FIELD and newlines).
fn store(text: &mut String, id: &ObjectId, parsed: &Parsed) {
    let attributes = |attributes: &Attributes| {
        attributes
            .iter()
            .map(|(k, v)| format!("{FIELD}{k}={v}"))
            .collect::<String>()
    };
    let hex = git_index::hex(id);
    let _ = match parsed {
        Parsed::Values(values) => {
            let json = serde_json::to_string(values).unwrap_or_default();
            writeln!(text, "{hex}{FIELD}V{FIELD}{json}")
        }
        Parsed::Invalid(message) => writeln!(text, "{hex}{FIELD}I{FIELD}{message}"),
        Parsed::Attributes(a) => writeln!(text, "{hex}{FIELD}A{}", attributes(a)),
        Parsed::Terraform(backend, variables) => {
            let json = serde_json::to_string(variables).unwrap_or_default();
            let (kind, a) = match backend {
                Some((kind, a)) => (kind.as_str(), attributes(a)),
                None => ("", String::new()),
            };
            writeln!(text, "{hex}{FIELD}T{FIELD}{json}{FIELD}{kind}{a}")
        }
    };
}

fn load(text: &str) -> HashMap<ObjectId, Parsed, ById> {
    let mut lines = text.lines();
    if lines.next() != Some(HEADER) {
        return HashMap::default();
    }
    let mut entries = HashMap::with_capacity_and_hasher(text.len() / 64, ById);
    entries.extend(lines.filter_map(|line| {
        let id = git_index::parse_hex(line.get(..40)?)?;
        let rest = line.get(41..)?;
        let (kind, payload) = rest.split_once(FIELD).unwrap_or((rest, ""));
        let parsed = match kind {
            "V" => Parsed::Values(serde_json::from_str(payload).ok()?),
            "I" => Parsed::Invalid(payload.to_string()),
            "A" => Parsed::Attributes(Attributes::from_fields(payload.to_string())),
            "T" => {
                let (json, backend) = payload.split_once(FIELD)?;
                let (kind, attributes) = backend.split_once(FIELD).unwrap_or((backend, ""));
                let backend = (!kind.is_empty()).then(|| {
                    (
                        kind.to_string(),
                        Attributes::from_fields(attributes.to_string()),
                    )
                });
                Parsed::Terraform(backend, serde_json::from_str(json).ok()?)
            }
            _ => return None,
        };
        Some((id, parsed))
    }));
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_survives_a_round_trip() {
        let attributes = Attributes::new([
            ("key", "a=b".to_string()),
            ("bucket", "b".to_string()),
            ("bad", "x\ny".to_string()),
        ]);
        assert_eq!(
            attributes.iter().collect::<Vec<_>>(),
            [("bucket", "b"), ("key", "a=b")]
        );
        use crate::variables::Declared;
        use crate::variables::types::{Type, Value};
        let values = [
            ("n".to_string(), (3, Value::String("0".into()))),
            (
                "o".to_string(),
                (
                    4,
                    Value::Object([("a".into(), Value::List(vec![Value::Bool]))].into()),
                ),
            ),
        ]
        .into();
        let variables: std::collections::BTreeMap<String, Declared> = [(
            "v".to_string(),
            Declared {
                required: true,
                kind: Some(Type::Map(Box::new(Type::Number))),
                sensitive: true,
            },
        )]
        .into();
        let kinds = [
            Parsed::Values(values),
            Parsed::Invalid("line 2: invalid HCL: x".into()),
            Parsed::Attributes(attributes.clone()),
            Parsed::Terraform(None, variables.clone()),
            Parsed::Terraform(Some(("s3".into(), attributes)), variables),
        ];
        let mut text = format!("{HEADER}\n");
        for (i, parsed) in kinds.iter().enumerate() {
            store(&mut text, &[i as u8; 20], parsed);
        }
        let loaded = load(&text);
        for (i, parsed) in kinds.iter().enumerate() {
            assert_eq!(loaded.get(&[i as u8; 20]), Some(parsed));
        }
        assert!(load("other header\n").is_empty());
    }

    #[test]
    fn entries_are_keyed_by_content_and_never_change_an_answer() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        let file = dir.path().join("a.tfvars");
        std::fs::write(&file, "hello\n").unwrap();
        let hello = git_index::parse_hex("ce013625030ba8dba906f756967f9e9ca394464a").unwrap();
        let parse = |bytes: &[u8]| Parsed::Invalid(String::from_utf8_lossy(bytes).trim().into());
        let cache = ParseCache::open(dir.path());
        let mut touched = Touched::default();
        cache.get(None, || file.clone(), &mut touched, parse);
        cache.save([touched]);
        let cache = ParseCache::open(dir.path());
        assert!(cache.known.contains_key(&hello), "stored by content id");
        let hit = cache.get(
            None,
            || file.clone(),
            &mut Touched::default(),
            |_| unreachable!("same content: from the cache"),
        );
        assert_eq!(*hit, Parsed::Invalid("hello".into()));
        std::fs::write(&file, "changed\n").unwrap();
        let fresh = cache.get(None, || file.clone(), &mut Touched::default(), parse);
        assert_eq!(
            *fresh,
            Parsed::Invalid("changed".into()),
            "new content is parsed"
        );
    }
}
