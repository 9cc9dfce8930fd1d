//! What tfw knows of each terraform / OpenTofu command: its aliases, whether it needs init,
//! whether it takes var files, and whether it can change state.

/// Which invocations of a command can change state (or its lock).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mutation {
    Never,
    Always,
    /// Only with one of these subcommands (its first positional argument), or with a
    /// subcommand and a flag that makes it create something (`workspace select -or-create`).
    With(
        &'static [&'static str],
        &'static [(&'static str, &'static str)],
    ),
    /// `init` moves state only with `-migrate-state` or `-force-copy`.
    Migration,
}

/// Whether a command takes resources down: `--all` then runs dependents before what they
/// depend on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Teardown {
    Never,
    Always,
    /// With this boolean flag (`apply -destroy`).
    With(&'static str),
}

/// How tfw treats one terraform command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandTraits {
    /// The command's name when the word is an alias (`env` is `workspace`).
    pub name: &'static str,
    /// Needs an initialised data dir (backend, modules, providers).
    pub needs_init: bool,
    /// Accepts `-var-file` (terraform 1.0–1.14 rules; see FACTS.md).
    pub takes_var_files: bool,
    pub mutation: Mutation,
    /// The flag without which the command asks for approval on stdin (`-auto-approve`).
    pub approval_flag: Option<&'static str>,
    pub teardown: Teardown,
}

const fn command(
    name: &'static str,
    needs_init: bool,
    takes_var_files: bool,
    mutation: Mutation,
) -> CommandTraits {
    CommandTraits {
        name,
        needs_init,
        takes_var_files,
        mutation,
        approval_flag: None,
        teardown: Teardown::Never,
    }
}

const fn approved_by(traits: CommandTraits, flag: &'static str) -> CommandTraits {
    CommandTraits {
        approval_flag: Some(flag),
        ..traits
    }
}

const fn tearing_down(traits: CommandTraits, teardown: Teardown) -> CommandTraits {
    CommandTraits { teardown, ..traits }
}

/// The subcommands of the nested commands, as terraform's CLI finds them (`state rm`).
const NESTED: &[(&str, &[&str])] = &[
    (
        "state",
        &[
            "identities",
            "list",
            "mv",
            "pull",
            "push",
            "replace-provider",
            "rm",
            "show",
        ],
    ),
    ("workspace", &["delete", "list", "new", "select", "show"]),
    ("providers", &["lock", "mirror", "schema"]),
];

const WORKSPACE: CommandTraits = command(
    "workspace",
    true,
    false,
    Mutation::With(&["new", "delete"], &[("select", "or-create")]),
);
/// The global options that stand for a command of their own.
const HELP: CommandTraits = command("-help", false, false, Mutation::Never);
const VERSION: CommandTraits = command("-version", false, false, Mutation::Never);

/// Every command of terraform and OpenTofu, keyed by the word that names it.
const TABLE: &[(&str, CommandTraits)] = &[
    ("plan", command("plan", true, true, Mutation::Never)),
    (
        "apply",
        tearing_down(
            approved_by(
                command("apply", true, true, Mutation::Always),
                "auto-approve",
            ),
            Teardown::With("destroy"),
        ),
    ),
    (
        "destroy",
        tearing_down(
            approved_by(
                command("destroy", true, true, Mutation::Always),
                "auto-approve",
            ),
            Teardown::Always,
        ),
    ),
    ("refresh", command("refresh", true, true, Mutation::Always)),
    ("import", command("import", true, true, Mutation::Always)),
    ("console", command("console", true, true, Mutation::Never)),
    // Creates and destroys real infrastructure with the env's credentials.
    ("test", command("test", true, true, Mutation::Always)),
    (
        "validate",
        command("validate", true, false, Mutation::Never),
    ),
    ("output", command("output", true, false, Mutation::Never)),
    ("show", command("show", true, false, Mutation::Never)),
    (
        "state",
        command(
            "state",
            true,
            false,
            Mutation::With(&["mv", "rm", "push", "replace-provider"], &[]),
        ),
    ),
    ("taint", command("taint", true, false, Mutation::Always)),
    ("untaint", command("untaint", true, false, Mutation::Always)),
    (
        "force-unlock",
        approved_by(
            command("force-unlock", true, false, Mutation::Always),
            "force",
        ),
    ),
    ("graph", command("graph", true, false, Mutation::Never)),
    (
        "providers",
        command("providers", true, false, Mutation::Never),
    ),
    ("workspace", WORKSPACE),
    ("env", WORKSPACE),
    ("get", command("get", true, false, Mutation::Never)),
    ("modules", command("modules", true, false, Mutation::Never)),
    ("init", command("init", false, false, Mutation::Migration)),
    ("fmt", command("fmt", false, false, Mutation::Never)),
    ("version", command("version", false, false, Mutation::Never)),
    ("login", command("login", false, false, Mutation::Never)),
    ("logout", command("logout", false, false, Mutation::Never)),
    (
        "metadata",
        command("metadata", false, false, Mutation::Never),
    ),
    ("-help", HELP),
    ("-h", HELP),
    ("--help", HELP),
    ("-version", VERSION),
    ("-v", VERSION),
    ("--version", VERSION),
];

/// The commands that take `-no-color` (terraform strips it from anywhere in their arguments,
/// after a saved plan or a subcommand too).
const TAKING_NO_COLOR: &[&str] = &[
    "init",
    "plan",
    "apply",
    "destroy",
    "refresh",
    "import",
    "validate",
    "output",
    "show",
    "console",
    "test",
    "get",
    "fmt",
    "providers",
    "graph",
    "state",
    "workspace",
    "taint",
    "untaint",
];

/// Whether the command named `name` (a `CommandTraits::name`) takes `-no-color`.
pub fn takes_no_color(name: &str) -> bool {
    TAKING_NO_COLOR.contains(&name)
}

/// The commands' names and aliases (not the `-help`/`-version` flags), for completion.
pub fn names() -> impl Iterator<Item = &'static str> {
    TABLE
        .iter()
        .map(|(word, _)| *word)
        .filter(|word| !word.starts_with('-'))
}

/// Anything tfw does not know: a newer command still runs against the right state (init, no
/// var files), and on a protected env it asks first.
const UNKNOWN: CommandTraits = command("", true, false, Mutation::Always);

/// The traits of the command named by `word`.
pub fn lookup(word: &str) -> CommandTraits {
    TABLE
        .iter()
        .find(|(name, _)| *name == word)
        .map_or(UNKNOWN, |(_, traits)| *traits)
}

/// Whether `terraform <word> <args>` can change state (or its lock).
pub fn mutates_state(word: &str, args: &[std::ffi::OsString]) -> bool {
    match lookup(word).mutation {
        Mutation::Never => false,
        Mutation::Always => true,
        Mutation::With(subcommands, creating) => {
            let Some(sub) = args
                .iter()
                .map(|a| a.to_string_lossy())
                .find(|a| !a.starts_with('-'))
            else {
                return false;
            };
            subcommands.contains(&sub.as_ref())
                || creating
                    .iter()
                    .any(|(with, flag)| *with == sub && has_flag(args, flag))
        }
        Mutation::Migration => has_flag(args, "migrate-state") || has_flag(args, "force-copy"),
    }
}

/// Whether `terraform <word> <args>` takes resources down (`destroy`, `apply -destroy`).
pub fn tears_down(word: &str, args: &[std::ffi::OsString]) -> bool {
    match lookup(word).teardown {
        Teardown::Never => false,
        Teardown::Always => true,
        Teardown::With(flag) => has_flag(args, flag),
    }
}

/// Whether the boolean flag `name` is set among `args` (`-name`, `--name`, `-name=true`), as
/// Go's flag package reads it.
pub fn has_flag(args: &[std::ffi::OsString], name: &str) -> bool {
    args.iter().any(|a| {
        let a = a.to_string_lossy();
        let Some(flag) = a.strip_prefix("--").or_else(|| a.strip_prefix('-')) else {
            return false;
        };
        match flag.split_once('=') {
            Some((flag, value)) => flag == name && value != "false" && value != "0",
            None => flag == name,
        }
    })
}

/// The subcommands of `command` (`state`: `list`, `mv`, …; `env` is `workspace`), if any.
pub fn subcommands(command: &str) -> &'static [&'static str] {
    let command = lookup(command).name;
    NESTED
        .iter()
        .find(|(name, _)| *name == command)
        .map_or(&[], |(_, subs)| subs)
}

/// Whether `word` after `command` is one of its subcommands (`state rm`), which terraform
/// names `TF_CLI_ARGS_state_rm` after.
pub fn is_nested(command: &str, word: &str) -> bool {
    subcommands(command).contains(&word)
}

/// The known command nearest to an unknown `word` (`paln` → `plan`), if one is close enough
/// to be a typo.
pub fn suggest(word: &str) -> Option<&'static str> {
    if !lookup(word).name.is_empty() || word.starts_with('-') {
        return None;
    }
    names()
        .map(|name| (strsim::damerau_levenshtein(word, name), name))
        .filter(|(distance, name)| *distance <= 1 || (*distance == 2 && name.len() >= 6))
        .min()
        .map(|(_, name)| name)
}

/// `-chdir=DIR` / `-chdir DIR` among terraform's global options (before the command).
pub fn is_chdir(word: &str) -> bool {
    let name = word.trim_start_matches('-');
    word.starts_with('-') && (name == "chdir" || name.starts_with("chdir="))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsString;

    fn words(line: &str) -> Vec<OsString> {
        line.split_whitespace().map(OsString::from).collect()
    }

    #[test]
    fn var_file_commands_match_facts() {
        for cmd in [
            "plan", "apply", "destroy", "refresh", "import", "console", "test",
        ] {
            let traits = lookup(cmd);
            assert!(traits.needs_init && traits.takes_var_files, "{cmd}");
        }
        for cmd in [
            "validate",
            "output",
            "show",
            "state",
            "taint",
            "untaint",
            "force-unlock",
            "graph",
            "providers",
            "workspace",
            "env",
            "get",
        ] {
            let traits = lookup(cmd);
            assert!(traits.needs_init && !traits.takes_var_files, "{cmd}");
        }
        for cmd in [
            "fmt", "version", "login", "logout", "metadata", "-help", "init",
        ] {
            assert!(!lookup(cmd).needs_init, "{cmd}");
            assert!(!lookup(cmd).takes_var_files, "{cmd}");
        }
    }

    #[test]
    fn an_alias_is_its_command() {
        assert_eq!(lookup("env"), lookup("workspace"));
        assert_eq!(lookup("env").name, "workspace");
        assert_eq!(lookup("-v"), lookup("-version"));
    }

    #[test]
    fn unknown_command_inits_without_var_files_and_counts_as_mutating() {
        let traits = lookup("frobnicate");
        assert!(traits.needs_init && !traits.takes_var_files);
        assert!(mutates_state("frobnicate", &[]));
        assert!(mutates_state("-chdir=.", &words("apply")));
    }

    #[test]
    fn mutating_commands_table() {
        let guarded = [
            "apply",
            "apply tfplan",
            "apply -destroy",
            "destroy",
            "import a b",
            "refresh",
            "test",
            "state mv a b",
            "state rm a",
            "state push f",
            "state replace-provider a b",
            "taint a",
            "untaint a",
            "force-unlock 1",
            "workspace delete x",
            "workspace new x",
            "env delete x",
            "env new x",
            "init -migrate-state",
            "init --force-copy",
            "init -migrate-state=true",
            "workspace select -or-create sandbox",
            "workspace select -or-create=true sandbox",
            "env select --or-create sandbox",
        ];
        let read_only = [
            "plan",
            "output",
            "show",
            "state list",
            "state show a",
            "state pull",
            "console",
            "validate",
            "graph",
            "providers",
            "fmt",
            "init",
            "init -upgrade",
            "init -migrate-state=false",
            "workspace list",
            "workspace select x",
            "env list",
            "env select x",
            "workspace select -or-create=false x",
            "workspace list -or-create",
            "-help",
            "-version",
            "version",
        ];
        for (lines, expected) in [(&guarded[..], true), (&read_only[..], false)] {
            for line in lines {
                let w = words(line);
                let word = w[0].to_str().unwrap();
                assert_eq!(mutates_state(word, &w[1..]), expected, "{line}");
            }
        }
    }

    #[test]
    fn a_typo_is_one_edit_from_a_command_and_a_real_command_is_none() {
        for (typo, command) in [
            ("paln", "plan"),
            ("aply", "apply"),
            ("destory", "destroy"),
            ("valdate", "validate"),
            ("workspce", "workspace"),
            ("stat", "state"),
        ] {
            assert_eq!(suggest(typo), Some(command), "{typo}");
        }
        for word in [
            "plan",
            "env",
            "frobnicate",
            "stacks",
            "query",
            "-x",
            "rpcapi",
        ] {
            assert_eq!(suggest(word), None, "{word}");
        }
    }

    #[test]
    fn nested_subcommands_name_their_variables() {
        assert!(is_nested("state", "rm"));
        assert!(is_nested("env", "select"));
        assert!(!is_nested("state", "x"));
        assert!(!is_nested("apply", "rm"));
    }

    #[test]
    fn chdir_in_every_spelling() {
        for word in ["-chdir=.", "--chdir=x", "-chdir"] {
            assert!(is_chdir(word), "{word}");
        }
        for word in ["-chdirx", "chdir=.", "-help"] {
            assert!(!is_chdir(word), "{word}");
        }
    }
}
