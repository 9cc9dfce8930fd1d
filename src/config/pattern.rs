//! File name patterns with an `{env}` placeholder: substitution and discovery of env names.

use std::path::{Component, Path, PathBuf};

const PLACEHOLDER: &str = "{env}";

/// A path relative to the stack directory, such as `{env}.tfvars` or `env/{env}/backend.tfbackend`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvPattern(String);

impl EnvPattern {
    /// Fails with the reason when the pattern leaves the stack directory. A pattern without
    /// `{env}` names one file shared by all envs (`common.tfvars`).
    pub fn new(pattern: &str) -> Result<Self, String> {
        if pattern.is_empty() {
            return Err("the pattern is empty: name a file, e.g. `{env}.tfvars`".into());
        }
        if pattern.ends_with('/')
            || pattern
                .rsplit('/')
                .next()
                .is_some_and(|n| n == "." || n == "..")
        {
            return Err(format!(
                "pattern `{pattern}` names a directory: end it with a file name"
            ));
        }
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
        if pattern.rsplit('/').next() == Some(PLACEHOLDER) {
            return Err(format!(
                "pattern `{pattern}` would make every file there an env: give the file name a fixed part, e.g. `{PLACEHOLDER}.tfbackend`"
            ));
        }
        Self::new(pattern)
    }

    /// Whether the pattern names a different file per env (`{env}.tfvars`, not `common.tfvars`).
    pub fn is_per_env(&self) -> bool {
        self.0.contains(PLACEHOLDER)
    }

    /// What the file name of every file this pattern names ends with (all of it when the last
    /// component has no placeholder): a cheap test to skip the bulk of a repository's files.
    pub fn name_suffix(&self) -> &str {
        let last = self.0.rsplit('/').next().unwrap_or(&self.0);
        last.rsplit_once(PLACEHOLDER)
            .map_or(last, |(_, suffix)| suffix)
    }

    /// The path for one env, as text with `/` separators.
    pub fn file_for(&self, env: &str) -> String {
        self.0.replace(PLACEHOLDER, env)
    }

    /// The path for one env, relative to the stack directory.
    pub fn for_env(&self, env: &str) -> PathBuf {
        PathBuf::from(self.file_for(env))
    }

    /// How many path components the pattern has (`env/{env}/backend.tfbackend`: 3).
    pub fn depth(&self) -> usize {
        self.0.split('/').count()
    }

    /// Every env whose file exists, sorted, from a listing: `names_in(dir)` lists a directory relative to the stack,
    /// `exists(file)` says whether a file relative to the stack exists. Names are not validated.
    pub fn discover_with<S: AsRef<str>>(
        &self,
        names_in: impl FnOnce(&str) -> Vec<S>,
        exists: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        let Some((prefix, _)) = self.0.split_once(PLACEHOLDER) else {
            return Vec::new();
        };
        let (fixed_dir, component_start) = match prefix.rfind('/') {
            Some(i) => (&prefix[..i], i + 1),
            None => ("", 0),
        };
        let component = self.0[component_start..].split('/').next().unwrap_or("");
        let mut envs: Vec<String> = names_in(fixed_dir)
            .iter()
            .filter_map(|name| match_template(component, name.as_ref()))
            .filter(|env| exists(&self.file_for(env)))
            .collect();
        envs.sort();
        envs.dedup();
        envs
    }
}

/// The value of `{env}` that turns `template` into `text`: one path component, never empty.
fn match_template(template: &str, text: &str) -> Option<String> {
    let (prefix, suffix) = template.split_once(PLACEHOLDER)?;
    let rest = text.strip_prefix(prefix)?;
    if !suffix.contains(PLACEHOLDER) {
        // One placeholder, the usual case: what lies between the literal parts.
        let candidate = rest.strip_suffix(suffix)?;
        return (!candidate.is_empty() && !candidate.contains('/')).then(|| candidate.to_string());
    }
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
    fn name_suffix_is_the_literal_end_of_the_last_component() {
        assert_eq!(
            EnvPattern::new("{env}.tfvars").unwrap().name_suffix(),
            ".tfvars"
        );
        assert_eq!(
            EnvPattern::new("env/{env}/backend.tfbackend")
                .unwrap()
                .name_suffix(),
            "backend.tfbackend"
        );
        assert_eq!(
            EnvPattern::new("common.tfvars").unwrap().name_suffix(),
            "common.tfvars"
        );
        assert_eq!(EnvPattern::new("x/{env}").unwrap().name_suffix(), "");
    }
}
