//! One command across stacks (`--all`): in order or on N workers, each stack's output whole,
//! progress at a terminal, a summary at the end and one merged exit code.

use crate::atomic_file;
use crate::error::Error;
use crate::exit_code;
use crate::repo::Stack;
use crate::terraform::Prepared;
use crate::terraform::executor::{Executor, Output};
use crate::terraform::signals;
use serde::Serialize;
use std::collections::BTreeSet;
use std::io::IsTerminal;
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
    pub env: String,
    /// `--report FILE`: the summary as JSON.
    pub report: Option<std::path::PathBuf>,
}

/// What terraform's closing line said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Changes {
    pub add: u64,
    pub change: u64,
    pub destroy: u64,
}

/// The counts of the last `Plan: 1 to add, 2 to change, 0 to destroy.` (or `Apply complete!
/// Resources: 1 added, …`) in terraform's output; zero for `No changes.`.
pub fn changes(output: &[u8]) -> Option<Changes> {
    let text = String::from_utf8_lossy(output);
    // Colours off: `\x1b[…m` sequences.
    let mut plain = String::with_capacity(text.len());
    let mut rest = text.as_ref();
    while let Some(start) = rest.find('\x1b') {
        plain.push_str(&rest[..start]);
        rest = rest[start..]
            .find('m')
            .map_or("", |end| &rest[start + end + 1..]);
    }
    plain.push_str(rest);
    let numbers = |line: &str, words: [&str; 3]| -> Option<Changes> {
        let count = |word: &str| -> Option<u64> {
            let before = &line[..line.find(word)?];
            before
                .split(|c: char| !c.is_ascii_digit())
                .rfind(|s| !s.is_empty())?
                .parse()
                .ok()
        };
        Some(Changes {
            add: count(words[0])?,
            change: count(words[1])?,
            destroy: count(words[2])?,
        })
    };
    plain.lines().rev().find_map(|line| {
        let line = line.trim();
        if line.starts_with("Plan:") {
            numbers(line, [" to add", " to change", " to destroy"])
        } else if line.starts_with("Apply complete!") || line.starts_with("Destroy complete!") {
            numbers(line, [" added", " changed", " destroyed"])
        } else if line.starts_with("No changes.") {
            Some(Changes {
                add: 0,
                change: 0,
                destroy: 0,
            })
        } else {
            None
        }
    })
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
    fn result(&self) -> &'static str {
        match self {
            Outcome::Exited(0) => "ok",
            Outcome::Exited(2) => "changes",
            Outcome::Exited(exit_code::INTERRUPTED) => "interrupted",
            Outcome::Exited(_) | Outcome::Error(_) => "failed",
            Outcome::Skipped | Outcome::DependencyFailed(_) => "skipped",
        }
    }

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
    path: String,
    outcome: Outcome,
    changes: Option<Changes>,
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
            let mut changes = None;
            let outcome = if let Some(dependency) = failed_dependency {
                Outcome::DependencyFailed(dependency)
            } else if signals::interrupted() || (options.fail_fast && failed.load(Ordering::SeqCst))
            {
                Outcome::Skipped
            } else {
                progress.start(&name);
                let (outcome, captured, kept) = run_job(job, executor, options.jobs > 1);
                progress.finish(&name, &captured);
                changes = self::changes(&kept);
                outcome
            };
            if outcome.failed() {
                failed.store(true, Ordering::SeqCst);
            }
            let succeeded = matches!(outcome, Outcome::Exited(0 | 2));
            rows.lock().unwrap()[index] = Some(Row {
                name,
                path: job.stack.path.clone(),
                outcome,
                changes,
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
    if let Some(file) = &options.report
        && let Err(error) = write_report(file, &rows, &options.env)
    {
        crate::output::note(&format!(
            "tfw: error: writing the report {}: {error:#}\n",
            file.display()
        ));
        return exit_code::IO_ERROR;
    }
    merge(&rows, signals::interrupted())
}

/// One row of `--report`.
#[derive(Serialize)]
struct ReportRow<'a> {
    stack: &'a str,
    path: &'a str,
    env: &'a str,
    exit_code: Option<i32>,
    result: &'static str,
    changes: Option<Changes>,
    seconds: f64,
}

fn write_report(file: &std::path::Path, rows: &[Row], env: &str) -> anyhow::Result<()> {
    let report: Vec<ReportRow> = rows
        .iter()
        .map(|row| ReportRow {
            stack: &row.name,
            path: &row.path,
            env,
            exit_code: match row.outcome {
                Outcome::Exited(code) => Some(code),
                _ => None,
            },
            result: row.outcome.result(),
            changes: row.changes,
            seconds: row.duration.as_secs_f64(),
        })
        .collect();
    let text = serde_json::to_string_pretty(&report)? + "\n";
    Ok(atomic_file::write(file, text.as_bytes())?)
}

/// Runs one stack; with `capture`, its output comes back whole instead of being printed. Also
/// returns what terraform printed, for the plan's result.
fn run_job(job: &Job, executor: &Executor, capture: bool) -> (Outcome, Vec<u8>, Vec<u8>) {
    let prepared = match &job.prepared {
        Ok(prepared) => prepared,
        Err(error) => {
            let message = format!("tfw: error: {error}\nhelp: {}\n", error.help());
            if capture {
                return (
                    Outcome::Error(error.to_string()),
                    message.into_bytes(),
                    Vec::new(),
                );
            }
            crate::output::note(&format!("==> {}\n{message}", job.stack.name()));
            return (Outcome::Error(error.to_string()), Vec::new(), Vec::new());
        }
    };
    let output = if capture {
        Output::Capture(Default::default())
    } else {
        Output::Relay(Default::default())
    };
    if !capture {
        crate::output::note(&format!("==> {}\n", job.stack.name()));
    }
    let outcome = match executor.execute(prepared, &output) {
        // Marked 130 whatever the signal; the run's exit code says which (`merge`).
        Ok(code) if signals::interrupted() && code == signals::exit_code() => {
            Outcome::Exited(exit_code::INTERRUPTED)
        }
        Ok(code) => Outcome::Exited(code),
        Err(error) => Outcome::Error(format!("{error:#}")),
    };
    let kept = output.kept();
    if !capture {
        // Run alone, a stack that failed inside tfw says why as a parallel one does.
        if let Outcome::Error(message) = &outcome {
            crate::output::note(&format!("tfw: error: {message}\n"));
        }
        return (outcome, Vec::new(), kept);
    }
    let mut captured = kept.clone();
    if let Outcome::Error(message) = &outcome {
        captured.extend_from_slice(format!("tfw: error: {message}\n").as_bytes());
    }
    (outcome, captured, kept)
}

fn merge(rows: &[Row], interrupted: bool) -> i32 {
    if interrupted {
        signals::exit_code()
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
    let mut text = format!(
        "\n{:<width$}  {:<10}  {:>4}  {:>8}\n",
        "stack", "result", "exit", "time"
    );
    for row in rows {
        let (result, code) = match &row.outcome {
            Outcome::Exited(0) if detailed => ("no changes", "0".to_string()),
            Outcome::Exited(0) => ("ok", "0".to_string()),
            Outcome::Exited(2) => ("changes", "2".to_string()),
            Outcome::Exited(exit_code::INTERRUPTED) => {
                ("interrupted", signals::exit_code().to_string())
            }
            Outcome::Exited(code) => ("failed", code.to_string()),
            Outcome::Error(_) => ("failed", "-".to_string()),
            Outcome::Skipped => ("skipped", "-".to_string()),
            Outcome::DependencyFailed(_) => ("skipped", "-".to_string()),
        };
        let why = match (&row.outcome, row.changes) {
            (Outcome::DependencyFailed(dependency), _) => {
                format!("  (dependency {dependency} failed)")
            }
            (
                _,
                Some(Changes {
                    add: 0,
                    change: 0,
                    destroy: 0,
                }),
            ) => "  no changes".to_string(),
            (_, Some(c)) => format!("  +{} ~{} -{}", c.add, c.change, c.destroy),
            _ => String::new(),
        };
        text.push_str(&format!(
            "{:<width$}  {result:<10}  {code:>4}  {:>7.1}s{why}\n",
            row.name,
            row.duration.as_secs_f64()
        ));
    }
    crate::output::note(&text);
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
            let mut whole = format!("==> {name}\n").into_bytes();
            whole.extend_from_slice(captured);
            crate::output::relay(&whole);
        }
        self.redraw(&state);
    }

    fn redraw(&self, state: &(usize, BTreeSet<String>)) {
        if self.draw {
            let running: Vec<&str> = state.1.iter().map(String::as_str).collect();
            crate::output::note(&format!(
                "\r\x1b[2K[{}/{}] running: {}",
                state.0,
                self.total,
                running.join(", ")
            ));
        }
    }

    fn clear_line(&self) {
        if self.draw {
            crate::output::note("\r\x1b[2K");
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
                path: "s".into(),
                outcome: o.clone(),
                changes: None,
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

    #[test]
    fn changes_from_terraforms_closing_line() {
        type Counts = Option<(u64, u64, u64)>;
        let cases: &[(&str, Counts)] = &[
            (
                "...\nPlan: 1 to add, 2 to change, 0 to destroy.\n",
                Some((1, 2, 0)),
            ),
            (
                "\x1b[0m\x1b[1mPlan:\x1b[0m 3 to add, 0 to change, 12 to destroy.\n",
                Some((3, 0, 12)),
            ),
            (
                "No changes. Your infrastructure matches the configuration.\n",
                Some((0, 0, 0)),
            ),
            (
                "\nApply complete! Resources: 4 added, 1 changed, 2 destroyed.\n",
                Some((4, 1, 2)),
            ),
            (
                "Destroy complete! Resources: 0 added, 0 changed, 5 destroyed.\n",
                Some((0, 0, 5)),
            ),
            ("Changes to Outputs:\n  + x = 1\n", None),
            ("", None),
        ];
        for (text, expected) in cases {
            let got = changes(text.as_bytes()).map(|c| (c.add, c.change, c.destroy));
            assert_eq!(got, *expected, "{text:?}");
        }
    }
}
