//! One command across stacks (`--all`): in order or on N workers, each stack's output whole,
//! progress at a terminal, a summary at the end and one merged exit code.

use crate::error::Error;
use crate::exit_code;
use crate::repo::Stack;
use crate::terraform::Prepared;
use crate::terraform::executor::{Executor, Output};
use crate::terraform::signals;
use std::collections::BTreeSet;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::{Duration, Instant};

/// One stack to run, or the reason it cannot run.
pub struct Job<'a> {
    pub stack: &'a Stack,
    pub prepared: Result<Prepared, Error>,
    /// The jobs (indices) that must finish successfully before this one starts.
    pub waits: Vec<usize>,
}

pub struct Options {
    /// How many stacks run at once; 1 streams each stack's output as it comes.
    pub jobs: usize,
    /// Start no new stack after one failed.
    pub fail_fast: bool,
    /// `-detailed-exitcode` was passed: 0 means "no changes".
    pub detailed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Exited(i32),
    /// tfw could not run the stack (missing file, I/O error).
    Error(String),
    /// Not started: interrupted, or `--fail-fast` after a failure.
    Skipped,
    /// Not started: a stack it depends on did not succeed.
    DependencyFailed(String),
}

impl Outcome {
    fn failed(&self) -> bool {
        match self {
            Outcome::Exited(code) => *code != 0 && *code != 2,
            Outcome::Error(_) | Outcome::DependencyFailed(_) => true,
            Outcome::Skipped => false,
        }
    }
}

/// Where each job is.
#[derive(Clone, PartialEq)]
enum State {
    Waiting,
    Running,
    Done { succeeded: bool },
}

struct Row {
    name: String,
    outcome: Outcome,
    duration: Duration,
}

/// Runs every job and returns the merged exit code: 130 when interrupted, 1 when any stack
/// failed, else 2 when any reported changes, else 0.
pub fn run(jobs: &[Job], options: &Options, executor: &Executor) -> i32 {
    let progress = Progress::new(
        jobs.len(),
        options.jobs > 1 && std::io::stderr().is_terminal(),
    );
    let failed = AtomicBool::new(false);
    let states = Mutex::new(vec![State::Waiting; jobs.len()]);
    let changed = Condvar::new();
    let rows: Mutex<Vec<Option<Row>>> = Mutex::new(jobs.iter().map(|_| None).collect());
    // The next job whose dependencies are done (in order), or a dependency's failure; `None`
    // when nothing is left to start.
    let next = || -> Option<(usize, Option<String>)> {
        let mut states = states.lock().unwrap();
        loop {
            let mut waiting = false;
            for (index, job) in jobs.iter().enumerate() {
                if states[index] != State::Waiting {
                    continue;
                }
                waiting = true;
                let failed = job
                    .waits
                    .iter()
                    .find(|&&d| states[d] == State::Done { succeeded: false });
                if let Some(&dependency) = failed {
                    states[index] = State::Running;
                    return Some((index, Some(jobs[dependency].stack.name().to_string())));
                }
                if job
                    .waits
                    .iter()
                    .all(|&d| states[d] == State::Done { succeeded: true })
                {
                    states[index] = State::Running;
                    return Some((index, None));
                }
            }
            if !waiting {
                return None;
            }
            states = changed.wait(states).unwrap();
        }
    };
    let worker = || {
        while let Some((index, failed_dependency)) = next() {
            let job = &jobs[index];
            let name = job.stack.name().to_string();
            let started = Instant::now();
            let outcome = if let Some(dependency) = failed_dependency {
                Outcome::DependencyFailed(dependency)
            } else if signals::interrupted() || (options.fail_fast && failed.load(Ordering::SeqCst))
            {
                Outcome::Skipped
            } else {
                progress.start(&name);
                let (outcome, captured) = run_job(job, executor, options.jobs > 1);
                progress.finish(&name, &captured);
                outcome
            };
            if outcome.failed() {
                failed.store(true, Ordering::SeqCst);
            }
            let succeeded = matches!(outcome, Outcome::Exited(0 | 2));
            rows.lock().unwrap()[index] = Some(Row {
                name,
                outcome,
                duration: started.elapsed(),
            });
            states.lock().unwrap()[index] = State::Done { succeeded };
            changed.notify_all();
        }
    };
    std::thread::scope(|scope| {
        for _ in 0..options.jobs.max(1) {
            scope.spawn(worker);
        }
    });
    progress.clear_line();
    let rows: Vec<Row> = rows.into_inner().unwrap().into_iter().flatten().collect();
    print_summary(&rows, options.detailed);
    merge(&rows, signals::interrupted())
}

/// Runs one stack; with `capture`, its output comes back whole instead of being printed.
fn run_job(job: &Job, executor: &Executor, capture: bool) -> (Outcome, Vec<u8>) {
    let prepared = match &job.prepared {
        Ok(prepared) => prepared,
        Err(error) => {
            let message = format!("tfw: error: {error}\nhelp: {}\n", error.help());
            if capture {
                return (Outcome::Error(error.to_string()), message.into_bytes());
            }
            eprint!("==> {}\n{message}", job.stack.name());
            return (Outcome::Error(error.to_string()), Vec::new());
        }
    };
    let output = if capture {
        Output::Capture(Default::default())
    } else {
        Output::Inherit
    };
    if !capture {
        eprintln!("==> {}", job.stack.name());
    }
    let outcome = match executor.execute(prepared, &output) {
        Ok(exit_code::INTERRUPTED) if signals::interrupted() => {
            Outcome::Exited(exit_code::INTERRUPTED)
        }
        Ok(code) => Outcome::Exited(code),
        Err(error) => Outcome::Error(format!("{error:#}")),
    };
    let mut captured = output.captured();
    if let (Outcome::Error(message), true) = (&outcome, capture) {
        captured.extend_from_slice(format!("tfw: error: {message}\n").as_bytes());
    }
    (outcome, captured)
}

fn merge(rows: &[Row], interrupted: bool) -> i32 {
    if interrupted {
        exit_code::INTERRUPTED
    } else if rows.iter().any(|r| r.outcome.failed()) {
        1
    } else if rows.iter().any(|r| r.outcome == Outcome::Exited(2)) {
        2
    } else {
        0
    }
}

fn print_summary(rows: &[Row], detailed: bool) {
    let width = rows
        .iter()
        .map(|r| r.name.len())
        .max()
        .unwrap_or(0)
        .max("stack".len());
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(
        stderr,
        "\n{:<width$}  {:<10}  {:>4}  {:>8}",
        "stack", "result", "exit", "time"
    );
    for row in rows {
        let (result, code) = match &row.outcome {
            Outcome::Exited(0) if detailed => ("no changes", "0".to_string()),
            Outcome::Exited(0) => ("ok", "0".to_string()),
            Outcome::Exited(2) => ("changes", "2".to_string()),
            Outcome::Exited(exit_code::INTERRUPTED) => {
                ("interrupted", exit_code::INTERRUPTED.to_string())
            }
            Outcome::Exited(code) => ("failed", code.to_string()),
            Outcome::Error(_) => ("failed", "-".to_string()),
            Outcome::Skipped => ("skipped", "-".to_string()),
            Outcome::DependencyFailed(_) => ("skipped", "-".to_string()),
        };
        let why = match &row.outcome {
            Outcome::DependencyFailed(dependency) => format!("  (dependency {dependency} failed)"),
            _ => String::new(),
        };
        let _ = writeln!(
            stderr,
            "{:<width$}  {result:<10}  {code:>4}  {:>7.1}s{why}",
            row.name,
            row.duration.as_secs_f64()
        );
    }
}

/// The stacks done and running, redrawn on one stderr line at a terminal; each finished
/// stack's captured output printed whole.
struct Progress {
    total: usize,
    draw: bool,
    state: Mutex<(usize, BTreeSet<String>)>,
}

impl Progress {
    fn new(total: usize, draw: bool) -> Self {
        Self {
            total,
            draw,
            state: Mutex::new((0, BTreeSet::new())),
        }
    }

    fn start(&self, name: &str) {
        let mut state = self.state.lock().unwrap();
        state.1.insert(name.to_string());
        self.redraw(&state);
    }

    fn finish(&self, name: &str, captured: &[u8]) {
        let mut state = self.state.lock().unwrap();
        state.0 += 1;
        state.1.remove(name);
        if !captured.is_empty() || self.draw {
            self.clear_line();
            let mut stdout = std::io::stdout().lock();
            let _ = writeln!(stdout, "==> {name}");
            let _ = stdout.write_all(captured);
            let _ = stdout.flush();
        }
        self.redraw(&state);
    }

    fn redraw(&self, state: &(usize, BTreeSet<String>)) {
        if self.draw {
            let running: Vec<&str> = state.1.iter().map(String::as_str).collect();
            eprint!(
                "\r\x1b[2K[{}/{}] running: {}",
                state.0,
                self.total,
                running.join(", ")
            );
        }
    }

    fn clear_line(&self) {
        if self.draw {
            eprint!("\r\x1b[2K");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(outcomes: &[Outcome]) -> Vec<Row> {
        outcomes
            .iter()
            .map(|o| Row {
                name: "s".into(),
                outcome: o.clone(),
                duration: Duration::ZERO,
            })
            .collect()
    }

    #[test]
    fn exit_codes_merge() {
        use Outcome::*;
        let cases: &[(&[Outcome], bool, i32)] = &[
            (&[Exited(0), Exited(0)], false, 0),
            (&[Exited(0), Exited(2)], false, 2),
            (&[Exited(2), Exited(1)], false, 1),
            (&[Exited(2), Error("x".into())], false, 1),
            (&[Exited(0), Exited(3)], false, 1),
            (&[Exited(0), Skipped], false, 0),
            (&[Exited(2), Skipped], true, 130),
        ];
        for (outcomes, interrupted, expected) in cases {
            assert_eq!(
                merge(&rows(outcomes), *interrupted),
                *expected,
                "{outcomes:?}"
            );
        }
    }
}
