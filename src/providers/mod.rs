//! `tfw providers`: every provider the stacks' lock files pin, by version and stack, version
//! skew between stacks, and what the shared plugin cache holds.

use crate::repo::{Presence, Repo};
use crate::terraform::plugin_cache::{self, PluginCache};
use serde::Serialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Serialize, Debug, PartialEq, Eq)]
pub struct Report {
    pub providers: Vec<Provider>,
    /// Stacks without a `.terraform.lock.hcl` (their inits may write to the cache).
    pub unlocked: Vec<String>,
    /// Stacks whose lock file does not parse.
    pub unreadable: Vec<String>,
    pub cache: Option<Cache>,
}

#[derive(Serialize, Debug, PartialEq, Eq)]
pub struct Provider {
    pub source: String,
    pub versions: Vec<Version>,
    /// Stacks lock different versions of it.
    pub skew: bool,
}

#[derive(Serialize, Debug, PartialEq, Eq)]
pub struct Version {
    pub version: String,
    pub stacks: Vec<String>,
    /// The cache holds it unpacked for this platform.
    pub cached: bool,
}

#[derive(Serialize, Debug, PartialEq, Eq)]
pub struct Cache {
    pub dir: String,
    pub bytes: u64,
}

/// The report for the repository's stacks, with the cache a run would use.
pub fn report(repo: &Repo, cache: Option<&PluginCache>) -> anyhow::Result<Report> {
    let mut by_source: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    let (mut unlocked, mut unreadable) = (Vec::new(), Vec::new());
    for stack in repo.stacks(Presence::OnDisk)? {
        let name = stack.path.clone();
        let Ok(text) = std::fs::read_to_string(stack.dir.join(crate::repo::LOCK_FILE)) else {
            unlocked.push(name);
            continue;
        };
        let Some(locked) = plugin_cache::locked_providers(&text) else {
            unreadable.push(name);
            continue;
        };
        for provider in locked {
            by_source
                .entry(provider.source)
                .or_default()
                .entry(provider.version)
                .or_default()
                .push(name.clone());
        }
    }
    let platform = plugin_cache::platform();
    let providers = by_source
        .into_iter()
        .map(|(source, versions)| Provider {
            skew: versions.len() > 1,
            versions: versions
                .into_iter()
                .map(|(version, stacks)| Version {
                    cached: cache.is_some_and(|cache| {
                        let entry = cache.dir.join(&source).join(&version).join(&platform);
                        std::fs::read_dir(entry).is_ok_and(|mut names| names.next().is_some())
                    }),
                    version,
                    stacks,
                })
                .collect(),
            source,
        })
        .collect();
    Ok(Report {
        providers,
        unlocked,
        unreadable,
        cache: cache.map(|cache| Cache {
            dir: cache.dir.display().to_string(),
            bytes: size(&cache.dir),
        }),
    })
}

/// The report as text: a provider a paragraph, its versions with their stacks.
pub fn text(report: &Report) -> String {
    let mut text = String::new();
    for provider in &report.providers {
        let skew = if provider.skew {
            "  (version skew between stacks)"
        } else {
            ""
        };
        text.push_str(&format!("{}{skew}\n", provider.source));
        for version in &provider.versions {
            let cached = if version.cached { "cached " } else { "missing" };
            text.push_str(&format!(
                "  {:<10} {cached}  {}\n",
                version.version,
                version.stacks.join(", ")
            ));
        }
    }
    for stack in &report.unlocked {
        text.push_str(&format!("{stack}: no .terraform.lock.hcl\n"));
    }
    for stack in &report.unreadable {
        text.push_str(&format!("{stack}: .terraform.lock.hcl does not parse\n"));
    }
    match &report.cache {
        Some(cache) => text.push_str(&format!(
            "cache: {} ({:.1} MB)\n",
            cache.dir,
            cache.bytes as f64 / 1e6
        )),
        None => text.push_str("cache: none (turned off)\n"),
    }
    text
}

/// The bytes of the files below `dir`, links not followed (data dirs link into the cache).
fn size(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .flatten()
        .map(|entry| match entry.file_type() {
            Ok(kind) if kind.is_dir() => size(&entry.path()),
            Ok(kind) if kind.is_file() => entry.metadata().map_or(0, |m| m.len()),
            _ => 0,
        })
        .sum()
}
