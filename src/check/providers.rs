//! `tfw check`'s `providers` warnings: lock files that make every init pick provider versions
//! anew or keep terraform from using the shared plugin cache.

use super::parse_cache::Purpose;
use super::{Checker, Found, Out, Problem, visible};
use crate::lang::hcl::Parsed;
use crate::repo::listing::Status;
use crate::repo::{LOCK_FILE, join_display};
use crate::terraform::plugin_cache;
use std::path::Path;

/// The stack's lock file, for a stack that uses providers: committed, and with an `h1:`
/// checksum of every provider for each platform the repository declares (terraform 1.4 and
/// later use a cached provider only when its platform's `h1:` checksum is locked).
pub(super) fn check_lock(checker: &Checker, found: &Found, out: &mut Out) {
    let stack = &found.stack;
    let settings = &checker.repo.settings.providers;
    let platforms = match settings.platforms.is_empty() {
        true => vec![plugin_cache::platform()],
        false => settings.platforms.clone(),
    };
    let flags: String = platforms
        .iter()
        .map(|p| format!(" -platform={p}"))
        .collect();
    let lock_command = format!("run `terraform providers lock{flags}` in {}", stack.path);
    let mut warn = |message: String| {
        out.problems.push(Problem {
            path: join_display(&stack.path, Path::new(LOCK_FILE)),
            line: None,
            message,
            kind: "providers",
            stack: stack.path.clone(),
            env: None,
        })
    };
    let status = found.files.status(LOCK_FILE);
    let why = match status {
        None | Some(Status::Deleted) => Some("no lock file"),
        Some(Status::Untracked) => Some("the lock file is not committed"),
        Some(Status::Ignored) => Some("the lock file is ignored by git"),
        Some(Status::Tracked | Status::NotInGit | Status::SkipWorktree) => None,
    };
    if let Some(why) = why {
        let fix = match status {
            Some(Status::Untracked | Status::Ignored) => "commit it".to_string(),
            _ => format!("{lock_command} and commit it"),
        };
        warn(format!(
            "{why}, though the stack uses providers: each init picks provider versions anew; {fix}"
        ));
    }
    if !status.is_some_and(visible) && status != Some(Status::Ignored) {
        return;
    }
    let parsed = checker.parsed(found, LOCK_FILE, Purpose::Lock, &mut out.touched, |bytes| {
        let text = String::from_utf8_lossy(bytes);
        match plugin_cache::locked_providers(&text) {
            Some(locked) => Parsed::Lock(
                locked
                    .into_iter()
                    .map(|p| (p.source, p.version, p.h1_count))
                    .collect(),
            ),
            None => Parsed::Invalid("it does not parse".into()),
        }
    });
    match &*parsed {
        Parsed::Lock(providers) => {
            for (source, version, h1) in providers.iter().filter(|p| p.2 < platforms.len()) {
                warn(format!(
                    "{source} {version} has {h1} `h1:` checksum(s) for {} platform(s) ({}): terraform uses a cached provider only with its platform's checksum; {lock_command}",
                    platforms.len(),
                    platforms.join(", ")
                ));
            }
        }
        Parsed::Invalid(why) => warn(format!("cannot read the lock file ({why})")),
        _ => {}
    }
}
