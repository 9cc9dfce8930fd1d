//! `--atlantis`: tfw as an Atlantis custom-workflow `run` step. Reads what Atlantis sets
//! (PLANFILE, SHOWFILE, COMMENT_ARGS), plans to $PLANFILE and $SHOWFILE, applies $PLANFILE.

use crate::error::Error;
use crate::terraform::command_table;
use crate::terraform::resolve::{Plan, Request, Step, StepKind};
use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;

/// What Atlantis gives a run step.
pub struct StepEnvironment {
    pub planfile: Option<PathBuf>,
    pub showfile: Option<PathBuf>,
    /// From `atlantis plan -- <args>`.
    pub comment_args: Vec<OsString>,
    /// `${ATLANTIS_TERRAFORM_DISTRIBUTION}${ATLANTIS_TERRAFORM_VERSION}` (`terraform1.5.7`): the
    /// project's versioned binary, which Atlantis puts on PATH for run steps.
    pub versioned_binary: Option<OsString>,
}

impl StepEnvironment {
    pub fn from_env(get: impl Fn(&str) -> Option<OsString>) -> Self {
        let path = |name: &str| get(name).filter(|v| !v.is_empty()).map(PathBuf::from);
        Self {
            planfile: path("PLANFILE"),
            showfile: path("SHOWFILE"),
            comment_args: get("COMMENT_ARGS")
                .map(|raw| decode_comment_args(raw.as_bytes()))
                .unwrap_or_default(),
            versioned_binary: get("ATLANTIS_TERRAFORM_VERSION")
                .filter(|v| !v.is_empty())
                .map(|version| {
                    let mut name = get("ATLANTIS_TERRAFORM_DISTRIBUTION")
                        .filter(|d| !d.is_empty())
                        .unwrap_or_else(|| "terraform".into());
                    name.push(version);
                    name
                }),
        }
    }

    fn require(&self, command: &str, planfile: bool, showfile: bool) -> Result<(), Error> {
        let missing: Vec<&str> = [
            ("PLANFILE", planfile && self.planfile.is_none()),
            ("SHOWFILE", showfile && self.showfile.is_none()),
        ]
        .into_iter()
        .filter_map(|(name, missing)| missing.then_some(name))
        .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(Error::Usage {
            message: format!("`tfw --atlantis <env> {command}` needs {} in the environment", missing.join(" and ")),
            help: "run it as a `run` step of an Atlantis custom workflow (Atlantis sets them), or set them yourself".into(),
        })
    }

    /// The request as a run step makes it: never interactive, the plan file Atlantis tracks,
    /// the comment's extra arguments appended.
    pub fn adapt(&self, request: Request) -> Result<Request, Error> {
        let command = request.command.to_string_lossy().into_owned();
        let name = command_table::lookup(&command).name;
        let mut args: Vec<OsString> = Vec::new();
        match name {
            "plan" => {
                self.require(&command, true, true)?;
                args.push("-input=false".into());
                args.push(flag("-out=", self.planfile.as_ref()));
            }
            "apply" => {
                self.require(&command, true, false)?;
                args.push("-input=false".into());
            }
            "show" => self.require(&command, true, true)?,
            _ => {}
        }
        if name != "show" {
            args.extend(self.comment_args.iter().cloned());
        }
        args.extend(request.args);
        match name {
            // The saved plan is apply's first positional argument: after every flag.
            "apply" => args.extend(self.planfile.clone().map(PathBuf::into_os_string)),
            "show" => args.extend([
                "-json".into(),
                self.planfile.clone().unwrap_or_default().into_os_string(),
            ]),
            _ => {}
        }
        Ok(Request { args, ..request })
    }

    /// Adds what follows the command: after a plan, its JSON for policy checks in $SHOWFILE;
    /// a `show` writes $SHOWFILE itself.
    pub fn complete(&self, plan: &mut Plan, command: &str) {
        let Some(showfile) = &self.showfile else {
            return;
        };
        let Some(last) = plan.steps.last_mut() else {
            return;
        };
        match command_table::lookup(command).name {
            "show" => last.invocation.stdout = Some(showfile.clone()),
            "plan" => {
                let mut invocation = last.invocation.clone();
                invocation.args = vec![
                    "show".into(),
                    "-json".into(),
                    self.planfile.clone().unwrap_or_default().into_os_string(),
                ];
                invocation.stdout = Some(showfile.clone());
                plan.steps.push(Step {
                    kind: StepKind::Command,
                    invocation,
                });
            }
            _ => {}
        }
    }
}

fn flag(name: &str, path: Option<&PathBuf>) -> OsString {
    let mut flag = OsString::from(name);
    flag.push(path.map(|p| p.as_os_str()).unwrap_or_default());
    flag
}

/// Atlantis escapes every byte of each argument with a backslash and joins arguments with
/// unescaped commas: `-- a1 b,2` arrives as `\a\1,\b\,\2`.
pub fn decode_comment_args(raw: &[u8]) -> Vec<OsString> {
    if raw.is_empty() {
        return Vec::new();
    }
    let mut args = Vec::new();
    let mut current = Vec::new();
    let mut bytes = raw.iter();
    while let Some(byte) = bytes.next() {
        match byte {
            b'\\' => current.extend(bytes.next()),
            b',' => args.push(OsString::from_vec(std::mem::take(&mut current))),
            other => current.push(*other),
        }
    }
    args.push(OsString::from_vec(current));
    args
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comment_args_decode_exactly() {
        let cases: &[(&[u8], &[&str])] = &[
            (b"", &[]),
            (br"\a\1,\b\,\2", &["a1", "b,2"]),
            (br"\-\t\a\r\g\e\t\=\a\,\b", &["-target=a,b"]),
            (br"\-\v\a\r\=\x\=\'\y\ \z\'", &["-var=x='y z'"]),
            (br"\\\,", &["\\,"]),
        ];
        for (raw, expected) in cases {
            let got: Vec<OsString> = decode_comment_args(raw);
            assert_eq!(
                got,
                expected.iter().map(OsString::from).collect::<Vec<_>>(),
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    fn environment() -> StepEnvironment {
        StepEnvironment {
            planfile: Some("/w/root-stg-default.tfplan".into()),
            showfile: Some("/w/root-stg-default.json".into()),
            comment_args: vec!["-target=a,b".into()],
            versioned_binary: None,
        }
    }

    fn adapted(command: &str, args: &[&str]) -> Vec<String> {
        let request = Request {
            env: "stg".into(),
            command: command.into(),
            args: args.iter().map(OsString::from).collect(),
        };
        let request = environment().adapt(request).unwrap();
        request
            .args
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn plan_apply_and_show_use_atlantis_files() {
        assert_eq!(
            adapted("plan", &["-lock=false"]),
            [
                "-input=false",
                "-out=/w/root-stg-default.tfplan",
                "-target=a,b",
                "-lock=false"
            ]
        );
        assert_eq!(
            adapted("apply", &[]),
            ["-input=false", "-target=a,b", "/w/root-stg-default.tfplan"]
        );
        assert_eq!(
            adapted("show", &[]),
            ["-json", "/w/root-stg-default.tfplan"]
        );
    }

    #[test]
    fn missing_planfile_is_a_clear_error() {
        let outside = StepEnvironment::from_env(|_| None);
        let request = Request {
            env: "stg".into(),
            command: "plan".into(),
            args: vec![],
        };
        let err = outside.adapt(request).unwrap_err();
        assert_eq!(err.exit_code(), 64);
        assert!(err.to_string().contains("PLANFILE and SHOWFILE"), "{err}");
    }
}
