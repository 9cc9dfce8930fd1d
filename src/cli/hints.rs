//! Command lines that parse but likely mean something else: a misspelt subcommand, a ref given
//! to `--affected` without `=`, tfw's options written after the command. Named from clap's
//! definitions, never from a list of their own.

use crate::cli::arguments::Arguments;
use crate::cli::completions;
use crate::config::env_name;
use crate::error::Error;
use crate::repo::{Presence, Repo};
use crate::terraform::command_table;
use clap::CommandFactory;
use std::ffi::OsString;
use std::path::Path;

/// The envs the first word could name: the current stack's, or with `--all` any stack's.
fn known_envs(arguments: &Arguments, start: &Path) -> Vec<String> {
    let Ok(repo) = Repo::open(start) else {
        return Vec::new();
    };
    if arguments.all {
        let stacks = repo.stacks(Presence::OnDisk).unwrap_or_default();
        stacks.into_iter().flat_map(|s| s.envs).collect()
    } else {
        repo.stack_at(start).map(|s| s.envs).unwrap_or_default()
    }
}

/// Refuses `<ENV>` words that are not an env but a misspelt subcommand (`tfw chekc`) or the ref
/// of a bare `--affected` (`--affected HEAD~1 stg plan`). The repository is read only when the
/// word looks like one of them.
pub fn check_env_word(
    arguments: &Arguments,
    words: &[OsString],
    start: &Path,
) -> Result<(), Error> {
    let Some(first) = words.first().map(|w| w.to_string_lossy()) else {
        return Ok(());
    };
    let bare_affected = arguments.affected.as_deref() == Some("");
    let subcommands: Vec<String> = Arguments::command()
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| c.get_name().to_string())
        .collect();
    let subcommand = env_name::suggest(&first, subcommands.iter().map(String::as_str))
        .filter(|_| command_table::lookup(&first).name.is_empty());
    if !bare_affected && subcommand.is_none() {
        return Ok(());
    }
    let envs = known_envs(arguments, start);
    if envs.iter().any(|env| *env == first) {
        return Ok(());
    }
    if bare_affected {
        return Err(Error::Usage {
            message: format!(
                "`{first}` is not an environment: `--affected` takes its ref joined with `=`"
            ),
            help: format!(
                "write `--affected={first}`, or `--affected` alone for the merge base with the remote's default branch"
            ),
        });
    }
    match subcommand {
        Some(subcommand)
            if env_name::suggest(&first, envs.iter().map(String::as_str)).is_none() =>
        {
            Err(Error::Usage {
                message: format!("`{first}` is neither a subcommand nor an environment"),
                help: format!("did you mean `tfw {subcommand}`?"),
            })
        }
        _ => Ok(()),
    }
}

/// The first of tfw's own options among the words after `<ENV> <COMMAND>`, which go to
/// terraform as documented: a note says so, once.
pub fn misplaced_option(words: &[OsString]) -> Option<String> {
    let (names, _) = completions::options();
    let names: Vec<&String> = names
        .iter()
        .filter(|name| !matches!(name.as_str(), "--help" | "--version"))
        .collect();
    let word = words
        .iter()
        .skip(2)
        .map(|w| w.to_string_lossy())
        .find(|word| {
            names.iter().any(|name| {
                *word == name.as_str()
                    || (name.starts_with("--") && word.starts_with(&format!("{name}=")))
            })
        })?;
    Some(format!(
        "tfw: note: `{word}` went to terraform: tfw's own options go before the env (`tfw [OPTIONS] <ENV> <COMMAND> [ARGS]...`)\n"
    ))
}
