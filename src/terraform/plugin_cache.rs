//! The provider plugin cache all inits share (one extracted copy of each provider however many
//! stacks × envs), where it is, and whether an init may only read it or may write to it.

use crate::terraform::init_stamp;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

/// Who chose the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// `TF_PLUGIN_CACHE_DIR` (the user's environment or tfw.toml's `env_vars`).
    Variable,
    /// `plugin_cache_dir` in terraform's CLI configuration: terraform finds it itself.
    CliConfig(PathBuf),
    /// tfw's own (`TFW_PLUGIN_CACHE`, tfw.toml's `plugin_cache`, or the default), passed to
    /// terraform as `TF_PLUGIN_CACHE_DIR`.
    Tfw,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginCache {
    pub dir: PathBuf,
    pub origin: Origin,
}

/// What tfw.toml's `plugin_cache` says.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Setting {
    /// Not set: tfw's default cache.
    #[default]
    Default,
    /// `plugin_cache = false`.
    Off,
    /// `plugin_cache = "<dir>"`, `{root}` and `{env}` already replaced.
    Dir(PathBuf),
}

/// The cache the inits of a run use, from the variables `lookup` gives (with tfw.toml's
/// `env_vars` over the environment) and tfw.toml's `setting`; `None` when caching is off.
pub fn locate(setting: &Setting, lookup: &dyn Fn(&str) -> Option<OsString>) -> Option<PluginCache> {
    let set = |name: &str| lookup(name).filter(|value| !value.is_empty());
    if let Some(dir) = set("TF_PLUGIN_CACHE_DIR") {
        return Some(PluginCache {
            dir: dir.into(),
            origin: Origin::Variable,
        });
    }
    if let Some((file, dir)) = cli_config_cache(lookup) {
        return Some(PluginCache {
            dir,
            origin: Origin::CliConfig(file),
        });
    }
    let chosen = match set("TFW_PLUGIN_CACHE") {
        Some(value) if ["false", "0", "off"].contains(&value.to_string_lossy().as_ref()) => {
            return None;
        }
        Some(value) => PathBuf::from(value),
        None => match setting {
            Setting::Off => return None,
            Setting::Dir(dir) => dir.clone(),
            Setting::Default => match set("XDG_CACHE_HOME") {
                Some(cache) => PathBuf::from(cache).join("tfw/plugins"),
                None => PathBuf::from(set("HOME")?).join(".cache/tfw/plugins"),
            },
        },
    };
    Some(PluginCache {
        dir: chosen,
        origin: Origin::Tfw,
    })
}

/// `plugin_cache_dir` of terraform's CLI configuration (`TF_CLI_CONFIG_FILE`, else
/// `~/.terraformrc`), with the file it is in.
fn cli_config_cache(lookup: &dyn Fn(&str) -> Option<OsString>) -> Option<(PathBuf, PathBuf)> {
    let file = match lookup("TF_CLI_CONFIG_FILE").filter(|v| !v.is_empty()) {
        Some(file) => PathBuf::from(file),
        None => PathBuf::from(lookup("HOME")?).join(".terraformrc"),
    };
    let dir = configured_cache_dir(&file)?;
    let dir = match dir.strip_prefix("~/") {
        Some(rest) => PathBuf::from(lookup("HOME")?).join(rest),
        None => PathBuf::from(dir),
    };
    Some((file, dir))
}

/// The `plugin_cache_dir` a CLI configuration file names, read once per file however many
/// stacks a run prepares.
fn configured_cache_dir(file: &Path) -> Option<String> {
    static READ: std::sync::Mutex<Vec<(PathBuf, Option<String>)>> =
        std::sync::Mutex::new(Vec::new());
    let mut read = READ.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some((_, dir)) = read.iter().find(|(path, _)| path == file) {
        return dir.clone();
    }
    let dir = std::fs::read_to_string(file).ok().and_then(|text| {
        let body = crate::lang::hcl::parse_body(&text).ok()?;
        match crate::lang::hcl::attribute(&body, "plugin_cache_dir")? {
            hcl::Expression::String(dir) if !dir.is_empty() => Some(dir.clone()),
            _ => None,
        }
    });
    read.push((file.to_path_buf(), dir.clone()));
    dir
}

/// This machine's platform as terraform names it (`linux_amd64`).
pub fn platform() -> String {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        other => other,
    };
    format!("{}_{arch}", std::env::consts::OS)
}

/// A provider a lock file records: its source address and version, and how many `h1:`
/// checksums it carries (the ones terraform checks a cached, unpacked provider against: one per
/// platform locked).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Locked {
    pub source: String,
    pub version: String,
    pub h1_count: usize,
}

/// The providers of a `.terraform.lock.hcl`; `None` when it does not parse.
pub fn locked_providers(text: &str) -> Option<Vec<Locked>> {
    let body = crate::lang::hcl::parse_body(text).ok()?;
    body.blocks()
        .filter(|block| block.identifier() == "provider")
        .map(|block| {
            let source = block.labels().first()?.as_str().to_string();
            let version = match crate::lang::hcl::attribute(block.body(), "version")? {
                hcl::Expression::String(version) => version.clone(),
                _ => return None,
            };
            let h1_count = match crate::lang::hcl::attribute(block.body(), "hashes") {
                Some(hcl::Expression::Array(hashes)) => hashes
                    .iter()
                    .filter(
                        |hash| matches!(hash, hcl::Expression::String(h) if h.starts_with("h1:")),
                    )
                    .count(),
                _ => 0,
            };
            Some(Locked {
                source,
                version,
                h1_count,
            })
        })
        .collect()
}

/// Whether an init can only read the cache: the stack's lock file (`lock_file`, `None` when
/// there is none) records every provider with an `h1:` checksum, and the cache already holds
/// each one unpacked for `platform`. Anything else (no lock file, one tfw cannot read, a
/// provider missing, `-upgrade`) may make terraform write into the cache.
pub fn init_only_reads(
    cache: &Path,
    lock_file: Option<&str>,
    platform: &str,
    upgrade: bool,
) -> bool {
    if upgrade {
        return false;
    }
    let Some(providers) = lock_file.and_then(locked_providers) else {
        return false;
    };
    providers.iter().all(|provider| {
        let entry = cache
            .join(&provider.source)
            .join(&provider.version)
            .join(platform);
        provider.h1_count > 0
            && std::fs::read_dir(&entry).is_ok_and(|mut names| names.next().is_some())
    })
}

/// The cache's lock for one init: shared when `only_reads` says the init will only read the
/// cache (any number at once), exclusive otherwise. Fair: every init first passes a turnstile,
/// where a writer waiting for the readers to finish keeps later readers behind it, so no init
/// waits behind more than those queued before it. `only_reads` is asked at the turnstile and
/// again once an exclusive lock is held, so an init queued behind the one that installs a
/// provider finds it there and only reads.
pub fn lock(
    dir: &Path,
    only_reads: impl Fn() -> bool,
    no_wait: bool,
    waiting: impl FnOnce(),
) -> std::io::Result<(init_stamp::Locked, bool)> {
    let mut waiting = Some(waiting);
    let mut note = || {
        if let Some(waiting) = waiting.take() {
            waiting();
        }
    };
    let turnstile = match init_stamp::lock_file(&dir.join(TURNSTILE), no_wait, &mut note)? {
        init_stamp::Locked::Held(file) => file,
        other => return Ok((other, false)),
    };
    let mut shared = only_reads();
    let locked = init_stamp::lock_file_as(&dir.join(LOCK), shared, no_wait, &mut note)?;
    // Queued behind the init that installed what this one needs: it now only reads. Still
    // behind the turnstile, no writer can take the lock while it is turned into a shared one.
    if let init_stamp::Locked::Held(file) = &locked
        && !shared
        && only_reads()
    {
        file.lock_shared()?;
        shared = true;
    }
    drop(turnstile);
    Ok((locked, shared))
}

/// Inits hold this while they use the cache (exclusive: the name older tfw versions lock).
const LOCK: &str = ".tfw-init.lock";
/// Passed, briefly, by every init before it takes `LOCK`.
const TURNSTILE: &str = ".tfw-turnstile.lock";

#[cfg(test)]
mod tests {
    use super::*;

    const LOCK: &str = r#"# This file is maintained automatically by "terraform init".
provider "registry.terraform.io/hashicorp/aws" {
  version     = "5.100.0"
  constraints = "~> 5.0"
  hashes = [
    "h1:AAAA=",
    "zh:BBBB",
  ]
}
"#;

    fn lookup<'a>(vars: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<OsString> + 'a {
        move |name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| OsString::from(v))
        }
    }

    #[test]
    fn where_the_cache_is() {
        let dir = tempfile::tempdir().unwrap();
        let rc = dir.path().join("rc");
        std::fs::write(&rc, "plugin_cache_dir = \"~/tf-cache\"\n").unwrap();
        let rc = rc.to_str().unwrap();
        let default = Setting::Default;
        let at = |setting: &Setting, vars: &[(&str, &str)]| locate(setting, &lookup(vars));
        let tfw = |dir: &str| {
            Some(PluginCache {
                dir: dir.into(),
                origin: Origin::Tfw,
            })
        };
        assert_eq!(
            at(&default, &[("HOME", "/h")]),
            tfw("/h/.cache/tfw/plugins")
        );
        assert_eq!(
            at(&default, &[("HOME", "/h"), ("XDG_CACHE_HOME", "/x")]),
            tfw("/x/tfw/plugins")
        );
        assert_eq!(
            at(
                &default,
                &[("HOME", "/h"), ("TF_PLUGIN_CACHE_DIR", "/mine")]
            ),
            Some(PluginCache {
                dir: "/mine".into(),
                origin: Origin::Variable
            })
        );
        assert_eq!(
            at(&default, &[("HOME", "/h"), ("TF_CLI_CONFIG_FILE", rc)]),
            Some(PluginCache {
                dir: "/h/tf-cache".into(),
                origin: Origin::CliConfig(rc.into())
            })
        );
        assert_eq!(
            at(
                &default,
                &[("HOME", "/h"), ("TF_CLI_CONFIG_FILE", "/missing")]
            ),
            tfw("/h/.cache/tfw/plugins"),
            "a CLI config that is not there names no cache"
        );
        assert_eq!(at(&Setting::Off, &[("HOME", "/h")]), None);
        assert_eq!(
            at(&Setting::Dir("/repo/.cache".into()), &[("HOME", "/h")]),
            tfw("/repo/.cache")
        );
        assert_eq!(
            at(
                &Setting::Dir("/repo/.cache".into()),
                &[("TFW_PLUGIN_CACHE", "/t")]
            ),
            tfw("/t")
        );
        assert_eq!(
            at(&default, &[("HOME", "/h"), ("TFW_PLUGIN_CACHE", "false")]),
            None
        );
    }

    #[test]
    fn an_init_only_reads_when_every_locked_provider_is_cached_with_its_checksum() {
        let cache = tempfile::tempdir().unwrap();
        let entry = cache
            .path()
            .join("registry.terraform.io/hashicorp/aws/5.100.0/linux_amd64");
        let reads = |lock: Option<&str>, upgrade| {
            init_only_reads(cache.path(), lock, "linux_amd64", upgrade)
        };
        assert!(!reads(Some(LOCK), false), "not cached yet");
        std::fs::create_dir_all(&entry).unwrap();
        assert!(
            !reads(Some(LOCK), false),
            "an empty entry is not a provider"
        );
        std::fs::write(entry.join("terraform-provider-aws_v5.100.0_x5"), "").unwrap();
        assert!(reads(Some(LOCK), false));
        assert!(!reads(Some(LOCK), true), "-upgrade may fetch a newer one");
        assert!(!reads(None, false), "no lock file");
        assert!(
            !reads(Some("provider {"), false),
            "a lock file tfw cannot read"
        );
        assert!(
            !init_only_reads(cache.path(), Some(LOCK), "darwin_arm64", false),
            "another platform"
        );
        let without_h1 = LOCK.replace("\"h1:AAAA=\",", "");
        assert!(
            !reads(Some(&without_h1), false),
            "no h1: terraform bypasses the cache"
        );
        assert!(reads(Some(""), false), "no providers: nothing to install");
    }

    #[test]
    fn the_platform_is_terraforms_name_for_it() {
        let platform = platform();
        assert!(platform.contains('_'), "{platform}");
        assert!(!platform.contains("x86_64"), "{platform}");
    }
}
