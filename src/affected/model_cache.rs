//! `tfw affected`'s models kept by the git object they were made for — a commit (or tag, or
//! tree) id, with the tfw binary and the repository's root: an object's content never changes,
//! so neither does its model. Only a model made from a working tree that holds that commit's
//! tree exactly is kept (see `Listing::is_tree`).

use super::{Model, StackModel};
use crate::cache_file::{self, Reader, Writer};
use crate::repo::git_index::{GitDir, ObjectId};
use std::path::{Path, PathBuf};

/// The first bytes of the cache file; anything else is another format.
const MAGIC: &[u8] = b"tfw affected models v1\n";

/// How many trees' models are kept: the heads a developer or CI runner moves between.
const KEPT: usize = 8;

pub struct ModelCache {
    path: PathBuf,
    /// What every key mixes in besides the object: the tfw binary and the repository's root.
    salt: Vec<u8>,
    /// Keys and encoded models, most recent first.
    entries: Vec<(ObjectId, Vec<u8>)>,
}

impl ModelCache {
    pub fn open(git: &GitDir, root: &Path) -> Self {
        let mut salt = cache_file::maker().to_vec();
        salt.push(0);
        salt.extend_from_slice(root.as_os_str().as_encoded_bytes());
        let mut cache = Self {
            path: git.git_dir.join("tfw-affected-models"),
            salt,
            entries: Vec::new(),
        };
        if let Ok(bytes) = std::fs::read(&cache.path) {
            cache.entries = read_entries(&bytes).unwrap_or_default();
        }
        cache
    }

    fn key(&self, object: &ObjectId) -> ObjectId {
        let mut hash = sha1_smol::Sha1::new();
        hash.update(&self.salt);
        hash.update(object);
        hash.digest().bytes()
    }

    /// The model kept for `object`, its text borrowed from the cache.
    pub fn get(&self, object: &ObjectId) -> Option<Model<&str>> {
        let key = self.key(object);
        let (_, bytes) = self.entries.iter().find(|(k, _)| *k == key)?;
        decode(&mut Reader(bytes))
    }

    /// Keeps `model` as `object`'s, and writes the cache.
    pub fn put(&mut self, object: ObjectId, model: &Model) {
        let key = self.key(&object);
        let mut encoded = Writer::default();
        encode(&mut encoded, model);
        self.entries.retain(|(k, _)| *k != key);
        self.entries.insert(0, (key, encoded.0));
        self.entries.truncate(KEPT);
        let mut out = Writer(MAGIC.to_vec());
        out.u32(self.entries.len());
        for (key, bytes) in &self.entries {
            out.0.extend_from_slice(key);
            out.bytes(bytes);
        }
        cache_file::write(&self.path, &out.0);
    }
}

fn read_entries(bytes: &[u8]) -> Option<Vec<(ObjectId, Vec<u8>)>> {
    let mut input = Reader(bytes.strip_prefix(MAGIC)?);
    let mut entries = Vec::new();
    for _ in 0..input.u32()? {
        let key = input.take(20)?.try_into().ok()?;
        entries.push((key, input.bytes()?.to_vec()));
    }
    Some(entries)
}

fn encode(out: &mut Writer, model: &Model) {
    let strings = |out: &mut Writer, strings: &[String]| {
        out.u32(strings.len());
        for s in strings {
            out.str(s);
        }
    };
    out.u32(model.stacks.len());
    for stack in &model.stacks {
        out.str(&stack.name);
        out.str(&stack.path);
        out.u32(stack.envs.len());
        for (env, files) in &stack.envs {
            out.str(env);
            strings(out, files);
        }
        strings(out, &stack.modules);
    }
    out.u32(model.edges.len());
    for (env, edges) in &model.edges {
        out.str(env);
        out.u32(edges.len());
        for (from, to) in edges {
            out.u32(*from);
            out.u32(*to);
        }
    }
}

fn decode<'a>(input: &mut Reader<'a>) -> Option<Model<&'a str>> {
    let strings = |input: &mut Reader<'a>| -> Option<Vec<&'a str>> {
        (0..input.u32()?).map(|_| input.str()).collect()
    };
    let mut model = Model::default();
    for _ in 0..input.u32()? {
        let name = input.str()?;
        let path = input.str()?;
        let mut envs = Vec::new();
        for _ in 0..input.u32()? {
            let env = input.str()?;
            envs.push((env, strings(input)?));
        }
        let modules = strings(input)?;
        model.stacks.push(StackModel {
            name,
            path,
            envs,
            modules,
        });
    }
    for _ in 0..input.u32()? {
        let env = input.str()?;
        let edges = (0..input.u32()?)
            .map(|_| Some((input.u32()?, input.u32()?)))
            .collect::<Option<Vec<_>>>()?;
        model.edges.insert(env, edges);
    }
    Some(model)
}

#[cfg(test)]
mod tests {
    use super::*;

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
