//! The end of an `--all` run laid out by environment: the matrix on stderr, the Markdown for
//! `--summary` and GitHub's step summary, the `--report` JSON, and GitHub's step outputs.

use super::reading::{Changes, Verdict, plain};
use super::row::Row;
use serde::Serialize;
use std::time::Duration;

/// GitHub refuses a comment over 65,536 characters; this leaves room for a bot's own lines.
pub const MARKDOWN_LIMIT: usize = 65_000;

/// What one pair's cell says: `+2 ~1 -0`, `no changes`, `failed 1`, …
pub fn cell(row: &Row) -> String {
    match (row.verdict, row.reading.changes) {
        (
            Verdict::Changes,
            Some(Changes {
                add,
                change,
                destroy,
            }),
        ) => format!("+{add} ~{change} -{destroy}"),
        (Verdict::Failed, _) => match row.exit_code() {
            Some(code) => format!("failed {code}"),
            None => "failed".into(),
        },
        (verdict, _) => verdict.word().into(),
    }
}

/// The run's totals, as the summary's last line and the report's `totals`.
#[derive(Serialize, Default, Debug, PartialEq, Eq)]
pub struct Totals {
    pub pairs: usize,
    pub ok: usize,
    pub failed: usize,
    /// Pairs with changes to resources or outputs.
    pub with_changes: usize,
    pub destroying: usize,
    pub skipped: usize,
    pub cancelled: usize,
    pub interrupted: usize,
    pub add: u64,
    pub change: u64,
    pub destroy: u64,
    #[serde(skip)]
    pub wall: Duration,
}

impl Totals {
    pub fn of(rows: &[Row], wall: Duration) -> Self {
        let mut totals = Totals {
            pairs: rows.len(),
            wall,
            ..Default::default()
        };
        for row in rows {
            let changes = row.reading.changes.unwrap_or_default();
            totals.add += changes.add;
            totals.change += changes.change;
            totals.destroy += changes.destroy;
            match row.verdict {
                Verdict::Changes | Verdict::Outputs => {
                    totals.ok += 1;
                    totals.with_changes += 1;
                }
                Verdict::NoChanges | Verdict::Ok => totals.ok += 1,
                Verdict::Failed => totals.failed += 1,
                Verdict::Skipped if row.outcome.failed() => totals.failed += 1,
                Verdict::Skipped => totals.skipped += 1,
                Verdict::Cancelled => totals.cancelled += 1,
                Verdict::Interrupted => totals.interrupted += 1,
            }
            if row.destroys() {
                totals.destroying += 1;
            }
        }
        totals
    }

    /// `9 ok, 1 failed, 2 with changes, 1 destroying; 31.2 s`.
    pub fn line(&self) -> String {
        let mut parts = vec![
            format!("{} ok", self.ok),
            format!("{} failed", self.failed),
            format!("{} with changes", self.with_changes),
            format!("{} destroying", self.destroying),
        ];
        for (count, word) in [
            (self.skipped, "skipped"),
            (self.cancelled, "cancelled"),
            (self.interrupted, "interrupted"),
        ] {
            if count > 0 {
                parts.push(format!("{count} {word}"));
            }
        }
        format!("{}; {:.1} s", parts.join(", "), self.wall.as_secs_f64())
    }
}

/// The stacks in first-run order, and the row of each (stack, env) cell.
fn matrix<'a>(rows: &'a [Row], envs: &[String]) -> Vec<(&'a str, Vec<Option<&'a Row>>)> {
    let mut stacks: Vec<&str> = Vec::new();
    for row in rows {
        if !stacks.contains(&row.stack.as_str()) {
            stacks.push(&row.stack);
        }
    }
    stacks
        .into_iter()
        .map(|stack| {
            let cells = envs
                .iter()
                .map(|env| rows.iter().find(|r| r.stack == stack && &r.env == env))
                .collect();
            (stack, cells)
        })
        .collect()
}

/// Why each failed pair failed: `datadog (stg): exit 1: Error: …`.
fn failures(rows: &[Row]) -> Vec<String> {
    rows.iter()
        .filter(|row| row.outcome.failed() && row.verdict != Verdict::Cancelled)
        .map(|row| format!("{}: {}", row.label(), row.why()))
        .collect()
}

/// The matrix as text: a header row of envs, a row per stack, the totals, the failures again.
/// Destroys are red with `color`, else marked `!`.
pub fn text(rows: &[Row], envs: &[String], totals: &Totals, color: bool) -> String {
    let matrix = matrix(rows, envs);
    let mark = |row: Option<&Row>| -> String {
        match row {
            None => "-".into(),
            Some(row) if row.destroys() && !color => format!("{} !", cell(row)),
            Some(row) => cell(row),
        }
    };
    let cells: Vec<Vec<String>> = matrix
        .iter()
        .map(|(_, row)| row.iter().map(|r| mark(*r)).collect())
        .collect();
    let first = matrix
        .iter()
        .map(|(stack, _)| stack.chars().count())
        .chain(["stack".len()])
        .max()
        .unwrap_or(0);
    let widths: Vec<usize> = envs
        .iter()
        .enumerate()
        .map(|(i, env)| {
            cells
                .iter()
                .map(|row| row[i].chars().count())
                .chain([env.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut text = format!("\n{:<first$}", "stack");
    for (env, width) in envs.iter().zip(&widths) {
        text.push_str(&format!("  {env:<width$}"));
    }
    text = text.trim_end().to_string() + "\n";
    for ((stack, row), cells) in matrix.iter().zip(&cells) {
        let mut line = format!("{stack:<first$}");
        for ((cell, width), pair) in cells.iter().zip(&widths).zip(row) {
            let padded = format!("{cell:<width$}");
            match pair {
                Some(pair) if color && pair.destroys() => {
                    line.push_str(&format!("  \x1b[1;31m{padded}\x1b[0m"))
                }
                Some(pair) if color && pair.outcome.failed() => {
                    line.push_str(&format!("  \x1b[31m{padded}\x1b[0m"))
                }
                _ => line.push_str(&format!("  {padded}")),
            }
        }
        text.push_str(line.trim_end());
        text.push('\n');
    }
    text.push_str(&totals.line());
    text.push('\n');
    let failures = failures(rows);
    if !failures.is_empty() {
        text.push_str("failed:\n");
        for failure in failures {
            text.push_str(&format!("  {failure}\n"));
        }
    }
    text
}

/// The matrix as GitHub-flavoured Markdown, each pair's output in a collapsed block, kept
/// under `limit` characters by cutting the longest outputs first.
pub fn markdown(
    rows: &[Row],
    envs: &[String],
    totals: &Totals,
    title: &str,
    limit: usize,
) -> String {
    let escape = |text: &str| text.replace('|', "\\|");
    let mut head = format!("### {}\n\n| stack |", escape(title));
    for env in envs {
        head.push_str(&format!(" {} |", escape(env)));
    }
    head.push_str("\n|---|");
    head.push_str(&"---|".repeat(envs.len()));
    head.push('\n');
    for (stack, row) in matrix(rows, envs) {
        head.push_str(&format!("| `{stack}` |"));
        for pair in row {
            let cell = match pair {
                None => "-".to_string(),
                Some(pair) if pair.destroys() => format!("**{} !**", cell(pair)),
                Some(pair) if pair.outcome.failed() => format!("**{}**", cell(pair)),
                Some(pair) => cell(pair),
            };
            head.push_str(&format!(" {} |", escape(&cell)));
        }
        head.push('\n');
    }
    head.push_str(&format!("\n{}\n", totals.line()));
    let failures = failures(rows);
    if !failures.is_empty() {
        head.push_str("\nFailed:\n\n");
        for failure in failures {
            head.push_str(&format!("- {}\n", escape(&failure)));
        }
    }
    let outputs: Vec<String> = rows
        .iter()
        .map(|row| plain(&row.output).trim_end().to_string())
        .collect();
    let block = |row: &Row, text: &str| -> String {
        let fence = "`".repeat(longest_run(text, '`').max(2) + 1);
        format!(
            "\n<details><summary>{} ({}): {}</summary>\n\n{fence}\n{text}\n{fence}\n\n</details>\n",
            row.stack,
            row.env,
            cell(row)
        )
    };
    let fixed: usize = head.chars().count()
        + rows
            .iter()
            .zip(&outputs)
            .filter(|(_, o)| !o.is_empty())
            .map(|(row, _)| block(row, "").chars().count())
            .sum::<usize>();
    let lengths: Vec<usize> = outputs.iter().map(|o| o.chars().count()).collect();
    const CUT: &str = "\n… (cut to keep this summary under the size limit)";
    const NOTE: &str =
        "\nThe longest outputs below were cut to keep this summary under 65,000 characters.\n";
    let cap = match fixed + lengths.iter().sum::<usize>() <= limit {
        true => None,
        false => {
            let room = limit.saturating_sub(fixed + NOTE.len() + rows.len() * CUT.len());
            Some(level(&lengths, room))
        }
    };
    let mut text = head;
    if cap.is_some() {
        text.push_str(NOTE);
    }
    // A pair that never ran, or printed nothing, has no block.
    for (row, output) in rows.iter().zip(&outputs).filter(|(_, o)| !o.is_empty()) {
        match cap {
            Some(cap) if output.chars().count() > cap => {
                let cut: String = output.chars().take(cap).collect();
                text.push_str(&block(row, &(cut + CUT)));
            }
            _ => text.push_str(&block(row, output)),
        }
    }
    text
}

/// The largest length `cap` such that every length cut to `cap` sums to at most `room`: the
/// longest are cut first, and to the same length.
fn level(lengths: &[usize], room: usize) -> usize {
    let mut sorted = lengths.to_vec();
    sorted.sort_unstable();
    let mut used = 0;
    for (i, &length) in sorted.iter().enumerate() {
        let left = sorted.len() - i;
        if used + length * left > room {
            return (room - used) / left;
        }
        used += length;
    }
    usize::MAX
}

fn longest_run(text: &str, c: char) -> usize {
    let (mut longest, mut run) = (0, 0);
    for ch in text.chars() {
        run = if ch == c { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    longest
}

/// `--report`'s JSON; its schema is in docs/ci.md (bump `version` on any incompatible change).
#[derive(Serialize)]
pub struct Report<'a> {
    pub version: u32,
    pub command: &'a str,
    pub envs: &'a [String],
    pub pairs: Vec<ReportPair<'a>>,
    pub totals: &'a Totals,
    pub seconds: f64,
}

#[derive(Serialize)]
pub struct ReportPair<'a> {
    pub stack: &'a str,
    pub env: &'a str,
    pub result: &'static str,
    pub exit_code: Option<i32>,
    pub changes: Option<ReportChanges>,
    pub destroys: bool,
    pub error: Option<String>,
    pub seconds: f64,
}

#[derive(Serialize)]
pub struct ReportChanges {
    pub add: u64,
    pub change: u64,
    pub destroy: u64,
    pub outputs: bool,
}

pub fn report<'a>(
    rows: &'a [Row],
    envs: &'a [String],
    command: &'a str,
    totals: &'a Totals,
) -> Report<'a> {
    Report {
        version: 1,
        command,
        envs,
        pairs: rows
            .iter()
            .map(|row| ReportPair {
                stack: &row.stack,
                env: &row.env,
                result: row.verdict.word(),
                exit_code: row.exit_code(),
                changes: match (row.reading.changes, row.reading.outputs) {
                    (None, false) => None,
                    (changes, outputs) => {
                        let c = changes.unwrap_or_default();
                        Some(ReportChanges {
                            add: c.add,
                            change: c.change,
                            destroy: c.destroy,
                            outputs,
                        })
                    }
                },
                destroys: row.destroys(),
                error: row.outcome.failed().then(|| row.why()),
                seconds: row.duration.as_secs_f64(),
            })
            .collect(),
        totals,
        seconds: totals.wall.as_secs_f64(),
    }
}

/// The lines for `$GITHUB_OUTPUT`: `has_changes`, `has_destroys`, `failed`.
pub fn github_outputs(totals: &Totals) -> String {
    format!(
        "has_changes={}\nhas_destroys={}\nfailed={}\n",
        totals.with_changes > 0,
        totals.destroying > 0,
        totals.failed > 0
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_are_cut_first_and_to_one_length() {
        assert_eq!(level(&[10, 20, 30], 60), usize::MAX);
        assert_eq!(level(&[10, 20, 30], 50), 20);
        assert_eq!(level(&[10, 1000, 30], 100), 60);
        assert_eq!(level(&[100, 100], 10), 5);
    }
}
