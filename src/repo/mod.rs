//! Stacks: directories with terraform files and per-env files, found one at a time (the current
//! directory) or all at once below the repository root.

pub mod git_index;
pub mod listing;
pub mod paths;

use crate::config::env_name;
use crate::config::{self, Settings};
use globset::{Glob, GlobSet, GlobSetBuilder};
use std::collections::{BTreeMap, BTreeSet};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use walkdir::WalkDir;

/// The repository: its root and its settings.
pub struct Repo {
    pub root: PathBuf,
    pub settings: Settings,
}

/// One stack and its envs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stack {
    /// Where its commands run.
    pub dir: PathBuf,
    /// Relative to the repository root, `.` for the root itself.
    pub path: String,
    /// See `name()`.
    name: String,
    pub envs: Vec<String>,
}

impl Stack {
    /// Used in headers, summaries and Atlantis project names: tfw.toml's `name`, else the
    /// path (`root` for the root stack).
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Repo {
    /// The repository around `start` (see `config::find_root`) with its tfw.toml.
    pub fn open(start: &Path) -> anyhow::Result<Self> {
        let root = config::find_root(&std::path::absolute(start)?);
        let settings = Settings::load(&root)?;
        Ok(Self { root, settings })
    }

    /// The stack in `dir`, whatever it holds: the current directory is always a stack.
    pub fn stack_at(&self, dir: &Path) -> anyhow::Result<Stack> {
        let absolute = std::path::absolute(dir)?;
        let path = relative_path(&self.root, &absolute);
        Ok(Stack {
            dir: dir.to_path_buf(),
            envs: self.envs_of(dir, &path),
            name: self.name_of(&path),
            path,
        })
    }

    fn name_of(&self, path: &str) -> String {
        match self.settings.stacks.get(path).and_then(|s| s.name.clone()) {
            Some(name) => name,
            None if path == "." => "root".to_string(),
            None => path.to_string(),
        }
    }

    /// The envs of the stack in `dir`: tfw.toml's list or the backend files present, narrowed by
    /// `[stacks."<path>"] envs`.
    fn envs_of(&self, dir: &Path, path: &str) -> Vec<String> {
        if let Some(envs) = self.settings.stacks.get(path).and_then(|s| s.envs.clone()) {
            return envs;
        }
        match &self.settings.envs {
            Some(envs) => envs.clone(),
            None => self
                .settings
                .backend_config
                .discover(dir)
                .into_iter()
                .filter(|env| env_name::validate(env).is_ok())
                .collect(),
        }
    }

    /// Every stack below the root: a directory with a `*.tf` or `*.tf.json` file and the backend
    /// config of at least one env. Symlinked directories are followed; a stack reached through
    /// several paths is listed once. Hidden directories and `exclude` globs are skipped. The root
    /// stack comes first, then the others by path.
    pub fn stacks(&self) -> anyhow::Result<Vec<Stack>> {
        let exclude = exclude_set(&self.settings.exclude)?;
        let mut candidates = BTreeSet::new();
        let walk = WalkDir::new(&self.root)
            .follow_links(true)
            .into_iter()
            .filter_entry(|entry| {
                entry.depth() == 0
                    || !(is_hidden(entry.file_name())
                        || (entry.file_type().is_dir()
                            && exclude.is_match(
                                entry
                                    .path()
                                    .strip_prefix(&self.root)
                                    .unwrap_or(entry.path()),
                            )))
            });
        // Unreadable entries and symlink loops are skipped: discovery lists what it can reach.
        for entry in walk.flatten() {
            if entry.file_type().is_file()
                && is_terraform_file(entry.file_name())
                && let Some(parent) = entry.path().parent()
            {
                candidates.insert(parent.to_path_buf());
            }
        }
        let mut by_target: BTreeMap<PathBuf, Stack> = BTreeMap::new();
        for dir in candidates {
            let path = relative_path(&self.root, &dir);
            let envs = self.envs_of(&dir, &path);
            let has_backend = envs.iter().any(|env| {
                dir.join(self.settings.backend_config.for_env(env))
                    .is_file()
            });
            if !has_backend {
                continue;
            }
            let target = dir.canonicalize().unwrap_or_else(|_| dir.clone());
            let stack = Stack {
                dir: dir.clone(),
                name: self.name_of(&path),
                path,
                envs,
            };
            // Of several paths to one directory, keep the real one (else the first by path).
            let is_real = target == dir;
            by_target
                .entry(target)
                .and_modify(|kept| {
                    if is_real {
                        *kept = stack.clone()
                    }
                })
                .or_insert(stack);
        }
        let mut stacks: Vec<Stack> = by_target.into_values().collect();
        stacks.sort_by(|a, b| (a.path != ".", &a.path).cmp(&(b.path != ".", &b.path)));
        Ok(stacks)
    }

    /// The files `env` needs in `stack` that do not exist, relative to the root.
    pub fn missing_files(&self, stack: &Stack, env: &str) -> Vec<String> {
        std::iter::once(&self.settings.backend_config)
            .chain(&self.settings.var_files)
            .map(|pattern| pattern.for_env(env))
            .filter(|file| !stack.dir.join(file).is_file())
            .map(|file| join_display(&stack.path, &file))
            .collect()
    }
}

fn exclude_set(globs: &[String]) -> anyhow::Result<GlobSet> {
    let mut builder = GlobSetBuilder::new();
    for glob in globs {
        builder.add(Glob::new(glob)?);
    }
    Ok(builder.build()?)
}

fn is_hidden(name: &OsStr) -> bool {
    name.as_encoded_bytes().first() == Some(&b'.')
}

fn is_terraform_file(name: &OsStr) -> bool {
    name.to_str()
        .is_some_and(|n| n.ends_with(".tf") || n.ends_with(".tf.json"))
}

/// `dir` relative to `root` as a `/`-separated string, `.` for the root itself.
fn relative_path(root: &Path, dir: &Path) -> String {
    match dir.strip_prefix(root) {
        Ok(relative) if relative.as_os_str().is_empty() => ".".to_string(),
        Ok(relative) => relative.to_string_lossy().into_owned(),
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
    use super::*;
    use std::fs;

    fn write(root: &Path, files: &[&str]) {
        for file in files {
            let path = root.join(file);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, "").unwrap();
        }
    }

    #[test]
    fn discovery_finds_stacks_dedups_symlinks_and_skips_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            &[
                "main.tf",
                "stg.tfbackend",
                "prd.tfbackend",
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
        let stacks = repo.stacks().unwrap();
        let paths: Vec<&str> = stacks.iter().map(|s| s.path.as_str()).collect();
        assert_eq!(paths, [".", "datadog", "real/metabase"]);
        assert_eq!(stacks[0].envs, ["prd", "stg"]);
        assert_eq!(stacks[0].name(), "root");
        assert_eq!(stacks[2].envs, ["dev"]);
    }

    #[test]
    fn symlinked_stack_outside_the_real_path_is_listed_by_its_link() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        write(outside.path(), &["main.tf", "stg.tfbackend"]);
        fs::create_dir(dir.path().join(".git")).unwrap();
        std::os::unix::fs::symlink(outside.path(), dir.path().join("shared")).unwrap();
        let stacks = Repo::open(dir.path()).unwrap().stacks().unwrap();
        assert_eq!(stacks.len(), 1);
        assert_eq!(stacks[0].path, "shared");
    }

    #[test]
    fn per_stack_envs_narrow_and_missing_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            &[
                "main.tf",
                "stg.tfbackend",
                "prd.tfbackend",
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
        let stacks = repo.stacks().unwrap();
        assert_eq!(stacks[1].envs, ["stg"]);
        assert_eq!(repo.missing_files(&stacks[0], "prd"), ["prd.tfvars"]);
        assert_eq!(
            repo.missing_files(&stacks[1], "stg"),
            ["schemaspy/stg.tfvars"]
        );
        let here = repo.stack_at(&root.join("schemaspy")).unwrap();
        assert_eq!(
            (here.path.as_str(), here.envs.as_slice()),
            ("schemaspy", &["stg".to_string()][..])
        );
    }
}
