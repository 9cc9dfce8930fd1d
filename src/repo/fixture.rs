//! Repositories for unit tests: a temporary directory no `.git` above it can claim, files
//! written into it, git run in it.

use std::path::Path;

/// A temp dir that no `.git` above it (a repository in /tmp) can claim: git's ceiling is set,
/// once, to the temp dir's parent, as the integration tests' builder does.
pub fn isolated_tempdir() -> tempfile::TempDir {
    static CEILING: std::sync::Once = std::sync::Once::new();
    CEILING.call_once(|| {
        let parent = std::env::temp_dir();
        let parent = parent.canonicalize().unwrap_or(parent);
        // SAFETY: every test sets the same value, once, and reads the environment through
        // std, whose lock orders this write against those reads.
        unsafe { std::env::set_var("GIT_CEILING_DIRECTORIES", parent) };
    });
    tempfile::tempdir().unwrap()
}

/// Writes each `(path, text)` under `root`, creating directories.
pub fn write(root: &Path, files: &[(&str, &str)]) {
    for (file, text) in files {
        let path = root.join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// Creates each of `files` under `root`, empty.
pub fn touch(root: &Path, files: &[&str]) {
    let empty: Vec<(&str, &str)> = files.iter().map(|f| (*f, "")).collect();
    write(root, &empty);
}

/// Runs git in `dir`, which must succeed; its standard output.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let output = std::process::Command::new("git")
        .args(["-c", "init.templateDir="])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}
