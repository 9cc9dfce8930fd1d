//! One command across (stack, env) pairs (`--all`): in dependency order per env, on N
//! workers, each pair's output whole, progress while it runs, a matrix summary at the end
//! (text, Markdown, JSON) and one merged exit code.

use super::progress::Progress;
use super::reading;
use super::row::{Outcome, Row, label};
use super::summary;
use crate::atomic_file;
use crate::console;
use crate::error::{self, Error};
use crate::exit_code;
use crate::repo::Stack;
use crate::terraform::Prepared;
use crate::terraform::executor::{Executor, Output};
use crate::terraform::invocation::inherited;
use crate::terraform::signals;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};
use std::time::Instant;

/// One (stack, env) pair to run, or the reason it cannot run.
pub struct Job<'a> {
    pub stack: &'a Stack,
    pub env: String,
    pub prepared: Result<Prepared, Error>,
    /// The jobs (indices) that must finish successfully before this one starts.
    pub waits: Vec<usize>,
}

impl Job<'_> {
    /// `datadog (stg)`: the stack by its path (`.` for the root) and the env, as every line of
    /// the run names a pair.
    pub fn label(&self) -> String {
        label(&self.stack.path, &self.env)
    }
}

pub struct Options {
    /// How many pairs run at once; 1 streams each pair's output as it comes.
    pub jobs: usize,
    /// Start no new pair after one failed.
    pub fail_fast: bool,
    /// `-detailed-exitcode` was passed: 0 means "no changes".
    pub detailed: bool,
    /// The envs, in the matrix's column order.
    pub envs: Vec<String>,
    /// The terraform command, for the Markdown's title and the report.
    pub command: String,
    /// `--report FILE`: the summary as JSON.
    pub report: Option<PathBuf>,
    /// `--summary FILE`: the summary as Markdown.
    pub summary: Option<PathBuf>,
    pub quiet: bool,
}

/// Where each job is.
#[derive(Clone, PartialEq)]
enum State {
    Waiting,
    Running,
    Done { succeeded: bool },
}

/// Runs every job and returns the merged exit code: 130 when interrupted, 1 when any pair
/// failed, else 2 when any reported changes, else 0.
pub fn run(jobs: &[Job], options: &Options, executor: &Executor) -> i32 {
    let begun = Instant::now();
    let capture = options.jobs > 1;
    let progress = Progress::new(
        jobs.len(),
        capture && !options.quiet && std::io::stderr().is_terminal(),
        options.quiet,
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
                    return Some((index, Some(jobs[dependency].stack.path.clone())));
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
            let label = job.label();
            let started = Instant::now();
            let (outcome, output) = if let Some(dependency) = failed_dependency {
                (Outcome::DependencyFailed(dependency), Vec::new())
            } else if signals::interrupted() || (options.fail_fast && failed.load(Ordering::SeqCst))
            {
                (Outcome::Skipped, Vec::new())
            } else {
                let position = progress.start(&label);
                let (outcome, kept) = run_job(job, executor, capture, position);
                (outcome, kept)
            };
            let reading = reading::read(&output);
            let verdict = outcome.verdict(&reading, options.detailed);
            if outcome.failed() {
                failed.store(true, Ordering::SeqCst);
            }
            let row = Row {
                stack: job.stack.path.clone(),
                env: job.env.clone(),
                outcome,
                reading,
                verdict,
                output,
                duration: started.elapsed(),
            };
            // A pair never started has no output to show, but counts as done.
            let ran = matches!(row.outcome, Outcome::Exited(_) | Outcome::Error(_));
            progress.finish(
                &label,
                (capture && ran).then_some(row.output.as_slice()),
                &summary::cell(&row),
                row.outcome.failed(),
            );
            let succeeded = matches!(row.outcome, Outcome::Exited(0 | 2));
            rows.lock().unwrap()[index] = Some(row);
            states.lock().unwrap()[index] = State::Done { succeeded };
            changed.notify_all();
        }
    };
    std::thread::scope(|scope| {
        let ticker = scope.spawn(|| progress.tick());
        let workers: Vec<_> = (0..options.jobs.max(1))
            .map(|_| scope.spawn(worker))
            .collect();
        for worker in workers {
            let _ = worker.join();
        }
        progress.end();
        let _ = ticker.join();
    });
    let rows: Vec<Row> = rows.into_inner().unwrap().into_iter().flatten().collect();
    let totals = summary::Totals::of(&rows, begun.elapsed());
    console::note(&summary::text(
        &rows,
        &options.envs,
        &totals,
        console::colored(),
    ));
    let mut code = merge(&rows, signals::interrupted());
    if let Err(error) = write_summaries(&rows, options, &totals) {
        console::note(&error::shown(&error, console::colored()).0);
        code = exit_code::IO_ERROR;
    }
    code
}

/// `--report`, `--summary`, and GitHub's step summary and outputs when GitHub Actions set them.
fn write_summaries(
    rows: &[Row],
    options: &Options,
    totals: &summary::Totals,
) -> anyhow::Result<()> {
    use anyhow::Context as _;
    if let Some(file) = &options.report {
        let report = summary::report(rows, &options.envs, &options.command, totals);
        let text = serde_json::to_string_pretty(&report)? + "\n";
        atomic_file::write(file, text.as_bytes())
            .with_context(|| format!("writing the report {}", file.display()))?;
    }
    let step_summary = inherited("GITHUB_STEP_SUMMARY").filter(|v| !v.is_empty());
    if options.summary.is_some() || step_summary.is_some() {
        let title = format!("tfw {} {}", options.envs.join(","), options.command);
        let markdown =
            summary::markdown(rows, &options.envs, totals, &title, summary::MARKDOWN_LIMIT);
        if let Some(file) = &options.summary {
            atomic_file::write(file, markdown.as_bytes())
                .with_context(|| format!("writing the summary {}", file.display()))?;
        }
        if let Some(file) = step_summary {
            append(Path::new(&file), &markdown).with_context(|| {
                format!("appending to GITHUB_STEP_SUMMARY ({})", file.display())
            })?;
        }
    }
    if let Some(file) = inherited("GITHUB_OUTPUT").filter(|v| !v.is_empty()) {
        append(Path::new(&file), &summary::github_outputs(totals))
            .with_context(|| format!("appending to GITHUB_OUTPUT ({})", file.display()))?;
    }
    Ok(())
}

/// Appends `text` to `file`, as GitHub Actions expects its files to be written.
fn append(file: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(file)?
        .write_all(text.as_bytes())
}

/// Runs one pair; with `capture`, its output comes back whole instead of being printed (else
/// terraform's stdout, kept while it passes through). `position` is its place in the run.
fn run_job(
    job: &Job,
    executor: &Executor,
    capture: bool,
    (position, total): (usize, usize),
) -> (Outcome, Vec<u8>) {
    let header = format!("==> {} ({position}/{total})\n", job.label());
    if !capture {
        console::note(&header);
    }
    // A pair that failed inside tfw says why, in tfw's one shape: with its output when kept
    // (run in parallel), else at once.
    let failed = |error: &anyhow::Error, mut kept: Vec<u8>| {
        let (text, _) = error::shown(error, !capture && console::colored());
        if capture {
            kept.extend_from_slice(text.as_bytes());
        } else {
            console::note(&text);
        }
        (Outcome::Error(format!("{error:#}")), kept)
    };
    let prepared = match &job.prepared {
        Ok(prepared) => prepared,
        Err(error) => return failed(&error.clone().into(), Vec::new()),
    };
    let output = if capture {
        Output::Capture(Default::default())
    } else {
        Output::Relay(Default::default())
    };
    match executor.execute(prepared, &output) {
        // Marked 130 whatever the signal; the run's exit code says which (`merge`).
        Ok(code) if signals::interrupted() && code == signals::exit_code() => {
            (Outcome::Exited(exit_code::INTERRUPTED), output.kept())
        }
        Ok(code) => (Outcome::Exited(code), output.kept()),
        Err(error) => failed(&error, output.kept()),
    }
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

#[cfg(test)]
mod tests {
    use super::super::reading::Reading;
    use super::*;
    use std::time::Duration;

    fn rows(outcomes: &[Outcome]) -> Vec<Row> {
        outcomes
            .iter()
            .map(|o| Row {
                stack: "s".into(),
                env: "e".into(),
                outcome: o.clone(),
                reading: Reading::default(),
                verdict: o.verdict(&Reading::default(), false),
                output: Vec::new(),
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
