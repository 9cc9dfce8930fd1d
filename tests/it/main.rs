//! The integration suite: every test runs the built binary in a temporary directory, through
//! one builder (`common::Test`), mostly against a fake terraform. `e2e` needs a real one.

mod common;

mod architecture;
mod atlantis;
mod caches;
mod check;
mod ci;
mod cli;
mod completions;
mod diff;
mod differential;
mod docs;
mod e2e;
mod graph;
mod guard;
mod hints;
mod init;
mod inputs;
mod layouts;
mod locks;
mod migration;
mod output;
mod providers;
mod signals;
mod stacks;
mod success;
