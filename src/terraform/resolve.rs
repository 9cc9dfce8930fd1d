//! Turning `<env> <command> [args]` into the terraform invocations that carry it out. Pure:
//! everything it needs to know about the disk arrives in `Context`.

use crate::config::env_name;
use crate::config::{DataDirMode, StackConfig};
use crate::error::Error;
use crate::terraform::command_table;
use crate::terraform::invocation::Invocation;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

/// What the user asked for.
#[derive(Debug, Clone)]
pub struct Request {
    pub env: String,
    pub command: OsString,
    pub args: Vec<OsString>,
}

/// When to run `terraform init` before a command that needs it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InitPolicy {
    /// When nothing proves the data dir is initialised for this env.
    Auto,
    /// Never (`--skip-init`, `TF_SKIP_INIT`).
    Skip,
    /// Always (`--reinit`).
    Force,
}

/// What resolution knows about the stack and the machine.
pub struct Context<'a> {
    pub stack_dir: &'a Path,
    /// The stack's path from the repository root (`.` for the root).
    pub stack_path: &'a str,
    /// tfw.toml's settings for this stack.
    pub config: &'a StackConfig<'a>,
    /// The env's backend config file, relative to the stack directory (`None`: init without
    /// one).
    pub backend_file: Option<&'a Path>,
    /// Init reads variables too (OpenTofu 1.8+ evaluates them in `backend` blocks and module
    /// sources): it gets the env's var files and `vars`.
    pub early_evaluation: bool,
    /// The envs the stack has (from tfw.toml or discovered).
    pub known_envs: &'a [String],
    /// The env is protected: tfw creates no workspace in it unasked.
    pub protected: bool,
    /// The binary as it is shown (`terraform`, `tofu`, a path).
    pub program: &'a OsStr,
    /// The user set `TF_DATA_DIR` themselves: tfw leaves it alone.
    pub user_data_dir: bool,
    pub stdin_is_terminal: bool,
    pub init: InitPolicy,
    /// Whether the data dir's record says it is initialised for exactly this env and these
    /// inputs; asked only when the command needs init.
    pub init_up_to_date: &'a dyn Fn() -> bool,
    /// Whether a path (relative to the current directory) is an existing file.
    pub is_file: &'a dyn Fn(&Path) -> bool,
    /// Whether a path names something terraform may open as a plan file: anything that exists
    /// and is not a directory (a file, a link to one, `/dev/stdin` on a pipe).
    pub opens_as_file: &'a dyn Fn(&Path) -> bool,
    /// tfw's environment (`TF_CLI_ARGS…`, `TF_WORKSPACE`), under what tfw.toml sets.
    pub inherited: &'a dyn Fn(&str) -> Option<OsString>,
    /// tfw's own plugin cache, which terraform learns of through `TF_PLUGIN_CACHE_DIR`.
    pub plugin_cache: Option<&'a Path>,
    /// Colour is off (`--color never`, `NO_COLOR`): `-no-color` for the commands taking it.
    pub no_color: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    /// `when_stale`: skip it if another tfw finished the same init in the meantime.
    /// `stamp`: record it as done when it succeeds (not when the user's arguments point it
    /// somewhere other than the env's backend).
    Init {
        when_stale: bool,
        stamp: bool,
    },
    Command,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub kind: StepKind,
    pub invocation: Invocation,
}

/// The resolved work: the steps in order, and why init was left out if it was.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub env: String,
    pub steps: Vec<Step>,
    /// Init was needed by the command but the data dir is already initialised.
    pub init_up_to_date: bool,
    /// `apply PLANFILE`: the plan file (relative to the current directory), whose backend must
    /// be this env's.
    pub saved_plan: Option<PathBuf>,
    /// The data dir serves more than this env (`data_dir = "shared"`, the user's `TF_DATA_DIR`):
    /// the whole run holds its lock, as another env's init would repoint it.
    pub shared_data_dir: bool,
}

impl Plan {
    /// The steps that will run as things stand: an init that the record shows is not needed
    /// is left out (it stays in `steps`, rechecked under the lock).
    pub fn expected_steps(&self) -> impl Iterator<Item = &Step> {
        self.steps.iter().filter(|step| {
            !(self.init_up_to_date
                && matches!(
                    step.kind,
                    StepKind::Init {
                        when_stale: true,
                        ..
                    }
                ))
        })
    }
}

/// Arguments of an explicit init that leave it initialised for the env's own backend; any
/// other (`-backend=false`, another `-backend-config`, `-from-module`, …) leaves no record.
const INIT_FLAGS_KEEPING_THE_BACKEND: &[&str] = &[
    "upgrade",
    "input",
    "no-color",
    "lock",
    "lock-timeout",
    "compact-warnings",
    "json",
    "reconfigure",
];

/// Flags of init that the environment (`TF_CLI_ARGS_init`) may add to tfw's own init: they
/// keep the env's backend and move no state.
const INIT_FLAGS_FROM_THE_ENVIRONMENT: &[&str] = &[
    "plugin-dir",
    "get",
    "verify-plugins",
    "lockfile",
    "var",
    "var-file",
];

fn keeps_the_backend(init_args: &[OsString]) -> bool {
    init_args.iter().all(|arg| {
        let arg = arg.to_string_lossy();
        arg.strip_prefix('-')
            .map(|flag| flag.trim_start_matches('-'))
            .and_then(|flag| flag.split('=').next())
            .is_some_and(|name| INIT_FLAGS_KEEPING_THE_BACKEND.contains(&name))
    })
}

/// The words `TF_CLI_ARGS` / `TF_CLI_ARGS_init` add to one of tfw's inits, refused when they
/// could point it at another backend or move state (`-backend-config=…`, `-migrate-state`).
fn environment_init_words(init: &Invocation, context: &Context) -> Result<Vec<OsString>, Error> {
    let (_, used) = init.terraform_args(context.inherited)?;
    for env_args in &used {
        let other = env_args.words.iter().find(|word| {
            let word = word.to_string_lossy();
            let name = word
                .strip_prefix('-')
                .map(|flag| flag.trim_start_matches('-'))
                .and_then(|flag| flag.split('=').next())
                .unwrap_or_default();
            !(INIT_FLAGS_KEEPING_THE_BACKEND.contains(&name)
                || INIT_FLAGS_FROM_THE_ENVIRONMENT.contains(&name))
        });
        if let Some(word) = other {
            return Err(Error::Usage {
                message: format!(
                    "{}={} gives tfw's init `{}`, which may point it at another backend or move state (or init rejects it)",
                    env_args.name,
                    env_args
                        .words
                        .iter()
                        .map(|w| w.to_string_lossy())
                        .collect::<Vec<_>>()
                        .join(" "),
                    word.to_string_lossy(),
                ),
                help: format!(
                    "set it for the command only (TF_CLI_ARGS_<command>), or unset {}: tfw's init takes from the environment only flags that keep the env's backend (-upgrade, -plugin-dir, -lock-timeout, -no-color, -input, …); run `tfw <ENV> init {}` for anything else",
                    env_args.name,
                    word.to_string_lossy()
                ),
            });
        }
    }
    Ok(used.into_iter().flat_map(|e| e.words).collect())
}

/// Flags of plan/apply whose value may come as the next word (`-var-file x`).
const FLAGS_WITH_VALUE: &[&str] = &[
    "var",
    "var-file",
    "target",
    "replace",
    "state",
    "state-out",
    "backup",
    "lock-timeout",
    "parallelism",
];

/// The data dir of `env` relative to the stack in per-env mode.
fn data_dir_of(env: &str) -> PathBuf {
    Path::new(".terraform/tfw").join(env)
}

/// The data dir terraform uses for `env`: the user's `TF_DATA_DIR`, else per-env or shared.
pub fn data_dir(mode: DataDirMode, env: &str, user_data_dir: Option<&OsStr>) -> PathBuf {
    match (user_data_dir, mode) {
        (Some(dir), _) => PathBuf::from(dir),
        (None, DataDirMode::PerEnv) => data_dir_of(env),
        (None, DataDirMode::Shared) => PathBuf::from(".terraform"),
    }
}

pub fn resolve(request: &Request, context: &Context) -> Result<Plan, Error> {
    let env = request.env.as_str();
    env_name::validate(env)?;
    if !context.known_envs.iter().any(|known| known == env) {
        return Err(Error::UnknownEnv {
            name: env.to_string(),
            stack: context.stack_dir.to_path_buf(),
            known: context.known_envs.to_vec(),
            suggestion: env_name::suggest(env, context.known_envs.iter().map(String::as_str)),
            backend: context.config.env_file_hint(env),
        });
    }
    let command = request.command.to_str().unwrap_or_default();
    let traits = command_table::lookup(command);
    let config = context.config;

    let shared_data_dir = context.user_data_dir || config.data_dir == DataDirMode::Shared;
    let mut env_vars: Vec<(String, OsString)> = config
        .env_vars(env)
        .into_iter()
        .map(|(name, value)| (name, value.into()))
        .collect();
    if let (DataDirMode::PerEnv, false) = (config.data_dir, context.user_data_dir) {
        env_vars.push(("TF_DATA_DIR".to_string(), data_dir_of(env).into_os_string()));
    }
    if let Some(cache) = context.plugin_cache {
        env_vars.push(("TF_PLUGIN_CACHE_DIR".to_string(), cache.into()));
    }
    let extra = |command: &str| -> Vec<OsString> {
        config
            .args(command, env)
            .into_iter()
            .map(OsString::from)
            .collect()
    };
    // `workspace = …`: every command runs in it (`TF_WORKSPACE`). Init, the step that selects
    // or creates it and the user's own `workspace` commands run without: init would ask which
    // existing workspace to select (an error without input) and `workspace select` refuses to
    // run under `TF_WORKSPACE`.
    let workspace = config.workspace(env);
    let workspace_command = traits.name == "workspace";
    let setup = |args: Vec<OsString>| Invocation {
        program: context.program.to_os_string(),
        args,
        dir: context.stack_dir.to_path_buf(),
        env: env_vars.clone(),
        stdout: None,
    };
    let mut command_env = env_vars.clone();
    if let (Some(workspace), false) = (&workspace, workspace_command) {
        command_env.push(("TF_WORKSPACE".to_string(), workspace.into()));
    }
    let invocation = |args: Vec<OsString>| Invocation {
        env: command_env.clone(),
        ..setup(args)
    };
    // Selected after each init (the init record names it, so not on every run), and created
    // on first use. Creating writes to the env's backend: in a protected env only within a run
    // that is confirmed anyway (an apply); a plan there only selects it, and terraform says so
    // when it does not exist yet (`tfw --confirm <env> <env> workspace new <name>` makes it).
    let confirmed_anyway = command_table::mutates_state(command, &request.args);
    let select_workspace = |when_stale: bool, stamp: bool| {
        let workspace = workspace.as_ref().filter(|_| !workspace_command)?;
        let create: &[&str] = if context.protected && !confirmed_anyway {
            &[]
        } else {
            &["-or-create"]
        };
        let args = ["workspace", "select"]
            .iter()
            .chain(create)
            .chain([&workspace.as_str()])
            .map(OsString::from)
            .collect();
        Some(Step {
            kind: StepKind::Init { when_stale, stamp },
            invocation: setup(args),
        })
    };
    let existing = |what: &'static str, relative: PathBuf| {
        if (context.is_file)(&context.stack_dir.join(&relative)) {
            Ok(relative)
        } else {
            Err(not_regular(
                context,
                Error::MissingFile {
                    env: env.to_string(),
                    what,
                    path: context.stack_dir.join(relative),
                },
            ))
        }
    };
    // `-var-file=…` for each var file (an optional one only when present), then `-var=…`.
    let variables = || -> Result<Vec<OsString>, Error> {
        let files = var_files(
            config,
            env,
            (context.stack_dir, context.stack_path),
            context.is_file,
        )
        .map_err(|e| not_regular(context, e))?;
        Ok(files
            .iter()
            .map(|file| flag("-var-file=", file))
            .chain(
                config
                    .vars(env)
                    .into_iter()
                    .map(|(name, value)| OsString::from(format!("-var={name}={value}"))),
            )
            .collect())
    };
    // At the end: terraform takes it from anywhere, and the words before stay as they were.
    let uncoloured = |mut args: Vec<OsString>| -> Vec<OsString> {
        let name = command_table::lookup(&args[0].to_string_lossy()).name;
        if context.no_color
            && command_table::takes_no_color(name)
            && !command_table::has_flag(&args[1..], "no-color")
        {
            args.push("-no-color".into());
        }
        args
    };
    let init_args = || -> Result<Vec<OsString>, Error> {
        let mut args: Vec<OsString> = vec!["init".into(), "-reconfigure".into()];
        if let Some(backend) = context.backend_file {
            let backend = existing("backend config", backend.to_path_buf())?;
            args.push(flag("-backend-config=", &backend));
        }
        // tfw.toml's `backend = { … }` after the file, so they win as later flags do.
        args.extend(
            config
                .backend_settings(env)
                .into_iter()
                .map(|(key, value)| OsString::from(format!("-backend-config={key}={value}"))),
        );
        if !context.stdin_is_terminal {
            args.push("-input=false".into());
        }
        if context.early_evaluation {
            args.extend(variables()?);
        }
        args.extend(extra("init"));
        Ok(uncoloured(args))
    };

    let mut steps = Vec::new();
    if traits.name == "init" {
        let mut args = init_args()?;
        args.extend(request.args.iter().cloned());
        let init = setup(args);
        let (_, from_environment) = init.terraform_args(context.inherited)?;
        let from_environment: Vec<OsString> =
            from_environment.into_iter().flat_map(|e| e.words).collect();
        let stamp = keeps_the_backend(&request.args)
            && keeps_the_backend(&extra("init"))
            && keeps_the_backend(&from_environment);
        steps.push(Step {
            kind: StepKind::Init {
                when_stale: false,
                stamp: stamp && workspace.is_none(),
            },
            invocation: init,
        });
        steps.extend(select_workspace(false, stamp));
        return Ok(Plan {
            env: env.to_string(),
            steps,
            init_up_to_date: false,
            saved_plan: None,
            shared_data_dir,
        });
    }

    let wants_init = traits.needs_init && context.init != InitPolicy::Skip;
    let auto = context.init == InitPolicy::Auto;
    let init_up_to_date = wants_init && auto && (context.init_up_to_date)();
    // A shared data dir can be repointed by another env's run between now and the command: its
    // init stays in the plan, to be skipped if the record still holds under the run's lock.
    if wants_init && (!init_up_to_date || shared_data_dir) {
        let init = setup(init_args()?);
        environment_init_words(&init, context)?;
        steps.push(Step {
            kind: StepKind::Init {
                when_stale: auto,
                stamp: workspace.is_none(),
            },
            invocation: init,
        });
        steps.extend(select_workspace(auto, true));
    }

    // The plan file is the first positional argument terraform sees, which may come from
    // `TF_CLI_ARGS_apply`: var files are flags and do not change which word that is.
    let mut args = vec![request.command.clone()];
    let saved_plan = if traits.name == "apply" {
        let mut words = args.clone();
        words.extend(extra(traits.name));
        words.extend(request.args.iter().cloned());
        let (words, _) = invocation(words).terraform_args(context.inherited)?;
        saved_plan_file(&words[1..], context).map(|file| context.stack_dir.join(file))
    } else {
        None
    };
    if traits.takes_var_files && saved_plan.is_none() {
        args.extend(variables()?);
    }
    args.extend(extra(traits.name));
    args.extend(request.args.iter().cloned());
    steps.push(Step {
        kind: StepKind::Command,
        invocation: invocation(uncoloured(args)),
    });
    Ok(Plan {
        env: env.to_string(),
        steps,
        init_up_to_date,
        saved_plan,
        shared_data_dir,
    })
}

/// The var files `env` passes, relative to the stack directory (`stack_dir`, at `stack_path`
/// from the root): an optional one only when it exists, a required one always.
pub fn var_files(
    config: &StackConfig,
    env: &str,
    (stack_dir, stack_path): (&Path, &str),
    exists: &dyn Fn(&Path) -> bool,
) -> Result<Vec<PathBuf>, Error> {
    let mut files = Vec::new();
    for var_file in config.var_files {
        let path = var_file.pattern.path_for(env, stack_path);
        match (exists(&stack_dir.join(&path)), var_file.optional) {
            (true, _) => files.push(path),
            (false, true) => {}
            (false, false) => {
                return Err(Error::MissingFile {
                    env: env.to_string(),
                    what: "var file",
                    path: stack_dir.join(path),
                });
            }
        }
    }
    Ok(files)
}

/// A missing file that is there but not a regular file (a FIFO, socket or device): said so,
/// not "missing" beside a `ls` that shows it.
fn not_regular(context: &Context, error: Error) -> Error {
    match error {
        Error::MissingFile { path, .. } if (context.opens_as_file)(&path) => Error::Unreadable {
            path,
            message: "not a regular file (terraform reads var and backend files whole)".into(),
        },
        error => error,
    }
}

/// The plan file of `apply PLANFILE`: its first positional argument, when that is a file.
fn saved_plan_file<'a>(args: &'a [OsString], context: &Context) -> Option<&'a OsString> {
    let mut words = args.iter();
    while let Some(word) = words.next() {
        let text = word.to_string_lossy();
        if text == "--" {
            return words
                .next()
                .filter(|w| (context.opens_as_file)(&context.stack_dir.join(w)));
        }
        match text.strip_prefix("--").or_else(|| text.strip_prefix('-')) {
            Some(name) if !name.is_empty() => {
                if FLAGS_WITH_VALUE.contains(&name) {
                    words.next();
                }
            }
            _ => {
                return (context.opens_as_file)(&context.stack_dir.join(word)).then_some(word);
            }
        }
    }
    None
}

fn flag(name: &str, path: &Path) -> OsString {
    let mut flag = OsString::from(name);
    flag.push(path);
    flag
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Settings;

    struct Fixture {
        settings: Settings,
        stack_path: &'static str,
        early_evaluation: bool,
        envs: Vec<String>,
        files: Vec<&'static str>,
        init: InitPolicy,
        up_to_date: bool,
        tty: bool,
        user_data_dir: bool,
        inherited: Vec<(&'static str, &'static str)>,
        plugin_cache: Option<&'static str>,
    }

    impl Fixture {
        fn new() -> Self {
            Self {
                settings: Settings::default(),
                stack_path: ".",
                early_evaluation: false,
                envs: vec!["dev".into(), "prd".into(), "stg".into()],
                files: vec![
                    "st/stg.tfvars",
                    "st/stg.tfbackend",
                    "st/prd.tfvars",
                    "st/prd.tfbackend",
                    "st/dev.tfbackend",
                    "st/tfplan",
                ],
                init: InitPolicy::Auto,
                up_to_date: false,
                tty: true,
                user_data_dir: false,
                inherited: Vec::new(),
                plugin_cache: None,
            }
        }

        fn resolve(&self, line: &[&str]) -> Result<Plan, Error> {
            let is_file = |p: &Path| self.files.iter().any(|f| Path::new(f) == p);
            let config = self.settings.stack(self.stack_path);
            let backend_file = config
                .backend_config
                .map(|b| PathBuf::from(b.pattern.file_for(line[0])));
            let context = Context {
                backend_file: backend_file.as_deref(),
                early_evaluation: self.early_evaluation,
                stack_dir: Path::new("st"),
                stack_path: self.stack_path,
                config: &config,
                known_envs: &self.envs,
                protected: false,
                program: OsStr::new("terraform"),
                user_data_dir: self.user_data_dir,
                stdin_is_terminal: self.tty,
                init: self.init,
                init_up_to_date: &|| self.up_to_date,
                is_file: &is_file,
                opens_as_file: &is_file,
                inherited: &|name| {
                    self.inherited
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, v)| OsString::from(v))
                },
                plugin_cache: self.plugin_cache.map(Path::new),
                no_color: false,
            };
            let request = Request {
                env: line[0].into(),
                command: line[1].into(),
                args: line[2..].iter().map(OsString::from).collect(),
            };
            resolve(&request, &context)
        }

        /// The steps as command lines, for compact assertions.
        fn lines(&self, line: &[&str]) -> Vec<String> {
            let plan = self.resolve(line).unwrap();
            plan.steps
                .iter()
                .map(|s| s.invocation.command_line())
                .collect()
        }
    }

    const INIT_STG: &str = "terraform init -reconfigure -backend-config=stg.tfbackend";

    #[test]
    fn plan_inits_then_plans_with_var_file_right_after_subcommand() {
        let f = Fixture::new();
        assert_eq!(
            f.lines(&["stg", "plan", "-out=x", "-lock=false"]),
            [
                INIT_STG,
                "terraform plan -var-file=stg.tfvars -out=x -lock=false"
            ]
        );
    }

    #[test]
    fn every_step_gets_the_env_data_dir_and_the_stack_dir() {
        let plan = Fixture::new().resolve(&["stg", "plan"]).unwrap();
        for step in &plan.steps {
            assert_eq!(step.invocation.dir, Path::new("st"));
            assert_eq!(
                step.invocation.env,
                [(
                    "TF_DATA_DIR".to_string(),
                    OsString::from(".terraform/tfw/stg")
                )]
            );
        }
    }

    #[test]
    fn shared_data_dir_and_user_data_dir_set_no_variable() {
        let mut user = Fixture::new();
        user.user_data_dir = true;
        let mut shared = Fixture::new();
        shared.settings.data_dir = DataDirMode::Shared;
        for f in [user, shared] {
            let plan = f.resolve(&["stg", "plan"]).unwrap();
            assert!(plan.steps.iter().all(|s| s.invocation.env.is_empty()));
        }
    }

    #[test]
    fn command_table_decides_init_and_var_files() {
        let f = Fixture::new();
        let table: &[(&[&str], &[&str])] = &[
            (
                &["stg", "output", "-json"],
                &[INIT_STG, "terraform output -json"],
            ),
            (
                &["stg", "state", "list"],
                &[INIT_STG, "terraform state list"],
            ),
            (&["stg", "fmt", "-check"], &["terraform fmt -check"]),
            (&["stg", "version"], &["terraform version"]),
            (&["stg", "-help"], &["terraform -help"]),
            (
                &["stg", "frobnicate", "x"],
                &[INIT_STG, "terraform frobnicate x"],
            ),
            (
                &["stg", "destroy"],
                &[INIT_STG, "terraform destroy -var-file=stg.tfvars"],
            ),
            (
                &["stg", "import", "a.b", "id"],
                &[INIT_STG, "terraform import -var-file=stg.tfvars a.b id"],
            ),
        ];
        for (line, expected) in table {
            assert_eq!(f.lines(line), *expected, "{line:?}");
        }
    }

    #[test]
    fn explicit_init_is_one_step_with_user_args() {
        let f = Fixture::new();
        assert_eq!(
            f.lines(&["stg", "init", "-upgrade"]),
            [format!("{INIT_STG} -upgrade")]
        );
        let mut f = Fixture::new();
        f.up_to_date = true;
        f.init = InitPolicy::Skip;
        assert_eq!(f.lines(&["stg", "init"]), [INIT_STG], "init always runs");
    }

    #[test]
    fn explicit_init_is_recorded_only_for_the_envs_own_backend() {
        let f = Fixture::new();
        let stamps = |line: &[&str]| match f.resolve(line).unwrap().steps[0].kind {
            StepKind::Init { stamp, .. } => stamp,
            StepKind::Command => panic!("{line:?}: no init"),
        };
        for line in [
            &["stg", "init"][..],
            &["stg", "init", "-upgrade"],
            &[
                "stg",
                "init",
                "-input=false",
                "--no-color",
                "-lock-timeout=5m",
            ],
        ] {
            assert!(stamps(line), "{line:?}");
        }
        for line in [
            &["stg", "init", "-backend=false"][..],
            &["stg", "init", "-backend-config=path=elsewhere"],
            &["stg", "init", "-from-module=../x"],
            &["stg", "init", "-get=false"],
            &["stg", "init", "-upgrade", "-plugin-dir=/p"],
            &["stg", "init", "somedir"],
        ] {
            assert!(!stamps(line), "{line:?}");
        }
    }

    #[test]
    fn a_data_dir_of_several_envs_is_shared() {
        let mut f = Fixture::new();
        assert!(!f.resolve(&["stg", "plan"]).unwrap().shared_data_dir);
        f.user_data_dir = true;
        assert!(f.resolve(&["stg", "plan"]).unwrap().shared_data_dir);
        let mut f = Fixture::new();
        f.settings.data_dir = DataDirMode::Shared;
        assert!(f.resolve(&["stg", "init"]).unwrap().shared_data_dir);
        // Up to date now, but another env may repoint it before the run holds its lock.
        f.up_to_date = true;
        let plan = f.resolve(&["stg", "plan"]).unwrap();
        assert!(plan.init_up_to_date);
        assert_eq!(
            plan.steps[0].kind,
            StepKind::Init {
                when_stale: true,
                stamp: true
            }
        );
        assert_eq!(plan.expected_steps().count(), 1);
    }

    #[test]
    fn init_is_non_interactive_without_terminal() {
        let mut f = Fixture::new();
        f.tty = false;
        assert_eq!(
            f.lines(&["stg", "plan"])[0],
            format!("{INIT_STG} -input=false")
        );
    }

    #[test]
    fn init_policy_table() {
        let cases = [
            (InitPolicy::Auto, false, true, false),
            (InitPolicy::Auto, true, false, true),
            (InitPolicy::Skip, false, false, false),
            (InitPolicy::Force, true, true, false),
        ];
        for (policy, up_to_date, inits, reported_up_to_date) in cases {
            let mut f = Fixture::new();
            f.init = policy;
            f.up_to_date = up_to_date;
            let plan = f.resolve(&["stg", "plan"]).unwrap();
            assert_eq!(
                matches!(plan.steps[0].kind, StepKind::Init { .. }),
                inits,
                "{policy:?} {up_to_date}"
            );
            assert_eq!(
                plan.init_up_to_date, reported_up_to_date,
                "{policy:?} {up_to_date}"
            );
        }
    }

    #[test]
    fn saved_plan_gets_no_var_files() {
        let f = Fixture::new();
        let table: &[(&[&str], &str)] = &[
            (&["stg", "apply", "tfplan"], "terraform apply tfplan"),
            (
                &["stg", "apply", "-auto-approve", "tfplan"],
                "terraform apply -auto-approve tfplan",
            ),
            (
                &["stg", "apply", "-lock-timeout", "5s", "tfplan"],
                "terraform apply -lock-timeout 5s tfplan",
            ),
            (
                &["stg", "apply", "--", "tfplan"],
                "terraform apply -- tfplan",
            ),
            // Not a file: a plain apply with variables.
            (
                &["stg", "apply", "missing"],
                "terraform apply -var-file=stg.tfvars missing",
            ),
            // `-target tfplan`: the word is the flag's value, not a plan.
            (
                &["stg", "apply", "-target", "tfplan"],
                "terraform apply -var-file=stg.tfvars -target tfplan",
            ),
            (
                &["stg", "plan", "tfplan"],
                "terraform plan -var-file=stg.tfvars tfplan",
            ),
        ];
        for (line, expected) in table {
            assert_eq!(f.lines(line)[1], *expected, "{line:?}");
        }
    }

    #[test]
    fn a_plan_file_named_by_tf_cli_args_is_a_saved_plan() {
        for (name, value) in [("TF_CLI_ARGS_apply", "tfplan"), ("TF_CLI_ARGS", "tfplan")] {
            let mut f = Fixture::new();
            // Init up to date: TF_CLI_ARGS would give init the word too, which it refuses.
            f.up_to_date = true;
            f.inherited = vec![(name, value)];
            let plan = f.resolve(&["stg", "apply"]).unwrap();
            assert_eq!(plan.saved_plan, Some(PathBuf::from("st/tfplan")), "{name}");
            assert_eq!(
                plan.steps[0].invocation.command_line(),
                "terraform apply",
                "no var files for a saved plan ({name})"
            );
        }
        let mut f = Fixture::new();
        f.up_to_date = true;
        f.settings = tfw_toml("env_vars = { TF_CLI_ARGS_apply = \"tfplan\" }\n");
        let plan = f.resolve(&["stg", "apply"]).unwrap();
        assert_eq!(
            plan.saved_plan,
            Some(PathBuf::from("st/tfplan")),
            "tfw.toml"
        );
    }

    #[test]
    fn init_words_from_the_environment_that_could_move_state_are_refused() {
        for value in [
            "-migrate-state",
            "-force-copy",
            "-backend-config=prd.tfbackend",
            "-backend=false",
        ] {
            for name in ["TF_CLI_ARGS_init", "TF_CLI_ARGS"] {
                let mut f = Fixture::new();
                f.inherited = vec![(name, value)];
                let err = f.resolve(&["stg", "plan"]).unwrap_err();
                assert_eq!(err.exit_code(), 64, "{name}={value}");
                assert!(err.to_string().contains(value), "{err}");
            }
        }
        for value in ["-upgrade", "-plugin-dir=/p", "-lock-timeout=5m -no-color"] {
            let mut f = Fixture::new();
            f.inherited = vec![("TF_CLI_ARGS_init", value)];
            assert!(f.resolve(&["stg", "plan"]).is_ok(), "{value}");
        }
        let mut f = Fixture::new();
        f.inherited = vec![("TF_CLI_ARGS_init", "-backend=false")];
        let plan = f.resolve(&["stg", "init"]).unwrap();
        assert_eq!(
            plan.steps[0].kind,
            StepKind::Init {
                when_stale: false,
                stamp: false
            },
            "an explicit init the environment repoints is not recorded"
        );
    }

    fn tfw_toml(text: &str) -> Settings {
        Settings::parse(Path::new("tfw.toml"), text).unwrap()
    }

    #[test]
    fn vars_env_vars_and_args_by_stack_and_env() {
        let mut f = Fixture::new();
        f.settings = tfw_toml(
            r#"vars = { environment_name = "{env}", team = "core" }
env_vars = { AWS_PROFILE = "{env}-admin" }
[args]
plan = ["-compact-warnings"]
init = ["-lock-timeout=1m"]
[environments.prd]
env_vars = { AWS_PROFILE = "prod-admin" }
[stacks."."]
vars = { team = "platform" }
args = { plan = ["-lock-timeout=5m"] }
"#,
        );
        for (env, profile) in [("stg", "stg-admin"), ("prd", "prod-admin")] {
            let plan = f.resolve(&[env, "plan", "-out=x"]).unwrap();
            let [init, command] = &plan.steps[..] else {
                panic!("{plan:?}")
            };
            assert_eq!(
                command.invocation.command_line(),
                format!(
                    "terraform plan -var-file={env}.tfvars -var=environment_name={env} -var=team=platform -lock-timeout=5m -out=x"
                ),
                "the stack's own block wins"
            );
            assert!(init.invocation.command_line().ends_with("-lock-timeout=1m"));
            for invocation in [&init.invocation, &command.invocation] {
                assert_eq!(
                    invocation.env[0],
                    ("AWS_PROFILE".to_string(), OsString::from(profile)),
                    "{env}"
                );
            }
        }
        // Commands without var files get no -var either.
        assert_eq!(f.lines(&["stg", "output"])[1], "terraform output");
    }

    #[test]
    fn optional_var_files_and_files_from_the_root() {
        let mut f = Fixture::new();
        f.stack_path = "infra/api";
        f.settings = tfw_toml(
            r#"var_files = ["{root}/shared/{env}.tfvars", { path = "../common/{env}.tfvars", optional = true }, "{env}.tfvars"]"#,
        );
        f.files.push("st/../../shared/stg.tfvars");
        assert_eq!(
            f.lines(&["stg", "plan"])[1],
            "terraform plan -var-file=../../shared/stg.tfvars -var-file=stg.tfvars",
            "the optional file is absent"
        );
        f.files.push("st/../common/stg.tfvars");
        assert_eq!(
            f.lines(&["stg", "plan"])[1],
            "terraform plan -var-file=../../shared/stg.tfvars -var-file=../common/stg.tfvars -var-file=stg.tfvars"
        );
        let err = f.resolve(&["prd", "plan"]).unwrap_err();
        assert_eq!(
            err.exit_code(),
            66,
            "a required file outside the stack is still required"
        );
    }

    #[test]
    fn early_evaluation_gives_init_the_variables() {
        let mut f = Fixture::new();
        f.early_evaluation = true;
        f.settings = tfw_toml("vars = { region = \"eu\" }\n");
        assert_eq!(
            f.lines(&["stg", "plan"])[0],
            format!("{INIT_STG} -var-file=stg.tfvars -var=region=eu")
        );
        assert_eq!(
            f.lines(&["stg", "init", "-upgrade"])[0],
            format!("{INIT_STG} -var-file=stg.tfvars -var=region=eu -upgrade")
        );
    }

    #[test]
    fn several_var_file_patterns_in_order() {
        let mut f = Fixture::new();
        f.settings = tfw_toml("var_files = [\"common.tfvars\", \"env/{env}/{env}.tfvars\"]\n");
        f.files
            .extend(["st/common.tfvars", "st/env/stg/stg.tfvars"]);
        assert_eq!(
            f.lines(&["stg", "plan"])[1],
            "terraform plan -var-file=common.tfvars -var-file=env/stg/stg.tfvars"
        );
    }

    #[test]
    fn errors_and_their_codes() {
        let f = Fixture::new();
        let cases: &[(&[&str], i32, &str)] = &[
            (&["stag", "plan"], 64, "did you mean `stg`?"),
            (&["../prd", "plan"], 64, "invalid environment name"),
            (&["dev", "plan"], 66, "st/dev.tfvars"),
        ];
        for (line, code, needle) in cases {
            let err = f.resolve(line).unwrap_err();
            assert_eq!(err.exit_code(), *code, "{line:?}");
            assert!(
                format!("{err} {}", err.help()).contains(needle),
                "{line:?}: {err}"
            );
        }
        let mut f = Fixture::new();
        f.files.retain(|file| *file != "st/stg.tfbackend");
        let err = f.resolve(&["stg", "plan"]).unwrap_err();
        assert_eq!(
            (
                err.exit_code(),
                err.to_string().contains("st/stg.tfbackend")
            ),
            (66, true)
        );
        // A command that needs neither file runs without them.
        assert_eq!(f.lines(&["stg", "fmt"]), ["terraform fmt"]);
    }
}
