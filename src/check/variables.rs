//! The variable checks of `tfw check`: var file keys the stack declares no variable for,
//! required variables an env supplies nowhere, literal values of the wrong type. Names and
//! lines only: no value is ever printed.

use crate::check::Problem;
use crate::config::StackConfig;
use crate::config::env_name;
use crate::repo::{EnvFile, Stack, join_display};
use crate::variables::{self, Declared, Supplied};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Terraform loads these from the stack directory without being told.
fn is_automatic(name: &str) -> bool {
    matches!(name, "terraform.tfvars" | "terraform.tfvars.json")
        || name.ends_with(".auto.tfvars")
        || name.ends_with(".auto.tfvars.json")
}

/// One var file as the checks read it.
struct VarFile {
    /// From the root, for messages.
    path: String,
    values: BTreeMap<String, Supplied>,
}

/// The var file at `relative` (to the stack): `Ok(None)` when there is none, `Err` when it
/// does not parse (reported as `invalid`; what it sets is then unknown).
fn read(stack: &Stack, relative: &str) -> Result<Option<VarFile>, ()> {
    let Ok(text) = std::fs::read_to_string(stack.dir.join(relative)) else {
        return Ok(None);
    };
    let values = variables::supplied(&text, relative.ends_with(".json")).ok_or(())?;
    let path = crate::repo::paths::normalize(&Path::new(&stack.path).join(relative));
    Ok(Some(VarFile {
        path: path.to_string_lossy().into_owned(),
        values,
    }))
}

/// The files that parse, and whether what they set is known: each parses, and each required
/// one is there (a missing one is reported as `missing`, not as the variables it would set).
fn read_all(stack: &Stack, files: impl Iterator<Item = (String, bool)>) -> (Vec<VarFile>, bool) {
    let mut complete = true;
    let files = files
        .filter_map(|(relative, optional)| match read(stack, &relative) {
            Ok(None) if !optional => {
                complete = false;
                None
            }
            Ok(file) => file,
            Err(()) => {
                complete = false;
                None
            }
        })
        .collect();
    (files, complete)
}

/// The checks of one stack for its `envs`. `names` are the stack directory's file names.
pub fn check(
    stack: &Stack,
    config: &StackConfig,
    env_files: &[EnvFile],
    envs: &BTreeSet<&str>,
    names: &[&str],
    problems: &mut Vec<Problem>,
) {
    let sources: Vec<(&str, String)> = names
        .iter()
        .filter(|name| crate::repo::is_terraform_file(name))
        .filter_map(|name| Some((*name, std::fs::read_to_string(stack.dir.join(name)).ok()?)))
        .collect();
    // A file tfw cannot parse could declare anything: undeclared keys are then not reported.
    let all_parsed = sources
        .iter()
        .all(|(name, text)| match name.ends_with(".json") {
            true => serde_json::from_str::<serde_json::Value>(text).is_ok(),
            false => crate::terraform::hcl::parse_body(text).is_ok(),
        });
    let declared = variables::declared(sources.iter().map(|(n, t)| (*n, t.as_str())));
    let (automatic, automatic_complete) = read_all(
        stack,
        names
            .iter()
            .filter(|name| is_automatic(name))
            .map(|n| (n.to_string(), true)),
    );
    let problem = |kind: &'static str, env: Option<&str>, path: &str, line, message| Problem {
        path: path.to_string(),
        line,
        message,
        kind,
        stack: stack.path.clone(),
        env: env.map(str::to_string),
    };
    let mut reported = BTreeSet::new();
    for env in envs {
        let (files, complete) = read_all(
            stack,
            env_files
                .iter()
                .filter(|file| !file.backend)
                .map(|file| (file.of(stack, env), file.optional)),
        );
        let vars = config.vars(env);
        for file in files.iter().chain(&automatic) {
            // A file shared by envs is reported once.
            if !reported.insert(file.path.clone()) {
                continue;
            }
            for (name, supplied) in &file.values {
                match declared.get(name) {
                    None if all_parsed && config.checks("undeclared") => {
                        let hint = env_name::suggest(name, declared.keys().map(String::as_str))
                            .map_or(String::new(), |s| format!(" (did you mean {s}?)"));
                        let message = format!("{name} is not a variable of this stack{hint}");
                        problems.push(problem(
                            "undeclared",
                            Some(env),
                            &file.path,
                            Some(supplied.line),
                            message,
                        ));
                    }
                    Some(Declared {
                        kind: Some(kind), ..
                    }) if config.checks("type") => {
                        if let Some(why) = kind.mismatch(&supplied.value) {
                            let message = format!("variable {name}: {why}");
                            problems.push(problem(
                                "type",
                                Some(env),
                                &file.path,
                                Some(supplied.line),
                                message,
                            ));
                        }
                    }
                    _ => {}
                }
            }
        }
        if !config.checks("unset") || !complete || !automatic_complete {
            continue;
        }
        let set = |name: &str| {
            files
                .iter()
                .chain(&automatic)
                .any(|f| f.values.contains_key(name))
                || vars.iter().any(|(n, _)| n == name)
                || config.supplied_at_run_time(name)
        };
        let first_file = env_files
            .iter()
            .find(|f| !f.backend)
            .map(|f| f.of(stack, env));
        for (name, _) in declared.iter().filter(|(n, d)| d.required && !set(n)) {
            let place = first_file.as_deref().map_or("a var file".to_string(), |f| {
                join_display(".", Path::new(f))
            });
            let message = format!(
                "env {env}: variable {name} has no value (set it in {place}, or list it under [check] from_environment if CI sets TF_VAR_{name})"
            );
            problems.push(problem("unset", Some(env), &stack.path, None, message));
        }
    }
}
