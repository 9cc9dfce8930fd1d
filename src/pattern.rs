//! File name patterns with an `{env}` placeholder: substitution and discovery of env names.

use std::fs;
use std::path::{Component, Path, PathBuf};

const PLACEHOLDER: &str = "{env}";

/// A path relative to the stack directory, such as `{env}.tfvars` or `env/{env}/backend.tfbackend`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvPattern(String);

impl EnvPattern {
    /// Fails with the reason when the pattern leaves the stack directory. A pattern without
    /// `{env}` names one file shared by all envs (`common.tfvars`).
    pub fn new(pattern: &str) -> Result<Self, String> {
        let path = Path::new(pattern);
        if path.is_absolute() || path.components().any(|c| c == Component::ParentDir) {
            return Err(format!(
                "pattern `{pattern}` must stay inside the stack directory (no leading `/`, no `..`)"
            ));
        }
        Ok(Self(pattern.to_string()))
    }

    /// Like `new`, but the pattern must tell envs apart (backend configs are never shared).
    pub fn per_env(pattern: &str) -> Result<Self, String> {
        if !pattern.contains(PLACEHOLDER) {
            return Err(format!(
                "pattern `{pattern}` has no `{PLACEHOLDER}` placeholder"
            ));
        }
        Self::new(pattern)
    }

    /// The path for one env, relative to the stack directory.
    pub fn for_env(&self, env: &str) -> PathBuf {
        PathBuf::from(self.0.replace(PLACEHOLDER, env))
    }

    /// Every env whose file exists in `stack`, sorted. Only the directory holding the
    /// placeholder is listed, so discovery costs one `read_dir`.
    pub fn discover(&self, stack: &Path) -> Vec<String> {
        let (prefix, _) = self.0.split_once(PLACEHOLDER).unwrap_or((&self.0, ""));
        let (fixed_dir, component_start) = match prefix.rfind('/') {
            Some(i) => (&prefix[..i], i + 1),
            None => ("", 0),
        };
        let component = self.0[component_start..].split('/').next().unwrap_or("");
        let Ok(entries) = fs::read_dir(stack.join(fixed_dir)) else {
            return Vec::new();
        };
        let mut envs: Vec<String> = entries
            .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
            .filter_map(|name| match_template(component, &name))
            .filter(|env| stack.join(self.for_env(env)).is_file())
            .collect();
        envs.sort();
        envs
    }
}

/// The value of `{env}` that turns `template` into `text`: one path component, never empty.
fn match_template(template: &str, text: &str) -> Option<String> {
    let (prefix, _) = template.split_once(PLACEHOLDER)?;
    let rest = text.strip_prefix(prefix)?;
    let limit = rest.find('/').unwrap_or(rest.len());
    (1..=limit)
        .map(|end| &rest[..end])
        .filter(|candidate| rest.is_char_boundary(candidate.len()))
        .find(|candidate| template.replace(PLACEHOLDER, candidate) == text)
        .map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Template(&'static str);

    impl Template {
        fn env_of(&self, text: &str) -> Option<String> {
            match_template(self.0, text)
        }
    }

    #[test]
    fn pattern_without_placeholder_is_rejected_where_per_env() {
        assert!(EnvPattern::new("common.tfvars").is_ok());
        assert!(EnvPattern::per_env("common.tfvars").is_err());
        assert_eq!(match_template("common.tfvars", "common.tfvars"), None);
        assert!(EnvPattern::new("../{env}.tfvars").is_err());
        assert!(EnvPattern::new("/etc/{env}.tfvars").is_err());
    }

    #[test]
    fn templates_match_flat_and_nested_patterns() {
        let flat = Template("{env}.tfbackend");
        assert_eq!(flat.env_of("stg.tfbackend").as_deref(), Some("stg"));
        assert_eq!(flat.env_of("stg.eu.tfbackend").as_deref(), Some("stg.eu"));
        assert_eq!(flat.env_of("stg.tfvars"), None);
        assert_eq!(flat.env_of("a/stg.tfbackend"), None);
        let nested = Template("env/{env}/backend.tfbackend");
        assert_eq!(
            nested.env_of("env/prd/backend.tfbackend").as_deref(),
            Some("prd")
        );
        assert_eq!(nested.env_of("env/prd/other.tfbackend"), None);
        let twice = Template("environments/{env}/{env}.tfvars");
        assert_eq!(
            twice.env_of("environments/dev/dev.tfvars").as_deref(),
            Some("dev")
        );
        assert_eq!(twice.env_of("environments/dev/stg.tfvars"), None);
    }

    #[test]
    fn discover_lists_existing_files_only() {
        let dir = tempfile::tempdir().unwrap();
        for f in ["stg.tfbackend", "prd.tfbackend", "stg.tfvars", "notes.txt"] {
            fs::write(dir.path().join(f), "").unwrap();
        }
        fs::create_dir(dir.path().join("x.tfbackend")).unwrap();
        let p = EnvPattern::new("{env}.tfbackend").unwrap();
        assert_eq!(p.discover(dir.path()), ["prd", "stg"]);

        fs::create_dir_all(dir.path().join("env/dev")).unwrap();
        fs::create_dir_all(dir.path().join("env/empty")).unwrap();
        fs::write(dir.path().join("env/dev/backend.tfbackend"), "").unwrap();
        let nested = EnvPattern::new("env/{env}/backend.tfbackend").unwrap();
        assert_eq!(nested.discover(dir.path()), ["dev"]);
    }
}
