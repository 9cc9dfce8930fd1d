//! `--all`: every (stack, env) pair of a set of envs prepared in dependency order, refused or
//! confirmed once per protected env, then run together by `jobs`.

use super::atlantis_step::StepEnvironment;
use super::guard::Decision;
use super::jobs::{self, Job};
use super::order::dependency_order;
use super::prepare::prepare;
use super::{Done, Options, confirm, dry_run};
use crate::console;
use crate::error::Error;
use crate::parallel::in_parallel;
use crate::repo::graph;
use crate::repo::{Repo, Stack};
use crate::terraform::Prepared;
use crate::terraform::command_table;
use crate::terraform::invocation::inherited;
use crate::terraform::quote;
use crate::terraform::resolve::{self, Plan, Request};
use std::path::PathBuf;

/// The request for one env of an `--all` run's set.
fn for_env(request: &Request, env: &str) -> Request {
    Request {
        env: env.to_string(),
        ..request.clone()
    }
}

/// Whether terraform's command in `plan` will ask for approval on stdin (`apply` without
/// `-auto-approve` or a saved plan, `destroy`, `force-unlock` without `-force`).
fn asks_for_approval(plan: &Plan) -> Result<bool, Error> {
    let Some(step) = plan
        .steps
        .iter()
        .rfind(|step| step.kind == resolve::StepKind::Command)
    else {
        return Ok(false);
    };
    let (args, _) = step.invocation.terraform_args(&inherited)?;
    let Some((command, rest)) = args.split_first() else {
        return Ok(false);
    };
    let traits = command_table::lookup(&command.to_string_lossy());
    Ok(plan.saved_plan.is_none()
        && traits
            .approval_flag
            .is_some_and(|flag| !command_table::has_flag(rest, flag)))
}

/// Every (stack, env) pair of `envs` (narrowed by `--affected`), in dependency order per env,
/// confirmed once per protected env, then run together. `request` in every stack of `stacks` that has one of `envs`.
pub fn run(
    options: &Options,
    repo: &Repo,
    stacks: &[Stack],
    request: &Request,
    envs: &[String],
    step: Option<&StepEnvironment>,
) -> anyhow::Result<Done> {
    let selected = |stack: &Stack, env: &String| {
        stack.envs.contains(env)
            && options
                .only
                .as_ref()
                .is_none_or(|pairs| pairs.iter().any(|(p, e)| *p == stack.path && e == env))
    };
    let in_run: Vec<&Stack> = stacks
        .iter()
        .filter(|s| envs.iter().any(|env| selected(s, env)))
        .collect();
    if in_run.is_empty() {
        console::say(&format!(
            "tfw: no stack with {} is affected\n",
            envs.join(", ")
        ))?;
        return Ok(Done::Exit(0));
    }
    let sources = graph::read_sources(repo, &in_run);
    // Per env: its stacks in dependency order, each with its sources and the jobs it waits for
    // (indices over the whole run).
    let mut jobs: Vec<Job> = Vec::new();
    let mut levels: Vec<Option<usize>> = Vec::new();
    for env in envs {
        let request = for_env(request, env);
        let (with_env, env_sources): (Vec<&Stack>, Vec<&graph::Sources>) = in_run
            .iter()
            .zip(&sources)
            .filter(|(stack, _)| selected(stack, env))
            .map(|(stack, sources)| (*stack, sources))
            .unzip();
        if with_env.is_empty() {
            continue;
        }
        if let Some(dir) = std::env::var_os("TF_DATA_DIR")
            .map(PathBuf::from)
            .filter(|dir| dir.is_absolute() && with_env.len() > 1)
        {
            return Err(Error::Usage {
                message: format!(
                    "TF_DATA_DIR={} is one directory: {} stacks would share its backend record",
                    dir.display(),
                    with_env.len()
                ),
                help: "unset TF_DATA_DIR (tfw gives each stack and env its own), make it relative (it then lies in each stack), or run one stack with -C".into(),
            }
            .into());
        }
        let order = dependency_order(options, repo, &with_env, &env_sources, &request)?;
        let offset = jobs.len();
        let prepared: Vec<Job> = in_parallel(&order, |part| {
            part.iter()
                .map(|(stack, index, waits, _)| Job {
                    stack,
                    env: env.clone(),
                    prepared: prepare(
                        options,
                        repo,
                        stack,
                        &env_sources[*index].files,
                        &request,
                        step,
                    ),
                    waits: waits.iter().map(|w| w + offset).collect(),
                })
                .collect::<Vec<_>>()
        })
        .into_iter()
        .flatten()
        .collect();
        jobs.extend(prepared);
        levels.extend(order.iter().map(|(_, _, _, level)| *level));
    }
    let mut decisions = Vec::new();
    for env in envs {
        let plans: Vec<&Plan> = jobs
            .iter()
            .filter(|job| &job.env == env)
            .filter_map(|job| Some(&job.prepared.as_ref().ok()?.plan))
            .collect();
        decisions.push((env, confirm::decision(options, repo, env, &plans)?));
    }
    let decision_of = |env: &String| {
        decisions
            .iter()
            .find(|(e, _)| *e == env)
            .map_or(Decision::Proceed, |(_, d)| d.clone())
    };
    if options.dry_run {
        let several = envs.len() > 1;
        let mut text = String::new();
        for (job, level) in jobs.iter().zip(&levels) {
            let level = level.map_or(String::new(), |level| format!(" (level {level})"));
            let env = match several {
                true => format!(" ({})", job.env),
                false => String::new(),
            };
            // Quoted as the commands are: a name with a newline, pasted, must not run.
            let name = quote::quote(job.stack.path.as_ref());
            text.push_str(&format!("# stack: {name}{env}{level}\n"));
            match &job.prepared {
                Ok(prepared) => text.push_str(&dry_run::text(&decision_of(&job.env), prepared)),
                Err(error) => {
                    let error = error.to_string().replace('\n', "\n# ");
                    text.push_str(&format!("# error: {error}\n"));
                }
            }
        }
        return Ok(Done::DryRun(text));
    }
    let ready: Vec<(&Job, &Prepared)> = jobs
        .iter()
        .filter_map(|j| Some((j, j.prepared.as_ref().ok()?)))
        .collect();
    for (_, prepared) in &ready {
        prepared.binary.require()?;
    }
    // Pairs run with -j N share no terminal: terraform's own approval prompt would read EOF in
    // each, and apply some pairs but not others.
    if options.jobs > 1 && ready.len() > 1 {
        let mut asking = Vec::new();
        for (job, prepared) in &ready {
            if asks_for_approval(&prepared.plan)? {
                asking.push(job.label());
            }
        }
        if asking.len() > 1 {
            return Err(Error::Usage {
                message: format!(
                    "with -j {} terraform would ask for approval in {} stacks at once ({}), and none could answer",
                    options.jobs,
                    asking.len(),
                    asking.join(", ")
                ),
                help: "run one stack at a time (-j 1), add -auto-approve after the command (tfw's confirmation of a protected env still comes first), or apply saved plans".into(),
            }
            .into());
        }
    }
    // Every refusal before any question, every question before any pair runs.
    for (_, decision) in &decisions {
        if let Decision::Refuse(error) = decision {
            return Err(error.clone().into());
        }
    }
    for (env, decision) in decisions {
        let pairs: Vec<(&Stack, &Prepared)> = ready
            .iter()
            .filter(|(job, _)| &job.env == env)
            .map(|(job, prepared)| (job.stack, *prepared))
            .collect();
        confirm::confirm(decision, repo, env, &pairs)?;
    }
    let run = jobs::Options {
        jobs: usize::from(options.jobs),
        fail_fast: options.fail_fast,
        detailed: request.args.iter().any(|a| a == "-detailed-exitcode"),
        envs: envs.to_vec(),
        command: request.command.to_string_lossy().into_owned(),
        report: options.report.clone(),
        summary: options.summary.clone(),
        quiet: options.quiet,
    };
    Ok(Done::Exit(jobs::run(
        &jobs,
        &run,
        &super::executor(options),
    )))
}
