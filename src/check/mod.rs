//! `tfw check`: every stack has every env's files, nothing points two envs at one state, env
//! files parse, env names are valid, no symlink is broken. No terraform, no network, no init.

pub mod parse_cache;

use crate::check::parse_cache::{ParseCache, Touched};
use crate::config::env_name;
use crate::config::pattern::EnvPattern;
use crate::repo::Repo;
use crate::repo::listing::{Listing, Subtree};
use crate::repo::paths;
use crate::terraform::hcl::{Attributes, Parsed};
use crate::terraform::hcl::{backend_of, parse_attributes};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Problem {
    /// Relative to the repository root.
    pub path: String,
    pub message: String,
    /// `missing`, `orphan`, `shared-state`, `invalid`, `env-name`, `broken-symlink`.
    pub kind: &'static str,
    /// The stack's path (`.` for the root).
    pub stack: String,
    pub env: Option<String>,
}

/// A stack as seen in the listing: its files and the envs its files name.
struct Found<'a> {
    /// Relative to the root, `""` for the root itself.
    dir: &'a str,
    files: Subtree<'a>,
    /// Env names from any `{env}` pattern's files, valid or not.
    named: BTreeSet<String>,
}

/// A backend file's state location, and the problem to report if another file shares it.
type StateUse = (String, Problem);

/// Runs every check over the repository; problems come sorted by path.
pub fn check(repo: &Repo) -> anyhow::Result<Vec<Problem>> {
    let settings = &repo.settings;
    let mut exclude = globset::GlobSetBuilder::new();
    for glob in &settings.exclude {
        exclude.add(globset::Glob::new(glob)?);
    }
    let exclude = exclude.build()?;
    let patterns: Vec<&EnvPattern> = std::iter::once(&settings.backend_config)
        .chain(&settings.var_files)
        .collect();
    let suffixes: Vec<&str> = patterns
        .iter()
        .map(|p| p.name_suffix())
        .chain([".tf", ".tf.json"])
        .collect();
    // Most files of a big repository end in a byte no suffix ends in: one comparison each.
    let last_bytes: Vec<u8> = suffixes
        .iter()
        .filter_map(|s| s.as_bytes().last().copied())
        .collect();
    let relevant = |path: &str| {
        path.as_bytes()
            .last()
            .is_some_and(|b| last_bytes.contains(b) || suffixes.contains(&""))
            && suffixes.iter().any(|s| path.ends_with(s))
    };
    // The cache loads while the repository is listed.
    let (listing, cache) = std::thread::scope(|scope| {
        let cache = scope.spawn(|| ParseCache::open(&repo.root));
        let listing = Listing::read(&repo.root, &exclude, &relevant);
        (listing, cache.join().expect("cache loader panicked"))
    });
    let listing = listing?;
    let stacks: Vec<Found> = in_parallel(&stack_dirs(&listing), |dirs| {
        find_stacks(&listing, dirs, &settings.backend_config, &patterns)
    })
    .into_iter()
    .flatten()
    .collect();
    // Without an explicit list, the root stack's envs are every stack's (a sub-stack's extra
    // env is then a typo to report); without a root stack, every env some stack has.
    let all_envs: BTreeSet<String> =
        match (&settings.envs, stacks.iter().find(|s| s.dir.is_empty())) {
            (Some(envs), _) => envs.iter().cloned().collect(),
            (None, Some(root)) => root
                .named
                .iter()
                .filter(|e| is_env_name(e))
                .cloned()
                .collect(),
            (None, None) => stacks
                .iter()
                .flat_map(|s| s.named.iter())
                .filter(|e| is_env_name(e))
                .cloned()
                .collect(),
        };
    let checker = Checker {
        repo,
        patterns: &patterns,
        all_envs: &all_envs,
        cache: &cache,
    };
    let results = in_parallel(&stacks, |part| {
        let (mut problems, mut states, mut touched) = (Vec::new(), Vec::new(), Touched::default());
        for stack in part {
            checker.check_stack(stack, &mut problems, &mut states, &mut touched);
        }
        (problems, states, touched)
    });
    let mut problems = Vec::new();
    let mut states: Vec<StateUse> = Vec::new();
    let mut touched = Vec::new();
    for (found, used, part) in results {
        problems.extend(found);
        states.extend(used);
        touched.push(part);
    }
    cache.save(touched);
    states.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    for owners in states
        .chunk_by(|a, b| a.0 == b.0)
        .filter(|owners| owners.len() > 1)
    {
        for (key, owner) in owners {
            let others: Vec<&str> = owners
                .iter()
                .filter(|o| o.1.path != owner.path)
                .map(|o| o.1.path.as_str())
                .collect();
            problems.push(Problem {
                message: format!(
                    "same state as {} ({key}): one would overwrite the other",
                    others.join(", ")
                ),
                ..owner.clone()
            });
        }
    }
    problems.sort();
    Ok(problems)
}

/// `work` over `items` split among the machine's cores, results in order.
fn in_parallel<T: Sync, R: Send>(items: &[T], work: impl Fn(&[T]) -> R + Sync) -> Vec<R> {
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = items.len().div_ceil(workers).max(1);
    std::thread::scope(|scope| {
        let work = &work;
        let handles: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || work(part)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("check worker panicked"))
            .collect()
    })
}

fn is_env_name(name: &str) -> bool {
    env_name::validate(name).is_ok()
}

fn is_terraform_file(path: &str) -> bool {
    path.ends_with(".tf") || path.ends_with(".tf.json")
}

/// Terraform's own auto-loaded var files match `{env}.tfvars` but name no env.
fn is_terraform_own(name: &str) -> bool {
    name == "terraform" || name.ends_with(".auto")
}

/// The directories holding a `.tf` or `.tf.json` file.
fn stack_dirs(listing: &Listing) -> Vec<&str> {
    let mut dirs: Vec<&str> = listing
        .paths()
        .filter(|f| is_terraform_file(f))
        .map(|f| f.rfind('/').map_or("", |i| &f[..i]))
        .collect();
    dirs.dedup();
    dirs.sort_unstable();
    dirs.dedup();
    dirs
}

/// Of `dirs`, the stacks: those with the backend config of at least one env.
fn find_stacks<'a>(
    listing: &'a Listing,
    dirs: &[&'a str],
    backend: &EnvPattern,
    patterns: &[&EnvPattern],
) -> Vec<Found<'a>> {
    dirs.iter()
        .filter_map(|dir| {
            let files = listing.subtree(dir);
            let discover = |pattern: &EnvPattern| {
                pattern.discover_with(|sub| files.names_in(sub), |file| files.contains(file))
            };
            if discover(backend).is_empty() {
                return None;
            }
            let named = patterns
                .iter()
                .flat_map(|p| discover(p))
                .filter(|e| !is_terraform_own(e))
                .collect();
            Some(Found { dir, files, named })
        })
        .collect()
}

/// `dir/file`, or `file` in the root.
fn join(dir: &str, file: &str) -> String {
    if dir.is_empty() {
        file.to_string()
    } else {
        format!("{dir}/{file}")
    }
}

/// What every stack's check shares.
struct Checker<'a> {
    repo: &'a Repo,
    patterns: &'a [&'a EnvPattern],
    all_envs: &'a BTreeSet<String>,
    cache: &'a ParseCache,
}

impl Checker<'_> {
    fn check_stack(
        &self,
        stack: &Found,
        problems: &mut Vec<Problem>,
        states: &mut Vec<StateUse>,
        touched: &mut Touched,
    ) {
        let settings = &self.repo.settings;
        let stack_path = if stack.dir.is_empty() {
            ".".to_string()
        } else {
            stack.dir.to_string()
        };
        let expected: BTreeSet<&str> = match settings
            .stacks
            .get(&stack_path)
            .and_then(|s| s.envs.as_ref())
        {
            Some(envs) => envs.iter().map(String::as_str).collect(),
            None => self.all_envs.iter().map(String::as_str).collect(),
        };
        let problem = |kind, env: Option<&str>, relative: &str, message: String| Problem {
            path: join(stack.dir, relative),
            message,
            kind,
            stack: stack_path.clone(),
            env: env.map(str::to_string),
        };
        // The files of `name` that exist, relative to the stack.
        let files_of = |name: &str| -> Vec<String> {
            self.patterns
                .iter()
                .filter(|p| p.is_per_env())
                .map(|p| p.file_for(name))
                .filter(|f| stack.files.contains(f))
                .collect()
        };
        for name in &stack.named {
            if let Err(error) = env_name::validate(name) {
                for file in files_of(name) {
                    problems.push(problem("env-name", Some(name), &file, error.to_string()));
                }
            } else if !expected.contains(name.as_str()) {
                let hint = env_name::suggest(name, expected.iter().copied())
                    .map_or(String::new(), |s| format!("; did you mean `{s}`?"));
                let known = expected.iter().copied().collect::<Vec<_>>().join(", ");
                for file in files_of(name) {
                    let message =
                        format!("env `{name}` is not expected here (envs: {known}){hint}");
                    problems.push(problem("orphan", Some(name), &file, message));
                }
            }
        }
        let backend_block = self.backend_block(stack, touched);
        let mut shared_checked = BTreeSet::new();
        for env in &expected {
            for pattern in self.patterns {
                let relative = pattern.file_for(env);
                let per_env = pattern.is_per_env();
                if !per_env && !shared_checked.insert(relative.clone()) {
                    continue;
                }
                let env_label = per_env.then_some(*env);
                if !stack.files.contains(&relative) {
                    let message = match env_label {
                        Some(env) => format!("missing (env {env})"),
                        None => "missing (shared by all envs)".to_string(),
                    };
                    problems.push(problem("missing", env_label, &relative, message));
                    continue;
                }
                let is_json = relative.ends_with(".json");
                let is_backend = std::ptr::eq(*pattern, &settings.backend_config);
                let parsed = self.parsed(stack, &relative, touched, |bytes| {
                    match parse_attributes(bytes, is_json) {
                        // A var file's values are not needed: remember only that it parses.
                        Parsed::Attributes(_) if !is_backend => Parsed::Valid,
                        other => other,
                    }
                });
                match &*parsed {
                    Parsed::Invalid(message) => {
                        problems.push(problem("invalid", env_label, &relative, message.clone()))
                    }
                    Parsed::Attributes(attributes) => {
                        if let Some(key) = state_key(&backend_block, attributes, stack.dir) {
                            states.push((
                                key,
                                problem("shared-state", env_label, &relative, String::new()),
                            ));
                        }
                    }
                    Parsed::Valid | Parsed::Backend(_) => {}
                }
            }
        }
        for link in stack.files.top_symlinks() {
            let path = self.repo.root.join(join(stack.dir, link));
            if !path.exists() {
                let target = std::fs::read_link(&path)
                    .map(|t| t.display().to_string())
                    .unwrap_or_default();
                problems.push(problem(
                    "broken-symlink",
                    None,
                    link,
                    format!("broken symlink (points to {target})"),
                ));
            }
        }
    }

    fn parsed<'c>(
        &'c self,
        stack: &Found,
        relative: &str,
        touched: &mut Touched,
        parse: impl FnOnce(&[u8]) -> Parsed,
    ) -> std::borrow::Cow<'c, Parsed> {
        let file = || self.repo.root.join(join(stack.dir, relative));
        self.cache
            .get(stack.files.id_of(relative), file, touched, parse)
    }

    /// The stack's `backend "<type>"` block: its type and literal attributes.
    fn backend_block(&self, stack: &Found, touched: &mut Touched) -> Option<(String, Attributes)> {
        stack
            .files
            .names_in("")
            .into_iter()
            .filter(|n| n.ends_with(".tf"))
            .find_map(
                |name| match &*self.parsed(stack, name, touched, backend_of) {
                    Parsed::Backend(found) => found.clone(),
                    _ => None,
                },
            )
    }
}

/// Where a backend config keeps state, as a comparable string; `None` when it cannot be told.
fn state_key(
    block: &Option<(String, Attributes)>,
    file: &Attributes,
    stack_dir: &str,
) -> Option<String> {
    let block_attributes = block.as_ref().map(|(_, a)| a);
    // The file's settings override the block's, as `-backend-config` does.
    let get = |key: &str| file.get(key).or_else(|| block_attributes?.get(key));
    let has = |key: &str| get(key).is_some();
    let kind = match block {
        Some((kind, _)) => kind.as_str(),
        None if has("path") => "local",
        None if has("storage_account_name") => "azurerm",
        None if has("bucket") && has("key") => "s3",
        None if has("bucket") => "gcs",
        None => "unknown",
    };
    let fields = |keys: &[&str]| -> Option<String> {
        keys.iter()
            .map(|k| Some(format!("{k}={}", get(k)?)))
            .collect::<Option<Vec<_>>>()
            .map(|v| v.join(" "))
    };
    let key = match kind {
        "s3" => {
            let prefix = get("workspace_key_prefix").unwrap_or("env:");
            format!(
                "s3 {} workspace_key_prefix={prefix}",
                fields(&["bucket", "key"])?
            )
        }
        "gcs" => format!("gcs {}", fields(&["bucket", "prefix"])?),
        "azurerm" => format!(
            "azurerm {}",
            fields(&["storage_account_name", "container_name", "key"])?
        ),
        "local" => {
            let path = Path::new(stack_dir).join(get("path").unwrap_or("terraform.tfstate"));
            format!("local path={}", paths::normalize(&path).display())
        }
        other => {
            let mut merged: BTreeMap<&str, &str> =
                block_attributes.iter().flat_map(|a| a.iter()).collect();
            merged.extend(file.iter());
            if merged.is_empty() {
                return None;
            }
            let settings: Vec<String> = merged.iter().map(|(k, v)| format!("{k}={v}")).collect();
            format!("{other} {}", settings.join(" "))
        }
    };
    Some(key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(pairs: &[(&str, &str)]) -> Attributes {
        Attributes::new(pairs.iter().map(|(k, v)| (*k, v.to_string())))
    }

    #[test]
    fn state_keys_by_backend_type() {
        let s3 = Some(("s3".to_string(), attrs(&[("region", "eu")])));
        assert_eq!(
            state_key(&s3, &attrs(&[("bucket", "b"), ("key", "k")]), "a").unwrap(),
            "s3 bucket=b key=k workspace_key_prefix=env:"
        );
        assert_eq!(
            state_key(&s3, &attrs(&[("bucket", "b")]), "a"),
            None,
            "no key: cannot tell"
        );
        let local = Some(("local".to_string(), Attributes::default()));
        assert_eq!(
            state_key(&local, &attrs(&[("path", "../b/state/x.tfstate")]), "a").unwrap(),
            "local path=b/state/x.tfstate"
        );
        assert_eq!(
            state_key(&local, &Attributes::default(), "a").unwrap(),
            "local path=a/terraform.tfstate"
        );
        assert_eq!(
            state_key(&None, &attrs(&[("bucket", "b"), ("prefix", "p")]), "").unwrap(),
            "gcs bucket=b prefix=p"
        );
        let gcs_in_block = Some(("gcs".to_string(), attrs(&[("bucket", "b")])));
        assert_eq!(
            state_key(&gcs_in_block, &attrs(&[("prefix", "p")]), "").unwrap(),
            "gcs bucket=b prefix=p"
        );
        let consul = Some(("consul".to_string(), Attributes::default()));
        assert_eq!(
            state_key(&consul, &attrs(&[("path", "x")]), "").unwrap(),
            "consul path=x"
        );
    }
}
