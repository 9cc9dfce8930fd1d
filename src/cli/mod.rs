//! The command line: parse it, then hand each subcommand to its own function.

pub mod arguments;
pub mod completions;
mod hints;
pub mod output;
mod report;
mod run;

use crate::cli::arguments::{Arguments, Command};
use crate::error::Error;
use clap::Parser;
use std::ffi::OsString;
use std::path::PathBuf;

/// Runs tfw with `args` (`args[0]` is the program) and returns its exit code. The one place
/// that says an error that ended the run.
pub fn main(args: Vec<OsString>) -> i32 {
    // `tfw stacks | head -1`: end quietly when the reader goes away, as cat and grep do,
    // instead of failing on every later write. Children get the default action anyway.
    // SAFETY: setting a signal's disposition to its default is always sound.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    crate::console::install(&output::Terminal);
    let code = match dispatch(args) {
        Ok(code) => code,
        Err(err) => {
            let (text, code) = crate::error::shown(&err, output::color_stderr());
            crate::console::note(&text);
            code
        }
    };
    // A signal's exit code wins: after a hangup the terminal is gone and every write fails.
    if output::failed() && !crate::terraform::signals::interrupted() {
        return crate::exit_code::IO_ERROR;
    }
    code
}

fn dispatch(args: Vec<OsString>) -> anyhow::Result<i32> {
    // terraform.sh printed its usage for a lone `-help`, which is not a clap flag: the long help.
    if args.len() == 2 && args[1] == "-help" {
        Arguments::parse_from(["tfw", "--help"]);
    }
    let mut arguments = match Arguments::try_parse_from(&args) {
        Ok(arguments) => arguments,
        Err(err) if !err.use_stderr() => {
            err.print().map_err(output::write_error)?;
            return Ok(0);
        }
        // clap exits 2 on usage errors, which terraform uses for "plan has changes"; its
        // message is put in tfw's shape (`tfw: error:` + `help:`), exit 64.
        Err(err) => return Err(usage_error(&err).into()),
    };
    output::set_color(arguments.color);
    arguments.as_script = args
        .first()
        .and_then(|program| std::path::Path::new(program).file_name())
        .is_some_and(|name| name == "terraform.sh");
    let start = arguments
        .chdir
        .clone()
        .unwrap_or_else(|| PathBuf::from("."));
    if !start.is_dir() {
        return Err(Error::Usage {
            message: format!("`{}` is not a directory", start.display()),
            help: "pass the stack directory to `-C`, or run tfw inside it".into(),
        }
        .into());
    }
    match arguments.command.take() {
        None => Err(Error::Usage {
            message: "missing environment and terraform command".into(),
            help: "run `tfw <ENV> <COMMAND>`, e.g. `tfw stg plan`; see `tfw --help`".into(),
        }
        .into()),
        Some(Command::Envs { format }) => report::envs(&start, format),
        Some(Command::Check { format }) => report::check(&start, format, arguments.quiet),
        Some(Command::Atlantis { output, check }) => {
            report::atlantis(&start, output, check, arguments.quiet)
        }
        Some(Command::Completions { shell }) => {
            output::print(completions::script(shell))?;
            Ok(0)
        }
        Some(Command::Complete { words }) => {
            // clap has taken the scripts' `--`: a `--` left is the word being completed.
            let candidates: String = completions::candidates(&words, &start)
                .into_iter()
                .map(|c| c + "\n")
                .collect();
            output::print(&candidates)?;
            Ok(0)
        }
        Some(Command::Stacks { format }) => report::stacks(&start, format),
        Some(Command::Providers { format, check }) => report::providers(&start, format, check),
        Some(Command::Affected { base, head, format }) => report::affected(
            &start,
            base.as_deref(),
            head.as_deref(),
            format,
            arguments.quiet,
        ),
        Some(Command::Graph { env, format }) => report::graph(&start, env.as_deref(), format),
        Some(Command::Diff {
            env_a,
            env_b,
            all,
            format,
        }) => report::diff(&start, [&env_a, &env_b], all, format),
        Some(Command::Run(words)) => {
            hints::check_env_word(&arguments, &words, &start)?;
            if let Some(note) = hints::misplaced_option(&words).filter(|_| !arguments.quiet) {
                output::eprint(&note)?;
            }
            arguments.skip_init |=
                !arguments.reinit && run::skip_init_from_environment(arguments.quiet);
            run::run(&arguments, words, &start)
        }
    }
}

/// A clap usage error as tfw's own: its first paragraph is the message; its tip (if any) and
/// its usage lines are the help.
fn usage_error(err: &clap::Error) -> Error {
    let text = err.render().to_string();
    let mut paragraphs = text.split("\n\n").map(|paragraph| {
        let lines: Vec<&str> = paragraph.lines().map(str::trim).collect();
        // Usage lines each start with `tfw`; other paragraphs wrap or indent.
        let glue = if paragraph.starts_with("Usage: ") {
            " or "
        } else {
            " "
        };
        lines.join(glue)
    });
    let message = paragraphs.next().unwrap_or_default();
    let message = message
        .strip_prefix("error: ")
        .unwrap_or(&message)
        .to_string();
    let mut help: Vec<String> = Vec::new();
    for paragraph in paragraphs {
        if let Some(tip) = paragraph.strip_prefix("tip: ") {
            help.push(tip.to_string());
        } else if let Some(usage) = paragraph.strip_prefix("Usage: ") {
            help.push(format!("usage: {usage}"));
        }
    }
    help.push("see `--help`".into());
    Error::Usage {
        message,
        help: help.join("; "),
    }
}
