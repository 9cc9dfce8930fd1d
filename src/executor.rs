//! Runs resolved steps one after another: every terraform process of tfw starts here.

use crate::exit_code;
use crate::resolve::{Plan, StepKind};
use crate::signals;
use anyhow::Context as _;
use std::io::{IsTerminal, Write};
use std::os::unix::process::ExitStatusExt;
use std::path::Path;

/// How steps are run and reported.
pub struct Executor<'a> {
    pub binary: &'a Path,
    pub quiet: bool,
}

impl Executor<'_> {
    /// Runs the plan's steps in order and returns the exit code of the last one that ran.
    /// A failed init stops the run: the command would act on a wrong or missing backend.
    pub fn execute(&self, plan: &Plan) -> anyhow::Result<i32> {
        signals::install().context("installing signal handlers")?;
        if plan.init_up_to_date && !self.quiet {
            eprintln!("tfw: init up to date ({})", plan.env);
        }
        let prelude = plan.steps.iter().any(|s| s.kind == StepKind::Command);
        for step in &plan.steps {
            if signals::interrupted() {
                return Ok(exit_code::INTERRUPTED);
            }
            let invocation = &step.invocation;
            self.echo(&invocation.command_line());
            let mut expression = duct::cmd(self.binary, &invocation.args)
                .dir(&invocation.dir)
                .unchecked();
            for (name, value) in &invocation.env {
                expression = expression.env(name, value);
            }
            if step.kind == StepKind::Init && prelude {
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
            if signals::interrupted() {
                return Ok(exit_code::INTERRUPTED);
            }
            let code = status
                .code()
                .unwrap_or_else(|| exit_code::SIGNAL_BASE + status.signal().unwrap_or(0));
            if code != 0 && step.kind == StepKind::Init && prelude {
                eprintln!(
                    "tfw: error: `{}` failed in {} (exit {code}); the command was not run",
                    invocation.command_line(),
                    invocation.dir.display()
                );
                return Ok(code);
            }
            if code != 0 || step.kind == StepKind::Command {
                return Ok(code);
            }
        }
        Ok(0)
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
