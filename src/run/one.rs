//! One stack's run in the foreground: prepared, guarded, then terraform with the terminal.

use super::atlantis_step::StepEnvironment;
use super::confirm::{confirm, decision};
use super::prepare::prepare;
use super::{Done, Options, dry_run};
use crate::repo::{Repo, Stack};
use crate::terraform::executor::Output;
use crate::terraform::resolve::Request;

/// Runs `request` in one stack.
pub fn run(
    options: &Options,
    repo: &Repo,
    stack: &Stack,
    request: &Request,
    step: Option<&StepEnvironment>,
) -> anyhow::Result<Done> {
    let sources = repo.terraform_sources(stack);
    let prepared = prepare(options, repo, stack, &sources, request, step)?;
    let decision = decision(options, repo, &request.env, &[&prepared.plan])?;
    if options.dry_run {
        return Ok(Done::DryRun(dry_run::text(&decision, &prepared)));
    }
    prepared.binary.require()?;
    confirm(decision, repo, &request.env, &[(stack, &prepared)])?;
    Ok(Done::Exit(
        super::executor(options).execute(&prepared, &Output::Inherit)?,
    ))
}
