//! `tfw <ENV> <COMMAND> [ARGS]...`: the words read into a request and the envs it names, then
//! handed to `run`.

use crate::cli::arguments::Arguments;
use crate::cli::output;
use crate::config::env_name;
use crate::error::Error;
use crate::repo::{Presence, Repo, Stack};
use crate::run::atlantis_step::StepEnvironment;
use crate::run::{self, Done, Options};
use crate::terraform::command_table;
use crate::terraform::invocation::inherited;
use crate::terraform::resolve::Request;
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::path::Path;

/// Runs the words clap left untouched (`<ENV> <COMMAND> [ARGS]...`) in the stack at `start`,
/// or with `--all` in every stack that has the env.
pub fn run(arguments: &Arguments, words: Vec<OsString>, start: &Path) -> anyhow::Result<i32> {
    let mut request = parse_request(words, arguments.all)?;
    let step = arguments
        .atlantis
        .then(|| StepEnvironment::from_env(inherited));
    if let Some(step) = &step {
        request = step.adapt(request)?;
    }
    let repo = Repo::open(start)?;
    if arguments.all {
        let stacks = repo.stacks(Presence::OnDisk)?;
        let known: BTreeSet<&str> = stacks
            .iter()
            .flat_map(|s| s.envs.iter().map(String::as_str))
            .collect();
        check_words(&request, &known)?;
        let envs = select_envs(&request.env, &known, &repo)?;
        for env in &envs {
            if let Some(note) = repo.settings.left_unprotected(env) {
                output::eprint(&format!("tfw: note: {note}\n"))?;
            }
        }
        let mut options = options(arguments);
        options.only = match &arguments.affected {
            Some(base) => {
                let base = Some(base.as_str()).filter(|b| !b.is_empty());
                let pairs = crate::affected::between(&repo, base, None, "--affected=REF")?.include;
                Some(pairs.into_iter().map(|p| (p.path, p.env)).collect())
            }
            None => None,
        };
        shown(run::all::run(
            &options,
            &repo,
            &stacks,
            &request,
            &envs,
            step.as_ref(),
        )?)
    } else {
        if let Some(note) = repo.settings.left_unprotected(&request.env) {
            output::eprint(&format!("tfw: note: {note}\n"))?;
        }
        let stack = repo.stack_at(start)?;
        if arguments.as_script {
            request = action_first(request, &stack);
        }
        check_words(&request, &stack.envs.iter().map(String::as_str).collect())?;
        shown(run::one::run(
            &options(arguments),
            &repo,
            &stack,
            &request,
            step.as_ref(),
        )?)
    }
}

/// The exit code of a run; a dry run's text printed.
fn shown(done: Done) -> anyhow::Result<i32> {
    match done {
        Done::Exit(code) => Ok(code),
        Done::DryRun(text) => {
            output::print(&text)?;
            Ok(0)
        }
    }
}

/// What the command line asks of the run.
fn options(arguments: &Arguments) -> Options {
    Options {
        quiet: arguments.quiet,
        atlantis: arguments.atlantis,
        skip_init: arguments.skip_init,
        reinit: arguments.reinit,
        no_wait: arguments.no_wait,
        dry_run: arguments.dry_run,
        confirm: arguments.confirm.clone(),
        terraform: arguments.terraform.clone(),
        no_color: output::no_color(),
        jobs: arguments.jobs,
        fail_fast: arguments.fail_fast,
        no_deps: arguments.no_deps,
        report: arguments.report.clone(),
        summary: arguments.summary.clone(),
        only: None,
    }
}

/// Whether one element of `--all`'s env list is a glob (`*`, `weu-*`).
fn is_glob(word: &str) -> bool {
    word.contains(['*', '?', '[', '{'])
}

/// The envs `--all` runs, from its env word: a comma-separated list of names and globs
/// (`stg,prd`, `'*'`, `'weu-*'`) over the envs of every stack; names in the order given, each
/// glob's matches sorted, none twice. A name no stack has, or a glob matching none, is an error.
fn select_envs(selector: &str, known: &BTreeSet<&str>, repo: &Repo) -> Result<Vec<String>, Error> {
    let mut envs: Vec<String> = Vec::new();
    let mut add = |env: &str| {
        if !envs.iter().any(|e| e == env) {
            envs.push(env.to_string());
        }
    };
    for word in selector.split(',') {
        if is_glob(word) {
            let glob = globset::Glob::new(word)
                .map_err(|e| Error::Usage {
                    message: format!("`{word}` is not a valid glob: {e}"),
                    help: "name envs (`stg,prd`) or match them with `*` (`'weu-*'`, `'*'`)".into(),
                })?
                .compile_matcher();
            let matched: Vec<&&str> = known.iter().filter(|env| glob.is_match(env)).collect();
            if matched.is_empty() {
                return Err(Error::Usage {
                    message: format!("`{word}` matches no env of any stack"),
                    help: format!(
                        "the envs are: {}",
                        known.iter().copied().collect::<Vec<_>>().join(", ")
                    ),
                });
            }
            matched.into_iter().for_each(|env| add(env));
        } else if known.contains(word) {
            add(word);
        } else {
            return Err(Error::UnknownEnv {
                name: word.to_string(),
                stack: repo.root.clone(),
                known: known.iter().map(|e| e.to_string()).collect(),
                suggestion: env_name::suggest(word, known.iter().copied()),
                backend: repo.settings.stack(".").env_file_hint(word),
            });
        }
    }
    Ok(envs)
}

/// Refuses, before anything runs or asks, the two slips a hurried user makes: the command
/// before the env (`tfw plan stg`), and a typo'd command (`tfw prd paln`), which terraform
/// would only reject after tfw's init and, on a protected env, its prompt.
fn check_words(request: &Request, envs: &BTreeSet<&str>) -> Result<(), Error> {
    let command = request.command.to_string_lossy();
    let is_command = !command_table::lookup(&request.env).name.is_empty();
    if is_command && !envs.contains(request.env.as_str()) && envs.contains(command.as_ref()) {
        return Err(Error::Usage {
            message: format!(
                "`{}` is a terraform command, not an environment",
                request.env
            ),
            help: format!(
                "did you mean `tfw {command} {}`? (the env comes first)",
                request.env
            ),
        });
    }
    match command_table::suggest(&command) {
        Some(known) => Err(Error::Usage {
            message: format!("`{command}` is not a terraform command"),
            help: format!("did you mean `{known}`? (`tfw {} {known} …`)", request.env),
        }),
        None => Ok(()),
    }
}

/// `<ENV> <COMMAND> [ARGS]...` from the words clap left untouched; with `all`, ENV may list
/// envs and globs (`stg,prd`, `'*'`).
fn parse_request(words: Vec<OsString>, all: bool) -> Result<Request, Error> {
    let mut words = words.into_iter();
    let env = words.next().unwrap_or_default();
    let env = env.into_string().map_err(|env| Error::InvalidEnvName {
        name: env.to_string_lossy().into_owned(),
        reason: "it is not valid UTF-8",
    })?;
    // Before any file is read: `tfw ../prd plan` must not look outside the stack. (A glob is
    // only ever matched against the envs found.)
    match all {
        true => env
            .split(',')
            .filter(|word| !is_glob(word))
            .try_for_each(env_name::validate)?,
        false => env_name::validate(&env)?,
    }
    let Some(command) = words.next() else {
        return Err(Error::Usage {
            message: format!("missing terraform command after `{env}`"),
            help: format!("run `tfw {env} <COMMAND>`, e.g. `tfw {env} plan`"),
        });
    };
    if command_table::is_chdir(&command.to_string_lossy()) {
        return Err(Error::Usage {
            message: format!(
                "`{}`: tfw picks the directory terraform runs in",
                command.to_string_lossy()
            ),
            help: format!(
                "name the stack with tfw's own option instead: `tfw -C <DIR> {env} <COMMAND>` (its var files and backend are then found there)"
            ),
        });
    }
    Ok(Request {
        env,
        command,
        args: words.collect(),
    })
}

/// terraform.sh's `TF_SKIP_INIT`: `true` or `1` skip init; empty is unset; anything else is
/// noted and init runs as usual, as it did in the script.
pub fn skip_init_from_environment(quiet: bool) -> bool {
    let Some(value) = std::env::var_os("TF_SKIP_INIT") else {
        return false;
    };
    let value = value.to_string_lossy();
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" => true,
        "" | "false" | "0" => false,
        _ => {
            if !quiet {
                let _ = output::eprint(&format!(
                    "tfw: note: TF_SKIP_INIT={value:?} is neither `true` nor `1`; running init as usual\n"
                ));
            }
            false
        }
    }
}

/// Some terraform.sh wrappers took the action first (`./terraform.sh plan weu-dev`): accepted
/// when the first word is a terraform command and the second an env of the stack.
fn action_first(request: Request, stack: &Stack) -> Request {
    let is_command = !command_table::lookup(&request.env).name.is_empty();
    match request.command.to_str() {
        Some(env) if is_command && stack.envs.iter().any(|e| e == env) => Request {
            env: env.to_string(),
            command: request.env.into(),
            args: request.args,
        },
        _ => request,
    }
}
