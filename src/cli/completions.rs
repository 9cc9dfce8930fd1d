//! Shell completions: the scripts `tfw completions <shell>` prints, and the hidden
//! `tfw __complete -- <words after tfw>` they call (the last word is the one under the cursor),
//! which answers from the current stack so a new env shows up at once.

use crate::cli::arguments::Arguments;
use crate::cli::arguments::Shell;
use crate::config::env_name::RESERVED;
use crate::repo::Repo;
use crate::terraform::command_table;
use clap::{CommandFactory, ValueEnum};
use std::path::{Path, PathBuf};

pub fn script(shell: Shell) -> &'static str {
    match shell {
        Shell::Bash => BASH,
        Shell::Zsh => ZSH,
        Shell::Fish => FISH,
        Shell::Powershell => POWERSHELL,
        Shell::Elvish => ELVISH,
    }
}

const BASH: &str = r#"# bash completion for tfw: source it, or put it in ~/.local/share/bash-completion/completions/tfw
_tfw() {
    local IFS=$'\n'
    COMPREPLY=($(tfw __complete -- "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
complete -o default -F _tfw tfw
"#;

const ZSH: &str = r#"#compdef tfw
# zsh completion for tfw: put it in a directory of $fpath as _tfw, or source it after compinit
_tfw() {
    local -a candidates
    candidates=("${(@f)$(tfw __complete -- "${(@)words[2,CURRENT]}" 2>/dev/null)}")
    if (( ${#candidates} )) && [[ -n ${candidates[1]} ]]; then
        compadd -a candidates
    else
        _files
    fi
}
if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    _tfw "$@"
else
    compdef _tfw tfw
fi
"#;

const FISH: &str = r#"# fish completion for tfw: put it in ~/.config/fish/completions/tfw.fish
function __tfw_complete
    set -l tokens (commandline -opc)
    set -e tokens[1]
    tfw __complete -- $tokens (commandline -ct) 2>/dev/null
end
complete -c tfw -f -a '(__tfw_complete)'
"#;

const POWERSHELL: &str = r#"# PowerShell completion for tfw: add `tfw completions powershell | Out-String | Invoke-Expression` to $PROFILE
Register-ArgumentCompleter -Native -CommandName tfw -ScriptBlock {
    param($wordToComplete, $commandAst, $cursorPosition)
    $words = @($commandAst.CommandElements | Select-Object -Skip 1 | ForEach-Object { $_.ToString() })
    if ($wordToComplete -eq '') { $words += '' }
    tfw __complete -- @words | ForEach-Object {
        [System.Management.Automation.CompletionResult]::new($_, $_, 'ParameterValue', $_)
    }
}
"#;

const ELVISH: &str = r#"# elvish completion for tfw: add `eval (tfw completions elvish | slurp)` to rc.elv
set edit:completion:arg-completer[tfw] = {|@words|
    tfw __complete -- $@words[1..]
}
"#;

/// tfw's options as clap defines them (`--help` and `--version` included): every name (long
/// and short), and every name of those that take a value, which `candidates` skips over.
pub fn options() -> (Vec<String>, Vec<String>) {
    let (mut names, with_value) = options_of(&Arguments::command());
    names.extend(["--help", "--version"].map(String::from));
    (names, with_value)
}

/// The options of `command` (tfw or one of its subcommands): every name, and those that take
/// a value.
fn options_of(command: &clap::Command) -> (Vec<String>, Vec<String>) {
    let (mut all, mut with_value) = (Vec::new(), Vec::new());
    for argument in command.get_arguments().filter(|a| !a.is_positional()) {
        let names: Vec<String> = argument
            .get_long()
            .map(|l| format!("--{l}"))
            .into_iter()
            .chain(argument.get_short().map(|s| format!("-{s}")))
            .collect();
        all.extend(names.iter().cloned());
        if argument.get_action().takes_values() {
            with_value.extend(names);
        }
    }
    (all, with_value)
}

/// The completions of the last of `words` (the words after `tfw`), sorted; empty to let the
/// shell complete file names.
pub fn candidates(words: &[String], cwd: &Path) -> Vec<String> {
    let Some((current, before)) = words.split_last() else {
        return Vec::new();
    };
    let (options, with_value) = options();
    let mut dir: PathBuf = cwd.to_path_buf();
    let mut positional: Vec<&str> = Vec::new();
    let mut iter = before.iter();
    while let Some(word) = iter.next() {
        if !positional.is_empty() || !word.starts_with('-') {
            positional.push(word);
        } else if with_value.contains(word) {
            let value = iter.next();
            if matches!(word.as_str(), "-C" | "--chdir") {
                dir = value.map_or(dir, |v| cwd.join(v));
            }
        } else if let Some(value) = word.strip_prefix("--chdir=") {
            dir = cwd.join(value);
        }
    }
    let envs = || {
        Repo::open(&dir)
            .and_then(|repo| repo.stack_at(&dir))
            .map(|stack| stack.envs)
            .unwrap_or_default()
    };
    let mut offered: Vec<String> = match positional.as_slice() {
        [] if current.starts_with('-') => options,
        [] => envs()
            .into_iter()
            .chain(RESERVED.iter().map(|s| s.to_string()))
            .collect(),
        ["diff"] | ["diff", _] if !current.starts_with('-') => envs(),
        ["completions"] => Shell::value_variants()
            .iter()
            .filter_map(|shell| Some(shell.to_possible_value()?.get_name().to_string()))
            .collect(),
        // A subcommand's options, from clap: at once when it takes no other word.
        [first, ..] if RESERVED.contains(first) => {
            let command = Arguments::command();
            match command.find_subcommand(first) {
                Some(sub)
                    if current.starts_with('-')
                        || sub.get_arguments().all(|a| !a.is_positional()) =>
                {
                    options_of(sub).0
                }
                _ => Vec::new(),
            }
        }
        [_env] => command_table::names().map(String::from).collect(),
        [_env, command] => crate::terraform::command_table::subcommands(command)
            .iter()
            .map(|s| s.to_string())
            .collect(),
        _ => Vec::new(),
    };
    offered.retain(|candidate| candidate.starts_with(current.as_str()));
    offered.sort();
    offered.dedup();
    offered
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserved_words_are_exactly_the_visible_subcommands_and_help() {
        let mut subcommands: Vec<String> = Arguments::command()
            .get_subcommands()
            .filter(|c| !c.is_hide_set())
            .map(|c| c.get_name().to_string())
            .chain(["help".to_string()])
            .collect();
        subcommands.sort();
        let mut reserved: Vec<String> = RESERVED.iter().map(|s| s.to_string()).collect();
        reserved.sort();
        assert_eq!(subcommands, reserved);
    }

    fn complete(line: &[&str], dir: &Path) -> Vec<String> {
        candidates(&line.iter().map(|s| s.to_string()).collect::<Vec<_>>(), dir)
    }

    #[test]
    fn what_each_position_offers() {
        let dir = tempfile::tempdir().unwrap();
        for file in ["stg.tfbackend", "prd.tfbackend", "sub/qa.tfbackend"] {
            let path = dir.path().join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, "").unwrap();
        }
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        let d = dir.path();
        assert_eq!(complete(&["s"], d), ["stacks", "stg"]);
        assert_eq!(
            complete(&[""], d),
            [
                "affected",
                "atlantis",
                "check",
                "completions",
                "diff",
                "envs",
                "graph",
                "help",
                "prd",
                "providers",
                "stacks",
                "stg"
            ]
        );
        assert_eq!(
            complete(&["-C", "sub", ""], d)[..2],
            ["affected", "atlantis"]
        );
        assert!(complete(&["-C", "sub", ""], d).contains(&"qa".to_string()));
        assert!(!complete(&["-C", "sub", ""], d).contains(&"stg".to_string()));
        assert_eq!(complete(&["--dr"], d), ["--dry-run"]);
        assert!(complete(&["--"], d).contains(&"--all".to_string()));
        assert!(complete(&["-"], d).contains(&"-C".to_string()));
        assert_eq!(complete(&["diff", ""], d), ["prd", "stg"]);
        assert_eq!(complete(&["diff", "stg", "p"], d), ["prd"]);
        assert_eq!(complete(&["diff", "--"], d), ["--all", "--format"]);
        assert_eq!(complete(&["stg", "pl"], d), ["plan"]);
        assert_eq!(complete(&["-q", "stg", "st"], d), ["state"]);
        let state = complete(&["stg", "state", ""], d);
        assert_eq!(state, command_table::subcommands("state"));
        assert!(state.contains(&"rm".to_string()), "{state:?}");
        assert_eq!(complete(&["completions", "z"], d), ["zsh"]);
        assert!(
            complete(&["stg", "plan", "-out="], d).is_empty(),
            "files from the shell"
        );
    }
}
