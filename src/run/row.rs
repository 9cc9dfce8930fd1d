//! One pair's result in a run of many: how it ended, what its output said, and the verdict and
//! words the summaries show for it.

use super::reading::{Reading, Verdict};
use crate::exit_code;
use crate::terraform::signals;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Outcome {
    Exited(i32),
    /// tfw could not run the pair (missing file, I/O error).
    Error(String),
    /// Not started: interrupted, or `--fail-fast` after a failure.
    Skipped,
    /// Not started: a stack it depends on did not succeed.
    DependencyFailed(String),
}

impl Outcome {
    pub(super) fn failed(&self) -> bool {
        match self {
            Outcome::Exited(code) => *code != 0 && *code != 2,
            Outcome::Error(_) | Outcome::DependencyFailed(_) => true,
            Outcome::Skipped => false,
        }
    }

    pub(super) fn verdict(&self, reading: &Reading, detailed: bool) -> Verdict {
        match self {
            Outcome::Exited(code @ (0 | 2)) => Verdict::of_success(*code, reading, detailed),
            Outcome::Exited(exit_code::INTERRUPTED) => Verdict::Interrupted,
            Outcome::Exited(_) if reading.cancelled => Verdict::Cancelled,
            Outcome::Exited(_) | Outcome::Error(_) => Verdict::Failed,
            Outcome::Skipped | Outcome::DependencyFailed(_) => Verdict::Skipped,
        }
    }
}

/// One pair's result.
pub struct Row {
    /// The stack's path, `.` for the root.
    pub(super) stack: String,
    pub(super) env: String,
    pub(super) outcome: Outcome,
    pub(super) reading: Reading,
    pub(super) verdict: Verdict,
    /// What it printed (everything with several jobs, terraform's stdout with one).
    pub(super) output: Vec<u8>,
    pub(super) duration: Duration,
}

impl Row {
    pub(super) fn label(&self) -> String {
        label(&self.stack, &self.env)
    }

    pub(super) fn exit_code(&self) -> Option<i32> {
        match self.outcome {
            Outcome::Exited(exit_code::INTERRUPTED) => Some(signals::exit_code()),
            Outcome::Exited(code) => Some(code),
            _ => None,
        }
    }

    pub(super) fn destroys(&self) -> bool {
        self.reading.changes.is_some_and(|c| c.destroy > 0)
    }

    /// Why a failed pair failed, for the list after the matrix and the report's `error`.
    pub(super) fn why(&self) -> String {
        match &self.outcome {
            Outcome::DependencyFailed(dependency) => {
                format!("skipped: dependency {dependency} failed")
            }
            Outcome::Error(message) => message.lines().next().unwrap_or_default().to_string(),
            Outcome::Exited(code) => match &self.reading.last_error {
                Some(line) => format!("exit {code}: {line}"),
                None => format!("exit {code}"),
            },
            Outcome::Skipped => "skipped".into(),
        }
    }
}

pub(super) fn label(stack: &str, env: &str) -> String {
    format!("{stack} ({env})")
}
