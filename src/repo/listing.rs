//! The files of a repository as one sorted list: git's index when the root is in a git work
//! tree (what pre-commit checks is what is tracked; no walk), else a walk that skips hidden dirs.

use crate::repo::git_index::{self, ObjectId};
use anyhow::Context as _;
use globset::GlobSet;
use std::ops::Range;
use std::path::Path;
use walkdir::WalkDir;

/// Paths relative to the root, `/`-separated, sorted, stored back to back (a big repository
/// has tens of thousands: one allocation, not one each).
#[derive(Default)]
pub struct Listing {
    text: String,
    /// Where each path ends in `text`.
    ends: Vec<usize>,
    /// Git's object id of each file, aligned with the paths; empty when not listed by git.
    ids: Vec<ObjectId>,
    /// Whether each file is a symbolic link, aligned with the paths.
    symlink: Vec<bool>,
}

impl Listing {
    /// Lists the repository at `root`, leaving out hidden and `exclude`d directories, and files
    /// for which `relevant` is false (symlinks are always kept).
    pub fn read(
        root: &Path,
        exclude: &GlobSet,
        relevant: &dyn Fn(&str) -> bool,
    ) -> anyhow::Result<Self> {
        let filter = Filter { exclude, relevant };
        match git_files(root, &filter) {
            Some(listing) => Ok(listing),
            None => walk(root, &filter),
        }
    }

    fn push(&mut self, path: &str, id: Option<ObjectId>, symlink: bool) {
        self.text.push_str(path);
        self.ends.push(self.text.len());
        self.ids.extend(id);
        self.symlink.push(symlink);
    }

    fn path(&self, index: usize) -> &str {
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        &self.text[start..self.ends[index]]
    }

    pub fn paths(&self) -> impl Iterator<Item = &str> {
        (0..self.ends.len()).map(|i| self.path(i))
    }

    /// The files below `dir` (`""` for the root), with paths relative to it. Lookups in a
    /// subtree search only its own files.
    pub fn subtree(&self, dir: &str) -> Subtree<'_> {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let count = self.ends.len();
        let start = partition_point(0..count, |i| self.path(i) < prefix.as_str());
        let end = partition_point(start..count, |i| self.path(i).starts_with(&prefix));
        Subtree {
            listing: self,
            range: start..end,
            prefix_len: prefix.len(),
        }
    }
}

/// The first index in `range` for which `before` is false (it must be true, then false).
fn partition_point(range: Range<usize>, before: impl Fn(usize) -> bool) -> usize {
    let (mut low, mut high) = (range.start, range.end);
    while low < high {
        let middle = low + (high - low) / 2;
        if before(middle) {
            low = middle + 1
        } else {
            high = middle
        }
    }
    low
}

/// The files below one directory of a listing.
pub struct Subtree<'a> {
    listing: &'a Listing,
    range: Range<usize>,
    prefix_len: usize,
}

impl<'a> Subtree<'a> {
    fn relative(&self, index: usize) -> &'a str {
        &self.listing.path(index)[self.prefix_len..]
    }

    fn find(&self, relative: &str) -> Option<usize> {
        let index = partition_point(self.range.clone(), |i| self.relative(i) < relative);
        (index < self.range.end && self.relative(index) == relative).then_some(index)
    }

    pub fn contains(&self, relative: &str) -> bool {
        self.find(relative).is_some()
    }

    /// Git's object id of a file, when the listing came from git.
    pub fn id_of(&self, relative: &str) -> Option<&'a ObjectId> {
        self.listing.ids.get(self.find(relative)?)
    }

    /// The symbolic links directly at the subtree's top, relative to it.
    pub fn top_symlinks(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.range
            .clone()
            .filter(|i| self.listing.symlink[*i])
            .map(|i| self.relative(i))
            .filter(|f| !f.contains('/'))
    }

    /// The names directly in `dir` (relative; `""` for the subtree's top): files and directories.
    pub fn names_in(&self, dir: &str) -> Vec<&'a str> {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let mut names: Vec<&'a str> = self
            .range
            .clone()
            .map(|i| self.relative(i))
            .filter_map(|f| f.strip_prefix(prefix.as_str()))
            .map(|f| f.split('/').next().unwrap_or_default())
            .collect();
        names.dedup();
        names
    }
}

/// The tracked files below `root` when it is inside a git work tree; `None` outside. The index
/// is read directly; git itself only when the index uses a format tfw does not read.
fn git_files(root: &Path, filter: &Filter) -> Option<Listing> {
    let (top, git_dir) = git_index::locate(root)?;
    let prefix = match root.strip_prefix(&top).ok()?.to_str()? {
        "" => String::new(),
        relative => format!("{relative}/"),
    };
    let collect = |entries: &mut dyn FnMut(git_index::Visitor) -> Option<()>| {
        let mut listing = Listing::default();
        entries(&mut |path, mode, id| {
            let symlink = mode == git_index::MODE_SYMLINK;
            if let Some(path) = path
                .strip_prefix(prefix.as_str())
                .filter(|p| filter.keep(p, symlink))
            {
                listing.push(path, Some(*id), symlink);
            }
        })?;
        Some(listing)
    };
    collect(&mut |visit| git_index::read(&git_dir, visit))
        .or_else(|| collect(&mut |visit| ls_files(&top, visit)))
}

/// `git ls-files --stage -z` in the work tree `top`, each entry given to `visit`.
fn ls_files(top: &Path, visit: git_index::Visitor) -> Option<()> {
    let output = std::process::Command::new("git")
        .args(["ls-files", "--stage", "-z"])
        .current_dir(top)
        .stderr(std::process::Stdio::null())
        .output()
        .ok()
        .filter(|o| o.status.success())?;
    let mut previous = String::new();
    // Each record: `<mode> <object> <stage>\t<path>\0`.
    for record in output.stdout.split(|b| *b == 0).filter(|r| !r.is_empty()) {
        let text = String::from_utf8_lossy(record);
        let (meta, path) = text.split_once('\t')?;
        let mut fields = meta.split(' ');
        let mode = u32::from_str_radix(fields.next()?, 8).ok()?;
        let id = git_index::parse_hex(fields.next()?)?;
        // A file in a merge conflict has several stages: keep one.
        if path != previous {
            visit(path, mode, &id);
            previous = path.to_string();
        }
    }
    Some(())
}

fn walk(root: &Path, filter: &Filter) -> anyhow::Result<Listing> {
    let mut files = Vec::new();
    let entries = WalkDir::new(root).into_iter().filter_entry(|e| {
        let relative = e.path().strip_prefix(root).unwrap_or(e.path());
        e.depth() == 0
            || !(e.file_name().as_encoded_bytes().first() == Some(&b'.')
                || (e.file_type().is_dir() && filter.exclude.is_match(relative)))
    });
    for entry in entries {
        let entry = entry.with_context(|| format!("listing {}", root.display()))?;
        if entry.file_type().is_dir() {
            continue;
        }
        let relative = entry
            .path()
            .strip_prefix(root)?
            .to_string_lossy()
            .into_owned();
        files.push((relative, entry.path_is_symlink()));
    }
    files.sort();
    let mut listing = Listing::default();
    for (path, symlink) in files
        .iter()
        .filter(|(path, symlink)| filter.keep(path, *symlink))
    {
        listing.push(path, None, *symlink);
    }
    Ok(listing)
}

/// Which files a listing keeps.
struct Filter<'a> {
    exclude: &'a GlobSet,
    relevant: &'a dyn Fn(&str) -> bool,
}

impl Filter<'_> {
    /// Hidden directories (`.git`, `.terraform`, `.github`) and `exclude`d ones hold no stack.
    fn keep(&self, path: &str, symlink: bool) -> bool {
        (symlink || (self.relevant)(path))
            && !(path.starts_with('.') || path.as_bytes().windows(2).any(|pair| pair == b"/."))
            && (self.exclude.is_empty()
                || !path
                    .match_indices('/')
                    .any(|(i, _)| self.exclude.is_match(&path[..i])))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subtrees_list_files_and_subdirectories() {
        let mut listing = Listing::default();
        for file in [
            "a.tf",
            "env/dev/backend.tfbackend",
            "env/prd/backend.tfbackend",
            "envy.tf",
            "x/y.tf",
        ] {
            listing.push(file, None, false);
        }
        let root = listing.subtree("");
        assert_eq!(root.names_in(""), ["a.tf", "env", "envy.tf", "x"]);
        assert_eq!(root.names_in("env"), ["dev", "prd"]);
        assert!(root.names_in("e").is_empty());
        assert!(root.contains("x/y.tf") && !root.contains("x"));
        let env = listing.subtree("env");
        assert_eq!(env.names_in(""), ["dev", "prd"]);
        assert!(env.contains("dev/backend.tfbackend") && !env.contains("a.tf"));
        assert!(listing.subtree("e").names_in("").is_empty());
    }

    #[test]
    fn git_index_or_walk_skip_hidden_and_excluded() {
        let dir = tempfile::tempdir().unwrap();
        for file in ["main.tf", ".github/ci.yml", "legacy/a/main.tf", "src/b.tf"] {
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        let exclude = globset::GlobSetBuilder::new()
            .add(globset::Glob::new("legacy/*").unwrap())
            .build()
            .unwrap();
        let walked = Listing::read(dir.path(), &exclude, &|_| true).unwrap();
        assert_eq!(walked.paths().collect::<Vec<_>>(), ["main.tf", "src/b.tf"]);
        assert!(walked.ids.is_empty());
        let git = |args: &[&str]| {
            std::process::Command::new("git")
                .args(args)
                .current_dir(dir.path())
                .output()
                .unwrap()
        };
        git(&["init", "-q"]);
        git(&["add", "main.tf", "legacy", ".github"]);
        let indexed = Listing::read(dir.path(), &exclude, &|_| true).unwrap();
        assert_eq!(
            indexed.paths().collect::<Vec<_>>(),
            ["main.tf"],
            "untracked src/b.tf is not listed"
        );
        let empty_blob = git_index::parse_hex("e69de29bb2d1d6434b8b29ae775ad8c2e48c5391").unwrap();
        assert_eq!(
            indexed.subtree("").id_of("main.tf"),
            Some(&empty_blob),
            "the empty blob"
        );
    }
}
