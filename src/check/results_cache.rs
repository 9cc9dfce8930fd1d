//! Each stack's check results remembered by everything they were made from: the stack's listed
//! files with their statuses and content ids, the files outside it that its env patterns name,
//! tfw.toml and the tfw binary. A run then re-checks only the stacks whose inputs changed, and a
//! stack whose inputs cannot all be named (an untracked or edited file, a symlink, a file outside
//! the repository) is always checked. Keyed by content: a cache can make a run faster, never
//! change its answer.

use crate::check::parse_cache::Entry;
use crate::check::{Problem, StateUse};
use crate::config::PROBLEM_KINDS;
use crate::lang::backend::StateLocation;
use crate::repo::git_index::{self, ObjectId};
use crate::repo::listing::{Status, Subtree};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::{Path, PathBuf};

const KIND: crate::cache::Kind = crate::cache::Kind {
    file: "tfw-check-results",
    version: 5,
};

/// What checking one stack found, as kept.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Results {
    pub problems: Vec<Problem>,
    pub states: Vec<StateUse>,
    pub warnings: Vec<String>,
    /// The parse cache entries the check used: kept alive while the results are.
    pub parsed: Vec<Entry>,
}

/// What a stack's results depend on, hashed.
pub type Key = ObjectId;

/// A file by path from the root, with its status and content id as listed (`None`: not
/// listed, so absent).
pub type Input = (String, Option<Status>, Option<ObjectId>);

pub struct ResultsCache {
    git_dir: Option<PathBuf>,
    /// The repository's root and its tfw.toml: what every stack depends on (the cache layer
    /// tells apart the tfw that checks).
    global: ObjectId,
    /// The cache's content as read: each stack's results are decoded only when asked for.
    bytes: Vec<u8>,
    /// Each stack's key and where its results lie in `bytes`: its problems, warnings and parse
    /// cache entries, then its states.
    known: HashMap<String, (Key, Range<usize>, Range<usize>)>,
    /// The states shared by several stacks, found from every stack's states: kept by the key
    /// of all stacks' keys (when every stack has one), so an unchanged repository decodes none.
    shared: Option<(Key, Vec<Problem>)>,
}

/// The cache file: each stack's results and states encoded apart, decoded when asked for.
#[derive(Serialize, Deserialize)]
struct Stored<'a> {
    global: ObjectId,
    shared: Option<(Key, Vec<KeptProblem<'a>>)>,
    #[serde(borrow)]
    stacks: Vec<StoredStack<'a>>,
}

#[derive(Serialize, Deserialize)]
struct StoredStack<'a> {
    path: &'a str,
    key: Key,
    #[serde(with = "serde_bytes")]
    results: &'a [u8],
    #[serde(with = "serde_bytes")]
    states: &'a [u8],
}

/// A problem as kept (its JSON form leaves fields out, which a compact encoding cannot).
#[derive(Serialize, Deserialize)]
struct KeptProblem<'a> {
    path: &'a str,
    line: Option<usize>,
    message: &'a str,
    kind: &'a str,
    stack: &'a str,
    env: Option<&'a str>,
}

impl<'a> From<&'a Problem> for KeptProblem<'a> {
    fn from(problem: &'a Problem) -> Self {
        Self {
            path: &problem.path,
            line: problem.line,
            message: &problem.message,
            kind: problem.kind,
            stack: &problem.stack,
            env: problem.env.as_deref(),
        }
    }
}

impl KeptProblem<'_> {
    /// The problem back; `None` for a kind this tfw does not know.
    fn problem(&self) -> Option<Problem> {
        Some(Problem {
            path: self.path.to_string(),
            line: self.line,
            message: self.message.to_string(),
            kind: PROBLEM_KINDS
                .iter()
                .map(|(k, _)| *k)
                .find(|k| *k == self.kind)?,
            stack: self.stack.to_string(),
            env: self.env.map(str::to_string),
        })
    }
}

fn problems(kept: &[KeptProblem]) -> Option<Vec<Problem>> {
    kept.iter().map(KeptProblem::problem).collect()
}

/// A stack's results as kept, apart from its states.
type KeptResults<'a> = (Vec<KeptProblem<'a>>, Vec<&'a str>, Vec<Entry>);

/// A stack's states as kept: identity, what is shown, and the problem they make.
type KeptStates<'a> = Vec<(&'a str, &'a str, KeptProblem<'a>)>;

/// One stack's results as this run checked them, encoded to keep (by the worker that checked
/// it: the save at the end of a run then only copies bytes).
pub struct Fresh {
    path: String,
    pub key: Key,
    results: Vec<u8>,
    states: Vec<u8>,
}

impl Fresh {
    /// The results of the stack at `path` checked from inputs with this key (see `Results`).
    pub fn encode(path: &str, key: Key, results: Borrowed, parsed: Vec<Entry>) -> Option<Self> {
        let (problems, states, warnings) = results;
        let kept: KeptResults = (
            problems.iter().map(KeptProblem::from).collect(),
            warnings.iter().map(String::as_str).collect(),
            parsed,
        );
        let states: KeptStates = states
            .iter()
            .map(|(location, problem)| {
                let (identity, shown) = (location.identity.as_str(), location.shown.as_str());
                (identity, shown, problem.into())
            })
            .collect();
        Some(Self {
            path: path.to_string(),
            key,
            results: crate::cache::encode(&kept)?,
            states: crate::cache::encode(&states)?,
        })
    }
}

/// A stack's problems, states and warnings, as its check holds them.
pub type Borrowed<'a> = (&'a [Problem], &'a [StateUse], &'a [String]);

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
        let git_dir = git_index::locate(root).map(|git| git.git_dir);
        let settings = std::fs::read(root.join(crate::config::FILE_NAME)).unwrap_or_default();
        let mut global = sha1_smol::Sha1::new();
        global.update(root.as_os_str().as_encoded_bytes());
        global.update(&[0]);
        global.update(&settings);
        let mut cache = Self {
            bytes: git_dir
                .as_deref()
                .and_then(|dir| crate::cache::read(dir, &KIND))
                .unwrap_or_default(),
            git_dir,
            global: global.digest().bytes(),
            known: HashMap::new(),
            shared: None,
        };
        if cache.index().is_none() {
            cache.known.clear();
            cache.shared = None;
        }
        cache
    }

    /// The key of a stack's inputs: `files` (its subtree) and `outside` (files its patterns
    /// name elsewhere in the repository, by path from the root, with their listing entries).
    /// `None` when some input's content is not known by id: then it is always checked.
    pub fn key(&self, stack_path: &str, files: &Subtree, outside: &[Input]) -> Option<Key> {
        self.git_dir.as_ref()?;
        let mut hash = sha1_smol::Sha1::new();
        hash.update(&self.global);
        hash.update(stack_path.as_bytes());
        hash.update(&[0]);
        let mut add = |path: &str, status: Option<Status>, id: Option<&ObjectId>| -> Option<()> {
            hash.update(path.as_bytes());
            hash.update(&[status.map_or(u8::MAX, |status| status as u8)]);
            match (status.is_some_and(Status::on_disk), id) {
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
            add(path, Some(status), id)?;
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
        let (kept, warnings, parsed): KeptResults =
            crate::cache::decode(&self.bytes[range.clone()])?;
        Some(Results {
            problems: problems(&kept)?,
            states: Vec::new(),
            warnings: warnings.into_iter().map(str::to_string).collect(),
            parsed,
        })
    }

    /// The states kept for the stack at `path`.
    pub fn states(&self, path: &str) -> Option<Vec<StateUse>> {
        let (_, _, range) = self.known.get(path)?;
        let kept: KeptStates = crate::cache::decode(&self.bytes[range.clone()])?;
        kept.iter()
            .map(|(identity, shown, problem)| {
                let location = StateLocation {
                    identity: identity.to_string(),
                    shown: shown.to_string(),
                };
                Some((location, problem.problem()?))
            })
            .collect()
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
    pub fn save(self, stacks: &[String], fresh: Vec<Fresh>, shared: Option<(Key, Vec<Problem>)>) {
        let Some(git_dir) = &self.git_dir else {
            return;
        };
        let stacks: HashSet<&str> = stacks.iter().map(String::as_str).collect();
        let gone = self.known.keys().any(|k| !stacks.contains(k.as_str()));
        if fresh.is_empty() && !gone && shared == self.shared {
            return;
        }
        let checked: HashSet<&str> = fresh.iter().map(|fresh| fresh.path.as_str()).collect();
        let kept = self.known.iter().filter(|(stack, _)| {
            stacks.contains(stack.as_str()) && !checked.contains(stack.as_str())
        });
        let stored = Stored {
            global: self.global,
            shared: shared
                .as_ref()
                .map(|(all, problems)| (*all, problems.iter().map(KeptProblem::from).collect())),
            stacks: kept
                .map(|(stack, (key, results, states))| StoredStack {
                    path: stack,
                    key: *key,
                    results: &self.bytes[results.clone()],
                    states: &self.bytes[states.clone()],
                })
                .chain(fresh.iter().map(|fresh| StoredStack {
                    path: &fresh.path,
                    key: fresh.key,
                    results: &fresh.results,
                    states: &fresh.states,
                }))
                .collect(),
        };
        crate::cache::write(git_dir, &KIND, &stored);
    }

    /// Finds each stack's entry in the content read; `None` when it does not decode or was
    /// made under other settings.
    fn index(&mut self) -> Option<()> {
        let stored: Stored = crate::cache::decode(&self.bytes)?;
        if stored.global != self.global {
            return None;
        }
        if let Some((all, kept)) = &stored.shared {
            self.shared = Some((*all, problems(kept)?));
        }
        let start = self.bytes.as_ptr() as usize;
        let range = |blob: &[u8]| {
            let begin = blob.as_ptr() as usize - start;
            begin..begin + blob.len()
        };
        for stack in &stored.stacks {
            let entry = (stack.key, range(stack.results), range(stack.states));
            self.known.insert(stack.path.to_string(), entry);
        }
        Some(())
    }
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
            parsed: vec![Entry(
                [3; 20],
                crate::check::parse_cache::Purpose::VarFile { json: false },
            )],
        };
        let cache = ResultsCache::open(root);
        let shared = vec![problem("shared-state", None, Some("stg"))];
        let borrowed = (
            &results.problems[..],
            &results.states[..],
            &results.warnings[..],
        );
        let fresh = Fresh::encode("a", [1; 20], borrowed, results.parsed.clone()).unwrap();
        cache.save(&["a".into()], vec![fresh], Some(([5; 20], shared.clone())));
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
