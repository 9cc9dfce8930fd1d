//! What terraform really runs: tfw's argv with `TF_CLI_ARGS` and `TF_CLI_ARGS_<command>`
//! inserted after the subcommand, as terraform's `mergeEnvArgs` does.

use crate::error::Error;
use crate::terraform::command_table;
use std::ffi::{OsStr, OsString};

/// One variable terraform reads its extra arguments from, and the words it adds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvArgs {
    pub name: String,
    pub words: Vec<OsString>,
}

/// The argv terraform acts on (subcommand first) for `args` (tfw's argv, subcommand first),
/// with the words of the variables `lookup` gives, and those variables (for showing). A value
/// tfw cannot split exactly as terraform would is refused: the guard cannot decide on it.
pub fn effective(
    args: &[OsString],
    lookup: &dyn Fn(&str) -> Option<OsString>,
) -> Result<(Vec<OsString>, Vec<EnvArgs>), Error> {
    let Some(command) = args.first() else {
        return Ok((Vec::new(), Vec::new()));
    };
    let command = command.to_string_lossy();
    // Terraform's subcommand is the command and, for nested ones, the subcommand word after it
    // (`state rm`, `workspace select`); the words go right after its last word.
    let nested = args
        .get(1)
        .and_then(|word| word.to_str())
        .filter(|word| command_table::is_nested(&command, word));
    let subcommand = match nested {
        Some(word) => format!("{command} {word}"),
        None => command.to_string(),
    };
    let suffix = subcommand.replace(['-', ' '], "_");
    let mut merged = args.to_vec();
    let mut used = Vec::new();
    // TF_CLI_ARGS first, then TF_CLI_ARGS_<command> in front of it, as terraform inserts them.
    for name in ["TF_CLI_ARGS".to_string(), format!("TF_CLI_ARGS_{suffix}")] {
        let Some(value) = lookup(&name).filter(|v| !v.is_empty()) else {
            continue;
        };
        let words = split(&value).map_err(|why| Error::Refused {
            message: format!("{name}={}: {why}", value.to_string_lossy()),
            help: format!(
                "tfw must know what terraform will run: give {name} plain words (quotes and backslashes are fine), or pass the arguments after the command instead"
            ),
        })?;
        let last = subcommand.rsplit(' ').next().unwrap_or_default();
        let at = merged
            .iter()
            .position(|word| word == OsStr::new(last))
            .map_or(0, |i| i + 1);
        merged.splice(at..at, words.iter().cloned());
        used.push(EnvArgs { name, words });
    }
    Ok((merged, used))
}

/// Splits a value into words as terraform's shellwords does without expansion: blanks separate,
/// `'…'` is literal, `"…"` and `\` escape; anything a shell would expand or redirect, or an
/// unclosed quote, is an error rather than a guess.
fn split(value: &OsStr) -> Result<Vec<OsString>, String> {
    let Some(text) = value.to_str() else {
        return Err("not valid UTF-8".into());
    };
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' | '\n' | '\r' => {
                if let Some(done) = word.take() {
                    words.push(done.into());
                }
            }
            '\'' => {
                let current = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => current.push(c),
                        None => return Err("a single quote is not closed".into()),
                    }
                }
            }
            '"' => {
                let current = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\')) => current.push(c),
                            Some(c) => {
                                current.push('\\');
                                current.push(c);
                            }
                            None => return Err("a double quote is not closed".into()),
                        },
                        Some('$' | '`') => return Err("`$` or a backquote in quotes".into()),
                        Some(c) => current.push(c),
                        None => return Err("a double quote is not closed".into()),
                    }
                }
            }
            '\\' => match chars.next() {
                Some(c) => word.get_or_insert_with(String::new).push(c),
                None => return Err("it ends with a backslash".into()),
            },
            ';' | '|' | '&' | '<' | '>' | '(' | ')' | '$' | '`' => {
                return Err(format!("`{c}` is shell syntax"));
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word.map(OsString::from));
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<OsString> {
        line.split_whitespace().map(OsString::from).collect()
    }

    fn merged(line: &str, vars: &[(&str, &str)]) -> Result<String, Error> {
        let lookup = |name: &str| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| OsString::from(v))
        };
        let (args, _) = effective(&words(line), &lookup)?;
        Ok(args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect::<Vec<_>>()
            .join(" "))
    }

    #[test]
    fn words_go_after_the_subcommand_the_command_specific_ones_first() {
        /// (tfw's argv, the variables set, what terraform acts on)
        type Case<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a str);
        let table: &[Case] = &[
            ("apply -var-file=a", &[], "apply -var-file=a"),
            (
                "apply -var-file=a",
                &[("TF_CLI_ARGS", "-destroy")],
                "apply -destroy -var-file=a",
            ),
            (
                "apply",
                &[("TF_CLI_ARGS_apply", "prd.tfplan")],
                "apply prd.tfplan",
            ),
            (
                "apply x",
                &[("TF_CLI_ARGS", "-a"), ("TF_CLI_ARGS_apply", "-b")],
                "apply -b -a x",
            ),
            (
                "workspace select sandbox",
                &[("TF_CLI_ARGS_workspace_select", "-or-create")],
                "workspace select -or-create sandbox",
            ),
            ("state", &[("TF_CLI_ARGS", "rm a")], "state rm a"),
            (
                "force-unlock 1",
                &[("TF_CLI_ARGS_force_unlock", "-force")],
                "force-unlock -force 1",
            ),
            (
                "plan",
                &[("TF_CLI_ARGS_plan", r#"-var 'a=b c' "-target=x\"y""#)],
                r#"plan -var a=b c -target=x"y"#,
            ),
            ("plan", &[("TF_CLI_ARGS_apply", "-destroy")], "plan"),
        ];
        for (line, vars, expected) in table {
            assert_eq!(merged(line, vars).unwrap(), *expected, "{line} {vars:?}");
        }
    }

    #[test]
    fn what_a_shell_would_expand_is_refused() {
        for value in ["a;b", "'open", "\"open", "$HOME", "`x`", "a|b", "x\\"] {
            let err = merged("apply", &[("TF_CLI_ARGS", value)]).unwrap_err();
            assert_eq!(err.exit_code(), 77, "{value}");
            assert!(err.to_string().starts_with("TF_CLI_ARGS="), "{err}");
        }
    }
}
