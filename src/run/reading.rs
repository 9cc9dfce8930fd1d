//! What a pair's run came to: terraform's closing lines read into counts, and the one list of
//! result words the summary, the Markdown and the JSON report all use.

use serde::Serialize;

/// What terraform's closing line said.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
pub struct Changes {
    pub add: u64,
    pub change: u64,
    pub destroy: u64,
}

impl Changes {
    pub fn any(&self) -> bool {
        self.add + self.change + self.destroy > 0
    }
}

/// terraform's output, read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reading {
    /// The counts of the last `Plan: …` / `Apply complete! …` line; zero for `No changes.`.
    pub changes: Option<Changes>,
    /// `Changes to Outputs:` was printed.
    pub outputs: bool,
    /// `Apply cancelled.` / `Destroy cancelled.`: someone answered no at terraform's prompt.
    pub cancelled: bool,
    /// The last `Error: …` line (box drawing removed), else the last line printed.
    pub last_error: Option<String>,
}

/// `output` without colour sequences (`\x1b[…m`).
pub fn plain(output: &[u8]) -> String {
    let text = String::from_utf8_lossy(output);
    let mut plain = String::with_capacity(text.len());
    let mut rest = text.as_ref();
    while let Some(start) = rest.find('\x1b') {
        plain.push_str(&rest[..start]);
        rest = rest[start..]
            .find('m')
            .map_or("", |end| &rest[start + end + 1..]);
    }
    plain.push_str(rest);
    plain
}

/// Reads terraform's output (stdout, or everything it printed).
pub fn read(output: &[u8]) -> Reading {
    let plain = plain(output);
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
    // Terraform frames diagnostics in a box (`╷`, `│ Error: …`, `╵`).
    let unboxed = |line: &str| {
        line.trim()
            .trim_start_matches(['│', '╷', '╵'])
            .trim()
            .to_string()
    };
    let lines: Vec<String> = plain.lines().map(unboxed).collect();
    Reading {
        changes: lines.iter().rev().find_map(|line| {
            if line.starts_with("Plan:") {
                numbers(line, [" to add", " to change", " to destroy"])
            } else if line.starts_with("Apply complete!") || line.starts_with("Destroy complete!") {
                numbers(line, [" added", " changed", " destroyed"])
            } else if line.starts_with("No changes.") {
                Some(Changes::default())
            } else {
                None
            }
        }),
        outputs: lines.iter().any(|line| line == "Changes to Outputs:"),
        cancelled: lines
            .iter()
            .any(|line| line == "Apply cancelled." || line == "Destroy cancelled."),
        last_error: lines
            .iter()
            .rfind(|line| line.starts_with("Error:") || line.starts_with("tfw: error:"))
            .or_else(|| lines.iter().rfind(|line| !line.is_empty()))
            .cloned(),
    }
}

/// A pair's result: the one list of result words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Resources change (or exit 2 without a count).
    Changes,
    NoChanges,
    /// Only outputs change.
    Outputs,
    /// Succeeded; not a command that plans.
    Ok,
    Failed,
    /// Not started (interrupted, `--fail-fast`, or a dependency that failed).
    Skipped,
    /// Someone answered no at terraform's prompt.
    Cancelled,
    Interrupted,
}

impl Verdict {
    /// The word in the summary, the Markdown and the report's `result`.
    pub fn word(self) -> &'static str {
        match self {
            Verdict::Changes => "changes",
            Verdict::NoChanges => "no changes",
            Verdict::Outputs => "outputs",
            Verdict::Ok => "ok",
            Verdict::Failed => "failed",
            Verdict::Skipped => "skipped",
            Verdict::Cancelled => "cancelled",
            Verdict::Interrupted => "interrupted",
        }
    }

    /// What a succeeded run (exit 0 or 2) said; `detailed`: `-detailed-exitcode` was given, so
    /// 0 means no changes.
    pub fn of_success(code: i32, reading: &Reading, detailed: bool) -> Self {
        match reading.changes {
            Some(changes) if changes.any() => Verdict::Changes,
            _ if reading.outputs => Verdict::Outputs,
            Some(_) => Verdict::NoChanges,
            None if code == 2 => Verdict::Changes,
            None if detailed => Verdict::NoChanges,
            None => Verdict::Ok,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
            let got = read(text.as_bytes())
                .changes
                .map(|c| (c.add, c.change, c.destroy));
            assert_eq!(got, *expected, "{text:?}");
        }
    }

    #[test]
    fn outputs_cancel_and_the_last_error() {
        let reading = read(b"Changes to Outputs:\n  + x = 1\n\nYou can apply this plan\n");
        assert!(reading.outputs);
        assert_eq!(Verdict::of_success(2, &reading, true), Verdict::Outputs);
        assert!(read(b"Do you want to perform these actions?\n\nApply cancelled.\n").cancelled);
        let reading =
            read("╷\n│ Error: Unsupported argument\n│ \n│   on main.tf line 3\n╵\n".as_bytes());
        assert_eq!(
            reading.last_error.as_deref(),
            Some("Error: Unsupported argument")
        );
    }
}
