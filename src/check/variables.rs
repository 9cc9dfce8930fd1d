//! The variable checks of `tfw check`: var file keys the stack declares no variable for,
//! required variables an env supplies nowhere, literal values of the wrong type. Names and
//! lines only: no value is ever printed.

use crate::check::Problem;
use crate::config::StackConfig;
use crate::config::env_name;
use crate::lang::hcl::Parsed;
use crate::lang::types::Declared;
use crate::lang::types::Value;
use crate::lang::variables;
use crate::repo::{EnvFile, join_display};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// What a var file sets: each key's line and value shape.
pub type Values = std::sync::Arc<BTreeMap<String, (usize, Value)>>;

/// A var file as check keeps it: the line and the shape of each value, or why it does not
/// parse (the message of `parse_attributes`, with its line).
pub fn var_file(bytes: &[u8], is_json: bool) -> Parsed {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Parsed::Invalid("not UTF-8 text".into());
    };
    match variables::shapes(text, is_json) {
        Ok(values) => Parsed::Values(values.into()),
        Err(why) => Parsed::Invalid(why),
    }
}

/// One stack as the variable checks see it.
pub struct Stack<'a> {
    pub stack: &'a crate::repo::Stack,
    pub config: &'a StackConfig<'a>,
    /// The env files of one env.
    pub env_files: &'a dyn Fn(&str) -> Vec<EnvFile<'a>>,
    pub declared: &'a BTreeMap<String, Declared>,
    /// Every terraform file parsed (else a key may be declared where tfw could not see).
    pub all_parsed: bool,
    /// The stack directory's file names.
    pub automatic: &'a [&'a str],
    /// Where a variable is declared (`datadog/main.tf:5`), asked only for a problem's message.
    pub declared_at: &'a dyn Fn(&str) -> Option<String>,
}

/// One var file: its path from the root, for messages, and what it sets.
struct VarFile {
    path: String,
    values: Values,
}

/// The var files at `relatives` (to the stack, each with whether it is optional) that exist,
/// and whether what they set is known: each parses and each required one is there (a missing
/// one is reported as `missing`, not as the variables it would set).
fn read_all(
    stack_path: &str,
    files: impl Iterator<Item = (String, bool)>,
    values_of: &mut dyn FnMut(&str) -> Result<Option<Values>, ()>,
) -> (Vec<VarFile>, bool) {
    let mut complete = true;
    let mut found = Vec::new();
    for (relative, optional) in files {
        match values_of(&relative) {
            Ok(Some(values)) => {
                let path = crate::paths::normalize(&Path::new(stack_path).join(&relative));
                found.push(VarFile {
                    path: path.to_string_lossy().into_owned(),
                    values,
                });
            }
            Ok(None) if optional => {}
            Ok(None) | Err(()) => complete = false,
        }
    }
    (found, complete)
}

/// The checks of one stack for its `envs`; `values_of` gives what a var file (relative to the
/// stack) sets: `Ok(None)` when absent, `Err` when it does not parse.
pub fn check(
    subject: &Stack,
    envs: &BTreeSet<&str>,
    values_of: &mut dyn FnMut(&str) -> Result<Option<Values>, ()>,
    problems: &mut Vec<Problem>,
) {
    let Stack {
        stack,
        config,
        env_files,
        declared,
        all_parsed,
        automatic,
        declared_at,
    } = subject;
    let (automatic, automatic_complete) = read_all(
        &stack.path,
        automatic
            .iter()
            .filter(|name| variables::is_automatic(name))
            .map(|n| (n.to_string(), true)),
        values_of,
    );
    let problem = |kind: &'static str, env: &str, path: &str, line, message| Problem {
        path: path.to_string(),
        line,
        message,
        kind,
        stack: stack.path.clone(),
        env: Some(env.to_string()),
    };
    let mut reported = BTreeSet::new();
    for env in envs {
        let env_files = env_files(env);
        let (files, complete) = read_all(
            &stack.path,
            env_files
                .iter()
                .filter(|file| !file.backend)
                .map(|file| (file.of(stack, env), file.optional)),
            values_of,
        );
        for file in files.iter().chain(&automatic) {
            // A file shared by envs is reported once.
            if !reported.insert(file.path.clone()) {
                continue;
            }
            for (name, (line, value)) in file.values.iter() {
                match declared.get(name) {
                    None if *all_parsed && config.checks("undeclared") => {
                        // A file outside the stack is others' too: a near name of this stack's
                        // is no hint there (and most such keys are others' to declare).
                        let own =
                            stack.path == "." || file.path.starts_with(&format!("{}/", stack.path));
                        let hint = own
                            .then(|| env_name::suggest(name, declared.keys().map(String::as_str)))
                            .flatten()
                            .map_or(String::new(), |s| format!(" (did you mean {s}?)"));
                        let message = format!("{name} is not a variable of this stack{hint}");
                        problems.push(problem("undeclared", env, &file.path, Some(*line), message));
                    }
                    Some(Declared {
                        kind: Some(kind), ..
                    }) if config.checks("type") => {
                        if let Some(why) = kind.mismatch(value) {
                            let message = format!("variable {name}: {why}");
                            problems.push(problem("type", env, &file.path, Some(*line), message));
                        }
                    }
                    _ => {}
                }
            }
        }
        if !config.checks("unset") || !complete || !automatic_complete {
            continue;
        }
        let vars = config.vars(env);
        let set = |name: &str| {
            files
                .iter()
                .chain(&automatic)
                .any(|f| f.values.contains_key(name))
                || vars.iter().any(|(n, _)| n == name)
                || config.supplied_at_run_time(name)
        };
        // Where the value goes: the env's own var file (its name holds the env), else the
        // first one; the problem is reported there, a file an editor can open.
        let var_files = || env_files.iter().filter(|f| !f.backend);
        let own = var_files()
            .find(|f| f.pattern.is_per_env())
            .or_else(|| var_files().next())
            .map(|f| f.of(stack, env));
        let place = own.as_deref().map_or("a var file".to_string(), |own| {
            join_display(".", Path::new(own))
        });
        let path = own.as_deref().map_or(stack.path.clone(), |own| {
            let path = crate::paths::normalize(&Path::new(&stack.path).join(own));
            path.to_string_lossy().into_owned()
        });
        for (name, _) in declared.iter().filter(|(n, d)| d.required && !set(n)) {
            let at = declared_at(name).map_or(String::new(), |at| format!(", declared at {at}"));
            let message = format!(
                "env {env}: variable {name} has no value{at} (set it in {place}, or list it under [check] from_environment if CI sets TF_VAR_{name})"
            );
            problems.push(problem("unset", env, &path, None, message));
        }
    }
}
