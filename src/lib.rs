//! tfw: run terraform for one environment of one or more stacks, safely and fast.

mod affected;
mod atlantis;
mod atomic_file;
mod cache;
mod check;
mod cli;
mod config;
mod diff;
mod error;
mod exit_code;
mod graph;
mod guard;
mod output;
mod parallel;
mod providers;
mod repo;
mod run_all;
mod terraform;
mod variables;

use std::ffi::OsString;

/// Runs tfw with the process's arguments (`args[0]` is the program) and returns its exit code.
/// The only place that prints errors.
pub fn run(args: impl IntoIterator<Item = OsString>) -> i32 {
    // `tfw stacks | head -1`: end quietly when the reader goes away, as cat and grep do,
    // instead of failing on every later write. Children get the default action anyway.
    // SAFETY: setting a signal's disposition to its default is always sound.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
    let code = match cli::run(args.into_iter().collect()) {
        Ok(code) => code,
        Err(err) => {
            let (error_label, help_label) = labels();
            let (text, code) = match err.downcast_ref::<error::Error>() {
                Some(error) => (
                    format!(
                        "tfw: {error_label} {error}\n{help_label} {}\n",
                        error.help()
                    ),
                    error.exit_code(),
                ),
                None => (format!("tfw: {error_label} {err:#}\n"), exit_code::SOFTWARE),
            };
            output::note(&text);
            code
        }
    };
    // A signal's exit code wins: after a hangup the terminal is gone and every write fails.
    if output::failed() && !terraform::signals::interrupted() {
        return exit_code::IO_ERROR;
    }
    code
}

/// `error:` and `help:`, coloured as `--color` says (at a terminal, never with `NO_COLOR`).
fn labels() -> (&'static str, &'static str) {
    if output::color_stderr() {
        ("\x1b[1;31merror:\x1b[0m", "\x1b[1;32mhelp:\x1b[0m")
    } else {
        ("error:", "help:")
    }
}
