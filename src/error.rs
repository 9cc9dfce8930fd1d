//! Errors the user must act on, each with its message, its hint and its exit code.

use crate::exit_code;
use std::fmt;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Error {
    /// The command line does not fit the grammar.
    Usage { message: String, help: String },
    /// An environment name that is not a valid name (or is a reserved word).
    InvalidEnvName { name: String, reason: &'static str },
    /// An environment that the stack does not have.
    UnknownEnv {
        name: String,
        stack: PathBuf,
        known: Vec<String>,
        suggestion: Option<String>,
        /// The backend config file that would make it an env (`prd.tfbackend`).
        backend: String,
    },
    /// `tfw.toml` could not be read or is invalid.
    Config {
        path: PathBuf,
        line: Option<usize>,
        message: String,
    },
    /// A file an environment needs does not exist.
    MissingFile {
        env: String,
        what: &'static str,
        path: PathBuf,
    },
    /// No terraform binary could be found.
    TerraformNotFound { tried: String },
    /// A protected environment was not confirmed.
    Refused { message: String, help: String },
    /// A signal ended the confirmation prompt; `code` is 130, or 129 after a hangup.
    Interrupted { message: String, code: i32 },
    /// A tfw.toml below the repository's: one repository has one configuration.
    NestedConfig { inner: PathBuf, outer: PathBuf },
    /// Another tfw holds a lock and `--no-wait` was given.
    Busy { message: String },
    /// A directory tfw must read cannot be read.
    Unreadable { path: PathBuf, message: String },
    /// The system refused to start terraform with so long an argument list.
    ArgumentsTooLong { count: usize, bytes: usize },
    /// No stack was found where one was needed.
    NoStacks { root: PathBuf, backend: String },
    /// A command for one stack run where there is none: the stacks below or beside it.
    NotAStack { dir: PathBuf, nearby: Vec<String> },
    /// Stacks that depend on each other in a circle.
    Cycle { stacks: Vec<String> },
    /// A generated file differs from what tfw would generate now.
    Stale { path: PathBuf },
    /// A generated file that should be compared does not exist yet.
    NotGenerated { path: PathBuf },
    /// Standard output or error could not be written (a full disk, a closed file).
    Output { message: String },
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage { .. }
            | Error::InvalidEnvName { .. }
            | Error::UnknownEnv { .. }
            | Error::NotAStack { .. } => exit_code::USAGE,
            Error::Config { .. } | Error::NestedConfig { .. } => exit_code::CONFIG,
            Error::MissingFile { .. } | Error::Unreadable { .. } => exit_code::MISSING_FILE,
            Error::ArgumentsTooLong { .. } => exit_code::USAGE,
            Error::TerraformNotFound { .. } => exit_code::UNAVAILABLE,
            Error::Refused { .. } => exit_code::REFUSED,
            Error::Interrupted { code, .. } => *code,
            Error::Output { .. } => exit_code::IO_ERROR,
            Error::Busy { .. } => exit_code::BUSY,
            Error::Stale { .. }
            | Error::NotGenerated { .. }
            | Error::NoStacks { .. }
            | Error::Cycle { .. } => exit_code::FINDINGS,
        }
    }

    /// What the user can do about it, printed as `help: …`.
    pub fn help(&self) -> String {
        match self {
            Error::Usage { help, .. } | Error::Refused { help, .. } => help.clone(),
            Error::InvalidEnvName { .. } => {
                "environment names match [A-Za-z0-9][A-Za-z0-9_.-]* and are not tfw subcommands"
                    .into()
            }
            Error::UnknownEnv { suggestion: Some(s), .. } => format!("did you mean `{s}`?"),
            Error::UnknownEnv { backend, .. } => {
                format!("create its backend config `{backend}`, or list environments with `tfw envs`")
            }
            Error::Config { .. } => {
                "see the tfw.toml reference in docs/configuration.md (keys: envs, protected, unprotected, var_files, backend_config, backend, workspace, binary, data_dir, plugin_cache, exclude, vars, env_vars, args, check, environments, stacks, atlantis, providers)".into()
            }
            Error::MissingFile { .. } => {
                "create the file, or point `var_files` / `backend_config` in tfw.toml at the right place".into()
            }
            Error::TerraformNotFound { .. } => {
                "install terraform or tofu, or name the binary with `--terraform <BIN>`, `TFW_TERRAFORM` or `binary` in tfw.toml".into()
            }
            Error::NestedConfig { outer, .. } => format!(
                "move its settings into {} (per-stack ones under [stacks.\"<path>\"]) and delete it",
                outer.display()
            ),
            Error::Busy { .. } => "try again when it has finished, or leave out `--no-wait` to wait for it".into(),
            Error::Unreadable { .. } => {
                "check its permissions and content: tfw reads it to decide what to run or show".into()
            }
            Error::ArgumentsTooLong { .. } => {
                "put long values in a var file (`-var-file=…`) instead of the command line".into()
            }
            Error::NotAStack { nearby, .. } if nearby.is_empty() => {
                "a stack is a directory with *.tf files and a `backend` or `cloud` block, or an env's backend config beside them".into()
            }
            Error::NotAStack { nearby, .. } => format!(
                "stacks here: {}; run one with `tfw -C <stack> <env> <command>`, or all with `tfw --all <env> <command>`",
                nearby.join(", ")
            ),
            Error::NoStacks { .. } => "a stack is a directory with a *.tf file and an env's backend config, or a `backend` block when the backend config lies outside it or there is none; set `backend_config` in tfw.toml if yours are named otherwise".into(),
            Error::Cycle { .. } => "see the edges with `tfw graph <ENV>`; remove a `depends_on` or a remote state that closes the circle".into(),
            Error::Output { .. } => "send the output somewhere it can be written".into(),
            Error::Interrupted { .. } => "nothing was started; run the command again to confirm".into(),
            Error::Stale { path } => format!(
                "regenerate it with `tfw atlantis --output {}`",
                path.display()
            ),
            Error::NotGenerated { path } => format!(
                "create it with `tfw atlantis --output {}`",
                path.display()
            ),
        }
    }
}

/// An error as tfw says it, the one shape everywhere: `tfw: error: …`, and `help: …` for one
/// the user can act on; the labels coloured with `colored`. With its exit code.
pub fn shown(err: &anyhow::Error, colored: bool) -> (String, i32) {
    let (error_label, help_label) = match colored {
        true => ("\x1b[1;31merror:\x1b[0m", "\x1b[1;32mhelp:\x1b[0m"),
        false => ("error:", "help:"),
    };
    match err.downcast_ref::<Error>() {
        Some(error) => (
            format!(
                "tfw: {error_label} {error}\n{help_label} {}\n",
                error.help()
            ),
            error.exit_code(),
        ),
        None => (format!("tfw: {error_label} {err:#}\n"), exit_code::SOFTWARE),
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Usage { message, .. }
            | Error::Refused { message, .. }
            | Error::Interrupted { message, .. } => f.write_str(message),
            Error::InvalidEnvName { name, reason } => {
                write!(f, "invalid environment name `{name}`: {reason}")
            }
            Error::UnknownEnv {
                name, stack, known, ..
            } => {
                let known = if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                };
                let place = if stack.as_os_str() == "." {
                    "the current directory".to_string()
                } else {
                    stack.display().to_string()
                };
                write!(
                    f,
                    "unknown environment `{name}` in {place} (known: {known})"
                )
            }
            Error::Config {
                path,
                line: Some(line),
                message,
            } => {
                write!(f, "{}:{line}: {message}", path.display())
            }
            Error::Config {
                path,
                line: None,
                message,
            } => {
                write!(f, "{}: {message}", path.display())
            }
            Error::MissingFile { env, what, path } => {
                write!(
                    f,
                    "{what} for env {env} is missing: expected {}",
                    path.display()
                )
            }
            Error::TerraformNotFound { tried } => {
                write!(f, "terraform not found (looked for {tried})")
            }
            Error::Output { message } => write!(f, "writing output: {message}"),
            Error::Cycle { stacks } => {
                write!(
                    f,
                    "the stacks depend on each other in a circle: {}",
                    stacks.join(" → ")
                )
            }
            Error::NoStacks { root, backend } => write!(
                f,
                "no stacks found in {} (looked for *.tf files beside backend configs named {backend})",
                root.display()
            ),
            Error::NotAStack { dir, .. } => write!(
                f,
                "{} is not a stack (no terraform files with a backend, no env's backend config)",
                dir.display()
            ),
            Error::Unreadable { path, message } => {
                write!(f, "cannot read {}: {message}", path.display())
            }
            Error::ArgumentsTooLong { count, bytes } => write!(
                f,
                "the system refused to start terraform: its {count} arguments ({bytes} bytes) are too long a list"
            ),
            Error::Busy { message } => f.write_str(message),
            Error::NestedConfig { inner, outer } => write!(
                f,
                "{} is below the repository root: a repository has one tfw.toml, {}",
                inner.display(),
                outer.display()
            ),
            Error::Stale { path } => write!(f, "{} is stale", path.display()),
            Error::NotGenerated { path } => write!(f, "{} does not exist", path.display()),
        }
    }
}

impl std::error::Error for Error {}
