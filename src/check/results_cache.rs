//! Each stack's check results remembered by everything they were made from: the stack's listed
//! files with their statuses and content ids, the files outside it that its env patterns name,
//! tfw.toml and the tfw binary. A run then re-checks only the stacks whose inputs changed, and a
//! stack whose inputs cannot all be named (an untracked or edited file, a symlink, a file outside
//! the repository) is always checked. Keyed by content: a cache can make a run faster, never
//! change its answer.

use crate::cache_file::{self, Reader, Writer};
use crate::check::{Problem, StateUse};
use crate::repo::git_index::{self, ObjectId};
use crate::repo::listing::{Status, Subtree};
use crate::terraform::backend::StateLocation;
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

/// The first bytes of the cache file; anything else is another format.
const MAGIC: &[u8] = b"tfw check results v3\n";

/// Every kind of problem, so that a kept one gets its `&'static str` back.
const KINDS: &[&str] = &[
    "missing",
    "orphan",
    "shared-state",
    "invalid",
    "env-name",
    "broken-symlink",
    "undeclared",
    "unset",
    "type",
];

/// What checking one stack found, as kept.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Results {
    pub problems: Vec<Problem>,
    pub states: Vec<StateUse>,
    pub warnings: Vec<String>,
    /// The parse cache entries the check used: kept alive while the results are.
    pub parsed: Vec<ObjectId>,
}

/// What a stack's results depend on, hashed.
pub type Key = ObjectId;

/// A listed file by path from the root, with its status and content id.
pub type Input = (String, Status, Option<ObjectId>);

pub struct ResultsCache {
    path: Option<PathBuf>,
    /// The tfw that checks, the repository's root and its tfw.toml: what every stack depends
    /// on.
    global: ObjectId,
    /// The cache file as read: each stack's results are decoded only when asked for.
    bytes: Vec<u8>,
    /// Each stack's key and where its results lie in `bytes`: its problems, warnings and parse
    /// cache entries, then its states.
    known: HashMap<String, (Key, Range<usize>, Range<usize>)>,
    /// The states shared by several stacks, found from every stack's states: kept by the key
    /// of all stacks' keys (when every stack has one), so an unchanged repository decodes none.
    shared: Option<(Key, Vec<Problem>)>,
}

/// The key of every stack's key, in order: what the shared states depend on.
pub fn all_keys<'a>(keys: impl Iterator<Item = (&'a str, Option<&'a Key>)>) -> Option<Key> {
    let mut hash = sha1_smol::Sha1::new();
    for (stack, key) in keys {
        hash.update(stack.as_bytes());
        hash.update(&[0]);
        hash.update(key?);
    }
    Some(hash.digest().bytes())
}

impl ResultsCache {
    /// The cache of the git repository around `root`; without git, one that keeps nothing
    /// (content ids come from git's index).
    pub fn open(root: &Path) -> Self {
        let path = git_index::locate(root).map(|git| git.git_dir.join("tfw-check-results"));
        let settings = std::fs::read(root.join(crate::config::FILE_NAME)).unwrap_or_default();
        let mut global = sha1_smol::Sha1::new();
        global.update(cache_file::maker());
        global.update(&[0]);
        global.update(root.as_os_str().as_encoded_bytes());
        global.update(&[0]);
        global.update(&settings);
        let mut cache = Self {
            path,
            global: global.digest().bytes(),
            bytes: Vec::new(),
            known: HashMap::new(),
            shared: None,
        };
        if let Some(bytes) = cache.path.as_ref().and_then(|p| std::fs::read(p).ok()) {
            cache.bytes = bytes;
            if cache.index().is_none() {
                cache.known.clear();
                cache.shared = None;
            }
        }
        cache
    }

    /// The key of a stack's inputs: `files` (its subtree) and `outside` (files its patterns
    /// name elsewhere in the repository, by path from the root, with their listing entries).
    /// `None` when some input's content is not known by id: then it is always checked.
    pub fn key(&self, stack_path: &str, files: &Subtree, outside: &[Input]) -> Option<Key> {
        self.path.as_ref()?;
        let mut hash = sha1_smol::Sha1::new();
        hash.update(&self.global);
        hash.update(stack_path.as_bytes());
        hash.update(&[0]);
        let mut add = |path: &str, status: Status, id: Option<&ObjectId>| -> Option<()> {
            hash.update(path.as_bytes());
            hash.update(&[status as u8]);
            match (status.on_disk(), id) {
                (true, Some(id)) => hash.update(id),
                (true, None) => return None,
                (false, _) => {}
            }
            hash.update(&[0]);
            Some(())
        };
        for (path, status, symlink, id) in files.entries() {
            if symlink {
                return None;
            }
            add(path, status, id)?;
        }
        for (path, status, id) in outside {
            add(path, *status, id.as_ref())?;
        }
        Some(hash.digest().bytes())
    }

    /// The results kept for the stack at `path` made from inputs with this key, without its
    /// states (see `states`).
    pub fn get(&self, path: &str, key: &Key) -> Option<Results> {
        let (_, range, _) = self.known.get(path).filter(|(kept, ..)| kept == key)?;
        read_results(&mut Reader(&self.bytes[range.clone()]))
    }

    /// The states kept for the stack at `path`.
    pub fn states(&self, path: &str) -> Option<Vec<StateUse>> {
        let (_, _, range) = self.known.get(path)?;
        read_states(&mut Reader(&self.bytes[range.clone()]))
    }

    /// The shared-state problems kept for all stacks' keys `all`.
    pub fn shared(&self, all: &Key) -> Option<&[Problem]> {
        self.shared
            .as_ref()
            .filter(|(kept, _)| kept == all)
            .map(|(_, problems)| problems.as_slice())
    }

    /// Keeps this run's results of every stack (`fresh`: those checked, not taken from the
    /// cache) and the shared-state problems of all of them, dropping stacks that are gone;
    /// writes only when something changed.
    pub fn save(
        self,
        stacks: &[&str],
        fresh: Vec<(String, Key, Results)>,
        shared: Option<(Key, Vec<Problem>)>,
    ) {
        let Some(path) = &self.path else {
            return;
        };
        let stacks: HashSet<&str> = stacks.iter().copied().collect();
        let gone = self.known.keys().any(|k| !stacks.contains(k.as_str()));
        if fresh.is_empty() && !gone && shared == self.shared {
            return;
        }
        let mut out = Writer(MAGIC.to_vec());
        out.0.extend_from_slice(&self.global);
        match &shared {
            Some((all, problems)) => {
                out.u8(1);
                out.0.extend_from_slice(all);
                out.u32(problems.len());
                for problem in problems {
                    write_problem(&mut out, problem);
                }
            }
            None => out.u8(0),
        }
        let checked: HashSet<&str> = fresh.iter().map(|(stack, _, _)| stack.as_str()).collect();
        let kept: Vec<_> = self
            .known
            .iter()
            .filter(|(stack, _)| {
                stacks.contains(stack.as_str()) && !checked.contains(stack.as_str())
            })
            .collect();
        out.u32(kept.len() + fresh.len());
        for (stack, (key, results, states)) in kept {
            out.str(stack);
            out.0.extend_from_slice(key);
            out.bytes(&self.bytes[results.clone()]);
            out.bytes(&self.bytes[states.clone()]);
        }
        for (stack, key, results) in &fresh {
            out.str(stack);
            out.0.extend_from_slice(key);
            let mut entry = Writer::default();
            write_results(&mut entry, results);
            out.bytes(&entry.0);
            let mut states = Writer::default();
            write_states(&mut states, &results.states);
            out.bytes(&states.0);
        }
        cache_file::write(path, &out.0);
    }

    /// Finds each stack's entry in the bytes read; `None` when they are another format or
    /// made under other settings.
    fn index(&mut self) -> Option<()> {
        let start = self.bytes.strip_prefix(MAGIC)?;
        let offset = self.bytes.len() - start.len();
        let mut input = Reader(start);
        if input.take(20)? != self.global {
            return None;
        }
        if input.u8()? == 1 {
            let all: Key = input.take(20)?.try_into().ok()?;
            let problems = (0..input.u32()?)
                .map(|_| read_problem(&mut input))
                .collect::<Option<Vec<_>>>()?;
            self.shared = Some((all, problems));
        }
        let range = |blob: &[u8]| {
            let begin = offset + (blob.as_ptr() as usize - start.as_ptr() as usize);
            begin..begin + blob.len()
        };
        for _ in 0..input.u32()? {
            let stack = input.str()?.to_string();
            let key: Key = input.take(20)?.try_into().ok()?;
            let results = range(input.bytes()?);
            let states = range(input.bytes()?);
            self.known.insert(stack, (key, results, states));
        }
        Some(())
    }
}

fn write_results(out: &mut Writer, results: &Results) {
    out.u32(results.problems.len());
    for problem in &results.problems {
        write_problem(out, problem);
    }
    out.u32(results.warnings.len());
    for warning in &results.warnings {
        out.str(warning);
    }
    out.u32(results.parsed.len());
    for id in &results.parsed {
        out.0.extend_from_slice(id);
    }
}

fn read_results(input: &mut Reader) -> Option<Results> {
    let mut results = Results::default();
    for _ in 0..input.u32()? {
        results.problems.push(read_problem(input)?);
    }
    for _ in 0..input.u32()? {
        results.warnings.push(input.str()?.to_string());
    }
    for _ in 0..input.u32()? {
        results.parsed.push(input.take(20)?.try_into().ok()?);
    }
    Some(results)
}

fn write_states(out: &mut Writer, states: &[StateUse]) {
    out.u32(states.len());
    for (location, problem) in states {
        out.str(&location.identity);
        out.str(&location.shown);
        write_problem(out, problem);
    }
}

fn read_states(input: &mut Reader) -> Option<Vec<StateUse>> {
    (0..input.u32()?)
        .map(|_| {
            let location = StateLocation {
                identity: input.str()?.to_string(),
                shown: input.str()?.to_string(),
            };
            Some((location, read_problem(input)?))
        })
        .collect()
}

fn write_problem(out: &mut Writer, problem: &Problem) {
    out.str(&problem.path);
    out.u64(problem.line.map_or(0, |line| line as u64 + 1));
    out.str(&problem.message);
    out.u8(KINDS.iter().position(|k| *k == problem.kind).unwrap_or(0) as u8);
    out.str(&problem.stack);
    out.option_str(problem.env.as_deref());
}

fn read_problem(input: &mut Reader) -> Option<Problem> {
    Some(Problem {
        path: input.str()?.to_string(),
        line: input.u64()?.checked_sub(1).map(|line| line as usize),
        message: input.str()?.to_string(),
        kind: KINDS.get(usize::from(input.u8()?))?,
        stack: input.str()?.to_string(),
        env: input.option_str()?.map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn results_survive_a_round_trip_under_the_same_settings_only() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::process::Command::new("git")
            .args(["init", "-q"])
            .current_dir(root)
            .status()
            .unwrap();
        let problem = |kind, line, env: Option<&str>| Problem {
            path: "a/prd.tfvars".into(),
            line,
            message: "it is wrong".into(),
            kind,
            stack: "a".into(),
            env: env.map(String::from),
        };
        let results = Results {
            problems: vec![
                problem("type", Some(0), Some("prd")),
                problem("unset", None, None),
            ],
            states: vec![(
                StateLocation {
                    identity: "s3 b k".into(),
                    shown: "s3 bucket=b".into(),
                },
                problem("shared-state", None, Some("stg")),
            )],
            warnings: vec!["cannot read a/x.tf".into()],
            parsed: vec![[3; 20]],
        };
        let cache = ResultsCache::open(root);
        let shared = vec![problem("shared-state", None, Some("stg"))];
        cache.save(
            &["a"],
            vec![("a".into(), [1; 20], results.clone())],
            Some(([5; 20], shared.clone())),
        );
        let cache = ResultsCache::open(root);
        assert_eq!(cache.states("a"), Some(results.states.clone()));
        assert_eq!(cache.shared(&[5; 20]), Some(shared.as_slice()));
        assert_eq!(cache.shared(&[6; 20]), None);
        let without_states = Results {
            states: Vec::new(),
            ..results
        };
        assert_eq!(cache.get("a", &[1; 20]), Some(without_states));
        assert_eq!(cache.get("a", &[2; 20]), None, "other inputs");
        std::fs::write(root.join(crate::config::FILE_NAME), "envs = [\"prd\"]\n").unwrap();
        let cache = ResultsCache::open(root);
        assert_eq!(cache.get("a", &[1; 20]), None, "other settings");
    }
}
