//! One stack: a directory where terraform runs, and its envs.

use std::path::PathBuf;

/// One stack and its envs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stack {
    /// Where its commands run.
    pub dir: PathBuf,
    /// Relative to the repository root, `.` for the root itself.
    pub path: String,
    /// See `name()`.
    pub(super) name: String,
    pub envs: Vec<String>,
}

impl Stack {
    /// Used in headers, summaries and Atlantis project names: tfw.toml's `name`, else the
    /// path (`root` for the root stack).
    pub fn name(&self) -> &str {
        &self.name
    }
}
