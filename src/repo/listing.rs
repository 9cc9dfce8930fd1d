//! The files of a repository as git and the working tree see them, read fast: in a git work
//! tree, the index (each entry checked against the disk the way `git status` does) plus the
//! untracked files of the directories that matter; elsewhere, a walk. Both apply one filter.

use crate::parallel::in_parallel;
use crate::repo::git_index::{self, GitDir, ObjectId};
use crate::repo::gitignore::Ignores;
use crate::repo::listing_cache::{
    self, DirNames, DirStat, IndexFiles, Kind, ListingCache, Tracked,
};
use globset::GlobSet;
use std::borrow::Cow;
use std::cell::{OnceCell, RefCell};
use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::Path;

/// Where a listed file stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Tracked by git and in the working tree.
    Tracked,
    /// In the working tree, not tracked, not ignored.
    Untracked,
    /// In the working tree, not tracked, ignored by a `.gitignore` rule.
    Ignored,
    /// Tracked by git, gone from the working tree (deleted, not yet staged).
    Deleted,
    /// Tracked by git and deliberately outside a sparse checkout.
    SkipWorktree,
    /// In the working tree of a directory that is not in git.
    NotInGit,
}

impl Status {
    /// Whether terraform would find the file.
    pub fn on_disk(self) -> bool {
        matches!(
            self,
            Self::Tracked | Self::Untracked | Self::Ignored | Self::NotInGit
        )
    }
}

/// Which files a listing keeps. Hidden directories (`.git`, `.terraform`, `.github`) and
/// `exclude`d ones never hold a stack, and an `exclude`d file (`**/template.tfvars`) is never
/// read; symlinks are always kept (broken ones are reported).
pub struct Filter<'a> {
    pub exclude: &'a GlobSet,
    pub relevant: &'a (dyn Fn(&str) -> bool + Sync),
    /// What `exclude` and `relevant` were made from: the listing cache holds for these only.
    pub rules: &'a str,
}

impl Filter<'_> {
    pub fn keep(&self, path: &str, symlink: bool) -> bool {
        (symlink || (self.relevant)(path))
            && !is_hidden(path)
            && !self.excludes_dir(path)
            && !path
                .match_indices('/')
                .any(|(i, _)| self.excludes_dir(&path[..i]))
    }

    fn excludes_dir(&self, dir: &str) -> bool {
        !self.exclude.is_empty() && self.exclude.is_match(dir)
    }
}

/// A path with a component starting with `.`, save a lock file (the one hidden file that
/// matters).
fn is_hidden(path: &str) -> bool {
    let (dirs, name) = path.rsplit_once('/').unwrap_or(("", path));
    dirs.starts_with('.') || dirs.contains("/.") || is_hidden_file(name)
}

fn is_hidden_file(name: &str) -> bool {
    name.starts_with('.') && name != crate::repo::LOCK_FILE
}

/// The part of a repository to list: a directory and how deep below it.
#[derive(Debug, Clone, Copy)]
pub struct Scope<'a> {
    /// Relative to the root, `""` for the root itself.
    pub dir: &'a str,
    /// Files at most this many components below `dir` (1: its own files); `None`: all.
    pub depth: Option<usize>,
}

impl Scope<'_> {
    pub const ALL: Scope<'static> = Scope {
        dir: "",
        depth: None,
    };

    /// How many directories `path` lies below the scope's directory (0: directly in it);
    /// `None` when it is not below it.
    fn level(&self, path: &str) -> Option<usize> {
        let below = if self.dir.is_empty() {
            path
        } else {
            path.strip_prefix(self.dir)?.strip_prefix('/')?
        };
        Some(below.matches('/').count())
    }

    /// Whether the file `path` is within the scope.
    fn contains(&self, path: &str) -> bool {
        match self.depth {
            None if self.dir.is_empty() => true,
            _ => self
                .level(path)
                .is_some_and(|level| self.depth.is_none_or(|depth| level < depth)),
        }
    }

    /// Whether files in the directory `dir` can be within the scope.
    fn reaches_into(&self, dir: &str) -> bool {
        self.level(dir)
            .is_some_and(|level| self.depth.is_none_or(|depth| level + 1 < depth))
    }
}

/// One listed file's facts, aligned with its path.
#[derive(Debug, Clone, Copy)]
struct Meta {
    status: Status,
    symlink: bool,
    /// The git object id of the content in the working tree, when known without reading it
    /// (tracked, stat data unchanged since it was staged).
    id: Option<ObjectId>,
    /// Its size as last `stat`ed (see `Subtree::size_of`).
    size: Option<u32>,
}

/// Paths relative to the root, `/`-separated, sorted, stored back to back (a big repository
/// has tens of thousands: one allocation, not one each).
#[derive(Default)]
pub struct Listing {
    text: String,
    /// Where each path ends in `text`.
    ends: Vec<usize>,
    meta: Vec<Meta>,
    /// The tree git's index holds, when it has it cached (see `is_tree`).
    tree: Option<ObjectId>,
}

impl Listing {
    /// Lists `scope` of the repository at `root` (absolute).
    /// With `content_ids`, tracked files whose stat data are unchanged carry their content's
    /// object id (one `stat` each); without, reading each directory is all it costs.
    pub fn read(
        root: &Path,
        filter: &Filter,
        scope: Scope,
        content_ids: bool,
    ) -> anyhow::Result<Self> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        Self::read_at(root, filter, scope, content_ids, now)
    }

    /// `read` at `now` (seconds since the epoch), which decides what is recent enough not to
    /// be kept in the listing cache.
    fn read_at(
        root: &Path,
        filter: &Filter,
        scope: Scope,
        content_ids: bool,
        now: i64,
    ) -> anyhow::Result<Self> {
        match git_index::locate(root) {
            Some(git) => git_files(root, &git, filter, scope, content_ids, now),
            None => Ok(Self::of(walk(root, filter, scope), None)),
        }
    }

    /// The listing of `files` (in any order, perhaps twice).
    fn of(mut files: Vec<File>, tree: Option<ObjectId>) -> Self {
        // Directories are read in path order: usually only untracked files need sorting in.
        if !files.is_sorted_by(|a, b| a.0 <= b.0) {
            files.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        }
        files.dedup_by(|a, b| a.0 == b.0);
        let mut listing = Listing {
            text: String::with_capacity(files.iter().map(|(path, _)| path.len()).sum()),
            ends: Vec::with_capacity(files.len()),
            meta: Vec::with_capacity(files.len()),
            tree,
        };
        for (path, meta) in files {
            listing.text.push_str(&path);
            listing.ends.push(listing.text.len());
            listing.meta.push(meta);
        }
        listing
    }

    fn path(&self, index: usize) -> &str {
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        &self.text[start..self.ends[index]]
    }

    /// Whether the listed files are those of git's `tree`, exactly: the index holds that tree,
    /// and every listed file is tracked with the content git's stat data vouch for (a listing
    /// read with content ids). Files the listing leaves out (not relevant, excluded) are not
    /// compared.
    pub fn is_tree(&self, tree: &ObjectId) -> bool {
        self.tree.as_ref() == Some(tree) && self.unstaged().next().is_none()
    }

    /// The tree git's index holds, when it has it cached.
    pub fn tree(&self) -> Option<&ObjectId> {
        self.tree.as_ref()
    }

    /// The listed files whose content git's index does not vouch for: untracked, ignored,
    /// deleted, outside a sparse checkout, or changed (or possibly changed) since staged.
    pub fn unstaged(&self) -> impl Iterator<Item = &str> {
        (0..self.ends.len())
            .filter(|i| self.meta[*i].status != Status::Tracked || self.meta[*i].id.is_none())
            .map(|i| self.path(i))
    }

    /// The listed symbolic links that are on disk.
    pub fn symlinks(&self) -> impl Iterator<Item = &str> {
        (0..self.ends.len())
            .filter(|i| self.meta[*i].symlink && self.meta[*i].status.on_disk())
            .map(|i| self.path(i))
    }

    /// Every listed path with its status.
    pub fn files(&self) -> impl Iterator<Item = (&str, Status)> {
        (0..self.ends.len()).map(|i| (self.path(i), self.meta[i].status))
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
#[derive(Clone)]
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

    /// Every file of the subtree, relative to it: its status, whether it is a symbolic link,
    /// and its content's id when known without reading it.
    pub fn entries(
        &self,
    ) -> impl Iterator<Item = (&'a str, Status, bool, Option<&'a ObjectId>)> + '_ {
        self.range.clone().map(|i| {
            let meta = &self.listing.meta[i];
            (
                self.relative(i),
                meta.status,
                meta.symlink,
                meta.id.as_ref(),
            )
        })
    }

    /// The status of a file relative to the subtree; `None`: neither in git nor on disk.
    pub fn status(&self, relative: &str) -> Option<Status> {
        Some(self.listing.meta[self.find(relative)?].status)
    }

    /// The status of a file relative to the subtree and whether it is a symbolic link.
    pub fn entry(&self, relative: &str) -> Option<(Status, bool)> {
        let meta = self.listing.meta[self.find(relative)?];
        Some((meta.status, meta.symlink))
    }

    /// Whether a regular file is on disk, as listed; `None` for a symbolic link (what it points
    /// to is the disk's to say).
    pub fn regular_on_disk(&self, relative: &str) -> Option<bool> {
        match self.find(relative).map(|i| self.listing.meta[i]) {
            Some(meta) if meta.symlink => None,
            Some(meta) => Some(meta.status.on_disk()),
            None => Some(false),
        }
    }

    /// The git object id of the file's working-tree content, when known without reading it.
    pub fn id_of(&self, relative: &str) -> Option<&'a ObjectId> {
        self.listing.meta[self.find(relative)?].id.as_ref()
    }

    /// The size of the file at `relative` when the listing `stat`ed it: what reading it most
    /// likely gives (a hint: it may have changed since).
    pub fn size_of(&self, relative: &str) -> Option<u32> {
        self.listing.meta[self.find(relative)?].size
    }

    /// The symbolic links directly at the subtree's top, relative to it, that are on disk.
    pub fn top_symlinks(&self) -> impl Iterator<Item = &'a str> + '_ {
        self.range
            .clone()
            .filter(|i| self.listing.meta[*i].symlink && self.listing.meta[*i].status.on_disk())
            .map(|i| self.relative(i))
            .filter(|f| !f.contains('/'))
    }

    /// The names directly in `dir` (relative; `""` for the subtree's top), files and
    /// directories, of entries whose status passes `keep`.
    pub fn names_in(&self, dir: &str, keep: fn(Status) -> bool) -> Vec<&'a str> {
        let prefix = if dir.is_empty() {
            String::new()
        } else {
            format!("{dir}/")
        };
        let mut names: Vec<&'a str> = self
            .range
            .clone()
            .filter(|i| keep(self.listing.meta[*i].status))
            .map(|i| self.relative(i))
            .filter_map(|f| f.strip_prefix(prefix.as_str()))
            .map(|f| f.split('/').next().unwrap_or_default())
            .collect();
        names.dedup();
        names
    }
}

/// A listed path: a tracked one borrowed from the index's entries, any other owned.
type File<'a> = (Cow<'a, str>, Meta);

/// The index's relevant entries, relative to the root (`prefix` is the root relative to the
/// work tree's top), and every directory git has a file in; why not when the index is one
/// neither tfw nor git can read.
fn index_files(git: &GitDir, filter: &Filter, prefix: &str) -> Result<IndexFiles, String> {
    let mut tracked: Vec<Tracked> = Vec::new();
    // Every directory git has a file in, relevant or not: a directory on disk that is not
    // among them holds only untracked files.
    let mut git_dirs: HashSet<String> = HashSet::new();
    let mut last_parent = String::from("\0");
    let info = git_index::read(git, &mut |entry| {
        let Some(entry) = entry else {
            tracked.clear();
            git_dirs.clear();
            last_parent = String::from("\0");
            return;
        };
        // A path that is not UTF-8 cannot be named in tfw.toml or an env pattern: not listed.
        let Some(path) = std::str::from_utf8(entry.path)
            .ok()
            .and_then(|p| p.strip_prefix(prefix))
        else {
            return;
        };
        let parent = parent_of(path);
        if parent != last_parent {
            last_parent = parent.to_string();
            let mut dir = parent;
            while git_dirs.insert(dir.to_string()) && !dir.is_empty() {
                dir = parent_of(dir);
            }
        }
        if filter.keep(path, entry.is_symlink()) {
            tracked.push(Tracked {
                path: path.to_string(),
                staged: entry.stat,
                id: entry.id.copied(),
                skip_worktree: entry.skip_worktree,
                symlink: entry.is_symlink(),
            });
        }
    })?;
    Ok(IndexFiles {
        tracked,
        git_dirs: git_dirs.into_iter().collect(),
        index_time: info.time,
        tree: info.tree,
    })
}

/// The index's entries within `scope`, checked against the disk, plus the untracked files of
/// every directory that holds a kept tracked file (and of new directories found there). What
/// was read is kept in the listing cache for the next run.
fn git_files(
    root: &Path,
    git: &GitDir,
    filter: &Filter,
    scope: Scope,
    content_ids: bool,
    now: i64,
) -> anyhow::Result<Listing> {
    let prefix = match root.strip_prefix(&git.top).ok().and_then(Path::to_str) {
        Some("") => String::new(),
        Some(relative) => format!("{relative}/"),
        None => anyhow::bail!("{} is not inside its git work tree", root.display()),
    };
    let mut cache = ListingCache::open(git, format!("{prefix}\0{}", filter.rules));
    let key = listing_cache::index_key(&git.index, git.id_len);
    if key.as_deref().and_then(|key| cache.index(key)).is_none() {
        // Neither tfw nor git can read this index (a broken `.git`): what is tracked, ignored
        // or checked out cannot be told, and listing the disk instead would pass a check that
        // git itself fails.
        let files = index_files(git, filter, &prefix).map_err(|why| {
            anyhow::anyhow!(
                "cannot read the git index {}: {why} (git fails on it too: move it away and run `git reset` to rebuild it from HEAD)",
                git.index.display()
            )
        })?;
        // An index without a checksum is never found in the cache (no key is empty).
        cache.set_index(key.unwrap_or_default(), files);
    }
    let (listing, read) = {
        let files = cache.current_index().expect("the index was just kept");
        let tracked: Vec<&Tracked> = files
            .tracked
            .iter()
            .filter(|t| scope.contains(&t.path))
            .collect();
        let git_dirs: HashSet<&str> = files.git_dirs.iter().map(String::as_str).collect();
        // The tracked entries of each directory, in name order (the index's): each directory's
        // names are matched against its own entries.
        let mut by_dir: HashMap<&str, Vec<&Tracked>> = HashMap::new();
        // The index holds a directory's files mostly in a row: one lookup for each run.
        for run in tracked.chunk_by(|a, b| parent_of(&a.path) == parent_of(&b.path)) {
            by_dir
                .entry(parent_of(&run[0].path))
                .or_default()
                .extend_from_slice(run);
        }
        let mut dirs: Vec<&str> = std::iter::once(scope.dir)
            .chain(by_dir.keys().copied())
            .collect();
        // Ancestors between the scope's directory and each parent, so that new directories
        // there are found too.
        for i in 0..dirs.len() {
            let mut dir = dirs[i];
            while dir.len() > scope.dir.len() {
                dir = parent_of(dir);
                dirs.push(dir);
            }
        }
        dirs.sort_unstable();
        dirs.dedup();
        let root_dir = &std::fs::File::open(root)?;
        let side = GitSide {
            root_dir,
            git_dirs: &git_dirs,
            top: &git.top,
            git_dir: &git.git_dir,
            prefix: &prefix,
            cache: &cache,
            now,
        };
        let index_time = files.index_time;
        let parts = in_parallel(&dirs, |part| {
            let walker = Walker {
                root,
                filter,
                scope,
                git: Some((&side, OnceCell::new())),
                read: RefCell::default(),
            };
            let mut files = Vec::new();
            for dir in part {
                let entries = by_dir.get(dir).map_or(&[][..], Vec::as_slice);
                let present = walker.read_dir(dir, entries, &mut files);
                let verifier = Verifier {
                    present: &present,
                    index_time,
                    content_ids,
                };
                verifier.verify(root_dir, dir, entries, &mut files);
            }
            (files, walker.read.into_inner())
        });
        let mut listed = Vec::with_capacity(parts.iter().map(|(files, _)| files.len()).sum());
        let mut read = Vec::new();
        for (files, dirs) in parts {
            listed.extend(files);
            read.extend(dirs);
        }
        (Listing::of(listed, files.tree), read)
    };
    cache.set_dirs(read);
    crate::cache::in_background(move || cache.save());
    Ok(listing)
}

/// The directory of a `/`-separated path (`""` for one at the top).
fn parent_of(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

/// The last component of a `/`-separated path.
fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// What tells a tracked file's status in one directory.
struct Verifier<'a> {
    /// Which of the directory's tracked files reading it found.
    present: &'a [bool],
    /// When the index was written: see `verify`.
    index_time: Option<(u32, u32)>,
    /// Whether to learn the content's object id from stat data (one `stat` per file).
    content_ids: bool,
}

impl Verifier<'_> {
    /// The status of each tracked file of `dir` in the working tree, and, when asked, its
    /// content id the way `git status` tells it: unchanged stat data vouch for the staged
    /// content's id; anything else means the content must be read.
    fn verify<'a>(
        &self,
        root: &std::fs::File,
        dir: &str,
        entries: &[&'a Tracked],
        out: &mut Vec<File<'a>>,
    ) {
        // Each file is looked up from its directory, opened once: most of a warm run is these
        // lookups.
        let opened = OnceCell::new();
        for (entry, present) in entries.iter().zip(self.present) {
            let path = &entry.path;
            let (status, id, size) = if entry.skip_worktree {
                (Status::SkipWorktree, None, None)
            } else if !present {
                (Status::Deleted, None, None)
            } else if !self.content_ids {
                (Status::Tracked, None, None)
            } else {
                let now = opened
                    .get_or_init(|| git_index::open_dir_at(root, dir))
                    .as_ref()
                    .and_then(|opened| git_index::stat_at(opened, file_name(path)));
                // Modified in the second the index was written: the stat data prove nothing
                // ("racily clean"), so the content is hashed instead.
                let unchanged = now.is_some_and(|now| {
                    entry.staged == Some(now)
                        && self.index_time.is_some_and(|written| now.mtime < written)
                });
                let id = entry.id.filter(|_| unchanged);
                (Status::Tracked, id, now.map(|now| now.size))
            };
            let meta = Meta {
                status,
                symlink: entry.symlink,
                id,
                size,
            };
            out.push((Cow::Borrowed(path.as_str()), meta));
        }
    }
}

/// Every file of `scope` on disk, outside git.
fn walk(root: &Path, filter: &Filter, scope: Scope) -> Vec<File<'static>> {
    let mut files = Vec::new();
    Walker {
        root,
        filter,
        scope,
        git: None,
        read: RefCell::default(),
    }
    .read_dir(scope.dir, &[], &mut files);
    files
}

/// What a walk inside a git work tree needs to tell tracked, untracked and ignored apart.
struct GitSide<'a> {
    git_dirs: &'a HashSet<&'a str>,
    top: &'a Path,
    git_dir: &'a Path,
    /// The root relative to the work tree's top (`""` or `dir/`): gitignore rules use the top.
    prefix: &'a str,
    /// The names of directories read before, trusted while their stat data are unchanged.
    cache: &'a ListingCache,
    /// The root, open: files and directories are looked up from it, not from `/`.
    root_dir: &'a std::fs::File,
    /// Seconds since the epoch when the listing began (see `DirStat::is_recent`).
    now: i64,
}

struct Walker<'a> {
    root: &'a Path,
    filter: &'a Filter<'a>,
    scope: Scope<'a>,
    /// In git: what git tracks, and its ignore rules, read on the first untracked path (most
    /// directories have none; each worker thread reads its own).
    git: Option<(&'a GitSide<'a>, OnceCell<Ignores>)>,
    /// The directories this walker read, to keep in the listing cache.
    read: RefCell<Vec<(String, DirStat, DirNames)>>,
}

impl Walker<'_> {
    fn is_ignored(&self, path: &str, is_dir: bool) -> bool {
        let Some((git, ignores)) = &self.git else {
            return false;
        };
        ignores
            .get_or_init(|| Ignores::new(git.top, git.git_dir))
            .is_ignored(&format!("{}{path}", git.prefix), is_dir)
    }
}

impl Walker<'_> {
    /// Lists one directory (relative to the root), descending into directories that hold only
    /// untracked files (all directories, outside git). Symlinks are listed, never followed:
    /// a directory inside the repository is found by its real path, and one outside is not
    /// the repository's.
    ///
    /// `tracked` are the directory's tracked files, in name order; returns which of them it
    /// saw: reading the directory is what tells that a tracked file is still there.
    fn read_dir(&self, dir: &str, tracked: &[&Tracked], out: &mut Vec<File<'_>>) -> Vec<bool> {
        let mut present = vec![false; tracked.len()];
        // An unreadable directory lists nothing: discovery lists what it can reach.
        let Some(names) = self.names(dir) else {
            return present;
        };
        let tracked_names: Vec<&str> = tracked.iter().map(|t| file_name(&t.path)).collect();
        for (name, kind) in names.iter() {
            if *kind != Kind::Dir
                && let Ok(i) = tracked_names.binary_search(&name.as_str())
            {
                present[i] = true;
                continue;
            }
            let path = if dir.is_empty() {
                name.clone()
            } else {
                format!("{dir}/{name}")
            };
            if *kind == Kind::Dir {
                if !self.scope.reaches_into(&path) {
                    continue;
                }
                let descend = match &self.git {
                    None => true,
                    Some((git, _)) => {
                        !git.git_dirs.contains(path.as_str()) && !self.is_ignored(&path, true)
                    }
                };
                if descend {
                    self.read_dir(&path, &[], out);
                }
                continue;
            }
            if !self.scope.contains(&path) {
                continue;
            }
            let status = match &self.git {
                None => Status::NotInGit,
                Some(_) if self.is_ignored(&path, false) => Status::Ignored,
                Some(_) => Status::Untracked,
            };
            let meta = Meta {
                status,
                symlink: *kind == Kind::Symlink,
                id: None,
                size: None,
            };
            out.push((Cow::Owned(path), meta));
        }
        present
    }

    /// The entries of `dir` the filter keeps (files) or that can hold some (directories not
    /// hidden or excluded): from the listing cache while the directory is unchanged.
    fn names(&self, dir: &str) -> Option<DirNames> {
        let absolute = self.root.join(dir);
        let git = self.git.as_ref().map(|(git, _)| git);
        // Taken before reading: a change made while reading leaves the kept stat data stale,
        // so the next run reads the directory again.
        let stat = match git {
            Some(git) => Some(DirStat::at(git.root_dir, dir)?),
            None => None,
        };
        if let (Some(git), Some(stat)) = (git, &stat)
            && let Some(names) = git.cache.dir(dir, stat)
        {
            return Some(names);
        }
        let mut names = DirNames::new();
        for entry in std::fs::read_dir(&absolute).ok()?.flatten() {
            let Ok(name) = entry.file_name().into_string() else {
                continue;
            };
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if name.starts_with('.') && (kind.is_dir() || is_hidden_file(&name)) {
                continue;
            }
            let path = if dir.is_empty() {
                name.clone()
            } else {
                format!("{dir}/{name}")
            };
            if kind.is_dir() {
                if !self.filter.excludes_dir(&path) {
                    names.push((name, Kind::Dir));
                }
            } else if self.filter.keep(&path, kind.is_symlink()) {
                let kind = match kind.is_symlink() {
                    true => Kind::Symlink,
                    false => Kind::File,
                };
                names.push((name, kind));
            }
        }
        if let (Some(git), Some(stat)) = (git, stat)
            && !stat.is_recent(git.now)
        {
            self.read
                .borrow_mut()
                .push((dir.to_string(), stat, names.clone()));
        }
        Some(names)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::fixture;

    fn listed(root: &Path, exclude: &GlobSet, scope: Scope) -> Vec<(String, Status)> {
        let filter = Filter {
            exclude,
            relevant: &|_| true,
            rules: "",
        };
        Listing::read(root, &filter, scope, false)
            .unwrap()
            .files()
            .map(|(p, s)| (p.to_string(), s))
            .collect()
    }

    /// Each file holds its own path, so that no two have the same content.
    fn write(root: &Path, files: &[&str]) {
        let named: Vec<(&str, &str)> = files.iter().map(|f| (*f, *f)).collect();
        fixture::write(root, &named);
    }

    fn git(root: &Path, args: &[&str]) {
        fixture::git(root, args);
    }

    #[test]
    fn subtrees_list_files_and_subdirectories() {
        let dir = tempfile::tempdir().unwrap();
        write(
            dir.path(),
            &[
                "a.tf",
                "env/dev/backend.tfbackend",
                "env/prd/backend.tfbackend",
                "envy.tf",
                "x/y.tf",
            ],
        );
        let listing = Listing::read(
            dir.path(),
            &Filter {
                exclude: &GlobSet::empty(),
                relevant: &|_| true,
                rules: "",
            },
            Scope::ALL,
            false,
        )
        .unwrap();
        let any = |_| true;
        let root = listing.subtree("");
        assert_eq!(root.names_in("", any), ["a.tf", "env", "envy.tf", "x"]);
        assert_eq!(root.names_in("env", any), ["dev", "prd"]);
        assert!(root.names_in("e", any).is_empty());
        let on_disk = |tree: &Subtree, path| tree.status(path).is_some_and(Status::on_disk);
        assert!(on_disk(&root, "x/y.tf") && !on_disk(&root, "x"));
        let env = listing.subtree("env");
        assert_eq!(env.names_in("", any), ["dev", "prd"]);
        assert!(on_disk(&env, "dev/backend.tfbackend") && !on_disk(&env, "a.tf"));
        assert!(listing.subtree("e").names_in("", any).is_empty());
        for path in ["a.tf", "env/prd/backend.tfbackend", "x/y.tf"] {
            assert_eq!(root.entry(path), Some((Status::NotInGit, false)), "{path}");
        }
        for path in ["", "a", "env", "env/dev", "x/y.tf/z", "zz.tf"] {
            assert_eq!(root.entry(path), None, "{path}");
        }
    }

    #[test]
    fn walk_skips_hidden_and_excluded_and_honours_the_scope() {
        let dir = crate::repo::fixture::isolated_tempdir();
        write(
            dir.path(),
            &[
                "main.tf",
                ".github/ci.yml",
                "legacy/a/main.tf",
                "src/b.tf",
                "src/deep/c.tf",
            ],
        );
        let exclude = globset::GlobSetBuilder::new()
            .add(globset::Glob::new("legacy/*").unwrap())
            .build()
            .unwrap();
        let all = listed(dir.path(), &exclude, Scope::ALL);
        let paths: Vec<&str> = all.iter().map(|f| f.0.as_str()).collect();
        assert_eq!(paths, ["main.tf", "src/b.tf", "src/deep/c.tf"]);
        assert!(all.iter().all(|f| f.1 == Status::NotInGit));
        let shallow = listed(
            dir.path(),
            &exclude,
            Scope {
                dir: "src",
                depth: Some(1),
            },
        );
        assert_eq!(shallow, [("src/b.tf".to_string(), Status::NotInGit)]);
    }

    #[test]
    fn git_statuses_follow_the_index_and_the_working_tree() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(
            root,
            &[
                "main.tf",
                "gone.tfvars",
                "edited.tfvars",
                "docs/readme.md",
                ".gitignore",
            ],
        );
        std::fs::write(root.join(".gitignore"), "*.secret.tfvars\n").unwrap();
        git(root, &["init", "-q"]);
        git(root, &["add", "-A"]);
        std::fs::remove_file(root.join("gone.tfvars")).unwrap();
        std::fs::write(root.join("edited.tfvars"), "changed size\n").unwrap();
        write(
            root,
            &[
                "new.tfvars",
                "a.secret.tfvars",
                "fresh/stack/main.tf",
                "docs/new/x.tf",
            ],
        );
        let all = listed(root, &GlobSet::empty(), Scope::ALL);
        let status = |p: &str| all.iter().find(|f| f.0 == p).map(|f| f.1);
        assert_eq!(status("main.tf"), Some(Status::Tracked));
        assert_eq!(status("edited.tfvars"), Some(Status::Tracked));
        assert_eq!(status("gone.tfvars"), Some(Status::Deleted));
        assert_eq!(status("new.tfvars"), Some(Status::Untracked));
        assert_eq!(status("a.secret.tfvars"), Some(Status::Ignored));
        assert_eq!(
            status("fresh/stack/main.tf"),
            Some(Status::Untracked),
            "a new directory is walked"
        );
        assert_eq!(status("docs/new/x.tf"), Some(Status::Untracked));
    }

    #[test]
    fn the_listing_cache_is_used_and_never_outlives_a_change() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        write(root, &["stack/main.tf", "stack/dev.tfvars", "other/x.tf"]);
        git(root, &["init", "-q"]);
        git(root, &["add", "-A"]);
        let filter = Filter {
            exclude: &GlobSet::empty(),
            relevant: &|_| true,
            rules: "",
        };
        // Seen from a minute later, nothing here is recent: every directory read is kept.
        let later = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64
            + 60;
        let list = || {
            let listing = Listing::read_at(root, &filter, Scope::ALL, true, later).unwrap();
            let files: Vec<(String, Status, bool)> = (0..listing.ends.len())
                .map(|i| {
                    let meta = listing.meta[i];
                    (listing.path(i).to_string(), meta.status, meta.id.is_some())
                })
                .collect();
            files
        };
        let first = list();
        let git_dir = git_index::locate(root).unwrap();
        let rules = "\0".to_string();
        let cache = ListingCache::open(&git_dir, rules);
        let stack = std::fs::metadata(root.join("stack")).unwrap();
        assert!(cache.dir("stack", &DirStat::of(&stack)).is_some());
        let key = listing_cache::index_key(&git_dir.index, 20).unwrap();
        assert!(cache.index(&key).is_some());
        assert_eq!(list(), first, "a second listing from the cache is the same");
        // A new file, a deleted one, an edited one, and a staged one: each is seen.
        write(root, &["stack/stg.tfvars"]);
        std::fs::remove_file(root.join("other/x.tf")).unwrap();
        std::fs::write(root.join("stack/main.tf"), "variable \"a\" {}\n").unwrap();
        let status = |files: &[(String, Status, bool)], path: &str| {
            files.iter().find(|f| f.0 == path).map(|f| (f.1, f.2))
        };
        let changed = list();
        assert_eq!(
            status(&changed, "stack/stg.tfvars"),
            Some((Status::Untracked, false))
        );
        assert_eq!(
            status(&changed, "other/x.tf"),
            Some((Status::Deleted, false))
        );
        assert_eq!(
            status(&changed, "stack/main.tf"),
            Some((Status::Tracked, false))
        );
        git(root, &["add", "-A"]);
        let staged = list();
        assert_eq!(
            status(&staged, "stack/stg.tfvars"),
            Some((Status::Tracked, true))
        );
        assert_eq!(status(&staged, "other/x.tf"), None);
    }
}
