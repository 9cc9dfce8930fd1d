//! `tfw affected`: the (stack, env) pairs whose plan may change between two commits, each with
//! its reasons — for a CI matrix that plans only what a pull request touches.

use crate::error::Error;
use crate::graph;
use crate::repo::{Repo, Stack, join_display};
use crate::terraform::init_stamp;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// One affected pair.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Pair {
    pub stack: String,
    pub path: String,
    pub env: String,
    pub reasons: Vec<String>,
}

/// What changed and what it affects.
#[derive(Debug, Serialize)]
pub struct Affected {
    pub base: String,
    pub head: String,
    pub include: Vec<Pair>,
}

fn git(root: &Path, args: &[&str]) -> Result<String, Error> {
    let output = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .output()
        .map_err(|e| Error::Usage {
            message: format!("cannot run git: {e}"),
            help: "tfw affected needs git on PATH".into(),
        })?;
    if !output.status.success() {
        return Err(Error::Usage {
            message: format!(
                "`git {}` failed: {}",
                args.join(" "),
                String::from_utf8_lossy(&output.stderr).trim()
            ),
            help: "name the commits with --base REF (and --head REF)".into(),
        });
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// The default base: where HEAD left the remote's default branch.
fn default_base(root: &Path) -> Result<String, Error> {
    for branch in ["origin/HEAD", "origin/main", "origin/master"] {
        if let Ok(base) = git(root, &["merge-base", "HEAD", branch]) {
            return Ok(base.trim().to_string());
        }
    }
    Err(Error::Usage {
        message:
            "no remote default branch to compare with (origin/HEAD, origin/main, origin/master)"
                .into(),
        help: "name the commit to compare with: `tfw affected --base <REF>`".into(),
    })
}

/// The files that differ between `base` and `head` (the working tree, untracked files
/// included, when `head` is `None`), relative to the git top level.
fn changed_files(root: &Path, base: &str, head: Option<&str>) -> Result<BTreeSet<String>, Error> {
    let mut files: BTreeSet<String> = match head {
        Some(head) => git(root, &["diff", "--name-only", "--no-renames", base, head])?,
        None => git(root, &["diff", "--name-only", "--no-renames", base])?,
    }
    .lines()
    .map(String::from)
    .collect();
    if head.is_none() {
        files.extend(
            git(
                root,
                &["ls-files", "--others", "--exclude-standard", "--full-name"],
            )?
            .lines()
            .map(String::from),
        );
    }
    Ok(files)
}

/// A file of the stack itself: it matters to every env.
fn is_stack_file(name: &str) -> bool {
    crate::repo::is_terraform_file(name)
        || name == ".terraform.lock.hcl"
        || crate::variables::is_automatic(name)
}

/// The pairs `changed` (paths from the root) affects among `stacks`.
pub fn affected(
    repo: &Repo,
    stacks: &[Stack],
    changed: &BTreeSet<String>,
) -> Result<Vec<Pair>, Error> {
    let mut reasons: BTreeMap<(usize, String), Vec<String>> = BTreeMap::new();
    let settings_changed = changed.contains(crate::config::FILE_NAME);
    for (index, stack) in stacks.iter().enumerate() {
        let dir = if stack.path == "." {
            String::new()
        } else {
            format!("{}/", stack.path)
        };
        let own: Vec<&String> = changed
            .iter()
            .filter(|f| {
                f.strip_prefix(&dir)
                    .is_some_and(|name| !name.contains('/') && is_stack_file(name))
            })
            .collect();
        let modules: Vec<String> = init_stamp::repository_modules(&stack.dir)
            .unwrap_or_default()
            .iter()
            .filter_map(|m| {
                let path = crate::repo::paths::normalize(&Path::new(&stack.path).join(m));
                let path = path.to_str()?.to_string();
                (!path.starts_with("..")).then(|| format!("{path}/"))
            })
            .collect();
        let in_modules: Vec<&String> = changed
            .iter()
            .filter(|f| {
                modules.iter().any(|m| {
                    f.strip_prefix(m.as_str()).is_some_and(|name| {
                        !name.contains('/') && crate::repo::is_terraform_file(name)
                    })
                })
            })
            .collect();
        for env in &stack.envs {
            let mut why: Vec<String> = own
                .iter()
                .chain(&in_modules)
                .map(|f| f.to_string())
                .collect();
            for file in repo.env_files(&stack.path) {
                if let Some(path) = file.pattern.repo_path(env, &stack.path) {
                    let path = match file.backend {
                        true => join_display(&stack.path, Path::new(&file.of(stack, env))),
                        false => path,
                    };
                    if changed.contains(&path) {
                        why.push(path);
                    }
                }
            }
            if settings_changed {
                why.push(crate::config::FILE_NAME.to_string());
            }
            if !why.is_empty() {
                why.sort();
                why.dedup();
                reasons.insert((index, env.clone()), why);
            }
        }
    }
    // What depends on an affected pair is affected, for the same env.
    for (env, _, graph) in graph::by_env(repo, stacks, None) {
        let edges = graph?.edges;
        let index_of = |path: &str| stacks.iter().position(|s| s.path == path);
        loop {
            let mut added = false;
            for edge in &edges {
                let (Some(from), Some(to)) = (index_of(&edge.from), index_of(&edge.to)) else {
                    continue;
                };
                if reasons.contains_key(&(to, env.to_string())) {
                    let why = format!("depends on {}", stacks[to].name());
                    let entry = reasons.entry((from, env.to_string())).or_default();
                    if !entry.contains(&why) {
                        entry.push(why);
                        added = true;
                    }
                }
            }
            if !added {
                break;
            }
        }
    }
    Ok(reasons
        .into_iter()
        .map(|((index, env), reasons)| Pair {
            stack: stacks[index].name().to_string(),
            path: stacks[index].path.clone(),
            env,
            reasons,
        })
        .collect())
}

/// `tfw affected`: between `base` (default: the merge base with the remote's default branch)
/// and `head` (default: the working tree).
pub fn between(repo: &Repo, base: Option<&str>, head: Option<&str>) -> anyhow::Result<Affected> {
    let top = git(&repo.root, &["rev-parse", "--show-toplevel"])?;
    let top = Path::new(top.trim());
    let base = match base {
        Some(base) => base.to_string(),
        None => default_base(&repo.root)?,
    };
    // Paths from the git top level, made relative to the repository root.
    let prefix = repo
        .root
        .strip_prefix(top.canonicalize().unwrap_or_else(|_| top.to_path_buf()))
        .ok()
        .and_then(Path::to_str)
        .filter(|p| !p.is_empty())
        .map(|p| format!("{p}/"))
        .unwrap_or_default();
    let changed: BTreeSet<String> = changed_files(&repo.root, &base, head)?
        .into_iter()
        .filter_map(|f| f.strip_prefix(&prefix).map(String::from))
        .collect();
    let stacks = repo.stacks(crate::repo::Presence::OnDisk)?;
    Ok(Affected {
        base,
        head: head.unwrap_or("working tree").to_string(),
        include: affected(repo, &stacks, &changed)?,
    })
}
