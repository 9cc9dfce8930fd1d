//! `tfw <ENV> <COMMAND> [ARGS]...`: resolve the request for one stack or all, guard it, run it.

use crate::atlantis::step::StepEnvironment;
use crate::cli::arguments::Arguments;
use crate::cli::output;
use crate::config::env_name;
use crate::config::{DataDirMode, PluginCacheSetting};
use crate::error::Error;
use crate::graph;
use crate::guard::{self, Decision, Situation, Target};
use crate::parallel::in_parallel;
use crate::repo::{Presence, Repo, Stack};
use crate::run_all::{self, Job};
use crate::terraform::Prepared;
use crate::terraform::binary::Binary;
use crate::terraform::command_table;
use crate::terraform::executor::{Executor, Output};
use crate::terraform::init_stamp::{self, InitRecord, Unreadable};
use crate::terraform::invocation::inherited;
use crate::terraform::plugin_cache;
use crate::terraform::quote;
use crate::terraform::resolve::{self, Context, InitPolicy, Plan, Request, StepKind};
use std::collections::BTreeSet;
use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Runs the words clap left untouched (`<ENV> <COMMAND> [ARGS]...`) in the stack at `start`,
/// or with `--all` in every stack that has the env.
pub fn run(arguments: &Arguments, words: Vec<OsString>, start: &Path) -> anyhow::Result<i32> {
    let mut request = parse_request(words, arguments.all)?;
    let step = arguments
        .atlantis
        .then(|| StepEnvironment::from_env(inherited));
    if let Some(step) = &step {
        request = step.adapt(request)?;
    }
    let repo = Repo::open(start)?;
    if arguments.all {
        let stacks = repo.stacks(Presence::OnDisk)?;
        let known: BTreeSet<&str> = stacks
            .iter()
            .flat_map(|s| s.envs.iter().map(String::as_str))
            .collect();
        check_words(&request, &known)?;
        let envs = select_envs(&request.env, &known, &repo)?;
        for env in &envs {
            if let Some(note) = repo.settings.left_unprotected(env) {
                output::eprint(&format!("tfw: note: {note}\n"))?;
            }
        }
        run_all(arguments, &repo, &stacks, &request, &envs, step.as_ref())
    } else {
        if let Some(note) = repo.settings.left_unprotected(&request.env) {
            output::eprint(&format!("tfw: note: {note}\n"))?;
        }
        let stack = repo.stack_at(start)?;
        if arguments.as_script {
            request = action_first(request, &stack);
        }
        check_words(&request, &stack.envs.iter().map(String::as_str).collect())?;
        run_one(arguments, &repo, &stack, &request, step.as_ref())
    }
}

/// The request for one env of an `--all` run's set.
fn for_env(request: &Request, env: &str) -> Request {
    Request {
        env: env.to_string(),
        ..request.clone()
    }
}

/// Whether one element of `--all`'s env list is a glob (`*`, `weu-*`).
fn is_glob(word: &str) -> bool {
    word.contains(['*', '?', '[', '{'])
}

/// The envs `--all` runs, from its env word: a comma-separated list of names and globs
/// (`stg,prd`, `'*'`, `'weu-*'`) over the envs of every stack; names in the order given, each
/// glob's matches sorted, none twice. A name no stack has, or a glob matching none, is an error.
fn select_envs(selector: &str, known: &BTreeSet<&str>, repo: &Repo) -> Result<Vec<String>, Error> {
    let mut envs: Vec<String> = Vec::new();
    let mut add = |env: &str| {
        if !envs.iter().any(|e| e == env) {
            envs.push(env.to_string());
        }
    };
    for word in selector.split(',') {
        if is_glob(word) {
            let glob = globset::Glob::new(word)
                .map_err(|e| Error::Usage {
                    message: format!("`{word}` is not a valid glob: {e}"),
                    help: "name envs (`stg,prd`) or match them with `*` (`'weu-*'`, `'*'`)".into(),
                })?
                .compile_matcher();
            let matched: Vec<&&str> = known.iter().filter(|env| glob.is_match(env)).collect();
            if matched.is_empty() {
                return Err(Error::Usage {
                    message: format!("`{word}` matches no env of any stack"),
                    help: format!(
                        "the envs are: {}",
                        known.iter().copied().collect::<Vec<_>>().join(", ")
                    ),
                });
            }
            matched.into_iter().for_each(|env| add(env));
        } else if known.contains(word) {
            add(word);
        } else {
            return Err(Error::UnknownEnv {
                name: word.to_string(),
                stack: repo.root.clone(),
                known: known.iter().map(|e| e.to_string()).collect(),
                suggestion: env_name::suggest(word, known.iter().copied()),
                backend: repo.settings.stack(".").env_file_hint(word),
            });
        }
    }
    Ok(envs)
}

/// Refuses, before anything runs or asks, the two slips a hurried user makes: the command
/// before the env (`tfw plan stg`), and a typo'd command (`tfw prd paln`), which terraform
/// would only reject after tfw's init and, on a protected env, its prompt.
fn check_words(request: &Request, envs: &BTreeSet<&str>) -> Result<(), Error> {
    let command = request.command.to_string_lossy();
    let is_command = !command_table::lookup(&request.env).name.is_empty();
    if is_command && !envs.contains(request.env.as_str()) && envs.contains(command.as_ref()) {
        return Err(Error::Usage {
            message: format!(
                "`{}` is a terraform command, not an environment",
                request.env
            ),
            help: format!(
                "did you mean `tfw {command} {}`? (the env comes first)",
                request.env
            ),
        });
    }
    match command_table::suggest(&command) {
        Some(known) => Err(Error::Usage {
            message: format!("`{command}` is not a terraform command"),
            help: format!("did you mean `{known}`? (`tfw {} {known} …`)", request.env),
        }),
        None => Ok(()),
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

/// `<ENV> <COMMAND> [ARGS]...` from the words clap left untouched; with `all`, ENV may list
/// envs and globs (`stg,prd`, `'*'`).
fn parse_request(words: Vec<OsString>, all: bool) -> Result<Request, Error> {
    let mut words = words.into_iter();
    let env = words.next().unwrap_or_default();
    let env = env.into_string().map_err(|env| Error::InvalidEnvName {
        name: env.to_string_lossy().into_owned(),
        reason: "it is not valid UTF-8",
    })?;
    // Before any file is read: `tfw ../prd plan` must not look outside the stack. (A glob is
    // only ever matched against the envs found.)
    match all {
        true => env
            .split(',')
            .filter(|word| !is_glob(word))
            .try_for_each(env_name::validate)?,
        false => env_name::validate(&env)?,
    }
    let Some(command) = words.next() else {
        return Err(Error::Usage {
            message: format!("missing terraform command after `{env}`"),
            help: format!("run `tfw {env} <COMMAND>`, e.g. `tfw {env} plan`"),
        });
    };
    if command_table::is_chdir(&command.to_string_lossy()) {
        return Err(Error::Usage {
            message: format!(
                "`{}`: tfw picks the directory terraform runs in",
                command.to_string_lossy()
            ),
            help: format!(
                "name the stack with tfw's own option instead: `tfw -C <DIR> {env} <COMMAND>` (its var files and backend are then found there)"
            ),
        });
    }
    Ok(Request {
        env,
        command,
        args: words.collect(),
    })
}

/// terraform.sh's `TF_SKIP_INIT`: `true` or `1` skip init; empty is unset; anything else is
/// noted and init runs as usual, as it did in the script.
pub fn skip_init_from_environment(quiet: bool) -> bool {
    let Some(value) = std::env::var_os("TF_SKIP_INIT") else {
        return false;
    };
    let value = value.to_string_lossy();
    match value.to_ascii_lowercase().as_str() {
        "true" | "1" => true,
        "" | "false" | "0" => false,
        _ => {
            if !quiet {
                let _ = output::eprint(&format!(
                    "tfw: note: TF_SKIP_INIT={value:?} is neither `true` nor `1`; running init as usual\n"
                ));
            }
            false
        }
    }
}

/// Some terraform.sh wrappers took the action first (`./terraform.sh plan weu-dev`): accepted
/// when the first word is a terraform command and the second an env of the stack.
fn action_first(request: Request, stack: &Stack) -> Request {
    let is_command = !command_table::lookup(&request.env).name.is_empty();
    match request.command.to_str() {
        Some(env) if is_command && stack.envs.iter().any(|e| e == env) => Request {
            env: env.to_string(),
            command: request.env.into(),
            args: request.args,
        },
        _ => request,
    }
}

fn init_policy(arguments: &Arguments) -> InitPolicy {
    if arguments.skip_init {
        InitPolicy::Skip
    } else if arguments.reinit {
        InitPolicy::Force
    } else {
        InitPolicy::Auto
    }
}

/// Whether stdin is a terminal, asked once however many stacks run.
fn stdin_is_terminal() -> bool {
    static IS_TERMINAL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *IS_TERMINAL.get_or_init(|| std::io::stdin().is_terminal())
}

/// Resolves one stack's run; `sources` are its terraform files (`Repo::terraform_sources`).
fn prepare(
    arguments: &Arguments,
    repo: &Repo,
    stack: &Stack,
    sources: &[(String, String)],
    request: &Request,
    step: Option<&StepEnvironment>,
) -> Result<Prepared, Error> {
    let mut config = repo.settings.stack_for(&stack.path, Some(&request.env));
    // A module source inside `.terraform/` (`./.terraform/modules/…`) only exists in the one
    // data dir where it was installed: such a stack keeps terraform's single data dir.
    if config.data_dir == DataDirMode::PerEnv
        && init_stamp::calls_modules_in_data_dir(repo, stack, sources)
    {
        config.data_dir = DataDirMode::Shared;
        if !arguments.quiet {
            let _ = output::eprint(
                "tfw: note: a module source points into .terraform/: using the shared data dir .terraform (and its lock)\n",
            );
        }
    }
    // In a run step, the project's versioned binary when Atlantis installed it.
    let versioned = step
        .and_then(|s| s.versioned_binary.clone())
        .filter(|name| which::which(name).is_ok())
        .map(|name| name.to_string_lossy().into_owned());
    let binary = locate_binary(arguments, config.binary(&request.env).or(versioned));
    let user_data_dir = std::env::var_os("TF_DATA_DIR").filter(|v| !v.is_empty());
    let backend_file = repo.backend_file(stack, &request.env).map(PathBuf::from);
    let is_tofu = binary
        .path
        .as_deref()
        .and_then(Path::file_name)
        .is_some_and(|name| name.to_string_lossy().starts_with("tofu"));
    let early_evaluation = is_tofu && init_stamp::init_reads_variables(sources);
    let mut input_files: Vec<PathBuf> = backend_file.iter().cloned().collect();
    let mut vars = Vec::new();
    if early_evaluation {
        let exists = |path: &Path| repo.is_file(stack, path);
        let stack_at = (stack.dir.as_path(), stack.path.as_str());
        input_files.extend(
            resolve::var_files(&config, &request.env, stack_at, &exists).unwrap_or_default(),
        );
        vars = config.vars(&request.env);
    }
    // What the environment adds to init's arguments is something init consumes.
    for name in ["TF_CLI_ARGS", "TF_CLI_ARGS_init"] {
        let configured = config
            .env_vars(&request.env)
            .into_iter()
            .find(|(n, _)| n == name);
        let value = configured
            .map(|(_, value)| value)
            .or_else(|| std::env::var(name).ok())
            .filter(|value| !value.is_empty());
        if let Some(value) = value {
            vars.push((format!("${name}"), value));
        }
    }
    // What `backend = { … }` passes to init is part of what it was initialised with.
    for (key, value) in config.backend_settings(&request.env) {
        vars.push((format!("$backend.{key}"), value));
    }
    // The workspace is selected (or created) with the init: a record of another one is stale.
    if let Some(workspace) = config.workspace(&request.env) {
        vars.push(("$workspace".to_string(), workspace));
    }
    let record = InitRecord {
        env: request.env.clone(),
        stack_dir: stack.dir.clone(),
        data_dir: resolve::data_dir(config.data_dir, &request.env, user_data_dir.as_deref()),
        input_files,
        vars,
        binary: binary.path.clone(),
        configuration: init_stamp::configuration(repo, stack, sources),
    };
    let init_up_to_date = || match record.is_current() {
        Ok(current) => current,
        Err(Unreadable(why)) => {
            if !arguments.quiet {
                let _ = output::eprint(&format!("tfw: note: {why}; running init to be safe\n"));
            }
            false
        }
    };
    let is_file = |path: &Path| repo.is_file(stack, path);
    let env_vars = config.env_vars(&request.env);
    let plugin_cache = plugin_cache::locate(&plugin_cache_setting(repo), &|name| {
        env_vars
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, value)| OsString::from(value))
            .or_else(|| inherited(name))
    });
    let context = Context {
        stack_dir: &stack.dir,
        stack_path: &stack.path,
        config: &config,
        backend_file: backend_file.as_deref(),
        early_evaluation,
        known_envs: &stack.envs,
        protected: repo.settings.is_protected(&request.env),
        program: &binary.name,
        user_data_dir: user_data_dir.is_some(),
        stdin_is_terminal: !arguments.atlantis && stdin_is_terminal(),
        init: init_policy(arguments),
        init_up_to_date: &init_up_to_date,
        is_file: &is_file,
        opens_as_file: &|path: &Path| std::fs::metadata(path).is_ok_and(|m| !m.is_dir()),
        inherited: &inherited,
        plugin_cache: plugin_cache
            .as_ref()
            .filter(|cache| cache.origin == plugin_cache::Origin::Tfw)
            .map(|cache| cache.dir.as_path()),
        no_color: output::no_color(),
    };
    let mut plan = resolve::resolve(request, &context)?;
    let workspace = workspace(&plan, &record);
    if let Some(saved_plan) = &plan.saved_plan {
        guard::check_saved_plan(
            saved_plan,
            &guard::EnvState {
                env: &request.env,
                backend_file: backend_file.as_deref(),
                backend: backend_settings(
                    repo,
                    stack,
                    sources,
                    backend_file
                        .as_ref()
                        .map(|file| stack.dir.join(file))
                        .as_deref(),
                )
                .map(|(kind, mut settings)| {
                    settings.extend(
                        config
                            .backend_settings(&request.env)
                            .into_iter()
                            .map(|(k, v)| (k, hcl::Value::String(v))),
                    );
                    (kind, settings)
                }),
                workspace: workspace.clone(),
            },
        )?;
    }
    if let Some(step) = step {
        step.complete(&mut plan, &request.command.to_string_lossy());
    }
    Ok(Prepared {
        plan,
        record,
        binary,
        workspace,
        plugin_cache,
    })
}

/// The plugin cache a run in `repo` uses, by the repository-wide settings and tfw's environment.
pub fn plugin_cache_of(repo: &Repo) -> Option<plugin_cache::PluginCache> {
    plugin_cache::locate(&plugin_cache_setting(repo), &inherited)
}

/// tfw.toml's `plugin_cache`, a directory taken from the repository root.
fn plugin_cache_setting(repo: &Repo) -> plugin_cache::Setting {
    match &repo.settings.plugin_cache {
        PluginCacheSetting::Default | PluginCacheSetting::On(true) => {
            plugin_cache::Setting::Default
        }
        PluginCacheSetting::On(false) => plugin_cache::Setting::Off,
        PluginCacheSetting::Dir(dir) => {
            let dir = dir.replace("{root}", &repo.root.to_string_lossy());
            plugin_cache::Setting::Dir(repo.root.join(dir))
        }
    }
}

/// The workspace the plan's command will use: `TF_WORKSPACE` as the process will see it, else
/// the one the data dir records as selected, else `default`, as terraform decides.
fn workspace(plan: &Plan, record: &InitRecord) -> Result<String, String> {
    let Some(command) = plan.steps.last() else {
        return Ok("default".into());
    };
    if let Some(workspace) = command
        .invocation
        .variable("TF_WORKSPACE", &inherited)
        .filter(|w| !w.is_empty())
    {
        return workspace
            .into_string()
            .map_err(|_| "TF_WORKSPACE is not valid UTF-8".to_string());
    }
    let file = record.stack_dir.join(&record.data_dir).join("environment");
    match std::fs::read_to_string(&file) {
        Ok(text) if !text.trim().is_empty() => Ok(text.trim().to_string()),
        Ok(_) => Ok("default".into()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok("default".into()),
        Err(e) => Err(format!("cannot read {}: {e}", file.display())),
    }
}

/// The env's backend as terraform will configure it: the stack's `backend` block, then the
/// env's backend file over it; why not, when a file cannot be read or a value evaluated.
fn backend_settings(
    repo: &Repo,
    stack: &Stack,
    sources: &[(String, String)],
    backend_file: Option<&Path>,
) -> Result<(String, crate::terraform::backend_settings::Settings), String> {
    use crate::terraform::backend_settings;
    // A terraform file of the stack that could not be read may hold the backend block.
    if let Some(unread) = repo
        .file_names(stack)
        .into_iter()
        .filter(|name| crate::repo::is_terraform_file(name))
        .find(|name| !sources.iter().any(|(read, _)| read == name))
    {
        return Err(format!("cannot read {}", stack.dir.join(unread).display()));
    }
    let (kind, mut settings) = backend_settings::of_block(sources)?.unwrap_or_default();
    let kind = if kind.is_empty() {
        "local".into()
    } else {
        kind
    };
    if let Some(backend_file) = backend_file {
        let bytes = std::fs::read(backend_file)
            .map_err(|e| format!("cannot read {}: {e}", backend_file.display()))?;
        let is_json = backend_file.extension().is_some_and(|e| e == "json");
        let file = backend_settings::of_file(&bytes, is_json)
            .map_err(|why| format!("{}: {why}", backend_file.display()))?;
        settings.extend(file);
    }
    Ok((kind, settings))
}

/// The guard's decision for the stacks about to run, on what terraform will really run in each
/// (the steps' arguments with `TF_CLI_ARGS…` merged).
fn guard_decision(
    arguments: &Arguments,
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
        terminal: !arguments.atlantis && stdin_is_terminal() && std::io::stderr().is_terminal(),
        token: arguments.confirm.as_deref(),
    }))
}

/// Applies the guard's decision to the stacks about to run: asks once for all of them.
fn confirm(
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
fn shown_workspace(workspace: &Result<String, String>) -> Option<String> {
    match workspace {
        Ok(name) if name == "default" => None,
        Ok(name) => Some(name.clone()),
        Err(why) => Some(format!("(unknown: {why})")),
    }
}

fn dry_run_text(decision: &Decision, prepared: &Prepared) -> String {
    let plan = &prepared.plan;
    let mut text = String::new();
    if let Some(workspace) = shown_workspace(&prepared.workspace) {
        text.push_str(&format!("# workspace: {workspace}\n"));
    }
    for step in plan.expected_steps() {
        if let Ok((_, used)) = step.invocation.terraform_args(&inherited) {
            for env_args in used {
                let words: Vec<String> = env_args
                    .words
                    .iter()
                    .map(|w| crate::terraform::quote::quote(w))
                    .collect();
                text.push_str(&format!(
                    "# {} adds to `{}`: {}\n",
                    env_args.name,
                    step.invocation.args[0].to_string_lossy(),
                    words.join(" ")
                ));
            }
        }
    }
    if *decision != Decision::Proceed {
        text.push_str(&format!(
            "# confirmation required: {0} is protected (type it at the prompt, or pass --confirm {0})\n",
            plan.env
        ));
    }
    if plan.init_up_to_date {
        text.push_str(&format!("# init up to date ({})\n", plan.env));
    } else if let (Some(cache), true) = (&prepared.plugin_cache, prepared.binary.is_opentofu()) {
        text.push_str(&format!(
            "# plugin cache {}: not locked with OpenTofu 1.10 or later (its cache is safe for concurrent inits)\n",
            cache.dir.display()
        ));
    }
    let mut said = false;
    for step in plan.expected_steps() {
        // An init tfw decided on (and the workspace step after it): say which input made it
        // necessary, once.
        if let StepKind::Init {
            when_stale: true, ..
        } = step.kind
            && !std::mem::replace(&mut said, true)
        {
            let why = prepared.record.why_stale();
            text.push_str(&format!(
                "# init: {}\n",
                why.as_deref().unwrap_or("its record does not match")
            ));
        }
        text.push_str(&format!("{}\n", step.invocation));
    }
    text
}

fn executor(arguments: &Arguments) -> Executor {
    Executor {
        quiet: arguments.quiet,
        keep_records: !arguments.skip_init,
        no_wait: arguments.no_wait,
        no_stdin: arguments.atlantis,
    }
}

/// `--terraform` / `TFW_TERRAFORM`, else tfw.toml's `binary` for the stack and env, else the
/// default search.
fn locate_binary(arguments: &Arguments, configured: Option<String>) -> Binary {
    Binary::locate(
        arguments
            .terraform
            .clone()
            .or(configured.map(OsString::from))
            .as_deref(),
    )
}

fn run_one(
    arguments: &Arguments,
    repo: &Repo,
    stack: &Stack,
    request: &Request,
    step: Option<&StepEnvironment>,
) -> anyhow::Result<i32> {
    let sources = repo.terraform_sources(stack);
    let prepared = prepare(arguments, repo, stack, &sources, request, step)?;
    let decision = guard_decision(arguments, repo, &request.env, &[&prepared.plan])?;
    if arguments.dry_run {
        output::print(&dry_run_text(&decision, &prepared))?;
        return Ok(0);
    }
    prepared.binary.require()?;
    confirm(decision, repo, &request.env, &[(stack, &prepared)])?;
    executor(arguments).execute(&prepared, &Output::Inherit)
}

/// A stack in `--all`'s order: its index among the stacks given, the jobs (indices in that
/// order) it waits for, and its level (none with `--no-deps`).
type Ordered<'a> = (&'a Stack, usize, Vec<usize>, Option<usize>);

/// The stacks in the order `--all` runs them: dependencies first (dependents first for a
/// destroy); path order with `--no-deps`.
fn dependency_order<'a>(
    arguments: &Arguments,
    repo: &Repo,
    stacks: &[&'a Stack],
    sources: &[&graph::Sources],
    request: &Request,
) -> anyhow::Result<Vec<Ordered<'a>>> {
    if arguments.no_deps {
        return Ok(stacks
            .iter()
            .enumerate()
            .map(|(i, s)| (*s, i, Vec::new(), None))
            .collect());
    }
    let graph = graph::build(repo, stacks, &request.env, sources)?;
    for unresolved in &graph.unresolved {
        output::eprint(&format!("tfw: note: {unresolved}: not ordered by it\n"))?;
    }
    let levels = graph::levels(stacks, &graph.edges)?;
    let command = command_table::lookup(&request.command.to_string_lossy()).name;
    // `-destroy` may come from `TF_CLI_ARGS_apply` as well as from the command line.
    let mut argv = vec![request.command.clone()];
    argv.extend(request.args.iter().cloned());
    let (argv, _) = crate::terraform::cli_args::effective(&argv, &inherited)?;
    let reverse = command == "destroy"
        || (command == "apply" && command_table::has_flag(&argv[1..], "destroy"));
    let waits = graph::waits(stacks, &graph.edges, reverse);
    let max = levels.iter().copied().max().unwrap_or(0);
    let mut order: Vec<usize> = (0..stacks.len()).collect();
    // Stable: path order within a level.
    order.sort_by_key(|&i| if reverse { max - levels[i] } else { levels[i] });
    let position = |i: usize| order.iter().position(|&o| o == i).expect("in the order");
    Ok(order
        .iter()
        .map(|&i| {
            let waits = waits[i].iter().map(|&w| position(w)).collect();
            (stacks[i], i, waits, Some(levels[i]))
        })
        .collect())
}

/// `--all`: every (stack, env) pair of `envs` (narrowed by `--affected`), in dependency order
/// per env, confirmed once per protected env, then run together.
fn run_all(
    arguments: &Arguments,
    repo: &Repo,
    stacks: &[Stack],
    request: &Request,
    envs: &[String],
    step: Option<&StepEnvironment>,
) -> anyhow::Result<i32> {
    let affected: Option<Vec<(String, String)>> = match &arguments.affected {
        Some(base) => {
            let base = Some(base.as_str()).filter(|b| !b.is_empty());
            let pairs = crate::affected::between(repo, base, None, "--affected=REF")?.include;
            Some(pairs.into_iter().map(|p| (p.path, p.env)).collect())
        }
        None => None,
    };
    let selected = |stack: &Stack, env: &String| {
        stack.envs.contains(env)
            && affected
                .as_ref()
                .is_none_or(|pairs| pairs.iter().any(|(p, e)| *p == stack.path && e == env))
    };
    let in_run: Vec<&Stack> = stacks
        .iter()
        .filter(|s| envs.iter().any(|env| selected(s, env)))
        .collect();
    if in_run.is_empty() {
        output::eprint(&format!(
            "tfw: no stack with {} is affected\n",
            envs.join(", ")
        ))?;
        return Ok(0);
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
        let order = dependency_order(arguments, repo, &with_env, &env_sources, &request)?;
        let offset = jobs.len();
        let prepared: Vec<Job> = in_parallel(&order, |part| {
            part.iter()
                .map(|(stack, index, waits, _)| Job {
                    stack,
                    env: env.clone(),
                    prepared: prepare(
                        arguments,
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
        decisions.push((env, guard_decision(arguments, repo, env, &plans)?));
    }
    let decision_of = |env: &String| {
        decisions
            .iter()
            .find(|(e, _)| *e == env)
            .map_or(Decision::Proceed, |(_, d)| d.clone())
    };
    if arguments.dry_run {
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
                Ok(prepared) => text.push_str(&dry_run_text(&decision_of(&job.env), prepared)),
                Err(error) => {
                    let error = error.to_string().replace('\n', "\n# ");
                    text.push_str(&format!("# error: {error}\n"));
                }
            }
        }
        output::print(&text)?;
        return Ok(0);
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
    if arguments.jobs > 1 && ready.len() > 1 {
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
                    arguments.jobs,
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
        confirm(decision, repo, env, &pairs)?;
    }
    let options = run_all::Options {
        jobs: usize::from(arguments.jobs),
        fail_fast: arguments.fail_fast,
        detailed: request.args.iter().any(|a| a == "-detailed-exitcode"),
        envs: envs.to_vec(),
        command: request.command.to_string_lossy().into_owned(),
        report: arguments.report.clone(),
        summary: arguments.summary.clone(),
        quiet: arguments.quiet,
    };
    Ok(run_all::run(&jobs, &options, &executor(arguments)))
}
