//! `tfw affected`: the (stack, env) pairs whose plan may change between two commits, each with
//! its reasons — for a CI matrix that plans only what a pull request touches.

mod model_cache;

use crate::config::Settings;
use crate::error::Error;
use crate::parallel::in_parallel;
use crate::repo::git_index::{self, GitDir, ObjectId};
use crate::repo::graph;
use crate::repo::{Repo, Stack};
use anyhow::Context as _;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
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
    /// What the user should know of how the answer was found.
    #[serde(skip)]
    pub notes: Vec<String>,
}

fn cannot_run(e: &std::io::Error) -> Error {
    Error::Usage {
        message: format!("cannot run git: {e}"),
        help: "tfw affected needs git on PATH".into(),
    }
}

fn failed(command: &str, stderr: &[u8]) -> Error {
    Error::Usage {
        message: format!(
            "`git {command}` failed: {}",
            String::from_utf8_lossy(stderr).trim()
        ),
        help: "name the commits with --base REF (and --head REF)".into(),
    }
}

/// The default base: where HEAD left the remote's default branch. `base_option` is how the
/// user names another (`--base <REF>`, `--affected=REF`).
fn default_base(root: &Path, base_option: &str) -> Result<String, Error> {
    for branch in ["origin/HEAD", "origin/main", "origin/master"] {
        if let Ok(Some(base)) = spawn_git(root, &["merge-base", "HEAD", branch])
            .and_then(Running::wait)
            .map(|lines| lines.into_iter().next())
        {
            return Ok(base);
        }
    }
    Err(Error::Usage {
        message:
            "no remote default branch to compare with (origin/HEAD, origin/main, origin/master)"
                .into(),
        help: format!("name the commit to compare with: `{base_option}`"),
    })
}

/// Git's answers, on their way: each a command's lines.
struct Running {
    children: Vec<(std::process::Child, String)>,
}

impl Running {
    /// Every command's lines, in order.
    fn wait(self) -> Result<Vec<String>, Error> {
        let mut lines = Vec::new();
        for (child, command) in self.children {
            let output = child.wait_with_output().map_err(|e| cannot_run(&e))?;
            if !output.status.success() {
                return Err(failed(&command, &output.stderr));
            }
            lines.extend(
                String::from_utf8_lossy(&output.stdout)
                    .lines()
                    .map(String::from),
            );
        }
        Ok(lines)
    }
}

/// Starts `git args` in `root`, its output read by `Running::wait`.
fn spawn_git(root: &Path, args: &[&str]) -> Result<Running, Error> {
    let child = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| cannot_run(&e))?;
    Ok(Running {
        children: vec![(child, args.join(" "))],
    })
}

/// The model of the stacks in git's `tree` (the work tree's top level's), for a head the working
/// tree does not hold: the tree is checked out into a temporary directory through an index of
/// its own (the repository's index and working tree are not touched), and the repository at
/// `prefix` in it is read as the working tree's would be.
fn model_of_tree(work_tree: &GitDir, tree: &ObjectId, prefix: &str) -> anyhow::Result<Model> {
    let dir = tempfile::tempdir().context("creating a directory to read the head's tree in")?;
    let checkout = dir.path().join("tree");
    let index = dir.path().join("index");
    let hex: String = tree.iter().map(|b| format!("{b:02x}")).collect();
    let prefixed = format!("--prefix={}/", checkout.display());
    for args in [
        &["read-tree", &hex][..],
        &["checkout-index", "-a", &prefixed],
    ] {
        let output = Command::new("git")
            .arg("-C")
            .arg(&work_tree.top)
            .args(args)
            .env("GIT_INDEX_FILE", &index)
            .output()
            .map_err(|e| cannot_run(&e))?;
        anyhow::ensure!(
            output.status.success(),
            "git {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    let root = checkout.join(prefix.trim_end_matches('/'));
    std::fs::create_dir_all(&root)?;
    let model = Repo::open(&root).and_then(|repo| {
        Ok(Model::of(
            &repo,
            &repo.stacks(crate::repo::Presence::OnDisk)?,
        )?)
    });
    model.map_err(|error| named_in_tree(error, &checkout))
}

/// An error about a file of the head's tree names it as the repository does (`tfw.toml`), not
/// by the temporary directory it was read in, which is gone once tfw exits.
fn named_in_tree(error: anyhow::Error, checkout: &Path) -> anyhow::Error {
    let mut error = match error.downcast::<Error>() {
        Ok(error) => error,
        Err(error) => return error,
    };
    if let Error::Config { path, .. }
    | Error::MissingFile { path, .. }
    | Error::Unreadable { path, .. } = &mut error
        && let Ok(relative) = path.strip_prefix(checkout)
    {
        *path = relative.to_path_buf();
    }
    error.into()
}

/// Starts git on the files that differ between `base` and `head` (the working tree, untracked
/// files included, when `head` is `None`).
fn changed_files(root: &Path, base: &str, head: Option<&str>) -> Result<Running, Error> {
    let mut commands: Vec<Vec<&str>> = vec![["diff", "--name-only", "--no-renames", base].into()];
    match head {
        Some(head) => commands[0].push(head),
        None => commands.push(vec![
            "ls-files",
            "--others",
            "--exclude-standard",
            "--full-name",
        ]),
    }
    let mut running = Running {
        children: Vec::new(),
    };
    for args in commands {
        running.children.extend(spawn_git(root, &args)?.children);
    }
    Ok(running)
}

/// Whether tfw.toml changed what the stack at a path runs with for an env.
type SettingsChanged<'a> = &'a dyn Fn(&str, &str) -> bool;

/// A model's answer to a set of changed paths.
type Answer<'a> = &'a dyn Fn(&BTreeSet<String>, SettingsChanged) -> Vec<Pair>;

/// A file of the stack itself: it matters to every env.
fn is_stack_file(name: &str) -> bool {
    crate::repo::is_terraform_file(name)
        || name == crate::repo::LOCK_FILE
        || crate::lang::variables::is_automatic(name)
}

/// What `affected` needs to know of the repository: each stack and what its pairs depend on,
/// and each env's edges. Pure data, so that it can be kept for a commit's tree.
/// Its text is owned when built, borrowed from the cache file when read back.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(bound(deserialize = "S: serde::Deserialize<'de> + Ord"))]
pub struct Model<S = String> {
    stacks: Vec<StackModel<S>>,
    /// By env: (dependent, dependency), indices into `stacks`.
    edges: BTreeMap<S, Vec<(usize, usize)>>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
struct StackModel<S> {
    name: S,
    path: S,
    /// Each env with its own files (backend and var files), by path from the root.
    envs: Vec<(S, Vec<S>)>,
    /// The repository's local modules the stack calls, transitively: `dir/` from the root.
    modules: Vec<S>,
}

impl Model {
    /// The model of `stacks` as the working tree has them, from the repository's inputs model:
    /// each env's files with the targets of every link its plan reads through.
    pub fn of(repo: &Repo, stacks: &[Stack]) -> Result<Self, Error> {
        let refs: Vec<&Stack> = stacks.iter().collect();
        let sources = graph::read_sources(repo, &refs);
        let indices: Vec<usize> = (0..stacks.len()).collect();
        let models: Vec<StackModel<String>> = in_parallel(&indices, |part| {
            part.iter()
                .map(|&i| stack_model(repo, &stacks[i], &sources[i].files))
                .collect::<Vec<_>>()
        })
        .into_iter()
        .flatten()
        .collect();
        let mut model = Model {
            stacks: models,
            ..Model::default()
        };
        let index: HashMap<&str, usize> = stacks
            .iter()
            .enumerate()
            .map(|(i, s)| (s.path.as_str(), i))
            .collect();
        let index_of = |path: &str| index.get(path).copied();
        for (env, _, graph) in graph::by_env_read(repo, stacks, None, &sources) {
            let edges = graph?
                .edges
                .iter()
                .filter_map(|edge| Some((index_of(&edge.from)?, index_of(&edge.to)?)))
                .collect();
            model.edges.insert(env.to_string(), edges);
        }
        Ok(model)
    }
}

/// What one stack's pairs depend on, from its inputs.
fn stack_model(repo: &Repo, stack: &Stack, sources: &[(String, String)]) -> StackModel<String> {
    let inputs = repo.inputs(stack);
    // Most stacks call no module: a byte search spares them the parse.
    let modules = match sources.iter().any(|(_, t)| t.contains("module")) {
        true => repo.modules(stack, sources).unwrap_or_default(),
        false => Vec::new(),
    };
    // Files outside the stack's directory read in every env: link targets.
    let mut shared: Vec<&str> = inputs.targets().collect();
    shared.extend(
        modules
            .iter()
            .flat_map(|m| m.files.iter().flatten())
            .filter_map(|f| f.target_path()),
    );
    let envs = inputs
        .envs
        .iter()
        .map(|env| {
            let mut files = env.paths();
            files.extend(shared.iter().map(|f| f.to_string()));
            files.sort();
            files.dedup();
            (env.env.clone(), files)
        })
        .collect();
    StackModel {
        name: stack.name().to_string(),
        path: stack.path.clone(),
        envs,
        modules: modules
            .iter()
            .filter_map(|m| m.path.as_deref())
            .map(|path| match path {
                "" => String::new(),
                path => format!("{path}/"),
            })
            .collect(),
    }
}

impl<S: AsRef<str> + Ord> Model<S> {
    /// Whether this model, made for the tree git's index holds, is also the model of a working
    /// tree whose `unstaged` files (see `Listing::unstaged`) differ from it and that has
    /// `stacks`: the same stacks with the same envs, and none of them reads an unstaged file.
    fn holds_despite(&self, stacks: &[Stack], unstaged: &[&str]) -> bool {
        let same_stacks = self.stacks.len() == stacks.len()
            && self.stacks.iter().zip(stacks).all(|(kept, stack)| {
                kept.path.as_ref() == stack.path
                    && kept.name.as_ref() == stack.name()
                    && kept
                        .envs
                        .iter()
                        .map(|(env, _)| env.as_ref())
                        .eq(stack.envs.iter())
            });
        let dirs: HashSet<&str> = self
            .stacks
            .iter()
            .map(|s| crate::repo::listing_dir(s.path.as_ref()))
            .chain(self.stacks.iter().flat_map(|s| {
                s.modules
                    .iter()
                    .map(|m| m.as_ref().strip_suffix('/').unwrap_or_default())
            }))
            .collect();
        let files: HashSet<&str> = self
            .stacks
            .iter()
            .flat_map(|s| s.envs.iter().flat_map(|(_, files)| files))
            .map(AsRef::as_ref)
            .collect();
        same_stacks
            && unstaged.iter().all(|path| {
                let dir = path.rfind('/').map_or("", |i| &path[..i]);
                *path != crate::config::FILE_NAME && !dirs.contains(dir) && !files.contains(path)
            })
    }

    /// The pairs `changed` (paths from the root) affects; `settings(path, env)` says whether
    /// tfw.toml changed what the stack at `path` runs with for `env`.
    pub fn affected(&self, changed: &BTreeSet<String>, settings: SettingsChanged) -> Vec<Pair> {
        let changed: HashSet<&str> = changed.iter().map(String::as_str).collect();
        let mut reasons: BTreeMap<(usize, &str), Vec<String>> = BTreeMap::new();
        for (index, stack) in self.stacks.iter().enumerate() {
            let path = stack.path.as_ref();
            let own = changed.iter().filter(|f| {
                let name = match path {
                    "." => Some(**f),
                    dir => f.strip_prefix(dir).and_then(|f| f.strip_prefix('/')),
                };
                name.is_some_and(|name| !name.contains('/') && is_stack_file(name))
            });
            let in_modules = changed.iter().filter(|f| {
                stack.modules.iter().any(|m| {
                    f.strip_prefix(m.as_ref()).is_some_and(|name| {
                        !name.contains('/') && crate::repo::is_terraform_file(name)
                    })
                })
            });
            let shared: Vec<&&str> = own.chain(in_modules).collect();
            for (env, files) in &stack.envs {
                let mut why: Vec<String> = shared.iter().map(|f| f.to_string()).collect();
                why.extend(
                    files
                        .iter()
                        .map(AsRef::as_ref)
                        .filter(|f| changed.contains(f))
                        .map(String::from),
                );
                if settings(path, env.as_ref()) {
                    why.push(crate::config::FILE_NAME.to_string());
                }
                if !why.is_empty() {
                    why.sort();
                    why.dedup();
                    reasons.insert((index, env.as_ref()), why);
                }
            }
        }
        // What depends on an affected pair is affected, for the same env, through any number
        // of stacks: a fixed point over the reverse graph, whatever order edges come in.
        for (env, edges) in &self.edges {
            let env = env.as_ref();
            let mut dependents: HashMap<usize, Vec<usize>> = HashMap::new();
            for &(from, to) in edges {
                dependents.entry(to).or_default().push(from);
            }
            let mut pending: Vec<usize> = reasons
                .keys()
                .filter(|(_, e)| *e == env)
                .map(|(index, _)| *index)
                .collect();
            while let Some(to) = pending.pop() {
                let why = format!("depends on {}", self.stacks[to].name.as_ref());
                for &from in dependents.get(&to).into_iter().flatten() {
                    let newly = !reasons.contains_key(&(from, env));
                    let entry = reasons.entry((from, env)).or_default();
                    if !entry.contains(&why) {
                        entry.push(why.clone());
                    }
                    if newly {
                        pending.push(from);
                    }
                }
            }
        }
        // Each pair's own files first, then what it depends on, each part sorted.
        for why in reasons.values_mut() {
            why.sort_by_key(|w| (w.starts_with("depends on "), w.clone()));
        }
        reasons
            .into_iter()
            .map(|((index, env), reasons)| Pair {
                stack: self.stacks[index].name.as_ref().to_string(),
                path: self.stacks[index].path.as_ref().to_string(),
                env: env.to_string(),
                reasons,
            })
            .collect()
    }
}

/// `tfw affected`: between `base` (default: the merge base with the remote's default branch)
/// and `head` (default: the working tree). With a `head` commit whose tree the working tree
/// holds, the model is kept for that commit: the next run for it only asks git what changed.
/// With the working tree as head, the model is kept for the tree it holds, when it holds one
/// (a repository opened `with_content_ids` can tell).
/// `base_option` names the option that sets `base`, for the hint when there is no default.
pub fn between(
    repo: &Repo,
    base: Option<&str>,
    head: Option<&str>,
    base_option: &str,
) -> anyhow::Result<Affected> {
    let Some(work_tree) = git_index::locate(&repo.root) else {
        return Err(Error::Usage {
            message: format!("{} is not in a git repository", repo.root.display()),
            help: "tfw affected compares commits: run it in a git work tree".into(),
        }
        .into());
    };
    let base = match base {
        Some(base) => base.to_string(),
        None => default_base(&repo.root, base_option)?,
    };
    // Git works out what changed while tfw reads the repository.
    let diff = changed_files(&repo.root, &base, head)?;
    // Paths from the git top level, made relative to the repository root.
    let prefix = repo
        .root
        .strip_prefix(&work_tree.top)
        .ok()
        .and_then(Path::to_str)
        .filter(|p| !p.is_empty())
        .map(|p| format!("{p}/"))
        .unwrap_or_default();
    let include = |model: Answer| {
        let changed: BTreeSet<String> = diff
            .wait()?
            .into_iter()
            .filter_map(|f| f.strip_prefix(&prefix).map(String::from))
            .collect();
        if !changed.contains(crate::config::FILE_NAME) {
            return Ok::<_, anyhow::Error>(model(&changed, &|_, _| false));
        }
        // What each version of tfw.toml says, compared stack by stack and env by env.
        let at = |rev: &str| -> anyhow::Result<Settings> {
            let file = format!("{rev}:{prefix}{}", crate::config::FILE_NAME);
            match spawn_git(&repo.root, &["show", &file])?.wait() {
                Ok(lines) => Ok(Settings::parse(Path::new(&file), &lines.join("\n"))?),
                // Not in that commit: the defaults.
                Err(_) => Ok(Settings::default()),
            }
        };
        let old = at(&base);
        let new = match head {
            Some(head) => at(head),
            None => Ok(repo.settings.clone()),
        };
        Ok(match (old, new) {
            (Ok(old), Ok(new)) => model(&changed, &|path, env| old.differs_for(&new, path, env)),
            // A version tfw cannot read could say anything.
            _ => model(&changed, &|_, _| true),
        })
    };
    let mut notes = Vec::new();
    let include = match head {
        Some(head) => {
            let mut cache = model_cache::ModelCache::open(&work_tree, &repo.root);
            // The commit a ref names is read from git's files; anything else asks git for
            // its tree.
            let tree_of_head = || -> Result<Option<ObjectId>, Error> {
                let tree = format!("{head}^{{tree}}");
                let lines = spawn_git(&repo.root, &["rev-parse", "--verify", &tree])?.wait()?;
                Ok(lines.first().and_then(|t| git_index::parse_hex(t)))
            };
            // A head git alone can name (`HEAD~1`) is known by its tree, asked once.
            let resolved = work_tree.resolve(head);
            let asked = match resolved {
                Some(_) => None,
                None => tree_of_head()?,
            };
            let named = resolved.or(asked);
            match named.as_ref().and_then(|id| cache.get(id)) {
                Some(model) => include(&|changed, settings| model.affected(changed, settings))?,
                None => {
                    let tree = match asked {
                        Some(tree) => Some(tree),
                        None => tree_of_head()?,
                    };
                    let model = match tree {
                        // Read where it is when the working tree holds it, else from git.
                        Some(tree) if !repo.listing()?.is_tree(&tree) => {
                            model_of_tree(&work_tree, &tree, &prefix)?
                        }
                        _ => Model::of(repo, &repo.stacks(crate::repo::Presence::OnDisk)?)?,
                    };
                    match (named, tree) {
                        (Some(named), Some(_)) => cache.put(named, &model),
                        _ => notes.push(format!(
                            "git names no tree for {head}: its stacks are read as they are on disk"
                        )),
                    }
                    include(&|changed, settings| model.affected(changed, settings))?
                }
            }
        }
        // The working tree: when it holds the tree git's index has (every listed file
        // tracked, its content vouched for by unchanged stat data), that tree's kept model is
        // its model.
        None => {
            let listing = repo.listing()?;
            let unstaged: Vec<&str> = listing.unstaged().collect();
            let mut cache = model_cache::ModelCache::open(&work_tree, &repo.root);
            let kept = listing.tree().and_then(|tree| cache.get(tree));
            match kept {
                Some(model) if unstaged.is_empty() => {
                    include(&|changed, settings| model.affected(changed, settings))?
                }
                kept => {
                    let stacks = repo.stacks(crate::repo::Presence::OnDisk)?;
                    // Unstaged files no stack reads leave the kept model whole.
                    match kept.filter(|model| model.holds_despite(&stacks, &unstaged)) {
                        Some(model) => {
                            include(&|changed, settings| model.affected(changed, settings))?
                        }
                        None => {
                            let model = Model::of(repo, &stacks)?;
                            match listing.tree() {
                                Some(tree) if unstaged.is_empty() => cache.put(*tree, &model),
                                _ => {}
                            }
                            include(&|changed, settings| model.affected(changed, settings))?
                        }
                    }
                }
            }
        }
    };
    Ok(Affected {
        base,
        head: head.unwrap_or("working tree").to_string(),
        include,
        notes,
    })
}
