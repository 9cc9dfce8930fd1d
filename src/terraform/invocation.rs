//! One terraform process to run: program, argv, working directory and the variables tfw sets.

use crate::error::Error;
use crate::lang::backend::looks_secret;
use crate::terraform::cli_args::{self, EnvArgs};
use crate::terraform::quote::quote;
use std::ffi::{OsStr, OsString};
use std::fmt;
use std::path::PathBuf;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invocation {
    /// The binary as the user named it (`terraform`, `tofu` or a path).
    pub program: OsString,
    /// The arguments after the program, the subcommand first.
    pub args: Vec<OsString>,
    /// The stack directory the process runs in.
    pub dir: PathBuf,
    /// Variables set for this process only, on top of the inherited environment.
    pub env: Vec<(String, OsString)>,
    /// A file that receives the process's stdout instead of tfw's stdout.
    pub stdout: Option<PathBuf>,
}

impl Invocation {
    /// `terraform plan -var-file=stg.tfvars`: what runs, as it can be pasted in the stack dir
    /// (the value of a `-var` whose name looks secret shown as `***`).
    pub fn command_line(&self) -> String {
        std::iter::once(&self.program)
            .chain(&self.args)
            .map(|arg| match secret_var(arg) {
                Some(name) => quote(OsStr::new(&format!("-var={name}=***"))),
                None => quote(arg),
            })
            .chain(
                self.stdout
                    .iter()
                    .map(|file| format!("> {}", quote(file.as_os_str()))),
            )
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// tfw's own environment, which every terraform process inherits under what tfw sets.
pub fn inherited(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}

impl Invocation {
    /// A variable as the process will see it: set by tfw for it, else `inherited` (tfw's own
    /// environment).
    pub fn variable(
        &self,
        name: &str,
        inherited: &dyn Fn(&str) -> Option<OsString>,
    ) -> Option<OsString> {
        self.env
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value.clone())
            .or_else(|| inherited(name))
    }

    /// The arguments terraform acts on (subcommand first): these, with `TF_CLI_ARGS` and
    /// `TF_CLI_ARGS_<command>` merged in as terraform merges them, and those variables.
    pub fn terraform_args(
        &self,
        inherited: &dyn Fn(&str) -> Option<OsString>,
    ) -> Result<(Vec<OsString>, Vec<EnvArgs>), Error> {
        cli_args::effective(&self.args, &|name| self.variable(name, inherited))
    }
}

/// The name of a `-var=NAME=VALUE` argument whose name looks secret.
fn secret_var(arg: &OsStr) -> Option<&str> {
    let (name, _) = arg.to_str()?.strip_prefix("-var=")?.split_once('=')?;
    looks_secret(name).then_some(name)
}

/// The full form, pasteable anywhere: `(cd dir && TF_DATA_DIR=… terraform …)`.
impl fmt::Display for Invocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(cd {} && ", quote(self.dir.as_os_str()))?;
        for (name, value) in &self.env {
            // Printed commands never carry a credential tfw.toml put in the environment.
            if looks_secret(name) {
                write!(f, "{name}='***' ")?;
            } else {
                write!(f, "{name}={} ", quote(value))?;
            }
        }
        write!(f, "{})", self.command_line())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_a_pasteable_subshell() {
        let invocation = Invocation {
            program: "terraform".into(),
            args: vec![
                "plan".into(),
                "-var-file=stg.tfvars".into(),
                "-target=a b".into(),
            ],
            dir: "my stacks/root".into(),
            env: vec![("TF_DATA_DIR".into(), ".terraform/tfw/stg".into())],
            stdout: None,
        };
        assert_eq!(
            invocation.to_string(),
            "(cd 'my stacks/root' && TF_DATA_DIR=.terraform/tfw/stg terraform plan -var-file=stg.tfvars '-target=a b')"
        );
        assert_eq!(
            invocation.command_line(),
            "terraform plan -var-file=stg.tfvars '-target=a b'"
        );
        let with_secret = Invocation {
            env: vec![
                ("AWS_PROFILE".into(), "stg-admin".into()),
                ("AWS_SECRET_ACCESS_KEY".into(), "abc".into()),
            ],
            ..invocation
        };
        assert!(
            with_secret
                .to_string()
                .contains("AWS_PROFILE=stg-admin AWS_SECRET_ACCESS_KEY='***' terraform"),
            "{with_secret}"
        );
        let with_var = Invocation {
            args: vec![
                "plan".into(),
                "-var=db_password=hunter2".into(),
                "-var=team=core".into(),
            ],
            ..with_secret
        };
        assert_eq!(
            with_var.command_line(),
            "terraform plan '-var=db_password=***' -var=team=core"
        );
    }
}
