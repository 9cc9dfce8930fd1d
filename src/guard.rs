//! Protected environments: which commands touch their state, and the deliberate confirmation
//! (typed env name at a terminal, `--confirm <ENV>` elsewhere) they need first.

use crate::error::Error;
use crate::terraform::command_table;
use crate::terraform::hcl;
use crate::terraform::hcl::Parsed;
use std::ffi::OsString;
use std::path::Path;

/// What the guard decided for one command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Not protected, not mutating, or confirmed by a matching token.
    Proceed,
    /// Ask the user at the terminal to type the env name.
    Ask,
    /// No terminal and no matching token.
    Refuse(Error),
}

/// Everything the decision depends on; no I/O.
pub struct Situation<'a> {
    pub env: &'a str,
    pub protected: &'a [String],
    pub command: &'a OsString,
    pub args: &'a [OsString],
    /// stdin and stderr are terminals, and prompting is allowed.
    pub terminal: bool,
    /// `--confirm` / `TFW_CONFIRM`.
    pub token: Option<&'a str>,
}

pub fn decide(situation: &Situation) -> Decision {
    let env = situation.env;
    if !situation.protected.iter().any(|p| p == env)
        || !command_table::mutates_state(&situation.command.to_string_lossy(), situation.args)
    {
        return Decision::Proceed;
    }
    match situation.token {
        Some(token) if token == env => Decision::Proceed,
        Some(token) => Decision::Refuse(Error::Refused {
            message: format!("`{token}` does not confirm {env}: {env} is protected"),
            help: confirm_help(env),
        }),
        None if situation.terminal => Decision::Ask,
        None => Decision::Refuse(Error::Refused {
            message: format!("{env} is protected and there is no terminal to confirm at"),
            help: confirm_help(env),
        }),
    }
}

fn confirm_help(env: &str) -> String {
    format!(
        "to confirm, pass `--confirm {env}` before the env (`tfw --confirm {env} {env} …`) or set TFW_CONFIRM={env}"
    )
}

/// The non-secret keys of a backend config that say where state lives.
const LOCATION_KEYS: &[&str] = &[
    "bucket",
    "key",
    "prefix",
    "region",
    "path",
    "workspace_key_prefix",
    "storage_account_name",
    "container_name",
    "resource_group_name",
    "organization",
    "workspace",
    "workspaces",
];

/// `bucket = "b", key = "k"` from a backend config file, credentials left out.
pub fn state_location(file: &Path) -> String {
    let Ok(bytes) = std::fs::read(file) else {
        return format!("(cannot read {})", file.display());
    };
    let is_json = file.extension().is_some_and(|e| e == "json");
    let attributes = match hcl::parse_attributes(&bytes, is_json) {
        Parsed::Attributes(attributes) => attributes,
        _ => return format!("(cannot parse {})", file.display()),
    };
    let shown: Vec<String> = attributes
        .iter()
        .filter(|(key, _)| LOCATION_KEYS.contains(key))
        .map(|(key, value)| format!("{key} = {value:?}"))
        .collect();
    if shown.is_empty() {
        return format!("(no location keys in {})", file.display());
    }
    shown.join(", ")
}

/// One stack a confirmation covers, as shown before asking.
pub struct Target {
    pub stack: String,
    pub commands: Vec<String>,
    pub location: String,
}

/// Shows what is about to happen (every stack, before any runs) and asks for the env name.
pub fn ask(env: &str, targets: &[Target]) -> Result<(), Error> {
    eprintln!("tfw: {env} is a protected environment.");
    for target in targets {
        eprintln!("  stack:   {}", target.stack);
        for command in &target.commands {
            eprintln!("  command: {command}");
        }
        eprintln!("  state:   {}", target.location);
    }
    // Read in the terminal's own line mode, not a raw-mode line editor (dialoguer's ignores
    // Ctrl-D): Ctrl-D is then end of input and refuses; Ctrl-C ends tfw before anything ran.
    eprint!("Type `{env}` to continue: ");
    let mut typed = String::new();
    let read = std::io::stdin().read_line(&mut typed);
    let help = format!("type the environment name `{env}` exactly to proceed");
    let typed = typed
        .strip_suffix('\n')
        .map(|t| t.strip_suffix('\r').unwrap_or(t));
    match (read, typed) {
        (Ok(bytes), Some(typed)) if bytes > 0 && typed == env => Ok(()),
        (Ok(bytes), Some(typed)) if bytes > 0 => Err(Error::Refused {
            message: format!("not confirmed: typed `{typed}`, not `{env}`"),
            help,
        }),
        _ => Err(Error::Refused {
            message: "not confirmed: no answer".into(),
            help,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(line: &str) -> Vec<OsString> {
        line.split_whitespace().map(OsString::from).collect()
    }

    #[test]
    fn decision_table() {
        let protected = vec!["prd".to_string()];
        // (env, command, terminal, token, expected)
        let cases: &[(&str, &str, bool, Option<&str>, &str)] = &[
            ("stg", "apply", false, None, "proceed"),
            ("prd", "plan", false, None, "proceed"),
            ("prd", "apply", true, None, "ask"),
            ("prd", "apply", false, None, "refuse"),
            ("prd", "apply", false, Some("prd"), "proceed"),
            ("prd", "apply", true, Some("prd"), "proceed"),
            ("prd", "apply", false, Some("stg"), "refuse"),
            ("prd", "apply", true, Some("yes"), "refuse"),
            ("prd", "destroy", false, Some("1"), "refuse"),
            ("prd", "state rm a", false, Some("true"), "refuse"),
            ("prd", "state list", false, None, "proceed"),
        ];
        for (env, line, terminal, token, expected) in cases {
            let w = words(line);
            let decision = decide(&Situation {
                env,
                protected: &protected,
                command: &w[0],
                args: &w[1..],
                terminal: *terminal,
                token: *token,
            });
            let got = match decision {
                Decision::Proceed => "proceed",
                Decision::Ask => "ask",
                Decision::Refuse(ref e) => {
                    assert_eq!(e.exit_code(), 77);
                    assert!(e.help().contains("--confirm prd"), "{}", e.help());
                    "refuse"
                }
            };
            assert_eq!(
                got, *expected,
                "{env} {line} terminal={terminal} token={token:?}"
            );
        }
    }

    #[test]
    fn state_location_shows_only_location_keys() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("prd.tfbackend");
        std::fs::write(&file, "bucket = \"b\"\nkey = \"k/terraform.tfstate\"\nregion = \"eu-west-1\"\naccess_key = \"AKIASECRET\"\nsecret_key = \"s3cr3t\"\n").unwrap();
        let shown = state_location(&file);
        assert_eq!(
            shown,
            "bucket = \"b\", key = \"k/terraform.tfstate\", region = \"eu-west-1\""
        );
        assert!(state_location(&dir.path().join("none")).contains("cannot read"));
    }
}
