//! The command line: tfw's options, its subcommands, and `<ENV> <COMMAND> [ARGS]...`.

use clap::{Parser, Subcommand, ValueEnum};
use std::ffi::OsString;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "tfw",
    version,
    about = "Run terraform for one environment of a stack: the right var files, backend and data dir, init only when needed.",
    override_usage = "tfw [OPTIONS] <ENV> <COMMAND> [ARGS]...\n       tfw [OPTIONS] <SUBCOMMAND>",
    long_about = "Run terraform for one environment of a stack: the right var files, backend and data dir, \
init only when needed.\n\nEverything after <COMMAND> goes to terraform verbatim.\n\n\
Protected envs (names matching *prd* or *prod* in any case, by default) ask for the env name before anything \
that can change their state; without a terminal, pass --confirm <ENV>.\n\n\
Settings come from tfw.toml at the repository root (var files, backend config, protected envs, \
per-stack and per-env vars); see docs/configuration.md.\n\nExamples:\n  tfw stg plan\n  \
tfw -C datadog prd apply tfplan\n  tfw --dry-run stg plan -target='module.a[\"x\"]'",
    after_help = crate::exit_code::TABLE,
    subcommand_value_name = "ENV",
    subcommand_help_heading = "Subcommands (any other first word is an environment)",
    disable_help_subcommand = false,
)]
pub struct Arguments {
    /// Run as if tfw was started in DIR (the stack directory).
    #[arg(short = 'C', long, value_name = "DIR")]
    pub chdir: Option<PathBuf>,

    /// Print the terraform commands (directory, TF_DATA_DIR, argv) instead of running them.
    #[arg(short = 'n', long)]
    pub dry_run: bool,

    /// Do not run terraform init before the command (TF_SKIP_INIT=true or 1, as terraform.sh had).
    #[arg(long, conflicts_with = "reinit")]
    pub skip_init: bool,

    /// Run terraform init before the command even when it is up to date.
    #[arg(long)]
    pub reinit: bool,

    /// The terraform binary: a name on PATH or a path (`terraform`, `tofu`).
    #[arg(
        long,
        value_name = "BIN",
        env = "TFW_TERRAFORM",
        hide_env_values = true
    )]
    pub terraform: Option<OsString>,

    /// Confirm a protected environment without a prompt: must name the very env (`--confirm prd`).
    #[arg(long, value_name = "ENV", env = "TFW_CONFIRM", hide_env_values = true)]
    pub confirm: Option<String>,

    /// Run the command in every stack of the repository that has ENV; ENV may list several
    /// (`stg,prd`) or be a glob (`'*'`, `'weu-*'`).
    #[arg(short = 'a', long)]
    pub all: bool,

    /// With --all: how many stacks run at once (their output is printed whole, one at a time).
    #[arg(short = 'j', long, value_name = "N", default_value_t = 1, requires = "all", value_parser = clap::value_parser!(u16).range(1..=crate::terraform::signals::MAX_CHILDREN as i64))]
    pub jobs: u16,

    /// With --all: only the stacks a change affects since REF (`--affected=REF`; default: the merge base with the
    /// remote's default branch), working tree included.
    #[arg(long, requires = "all", value_name = "REF", num_args = 0..=1, require_equals = true, default_missing_value = "")]
    pub affected: Option<String>,

    /// With --all: also write the summary as JSON to FILE (version 1: each stack and env with
    /// its result, exit code, changes and duration, and the totals), for CI.
    #[arg(long, requires = "all", value_name = "FILE")]
    pub report: Option<PathBuf>,

    /// With --all: also write the summary as GitHub-flavoured Markdown to FILE (each plan in a
    /// collapsed block, under 65,000 characters).
    #[arg(long, requires = "all", value_name = "FILE")]
    pub summary: Option<PathBuf>,

    /// Colour in tfw's output and terraform's: `never` also passes -no-color to terraform (as
    /// NO_COLOR does); default: at a terminal.
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = crate::cli::output::ColorChoice::Auto)]
    pub color: crate::cli::output::ColorChoice,

    /// With --all: run the stacks in path order, ignoring their dependencies.
    #[arg(long, requires = "all")]
    pub no_deps: bool,

    /// With --all: start no new stack after one failed.
    #[arg(long, requires = "all")]
    pub fail_fast: bool,

    /// Fail (exit 75) instead of waiting when another tfw is using the data dir.
    #[arg(long)]
    pub no_wait: bool,

    /// Run as an Atlantis custom-workflow step: never prompt or read stdin, plan to $PLANFILE
    /// and $SHOWFILE, apply $PLANFILE, append $COMMENT_ARGS.
    #[arg(long)]
    pub atlantis: bool,

    /// Do not print the commands tfw runs.
    #[arg(short, long)]
    pub quiet: bool,

    /// Started under the name `terraform.sh` (a symlink left from the old script).
    #[arg(skip)]
    pub as_script: bool,

    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// List the environments of the current stack.
    Envs {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Check every stack's env files, states and variables (for pre-commit; exits 1 on any problem).
    ///
    /// Files: every stack has every env's var and backend files, no orphan or broken link, env
    /// names are valid, env files parse. Shared state: no two envs or stacks point at one state.
    /// Variables: var files set only variables the stack declares, with values of the declared
    /// type, and every required variable has a value for every env. `[check]` in tfw.toml skips
    /// kinds or names variables CI supplies.
    Check {
        /// `github`: also GitHub Actions annotations (the default under GITHUB_ACTIONS=true);
        /// `gitlab`: GitLab's Code Quality JSON.
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
    },
    /// Generate the repository's atlantis.yaml (a project per stack and env, a tfw workflow per env).
    Atlantis {
        /// Write it to FILE instead of stdout.
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Compare with the file on disk (--output, default atlantis.yaml at the root); exit 1 with a diff when stale.
        #[arg(long)]
        check: bool,
    },
    /// Print the completion script for SHELL (docs/completions.md says where to put it).
    Completions {
        #[arg(value_enum)]
        shell: Shell,
    },
    /// The completions of the last word (used by the completion scripts).
    #[command(name = "__complete", hide = true)]
    Complete {
        #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
        words: Vec<String>,
    },
    /// Show how two envs' inputs differ: variables, var files, backend location (a report; exits 0).
    Diff {
        env_a: String,
        env_b: String,
        /// Every stack that has both envs.
        #[arg(short = 'a', long)]
        all: bool,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// List the (stack, env) pairs whose plan may change between two commits, with reasons.
    Affected {
        /// Compare with this commit (default: the merge base of HEAD with the remote's default branch).
        #[arg(long, value_name = "REF")]
        base: Option<String>,
        /// Up to this commit (default: the working tree, untracked files included).
        #[arg(long, value_name = "REF")]
        head: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Show which stacks depend on which (remote state, tfw.toml depends_on), per env.
    Graph {
        /// One env (default: every env of any stack).
        env: Option<String>,
        #[arg(long, value_enum, default_value_t = GraphFormat::Text)]
        format: GraphFormat,
    },
    /// List the providers the stacks' lock files pin, with version skew and the plugin cache.
    Providers {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Exit 1 when stacks lock different versions of one provider (for CI).
        #[arg(long)]
        check: bool,
    },
    /// List the stacks of the repository with their envs and missing env files.
    Stacks {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// `<ENV> <COMMAND> [ARGS]...`: run a terraform command for an environment.
    #[command(external_subcommand)]
    Run(Vec<OsString>),
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

/// `tfw check --format`.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckFormat {
    Text,
    Json,
    /// The text, and a GitHub Actions annotation per problem.
    Github,
    /// GitLab's Code Quality report.
    Gitlab,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum GraphFormat {
    Text,
    Dot,
    Json,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shell {
    Bash,
    Zsh,
    Fish,
    Powershell,
    Elvish,
}
