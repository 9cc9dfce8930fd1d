//! What a stack's plan reads, in one model that the init fingerprint, `affected`, atlantis
//! `when_modified`, `graph`, `diff` and `check` ask: its terraform files, the local modules it
//! calls, each env's backend and var files, the automatic tfvars and the lock file, symbolic
//! links resolved to their targets. Read from the repository's listing; only what the listing
//! cannot hold (outside the repository, hidden, excluded) is asked of the disk, here.

use super::listing::Status;
use super::{Repo, Stack, is_terraform_file, join_display, listing_dir};
use crate::config::StackConfig;
use crate::lang::hcl::init_blocks;
use crate::paths;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// One file a plan reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// Relative to its directory (the stack's, or a module's), as terraform names it
    /// (`../common.tfvars`).
    pub name: String,
    /// From the repository root; `None` outside it.
    pub path: Option<String>,
    /// What git and the working tree say of it: as listed, or for a file named by the
    /// settings that the listing does not hold, as `Repo::input` tells; `None` outside the
    /// repository, or when it is neither in git nor on disk.
    pub status: Option<Status>,
    /// For a symbolic link, where it leads.
    pub target: Option<Target>,
    /// Whether terraform would find it: on disk, and a link's target too.
    pub exists: bool,
}

/// Where a symbolic link leads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// From the repository root; `None` when it lies outside it (or cannot be told).
    pub path: Option<String>,
    /// What the listing says of it (a target outside a sparse checkout, file or directory, is
    /// `SkipWorktree`).
    pub status: Option<Status>,
    /// Whether it is there (a broken link's target is not).
    pub exists: bool,
}

impl Input {
    /// Its path from the root and its target's, those inside the repository.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        let target = self.target.as_ref().and_then(|t| t.path.as_deref());
        self.path.as_deref().into_iter().chain(target)
    }

    /// Its target's path from the root, when it is a link into the repository.
    pub fn target_path(&self) -> Option<&str> {
        self.target.as_ref()?.path.as_deref()
    }
}

/// One var file of an env, in tfw.toml's order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarFile {
    pub input: Input,
    /// Passed only when it exists, never missing.
    pub optional: bool,
}

/// What one env's plan reads besides the stack's own files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvInputs {
    pub env: String,
    /// Its backend config file (`None`: tfw.toml passes none).
    pub backend: Option<Input>,
    /// Its var files, in the order terraform is given them.
    pub var_files: Vec<VarFile>,
}

impl EnvInputs {
    /// The var files terraform is given: every required one, each optional one that exists.
    /// `Err` is the first required one that does not.
    pub fn passed(&self) -> Result<Vec<&Input>, &Input> {
        let mut passed = Vec::new();
        for file in &self.var_files {
            match (file.input.exists, file.optional) {
                (true, _) => passed.push(&file.input),
                (false, true) => {}
                (false, false) => return Err(&file.input),
            }
        }
        Ok(passed)
    }

    /// Its files (backend first, then the var files, present or not), once each: a backend
    /// file that is also a var file is one file.
    pub fn files(&self) -> Vec<&Input> {
        let mut seen = BTreeSet::new();
        self.backend
            .iter()
            .chain(self.var_files.iter().map(|v| &v.input))
            .filter(|input| seen.insert(input.path.as_deref().unwrap_or(&input.name)))
            .collect()
    }

    /// The paths from the root of its files and of their links' targets, once each.
    pub fn paths(&self) -> Vec<String> {
        let mut paths: Vec<String> = self
            .files()
            .into_iter()
            .flat_map(Input::paths)
            .map(String::from)
            .collect();
        paths.sort();
        paths.dedup();
        paths
    }
}

/// What a stack's plan reads in every env, and each env's own files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackInputs {
    /// Its `.tf` and `.tf.json` files on disk, by name.
    pub sources: Vec<Input>,
    /// Terraform's automatic var files on disk, in the order it loads them.
    pub automatic: Vec<Input>,
    /// Its dependency lock file, from the root (hidden, so never listed).
    pub lock_file: String,
    /// Each env's files, in the stack's order of envs.
    pub envs: Vec<EnvInputs>,
}

impl StackInputs {
    /// The targets (from the root) of the links among its terraform files and automatic
    /// tfvars: files outside its directory that its plan reads in every env.
    pub fn targets(&self) -> impl Iterator<Item = &str> {
        self.sources
            .iter()
            .chain(&self.automatic)
            .filter_map(Input::target_path)
    }

    /// One env's files.
    pub fn env(&self, env: &str) -> Option<&EnvInputs> {
        self.envs.iter().find(|e| e.env == env)
    }
}

/// A local module a stack calls, directly or through another module.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Module {
    /// Its real directory, absolute.
    pub dir: PathBuf,
    /// From the repository root, when it is the repository's (not outside it, not a copy in a
    /// data dir).
    pub path: Option<String>,
    /// Its `.tf` and `.tf.json` files on disk, by name; `None` when the directory is not there
    /// (init fails until it is).
    pub files: Option<Vec<Input>>,
}

/// Where an automatic var file comes in the order terraform loads them: `terraform.tfvars`,
/// its JSON twin, then the `*.auto.tfvars` and `*.auto.tfvars.json` files by name.
pub fn load_order(name: &str) -> (bool, &str) {
    (!name.starts_with("terraform.tfvars"), name)
}

/// `dir`'s canonical path and whether it exists; a missing one's absolute, tidied path.
fn real_path(dir: &Path) -> (PathBuf, bool) {
    match dir.canonicalize() {
        Ok(real) => (real, true),
        Err(_) => {
            let absolute = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
            (paths::normalize(&absolute), false)
        }
    }
}

/// A file listed in a directory: its name, status and whether it is a symbolic link.
pub(super) type Entry = (String, Status, bool);

impl Repo {
    /// tfw.toml's settings for the stack at `path` in `env`, for this model: the one place it
    /// reads them, so that a new setting is added here once.
    fn config_of(&self, path: &str, env: &str) -> StackConfig<'_> {
        self.settings.stack_for(path, Some(env))
    }

    /// The stacks the stack at `path` depends on by tfw.toml's `depends_on` (for every env);
    /// what remote state adds is the graph's to infer (see `graph::build`).
    pub fn depends_on(&self, path: &str) -> Vec<String> {
        self.settings.stack(path).depends_on().cloned().collect()
    }

    /// What `stack`'s plan reads, from the listing.
    pub fn inputs(&self, stack: &Stack) -> StackInputs {
        let sources = self.terraform_files(stack);
        let mut automatic =
            self.files_in(&self.real_dir(stack), crate::lang::variables::is_automatic);
        automatic.sort_by(|a, b| load_order(&a.name).cmp(&load_order(&b.name)));
        let envs = stack
            .envs
            .iter()
            .map(|env| {
                let config = self.config_of(&stack.path, env);
                EnvInputs {
                    env: env.clone(),
                    backend: config.backend_config.map(|backend| {
                        self.input(stack, &stack.backend_file(env, &backend.pattern))
                    }),
                    var_files: config
                        .var_files
                        .iter()
                        .map(|v| VarFile {
                            input: self.input(
                                stack,
                                &v.pattern.path_for(env, &stack.path).to_string_lossy(),
                            ),
                            optional: v.optional,
                        })
                        .collect(),
                }
            })
            .collect();
        StackInputs {
            sources,
            automatic,
            lock_file: join_display(&stack.path, Path::new(".terraform.lock.hcl")),
            envs,
        }
    }

    /// `stack`'s `.tf` and `.tf.json` files on disk, by name (see `StackInputs::sources`).
    pub fn terraform_files(&self, stack: &Stack) -> Vec<Input> {
        self.files_in(&self.real_dir(stack), is_terraform_file)
    }

    /// The local modules `stack` calls, directly or through other local modules, in the order
    /// init reaches them (each once); `sources` are its terraform files with their text
    /// (`Repo::terraform_sources`). Fails on a module file that does not parse.
    pub fn modules(
        &self,
        stack: &Stack,
        sources: &[(String, String)],
    ) -> Result<Vec<Module>, String> {
        let top = self.real_dir(stack);
        let texts = sources
            .iter()
            .map(|(name, text)| (stack.dir.join(name), text.clone()))
            .collect();
        let mut visited = BTreeSet::from([top.clone()]);
        let mut modules = Vec::new();
        self.visit(&top, texts, &mut visited, &mut modules)?;
        Ok(modules)
    }

    fn visit(
        &self,
        dir: &Path,
        texts: Vec<(PathBuf, String)>,
        visited: &mut BTreeSet<PathBuf>,
        modules: &mut Vec<Module>,
    ) -> Result<(), String> {
        let mut calls = Vec::new();
        // Most files call no module: a byte search spares them the parse.
        for (file, text) in texts.iter().filter(|(_, text)| text.contains("module")) {
            let is_json = file.to_string_lossy().ends_with(".json");
            let blocks = init_blocks(text, is_json)
                .map_err(|e| format!("cannot parse {}: {e}", file.display()))?;
            calls.extend(blocks.into_iter().filter_map(|b| b.local_source));
        }
        for source in calls {
            let (real, exists) = real_path(&dir.join(&source));
            if !visited.insert(real.clone()) {
                continue;
            }
            let path = self.listed_dir(&real).map(String::from);
            let files = exists.then(|| self.files_in(&real, is_terraform_file));
            modules.push(Module {
                dir: real.clone(),
                path,
                files: files.clone(),
            });
            let Some(files) = files else { continue };
            let mut texts = Vec::new();
            for file in files.iter().filter(|f| f.exists) {
                let file = real.join(&file.name);
                let text = std::fs::read_to_string(&file)
                    .map_err(|e| format!("{}: {e}", file.display()))?;
                texts.push((file, text));
            }
            self.visit(&real, texts, visited, modules)?;
        }
        Ok(())
    }

    /// The real directory of `stack`: its path from the root is the real one (discovery lists
    /// no symlinked directory, `stack_at` resolves the directory given), the root is canonical.
    fn real_dir(&self, stack: &Stack) -> PathBuf {
        self.root.join(listing_dir(&stack.path))
    }

    /// The files directly in the directory `real` (absolute, canonical) whose names `keep`
    /// keeps, on disk, by name: from the listing when it holds the directory, else (another
    /// repository, a data dir's copy of a module, an excluded directory) from the disk.
    fn files_in(&self, real: &Path, keep: fn(&str) -> bool) -> Vec<Input> {
        let Some(dir) = self.listed_dir(real) else {
            let mut names: Vec<String> = std::fs::read_dir(real)
                .into_iter()
                .flatten()
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|name| keep(name))
                .collect();
            names.sort();
            return names
                .into_iter()
                .map(|name| {
                    let file = real.join(&name);
                    let path = file
                        .strip_prefix(&self.root)
                        .ok()
                        .and_then(Path::to_str)
                        .map(String::from);
                    self.unlisted_input(name, path, &file)
                })
                .collect();
        };
        self.entries_in(dir)
            .into_iter()
            .filter(|(name, status, _)| keep(name) && status.on_disk())
            .map(|(name, status, symlink)| {
                let path = match dir {
                    "" => name.clone(),
                    dir => format!("{dir}/{name}"),
                };
                self.listed_input(name, path, status, symlink)
            })
            .collect()
    }

    /// `real` (absolute, canonical) from the root, when the listing holds its files: inside
    /// the repository, not hidden, not excluded.
    fn listed_dir<'a>(&self, real: &'a Path) -> Option<&'a str> {
        self.listed_relative(real.strip_prefix(&self.root).ok()?.to_str()?)
    }

    /// `listed_dir` for a directory by its path from the root.
    fn listed_relative<'a>(&self, path: &'a str) -> Option<&'a str> {
        let hidden = path.split('/').any(|c| c.starts_with('.'));
        let excluded = !self.exclude.is_empty()
            && path
                .match_indices('/')
                .map(|(i, _)| &path[..i])
                .chain([path])
                .any(|dir| self.exclude.is_match(dir));
        (!hidden && !excluded).then_some(path)
    }

    /// The files directly in `dir` (from the root, `""` for the root): the full listing's when
    /// it was read, else that directory's alone, listed once.
    fn entries_in(&self, dir: &str) -> Vec<Entry> {
        let collect = |listing: &super::Listing| -> Vec<Entry> {
            listing
                .subtree(dir)
                .entries()
                .filter(|(name, ..)| !name.contains('/'))
                .map(|(name, status, symlink, _)| (name.to_string(), status, symlink))
                .collect()
        };
        match self.listing.get() {
            Some(listing) => collect(listing),
            None => {
                // A panic elsewhere leaves the map whole: entries are inserted in one step.
                let mut dirs = self
                    .listed_dirs
                    .lock()
                    .unwrap_or_else(|poisoned| poisoned.into_inner());
                if let Some(entries) = dirs.get(dir) {
                    return entries.clone();
                }
                let scope = super::Scope {
                    dir,
                    depth: Some(1),
                };
                // An unreadable directory lists nothing, as discovery does.
                let entries = self
                    .list(scope, false)
                    .map(|listing| collect(&listing))
                    .unwrap_or_default();
                dirs.insert(dir.to_string(), entries.clone());
                entries
            }
        }
    }

    /// The file `name` (relative to the stack) of `stack`: an env file, or any file its
    /// settings name. Its status is what git and the working tree say of it (see
    /// `unlisted_status` for one the listing does not hold).
    pub fn input(&self, stack: &Stack, name: &str) -> Input {
        let joined = paths::normalize(&Path::new(&stack.path).join(name));
        let path = joined
            .to_str()
            .filter(|p| !p.starts_with("..") && !joined.is_absolute())
            .map(String::from);
        let listed = path.as_deref().and_then(|p| {
            let dir = p.rfind('/').map_or("", |i| &p[..i]);
            self.listed_relative(dir).map(|_| (p, dir))
        });
        let file = || stack.dir.join(name);
        match listed {
            Some((listed, dir)) => match self.entry(listed) {
                // The listing keeps every symbolic link, relevant by its name or not.
                Some((status, symlink)) => {
                    self.listed_input(name.to_string(), listed.to_string(), status, symlink)
                }
                None if !self.relevant.matches(listed) || !self.was_read(dir) => {
                    self.unlisted_named(name, path, &file())
                }
                None => Input {
                    name: name.to_string(),
                    path: path.clone(),
                    status: None,
                    target: None,
                    exists: false,
                },
            },
            None => self.unlisted_named(name, path, &file()),
        }
    }

    /// A file named by the settings that the listing does not hold (`file`, absolute).
    fn unlisted_named(&self, name: &str, path: Option<String>, file: &Path) -> Input {
        let status = path.as_deref().and_then(|p| self.unlisted_status(p, file));
        Input {
            status,
            ..self.unlisted_input(name.to_string(), path, file)
        }
    }

    /// What git says of a file inside the repository (`path` from the root, `file` absolute)
    /// that the listing does not hold: below a symbolic link to a directory, the status of the
    /// file it really is; in a directory the listing had no reason to read (nothing relevant
    /// is tracked there) or leaves out, untracked or ignored as git's ignore rules tell.
    /// `None`: not there.
    fn unlisted_status(&self, path: &str, file: &Path) -> Option<Status> {
        std::fs::symlink_metadata(file).ok()?;
        let (parent, name) = path.rsplit_once('/').unwrap_or(("", path));
        let real_parent = file.parent().and_then(|dir| dir.canonicalize().ok());
        if let Some(real_parent) = real_parent.and_then(|dir| self.path_in_repo(&dir))
            && real_parent != parent
            && let Some((status, _)) = self.entry(&format!("{real_parent}/{name}"))
        {
            return Some(status);
        }
        let Some(git) = super::git_index::locate(&self.root) else {
            return Some(Status::NotInGit);
        };
        let from_top = match self.root.strip_prefix(&git.top).ok().and_then(Path::to_str) {
            Some("") | None => path.to_string(),
            Some(prefix) => format!("{prefix}/{path}"),
        };
        let ignores = super::gitignore::Ignores::new(&git.top, &git.git_dir);
        Some(match ignores.is_ignored(&from_top, false) {
            true => Status::Ignored,
            false => Status::Untracked,
        })
    }

    /// Whether the listing read the directory `dir` (from the root), so that a file it does
    /// not list is not there: the whole repository's listing reads each directory holding a
    /// relevant tracked file, their parents, and new directories below them (any file listed
    /// below `dir` says it was read); a directory listed alone is read.
    fn was_read(&self, dir: &str) -> bool {
        self.listing
            .get()
            .is_none_or(|listing| listing.subtree(dir).entries().next().is_some())
    }

    /// A file the listing does not hold (`file`, absolute): the disk says what it is.
    fn unlisted_input(&self, name: String, path: Option<String>, file: &Path) -> Input {
        let symlink = file.symlink_metadata().is_ok_and(|m| m.is_symlink());
        Input {
            name,
            path,
            status: None,
            target: symlink.then(|| self.target_outside(file)),
            exists: file.is_file(),
        }
    }

    /// What the listing says of the file at `path` (from the root): its status and whether it
    /// is a symbolic link.
    fn entry(&self, path: &str) -> Option<(Status, bool)> {
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        match self.listing.get() {
            Some(listing) => listing.subtree("").entry(path),
            None => self
                .entries_in(dir)
                .into_iter()
                .find(|(listed, ..)| listed == name)
                .map(|(_, status, symlink)| (status, symlink)),
        }
    }

    /// A listed file (`path` from the root) as an input named `name`.
    fn listed_input(&self, name: String, path: String, status: Status, symlink: bool) -> Input {
        let target = symlink.then(|| self.target(&path));
        let exists = status.on_disk() && target.as_ref().is_none_or(|t| t.exists);
        Input {
            name,
            path: Some(path),
            status: Some(status),
            target,
            exists,
        }
    }

    /// Where the link at `path` (from the root) leads: its real path, or for a broken link
    /// where it would lead.
    fn target(&self, path: &str) -> Target {
        let link = self.root.join(path);
        match link.canonicalize() {
            Ok(real) => self.real_target(&real),
            Err(_) => {
                let parent = Path::new(path).parent().unwrap_or(Path::new(""));
                let path = std::fs::read_link(&link).ok().and_then(|to| {
                    let to = match to.strip_prefix(&self.root) {
                        Ok(inside) => inside.to_path_buf(),
                        Err(_) if to.is_absolute() => return None,
                        Err(_) => parent.join(to),
                    };
                    let to = paths::normalize(&to);
                    to.to_str()
                        .filter(|p| !p.starts_with(".."))
                        .map(String::from)
                });
                Target {
                    status: path.as_deref().and_then(|p| self.missing_target_status(p)),
                    path,
                    exists: false,
                }
            }
        }
    }

    /// What git says of where a link leads that is not on disk (`path` from the root): the
    /// listed file's status, or for a directory a sparse checkout leaves out (which git holds,
    /// skip-worktree), `SkipWorktree`.
    fn missing_target_status(&self, path: &str) -> Option<Status> {
        if let Some((status, _)) = self.entry(path) {
            return Some(status);
        }
        let listing = self.listing.get()?;
        listing
            .subtree(path)
            .entries()
            .any(|(_, status, ..)| status == Status::SkipWorktree)
            .then_some(Status::SkipWorktree)
    }

    /// Where a link outside the listing (absolute) leads.
    fn target_outside(&self, link: &Path) -> Target {
        match link.canonicalize() {
            Ok(real) => self.real_target(&real),
            Err(_) => Target {
                path: None,
                status: None,
                exists: false,
            },
        }
    }

    /// The target at `real`, a path that exists.
    fn real_target(&self, real: &Path) -> Target {
        let path = self.path_in_repo(real);
        Target {
            status: path.as_deref().and_then(|p| Some(self.entry(p)?.0)),
            path,
            exists: true,
        }
    }

    /// A real path from the root, when inside the repository.
    fn path_in_repo(&self, real: &Path) -> Option<String> {
        let path = real.strip_prefix(&self.root).ok()?.to_str()?;
        (!path.is_empty()).then(|| path.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::fixture;
    use std::fs;

    #[test]
    fn automatic_files_load_in_terraforms_order() {
        let mut names = [
            "b.auto.tfvars",
            "terraform.tfvars.json",
            "a.auto.tfvars.json",
            "terraform.tfvars",
        ];
        names.sort_by_key(|name| load_order(name));
        assert_eq!(
            names,
            [
                "terraform.tfvars",
                "terraform.tfvars.json",
                "a.auto.tfvars.json",
                "b.auto.tfvars"
            ]
        );
    }

    #[test]
    fn links_modules_and_env_files_are_the_plans_inputs() {
        let dir = fixture::isolated_tempdir();
        let root = dir.path();
        fixture::write(
            root,
            &[
                (
                    "app/main.tf",
                    "module \"m\" {\n  source = \"../modules/m\"\n}\n",
                ),
                ("app/stg.tfbackend", ""),
                ("app/b.auto.tfvars", ""),
                ("app/terraform.tfvars", ""),
                ("shared/inputs.tf", ""),
                ("shared/stg.tfvars", ""),
                (
                    "modules/m/main.tf",
                    "module \"n\" {\n  source = \"../n\"\n}\n",
                ),
                ("modules/n/main.tf", ""),
                (
                    "tfw.toml",
                    "var_files = [\"{env}.tfvars\", { path = \"{root}/missing.tfvars\", optional = true }]\n",
                ),
            ],
        );
        std::os::unix::fs::symlink("../shared/inputs.tf", root.join("app/inputs.tf")).unwrap();
        std::os::unix::fs::symlink("../shared/stg.tfvars", root.join("app/stg.tfvars")).unwrap();
        std::os::unix::fs::symlink("gone.tf", root.join("app/broken.tf")).unwrap();
        let repo = Repo::open(root).unwrap();
        let stacks = repo.stacks(super::super::Presence::OnDisk).unwrap();
        let inputs = repo.inputs(&stacks[0]);
        let names =
            |inputs: &[Input]| -> Vec<String> { inputs.iter().map(|i| i.name.clone()).collect() };
        assert_eq!(
            names(&inputs.sources),
            ["broken.tf", "inputs.tf", "main.tf"]
        );
        assert!(!inputs.sources[0].exists, "a broken link reads nothing");
        assert_eq!(
            inputs.sources[0].target_path(),
            Some("app/gone.tf"),
            "where a broken link would lead"
        );
        assert_eq!(
            inputs.targets().collect::<Vec<_>>(),
            ["app/gone.tf", "shared/inputs.tf"]
        );
        let target = inputs.sources[1].target.as_ref().unwrap();
        assert_eq!(
            (target.status, target.exists),
            (Some(Status::NotInGit), true)
        );
        assert_eq!(
            names(&inputs.automatic),
            ["terraform.tfvars", "b.auto.tfvars"]
        );
        let stg = inputs.env("stg").unwrap();
        assert_eq!(
            stg.paths(),
            [
                "app/stg.tfbackend",
                "app/stg.tfvars",
                "missing.tfvars",
                "shared/stg.tfvars"
            ]
        );
        let passed: Vec<&str> = stg
            .passed()
            .unwrap()
            .iter()
            .map(|i| i.name.as_str())
            .collect();
        assert_eq!(
            passed,
            ["stg.tfvars"],
            "an absent optional file is not passed"
        );
        let sources = repo.terraform_sources(&stacks[0]);
        let modules = repo.modules(&stacks[0], &sources).unwrap();
        let paths: Vec<Option<&str>> = modules.iter().map(|m| m.path.as_deref()).collect();
        assert_eq!(paths, [Some("modules/m"), Some("modules/n")]);
    }

    #[test]
    fn a_new_var_file_where_git_tracks_nothing_relevant_is_found() {
        let dir = fixture::isolated_tempdir();
        let root = dir.path();
        fixture::write(
            root,
            &[
                ("app/main.tf", ""),
                ("app/stg.tfbackend", ""),
                ("shared/README.md", ""),
                ("tfw.toml", "var_files = [\"{root}/shared/{env}.tfvars\"]\n"),
            ],
        );
        fixture::git(root, &["init", "-q"]);
        fixture::git(root, &["add", "-A"]);
        // Untracked, in a directory whose only tracked file the listing leaves out.
        fs::write(root.join("shared/stg.tfvars"), "").unwrap();
        let repo = Repo::open(root).unwrap();
        let stacks = repo.stacks(super::super::Presence::OnDisk).unwrap();
        let inputs = repo.inputs(&stacks[0]);
        let stg = inputs.env("stg").unwrap();
        assert!(stg.var_files[0].input.exists, "{:?}", stg.var_files[0]);
        assert_eq!(stg.passed().map(|p| p.len()), Ok(1));
    }
}
