//! Protected environments: which commands touch their state, and the deliberate confirmation
//! (typed env name at a terminal, `--confirm <ENV>` elsewhere) they need first.

use crate::console;
use crate::error::Error;
use crate::lang::backend;
use crate::lang::backend_settings::{self, Settings};
use crate::lang::hcl::Attributes;
use crate::terraform::command_table;
use crate::terraform::plan_file;
use crate::terraform::signals;
use std::ffi::OsString;
use std::path::Path;

/// What the guard decided for one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Not protected, not mutating, or confirmed by a matching token.
    Proceed,
    /// Ask the user at the terminal to type the env name.
    Ask,
    /// No terminal and no matching token.
    Refuse(Error),
}

/// Everything the decision depends on; no I/O.
pub struct Situation<'a> {
    pub env: &'a str,
    /// The env matches tfw.toml's `protected` globs.
    pub protected: bool,
    /// What terraform will act on in each step: its argv (subcommand first) with
    /// `TF_CLI_ARGS` and `TF_CLI_ARGS_<command>` merged in, never only what tfw was given.
    pub steps: &'a [Vec<OsString>],
    /// stdin and stderr are terminals, and prompting is allowed.
    pub terminal: bool,
    /// `--confirm` / `TFW_CONFIRM`.
    pub token: Option<&'a str>,
}

pub fn decide(situation: &Situation) -> Decision {
    let env = situation.env;
    let mutates = situation.steps.iter().any(|argv| {
        argv.split_first().is_some_and(|(command, args)| {
            command_table::mutates_state(&command.to_string_lossy(), args)
        })
    });
    if !situation.protected || !mutates {
        return Decision::Proceed;
    }
    match situation.token {
        Some(token) if token == env => Decision::Proceed,
        Some(token) => Decision::Refuse(Error::Refused {
            message: format!("`{token}` does not confirm {env}: {env} is protected"),
            help: confirm_help(env),
        }),
        None if situation.terminal => Decision::Ask,
        None => Decision::Refuse(Error::Refused {
            message: format!("{env} is protected and there is no terminal to confirm at"),
            help: confirm_help(env),
        }),
    }
}

fn confirm_help(env: &str) -> String {
    format!(
        "to confirm, pass `--confirm {env}` before the env (`tfw --confirm {env} {env} …`) or set TFW_CONFIRM={env}"
    )
}

/// `bucket = "b", key = "k"` from a backend config file, credentials left out.
pub fn state_location(file: &Path) -> String {
    let Ok(bytes) = std::fs::read(file) else {
        return format!("(cannot read {})", file.display());
    };
    let is_json = file.extension().is_some_and(|e| e == "json");
    let Ok(settings) = backend_settings::of_file(&bytes, is_json) else {
        return format!("(cannot evaluate {})", file.display());
    };
    let scalars = Attributes::new(settings.into_iter().filter_map(|(key, value)| {
        let text = match value {
            hcl::Value::String(text) => text,
            hcl::Value::Number(n) => n.to_string(),
            hcl::Value::Bool(b) => b.to_string(),
            _ => return None,
        };
        Some((key, text))
    }));
    let shown: Vec<String> = backend::shown_settings(&scalars)
        .iter()
        .map(|(key, value)| format!("{key} = {value:?}"))
        .collect();
    if shown.is_empty() {
        return format!("(no location keys in {})", file.display());
    }
    shown.join(", ")
}

/// The state an env's saved plan must have been made against, or why tfw cannot tell.
pub struct EnvState<'a> {
    pub env: &'a str,
    /// The env's backend config file, as named in messages (`None`: the backend block only).
    pub backend_file: Option<&'a Path>,
    /// The backend type and its settings: the stack's backend block, then the env's file.
    pub backend: Result<(String, Settings), String>,
    /// The workspace terraform will use.
    pub workspace: Result<String, String>,
}

/// Refuses `apply PLANFILE` unless the plan was made against `state`: terraform applies a
/// saved plan to the backend and workspace recorded in it, whatever the data dir says. What
/// tfw cannot read or compare (the plan, a backend setting, the workspace) is refused too.
pub fn check_saved_plan(plan: &Path, state: &EnvState) -> Result<(), Error> {
    let env = state.env;
    let name = plan
        .file_name()
        .unwrap_or(plan.as_os_str())
        .to_string_lossy();
    let remake = format!(
        "make the plan for {env} (`tfw {env} plan -out={name}`) and apply that; tfw applies a saved plan only when it can tell it was made for the env's state"
    );
    let refuse = |message: String| Error::Refused {
        message,
        help: remake.clone(),
    };
    let planned = plan_file::read_backend(plan)
        .map_err(|why| refuse(format!("cannot read `{name}` as a terraform plan: {why}")))?;
    let (kind, expected) = state.backend.as_ref().map_err(|why| {
        refuse(format!(
            "cannot compare `{name}` with {env}'s backend: {why}"
        ))
    })?;
    if *kind != planned.kind {
        return Err(refuse(format!(
            "`{name}` was planned with the {} backend, {env} uses {kind}",
            planned.kind
        )));
    }
    let differing: Vec<&str> = expected
        .keys()
        .chain(planned.config.keys())
        .filter(|key| {
            let wanted = expected.get(*key).unwrap_or(&hcl::Value::Null);
            let recorded = planned.config.get(*key).unwrap_or(&hcl::Value::Null);
            !backend_settings::same(wanted, recorded)
        })
        .map(String::as_str)
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    if !differing.is_empty() {
        return Err(Error::Refused {
            message: format!(
                "`{name}` was planned against another state than {env}'s: its backend's {} differs from {}",
                differing.join(", "),
                state.backend_file.map_or_else(
                    || "the stack's backend block".to_string(),
                    |file| file.display().to_string()
                )
            ),
            help: format!(
                "apply a plan with the env it was made for, or make one for {env}: `tfw {env} plan -out={name}`"
            ),
        });
    }
    let workspace = state
        .workspace
        .as_ref()
        .map_err(|why| refuse(format!("cannot tell which workspace {env} uses: {why}")))?;
    if *workspace != planned.workspace {
        return Err(refuse(format!(
            "`{name}` was planned in workspace `{}`, {env} uses workspace `{workspace}`",
            planned.workspace
        )));
    }
    Ok(())
}

/// One stack a confirmation covers, as shown before asking.
pub struct Target {
    pub stack: String,
    pub commands: Vec<String>,
    pub location: String,
    /// The workspace, when it is not `default` (or why it cannot be told).
    pub workspace: Option<String>,
}

/// Shows what is about to happen (every stack, before any runs) and asks for the env name.
pub fn ask(env: &str, targets: &[Target]) -> Result<(), Error> {
    let help = format!("type the environment name `{env}` exactly to proceed");
    // Before the question: a tfw started with SIGINT ignored must still stop on Ctrl-C, and a
    // SIGTERM or SIGHUP must refuse, not kill tfw mid-line.
    signals::install().map_err(|e| Error::Refused {
        message: format!("not confirmed (cannot watch for Ctrl-C: {e})"),
        help: help.clone(),
    })?;
    let mut text = format!("tfw: {env} is a protected environment.\n");
    for target in targets {
        text.push_str(&format!("  stack:   {}\n", target.stack));
        for command in &target.commands {
            text.push_str(&format!("  command: {command}\n"));
        }
        text.push_str(&format!("  state:   {}\n", target.location));
        if let Some(workspace) = &target.workspace {
            text.push_str(&format!("  workspace: {workspace}\n"));
        }
    }
    text.push_str(&format!("Type `{env}` to continue: "));
    console::say(&text)?;
    match read_answer() {
        Answer::Line(typed) if typed.trim() == env => Ok(()),
        Answer::Line(typed) => Err(Error::Refused {
            message: format!("not confirmed: typed `{}`, not `{env}`", typed.trim()),
            help,
        }),
        Answer::End => {
            console::say("\n")?;
            Err(Error::Refused {
                message: "not confirmed (end of input)".into(),
                help,
            })
        }
        Answer::Signal => {
            console::say("\n")?;
            Err(Error::Interrupted {
                message: format!(
                    "not confirmed ({})",
                    signals::first().unwrap_or("interrupted")
                ),
                code: signals::exit_code(),
            })
        }
    }
}

enum Answer {
    /// A line, without its line ending.
    Line(String),
    /// End of input (Ctrl-D) or a read error.
    End,
    /// Ctrl-C, SIGTERM or SIGHUP.
    Signal,
}

/// One line from stdin in the terminal's own line mode, not a raw-mode line editor (dialoguer's
/// ignores Ctrl-D): Ctrl-D is end of input. A signal's handler lets a blocked read go on, so
/// stdin is polled and the signal flag checked in between.
fn read_answer() -> Answer {
    let mut line = Vec::new();
    loop {
        if signals::interrupted() {
            return Answer::Signal;
        }
        let mut poll = libc::pollfd {
            fd: libc::STDIN_FILENO,
            events: libc::POLLIN,
            revents: 0,
        };
        // SAFETY: one valid pollfd; the timeout bounds a signal that came just before the call.
        if unsafe { libc::poll(&mut poll, 1, 100) } <= 0 {
            continue;
        }
        let mut chunk = [0u8; 1024];
        // SAFETY: reads into a buffer of the given length.
        let read =
            unsafe { libc::read(libc::STDIN_FILENO, chunk.as_mut_ptr().cast(), chunk.len()) };
        match read {
            n if n > 0 => line.extend_from_slice(&chunk[..n as usize]),
            -1 if std::io::Error::last_os_error().kind() == std::io::ErrorKind::Interrupted => {
                continue;
            }
            _ => return Answer::End,
        }
        if let Some(end) = line.iter().position(|&b| b == b'\n') {
            line.truncate(end);
            return Answer::Line(String::from_utf8_lossy(&line).into_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<OsString> {
        line.split_whitespace().map(OsString::from).collect()
    }

    #[test]
    fn decision_table() {
        // (env, command, terminal, token, expected)
        let cases: &[(&str, &str, bool, Option<&str>, &str)] = &[
            ("stg", "apply", false, None, "proceed"),
            ("prd", "plan", false, None, "proceed"),
            ("prd", "apply", true, None, "ask"),
            ("prd", "apply", false, None, "refuse"),
            ("prd", "apply", false, Some("prd"), "proceed"),
            ("prd", "apply", true, Some("prd"), "proceed"),
            ("prd", "apply", false, Some("stg"), "refuse"),
            ("prd", "apply", true, Some("yes"), "refuse"),
            ("prd", "destroy", false, Some("1"), "refuse"),
            ("prd", "state rm a", false, Some("true"), "refuse"),
            ("prd", "state list", false, None, "proceed"),
        ];
        for (env, line, terminal, token, expected) in cases {
            let steps = [words("init -reconfigure"), words(line)];
            let decision = decide(&Situation {
                env,
                protected: *env == "prd",
                steps: &steps,
                terminal: *terminal,
                token: *token,
            });
            let got = match decision {
                Decision::Proceed => "proceed",
                Decision::Ask => "ask",
                Decision::Refuse(ref e) => {
                    assert_eq!(e.exit_code(), 77);
                    assert!(e.help().contains("--confirm prd"), "{}", e.help());
                    "refuse"
                }
            };
            assert_eq!(
                got, *expected,
                "{env} {line} terminal={terminal} token={token:?}"
            );
        }
    }

    fn local(path: &str) -> Result<(String, Settings), String> {
        Ok((
            "local".to_string(),
            [("path".to_string(), hcl::Value::from(path))].into(),
        ))
    }

    fn check(
        plan: &[u8],
        backend: Result<(String, Settings), String>,
        workspace: Result<&str, &str>,
    ) -> Result<(), Error> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tfplan");
        std::fs::write(&path, plan).unwrap();
        check_saved_plan(
            &path,
            &EnvState {
                env: "stg",
                backend_file: Some(Path::new("stg.tfbackend")),
                backend,
                workspace: workspace.map(String::from).map_err(String::from),
            },
        )
    }

    const PRD_PLAN: &[u8] = include_bytes!("../../tests/fixtures/prd-1.11.4.tfplan");

    #[test]
    fn a_saved_plan_applies_only_to_the_state_it_was_made_for() {
        assert_eq!(
            check(PRD_PLAN, local("state/prd.tfstate"), Ok("default")),
            Ok(())
        );
        let err = check(PRD_PLAN, local("state/stg.tfstate"), Ok("default")).unwrap_err();
        assert_eq!(err.exit_code(), 77);
        assert!(
            err.to_string().contains("its backend's path differs"),
            "{err}"
        );
        assert!(
            err.help().contains("tfw stg plan -out=tfplan"),
            "{}",
            err.help()
        );
    }

    #[test]
    fn what_cannot_be_read_or_compared_is_refused() {
        let cases: [(&str, Result<(), Error>); 6] = [
            (
                "not a plan",
                check(b"not a plan", local("state/prd.tfstate"), Ok("default")),
            ),
            (
                "an unevaluable backend",
                check(
                    PRD_PLAN,
                    Err("the value of `path` is not one tfw can evaluate".into()),
                    Ok("default"),
                ),
            ),
            (
                "another backend type",
                check(PRD_PLAN, Ok(("s3".into(), Settings::new())), Ok("default")),
            ),
            (
                "a setting the env does not have",
                check(
                    PRD_PLAN,
                    Ok(("local".into(), Settings::new())),
                    Ok("default"),
                ),
            ),
            (
                "another workspace",
                check(PRD_PLAN, local("state/prd.tfstate"), Ok("stg")),
            ),
            (
                "an unreadable workspace",
                check(
                    PRD_PLAN,
                    local("state/prd.tfstate"),
                    Err("permission denied"),
                ),
            ),
        ];
        for (name, result) in cases {
            let err = result.expect_err(name);
            assert_eq!(err.exit_code(), 77, "{name}: {err}");
        }
    }

    #[test]
    fn state_location_shows_only_location_keys() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("prd.tfbackend");
        std::fs::write(&file, "bucket = \"b\"\nkey = \"k/terraform.tfstate\"\nregion = \"eu-west-1\"\naccess_key = \"AKIASECRET\"\nsecret_key = \"s3cr3t\"\n").unwrap();
        let shown = state_location(&file);
        assert_eq!(
            shown,
            "bucket = \"b\", key = \"k/terraform.tfstate\", region = \"eu-west-1\""
        );
        assert!(state_location(&dir.path().join("none")).contains("cannot read"));
    }
}
