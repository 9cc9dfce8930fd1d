//! File name patterns with an `{env}` placeholder: substitution and discovery of env names.

use std::path::{Component, Path, PathBuf};

pub const PLACEHOLDER: &str = "{env}";
/// The stack's path from the root, in the strings of tfw.toml.
pub const STACK: &str = "{stack}";
/// The repository root, in the strings of tfw.toml.
pub const ROOT_NAME: &str = "{root}";
/// A pattern's leading `{root}/`: the repository root, wherever the stack is.
const ROOT: &str = "{root}/";

/// A path relative to the stack directory, such as `{env}.tfvars` or `env/{env}/backend.tfbackend`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvPattern(String);

impl EnvPattern {
    /// A pattern relative to the stack directory, which may leave it (`../common/{env}.tfvars`)
    /// or start at the repository root (`{root}/shared/{env}.tfvars`). A pattern without `{env}`
    /// names one file shared by all envs (`common.tfvars`).
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
        if Path::new(pattern).is_absolute() {
            return Err(format!(
                "pattern `{pattern}` is absolute: write it relative to the stack directory, or from the repository root as `{ROOT}…`"
            ));
        }
        if pattern
            .strip_prefix(ROOT)
            .unwrap_or(pattern)
            .contains("{root}")
        {
            return Err(format!(
                "pattern `{pattern}`: `{{root}}` may only start a pattern"
            ));
        }
        Ok(Self(pattern.to_string()))
    }

    /// Whether the pattern names files outside the stack directory.
    pub fn leaves_stack(&self) -> bool {
        self.0.starts_with(ROOT)
            || Path::new(&self.0)
                .components()
                .any(|c| c == Component::ParentDir)
    }

    /// The file for one env as terraform is given it: relative to the stack directory at
    /// `stack_path` (from the root, `.` for the root), `{root}/` turned into `../`s.
    pub fn path_for(&self, env: &str, stack_path: &str) -> PathBuf {
        let file = self.file_for(env).replace(STACK, stack_path);
        match file.strip_prefix(ROOT) {
            Some(rest) => {
                let depth = if stack_path == "." {
                    0
                } else {
                    stack_path.split('/').count()
                };
                std::iter::repeat_n("..", depth).chain([rest]).collect()
            }
            None => PathBuf::from(file),
        }
    }

    /// The file for one env relative to the repository root (`/`-separated, normalised);
    /// `None` when it lies outside the repository.
    pub fn repo_path(&self, env: &str, stack_path: &str) -> Option<String> {
        let path =
            crate::paths::normalize(&Path::new(stack_path).join(self.path_for(env, stack_path)));
        let text = path.to_str()?;
        (!text.starts_with("..")).then(|| text.trim_start_matches("./").to_string())
    }

    /// The same files named from the repository root (`../account/{env}.tfvars` in
    /// `forms/api` is `forms/account/{env}.tfvars`); `None` outside the repository.
    pub fn named_from_root(&self, stack_path: &str) -> Option<Self> {
        self.repo_path(PLACEHOLDER, stack_path).map(Self)
    }

    /// Like `new`, but the pattern must tell envs apart (a backend config names one env's
    /// state; stacks may share one outside them, each with its own `key` in its block).
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
        assert!(EnvPattern::new("/etc/{env}.tfvars").is_err());
        assert!(EnvPattern::new("a/{root}/{env}.tfvars").is_err());
        assert!(EnvPattern::per_env("../{env}.tfbackend").is_ok());
        assert!(EnvPattern::per_env("{root}/{env}.tfbackend").is_ok());
    }

    #[test]
    fn patterns_may_leave_the_stack_and_stay_relative_to_it() {
        let up = EnvPattern::new("../common/{env}.tfvars").unwrap();
        let root = EnvPattern::new("{root}/shared/{env}.tfvars").unwrap();
        let here = EnvPattern::new("{env}.tfvars").unwrap();
        assert!(up.leaves_stack() && root.leaves_stack() && !here.leaves_stack());
        assert_eq!(
            root.path_for("stg", "infra/api"),
            Path::new("../../shared/stg.tfvars")
        );
        assert_eq!(root.path_for("stg", "."), Path::new("shared/stg.tfvars"));
        assert_eq!(
            up.path_for("stg", "infra/api"),
            Path::new("../common/stg.tfvars")
        );
        assert_eq!(
            root.repo_path("stg", "infra/api").as_deref(),
            Some("shared/stg.tfvars")
        );
        assert_eq!(
            up.repo_path("stg", "infra/api").as_deref(),
            Some("infra/common/stg.tfvars")
        );
        assert_eq!(here.repo_path("stg", ".").as_deref(), Some("stg.tfvars"));
        assert_eq!(up.repo_path("stg", "."), None, "outside the repository");
        let by_stack = EnvPattern::new("{root}/vars/{stack}/{env}.tfvars").unwrap();
        assert_eq!(
            by_stack.path_for("stg", "infra/api"),
            Path::new("../../vars/infra/api/stg.tfvars")
        );
        assert_eq!(
            by_stack.named_from_root("infra/api").unwrap(),
            EnvPattern::new("vars/infra/api/{env}.tfvars").unwrap()
        );
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
