//! What tfw knows of each terraform / OpenTofu command: does it need init, does it take var files.

/// How tfw treats one terraform command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommandTraits {
    /// Needs an initialised data dir (backend, modules, providers).
    pub needs_init: bool,
    /// Accepts `-var-file` (terraform 1.0–1.14 rules; see FACTS.md).
    pub takes_var_files: bool,
}

const fn traits(needs_init: bool, takes_var_files: bool) -> CommandTraits {
    CommandTraits {
        needs_init,
        takes_var_files,
    }
}

/// Every command of terraform and OpenTofu; anything else is passed through with init and no
/// var files, so a newer command still runs against the right state.
const TABLE: &[(&str, CommandTraits)] = &[
    ("plan", traits(true, true)),
    ("apply", traits(true, true)),
    ("destroy", traits(true, true)),
    ("refresh", traits(true, true)),
    ("import", traits(true, true)),
    ("console", traits(true, true)),
    ("test", traits(true, true)),
    ("validate", traits(true, false)),
    ("output", traits(true, false)),
    ("show", traits(true, false)),
    ("state", traits(true, false)),
    ("taint", traits(true, false)),
    ("untaint", traits(true, false)),
    ("force-unlock", traits(true, false)),
    ("graph", traits(true, false)),
    ("providers", traits(true, false)),
    ("workspace", traits(true, false)),
    ("get", traits(true, false)),
    ("modules", traits(true, false)),
    ("init", traits(false, false)),
    ("fmt", traits(false, false)),
    ("version", traits(false, false)),
    ("login", traits(false, false)),
    ("logout", traits(false, false)),
    ("metadata", traits(false, false)),
    ("-help", traits(false, false)),
    ("-h", traits(false, false)),
    ("--help", traits(false, false)),
    ("-version", traits(false, false)),
    ("-v", traits(false, false)),
    ("--version", traits(false, false)),
];

/// The commands' names (not the `-help`/`-version` flags), for completion.
pub fn names() -> impl Iterator<Item = &'static str> {
    TABLE
        .iter()
        .map(|(name, _)| *name)
        .filter(|name| !name.starts_with('-'))
}

const UNKNOWN: CommandTraits = traits(true, false);

/// The traits of `command` (its first word).
pub fn lookup(command: &str) -> CommandTraits {
    TABLE
        .iter()
        .find(|(name, _)| *name == command)
        .map_or(UNKNOWN, |(_, traits)| *traits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn var_file_commands_match_facts() {
        for cmd in [
            "plan", "apply", "destroy", "refresh", "import", "console", "test",
        ] {
            assert_eq!(lookup(cmd), traits(true, true), "{cmd}");
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
            "get",
        ] {
            assert_eq!(lookup(cmd), traits(true, false), "{cmd}");
        }
        for cmd in [
            "fmt", "version", "login", "logout", "metadata", "-help", "init",
        ] {
            assert!(!lookup(cmd).needs_init, "{cmd}");
            assert!(!lookup(cmd).takes_var_files, "{cmd}");
        }
    }

    #[test]
    fn unknown_command_inits_without_var_files() {
        assert_eq!(lookup("frobnicate"), traits(true, false));
    }
}
