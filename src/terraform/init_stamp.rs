//! The record tfw keeps of a successful init: a fingerprint of everything init consumes, stored
//! in the data dir, so init runs again only when one of those inputs changed.

use crate::lang::hcl::init_blocks;
use crate::paths;
use crate::repo::inputs::Input;
use crate::repo::{Repo, Stack};
use std::fmt::Write as _;
use std::fs::{self, File};
use std::path::{Path, PathBuf};

const STAMP_FILE: &str = "tfw-init.stamp";
const LOCK_FILE: &str = "tfw-init.lock";
const VERSION_LINE: &str = "tfw init stamp v2";

/// The inputs of one env's init and where its record lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InitRecord {
    pub env: String,
    pub stack_dir: PathBuf,
    /// The data dir, as terraform sees it (relative to the stack dir, or absolute).
    pub data_dir: PathBuf,
    /// The files init reads (the backend config; with early evaluation the var files too),
    /// relative to the stack dir.
    pub input_files: Vec<PathBuf>,
    /// `-var` values init gets (with early evaluation), by name.
    pub vars: Vec<(String, String)>,
    /// The terraform executable, when found.
    pub binary: Option<PathBuf>,
    /// The directories whose terraform files init reads (see `configuration`).
    pub configuration: Configuration,
}

/// The directories whose terraform files init reads: the stack's, then those of the local
/// modules it calls, each with its files by name (`None`: not there yet); `Err`: why they
/// cannot be told.
pub type Configuration = Result<Vec<(PathBuf, Option<Vec<String>>)>, String>;

/// The configuration of `stack`, as the repository's inputs model has it; `sources` are its
/// terraform files (`Repo::terraform_sources`).
pub fn configuration(repo: &Repo, stack: &Stack, sources: &[(String, String)]) -> Configuration {
    let names = |inputs: &[Input]| -> Vec<String> {
        inputs
            .iter()
            .filter(|i| i.exists)
            .map(|i| i.name.clone())
            .collect()
    };
    let own = (stack.dir.clone(), Some(names(&repo.terraform_files(stack))));
    let modules = repo.modules(stack, sources)?;
    Ok(std::iter::once(own)
        .chain(
            modules
                .into_iter()
                .map(|m| (m.dir, m.files.as_deref().map(names))),
        )
        .collect())
}

/// Why a fingerprint could not be taken; init then runs, never a wrong skip.
#[derive(Debug)]
pub struct Unreadable(pub String);

impl InitRecord {
    fn data_dir_path(&self) -> PathBuf {
        self.stack_dir.join(&self.data_dir)
    }

    fn stamp_path(&self) -> PathBuf {
        self.data_dir_path().join(STAMP_FILE)
    }

    /// Whether the data dir holds a stamp equal to the current fingerprint.
    pub fn is_current(&self) -> Result<bool, Unreadable> {
        let Ok(stamp) = fs::read_to_string(self.stamp_path()) else {
            return Ok(false);
        };
        Ok(stamp == self.inputs()? + &self.produced())
    }

    /// Why init would run: the first input whose line in the stamp differs from today's
    /// (`stg.tfbackend changed`, `no init yet for stg`); `None` when the stamp is current.
    pub fn why_stale(&self) -> Option<String> {
        let Ok(stamp) = fs::read_to_string(self.stamp_path()) else {
            return Some(format!("no init yet for {}", self.env));
        };
        let current = match self.inputs() {
            Ok(inputs) => inputs + &self.produced(),
            Err(Unreadable(why)) => return Some(why),
        };
        let (mut old, mut new) = (stamp.lines(), current.lines());
        loop {
            match (old.next(), new.next()) {
                (None, None) => return None,
                (a, b) if a == b => continue,
                (a, b) => return Some(changed_input(b.or(a).unwrap_or_default(), &self.env)),
            }
        }
    }

    /// Forgets the record before init starts, so a failed or interrupted init is never taken
    /// as done.
    pub fn remove(&self) -> std::io::Result<()> {
        match fs::remove_file(self.stamp_path()) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Records a successful init of `inputs` (taken before init started: a file edited while
    /// init ran must not count as initialised), with what that init left behind.
    pub fn write(&self, inputs: &str) -> anyhow::Result<()> {
        fs::create_dir_all(self.data_dir_path())?;
        let text = inputs.to_string() + &self.produced();
        crate::atomic_file::write_private(&self.stamp_path(), text.as_bytes())?;
        Ok(())
    }

    /// The data dir's lock: held while init runs (or, for a data dir several envs share, while
    /// the whole command runs), so that no two tfw use it at once.
    pub fn lock_path(&self) -> std::io::Result<PathBuf> {
        fs::create_dir_all(self.data_dir_path())?;
        Ok(self.data_dir_path().join(LOCK_FILE))
    }

    /// What init wrote that a later init (by tfw or anyone) would change: the data dir's backend
    /// record and the dependency lock file. Taken after init; any outside change means init again.
    fn produced(&self) -> String {
        let mut providers = String::new();
        installed_providers(&self.data_dir_path().join("providers"), &mut providers);
        format!(
            "backend_record {}\nlock {}\n{providers}",
            hash_file(&self.data_dir_path().join("terraform.tfstate")),
            hash_file(&self.stack_dir.join(crate::repo::LOCK_FILE))
        )
    }

    /// Everything init reads, as text. File contents appear as hashes: a backend config can hold
    /// credentials.
    pub fn inputs(&self) -> Result<String, Unreadable> {
        let stack = self
            .stack_dir
            .canonicalize()
            .unwrap_or_else(|_| paths::normalize(&self.stack_dir));
        let mut text = format!(
            "{VERSION_LINE}\nenv {}\nstack {}\ndata_dir {}\n",
            self.env,
            stack.display(),
            self.data_dir.display()
        );
        match &self.binary {
            Some(path) => {
                let meta = fs::metadata(path)
                    .map_err(|e| Unreadable(format!("{}: {e}", path.display())))?;
                let modified = meta
                    .modified()
                    .ok()
                    .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok());
                let _ = writeln!(
                    text,
                    "binary {} {} {:?}",
                    path.display(),
                    meta.len(),
                    modified
                );
            }
            None => text.push_str("binary none\n"),
        }
        for file in &self.input_files {
            let _ = writeln!(
                text,
                "input {} {}",
                file.display(),
                hash_file(&self.stack_dir.join(file))
            );
        }
        for (name, value) in &self.vars {
            let _ = writeln!(text, "var {name} {}", hash_bytes(value.as_bytes()));
        }
        let dirs = self
            .configuration
            .as_ref()
            .map_err(|e| Unreadable(e.clone()))?;
        configuration_text(dirs, &mut text)?;
        Ok(text)
    }
}

/// What a line of the stamp (as `inputs` and `produced` write it) says has changed.
fn changed_input(line: &str, env: &str) -> String {
    let (key, rest) = line.split_once(' ').unwrap_or((line, ""));
    match key {
        "binary" => "terraform binary changed".into(),
        "input" => format!("{} changed", rest.split(' ').next().unwrap_or(rest)),
        // `$TF_CLI_ARGS…` from the environment, else a `-var` init gets.
        "var" => match rest.split(' ').next().unwrap_or(rest) {
            name if name.starts_with('$') => format!("{name} changed"),
            name => format!("variable {name} changed"),
        },
        "provider" => "a provider init linked from the plugin cache changed or is gone".into(),
        "lock" => ".terraform.lock.hcl changed".into(),
        "backend_record" => "the data dir's backend record changed since tfw's init".into(),
        "env" | "stack" | "data_dir" => {
            format!("the data dir now serves another stack or env than {env}")
        }
        "tfw" => "the init record is from another tfw version".into(),
        // The indented lines of `configuration`, and `missing` for a module not there yet.
        _ => "a terraform block or module call changed".into(),
    }
}

/// How a lock ended up.
pub enum Locked {
    Held(File),
    /// Another tfw holds it and waiting was not wanted.
    Busy,
    /// Ctrl-C or SIGTERM arrived while waiting.
    Interrupted,
}

/// Whether `stack` calls a module installed in its data dir (`source = "./.terraform/modules/…"`).
/// A byte search first: most stacks never mention it.
pub fn calls_modules_in_data_dir(repo: &Repo, stack: &Stack, sources: &[(String, String)]) -> bool {
    if !sources.iter().any(|(_, text)| text.contains(".terraform/")) {
        return false;
    }
    let data_dir = stack
        .dir
        .canonicalize()
        .unwrap_or_else(|_| stack.dir.clone())
        .join(".terraform");
    repo.modules(stack, sources)
        .is_ok_and(|modules| modules.iter().any(|m| m.dir.starts_with(&data_dir)))
}

/// Whether init of the stack in `dir` evaluates variables: its backend block or a module
/// call's source or version refers to `var.…`. Only OpenTofu (1.8+) allows that.
pub fn init_reads_variables(sources: &[(String, String)]) -> bool {
    let refers = |expression: &hcl::Expression| {
        hcl::format::to_string(expression).is_ok_and(|text| {
            text.match_indices("var.").any(|(at, _)| {
                !text[..at]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
            })
        })
    };
    sources
        .iter()
        .filter(|(name, _)| name.ends_with(".tf"))
        .filter_map(|(_, text)| crate::lang::hcl::parse_body(text).ok())
        .any(|body| {
            body.blocks().any(|block| match block.identifier() {
                "terraform" => block
                    .body()
                    .blocks()
                    .filter(|b| b.identifier() == "backend")
                    .any(|b| b.body().attributes().any(|a| refers(a.expr()))),
                "module" => block
                    .body()
                    .attributes()
                    .filter(|a| a.key() == "source" || a.key() == "version")
                    .any(|a| refers(a.expr())),
                _ => false,
            })
        })
}

/// Each provider init installed as a link into the plugin cache, with where it points and
/// whether that is still there: a cache entry deleted since (the user cleared the cache) means
/// init again, never "provider not installed" from the command.
fn installed_providers(dir: &Path, text: &mut String) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    let mut paths: Vec<PathBuf> = entries.flatten().map(|entry| entry.path()).collect();
    paths.sort();
    for path in paths {
        match fs::read_link(&path) {
            Ok(target) => {
                let present = fs::metadata(&path).is_ok();
                let _ = writeln!(
                    text,
                    "provider {} -> {} {}",
                    path.display(),
                    target.display(),
                    if present { "present" } else { "gone" }
                );
            }
            Err(_) if path.is_dir() => installed_providers(&path, text),
            Err(_) => {}
        }
    }
}

/// Takes an exclusive lock on `path` (created if missing). When another process holds it,
/// calls `waiting` once, then waits unless `no_wait`, polling so that a signal ends the wait.
pub fn lock_file(path: &Path, no_wait: bool, waiting: impl FnOnce()) -> std::io::Result<Locked> {
    lock_file_as(path, false, no_wait, waiting)
}

/// `lock_file`, with a shared lock when `shared` (held by any number of readers at once).
pub fn lock_file_as(
    path: &Path,
    shared: bool,
    no_wait: bool,
    waiting: impl FnOnce(),
) -> std::io::Result<Locked> {
    let file = File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)?;
    let mut waiting = Some(waiting);
    loop {
        let attempt = match shared {
            true => file.try_lock_shared(),
            false => file.try_lock(),
        };
        match attempt {
            Ok(()) => return Ok(Locked::Held(file)),
            Err(fs::TryLockError::Error(e)) => return Err(e),
            Err(fs::TryLockError::WouldBlock) => {}
        }
        if no_wait {
            return Ok(Locked::Busy);
        }
        if let Some(waiting) = waiting.take() {
            waiting();
        }
        if crate::terraform::signals::interrupted() {
            return Ok(Locked::Interrupted);
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// The init-relevant blocks of `dirs`' files: `terraform` blocks and each module call's source
/// and version.
fn configuration_text(
    dirs: &[(PathBuf, Option<Vec<String>>)],
    text: &mut String,
) -> Result<(), Unreadable> {
    for (dir, files) in dirs {
        // init fails on a missing module; the record must change once it appears.
        let Some(files) = files else {
            let _ = writeln!(text, "missing {}", dir.display());
            continue;
        };
        for name in files {
            let file = dir.join(name);
            let source = fs::read_to_string(&file)
                .map_err(|e| Unreadable(format!("{}: {e}", file.display())))?;
            let blocks = init_blocks(&source, name.ends_with(".json"))
                .map_err(|e| Unreadable(format!("cannot parse {}: {e}", file.display())))?;
            for block in blocks {
                let _ = writeln!(text, "  {}", block.text);
            }
        }
    }
    Ok(())
}

/// A stable 64-bit FNV-1a hash of a file's bytes, `absent` when there is no file.
fn hash_file(path: &Path) -> String {
    match fs::read(path) {
        Ok(bytes) => hash_bytes(&bytes),
        Err(_) => "absent".to_string(),
    }
}

fn hash_bytes(bytes: &[u8]) -> String {
    let hash = bytes.iter().fold(0xcbf29ce484222325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100000001b3)
    });
    format!("{hash:016x} {}", bytes.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(dir: &Path) -> InitRecord {
        let repo = Repo::open(dir).unwrap();
        let stack = repo.stack_at(dir).unwrap();
        let sources = repo.terraform_sources(&stack);
        InitRecord {
            env: "stg".into(),
            stack_dir: dir.to_path_buf(),
            data_dir: ".terraform/tfw/stg".into(),
            input_files: vec!["stg.tfbackend".into()],
            vars: Vec::new(),
            binary: None,
            configuration: configuration(&repo, &stack, &sources),
        }
    }

    fn changes(setup: &[(&str, &str)], edit: (&str, &str)) -> bool {
        let dir = crate::repo::fixture::isolated_tempdir();
        for (name, content) in setup {
            let path = dir.path().join(name);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, content).unwrap();
        }
        let fingerprint = || record(dir.path()).inputs().unwrap() + &record(dir.path()).produced();
        let before = fingerprint();
        let path = dir.path().join(edit.0);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, edit.1).unwrap();
        before != fingerprint()
    }

    const MAIN: &str = "terraform {\n  backend \"local\" {}\n}\nmodule \"m\" {\n  source = \"./modules/m\"\n  x = 1\n}\noutput \"a\" {\n  value = 1\n}\n";

    #[test]
    fn what_changes_the_fingerprint() {
        let base: &[(&str, &str)] = &[
            ("main.tf", MAIN),
            ("stg.tfbackend", "path = \"a\"\n"),
            ("modules/m/main.tf", "output \"x\" {\n  value = 1\n}\n"),
            ("stg.tfvars", "a = 1\n"),
        ];
        let cases: &[((&str, &str), bool)] = &[
            (("stg.tfbackend", "path = \"b\"\n"), true),
            (("prd.tfbackend", "path = \"b\"\n"), false),
            (("stg.tfvars", "a = 2\n"), false),
            (("main.tf", &MAIN.replace("value = 1", "value = 2")), false),
            (("main.tf", &MAIN.replace("x = 1", "x = 2")), false),
            (("main.tf", &format!("# comment\n{MAIN}")), false),
            (
                (
                    "main.tf",
                    &format!("{MAIN}module \"n\" {{\n  source = \"x/y/z\"\n}}\n"),
                ),
                true,
            ),
            (
                (
                    "versions.tf",
                    "terraform {\n  required_providers {\n    null = { source = \"hashicorp/null\" }\n  }\n}\n",
                ),
                true,
            ),
            ((".terraform.lock.hcl", "# lock\n"), true),
            (
                (
                    "modules/m/more.tf",
                    "module \"deep\" {\n  source = \"../n\"\n}\n",
                ),
                true,
            ),
            (
                ("modules/m/main.tf", "output \"x\" {\n  value = 2\n}\n"),
                false,
            ),
            (
                (
                    "extra.tf.json",
                    "{\"module\": {\"j\": {\"source\": \"a/b/c\"}}}",
                ),
                true,
            ),
            (
                ("extra.tf.json", "{\"output\": {\"j\": {\"value\": 1}}}"),
                false,
            ),
            // Every JSON form Terraform reads a block in.
            (
                (
                    "extra.tf.json",
                    "{\"module\": [{\"j\": {\"source\": \"./modules/m\"}}]}",
                ),
                true,
            ),
            (
                (
                    "extra.tf.json",
                    "{\"module\": {\"j\": [{\"source\": \"./modules/m\"}]}}",
                ),
                true,
            ),
            // What init leaves in the data dir: an outside init changes it.
            ((".terraform/tfw/stg/terraform.tfstate", "{}"), true),
        ];
        for (edit, expected) in cases {
            assert_eq!(changes(base, *edit), *expected, "{edit:?}");
        }
    }

    #[test]
    fn variables_in_the_backend_or_a_module_source_are_seen() {
        for (text, reads) in [
            (MAIN, false),
            (
                "terraform {\n  backend \"local\" {\n    path = \"state/${var.env}.tfstate\"\n  }\n}\n",
                true,
            ),
            ("module \"m\" {\n  source = var.source\n}\n", true),
            (
                "module \"m\" {\n  source = \"./m\"\n  x = var.x\n}\n",
                false,
            ),
        ] {
            let sources = [("main.tf".to_string(), text.to_string())];
            assert_eq!(init_reads_variables(&sources), reads, "{text}");
        }
    }

    #[test]
    fn unparseable_configuration_is_reported_not_skipped() {
        let dir = crate::repo::fixture::isolated_tempdir();
        fs::write(
            dir.path().join("main.tf"),
            "terraform {\n  backend \"local\" {\n",
        )
        .unwrap();
        let err = record(dir.path()).inputs().unwrap_err();
        assert!(err.0.contains("main.tf"), "{}", err.0);
        assert!(
            record(dir.path()).is_current().is_ok(),
            "no stamp: simply not current"
        );
    }

    #[test]
    fn local_modules_are_found_recursively_relative_to_the_stack() {
        let dir = crate::repo::fixture::isolated_tempdir();
        let stack = dir.path().join("stack");
        for (file, content) in [
            (
                "stack/main.tf",
                "terraform {\n  backend \"local\" {}\n}\nmodule \"a\" {\n  source = \"./modules/a\"\n}\nmodule \"r\" {\n  source = \"hashicorp/x/y\"\n}\n",
            ),
            (
                "stack/modules/a/main.tf",
                "module \"shared\" {\n  source = \"../../../shared\"\n}\n",
            ),
            (
                "shared/main.tf",
                "module \"back\" {\n  source = \"../stack/modules/a\"\n}\n",
            ),
        ] {
            let path = dir.path().join(file);
            fs::create_dir_all(path.parent().unwrap()).unwrap();
            fs::write(path, content).unwrap();
        }
        let repo = Repo::open(dir.path()).unwrap();
        let stack = repo.stack_at(&stack).unwrap();
        let modules = repo
            .modules(&stack, &repo.terraform_sources(&stack))
            .unwrap();
        let paths: Vec<Option<&str>> = modules.iter().map(|m| m.path.as_deref()).collect();
        assert_eq!(paths, [Some("stack/modules/a"), Some("shared")]);
    }

    #[test]
    fn stamp_round_trip_and_removal() {
        let dir = crate::repo::fixture::isolated_tempdir();
        fs::write(dir.path().join("main.tf"), MAIN).unwrap();
        let r = record(dir.path());
        assert!(!r.is_current().unwrap());
        r.write(&r.inputs().unwrap()).unwrap();
        assert!(r.is_current().unwrap());
        fs::create_dir(dir.path().join("other")).unwrap();
        fs::write(dir.path().join("other/main.tf"), MAIN).unwrap();
        let elsewhere = InitRecord {
            stack_dir: dir.path().join("other"),
            ..r.clone()
        };
        assert_ne!(
            elsewhere.inputs().unwrap(),
            r.inputs().unwrap(),
            "a stamp names its stack"
        );
        let other_env = InitRecord {
            env: "dev".into(),
            ..r.clone()
        };
        assert!(!other_env.is_current().unwrap(), "a stamp names its env");
        r.remove().unwrap();
        assert!(!r.is_current().unwrap());
        r.remove().unwrap();
    }
}
