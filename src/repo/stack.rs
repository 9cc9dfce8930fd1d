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

    /// The stack's `.tf` and `.tf.json` files as they are on disk now, by name, with their text.
    pub fn terraform_sources(&self) -> Vec<(String, String)> {
        let mut sources: Vec<(String, String)> = std::fs::read_dir(&self.dir)
            .into_iter()
            .flatten()
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|name| super::is_terraform_file(name))
            .filter_map(|name| {
                let text = std::fs::read_to_string(self.dir.join(&name)).ok()?;
                Some((name, text))
            })
            .collect();
        sources.sort();
        sources
    }

    /// The backend config file of `env`, relative to the stack: its typed name when that is
    /// what the stack has, else what `pattern` names.
    pub fn backend_file(&self, env: &str, pattern: &EnvPattern) -> String {
        self.typed_backends
            .get(env)
            .cloned()
            .unwrap_or_else(|| pattern.file_for(env))
    }
}
