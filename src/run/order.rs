//! The order `--all` runs stacks in: dependencies first (dependents first for a destroy), each
//! with the jobs it waits for and its level.

use super::Options;
use crate::console;
use crate::repo::graph;
use crate::repo::{Repo, Stack};
use crate::terraform::command_table;
use crate::terraform::invocation::inherited;
use crate::terraform::resolve::Request;

/// A stack in `--all`'s order: its index among the stacks given, the jobs (indices in that
/// order) it waits for, and its level (none with `--no-deps`).
pub type Ordered<'a> = (&'a Stack, usize, Vec<usize>, Option<usize>);

/// The stacks in the order `--all` runs them: dependencies first (dependents first for a
/// destroy); path order with `--no-deps`.
pub fn dependency_order<'a>(
    options: &Options,
    repo: &Repo,
    stacks: &[&'a Stack],
    sources: &[&graph::Sources],
    request: &Request,
) -> anyhow::Result<Vec<Ordered<'a>>> {
    if options.no_deps {
        return Ok(stacks
            .iter()
            .enumerate()
            .map(|(i, s)| (*s, i, Vec::new(), None))
            .collect());
    }
    let graph = graph::build(repo, stacks, &request.env, sources)?;
    for unresolved in &graph.unresolved {
        console::say(&format!("tfw: note: {unresolved}: not ordered by it\n"))?;
    }
    let levels = graph::levels(stacks, &graph.edges)?;
    // `-destroy` may come from `TF_CLI_ARGS_apply` as well as from the command line.
    let mut argv = vec![request.command.clone()];
    argv.extend(request.args.iter().cloned());
    let (argv, _) = crate::terraform::cli_args::effective(&argv, &inherited)?;
    let reverse = command_table::tears_down(&argv[0].to_string_lossy(), &argv[1..]);
    let waits = graph::waits(stacks, &graph.edges, reverse);
    let max = levels.iter().copied().max().unwrap_or(0);
    let mut order: Vec<usize> = (0..stacks.len()).collect();
    // Stable: path order within a level.
    order.sort_by_key(|&i| if reverse { max - levels[i] } else { levels[i] });
    let mut positions = vec![0; order.len()];
    for (at, &i) in order.iter().enumerate() {
        positions[i] = at;
    }
    Ok(order
        .iter()
        .map(|&i| {
            let waits = waits[i].iter().map(|&w| positions[w]).collect();
            (stacks[i], i, waits, Some(levels[i]))
        })
        .collect())
}
