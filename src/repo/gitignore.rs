//! Which untracked paths git ignores: `.gitignore` files (loaded only for directories where an
//! untracked file turns up), `.git/info/exclude` and `core.excludesFile`, with git's precedence.

use ignore::gitignore::{Gitignore, GitignoreBuilder};
use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub struct Ignores {
    /// The work tree's top: `.gitignore` files are looked for from here down.
    top: PathBuf,
    /// `info/exclude` then `core.excludesFile`: consulted after every `.gitignore`.
    fallback: Vec<Gitignore>,
    /// Each directory's own `.gitignore`, by path relative to the top (`""` for the top).
    per_dir: RefCell<HashMap<String, Option<Gitignore>>>,
}

impl Ignores {
    pub fn new(top: &Path, git_dir: &Path) -> Self {
        let mut exclude = GitignoreBuilder::new(top);
        exclude.add(git_dir.join("info/exclude"));
        let fallback = [exclude.build().ok(), Some(Gitignore::global().0)]
            .into_iter()
            .flatten()
            .collect();
        Self {
            top: top.to_path_buf(),
            fallback,
            per_dir: RefCell::default(),
        }
    }

    /// Whether git ignores `path` (relative to the top): the deepest `.gitignore` with a rule
    /// for it, or for a directory above it, decides.
    pub fn is_ignored(&self, path: &str, is_dir: bool) -> bool {
        let absolute = self.top.join(path);
        let mut dirs: Vec<&str> = path.match_indices('/').map(|(i, _)| &path[..i]).collect();
        dirs.insert(0, "");
        for dir in dirs.iter().rev() {
            let decided = self.with_dir(dir, |matcher| {
                let found = matcher.matched_path_or_any_parents(&absolute, is_dir);
                (!found.is_none()).then(|| found.is_ignore())
            });
            if let Some(ignored) = decided {
                return ignored;
            }
        }
        self.fallback
            .iter()
            .map(|m| m.matched_path_or_any_parents(&absolute, is_dir))
            .find(|m| !m.is_none())
            .is_some_and(|m| m.is_ignore())
    }

    fn with_dir(&self, dir: &str, decide: impl FnOnce(&Gitignore) -> Option<bool>) -> Option<bool> {
        let mut cache = self.per_dir.borrow_mut();
        let matcher = cache.entry(dir.to_string()).or_insert_with(|| {
            let file = self.top.join(dir).join(".gitignore");
            file.is_file().then(|| Gitignore::new(&file).0)
        });
        decide(matcher.as_ref()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deeper_rules_win_and_ignored_directories_cover_their_files() {
        let dir = tempfile::tempdir().unwrap();
        let top = dir.path();
        std::fs::create_dir_all(top.join(".git/info")).unwrap();
        std::fs::create_dir_all(top.join("a/b")).unwrap();
        std::fs::write(top.join(".gitignore"), "*.tfvars\nbuild/\n").unwrap();
        std::fs::write(top.join("a/.gitignore"), "!keep.tfvars\n").unwrap();
        std::fs::write(top.join(".git/info/exclude"), "local.tfbackend\n").unwrap();
        let ignores = Ignores::new(top, &top.join(".git"));
        assert!(ignores.is_ignored("x.tfvars", false));
        assert!(ignores.is_ignored("a/b/x.tfvars", false));
        assert!(!ignores.is_ignored("a/keep.tfvars", false));
        assert!(ignores.is_ignored("build", true));
        assert!(ignores.is_ignored("build/stg.tfbackend", false));
        assert!(ignores.is_ignored("a/local.tfbackend", false));
        assert!(!ignores.is_ignored("a/stg.tfbackend", false));
    }
}
