//! Lexical path arithmetic: tidy a relative path without touching the disk.

use std::path::{Component, Path, PathBuf};

/// `a/./b/../c` → `a/c`, without touching the disk.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                let above = matches!(
                    out.components().next_back(),
                    None | Some(Component::ParentDir)
                );
                if above || !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_table() {
        for (input, expected) in [
            ("a/./b/../c", "a/c"),
            ("./modules/x", "modules/x"),
            ("../m", "../m"),
            ("a/../../b", "../b"),
            ("../../b", "../../b"),
        ] {
            assert_eq!(normalize(Path::new(input)), Path::new(expected), "{input}");
        }
    }
}
