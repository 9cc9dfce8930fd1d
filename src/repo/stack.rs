//! One stack: a directory where terraform runs, and its envs.

use crate::config::pattern::EnvPattern;
use std::collections::BTreeMap;
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
    /// Envs whose backend config has Terraform's typed name (`dev.s3.tfbackend` for `dev`).
    pub(super) typed_backends: BTreeMap<String, String>,
}

impl Stack {
    /// Used in headers, summaries and Atlantis project names: tfw.toml's `name`, else the
    /// path (`root` for the root stack).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The backend config file of `env`, relative to the stack: its typed name when that is
    /// what the stack has, else what `pattern` names.
    pub fn backend_file(&self, env: &str, pattern: &EnvPattern) -> String {
        self.typed_backends.get(env).cloned().unwrap_or_else(|| {
            pattern
                .path_for(env, &self.path)
                .to_string_lossy()
                .into_owned()
        })
    }
}
