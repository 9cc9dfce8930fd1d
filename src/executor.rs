//! Runs resolved steps one after another: every terraform process of tfw starts here.

use crate::exit_code;
use crate::init_stamp::{self, InitRecord};
use crate::invocation::Invocation;
use crate::resolve::{Plan, StepKind};
use crate::signals;
use anyhow::Context as _;
use std::fs::File;
use std::io::{IsTerminal, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};

/// How steps are run and reported.
pub struct Executor<'a> {
    pub binary: &'a Path,
    pub quiet: bool,
    /// Where the env's init is recorded; `None` leaves no record (`--skip-init`).
    pub record: Option<&'a InitRecord>,
    /// `TF_PLUGIN_CACHE_DIR`: terraform's plugin cache is not safe for concurrent init.
    pub plugin_cache: Option<PathBuf>,
}

impl Executor<'_> {
    /// Runs the plan's steps in order and returns the exit code of the last one that ran.
    /// A failed init stops the run: the command would act on a wrong or missing backend.
    pub fn execute(&self, plan: &Plan) -> anyhow::Result<i32> {
        signals::install().context("installing signal handlers")?;
        if plan.init_up_to_date {
            self.note(&format!("init up to date ({})", plan.env));
        }
        let prelude = plan.steps.iter().any(|s| s.kind == StepKind::Command);
        for step in &plan.steps {
            if signals::interrupted() {
                return Ok(exit_code::INTERRUPTED);
            }
            let code = match step.kind {
                StepKind::Init { when_stale } => {
                    // The locks serialise inits of one data dir (and of the plugin cache); the
                    // stamp is re-read under them, as another tfw may have just done this init.
                    let _locks = self.init_locks()?;
                    if when_stale
                        && self
                            .record
                            .is_some_and(|r| matches!(r.is_current(), Ok(true)))
                    {
                        self.note(&format!(
                            "init up to date ({}), done by another tfw",
                            plan.env
                        ));
                        continue;
                    }
                    if let Some(record) = self.record {
                        record.remove().context("removing the init stamp")?;
                    }
                    let code = self.spawn(&step.invocation, prelude)?;
                    if code == 0
                        && let Some(record) = self.record
                        && let Err(err) = record.write()
                    {
                        self.note(&format!(
                            "could not record the init ({err:#}); the next run inits again"
                        ));
                    }
                    code
                }
                StepKind::Command => self.spawn(&step.invocation, false)?,
            };
            if signals::interrupted() {
                return Ok(exit_code::INTERRUPTED);
            }
            if code != 0 && prelude && step.kind != StepKind::Command {
                eprintln!(
                    "tfw: error: `{}` failed in {} (exit {code}); the command was not run",
                    step.invocation.command_line(),
                    step.invocation.dir.display()
                );
            }
            if code != 0 || step.kind == StepKind::Command {
                return Ok(code);
            }
        }
        Ok(0)
    }

    fn init_locks(&self) -> anyhow::Result<Vec<File>> {
        let mut locks = Vec::new();
        if let Some(cache) = self.plugin_cache.as_ref().filter(|dir| dir.is_dir()) {
            let path = cache.join(".tfw-init.lock");
            locks.push(
                init_stamp::lock_file(&path)
                    .with_context(|| format!("locking {}", path.display()))?,
            );
        }
        if let Some(record) = self.record {
            locks.push(record.lock().context("locking the data dir for init")?);
        }
        Ok(locks)
    }

    /// Runs one process; returns its exit code, 128+N when killed by signal N.
    fn spawn(&self, invocation: &Invocation, stdout_to_stderr: bool) -> anyhow::Result<i32> {
        self.echo(&invocation.command_line());
        let mut expression = duct::cmd(self.binary, &invocation.args)
            .dir(&invocation.dir)
            .unchecked();
        for (name, value) in &invocation.env {
            expression = expression.env(name, value);
        }
        if stdout_to_stderr {
            // stdout belongs to the command: `tfw stg output -json | jq` must see JSON only.
            expression = expression.stdout_to_stderr();
        }
        let handle = expression.start().with_context(|| {
            format!(
                "starting `{}` in {}",
                invocation.command_line(),
                invocation.dir.display()
            )
        })?;
        signals::set_child(handle.pids().first().copied());
        let status = handle.wait().map(|output| output.status);
        signals::set_child(None);
        let status =
            status.with_context(|| format!("waiting for `{}`", invocation.command_line()))?;
        Ok(status
            .code()
            .unwrap_or_else(|| exit_code::SIGNAL_BASE + status.signal().unwrap_or(0)))
    }

    fn note(&self, message: &str) {
        if !self.quiet {
            eprintln!("tfw: {message}");
        }
    }

    /// `$ terraform plan …` on stderr before each process, dimmed at a terminal.
    fn echo(&self, command_line: &str) {
        if self.quiet {
            return;
        }
        let mut stderr = std::io::stderr().lock();
        let color =
            stderr.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        let _ = if color {
            writeln!(stderr, "\x1b[2m$ {command_line}\x1b[0m")
        } else {
            writeln!(stderr, "$ {command_line}")
        };
    }
}
