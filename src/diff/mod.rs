//! `tfw diff`: how two envs' inputs differ in a stack — the variables each sets, the var files
//! each reads, where each keeps its state. Secrets are compared, never shown.

use crate::config::env_name;
use crate::error::Error;
use crate::lang::backend;
use crate::lang::hcl::{Attributes, Parsed, parse_attributes, parse_body};
use crate::lang::variables::{self, Supplied};
use crate::repo::inputs::EnvInputs;
use crate::repo::{Repo, Stack};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// One env's inputs in one stack.
#[derive(Debug, Serialize)]
pub struct Inputs {
    pub env: String,
    /// Relative to the stack, in the order terraform reads them.
    pub var_files: Vec<String>,
    /// The backend config file and its location settings (never credentials).
    pub backend_file: String,
    pub backend: BTreeMap<String, String>,
}

/// One variable whose value differs between the envs.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct Variable {
    pub name: String,
    /// The value each env gives it as written, `None` when that env sets it nowhere (the
    /// default applies); both `None` when the values are secret.
    pub a: Option<String>,
    pub b: Option<String>,
    /// Sensitive, or a name that looks secret: the values are not shown.
    pub secret: bool,
}

/// How the two envs differ in one stack.
#[derive(Debug, Serialize)]
pub struct StackDiff {
    pub stack: String,
    pub a: Inputs,
    pub b: Inputs,
    /// Only the variables that differ, by name.
    pub variables: Vec<Variable>,
}

/// The values `env` gives its variables in `stack` (later files win, `vars` last), and its
/// inputs.
fn inputs(
    repo: &Repo,
    stack: &Stack,
    env: &str,
) -> Result<(Inputs, BTreeMap<String, String>), Error> {
    let config = repo.settings.stack_for(&stack.path, Some(env));
    // What terraform reads, in its order: the automatic files, then the var files tfw passes.
    let stack_inputs = repo.inputs(stack);
    let var_files = match stack_inputs.env(env).map(EnvInputs::passed) {
        Some(Ok(files)) => files,
        Some(Err(missing)) => {
            return Err(Error::MissingFile {
                env: env.to_string(),
                what: "var file",
                path: stack.dir.join(&missing.name),
            });
        }
        None => Vec::new(),
    };
    let mut values = BTreeMap::new();
    let files: Vec<String> = stack_inputs
        .automatic
        .iter()
        .chain(var_files)
        .map(|file| file.name.clone())
        .collect();
    for file in &files {
        // A file that cannot be read or parsed sets values tfw cannot know: never "not set".
        let path = stack.dir.join(file);
        let unreadable = |message: String| Error::Unreadable {
            path: path.clone(),
            message,
        };
        let text = std::fs::read_to_string(&path).map_err(|e| unreadable(e.kind().to_string()))?;
        let supplied = variables::supplied(&text, file.ends_with(".json")).ok_or_else(|| {
            unreadable("it does not parse (terraform would refuse it too)".into())
        })?;
        for (name, Supplied { text, .. }) in supplied {
            values.insert(name, text);
        }
    }
    values.extend(
        config
            .vars(env)
            .into_iter()
            .map(|(k, v)| (k, format!("{v:?}"))),
    );
    // As terraform configures it: the stack's block, the env's file over it, then tfw.toml's
    // `backend = { … }`; and the workspace.
    let block = repo
        .terraform_sources(stack)
        .iter()
        .filter(|(name, _)| !name.ends_with(".json"))
        .find_map(|(_, text)| crate::lang::hcl::backend_in(&parse_body(text).ok()?))
        .map(|(_, attributes)| attributes)
        .unwrap_or_default();
    let backend_file = repo.backend_file(stack, env);
    let file = match &backend_file {
        None => Attributes::default(),
        Some(backend_file) => match std::fs::read(stack.dir.join(backend_file)) {
            Ok(bytes) => match parse_attributes(&bytes, backend_file.ends_with(".json")) {
                Parsed::Attributes(attributes) => attributes,
                _ => Attributes::default(),
            },
            Err(_) => {
                return Err(Error::MissingFile {
                    env: env.to_string(),
                    what: "backend config",
                    path: stack.dir.join(backend_file),
                });
            }
        },
    };
    let from_toml = config.backend_settings(env);
    let merged = Attributes::new(
        block
            .iter()
            .chain(file.iter())
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .chain(from_toml),
    );
    let mut backend: BTreeMap<String, String> =
        backend::shown_settings(&merged).into_iter().collect();
    if let Some(workspace) = config.workspace(env) {
        backend.insert("workspace".to_string(), workspace);
    }
    Ok((
        Inputs {
            env: env.to_string(),
            var_files: files,
            backend_file: backend_file.unwrap_or_else(|| "(backend block)".to_string()),
            backend,
        },
        values,
    ))
}

/// How `a` and `b` differ in `stack`.
pub fn diff(repo: &Repo, stack: &Stack, a: &str, b: &str) -> Result<StackDiff, Error> {
    for env in [a, b] {
        if !stack.envs.iter().any(|e| e == env) {
            return Err(Error::UnknownEnv {
                name: env.to_string(),
                stack: stack.dir.clone(),
                known: stack.envs.clone(),
                suggestion: env_name::suggest(env, stack.envs.iter().map(String::as_str)),
                backend: repo.settings.stack(&stack.path).env_file_hint(env),
            });
        }
    }
    let (inputs_a, values_a) = inputs(repo, stack, a)?;
    let (inputs_b, values_b) = inputs(repo, stack, b)?;
    let sources = repo.terraform_sources(stack);
    // A `.tf` file tfw could not read or parse may declare any variable sensitive: then every
    // variable is taken as secret.
    let terraform_files = repo.inputs(stack).sources.len();
    let declared = variables::declared(sources.iter().map(|(n, t)| (n.as_str(), t.as_str())))
        .filter(|_| sources.len() == terraform_files);
    let names: BTreeSet<&String> = values_a.keys().chain(values_b.keys()).collect();
    let variables = names
        .into_iter()
        .filter(|name| values_a.get(*name) != values_b.get(*name))
        .map(|name| {
            let secret = backend::looks_secret(name)
                || declared
                    .as_ref()
                    .is_none_or(|d| d.get(name).is_some_and(|d| d.sensitive));
            let shown = |value: Option<&String>| match secret {
                true => None,
                false => value.cloned(),
            };
            Variable {
                name: name.clone(),
                a: shown(values_a.get(name)),
                b: shown(values_b.get(name)),
                secret,
            }
        })
        .collect();
    Ok(StackDiff {
        stack: stack.path.clone(),
        a: inputs_a,
        b: inputs_b,
        variables,
    })
}

impl StackDiff {
    /// The report as text: var files and backend side by side, then each differing variable.
    pub fn text(&self) -> String {
        let (a, b) = (&self.a, &self.b);
        let mut text = format!("== {} ({} → {})\n", self.stack, a.env, b.env);
        text.push_str(&format!(
            "var files: {}  |  {}\n",
            a.var_files.join(" "),
            b.var_files.join(" ")
        ));
        let location = |inputs: &Inputs| {
            let settings: Vec<String> = inputs
                .backend
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            format!("{} ({})", inputs.backend_file, settings.join(" "))
        };
        text.push_str(&format!("backend:   {}  |  {}\n", location(a), location(b)));
        for variable in &self.variables {
            let value = |v: &Option<String>, env: &str| {
                v.clone().unwrap_or_else(|| format!("(not set in {env})"))
            };
            let line = match variable.secret {
                true => format!("  {}: differs (secret)\n", variable.name),
                false => format!(
                    "  {}: {} → {}\n",
                    variable.name,
                    value(&variable.a, &a.env),
                    value(&variable.b, &b.env)
                ),
            };
            text.push_str(&line);
        }
        if self.variables.is_empty() {
            text.push_str("  (the same variables)\n");
        }
        text
    }
}
