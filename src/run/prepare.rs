//! One (stack, env) pair made ready to run: its terraform binary, its init record, the plan of
//! steps resolved from the request, the workspace and backend it will use.

use super::Options;
use super::atlantis_step::StepEnvironment;
use crate::config::{DataDirMode, PluginCacheSetting};
use crate::console;
use crate::error::Error;
use crate::repo::{Repo, Stack};
use crate::run::guard;
use crate::terraform::Prepared;
use crate::terraform::binary::Binary;
use crate::terraform::init_stamp::{self, InitRecord, Unreadable};
use crate::terraform::invocation::inherited;
use crate::terraform::plugin_cache;
use crate::terraform::resolve::{self, Context, InitPolicy, Plan, Request};
use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

/// Resolves one stack's run; `sources` are its terraform files (`Repo::terraform_sources`).
pub fn prepare(
    options: &Options,
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
        if !options.quiet {
            console::note(
                "tfw: note: a module source points into .terraform/: using the shared data dir .terraform (and its lock)\n",
            );
        }
    }
    // In a run step, the project's versioned binary when Atlantis installed it.
    let versioned = step
        .and_then(|s| s.versioned_binary.clone())
        .filter(|name| which::which(name).is_ok())
        .map(|name| name.to_string_lossy().into_owned());
    let binary = locate_binary(options, config.binary(&request.env).or(versioned));
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
            if !options.quiet {
                console::note(&format!("tfw: note: {why}; running init to be safe\n"));
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
        stdin_is_terminal: !options.atlantis && stdin_is_terminal(),
        init: init_policy(options),
        init_up_to_date: &init_up_to_date,
        is_file: &is_file,
        opens_as_file: &|path: &Path| std::fs::metadata(path).is_ok_and(|m| !m.is_dir()),
        inherited: &inherited,
        plugin_cache: plugin_cache
            .as_ref()
            .filter(|cache| cache.origin == plugin_cache::Origin::Tfw)
            .map(|cache| cache.dir.as_path()),
        no_color: options.no_color,
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

fn init_policy(options: &Options) -> InitPolicy {
    if options.skip_init {
        InitPolicy::Skip
    } else if options.reinit {
        InitPolicy::Force
    } else {
        InitPolicy::Auto
    }
}

/// Whether stdin is a terminal, asked once however many stacks run.
pub fn stdin_is_terminal() -> bool {
    static IS_TERMINAL: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *IS_TERMINAL.get_or_init(|| std::io::stdin().is_terminal())
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
) -> Result<(String, crate::lang::backend_settings::Settings), String> {
    use crate::lang::backend_settings;
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

/// `--terraform` / `TFW_TERRAFORM`, else tfw.toml's `binary` for the stack and env, else the
/// default search.
fn locate_binary(options: &Options, configured: Option<String>) -> Binary {
    Binary::locate(
        options
            .terraform
            .clone()
            .or(configured.map(OsString::from))
            .as_deref(),
    )
}
