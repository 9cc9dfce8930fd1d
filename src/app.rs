//! The flow of one tfw run: parse → settings → discover → resolve → execute.

use crate::arguments::{Arguments, Command, Format};
use crate::binary::Binary;
use crate::config::{self, Settings};
use crate::environment;
use crate::error::Error;
use crate::executor::Executor;
use crate::exit_code;
use crate::guard::{self, Decision, Situation};
use crate::init_stamp::{InitRecord, Unreadable};
use crate::resolve::{self, Context, InitPolicy, Request};
use clap::Parser;
use std::ffi::OsString;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

pub fn run(args: Vec<OsString>) -> anyhow::Result<i32> {
    // terraform.sh printed its usage for a lone `-h` or `-help`; `-help` is not a clap flag.
    if args.len() == 2 && (args[1] == "-help" || args[1] == "-h") {
        Arguments::parse_from(["tfw", "--help"]);
    }
    let mut arguments = match Arguments::try_parse_from(&args) {
        Ok(arguments) => arguments,
        Err(err) if !err.use_stderr() => {
            err.print()?;
            return Ok(0);
        }
        Err(err) => {
            // clap exits 2 on usage errors, which terraform uses for "plan has changes".
            err.print()?;
            return Ok(exit_code::USAGE);
        }
    };
    let stack_dir = arguments
        .chdir
        .clone()
        .unwrap_or_else(|| PathBuf::from("."));
    if !stack_dir.is_dir() {
        return Err(Error::Usage {
            message: format!("`{}` is not a directory", stack_dir.display()),
            help: "pass the stack directory to `-C`, or run tfw inside it".into(),
        }
        .into());
    }
    match arguments.command.take() {
        None => Err(Error::Usage {
            message: "missing environment and terraform command".into(),
            help: "run `tfw <ENV> <COMMAND>`, e.g. `tfw stg plan`; see `tfw --help`".into(),
        }
        .into()),
        Some(Command::Envs { format }) => {
            let stack = Stack::open(&stack_dir)?;
            print_envs(&stack.envs, format);
            Ok(0)
        }
        Some(Command::Run(words)) => run_env_command(&arguments, &stack_dir, words),
    }
}

/// A stack directory with its repository's settings and its envs.
struct Stack {
    dir: PathBuf,
    settings: Settings,
    envs: Vec<String>,
}

impl Stack {
    fn open(dir: &Path) -> anyhow::Result<Self> {
        let absolute = std::path::absolute(dir)?;
        let settings = Settings::load(&config::find_root(&absolute))?;
        let envs = match &settings.envs {
            Some(envs) => envs.clone(),
            None => settings
                .backend_config
                .discover(dir)
                .into_iter()
                .filter(|env| environment::validate(env).is_ok())
                .collect(),
        };
        Ok(Self {
            dir: dir.to_path_buf(),
            settings,
            envs,
        })
    }
}

fn print_envs(envs: &[String], format: Format) {
    match format {
        Format::Text => envs.iter().for_each(|env| println!("{env}")),
        Format::Json => println!("{}", serde_json::json!(envs)),
    }
}

fn run_env_command(
    arguments: &Arguments,
    stack_dir: &Path,
    words: Vec<OsString>,
) -> anyhow::Result<i32> {
    let mut words = words.into_iter();
    let env = words.next().unwrap_or_default();
    let env = env.into_string().map_err(|env| Error::InvalidEnvName {
        name: env.to_string_lossy().into_owned(),
        reason: "it is not valid UTF-8",
    })?;
    // Before any file is read: `tfw ../prd plan` must not look outside the stack.
    environment::validate(&env)?;
    let Some(command) = words.next() else {
        return Err(Error::Usage {
            message: format!("missing terraform command after `{env}`"),
            help: format!("run `tfw {env} <COMMAND>`, e.g. `tfw {env} plan`"),
        }
        .into());
    };
    let request = Request {
        env,
        command,
        args: words.collect(),
    };

    let stack = Stack::open(stack_dir)?;
    let binary = Binary::locate(
        arguments
            .terraform
            .as_deref()
            .or(stack.settings.binary.as_deref()),
    );
    let init = if arguments.skip_init {
        InitPolicy::Skip
    } else if arguments.reinit {
        InitPolicy::Force
    } else {
        InitPolicy::Auto
    };
    let user_data_dir = std::env::var_os("TF_DATA_DIR").filter(|v| !v.is_empty());
    let record = InitRecord {
        env: request.env.clone(),
        stack_dir: stack.dir.clone(),
        data_dir: resolve::data_dir(
            stack.settings.data_dir,
            &request.env,
            user_data_dir.as_deref(),
        ),
        backend_files: vec![stack.settings.backend_config.for_env(&request.env)],
        binary: binary.path.clone(),
    };
    let init_up_to_date = || match record.is_current() {
        Ok(current) => current,
        Err(Unreadable(why)) => {
            if !arguments.quiet {
                eprintln!("tfw: note: {why}; running init to be safe");
            }
            false
        }
    };
    let is_file = |path: &Path| path.is_file();
    let context = Context {
        stack_dir: &stack.dir,
        settings: &stack.settings,
        known_envs: &stack.envs,
        program: &binary.name,
        user_data_dir: user_data_dir.is_some(),
        stdin_is_terminal: std::io::stdin().is_terminal(),
        init,
        init_up_to_date: &init_up_to_date,
        is_file: &is_file,
    };
    let plan = resolve::resolve(&request, &context)?;
    let decision = guard::decide(&Situation {
        env: &request.env,
        protected: &stack.settings.protected,
        command: &request.command,
        args: &request.args,
        terminal: std::io::stdin().is_terminal() && std::io::stderr().is_terminal(),
        token: arguments.confirm.as_deref(),
    });
    if arguments.dry_run {
        if decision != Decision::Proceed {
            println!(
                "# confirmation required: {} is protected (type it at the prompt, or pass --confirm {})",
                plan.env, plan.env
            );
        }
        if plan.init_up_to_date {
            println!("# init up to date ({})", plan.env);
        }
        for step in &plan.steps {
            println!("{}", step.invocation);
        }
        return Ok(0);
    }
    match decision {
        Decision::Proceed => {}
        Decision::Refuse(error) => return Err(error.into()),
        Decision::Ask => {
            let commands: Vec<String> = plan
                .steps
                .iter()
                .map(|s| s.invocation.command_line())
                .collect();
            let backend = stack
                .dir
                .join(stack.settings.backend_config.for_env(&plan.env));
            let shown_dir = std::path::absolute(&stack.dir)?;
            guard::ask(
                &plan.env,
                &shown_dir,
                &commands,
                &guard::state_location(&backend),
            )?;
        }
    }
    let executor = Executor {
        binary: binary.require()?,
        quiet: arguments.quiet,
        record: (init != InitPolicy::Skip || request.command == "init").then_some(&record),
        plugin_cache: std::env::var_os("TF_PLUGIN_CACHE_DIR")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from),
    };
    executor.execute(&plan)
}
