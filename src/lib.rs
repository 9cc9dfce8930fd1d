//! tfw: run terraform for one environment of one or more stacks, safely and fast.
//!
//! The core knows nothing of subcommands: `config` (tfw.toml), `repo` (the files and stacks
//! that exist, each stack's inputs, the dependencies between stacks), `lang` (the Terraform
//! language), `terraform` (the Terraform CLI: commands, resolving a request, running it, init),
//! `cache` (what tfw keeps between runs), `run` (one or many (stack, env) pairs, the guard),
//! and the ground they stand on (`error`, `exit_code`, `console`, `paths`, `atomic_file`,
//! `parallel`). Above it one module per subcommand (`check`, `atlantis`, `affected`, `diff`,
//! `providers`), and `cli`, which parses, dispatches and alone writes.

// The ground.
mod atomic_file;
mod console;
mod error;
mod exit_code;
mod parallel;
mod paths;

// The core.
mod cache;
mod config;
mod lang;
mod repo;
mod run;
mod terraform;

// The features.
mod affected;
mod atlantis;
mod check;
mod diff;
mod providers;

mod cli;

/// Runs tfw with the process's arguments (`args[0]` is the program) and returns its exit code.
pub fn run(args: impl IntoIterator<Item = std::ffi::OsString>) -> i32 {
    let code = cli::main(args.into_iter().collect());
    cache::finish();
    code
}
