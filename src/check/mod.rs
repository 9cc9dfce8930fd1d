//! `tfw check`: every stack has every env's files, nothing points two envs at one state, env
//! files parse, env names are valid, no symlink is broken. No terraform, no network, no init.

pub mod annotations;
pub mod parse_cache;
mod providers;
mod results_cache;
mod variables;

use crate::check::parse_cache::{Kept, ParseCache, Purpose, Touched};
use crate::check::results_cache::{Fresh, Input, Key, ResultsCache};
use crate::config::PROBLEM_KINDS;
use crate::config::env_name;
use crate::config::pattern::EnvPattern;
use crate::lang::backend::{self, StateLocation};
use crate::lang::hcl::parse_attributes;
use crate::lang::hcl::{Attributes, Parsed};
use crate::parallel::in_parallel;
use crate::repo::listing::{Status, Subtree};
use crate::repo::{Presence, Repo, Stack, join_display, listing_dir};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Problem {
    /// Relative to the repository root.
    pub path: String,
    /// The line in `path`, for problems inside a file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    pub message: String,
    /// One of `config::PROBLEM_KINDS`.
    pub kind: &'static str,
    /// The stack's path (`.` for the root).
    pub stack: String,
    pub env: Option<String>,
}

/// The kinds that are warnings: reported, but `tfw check` still passes.
const WARNING_KINDS: &[&str] = &["providers"];

impl Problem {
    pub fn is_warning(&self) -> bool {
        WARNING_KINDS.contains(&self.kind)
    }
}

/// A stack as `tfw check` sees it: the stack and its files.
struct Found<'a> {
    stack: Stack,
    files: Subtree<'a>,
    /// Its directory, opened on the first file read (`None` inside when it cannot be): files
    /// are read from it (see `read_at`), and it is closed once the stack is checked.
    dir: std::sync::Mutex<Option<Option<std::fs::File>>>,
}

impl Found<'_> {
    /// The content of the file at `relative` (from the stack).
    fn read(&self, relative: &str) -> std::io::Result<Vec<u8>> {
        let mut dir = self.dir.lock().unwrap_or_else(|e| e.into_inner());
        let dir = dir.get_or_insert_with(|| std::fs::File::open(&self.stack.dir).ok());
        match dir {
            Some(dir) => {
                crate::repo::git_index::read_at(dir, relative, self.files.size_of(relative))
            }
            None => std::fs::read(self.stack.dir.join(relative)),
        }
    }

    /// Closes its directory: by the worker that read it, not all at once at the end.
    fn close(&self) {
        self.dir.lock().unwrap_or_else(|e| e.into_inner()).take();
    }
}

/// A backend file's state location, and the problem to report if another file shares it.
pub type StateUse = (StateLocation, Problem);

/// Files that count for orphans and names: in the working tree and not ignored by git.
fn visible(status: Status) -> bool {
    matches!(
        status,
        Status::Tracked | Status::Untracked | Status::NotInGit
    )
}

/// The var files of any stack and env that lie outside the repository, as the stacks name
/// them (`infra/api/../../../data/stg.tfvars`): `check` leaves them to their own repository.
pub fn outside_files(repo: &Repo, stacks: &[Stack]) -> BTreeSet<String> {
    let mut outside = BTreeSet::new();
    if !repo.all_patterns().any(|p| p.leaves_stack()) {
        return outside;
    }
    for stack in stacks {
        for env in &stack.envs {
            for file in repo.env_files_for(&stack.path, env) {
                if file.pattern.repo_path(env, &stack.path).is_none() {
                    outside.insert(join_display(&stack.path, Path::new(&file.of(stack, env))));
                }
            }
        }
    }
    outside
}

/// What `tfw check` found, and the stacks it looked at.
pub struct Checked {
    /// Sorted by path.
    pub problems: Vec<Problem>,
    /// Files tfw could not read where Terraform may (a backend block tfw then does not know).
    pub warnings: Vec<String>,
    pub stacks: Vec<Stack>,
}

/// Runs every check over the repository. A repository opened `with_content_ids` lets the
/// caches skip the stacks and files git's stat data vouch for.
pub fn check(repo: &Repo) -> anyhow::Result<Checked> {
    let settings = &repo.settings;
    // The kept results load while the repository is listed.
    let (listing, results_cache) = std::thread::scope(|scope| {
        let results = scope.spawn(|| ResultsCache::open(&repo.root));
        let listing = repo.listing();
        (listing, results.join().expect("results loader panicked"))
    });
    let listing = listing?;
    let stacks = repo.stacks(Presence::InGitOrOnDisk)?;
    if stacks.is_empty() {
        return Err(repo.no_stacks().into());
    }
    let stacks: Vec<Found> = stacks
        .into_iter()
        .map(|stack| Found {
            files: listing.subtree(listing_dir(&stack.path)),
            stack,
            dir: std::sync::Mutex::new(None),
        })
        .collect();
    // With `envs = […]` every stack has every env (a stack's own list narrows it); without,
    // each stack's envs are those it has any env file for, and each needs all of its files.
    let all_envs: Option<BTreeSet<String>> = settings
        .envs
        .as_ref()
        .map(|envs| envs.iter().cloned().collect());
    // Loaded by the first stack whose results are not kept: often none is.
    let parse_cache = std::sync::OnceLock::new();
    let shared_files = std::sync::Mutex::new(BTreeMap::new());
    let checker = Checker {
        repo,
        all_envs: &all_envs,
        cache: &parse_cache,
        results: &results_cache,
        shared_files: &shared_files,
    };
    let results = in_parallel(&stacks, |part| {
        part.iter()
            .map(|stack| checker.check_kept(stack))
            .collect::<Vec<_>>()
    });
    let mut problems = Vec::new();
    let mut states: Vec<StateUse> = Vec::new();
    let mut touched = Vec::new();
    let mut warnings = Vec::new();
    let mut fresh = Vec::new();
    let mut keys = Vec::new();
    let mut kept = Vec::new();
    for (out, parses, had) in results.into_iter().flatten() {
        problems.extend(out.problems);
        states.extend(out.states);
        touched.push(parses);
        warnings.extend(out.warnings);
        kept.push(matches!(had, Had::Kept(_)));
        keys.push(match &had {
            Had::Kept(key) => Some(*key),
            Had::Fresh(fresh) => fresh.as_ref().map(|fresh| fresh.key),
        });
        if let Had::Fresh(Some(entry)) = had {
            fresh.push(entry);
        }
    }
    if let Some(cache) = parse_cache.into_inner() {
        crate::cache::in_background(move || cache.save(touched));
    }
    let paths: Vec<&str> = stacks.iter().map(|s| s.stack.path.as_str()).collect();
    // Two stacks on one state: found from every stack's states, unless no stack changed.
    let all = results_cache::all_keys(paths.iter().copied().zip(keys.iter().map(Option::as_ref)));
    let shared = match all.as_ref().and_then(|all| results_cache.shared(all)) {
        Some(shared) if kept.iter().all(|k| *k) => shared.to_vec(),
        _ => {
            for (found, _) in stacks.iter().zip(&kept).filter(|(_, kept)| **kept) {
                states.extend(results_cache.states(&found.stack.path).unwrap_or_default());
            }
            shared_states(states)
        }
    };
    problems.extend(shared.iter().cloned());
    let (paths, shared) = (
        paths.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
        all.map(|all| (all, shared)),
    );
    crate::cache::in_background(move || results_cache.save(&paths, fresh, shared));
    // Only a file outside the stacks can be read by several (see `readers`).
    let mut problems = match problems.is_empty() {
        true => problems,
        false => merge_shared(problems, &readers(repo, &stacks)),
    };
    // `[check] skip`, repository-wide and per stack, by the names it knows kinds by.
    problems.retain(|p| {
        let skip_name = PROBLEM_KINDS
            .iter()
            .find(|(kind, _)| *kind == p.kind)
            .and_then(|(_, skip)| *skip);
        skip_name.is_none_or(|kind| settings.stack(&p.stack).checks(kind))
    });
    problems.sort();
    warnings.sort();
    Ok(Checked {
        problems,
        warnings,
        stacks: stacks.into_iter().map(|found| found.stack).collect(),
    })
}

/// The stacks that read each env file outside them (repository paths) of `stacks`, for any
/// of their envs: a file inside a stack is read by that stack alone.
fn readers(repo: &Repo, stacks: &[Found]) -> BTreeMap<String, BTreeSet<String>> {
    let mut readers: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for found in stacks {
        let stack = &found.stack;
        for env in &stack.envs {
            let files = repo.env_files_for(&stack.path, env);
            for file in files.iter().filter(|file| file.pattern.leaves_stack()) {
                if let Some(path) = file.pattern.repo_path(env, &stack.path) {
                    readers.entry(path).or_default().insert(stack.path.clone());
                }
            }
        }
    }
    readers
}

/// A problem in a file several stacks read, reported once naming them: a key is `undeclared`
/// there only when no stack that reads the file declares it (each reports it, then).
fn merge_shared(
    problems: Vec<Problem>,
    readers: &BTreeMap<String, BTreeSet<String>>,
) -> Vec<Problem> {
    let mut merged: BTreeMap<(String, Option<usize>, &'static str, String), Vec<Problem>> =
        BTreeMap::new();
    let mut out = Vec::new();
    for problem in problems {
        match readers.get(&problem.path).filter(|stacks| stacks.len() > 1) {
            Some(_) => merged
                .entry((
                    problem.path.clone(),
                    problem.line,
                    problem.kind,
                    problem.message.clone(),
                ))
                .or_default()
                .push(problem),
            None => out.push(problem),
        }
    }
    for ((path, _, kind, message), group) in merged {
        let stacks: BTreeSet<&str> = group.iter().map(|p| p.stack.as_str()).collect();
        let read_by = &readers[&path];
        if kind == "undeclared" && stacks.len() < read_by.len() {
            continue;
        }
        let envs: BTreeSet<&Option<String>> = group.iter().map(|p| &p.env).collect();
        let names: Vec<&str> = stacks.iter().copied().collect();
        let message = match kind {
            "undeclared" => message.replace(
                "not a variable of this stack",
                "not a variable of any stack that reads it",
            ),
            _ => message,
        };
        let first = &group[0];
        out.push(Problem {
            message: format!("{message} (read by {})", names.join(", ")),
            env: if envs.len() == 1 {
                first.env.clone()
            } else {
                None
            },
            ..first.clone()
        });
    }
    out
}

/// The problems of backend files that share a state with another one.
fn shared_states(mut states: Vec<StateUse>) -> Vec<Problem> {
    let mut problems = Vec::new();
    states.sort_unstable_by(|a, b| a.0.identity.cmp(&b.0.identity));
    for owners in states
        .chunk_by(|a, b| a.0.identity == b.0.identity)
        .filter(|owners| owners.len() > 1)
    {
        for (location, owner) in owners {
            // One file shared by stacks: the other stacks are named; one block shared by the
            // envs of a stack: the other envs.
            let others: Vec<String> = owners
                .iter()
                .filter(|o| {
                    (&o.1.path, &o.1.stack, &o.1.env) != (&owner.path, &owner.stack, &owner.env)
                })
                .map(
                    |o| match (o.1.path == owner.path, o.1.stack == owner.stack) {
                        (false, _) => o.1.path.clone(),
                        (true, false) => o.1.stack.clone(),
                        (true, true) => format!("its env {}", o.1.env.as_deref().unwrap_or("")),
                    },
                )
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            problems.push(Problem {
                message: format!(
                    "same state as {} ({}): one would overwrite the other",
                    others.join(", "),
                    location.shown
                ),
                ..owner.clone()
            });
        }
    }
    problems
}

/// How a stack's results were had: kept from an earlier run (by this key), or checked now
/// (with what to keep, when its inputs could be named).
enum Had {
    Kept(Key),
    Fresh(Option<Fresh>),
}

/// What checking some stacks found.
#[derive(Default)]
struct Out {
    problems: Vec<Problem>,
    states: Vec<StateUse>,
    touched: Touched,
    warnings: Vec<String>,
}

fn is_env_name(name: &str) -> bool {
    env_name::validate(name).is_ok()
}

/// Terraform's own auto-loaded var files match `{env}.tfvars` but name no env.
fn is_terraform_own(name: &str) -> bool {
    name == "terraform" || name.ends_with(".auto")
}

/// Why a file an env needs does not count as present, or `None` when it does: it must be in
/// the working tree (what terraform reads) and, in git, tracked (what the commit holds).
fn absence(status: Option<Status>, env: Option<&str>) -> Option<String> {
    let whose = match env {
        Some(env) => format!("env {env}"),
        None => "shared by all envs".to_string(),
    };
    let Some(status) = status else {
        return Some(format!("missing ({whose})"));
    };
    match status {
        Status::Tracked | Status::NotInGit | Status::SkipWorktree => None,
        Status::Deleted => Some(format!(
            "deleted in the working tree but still tracked ({whose}): restore it or `git rm` it"
        )),
        Status::Untracked => Some(format!(
            "exists but is not tracked by git ({whose}): git add it"
        )),
        Status::Ignored => Some(format!(
            "exists but is ignored by git ({whose}): commit it, or stop ignoring it"
        )),
    }
}

/// What every stack's check shares.
struct Checker<'a> {
    repo: &'a Repo,
    all_envs: &'a Option<BTreeSet<String>>,
    cache: &'a std::sync::OnceLock<ParseCache>,
    results: &'a ResultsCache,
    /// Var files outside the stacks as this run read them, by their real path: a file every
    /// stack reads (a tfscaffold `etc/global.tfvars`) is parsed once.
    shared_files: &'a std::sync::Mutex<BTreeMap<std::path::PathBuf, Option<variables::Values>>>,
}

impl Checker<'_> {
    fn parse_cache(&self) -> &ParseCache {
        self.cache.get_or_init(|| ParseCache::open(&self.repo.root))
    }

    /// A stack's results: kept ones when its inputs are unchanged, else checked (and returned
    /// with its key, to keep); and the parse cache entries they used.
    fn check_kept(&self, found: &Found) -> (Out, Kept, Had) {
        let named = std::cell::OnceCell::new();
        let named = || named.get_or_init(|| self.named(found));
        let key = self
            .outside_inputs(found, &named)
            .and_then(|outside| self.results.key(&found.stack.path, &found.files, &outside));
        if let Some(key) = &key
            && let Some(kept) = self.results.get(&found.stack.path, key)
        {
            let out = Out {
                problems: kept.problems,
                // Read only if some stack changed (see `shared_states`).
                states: Vec::new(),
                touched: Touched::default(),
                warnings: kept.warnings,
            };
            return (out, Kept::reused(kept.parsed), Had::Kept(*key));
        }
        let mut out = Out::default();
        self.check_stack(found, named(), &mut out);
        found.close();
        let touched = std::mem::take(&mut out.touched);
        let fresh = key.and_then(|key| {
            let results = (&out.problems[..], &out.states[..], &out.warnings[..]);
            Fresh::encode(&found.stack.path, key, results, touched.entries())
        });
        (out, touched.keep(), Had::Fresh(fresh))
    }

    /// The files outside the stack its env patterns name, for every env it could be checked
    /// for; `None` when one lies outside the repository (the disk, not the listing, would then
    /// tell).
    fn outside_inputs<'a>(
        &self,
        found: &Found,
        named: &dyn Fn() -> &'a BTreeSet<String>,
    ) -> Option<Vec<Input>> {
        let path = &found.stack.path;
        // Files below a symbolic link to a directory are not in the listing: the disk tells.
        if found
            .files
            .top_symlinks()
            .any(|link| found.stack.dir.join(link).is_dir())
        {
            return None;
        }
        if !self.repo.all_patterns().any(EnvPattern::leaves_stack) {
            return Some(Vec::new());
        }
        let listing = self.repo.listing().ok()?.subtree("");
        let config = self.repo.settings.stack(path);
        let own = config.own_envs();
        let envs: BTreeSet<String> = named()
            .iter()
            .cloned()
            .chain(self.all_envs.iter().flatten().cloned())
            .chain(own.into_iter().flatten().cloned())
            .chain(found.stack.envs.iter().cloned())
            .collect();
        let mut inputs = Vec::new();
        for env in &envs {
            let env_files = self.repo.env_files_for(path, env);
            for pattern in env_files
                .iter()
                .map(|f| f.pattern)
                .filter(|p| p.leaves_stack())
            {
                let file = pattern.repo_path(env, path)?;
                let name = pattern.path_for(env, path);
                let status = self
                    .repo
                    .input(&found.stack, &name.to_string_lossy())
                    .status;
                let id = listing.id_of(&file).copied();
                inputs.push((file, status, id));
            }
        }
        Some(inputs)
    }

    /// Env names from any `{env}` pattern's files in the stack, valid or not.
    fn named(&self, found: &Found) -> BTreeSet<String> {
        self.repo
            .env_files(&found.stack.path)
            .iter()
            .filter(|file| !file.pattern.leaves_stack())
            .flat_map(|file| {
                self.repo
                    .discover(file.pattern, &found.stack, &found.files, visible)
            })
            .filter(|e| !is_terraform_own(e))
            .collect()
    }

    /// Checks one stack; `named` are the env names its files give (see `named`).
    fn check_stack(&self, found: &Found, named: &BTreeSet<String>, out: &mut Out) {
        let settings = &self.repo.settings;
        let stack = &found.stack;
        let env_files = self.repo.env_files(&stack.path);
        let config = settings.stack(&stack.path);
        // Without a list, the envs its own files name, and those files outside it name.
        let expected: BTreeSet<&str> = match config.own_envs() {
            Some(envs) => envs.iter().map(String::as_str).collect(),
            None => match self.all_envs {
                Some(envs) => envs.iter().map(String::as_str).collect(),
                None => named
                    .iter()
                    .filter(|e| is_env_name(e))
                    .chain(&stack.envs)
                    .map(String::as_str)
                    .collect(),
            },
        };
        let problem = |kind, env: Option<&str>, relative: &str, message: String| Problem {
            path: join_display(&stack.path, Path::new(relative)),
            line: None,
            message,
            kind,
            stack: stack.path.clone(),
            env: env.map(str::to_string),
        };
        // The files of `name` in the working tree, relative to the stack.
        let files_of = |name: &str| -> Vec<String> {
            env_files
                .iter()
                .map(|file| file.pattern)
                .filter(|p| p.is_per_env() && !p.leaves_stack())
                .map(|p| p.file_for(name))
                .filter(|f| found.files.status(f).is_some_and(visible))
                .collect()
        };
        for name in named {
            if let Err(error) = env_name::validate(name) {
                for file in files_of(name) {
                    out.problems
                        .push(problem("env-name", Some(name), &file, error.to_string()));
                }
            } else if !expected.contains(name.as_str()) {
                let hint = env_name::suggest(name, expected.iter().copied())
                    .map_or(String::new(), |s| format!("; did you mean `{s}`?"));
                let known = expected.iter().copied().collect::<Vec<_>>().join(", ");
                for file in files_of(name) {
                    let message =
                        format!("env `{name}` is not expected here (envs: {known}){hint}");
                    out.problems
                        .push(problem("orphan", Some(name), &file, message));
                }
            }
        }
        let terraform = self.terraform_files(found, out);
        let backend_block = terraform.backend.clone();
        let mut shared_checked = BTreeSet::new();
        for env in &expected {
            // tfw.toml's `backend = { … }` over the file, and another workspace is another
            // state.
            let env_config = settings.stack_for(&stack.path, Some(env));
            let workspace = env_config
                .workspace(env)
                .unwrap_or_else(|| "default".to_string());
            let from_toml = backend::redact(&Attributes::new(env_config.backend_settings(env)));
            let state_key = |block: &Option<(String, Attributes)>, file: &Attributes| {
                let merged =
                    Attributes::new(file.iter().chain(from_toml.iter()).map(|(k, v)| match k {
                        "path" if block.as_ref().is_none_or(|(kind, _)| kind == "local") => {
                            (k, self.local_state_path(stack, v))
                        }
                        _ => (k, v.to_string()),
                    }));
                state_key(block, &merged, &stack.path).map(|key| key.in_workspace(&workspace))
            };
            let states_before = out.states.len();
            for env_file in &self.repo.env_files_for(&stack.path, env) {
                let pattern = env_file.pattern;
                if pattern.leaves_stack() {
                    let present = self.check_outside(found, env_file, env, &mut out.problems);
                    // A backend file shared by stacks: each stack's block holds its own key.
                    if let (true, Some(path)) = (env_file.backend, present) {
                        let bytes = std::fs::read(self.repo.root.join(&path)).unwrap_or_default();
                        match parse_attributes(&bytes, path.ends_with(".json")) {
                            Parsed::Attributes(attributes) => {
                                let attributes = backend::redact(&attributes);
                                if let Some(key) = state_key(&backend_block, &attributes) {
                                    let problem = Problem {
                                        path,
                                        line: None,
                                        message: String::new(),
                                        kind: "shared-state",
                                        stack: stack.path.clone(),
                                        env: Some(env.to_string()),
                                    };
                                    out.states.push((key, problem));
                                }
                            }
                            Parsed::Invalid(message) => out.problems.push(Problem {
                                path,
                                line: None,
                                message,
                                kind: "invalid",
                                stack: stack.path.clone(),
                                env: Some(env.to_string()),
                            }),
                            _ => {}
                        }
                    }
                    continue;
                }
                let relative = env_file.of(stack, env);
                let per_env = pattern.is_per_env();
                if !per_env && !shared_checked.insert(relative.clone()) {
                    continue;
                }
                let env_label = per_env.then_some(*env);
                let status = self.repo.input(stack, &relative).status;
                if env_file.optional && !status.is_some_and(visible) {
                    continue;
                }
                if let Some(mut message) = absence(status, env_label) {
                    // An env named only by a stray var file is likely a typo of a real one.
                    let real = stack.envs.iter().map(String::as_str).filter(|e| e != env);
                    if env_file.backend
                        && let Some(near) = env_name::suggest(env, real)
                    {
                        message.push_str(&format!("; did you mean `{near}`?"));
                    }
                    out.problems
                        .push(problem("missing", env_label, &relative, message));
                }
                // Content is the working tree's: what terraform reads.
                if !status.is_some_and(visible) {
                    continue;
                }
                let is_json = relative.ends_with(".json");
                let is_backend = env_file.backend;
                let purpose = match is_backend {
                    true => Purpose::Backend { json: is_json },
                    false => Purpose::VarFile { json: is_json },
                };
                let parsed = self.parsed(found, &relative, purpose, &mut out.touched, |bytes| {
                    match is_backend {
                        // Credentials never reach memory beyond this point, nor the cache.
                        true => match parse_attributes(bytes, is_json) {
                            Parsed::Attributes(attributes) => {
                                Parsed::Attributes(backend::redact(&attributes))
                            }
                            other => other,
                        },
                        false => variables::var_file(bytes, is_json),
                    }
                });
                match &*parsed {
                    Parsed::Invalid(message) => {
                        out.problems
                            .push(problem("invalid", env_label, &relative, message.clone()))
                    }
                    Parsed::Attributes(attributes) => {
                        if let Some(key) = state_key(&backend_block, attributes) {
                            out.states.push((
                                key,
                                problem("shared-state", env_label, &relative, String::new()),
                            ));
                        }
                    }
                    Parsed::Values(_) | Parsed::Terraform(..) | Parsed::Lock(_) => {}
                }
            }
            // No backend file (none configured, an optional one absent): the block alone says
            // where the env's state is.
            let has_file = self
                .repo
                .env_files_for(&stack.path, env)
                .iter()
                .any(|f| f.backend && !f.optional);
            if out.states.len() == states_before
                && !has_file
                && let Some(key) = state_key(&backend_block, &Attributes::default())
            {
                let place = terraform.backend_file.as_deref().unwrap_or(".");
                out.states.push((
                    key,
                    problem("shared-state", Some(env), place, String::new()),
                ));
            }
        }
        let names = found.files.names_in("", visible);
        let touched = &mut out.touched;
        let mut values_of = |relative: &str| {
            let inside = !Path::new(relative)
                .components()
                .any(|c| c == std::path::Component::ParentDir);
            // In the repository as git and the working tree tell, like every other input (see
            // `outside_inputs`); outside it, as the disk does.
            let input = self.repo.input(stack, relative);
            let on_disk = match input.path {
                Some(_) => input.status.is_some_and(Status::on_disk),
                None => input.exists,
            };
            if !on_disk {
                return Ok(None);
            }
            let is_json = relative.ends_with(".json");
            let purpose = Purpose::VarFile { json: is_json };
            let mut parse = || match &*self.parsed(found, relative, purpose, touched, |bytes| {
                variables::var_file(bytes, is_json)
            }) {
                Parsed::Values(values) => Some(values.clone()),
                _ => None,
            };
            if inside {
                return parse().map(Some).ok_or(());
            }
            let key = crate::paths::normalize(&stack.dir.join(relative));
            let known = self
                .shared_files
                .lock()
                .ok()
                .and_then(|m| m.get(&key).cloned());
            let values = match known {
                Some(values) => values,
                None => {
                    let values = parse();
                    if let Ok(mut memo) = self.shared_files.lock() {
                        memo.insert(key, values.clone());
                    }
                    values
                }
            };
            values.map(Some).ok_or(())
        };
        let declared_at = |variable: &str| declaration(stack, &names, variable);
        variables::check(
            &variables::Stack {
                stack,
                config: &self.repo.settings.stack(&stack.path),
                env_files: &|env| self.repo.env_files_for(&stack.path, env),
                declared: &terraform.variables,
                all_parsed: terraform.all_parsed,
                automatic: &names,
                declared_at: &declared_at,
            },
            &expected,
            &mut values_of,
            &mut out.problems,
        );
        if terraform.uses_providers && self.repo.settings.stack(&stack.path).checks("providers") {
            providers::check_lock(self, found, out);
        }
        for link in found.files.top_symlinks() {
            let Some(target) = self.repo.input(stack, link).target else {
                continue;
            };
            // What git holds but a sparse checkout leaves out of the working tree by design is
            // present, not broken.
            if !target.exists && target.status != Some(Status::SkipWorktree) {
                let to = std::fs::read_link(stack.dir.join(link)).unwrap_or_default();
                out.problems.push(problem(
                    "broken-symlink",
                    None,
                    link,
                    format!("broken symlink (points to {})", to.display()),
                ));
            }
        }
    }

    /// A local state `path` as the stack names it, made comparable: an absolute one or one
    /// through a symbolic link is turned into the path from the stack to where it really is
    /// in the repository (when its directory exists and lies there).
    fn local_state_path(&self, stack: &Stack, path: &str) -> String {
        let joined = stack.dir.join(path);
        let real = joined
            .parent()
            .and_then(|dir| dir.canonicalize().ok())
            .zip(joined.file_name())
            .map(|(dir, name)| dir.join(name));
        let root = self.repo.root.canonicalize().ok();
        match real.zip(root) {
            Some((real, root)) => match real.strip_prefix(&root) {
                Ok(inside) => {
                    let depth = match stack.path.as_str() {
                        "." => 0,
                        path => path.split('/').count(),
                    };
                    std::iter::repeat_n(std::path::Path::new(".."), depth)
                        .collect::<std::path::PathBuf>()
                        .join(inside)
                        .to_string_lossy()
                        .into_owned()
                }
                Err(_) => path.to_string(),
            },
            None => path.to_string(),
        }
    }

    /// Reports an env file outside the stack that is missing; its path from the root when
    /// it is there to read.
    fn check_outside(
        &self,
        found: &Found,
        file: &crate::repo::EnvFile,
        env: &str,
        problems: &mut Vec<Problem>,
    ) -> Option<String> {
        let pattern = file.pattern;
        let path = pattern.repo_path(env, &found.stack.path)?;
        let label = pattern.is_per_env().then_some(env);
        let status = self
            .repo
            .input(&found.stack, &file.of(&found.stack, env))
            .status;
        if file.optional && !status.is_some_and(visible) {
            return None;
        }
        match absence(status, label) {
            Some(message) => {
                problems.push(Problem {
                    path,
                    line: None,
                    message,
                    kind: "missing",
                    stack: found.stack.path.clone(),
                    env: label.map(str::to_string),
                });
                None
            }
            None => status.is_some_and(visible).then_some(path),
        }
    }

    fn parsed(
        &self,
        found: &Found,
        relative: &str,
        purpose: Purpose,
        touched: &mut Touched,
        parse: impl FnOnce(&[u8]) -> Parsed,
    ) -> std::sync::Arc<Parsed> {
        let read = || found.read(relative);
        self.parse_cache()
            .get(found.files.id_of(relative), purpose, read, touched, parse)
    }

    /// What the stack's terraform files say: its backend block and its variables.
    fn terraform_files(&self, found: &Found, out: &mut Out) -> Terraform {
        let mut terraform = Terraform {
            backend: None,
            backend_file: None,
            variables: BTreeMap::new(),
            all_parsed: true,
            uses_providers: false,
        };
        let names = found.files.names_in("", visible);
        for name in names
            .into_iter()
            .filter(|n| crate::repo::is_terraform_file(n))
        {
            let is_json = name.ends_with(".json");
            let purpose = Purpose::Terraform { json: is_json };
            match &*self.parsed(found, name, purpose, &mut out.touched, |bytes| {
                terraform_file(bytes, is_json)
            }) {
                Parsed::Terraform(backend, variables, uses_providers) => {
                    if terraform.backend.is_none() && backend.is_some() {
                        terraform.backend = backend.clone();
                        terraform.backend_file = Some(name.to_string());
                    }
                    terraform.variables.extend(variables.clone());
                    terraform.uses_providers |= uses_providers;
                }
                Parsed::Invalid(why) => {
                    terraform.all_parsed = false;
                    let path = join_display(&found.stack.path, Path::new(name));
                    out.warnings.push(format!(
                        "cannot read {path} ({why}): its backend and variables are not checked"
                    ));
                }
                _ => {}
            }
        }
        terraform
    }
}

/// Where `variable` is declared among the stack's `.tf` files (`names`): `path:line` from the
/// root. Read only for a problem's message, so not cached.
fn declaration(stack: &Stack, names: &[&str], variable: &str) -> Option<String> {
    let label = format!("\"{variable}\"");
    names
        .iter()
        .filter(|n| n.ends_with(".tf"))
        .find_map(|name| {
            let text = std::fs::read_to_string(stack.dir.join(name)).ok()?;
            let line = text.lines().position(|line| {
                line.trim_start()
                    .strip_prefix("variable")
                    .is_some_and(|rest| rest.trim_start().starts_with(&label))
            })?;
            Some(format!(
                "{}:{}",
                crate::repo::join_display(&stack.path, Path::new(name)),
                line + 1
            ))
        })
}

/// What a stack's terraform files say.
struct Terraform {
    backend: Option<(String, Attributes)>,
    /// The file holding the backend block, relative to the stack.
    backend_file: Option<String>,
    variables: BTreeMap<String, crate::lang::types::Declared>,
    /// Every file parsed: a variable tfw did not see could be declared in one that did not.
    all_parsed: bool,
    /// Some file needs a provider installed.
    uses_providers: bool,
}

/// A `.tf` or `.tf.json` file as check keeps it: its backend block (settings redacted) and
/// its variables.
fn terraform_file(bytes: &[u8], is_json: bool) -> Parsed {
    let text = String::from_utf8_lossy(bytes);
    if is_json {
        return match crate::lang::hcl::parse_json(&text) {
            Ok(value) => Parsed::Terraform(
                None,
                crate::lang::variables::declared_in_json(&value),
                crate::lang::hcl::uses_providers_json(&value),
            ),
            Err(e) => Parsed::Invalid(format!("line {}: invalid JSON: {e}", e.line())),
        };
    }
    match crate::lang::hcl::parse_body(&text) {
        Ok(body) => Parsed::Terraform(
            crate::lang::hcl::backend_in(&body)
                .map(|(kind, attributes)| (kind, backend::redact(&attributes))),
            crate::lang::variables::declared_in_body(&body),
            crate::lang::hcl::uses_providers(&body),
        ),
        Err(e) => Parsed::Invalid(crate::lang::hcl::parse_error(&e)),
    }
}

/// Where a backend config keeps state; `None` when it cannot be told.
fn state_key(
    block: &Option<(String, Attributes)>,
    file: &Attributes,
    stack_path: &str,
) -> Option<StateLocation> {
    // The file's settings override the block's, as `-backend-config` does.
    let mut settings: BTreeMap<&str, &str> = block.iter().flat_map(|(_, a)| a.iter()).collect();
    settings.extend(file.iter());
    let has = |key: &str| settings.contains_key(key);
    let kind = match block {
        Some((kind, _)) => kind.as_str(),
        None if has("path") => "local",
        None if has("storage_account_name") => "azurerm",
        None if has("bucket") && has("key") => "s3",
        None if has("bucket") => "gcs",
        None => "unknown",
    };
    backend::locate(kind, &settings, stack_path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_keys_by_backend_type() {
        let s3 = Some(("s3".to_string(), Attributes::of(&[("region", "eu")])));
        assert_eq!(
            state_key(&s3, &Attributes::of(&[("bucket", "b"), ("key", "k")]), "a")
                .unwrap()
                .shown,
            "s3 bucket=b key=k workspace_key_prefix=env:"
        );
        assert_eq!(
            state_key(&s3, &Attributes::of(&[("bucket", "b")]), "a"),
            None,
            "no key: cannot tell"
        );
        let local = Some(("local".to_string(), Attributes::default()));
        assert_eq!(
            state_key(
                &local,
                &Attributes::of(&[("path", "../b/state/x.tfstate")]),
                "a"
            )
            .unwrap()
            .shown,
            "local path=b/state/x.tfstate"
        );
        assert_eq!(
            state_key(&local, &Attributes::default(), "a")
                .unwrap()
                .shown,
            "local path=a/terraform.tfstate"
        );
        assert_eq!(
            state_key(
                &None,
                &Attributes::of(&[("bucket", "b"), ("prefix", "p")]),
                "."
            )
            .unwrap()
            .shown,
            "gcs bucket=b prefix=p"
        );
        let gcs_in_block = Some(("gcs".to_string(), Attributes::of(&[("bucket", "b")])));
        assert_eq!(
            state_key(&gcs_in_block, &Attributes::of(&[("prefix", "p")]), ".")
                .unwrap()
                .shown,
            "gcs bucket=b prefix=p"
        );
        let consul = Some(("consul".to_string(), Attributes::default()));
        assert_eq!(
            state_key(&consul, &Attributes::of(&[("path", "x")]), ".")
                .unwrap()
                .shown,
            "consul path=x, same settings"
        );
    }
}
