//! `tfw affected`'s models kept by the git object they were made for — a commit (or tag, or
//! tree) id, with the tfw binary and the repository's root: an object's content never changes,
//! so neither does its model. Only a model made from a working tree that holds that commit's
//! tree exactly is kept (see `Listing::is_tree`).

use super::Model;
use crate::repo::git_index::{GitDir, ObjectId};
use std::path::{Path, PathBuf};

const KIND: crate::cache::Kind = crate::cache::Kind {
    file: "tfw-affected-models",
    version: 2,
};

/// How many trees' models are kept: the heads a developer or CI runner moves between.
const KEPT: usize = 8;

pub struct ModelCache {
    git_dir: PathBuf,
    /// What every key mixes in besides the object: the repository's root (the cache layer
    /// tells apart the tfw that made it).
    salt: Vec<u8>,
    /// Keys and encoded models, most recent first.
    entries: Vec<(ObjectId, Vec<u8>)>,
}

impl ModelCache {
    pub fn open(git: &GitDir, root: &Path) -> Self {
        let entries = crate::cache::read(&git.git_dir, &KIND)
            .and_then(|content| {
                let stored: Vec<(ObjectId, &serde_bytes::Bytes)> = crate::cache::decode(&content)?;
                Some(stored.into_iter().map(|(k, m)| (k, m.to_vec())).collect())
            })
            .unwrap_or_default();
        Self {
            git_dir: git.git_dir.clone(),
            salt: root.as_os_str().as_encoded_bytes().to_vec(),
            entries,
        }
    }

    fn key(&self, object: &ObjectId) -> ObjectId {
        let mut hash = sha1_smol::Sha1::new();
        hash.update(&self.salt);
        hash.update(&[0]);
        hash.update(object);
        hash.digest().bytes()
    }

    /// The model kept for `object`, its text borrowed from the cache.
    pub fn get(&self, object: &ObjectId) -> Option<Model<&str>> {
        let key = self.key(object);
        let (_, bytes) = self.entries.iter().find(|(k, _)| *k == key)?;
        crate::cache::decode(bytes)
    }

    /// Keeps `model` as `object`'s, and writes the cache.
    pub fn put(&mut self, object: ObjectId, model: &Model) {
        let key = self.key(&object);
        let Some(encoded) = crate::cache::encode(model) else {
            return;
        };
        self.entries.retain(|(k, _)| *k != key);
        self.entries.insert(0, (key, encoded));
        self.entries.truncate(KEPT);
        let stored: Vec<(&ObjectId, &serde_bytes::Bytes)> = self
            .entries
            .iter()
            .map(|(key, model)| (key, serde_bytes::Bytes::new(model)))
            .collect();
        crate::cache::write(&self.git_dir, &KIND, &stored);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::affected::StackModel;

    #[test]
    fn a_model_survives_a_round_trip_by_object() {
        let dir = tempfile::tempdir().unwrap();
        let git = GitDir::all_in(dir.path());
        let mut model = Model::default();
        model.stacks.push(StackModel {
            name: "network".into(),
            path: "network".into(),
            envs: vec![("stg".into(), vec!["network/stg.tfbackend".into()])],
            modules: vec!["modules/vpc/".into()],
        });
        model.stacks.push(StackModel {
            name: "app".into(),
            path: "app".into(),
            envs: vec![("stg".into(), vec![])],
            modules: vec![],
        });
        model.edges.insert("stg".into(), vec![(1, 0)]);
        let mut cache = ModelCache::open(&git, dir.path());
        cache.put([1; 20], &model);
        let cache = ModelCache::open(&git, dir.path());
        let kept = cache.get(&[1; 20]).unwrap();
        assert_eq!(format!("{kept:?}"), format!("{model:?}"));
        assert_eq!(cache.get(&[2; 20]), None);
        assert_eq!(
            ModelCache::open(&git, Path::new("/elsewhere")).get(&[1; 20]),
            None
        );
    }
}
