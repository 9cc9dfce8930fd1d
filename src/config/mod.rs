//! `tfw.toml`: finding it, parsing it strictly, and the validated settings it yields.

pub mod env_name;
pub mod pattern;
pub mod secret;

use crate::config::pattern::EnvPattern;
use crate::error::Error;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use toml::Spanned;

pub const FILE_NAME: &str = "tfw.toml";
/// The backend config pattern when tfw.toml names none.
pub const DEFAULT_BACKEND: &str = "{env}.tfbackend";

/// Where each env's terraform data (backend record, modules, providers) lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum DataDirMode {
    /// `.terraform/tfw/<env>`: envs never share an init.
    #[default]
    PerEnv,
    /// One `.terraform` for all envs, re-initialised on every switch (terraform.sh's behaviour).
    Shared,
}

/// Validated settings of a repository: defaults filled in, patterns checked.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Where the settings came from (`None`: defaults, no tfw.toml).
    pub file: Option<PathBuf>,
    pub envs: Option<Vec<String>>,
    pub protected: Vec<String>,
    /// Envs the default globs would protect that `protected` deliberately leaves out.
    pub unprotected: Vec<String>,
    pub var_files: Vec<VarFile>,
    /// `None`: `backend_config = false`, no backend file in any env.
    pub backend_config: Option<VarFile>,
    pub binary: Option<String>,
    /// `workspace`: the terraform workspace of every env (`{env}`).
    pub workspace: Option<String>,
    pub data_dir: DataDirMode,
    /// `vars`, `env_vars` and `[args]` of every stack and env.
    pub additions: Additions,
    /// `[environments."<env>"]`: what one env has in every stack.
    pub environments: BTreeMap<String, EnvSettings>,
    /// `[check]`: how `tfw check` treats variables.
    pub check: CheckSettings,
    /// Globs (relative to the root) of directories stack discovery skips.
    pub exclude: Vec<String>,
    /// Per-stack settings, keyed by the stack's path relative to the root (`.` for the root).
    pub stacks: BTreeMap<String, StackSettings>,
    /// `[stacks."<glob>"]` blocks (`infra/*`), in file order: they apply to every stack whose
    /// path matches, before the stack's own block.
    pub stack_globs: Vec<StackGlob>,
    /// `[atlantis]`: what the generated atlantis.yaml says beyond projects and workflows.
    pub atlantis: AtlantisSettings,
    /// `[providers]`: what `tfw check` expects of the lock files.
    pub providers: ProvidersSettings,
    /// `plugin_cache`: the provider cache tfw gives terraform.
    pub plugin_cache: PluginCacheSetting,
}

/// tfw.toml's `plugin_cache`: `false`, `true` (the default cache) or a directory (`{root}/…`,
/// or relative to the root).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(untagged)]
pub enum PluginCacheSetting {
    #[default]
    #[serde(skip)]
    Default,
    On(bool),
    Dir(String),
}

/// `[providers]` in tfw.toml.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProvidersSettings {
    /// The platforms (`linux_amd64`) every lock file must carry an `h1:` checksum for; empty:
    /// the running one.
    #[serde(default)]
    pub platforms: Vec<String>,
}

/// `[atlantis]` in tfw.toml.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AtlantisSettings {
    /// Every project's `apply_requirements` (e.g. `["approved", "mergeable"]`).
    pub apply_requirements: Option<Vec<String>>,
    /// Plan automatically when a project's files change (default true).
    pub autoplan: Option<bool>,
    pub parallel_plan: Option<bool>,
    /// Every project's `terraform_version`.
    pub terraform_version: Option<String>,
}

/// A var file or backend config of tfw.toml: `"{env}.tfvars"`, or
/// `{ path = "…", optional = true }` for one passed only when it exists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VarFile {
    pub pattern: EnvPattern,
    pub optional: bool,
}

/// What tfw.toml adds to an env's terraform processes, at one level: the defaults, an env
/// (`[environments."<env>"]`) or a stack (`[stacks."<path>"]`). `{env}` is replaced in values.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Additions {
    /// `-var=NAME=VALUE`, after the var files.
    #[serde(default)]
    pub vars: BTreeMap<String, String>,
    /// The environment of every terraform process.
    #[serde(default)]
    pub env_vars: BTreeMap<String, String>,
    /// Arguments per terraform command, before the user's.
    #[serde(default)]
    pub args: BTreeMap<String, Vec<String>>,
    /// Backend settings, `-backend-config=KEY=VALUE` after any backend file.
    #[serde(default)]
    pub backend: BTreeMap<String, String>,
}

/// `[environments."<env>"]` in tfw.toml: what one env adds or changes in every stack (a stack's
/// own `var_files` / `backend_config` still win).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EnvSettings {
    pub var_files: Option<Vec<VarFile>>,
    pub backend_config: Option<Option<VarFile>>,
    pub workspace: Option<String>,
    pub additions: Additions,
}

/// A `[stacks."<glob>"]` block: its glob (a `*` stays within one path component) and settings.
#[derive(Debug, Clone)]
pub struct StackGlob {
    pub glob: String,
    matcher: globset::GlobMatcher,
    pub settings: StackSettings,
}

impl PartialEq for StackGlob {
    fn eq(&self, other: &Self) -> bool {
        (&self.glob, &self.settings) == (&other.glob, &other.settings)
    }
}

impl StackGlob {
    pub fn matches(&self, path: &str) -> bool {
        self.matcher.is_match(path)
    }
}

/// Whether a `[stacks."…"]` key is a glob rather than one stack's path.
fn is_glob(key: &str) -> bool {
    key.contains(['*', '?', '['])
}

/// `[check]` in tfw.toml (also per stack, added to the repository's).
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckSettings {
    /// Variables supplied at run time (`TF_VAR_…` in CI): never `unset`.
    #[serde(default)]
    pub from_environment: Vec<String>,
    /// Problem kinds not reported (the skip names of `PROBLEM_KINDS`).
    #[serde(default)]
    pub skip: Vec<String>,
}

/// Every kind of problem `tfw check` reports, as it reports it, and the name `[check] skip`
/// knows it by (none: it cannot be skipped).
pub const PROBLEM_KINDS: &[(&str, Option<&str>)] = &[
    ("missing", Some("missing")),
    ("orphan", Some("orphan")),
    ("shared-state", Some("shared-state")),
    ("invalid", Some("parse")),
    ("env-name", None),
    ("broken-symlink", None),
    ("undeclared", Some("undeclared")),
    ("unset", Some("unset")),
    ("type", Some("type")),
    ("providers", Some("providers")),
];

/// The kinds `[check] skip` may name.
fn skippable() -> impl Iterator<Item = &'static str> {
    PROBLEM_KINDS.iter().filter_map(|(_, skip)| *skip)
}

/// `[stacks."<path>"]` in tfw.toml: what differs in one stack.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StackSettings {
    /// The envs this stack has, narrowing the repository's.
    pub envs: Option<Vec<String>>,
    /// Its name in summaries and Atlantis project names (default: its path; `root` for `.`).
    pub name: Option<String>,
    pub var_files: Option<Vec<VarFile>>,
    /// `Some(None)`: `backend_config = false`.
    pub backend_config: Option<Option<VarFile>>,
    pub binary: Option<String>,
    pub data_dir: Option<DataDirMode>,
    pub workspace: Option<String>,
    pub additions: Additions,
    pub check: CheckSettings,
    /// Stacks (paths from the root) this one reads the state of, beyond what tfw infers.
    pub depends_on: Vec<String>,
    /// The line of its `[stacks."…"]` header.
    pub line: usize,
}

/// The settings of one stack: tfw.toml's defaults, `[environments]`, then the `[stacks]` globs
/// that match it in file order, then its own block (the most specific wins).
pub struct StackConfig<'a> {
    pub var_files: &'a [VarFile],
    /// `None`: no backend file (`backend_config = false`).
    pub backend_config: Option<&'a VarFile>,
    pub data_dir: DataDirMode,
    binary: Option<&'a str>,
    workspace: Option<&'a str>,
    settings: &'a Settings,
    /// The `[stacks]` blocks that apply, least specific first.
    blocks: Vec<&'a StackSettings>,
    /// The stack's path from the root, for `{stack}`.
    path: String,
}

impl StackConfig<'_> {
    /// Whether `tfw check` reports problems of `kind` in this stack.
    pub fn checks(&self, kind: &str) -> bool {
        let skip = |check: &CheckSettings| check.skip.iter().any(|k| k == kind);
        !skip(&self.settings.check) && !self.blocks.iter().any(|s| skip(&s.check))
    }

    /// Whether CI supplies `variable` at run time (`[check] from_environment`).
    pub fn supplied_at_run_time(&self, variable: &str) -> bool {
        let listed = |check: &CheckSettings| check.from_environment.iter().any(|v| v == variable);
        listed(&self.settings.check) || self.blocks.iter().any(|s| listed(&s.check))
    }

    /// The envs tfw.toml gives this stack (its blocks', else the repository's `envs`).
    pub fn own_envs(&self) -> Option<&[String]> {
        self.blocks.iter().rev().find_map(|s| s.envs.as_deref())
    }

    /// Stacks this one reads the state of, as its blocks list them.
    pub fn depends_on(&self) -> impl Iterator<Item = &String> {
        self.blocks.iter().flat_map(|s| s.depends_on.iter())
    }

    /// The additions for `env`, lowest precedence first.
    fn layers<'b>(&'b self, env: &str) -> impl Iterator<Item = &'b Additions> {
        std::iter::once(&self.settings.additions)
            .chain(self.settings.environments.get(env).map(|e| &e.additions))
            .chain(self.blocks.iter().map(|s| &s.additions))
    }

    /// `value` with `{env}`, `{stack}` and `{root}` replaced.
    pub fn expand(&self, value: &str, env: &str) -> String {
        expand(value, env, &self.path, self.settings.root())
    }

    fn merged(
        &self,
        env: &str,
        pick: fn(&Additions) -> &BTreeMap<String, String>,
    ) -> Vec<(String, String)> {
        let mut merged = BTreeMap::new();
        for layer in self.layers(env) {
            merged.extend(
                pick(layer)
                    .iter()
                    .map(|(k, v)| (k.clone(), self.expand(v, env))),
            );
        }
        merged.into_iter().collect()
    }

    /// `-var` values for `env`, by name.
    pub fn vars(&self, env: &str) -> Vec<(String, String)> {
        self.merged(env, |a| &a.vars)
    }

    /// The backend settings tfw.toml gives `env` (`backend = { … }`), by name.
    pub fn backend_settings(&self, env: &str) -> Vec<(String, String)> {
        self.merged(env, |a| &a.backend)
    }

    /// Environment variables of `env`'s terraform processes, by name.
    pub fn env_vars(&self, env: &str) -> Vec<(String, String)> {
        self.merged(env, |a| &a.env_vars)
    }

    /// Extra arguments of `command` for `env` (the most specific level that lists it).
    pub fn args(&self, command: &str, env: &str) -> Vec<String> {
        self.layers(env)
            .filter_map(|layer| layer.args.get(command))
            .last()
            .map(|args| args.iter().map(|a| self.expand(a, env)).collect())
            .unwrap_or_default()
    }

    /// The binary tfw.toml names for `env`, if any.
    pub fn binary(&self, env: &str) -> Option<String> {
        self.binary.map(|b| self.expand(b, env))
    }

    /// What would make `env` an env of this stack: its backend config, else its first var
    /// file, as named from the stack.
    pub fn env_file_hint(&self, env: &str) -> String {
        self.backend_config.or(self.var_files.first()).map_or_else(
            || format!("`envs` in {FILE_NAME}"),
            |f| {
                f.pattern
                    .path_for(env, &self.path)
                    .to_string_lossy()
                    .into_owned()
            },
        )
    }

    /// The workspace tfw.toml names for `env`, if any (`workspace = "{env}"`).
    pub fn workspace(&self, env: &str) -> Option<String> {
        self.workspace.map(|w| self.expand(w, env))
    }
}

/// `backend = { … }` without credentials: they belong in the environment (`AWS_*`,
/// `ARM_*`, `GOOGLE_*`), not in a file every clone has.
fn valid_backend(backend: BTreeMap<String, String>) -> Result<BTreeMap<String, String>, String> {
    match backend.keys().find(|key| secret::looks_secret(key)) {
        Some(key) => Err(format!(
            "`{key}` looks like a credential: tfw.toml is in every clone and tfw prints its backend settings; give it to the backend through the environment (e.g. AWS_SECRET_ACCESS_KEY, ARM_ACCESS_KEY, GOOGLE_CREDENTIALS) instead"
        )),
        None => Ok(backend),
    }
}

fn valid_check(check: CheckSettings) -> Result<CheckSettings, String> {
    match check
        .skip
        .iter()
        .find(|k| !skippable().any(|s| s == k.as_str()))
    {
        Some(kind) => Err(format!(
            "`skip`: unknown kind `{kind}` (kinds: {})",
            skippable().collect::<Vec<_>>().join(", ")
        )),
        None => Ok(check),
    }
}

/// The default `protected` globs.
const DEFAULT_PROTECTED: &[&str] = &["*prd*", "*prod*"];

/// A `protected` glob starting with this matches case-sensitively (regex's inline flag).
const CASE_SENSITIVE: &str = "(?-i)";

/// A `protected` glob: case-insensitive, as `PROD` or `weu-PRD` is production too, unless it
/// starts with `(?-i)`.
fn protection_glob(glob: &str) -> Result<globset::GlobMatcher, globset::Error> {
    let (glob, insensitive) = match glob.strip_prefix(CASE_SENSITIVE) {
        Some(rest) => (rest, false),
        None => (glob, true),
    };
    Ok(globset::GlobBuilder::new(glob)
        .case_insensitive(insensitive)
        .build()?
        .compile_matcher())
}

/// Whether the `protected` glob `glob` (validated at load) matches `env`. Each glob is
/// compiled once per thread: `--all` asks for every stack.
pub fn protection_matches(glob: &str, env: &str) -> bool {
    thread_local! {
        static COMPILED: std::cell::RefCell<BTreeMap<String, Option<globset::GlobMatcher>>> =
            const { std::cell::RefCell::new(BTreeMap::new()) };
    }
    COMPILED.with(|compiled| {
        compiled
            .borrow_mut()
            .entry(glob.to_string())
            .or_insert_with(|| protection_glob(glob).ok())
            .as_ref()
            .is_some_and(|matcher| matcher.is_match(env))
    })
}

/// `value` with `{env}`, `{stack}` (the stack's path from the root) and `{root}` (the
/// repository root, when tfw.toml says where it is) replaced.
pub fn expand(value: &str, env: &str, stack: &str, root: Option<&Path>) -> String {
    let value = value
        .replace(pattern::PLACEHOLDER, env)
        .replace(pattern::STACK, stack);
    match root {
        Some(root) => value.replace(pattern::ROOT_NAME, &root.to_string_lossy()),
        None => value,
    }
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            file: None,
            plugin_cache: PluginCacheSetting::Default,
            envs: None,
            protected: DEFAULT_PROTECTED.iter().map(|g| g.to_string()).collect(),
            unprotected: Vec::new(),
            var_files: vec![VarFile {
                pattern: EnvPattern::new("{env}.tfvars").expect("valid default"),
                optional: false,
            }],
            backend_config: Some(VarFile {
                pattern: EnvPattern::new(DEFAULT_BACKEND).expect("valid default"),
                optional: false,
            }),
            binary: None,
            workspace: None,
            data_dir: DataDirMode::PerEnv,
            additions: Additions::default(),
            environments: BTreeMap::new(),
            check: CheckSettings::default(),
            exclude: Vec::new(),
            stacks: BTreeMap::new(),
            stack_globs: Vec::new(),
            atlantis: AtlantisSettings::default(),
            providers: ProvidersSettings::default(),
        }
    }
}

/// Declares the tfw.toml tables, each with its own keys and the keys every level has (the
/// repository, `[stacks."<path>"]`, `[environments."<env>"]`), and `RawCommon`, those keys
/// taken out of any of them: written once here, as serde cannot combine
/// `deny_unknown_fields` (a misspelt key must be an error) with a flattened shared struct.
macro_rules! tables {
    (common $common:tt $($(#[$meta:meta])* struct $name:ident $fields:tt)*) => {
        table!(@common $common);
        $(table!($common $(#[$meta])* struct $name $fields);)*
    };
}

/// One table of `tables!`, or `RawCommon`.
macro_rules! table {
    (@common { $($common:ident: $common_type:ty,)* }) => {
        /// The keys every level of tfw.toml has, as written.
        struct RawCommon {
            $($common: $common_type,)*
        }
    };
    (
        { $($common:ident: $common_type:ty,)* }
        $(#[$meta:meta])* struct $name:ident { $($(#[$field_meta:meta])* $field:ident: $type:ty,)* }
    ) => {
        $(#[$meta])*
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct $name {
            $($(#[$field_meta])* $field: $type,)*
            $(#[serde(default)] $common: $common_type,)*
        }

        impl $name {
            /// The keys every level has, moved out.
            fn common(&mut self) -> RawCommon {
                RawCommon {
                    $($common: std::mem::take(&mut self.$common),)*
                }
            }
        }
    };
}

tables! {
    common {
        var_files: Option<Vec<Spanned<RawVarFile>>>,
        backend_config: Option<Spanned<RawBackendConfig>>,
        workspace: Option<String>,
        vars: BTreeMap<String, String>,
        env_vars: BTreeMap<String, String>,
        args: BTreeMap<String, Vec<String>>,
        backend: BTreeMap<String, String>,
    }

    /// tfw.toml as written.
    struct RawSettings {
        envs: Option<Vec<Spanned<String>>>,
        protected: Option<Vec<Spanned<String>>>,
        unprotected: Option<Vec<Spanned<String>>>,
        binary: Option<String>,
        data_dir: Option<DataDirMode>,
        exclude: Option<Vec<Spanned<String>>>,
        stacks: Option<BTreeMap<String, Spanned<RawStack>>>,
        environments: Option<BTreeMap<String, Spanned<RawEnv>>>,
        atlantis: Option<AtlantisSettings>,
        providers: Option<ProvidersSettings>,
        check: Option<Spanned<CheckSettings>>,
        #[serde(default)]
        plugin_cache: PluginCacheSetting,
    }

    /// A `[stacks."<path>"]` block.
    struct RawStack {
        envs: Option<Vec<String>>,
        name: Option<String>,
        binary: Option<String>,
        data_dir: Option<DataDirMode>,
        check: Option<CheckSettings>,
        depends_on: Option<Vec<String>>,
    }

    /// `[environments."<env>"]`.
    struct RawEnv {}
}

/// `backend_config`: a pattern, `{ path, optional }`, or `false` for none.
#[derive(Deserialize)]
#[serde(untagged)]
enum RawBackendConfig {
    Off(bool),
    File(RawVarFile),
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawVarFile {
    Path(String),
    Entry(RawVarFileEntry),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVarFileEntry {
    path: String,
    #[serde(default)]
    optional: bool,
}

impl Settings {
    /// Parses the text of a tfw.toml; errors name `path` and the line.
    pub fn parse(path: &Path, text: &str) -> Result<Self, Error> {
        let error = |span: Option<std::ops::Range<usize>>, message: String| Error::Config {
            path: path.to_path_buf(),
            line: span.map(|s| line_of(text, s.start)),
            message,
        };
        let mut raw: RawSettings = toml::from_str(text)
            .map_err(|e| error(e.span(), with_suggestion(e.message().trim())))?;
        let file = |key: &str,
                    entry: &RawVarFile,
                    span: std::ops::Range<usize>,
                    make: fn(&str) -> Result<EnvPattern, String>| {
            let (path, optional) = match entry {
                RawVarFile::Path(path) => (path, false),
                RawVarFile::Entry(e) => (&e.path, e.optional),
            };
            let pattern =
                make(path).map_err(|reason| error(Some(span), format!("`{key}`: {reason}")))?;
            Ok(VarFile { pattern, optional })
        };
        let var_files = |key: &str, list: &[Spanned<RawVarFile>]| {
            list.iter()
                .map(|entry| file(key, entry.get_ref(), entry.span(), EnvPattern::new))
                .collect::<Result<Vec<_>, Error>>()
        };
        // One env's backend config may be one file; elsewhere the pattern tells envs apart.
        let backend_config =
            |key: &str,
             raw: &Spanned<RawBackendConfig>,
             make: fn(&str) -> Result<EnvPattern, String>| match raw.get_ref() {
                RawBackendConfig::Off(false) => Ok(None),
                RawBackendConfig::Off(true) => Err(error(
                    Some(raw.span()),
                    format!("`{key}`: `true` names no file: give a pattern, or `false` for none"),
                )),
                RawBackendConfig::File(entry) => file(key, entry, raw.span(), make).map(Some),
            };
        // The keys every level has, validated; `key` names one in messages.
        let common = |raw: RawCommon,
                      key: &dyn Fn(&str) -> String,
                      span: Option<std::ops::Range<usize>>,
                      make: fn(&str) -> Result<EnvPattern, String>| {
            Ok::<_, Error>(EnvSettings {
                var_files: match &raw.var_files {
                    Some(list) => Some(var_files(&key("var_files"), list)?),
                    None => None,
                },
                backend_config: match &raw.backend_config {
                    Some(b) => Some(backend_config(&key("backend_config"), b, make)?),
                    None => None,
                },
                workspace: raw.workspace,
                additions: Additions {
                    vars: raw.vars,
                    env_vars: raw.env_vars,
                    args: raw.args,
                    backend: valid_backend(raw.backend)
                        .map_err(|e| error(span, format!("`{}`: {e}", key("backend"))))?,
                },
            })
        };
        let defaults = Settings::default();
        let shared = common(
            raw.common(),
            &|name| name.to_string(),
            None,
            EnvPattern::per_env,
        )?;
        let envs = match raw.envs {
            Some(envs) => Some(
                envs.iter()
                    .enumerate()
                    .map(|(i, env)| {
                        env_name::validate(env.get_ref())
                            .map_err(|e| error(Some(env.span()), format!("`envs`: {e}")))?;
                        if envs[..i].iter().any(|e| e.get_ref() == env.get_ref()) {
                            return Err(error(
                                Some(env.span()),
                                format!("`envs`: `{}` is listed twice", env.get_ref()),
                            ));
                        }
                        Ok(env.get_ref().clone())
                    })
                    .collect::<Result<Vec<_>, Error>>()?,
            ),
            None => None,
        };
        let protected: Vec<String> = match raw.protected {
            Some(globs) => globs
                .into_iter()
                .map(|glob| {
                    protection_glob(glob.get_ref())
                        .map_err(|e| error(Some(glob.span()), format!("`protected`: {e}")))?;
                    Ok(glob.into_inner())
                })
                .collect::<Result<_, Error>>()?,
            None => defaults.protected,
        };
        // An env both protected and listed as deliberately unprotected: the list is wrong, and
        // it must not look as if it unprotected the env.
        let unprotected = raw
            .unprotected
            .unwrap_or_default()
            .into_iter()
            .map(|env| match protected.iter().find(|g| protection_matches(g, env.get_ref())) {
                Some(glob) => Err(error(
                    Some(env.span()),
                    format!(
                        "`unprotected`: `{}` is protected by `{glob}`; `unprotected` only acknowledges envs that `protected` leaves out",
                        env.get_ref()
                    ),
                )),
                None => Ok(env.into_inner()),
            })
            .collect::<Result<_, Error>>()?;
        let blocks: Vec<(String, StackSettings)> = match raw.stacks {
            Some(stacks) => stacks
                .into_iter()
                .map(|(path, stack)| {
                    let span = stack.span();
                    let mut raw = stack.into_inner();
                    let envs = raw.envs.as_deref().unwrap_or_default();
                    for (i, env) in envs.iter().enumerate() {
                        let key = format!("`stacks.\"{path}\".envs`");
                        env_name::validate(env)
                            .map_err(|e| error(Some(span.clone()), format!("{key}: {e}")))?;
                        if envs[..i].contains(env) {
                            return Err(error(
                                Some(span.clone()),
                                format!("{key}: `{env}` is listed twice"),
                            ));
                        }
                    }
                    let key = |name: &str| format!("stacks.\"{path}\".{name}");
                    let shared =
                        common(raw.common(), &key, Some(span.clone()), EnvPattern::per_env)?;
                    let settings = StackSettings {
                        var_files: shared.var_files,
                        backend_config: shared.backend_config,
                        workspace: shared.workspace,
                        line: line_of(text, span.start),
                        check: match raw.check {
                            Some(check) => valid_check(check).map_err(|e| {
                                error(Some(span.clone()), format!("{}: {e}", key("check")))
                            })?,
                            None => CheckSettings::default(),
                        },
                        depends_on: raw
                            .depends_on
                            .unwrap_or_default()
                            .iter()
                            .map(|p| p.trim_end_matches('/').to_string())
                            .collect(),
                        envs: raw.envs,
                        name: raw.name,
                        binary: raw.binary,
                        data_dir: raw.data_dir,
                        additions: shared.additions,
                    };
                    Ok((path.trim_end_matches('/').to_string(), settings))
                })
                .collect::<Result<_, Error>>()?,
            None => Vec::new(),
        };
        let mut stacks = BTreeMap::new();
        let mut stack_globs = Vec::new();
        for (key, settings) in blocks {
            if !is_glob(&key) {
                stacks.insert(key, settings);
                continue;
            }
            let matcher = globset::GlobBuilder::new(&key)
                .literal_separator(true)
                .build()
                .map_err(|e| Error::Config {
                    path: path.to_path_buf(),
                    line: Some(settings.line),
                    message: format!("`stacks.\"{key}\"`: {e}"),
                })?
                .compile_matcher();
            stack_globs.push(StackGlob {
                glob: key,
                matcher,
                settings,
            });
        }
        // Globs apply in file order (toml's table is sorted by key).
        stack_globs.sort_by_key(|g| g.settings.line);
        Ok(Settings {
            file: Some(path.to_path_buf()),
            envs,
            protected,
            unprotected,
            var_files: shared.var_files.unwrap_or(defaults.var_files),
            backend_config: shared.backend_config.unwrap_or(defaults.backend_config),
            binary: raw.binary,
            workspace: shared.workspace,
            data_dir: raw.data_dir.unwrap_or_default(),
            plugin_cache: raw.plugin_cache,
            additions: shared.additions,
            check: match raw.check {
                Some(check) => {
                    let span = check.span();
                    valid_check(check.into_inner())
                        .map_err(|e| error(Some(span), format!("`check`: {e}")))?
                }
                None => CheckSettings::default(),
            },
            environments: raw
                .environments
                .unwrap_or_default()
                .into_iter()
                .map(|(env, raw)| {
                    let span = raw.span();
                    env_name::validate(&env)
                        .map_err(|e| error(Some(span.clone()), format!("`environments`: {e}")))?;
                    let key = |name: &str| format!("environments.\"{env}\".{name}");
                    let settings =
                        common(raw.into_inner().common(), &key, Some(span), EnvPattern::new)?;
                    Ok((env, settings))
                })
                .collect::<Result<_, Error>>()?,
            exclude: match raw.exclude {
                Some(globs) => globs
                    .into_iter()
                    .map(|glob| {
                        globset::Glob::new(glob.get_ref())
                            .map_err(|e| error(Some(glob.span()), format!("`exclude`: {e}")))?;
                        Ok(glob.into_inner())
                    })
                    .collect::<Result<_, Error>>()?,
                None => Vec::new(),
            },
            stacks,
            stack_globs,
            atlantis: raw.atlantis.unwrap_or_default(),
            providers: raw.providers.unwrap_or_default(),
        })
    }

    /// The settings of the stack at `path` (relative to the root, `.` for the root) for any
    /// env: what `[environments]` changes is left out (see `stack_for`).
    pub fn stack(&self, path: &str) -> StackConfig<'_> {
        self.stack_for(path, None)
    }

    /// The settings of the stack at `path` for `env`: the defaults, `[environments."<env>"]`,
    /// the matching `[stacks]` globs in file order, then the stack's own block.
    pub fn stack_for(&self, path: &str, env: Option<&str>) -> StackConfig<'_> {
        let blocks: Vec<&StackSettings> = self
            .stack_globs
            .iter()
            .filter(|g| g.matches(path))
            .map(|g| &g.settings)
            .chain(self.stacks.get(path))
            .collect();
        let environment = env.and_then(|env| self.environments.get(env));
        let last = |pick: fn(&StackSettings) -> bool| blocks.iter().rev().find(|s| pick(s));
        StackConfig {
            var_files: match last(|s| s.var_files.is_some()) {
                Some(s) => s.var_files.as_deref().unwrap_or_default(),
                None => environment
                    .and_then(|e| e.var_files.as_deref())
                    .unwrap_or(&self.var_files),
            },
            backend_config: match last(|s| s.backend_config.is_some()) {
                Some(s) => s.backend_config.as_ref().and_then(Option::as_ref),
                None => match environment.and_then(|e| e.backend_config.as_ref()) {
                    Some(config) => config.as_ref(),
                    None => self.backend_config.as_ref(),
                },
            },
            data_dir: blocks
                .iter()
                .rev()
                .find_map(|s| s.data_dir)
                .unwrap_or(self.data_dir),
            binary: blocks
                .iter()
                .rev()
                .find_map(|s| s.binary.as_deref())
                .or(self.binary.as_deref()),
            workspace: blocks
                .iter()
                .rev()
                .find_map(|s| s.workspace.as_deref())
                .or(environment.and_then(|e| e.workspace.as_deref()))
                .or(self.workspace.as_deref()),
            settings: self,
            blocks,
            path: path.to_string(),
        }
    }

    /// The repository root, when tfw.toml says where it is.
    pub fn root(&self) -> Option<&Path> {
        self.file.as_deref().and_then(Path::parent)
    }

    /// The `[stacks."…"]` keys that match none of `paths` (the repository's stacks, and the
    /// directories that would be stacks but for their blocks), each with its line and the
    /// closest stack path.
    pub fn unmatched_blocks<'a>(
        &'a self,
        paths: &[&'a str],
    ) -> Vec<(&'a str, usize, Option<String>)> {
        let exact = self
            .stacks
            .iter()
            .filter(|(key, _)| !paths.contains(&key.as_str()))
            .map(|(key, s)| (key.as_str(), s.line));
        let globs = self
            .stack_globs
            .iter()
            .filter(|g| !paths.iter().any(|p| g.matches(p)))
            .map(|g| (g.glob.as_str(), g.settings.line));
        exact
            .chain(globs)
            .map(|(key, line)| (key, line, env_name::suggest(key, paths.iter().copied())))
            .collect()
    }

    /// Whether what terraform runs with for `env` in the stack at `path` differs between these
    /// settings and `other` (two versions of tfw.toml, for `tfw affected`): which stacks and
    /// envs exist, their files, backend, binary, workspace, data dir, vars, env vars, arguments
    /// and dependencies. Names, checks, protection and Atlantis settings change no plan.
    pub fn differs_for(&self, other: &Settings, path: &str, env: &str) -> bool {
        let (mine, theirs) = (
            self.stack_for(path, Some(env)),
            other.stack_for(path, Some(env)),
        );
        let own = |config: &StackConfig| {
            (
                config.own_envs().map(<[String]>::to_vec),
                config.depends_on().cloned().collect::<Vec<_>>(),
            )
        };
        self.envs != other.envs
            || self.exclude != other.exclude
            || own(&mine) != own(&theirs)
            || mine.var_files != theirs.var_files
            || mine.backend_config != theirs.backend_config
            || mine.data_dir != theirs.data_dir
            || mine.binary != theirs.binary
            || mine.workspace != theirs.workspace
            || !mine.layers(env).eq(theirs.layers(env))
    }

    /// Whether `env` matches a `protected` glob (`*prod*`: production, weu-PROD, prod-eu).
    pub fn is_protected(&self, env: &str) -> bool {
        self.protected
            .iter()
            .any(|glob| protection_matches(glob, env))
    }

    /// The note when tfw.toml's `protected` leaves `env` unprotected though the default globs
    /// would protect it (`protected = ["*prod*"]` leaves `prd` out), unless `unprotected`
    /// lists it.
    pub fn left_unprotected(&self, env: &str) -> Option<String> {
        let by_default = DEFAULT_PROTECTED
            .iter()
            .any(|glob| protection_matches(glob, env));
        (by_default && !self.is_protected(env) && !self.unprotected.iter().any(|e| e == env))
            .then(|| {
                format!(
                    "{env} is not protected: tfw.toml's `protected` leaves it out, though the default globs ({}) match it; add it to `protected`, or to `unprotected = [\"{env}\"]` to say it is deliberate",
                    DEFAULT_PROTECTED.join(", ")
                )
            })
    }

    /// Reads the tfw.toml of `root`, or the defaults when there is none.
    pub fn load(root: &Path) -> Result<Self, Error> {
        let path = root.join(FILE_NAME);
        match fs::read_to_string(&path) {
            Ok(text) => Self::parse(&path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(Error::Config {
                path,
                line: None,
                message: e.to_string(),
            }),
        }
    }
}

/// The repository root around `start` (canonical), given the git top level `top` that holds
/// it: the directory of the one tfw.toml between `start` and `top`, else `top`. Outside git
/// the root is `start` and only its own tfw.toml counts: a directory above it (`/tmp`, a home
/// directory) may be anyone's, and its tfw.toml could unprotect every env or name any binary.
/// A second tfw.toml on the way is an error: it would configure `-C sub` but not `--all` or
/// `check`.
pub fn find_root(start: &Path, top: Option<&Path>) -> Result<PathBuf, Error> {
    let Some(top) = top else {
        return Ok(start.to_path_buf());
    };
    let mut configs = start
        .ancestors()
        .take(start.ancestors().take_while(|d| *d != top).count() + 1)
        .filter(|dir| dir.join(FILE_NAME).is_file());
    match (configs.next(), configs.last()) {
        (Some(inner), Some(outer)) => Err(Error::NestedConfig {
            inner: inner.join(FILE_NAME),
            outer: outer.join(FILE_NAME),
        }),
        (Some(only), None) => Ok(only.to_path_buf()),
        (None, _) => Ok(top.to_path_buf()),
    }
}

/// toml's message for a misspelt key (``unknown field `protectd`, expected one of `envs`, …``,
/// at any level) turned into a did-you-mean, as for unknown envs.
fn with_suggestion(message: &str) -> String {
    let quoted = |text: &str| -> Vec<String> {
        text.split('`')
            .skip(1)
            .step_by(2)
            .map(String::from)
            .collect()
    };
    let suggestion = message
        .strip_prefix("unknown field ")
        .and_then(|rest| rest.split_once(", expected "))
        .and_then(|(key, known)| {
            let key = quoted(key).pop()?;
            let known = quoted(known);
            let closest = env_name::suggest(&key, known.iter().map(String::as_str))?;
            Some(format!("unknown key `{key}`: did you mean `{closest}`?"))
        });
    suggestion.unwrap_or_else(|| message.to_string())
}

fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Settings, Error> {
        Settings::parse(Path::new("tfw.toml"), text)
    }

    #[test]
    fn empty_file_gives_defaults() {
        let settings = parse("").unwrap();
        for env in [
            "prd",
            "prod",
            "production",
            "weu-prod",
            "prod-eu",
            "stg-prd",
        ] {
            assert!(settings.is_protected(env), "{env}");
        }
        for env in ["stg", "dev", "preprod-like"] {
            assert_eq!(settings.is_protected(env), env.contains("prod"), "{env}");
        }
        assert_eq!(
            Path::new(&settings.var_files[0].pattern.file_for("stg")),
            Path::new("stg.tfvars")
        );
        assert_eq!(backend_file(&settings, "stg"), Path::new("stg.tfbackend"));
        assert_eq!(settings.data_dir, DataDirMode::PerEnv);
    }

    fn backend_file(settings: &Settings, env: &str) -> PathBuf {
        PathBuf::from(
            settings
                .backend_config
                .as_ref()
                .unwrap()
                .pattern
                .file_for(env),
        )
    }

    #[test]
    fn all_keys_parse() {
        let settings = parse(
            r#"envs = ["stg", "prd"]
protected = ["prd"]
var_files = ["common.tfvars", "environments/{env}/{env}.tfvars"]
backend_config = "env/{env}/backend.tfbackend"
binary = "tofu"
data_dir = "shared"
"#,
        )
        .unwrap();
        assert_eq!(
            settings.envs.as_deref(),
            Some(&["stg".to_string(), "prd".to_string()][..])
        );
        assert_eq!(settings.protected, ["prd"]);
        assert_eq!(
            Path::new(&settings.var_files[1].pattern.file_for("dev")),
            Path::new("environments/dev/dev.tfvars")
        );
        assert_eq!(
            backend_file(&settings, "prd"),
            Path::new("env/prd/backend.tfbackend")
        );
        assert_eq!(settings.binary.as_deref(), Some("tofu"));
        assert_eq!(settings.data_dir, DataDirMode::Shared);
    }

    #[test]
    fn exclude_and_per_stack_envs() {
        let settings =
            parse("exclude = [\"legacy/**\"]\n\n[stacks.\"schemaspy\"]\nenvs = [\"stg\"]\n")
                .unwrap();
        assert_eq!(settings.exclude, ["legacy/**"]);
        assert_eq!(
            settings.stacks["schemaspy"].envs.as_deref(),
            Some(&["stg".to_string()][..])
        );
        let err = parse("\n[stacks.x]\nenvs = [\"../a\"]\n").unwrap_err();
        assert!(err.to_string().starts_with("tfw.toml:2:"), "{err}");
        let err = parse("[stacks.x]\nname = 1\n").unwrap_err();
        assert!(err.to_string().contains("invalid type"), "{err}");
        let settings = parse("[stacks.\".\"]\nname = \"core\"\n[atlantis]\nautoplan = false\napply_requirements = [\"approved\"]\n").unwrap();
        assert_eq!(settings.stacks["."].name.as_deref(), Some("core"));
        assert_eq!(settings.atlantis.autoplan, Some(false));
        assert!(parse("[atlantis]\nbogus = 1\n").is_err());
        let err = parse("exclude = [\"a/[\"]\n").unwrap_err();
        assert!(err.to_string().contains("exclude"), "{err}");
    }

    #[test]
    fn errors_name_the_line_and_key() {
        let cases = [
            ("envs = [\"stg\"]\nfoo = 1\n", 2, "foo"),
            ("\n\nprotected = \"prd\"\n", 3, "invalid type"),
            (
                "backend_config = \"backend.tfbackend\"\n",
                1,
                "backend_config",
            ),
            ("data_dir = \"everywhere\"\n", 1, "everywhere"),
            ("envs = [\"ok\", \"../prd\"]\n", 1, "../prd"),
            ("envs = [\n", 1, "unclosed array"),
        ];
        for (text, line, needle) in cases {
            let err = parse(text).unwrap_err();
            let message = err.to_string();
            assert!(
                message.starts_with(&format!("tfw.toml:{line}:")),
                "{text:?}: {message}"
            );
            assert!(message.contains(needle), "{text:?}: {message}");
            assert_eq!(err.exit_code(), 65);
        }
    }

    /// A temp dir and `path` created in it, canonical.
    fn nested(path: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let inner = dir.path().canonicalize().unwrap().join(path);
        fs::create_dir_all(&inner).unwrap();
        (dir, inner)
    }

    #[test]
    fn root_is_the_tfw_toml_then_git_and_a_second_tfw_toml_is_an_error() {
        let (dir, sub) = nested("a/b");
        let top = dir.path().canonicalize().unwrap();
        assert_eq!(find_root(&sub, None).unwrap(), sub);
        assert_eq!(find_root(&sub, Some(&top)).unwrap(), top);
        fs::write(top.join("a/tfw.toml"), "").unwrap();
        assert_eq!(find_root(&sub, Some(&top)).unwrap(), top.join("a"));
        // Above the git top level is another repository's business.
        fs::write(top.join("tfw.toml"), "").unwrap();
        assert_eq!(
            find_root(&sub, Some(&top.join("a"))).unwrap(),
            top.join("a")
        );
        let err = find_root(&sub, Some(&top)).unwrap_err();
        assert_eq!(
            err,
            Error::NestedConfig {
                inner: top.join("a/tfw.toml"),
                outer: top.join("tfw.toml"),
            }
        );
        assert_eq!(err.exit_code(), 65);
    }

    #[test]
    fn outside_git_only_the_stack_directory_tfw_toml_counts() {
        let (dir, stack) = nested("a/stack");
        let top = dir.path().canonicalize().unwrap();
        fs::write(top.join("tfw.toml"), "protected = []\n").unwrap();
        fs::write(top.join("a/tfw.toml"), "protected = []\n").unwrap();
        assert_eq!(find_root(&stack, None).unwrap(), stack);
        fs::write(stack.join("tfw.toml"), "").unwrap();
        assert_eq!(find_root(&stack, None).unwrap(), stack);
    }

    #[test]
    fn a_misspelt_key_gets_a_suggestion_at_every_level() {
        let cases = [
            ("protectd = []\n", "protectd", "protected"),
            ("[environments.prd]\nenv_var = {}\n", "env_var", "env_vars"),
            ("[stacks.a]\nvar_file = []\n", "var_file", "var_files"),
            ("[check]\nskipp = []\n", "skipp", "skip"),
            ("[atlantis]\nautoplann = true\n", "autoplann", "autoplan"),
        ];
        for (text, key, closest) in cases {
            let message = parse(text).unwrap_err().to_string();
            assert!(
                message.contains(&format!("unknown key `{key}`: did you mean `{closest}`?")),
                "{text:?}: {message}"
            );
        }
        // Nothing close: toml's own list of the keys.
        let message = parse("wholly_else = 1\n").unwrap_err().to_string();
        assert!(message.contains("expected one of"), "{message}");
    }

    #[test]
    fn configured_strings_expand_root_env_and_stack() {
        let settings = Settings::parse(
            Path::new("/repo/tfw.toml"),
            "binary = \"{root}/bin/terraform-{env}\"\nworkspace = \"{stack}-{env}\"\n[stacks.\"a/*\"]\nworkspace = \"glob-{env}\"\n[environments.prd]\nworkspace = \"p\"\n",
        )
        .unwrap();
        let config = settings.stack_for("b", Some("stg"));
        assert_eq!(
            config.binary("stg").as_deref(),
            Some("/repo/bin/terraform-stg")
        );
        assert_eq!(config.workspace("stg").as_deref(), Some("b-stg"));
        let prd = settings.stack_for("b", Some("prd"));
        assert_eq!(
            prd.workspace("prd").as_deref(),
            Some("p"),
            "the env's over the default"
        );
        let glob = settings.stack_for("a/x", Some("prd"));
        assert_eq!(
            glob.workspace("prd").as_deref(),
            Some("glob-prd"),
            "a block over the env's"
        );
    }

    #[test]
    fn protection_ignores_case_unless_the_glob_says_otherwise() {
        let settings = parse("").unwrap();
        for env in ["PROD", "Production", "weu-PRD", "PrD"] {
            assert!(settings.is_protected(env), "{env}");
        }
        let settings = parse("protected = [\"live\", \"(?-i)Blue\"]\n").unwrap();
        assert!(settings.is_protected("LIVE"));
        assert!(settings.is_protected("Blue"));
        assert!(!settings.is_protected("blue"));
        assert!(parse("protected = [\"(?-i)a[\"]\n").is_err());
    }

    #[test]
    fn leaving_out_an_env_the_defaults_protect_is_said_unless_acknowledged() {
        let settings = parse("protected = [\"*prod*\"]\n").unwrap();
        let note = settings.left_unprotected("prd").unwrap();
        assert!(note.contains("unprotected = [\"prd\"]"), "{note}");
        assert_eq!(settings.left_unprotected("prod"), None);
        assert_eq!(settings.left_unprotected("stg"), None);
        assert_eq!(Settings::default().left_unprotected("prd"), None);
        let settings = parse("protected = [\"*prod*\"]\nunprotected = [\"prd\"]\n").unwrap();
        assert_eq!(settings.left_unprotected("prd"), None);
        // Listing a protected env there unprotects nothing: it is an error.
        let err = parse("\nunprotected = [\"prd\"]\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("tfw.toml:2:"), "{err}");
        assert!(err.contains("protected by `*prd*`"), "{err}");
    }

    #[test]
    fn nonsense_values_are_refused_with_their_line() {
        let cases = [
            ("var_files = [\"\"]\n", 1, "empty"),
            ("var_files = [\"vars/\"]\n", 1, "file name"),
            ("backend_config = \"{env}\"\n", 1, "every file"),
            ("backend_config = \"config/{env}\"\n", 1, "every file"),
            ("\nenvs = [\"stg\", \"prd\", \"stg\"]\n", 2, "twice"),
            // The stack's table: its header line.
            ("[stacks.a]\nenvs = [\"x\", \"x\"]\n", 1, "twice"),
        ];
        for (text, line, needle) in cases {
            let err = parse(text).unwrap_err();
            let message = err.to_string();
            assert!(message.contains(needle), "{text:?}: {message}");
            assert!(
                message.starts_with(&format!("tfw.toml:{line}:")),
                "{text:?}: {message}"
            );
        }
        assert!(parse("backend_config = \"env/{env}/backend.tfvars\"\n").is_ok());
    }
}
