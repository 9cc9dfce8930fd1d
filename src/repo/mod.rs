//! The repository: its root, its settings, its file listing and its stacks. The only code
//! that decides which files and stacks exist; every command asks it.

#[cfg(test)]
pub mod fixture;
pub mod git_index;
pub mod gitignore;
pub mod graph;
pub mod inputs;
pub mod listing;
mod listing_cache;
mod stack;

pub use stack::Stack;

use crate::config::env_name;
use crate::config::pattern::EnvPattern;
use crate::config::{self, Settings, VarFile};
use crate::parallel::in_parallel;
use anyhow::Context as _;
use globset::{Glob, GlobSet, GlobSetBuilder};
use listing::{Filter, Listing, Scope, Status};
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The repository: its root and its settings, and its files once something asks.
pub struct Repo {
    pub root: PathBuf,
    pub settings: Settings,
    exclude: GlobSet,
    relevant: Relevant,
    /// Whether the listing carries content ids (see `with_content_ids`).
    content_ids: bool,
    listing: OnceLock<Listing>,
    /// Directories listed alone while the whole repository was not (see `inputs`), by path.
    listed_dirs: std::sync::Mutex<std::collections::HashMap<String, Vec<inputs::Entry>>>,
    /// The directory it was opened from, as given and canonical (already checked readable):
    /// `stack_at` of the same directory needs neither again.
    start: (PathBuf, PathBuf),
}

/// Which paths can matter to tfw: terraform files, automatic var files, tfw.toml, and what an
/// env pattern could name. Most files of a big repository end in a byte no suffix ends in: one
/// comparison each.
struct Relevant {
    suffixes: Vec<String>,
    last_bytes: Vec<u8>,
    /// A pattern whose file name has no fixed end: every file may matter.
    any: bool,
}

impl Relevant {
    fn of(settings: &Settings) -> Self {
        let fixed = [
            ".tf",
            ".tf.json",
            ".tfvars",
            ".tfvars.json",
            LOCK_FILE,
            config::FILE_NAME,
        ];
        let suffixes: Vec<String> = all_patterns(settings)
            .map(|p| p.name_suffix().to_string())
            .chain(fixed.map(String::from))
            .collect();
        Self {
            any: suffixes.iter().any(String::is_empty),
            last_bytes: suffixes.iter().filter_map(|s| s.bytes().last()).collect(),
            suffixes,
        }
    }

    fn matches(&self, path: &str) -> bool {
        self.any
            || (path
                .as_bytes()
                .last()
                .is_some_and(|b| self.last_bytes.contains(b))
                && self.suffixes.iter().any(|s| path.ends_with(s.as_str())))
    }
}

/// Every env file pattern of any stack in `settings`.
fn all_patterns(settings: &Settings) -> impl Iterator<Item = &EnvPattern> {
    let blocks = settings
        .stacks
        .values()
        .chain(settings.stack_globs.iter().map(|g| &g.settings));
    let envs = settings.environments.values();
    fn files(f: &Option<VarFile>) -> Option<&EnvPattern> {
        f.as_ref().map(|f| &f.pattern)
    }
    files(&settings.backend_config)
        .into_iter()
        .chain(settings.var_files.iter().map(|v| &v.pattern))
        .chain(
            blocks
                .clone()
                .filter_map(|s| s.backend_config.as_ref().and_then(files)),
        )
        .chain(blocks.flat_map(|s| s.var_files.iter().flatten().map(|v| &v.pattern)))
        .chain(
            envs.clone()
                .filter_map(|e| e.backend_config.as_ref().and_then(files)),
        )
        .chain(envs.flat_map(|e| e.var_files.iter().flatten().map(|v| &v.pattern)))
}

/// A stack's dependency lock file.
pub const LOCK_FILE: &str = ".terraform.lock.hcl";

/// A file name that makes its directory a terraform configuration.
pub fn is_terraform_file(name: &str) -> bool {
    name.ends_with(".tf") || name.ends_with(".tf.json")
}

/// Which statuses count as a file being there: for running terraform, what is on disk; for
/// `tfw check`, anything git or the disk has (a deleted file is reported, not forgotten).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    OnDisk,
    InGitOrOnDisk,
}

impl Presence {
    fn keep(self) -> fn(Status) -> bool {
        match self {
            Self::OnDisk => Status::on_disk,
            Self::InGitOrOnDisk => |status| status != Status::SkipWorktree,
        }
    }
}

/// A symbolic link to a directory outside the repository: never listed or followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutsideLink {
    /// Relative to the root.
    pub path: String,
    pub target: PathBuf,
}

impl Repo {
    /// The repository around `start` (see `config::find_root`) with its tfw.toml.
    pub fn open(start: &Path) -> anyhow::Result<Self> {
        // Canonical: `-C sandbox/../prodstack` is prodstack, whatever sandbox holds.
        let given = start.to_path_buf();
        let start = start
            .canonicalize()
            .with_context(|| format!("reading {}", start.display()))?;
        readable(&start)?;
        let root = config::find_root(&start, git_index::top_level(&start))?;
        let settings = Settings::load(&root)?;
        let mut builder = GlobSetBuilder::new();
        for glob in &settings.exclude {
            builder.add(Glob::new(glob)?);
        }
        let relevant = Relevant::of(&settings);
        Ok(Self {
            root,
            settings,
            relevant,
            exclude: builder.build()?,
            content_ids: false,
            listing: OnceLock::new(),
            listed_dirs: Default::default(),
            start: (given, start),
        })
    }

    /// The same repository, whose listing gives tracked files with unchanged stat data their
    /// content's object id (one `stat` each, see `Listing::read`): what `tfw check`'s cache uses.
    pub fn with_content_ids(self) -> Self {
        Self {
            content_ids: true,
            ..self
        }
    }

    /// Every env file pattern of any stack: the defaults' and each `[stacks]` block's.
    pub fn all_patterns(&self) -> impl Iterator<Item = &EnvPattern> {
        all_patterns(&self.settings)
    }

    /// The env files of the stack at `path`: its backend config, then its var files.
    pub fn env_files(&self, path: &str) -> Vec<EnvFile<'_>> {
        env_files(&self.settings.stack(path))
    }

    /// The env files of `env` in the stack at `path`, `[environments."<env>"]` included.
    pub fn env_files_for(&self, path: &str, env: &str) -> Vec<EnvFile<'_>> {
        env_files(&self.settings.stack_for(path, Some(env)))
    }

    /// The backend config file `env` passes in `stack`, relative to the stack: `None` when
    /// tfw.toml names none or an optional one is absent.
    pub fn backend_file(&self, stack: &Stack, env: &str) -> Option<String> {
        let config = self.settings.stack_for(&stack.path, Some(env));
        let backend = config.backend_config?;
        let file = stack.backend_file(env, &backend.pattern);
        (!backend.optional || self.is_file(stack, &stack.dir.join(&file))).then_some(file)
    }

    fn list(&self, scope: Scope, content_ids: bool) -> anyhow::Result<Listing> {
        let relevant = |path: &str| self.relevant.matches(path);
        let rules: Vec<&str> = self
            .relevant
            .suffixes
            .iter()
            .map(String::as_str)
            .chain(["\0"])
            .chain(self.settings.exclude.iter().map(String::as_str))
            .collect();
        let filter = Filter {
            exclude: &self.exclude,
            relevant: &relevant,
            rules: &rules.join("\n"),
        };
        Listing::read(&self.root, &filter, scope, content_ids)
    }

    /// Every relevant file of the repository, read once.
    pub fn listing(&self) -> anyhow::Result<&Listing> {
        if let Some(listing) = self.listing.get() {
            return Ok(listing);
        }
        let listing = self.list(Scope::ALL, self.content_ids)?;
        Ok(self.listing.get_or_init(|| listing))
    }

    /// The names of the files directly in a stack's directory, on disk now: from the listing
    /// when the repository was listed, else read.
    pub fn file_names(&self, stack: &Stack) -> Vec<String> {
        match self.listing.get() {
            Some(listing) => listing
                .subtree(listing_dir(&stack.path))
                .names_in("", Status::on_disk)
                .into_iter()
                .map(String::from)
                .collect(),
            None => std::fs::read_dir(&stack.dir)
                .into_iter()
                .flatten()
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .collect(),
        }
    }

    /// Whether `path` (absolute) is a file: for a file directly in the stack's directory that
    /// the listing keeps, the listing says (a stack's directory is always read in full);
    /// anything else is asked of the disk.
    pub fn is_file(&self, stack: &Stack, path: &Path) -> bool {
        let listed = self.listing.get().and_then(|listing| {
            let name = path
                .strip_prefix(&stack.dir)
                .ok()?
                .to_str()
                .filter(|n| !n.contains('/') && !n.starts_with('.'))?;
            let relative = match stack.path.as_str() {
                "." => name.to_string(),
                dir => format!("{dir}/{name}"),
            };
            if !self.relevant.matches(&relative) {
                return None;
            }
            listing
                .subtree(listing_dir(&stack.path))
                .regular_on_disk(name)
        });
        listed.unwrap_or_else(|| path.is_file())
    }

    /// A stack's `.tf` and `.tf.json` files as they are on disk now, by name, with their text.
    pub fn terraform_sources(&self, stack: &Stack) -> Vec<(String, String)> {
        let mut sources: Vec<(String, String)> = self
            .file_names(stack)
            .into_iter()
            .filter(|name| is_terraform_file(name))
            .filter_map(|name| {
                let text = std::fs::read_to_string(stack.dir.join(&name)).ok()?;
                Some((name, text))
            })
            .collect();
        sources.sort();
        sources
    }

    /// The stack in `dir`, whatever it holds: the current directory is always a stack. Only
    /// its own directory is listed, as deep as the env patterns reach, unless a pattern leaves
    /// the stack (then the whole repository is).
    pub fn stack_at(&self, dir: &Path) -> anyhow::Result<Stack> {
        let canonical = if dir == self.start.0 {
            self.start.1.clone()
        } else {
            let canonical = dir
                .canonicalize()
                .with_context(|| format!("reading {}", dir.display()))?;
            readable(&canonical)?;
            canonical
        };
        let path = relative_path(&self.root, &canonical);
        let stack = |files: &listing::Subtree, everything: Option<&listing::Subtree>| {
            let (envs, typed_backends) = self.envs_of(files, everything, &path, Presence::OnDisk);
            // No env, and no terraform files that keep state: a directory above or beside the
            // stacks, not one (where terraform would plan on an empty local state).
            let names = files.names_in("", Status::on_disk);
            if envs.is_empty() && !declares_state(&canonical, &names) {
                return Err(self.not_a_stack(dir, &path));
            }
            Ok(Stack {
                dir: dir.to_path_buf(),
                envs,
                typed_backends,
                name: self.name_of(&path),
                path: path.clone(),
            })
        };
        if self.all_patterns().any(EnvPattern::leaves_stack) {
            let listing = self.listing()?;
            return Ok(stack(
                &listing.subtree(listing_dir(&path)),
                Some(&listing.subtree("")),
            )?);
        }
        let depth = self
            .all_patterns()
            .map(|p| p.depth())
            .max()
            .unwrap_or(1)
            .max(1);
        let scope = Scope {
            dir: listing_dir(&path),
            depth: Some(depth),
        };
        let listing = self.list(scope, false)?;
        Ok(stack(&listing.subtree(listing_dir(&path)), None)?)
    }

    /// The error for running in `dir` (at `path` from the root), which is no stack: the stacks
    /// below it, else those of the nearest directory above that has some.
    fn not_a_stack(&self, dir: &Path, path: &str) -> crate::error::Error {
        let stacks = self.stacks(Presence::OnDisk).unwrap_or_default();
        let within = |prefix: &str| -> Vec<String> {
            stacks
                .iter()
                .filter(|s| prefix == "." || s.path.starts_with(&format!("{prefix}/")))
                .map(|s| s.path.clone())
                .collect()
        };
        let mut at = path;
        let mut nearby = within(at);
        while nearby.is_empty() && at != "." {
            at = at.rsplit_once('/').map_or(".", |(parent, _)| parent);
            nearby = within(at);
        }
        crate::error::Error::NotAStack {
            dir: match path {
                "." => dir.to_path_buf(),
                _ => PathBuf::from(path),
            },
            nearby,
        }
    }

    fn name_of(&self, path: &str) -> String {
        match self.settings.stacks.get(path).and_then(|s| s.name.clone()) {
            Some(name) => name,
            None if path == "." => "root".to_string(),
            None => path.to_string(),
        }
    }

    /// The envs of the stack at `path` (its files `files`, the repository's `everything` when
    /// listed): tfw.toml's list, else the backend files present (valid names only), else,
    /// without a backend file per env, those of its first per-env var file; narrowed by its
    /// `[stacks]` blocks' `envs`. And the envs whose backend file has Terraform's typed name.
    fn envs_of(
        &self,
        files: &listing::Subtree,
        everything: Option<&listing::Subtree>,
        path: &str,
        presence: Presence,
    ) -> (Vec<String>, BTreeMap<String, String>) {
        let config = self.settings.stack(path);
        let found_by =
            |pattern: &EnvPattern| self.found_by(pattern, files, everything, path, presence.keep());
        let (mut found, typed) = match config.backend_config {
            Some(backend) => typed_names(&backend.pattern, found_by(&backend.pattern)),
            None => (Vec::new(), BTreeMap::new()),
        };
        if config.backend_config.is_none_or(|b| b.optional)
            && let Some(first) = config.var_files.iter().find(|v| v.pattern.is_per_env())
        {
            found.extend(found_by(&first.pattern));
        }
        // An env with a backend config of its own (`[environments."<env>"]`) is there when
        // that file is, or always when it has none.
        for env in self.settings.environments.keys() {
            let own = self.settings.stack_for(path, Some(env)).backend_config;
            if own != config.backend_config
                && own.is_none_or(|b| {
                    b.optional || self.present(&b.pattern, env, files, everything, path, presence)
                })
            {
                found.push(env.clone());
            }
        }
        found.sort();
        found.dedup();
        if let Some(envs) = config.own_envs() {
            return (envs.to_vec(), typed);
        }
        let envs = match &self.settings.envs {
            Some(envs) => envs.clone(),
            None => found
                .into_iter()
                .filter(|env| env_name::validate(env).is_ok())
                .collect(),
        };
        (envs, typed)
    }

    /// Whether the file of `env` that `pattern` names for the stack at `path` is present (see
    /// `found_by`).
    fn present(
        &self,
        pattern: &EnvPattern,
        env: &str,
        files: &listing::Subtree,
        everything: Option<&listing::Subtree>,
        path: &str,
        presence: Presence,
    ) -> bool {
        let keep = presence.keep();
        match (pattern.leaves_stack(), everything) {
            (false, _) => files.status(&pattern.file_for(env)).is_some_and(keep),
            (true, Some(everything)) => pattern
                .repo_path(env, path)
                .and_then(|file| everything.status(&file))
                .is_some_and(keep),
            (true, None) => false,
        }
    }

    /// The names `{env}` takes in the present files of `pattern` of the stack at `path`: in
    /// its own `files`, or, for a pattern that leaves it, in the repository's `everything`.
    fn found_by(
        &self,
        pattern: &EnvPattern,
        files: &listing::Subtree,
        everything: Option<&listing::Subtree>,
        path: &str,
        keep: fn(Status) -> bool,
    ) -> Vec<String> {
        if !pattern.leaves_stack() {
            let dir = self.root.join(listing_dir(path));
            return discover_raw(pattern, files, keep, Some(&dir));
        }
        match (pattern.named_from_root(path), everything) {
            (Some(from_root), Some(everything)) => discover_raw(&from_root, everything, keep, None),
            _ => Vec::new(),
        }
    }

    /// The env names whose `pattern` file is present in a stack's files (not validated;
    /// `dev.s3.tfbackend` names `dev`).
    pub fn discover(
        &self,
        pattern: &EnvPattern,
        stack: &Stack,
        files: &listing::Subtree,
        keep: fn(Status) -> bool,
    ) -> Vec<String> {
        typed_names(
            pattern,
            discover_raw(pattern, files, keep, Some(&stack.dir)),
        )
        .0
    }

    /// Every stack below the root: a directory with a `*.tf` or `*.tf.json` file and the
    /// backend config of at least one env, both present as `presence` says. The root stack
    /// comes first, then the others by path. Symlinked directories are not followed: one inside
    /// the repository is listed by its real path, one outside is not the repository's (see
    /// `outside_links`).
    pub fn stacks(&self, presence: Presence) -> anyhow::Result<Vec<Stack>> {
        let listing = self.listing()?;
        let keep = presence.keep();
        if let Some((nested, _)) = listing.files().find(|(path, status)| {
            keep(*status)
                && path
                    .strip_suffix(config::FILE_NAME)
                    .is_some_and(|d| d.ends_with('/'))
        }) {
            return Err(crate::error::Error::NestedConfig {
                inner: self.root.join(nested),
                outer: self.root.join(config::FILE_NAME),
            }
            .into());
        }
        let mut dirs: Vec<&str> = listing
            .files()
            .filter(|(path, status)| is_terraform_file(path) && keep(*status))
            .map(|(path, _)| path.rfind('/').map_or("", |i| &path[..i]))
            .collect();
        dirs.dedup();
        dirs.sort_unstable();
        dirs.dedup();
        let paths: Vec<&str> = dirs
            .iter()
            .map(|dir| if dir.is_empty() { "." } else { dir })
            .collect();
        if let Some((key, line, suggestion)) =
            self.settings.unmatched_blocks(&paths).into_iter().next()
        {
            let hint = suggestion.map_or(String::new(), |s| format!(": did you mean `{s}`?"));
            return Err(crate::error::Error::Config {
                path: self.root.join(config::FILE_NAME),
                line: Some(line),
                message: format!(
                    "`[stacks.\"{key}\"]` matches no directory with terraform files{hint}"
                ),
            }
            .into());
        }
        let everything = listing.subtree("");
        let stack_in = |dir: &str| {
            let path = if dir.is_empty() { "." } else { dir };
            let files = listing.subtree(dir);
            let (envs, typed_backends) = self.envs_of(&files, Some(&everything), path, presence);
            let config = self.settings.stack(path);
            let present = |file: &str| files.status(file).is_some_and(keep);
            let backend_present = config.backend_config.is_some_and(|backend| {
                !backend.pattern.leaves_stack()
                    && envs.iter().any(|env| {
                        present(
                            &typed_backends
                                .get(env)
                                .cloned()
                                .unwrap_or_else(|| backend.pattern.file_for(env)),
                        )
                    })
            });
            // A backend file outside the stack, or none, is shared with every directory: a
            // stack is then one whose terraform files declare where its state lives.
            let is_stack = backend_present
                || (!envs.is_empty()
                    && declares_state(&self.root.join(dir), &files.names_in("", keep)));
            is_stack.then(|| Stack {
                typed_backends,
                dir: self.root.join(dir),
                name: self.name_of(path),
                path: path.to_string(),
                envs,
            })
        };
        let mut stacks: Vec<Stack> = in_parallel(&dirs, |part| {
            part.iter()
                .filter_map(|dir| stack_in(dir))
                .collect::<Vec<_>>()
        })
        .into_iter()
        .flatten()
        .collect();
        stacks.sort_by(|a, b| (a.path != ".", &a.path).cmp(&(b.path != ".", &b.path)));
        Ok(stacks)
    }

    /// The error when a command needs stacks and there are none.
    pub fn no_stacks(&self) -> crate::error::Error {
        crate::error::Error::NoStacks {
            root: self.root.clone(),
            backend: match &self.settings.backend_config {
                Some(backend) => format!("`{}`", backend.pattern.file_for("<env>")),
                None => "a `backend` block".to_string(),
            },
        }
    }

    /// Symbolic links in the repository's directories that point to a directory outside it:
    /// not followed (a link to `/` or to a sibling repository is not part of this one).
    pub fn outside_links(&self) -> anyhow::Result<Vec<OutsideLink>> {
        let root = self.root.canonicalize()?;
        let mut links = Vec::new();
        for path in self.listing()?.symlinks() {
            if let Ok(target) = self.root.join(path).canonicalize()
                && target.is_dir()
                && !target.starts_with(&root)
            {
                links.push(OutsideLink {
                    path: path.to_string(),
                    target,
                });
            }
        }
        Ok(links)
    }

    /// The files `env` needs in `stack` that terraform would not find, relative to the root.
    pub fn missing_files(&self, stack: &Stack, env: &str) -> anyhow::Result<Vec<String>> {
        let here = self.listing()?.subtree(listing_dir(&stack.path));
        Ok(self
            .env_files_for(&stack.path, env)
            .into_iter()
            .filter(|file| !file.optional)
            .map(|file| file.of(stack, env))
            // A regular file the stack's own listing has on disk is what the model would say
            // is there, at a fraction of the cost: `tfw stacks` asks for every env of every
            // stack.
            .filter(|file| {
                !here
                    .entry(file)
                    .is_some_and(|(status, symlink)| !symlink && status.on_disk())
            })
            .map(|file| self.input(stack, &file))
            // A file outside the repository is not the repository's to report.
            .filter_map(|input| match input.status {
                Some(status) if status.on_disk() => None,
                _ => input.path,
            })
            .collect())
    }
}

/// One kind of env file of a stack: its backend config or one of its var files.
pub struct EnvFile<'a> {
    pub pattern: &'a EnvPattern,
    /// Passed only when it exists, never missing.
    pub optional: bool,
    pub backend: bool,
}

/// The env files of a stack's settings: its backend config, then its var files.
fn env_files<'a>(config: &config::StackConfig<'a>) -> Vec<EnvFile<'a>> {
    let backend = config.backend_config.map(|b| EnvFile {
        pattern: &b.pattern,
        optional: b.optional,
        backend: true,
    });
    backend
        .into_iter()
        .chain(config.var_files.iter().map(|v| EnvFile {
            pattern: &v.pattern,
            optional: v.optional,
            backend: false,
        }))
        .collect()
}

impl EnvFile<'_> {
    /// The file of `env` in `stack`, relative to the stack directory.
    pub fn of(&self, stack: &Stack, env: &str) -> String {
        match self.backend {
            true => stack.backend_file(env, self.pattern),
            false => self
                .pattern
                .path_for(env, &stack.path)
                .to_string_lossy()
                .into_owned(),
        }
    }
}

/// Whether the terraform files among `names` in `dir` have a `backend` or `cloud` block. A
/// line scan, not a parse: discovery reads every terraform directory of the repository.
fn declares_state(dir: &Path, names: &[&str]) -> bool {
    names
        .iter()
        .filter(|name| is_terraform_file(name))
        .any(|name| {
            let Ok(text) = std::fs::read_to_string(dir.join(name)) else {
                return false;
            };
            match name.ends_with(".json") {
                true => text.contains("\"backend\"") || text.contains("\"cloud\""),
                false => text.lines().map(str::trim_start).any(|line| {
                    line.strip_prefix("backend")
                        .is_some_and(|rest| rest.trim_start().starts_with('"'))
                        || line
                            .strip_prefix("cloud")
                            .is_some_and(|rest| rest.trim_start().starts_with('{'))
                }),
            }
        })
}

/// The names `{env}` takes in the files of `pattern` that are present in the stack at `dir`:
/// as listed, or, below a symbolic link to a directory (`tfvars -> ../tfvars`, which the
/// listing does not follow), as on disk.
fn discover_raw(
    pattern: &EnvPattern,
    files: &listing::Subtree,
    keep: fn(Status) -> bool,
    dir: Option<&Path>,
) -> Vec<String> {
    pattern.discover_with(
        |sub| {
            let listed: Vec<Cow<str>> = files
                .names_in(sub, keep)
                .into_iter()
                .map(Cow::Borrowed)
                .collect();
            match dir.filter(|dir| listed.is_empty() && through_link(dir, sub)) {
                Some(dir) => std::fs::read_dir(dir.join(sub))
                    .into_iter()
                    .flatten()
                    .filter_map(|e| e.ok()?.file_name().into_string().ok())
                    .map(Cow::Owned)
                    .collect(),
                None => listed,
            }
        },
        |file| {
            files.status(file).is_some_and(keep)
                || dir.is_some_and(|dir| through_link(dir, file) && dir.join(file).is_file())
        },
    )
}

/// Whether `relative` (from `dir`) is or lies below a symbolic link in `dir`.
fn through_link(dir: &Path, relative: &str) -> bool {
    let first = relative.split('/').next().unwrap_or_default();
    !first.is_empty()
        && dir
            .join(first)
            .symlink_metadata()
            .is_ok_and(|m| m.file_type().is_symlink())
}

/// Backend types of Terraform's documented naming `<env>.<type>.tfbackend`.
const BACKEND_TYPES: &[&str] = &[
    "s3",
    "gcs",
    "azurerm",
    "local",
    "remote",
    "consul",
    "cos",
    "oss",
    "pg",
    "http",
    "kubernetes",
];

/// Under the default `{env}.tfbackend`, `dev.s3` (from `dev.s3.tfbackend`) is env `dev` with a
/// typed backend file; a plain `dev.tfbackend` wins when both exist. Returns the env names
/// and the typed files by env.
fn typed_names(
    pattern: &EnvPattern,
    names: Vec<String>,
) -> (Vec<String>, BTreeMap<String, String>) {
    let default = EnvPattern::new(config::DEFAULT_BACKEND).expect("valid default");
    if *pattern != default {
        return (names, BTreeMap::new());
    }
    let plain: Vec<String> = names.clone();
    let mut typed = BTreeMap::new();
    let mut envs = Vec::new();
    for name in names {
        match name.rsplit_once('.') {
            Some((env, kind)) if BACKEND_TYPES.contains(&kind) => {
                if !plain.iter().any(|p| p == env) {
                    typed.insert(env.to_string(), pattern.file_for(&name));
                }
                envs.push(env.to_string());
            }
            _ => envs.push(name),
        }
    }
    envs.sort();
    envs.dedup();
    (envs, typed)
}

/// Fails when `dir` cannot be listed: it would look empty, a stack without envs.
fn readable(dir: &Path) -> Result<(), crate::error::Error> {
    match std::fs::read_dir(dir) {
        Ok(_) => Ok(()),
        Err(e) => Err(crate::error::Error::Unreadable {
            path: dir.to_path_buf(),
            message: e.kind().to_string(),
        }),
    }
}

/// A stack's path as the listing names directories: `""` for the root.
pub fn listing_dir(stack_path: &str) -> &str {
    if stack_path == "." { "" } else { stack_path }
}

/// `dir` relative to `root` as a `/`-separated string, `.` for the root itself.
fn relative_path(root: &Path, dir: &Path) -> String {
    match dir.strip_prefix(root) {
        Ok(relative) if relative.as_os_str().is_empty() => ".".to_string(),
        Ok(relative) => crate::paths::normalize(relative)
            .to_string_lossy()
            .into_owned(),
        Err(_) => dir.to_string_lossy().into_owned(),
    }
}

/// `stack/file` for display, without a leading `./` for the root stack.
pub fn join_display(stack_path: &str, file: &Path) -> String {
    if stack_path == "." {
        file.to_string_lossy().into_owned()
    } else {
        format!("{stack_path}/{}", file.to_string_lossy())
    }
}

#[cfg(test)]
mod tests {
    use super::fixture::{isolated_tempdir, touch as write};
    use super::*;
    use std::fs;

    /// A root stack with two envs.
    const ROOT_STACK: &[&str] = &["main.tf", "stg.tfbackend", "prd.tfbackend"];

    #[test]
    fn discovery_finds_stacks_dedups_symlinks_and_skips_the_rest() {
        let dir = isolated_tempdir();
        let root = dir.path();
        write(root, ROOT_STACK);
        write(
            root,
            &[
                "datadog/main.tf",
                "datadog/stg.tfbackend",
                "real/metabase/main.tf.json",
                "real/metabase/dev.tfbackend",
                "modules/net/main.tf",
                ".terraform/modules/copy/main.tf",
                ".terraform/modules/copy/stg.tfbackend",
                "legacy/old/main.tf",
                "legacy/old/stg.tfbackend",
                "notes/readme.md",
                "notes/stg.tfbackend",
            ],
        );
        std::os::unix::fs::symlink(root.join("real/metabase"), root.join("metabase")).unwrap();
        std::os::unix::fs::symlink(root, root.join("datadog/loop")).unwrap();
        fs::write(
            root.join("tfw.toml"),
            "exclude = [\"legacy/**\", \"legacy\"]\n",
        )
        .unwrap();
        let repo = Repo::open(root).unwrap();
        let stacks = repo.stacks(Presence::OnDisk).unwrap();
        let paths: Vec<&str> = stacks.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(paths, [".", "datadog", "real/metabase"]);
        assert_eq!(stacks[0].envs, ["prd", "stg"]);
        assert_eq!(stacks[0].name(), "root");
        assert_eq!(stacks[2].envs, ["dev"]);
    }

    #[test]
    fn symlinks_outside_the_root_are_reported_not_followed() {
        let dir = isolated_tempdir();
        let outside = isolated_tempdir();
        write(outside.path(), &["main.tf", "stg.tfbackend"]);
        write(dir.path(), &["tfw.toml"]);
        std::os::unix::fs::symlink(outside.path(), dir.path().join("sibling")).unwrap();
        std::os::unix::fs::symlink("/", dir.path().join("rootfs")).unwrap();
        let repo = Repo::open(dir.path()).unwrap();
        assert!(repo.stacks(Presence::OnDisk).unwrap().is_empty());
        let links: Vec<String> = repo
            .outside_links()
            .unwrap()
            .into_iter()
            .map(|l| l.path)
            .collect();
        assert_eq!(links, ["rootfs", "sibling"]);
    }

    #[test]
    fn per_stack_envs_narrow_and_missing_files_are_named() {
        let dir = isolated_tempdir();
        let root = dir.path();
        write(root, ROOT_STACK);
        write(
            root,
            &[
                "stg.tfvars",
                "schemaspy/main.tf",
                "schemaspy/stg.tfbackend",
                "schemaspy/prd.tfbackend",
            ],
        );
        fs::write(
            root.join("tfw.toml"),
            "[stacks.\"schemaspy\"]\nenvs = [\"stg\"]\n",
        )
        .unwrap();
        let repo = Repo::open(root).unwrap();
        let stacks = repo.stacks(Presence::OnDisk).unwrap();
        assert_eq!(stacks[1].envs, ["stg"]);
        assert_eq!(
            repo.missing_files(&stacks[0], "prd").unwrap(),
            ["prd.tfvars"]
        );
        assert_eq!(
            repo.missing_files(&stacks[1], "stg").unwrap(),
            ["schemaspy/stg.tfvars"]
        );
        let here = repo.stack_at(&root.join("schemaspy")).unwrap();
        assert_eq!(
            (here.path.as_str(), here.envs.as_slice()),
            ("schemaspy", &["stg".to_string()][..])
        );
    }
}
