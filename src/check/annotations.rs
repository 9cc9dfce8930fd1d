//! `tfw check`'s problems for CI: GitHub Actions workflow commands (`::error file=…,line=…::…`,
//! shown on the pull request's diff) and GitLab's Code Quality report (a JSON list).

use super::Problem;
use serde::Serialize;

/// A workflow command's value: `%`, CR and LF escaped as the runner unescapes them.
fn data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// A workflow command's property (`file=…`): as `data`, and `:` and `,` too.
fn property(text: &str) -> String {
    data(text).replace(':', "%3A").replace(',', "%2C")
}

/// One `::error …` line per problem (`::warning …` for a warning kind) and one `::warning::…`
/// per file tfw could not read.
pub fn github(problems: &[Problem], warnings: &[String]) -> String {
    let mut text = String::new();
    for problem in problems {
        let line = problem
            .line
            .map_or(String::new(), |line| format!(",line={line}"));
        let level = if problem.is_warning() {
            "warning"
        } else {
            "error"
        };
        text.push_str(&format!(
            "::{level} file={}{line},title={}::{}\n",
            property(&problem.path),
            property(&format!("tfw check: {}", problem.kind)),
            data(&problem.message)
        ));
    }
    for warning in warnings {
        text.push_str(&format!("::warning title=tfw check::{}\n", data(warning)));
    }
    text
}

/// One issue of GitLab's Code Quality report.
#[derive(Serialize)]
pub struct Issue<'a> {
    description: String,
    check_name: &'a str,
    /// Stable across runs for the same problem, as GitLab compares reports by it.
    fingerprint: String,
    severity: &'static str,
    location: Location<'a>,
}

#[derive(Serialize)]
struct Location<'a> {
    path: &'a str,
    lines: Lines,
}

#[derive(Serialize)]
struct Lines {
    begin: usize,
}

/// The Code Quality issues: a problem that fails the check is `major`, a warning `minor`.
pub fn gitlab(problems: &[Problem]) -> Vec<Issue<'_>> {
    problems
        .iter()
        .map(|problem| {
            let line = problem.line.unwrap_or(1);
            let key = format!(
                "{}\0{}\0{line}\0{}",
                problem.kind, problem.path, problem.message
            );
            Issue {
                description: format!("{}: {}", problem.kind, problem.message),
                check_name: problem.kind,
                fingerprint: sha1_smol::Sha1::from(key).digest().to_string(),
                severity: if problem.is_warning() {
                    "minor"
                } else {
                    "major"
                },
                location: Location {
                    path: &problem.path,
                    lines: Lines { begin: line },
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_properties_are_escaped_as_the_runner_reads_them() {
        assert_eq!(data("100% a\nb"), "100%25 a%0Ab");
        assert_eq!(property("a:b,c"), "a%3Ab%2Cc");
    }
}
