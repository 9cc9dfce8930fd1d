//! Running terraform for (stack, env) pairs: each pair prepared (its binary, its init decided,
//! its steps resolved), the guard asked, then one pair run in the foreground or many together.

pub mod all;
pub mod atlantis_step;
mod confirm;
mod dry_run;
mod guard;
mod jobs;
pub mod one;
mod order;
pub mod prepare;
mod progress;
mod reading;
mod row;
mod summary;

use crate::terraform::executor::Executor;
use std::ffi::OsString;
use std::path::PathBuf;

/// What the command line asks of a run.
pub struct Options {
    pub quiet: bool,
    /// As an Atlantis run step: no terminal, stdin nobody writes to.
    pub atlantis: bool,
    pub skip_init: bool,
    pub reinit: bool,
    pub no_wait: bool,
    pub dry_run: bool,
    /// `--confirm <ENV>`.
    pub confirm: Option<String>,
    /// `--terraform` / `TFW_TERRAFORM`.
    pub terraform: Option<OsString>,
    pub no_color: bool,
    /// `-j`.
    pub jobs: u16,
    pub fail_fast: bool,
    pub no_deps: bool,
    pub report: Option<PathBuf>,
    pub summary: Option<PathBuf>,
    /// `--affected`: the (stack path, env) pairs an `--all` run is narrowed to.
    pub only: Option<Vec<(String, String)>>,
}

/// How a run ended: terraform's exit code, or the text `--dry-run` shows.
pub enum Done {
    Exit(i32),
    DryRun(String),
}

/// The executor a run with `options` uses.
fn executor(options: &Options) -> Executor {
    Executor {
        quiet: options.quiet,
        keep_records: !options.skip_init,
        no_wait: options.no_wait,
        no_stdin: options.atlantis,
    }
}
