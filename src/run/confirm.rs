//! The guard applied to the pairs about to run: its decision on what terraform will really run,
//! and the one question per protected env.

use super::Options;
use super::guard::{self, Decision, Situation, Target};
use super::prepare::stdin_is_terminal;
use crate::error::Error;
use crate::repo::{Repo, Stack};
use crate::terraform::Prepared;
use crate::terraform::invocation::inherited;
use crate::terraform::resolve::Plan;
use std::io::IsTerminal;

/// The guard's decision for the stacks about to run, on what terraform will really run in each
/// (the steps' arguments with `TF_CLI_ARGS…` merged).
pub fn decision(
    options: &Options,
    repo: &Repo,
    env: &str,
    plans: &[&Plan],
) -> Result<Decision, Error> {
    let mut steps = Vec::new();
    for plan in plans {
        for step in &plan.steps {
            steps.push(step.invocation.terraform_args(&inherited)?.0);
        }
    }
    Ok(guard::decide(&Situation {
        env,
        protected: repo.settings.is_protected(env),
        steps: &steps,
        // A run step never prompts: Atlantis's stdin is a pipe nobody writes to.
        terminal: !options.atlantis && stdin_is_terminal() && std::io::stderr().is_terminal(),
        token: options.confirm.as_deref(),
    }))
}

/// Applies the guard's decision to the stacks about to run: asks once for all of them.
pub fn confirm(
    decision: Decision,
    repo: &Repo,
    env: &str,
    prepared: &[(&Stack, &Prepared)],
) -> anyhow::Result<()> {
    match decision {
        Decision::Proceed => Ok(()),
        Decision::Refuse(error) => Err(error.into()),
        Decision::Ask => {
            let mut targets = Vec::new();
            for (stack, prepared) in prepared {
                let location = match repo.backend_file(stack, env) {
                    Some(file) => guard::state_location(&stack.dir.join(file)),
                    None => "(its backend block)".to_string(),
                };
                targets.push(Target {
                    stack: std::path::absolute(&stack.dir)?.display().to_string(),
                    commands: prepared
                        .plan
                        .expected_steps()
                        .map(|s| s.invocation.command_line())
                        .collect(),
                    location,
                    workspace: shown_workspace(&prepared.workspace),
                });
            }
            Ok(guard::ask(env, &targets)?)
        }
    }
}

/// The workspace as shown at the prompt and in `--dry-run`: only when it is not `default`.
pub fn shown_workspace(workspace: &Result<String, String>) -> Option<String> {
    match workspace {
        Ok(name) if name == "default" => None,
        Ok(name) => Some(name.clone()),
        Err(why) => Some(format!("(unknown: {why})")),
    }
}
