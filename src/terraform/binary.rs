//! Which terraform binary runs: `--terraform`, `TFW_TERRAFORM`, tfw.toml `binary`, else
//! `terraform` on PATH, else `tofu`.

use crate::error::Error;
use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::path::PathBuf;
use std::sync::Mutex;

#[derive(Debug, Clone)]
pub struct Binary {
    /// As shown in printed commands: the name the user gave, or the default found.
    pub name: OsString,
    /// The executable, when it exists.
    pub path: Option<PathBuf>,
}

impl Binary {
    /// Looks the binary up; a missing one only fails when something must run (`require`).
    /// Each name is searched once per run: `--all` asks for every stack.
    pub fn locate(configured: Option<&OsStr>) -> Self {
        static FOUND: Mutex<BTreeMap<Option<OsString>, Binary>> = Mutex::new(BTreeMap::new());
        let key = configured.map(OsStr::to_os_string);
        let mut found = FOUND.lock().unwrap_or_else(|e| e.into_inner());
        found
            .entry(key)
            .or_insert_with(|| Self::search(configured))
            .clone()
    }

    fn search(configured: Option<&OsStr>) -> Self {
        match configured {
            Some(name) => Self {
                name: name.to_os_string(),
                path: which::which(name).ok(),
            },
            None => ["terraform", "tofu"]
                .into_iter()
                .find_map(|name| {
                    which::which(name).ok().map(|path| Self {
                        name: name.into(),
                        path: Some(path),
                    })
                })
                .unwrap_or(Self {
                    name: "terraform".into(),
                    path: None,
                }),
        }
    }

    /// Whether it is OpenTofu, by its name (`tofu`, `tofu1.10.0` as Atlantis names versions).
    pub fn is_opentofu(&self) -> bool {
        let name = match &self.path {
            Some(path) => path.file_name().unwrap_or_default(),
            None => self.name.as_os_str(),
        };
        name.to_string_lossy().starts_with("tofu")
    }

    /// Whether its plugin cache is safe for inits that write to it at once: OpenTofu 1.10 or
    /// later, as `tofu version -json` says (asked once per binary and run). Anything tfw cannot
    /// tell counts as unsafe: the cache is then locked.
    pub fn cache_safe_for_concurrent_inits(&self) -> bool {
        static ASKED: Mutex<BTreeMap<PathBuf, bool>> = Mutex::new(BTreeMap::new());
        let (true, Some(path)) = (self.is_opentofu(), &self.path) else {
            return false;
        };
        let mut asked = ASKED.lock().unwrap_or_else(|e| e.into_inner());
        *asked.entry(path.clone()).or_insert_with(|| {
            let version = duct::cmd(path, ["version", "-json"])
                .stdin_null()
                .stderr_null()
                .read()
                .ok()
                .and_then(|json| serde_json::from_str::<serde_json::Value>(&json).ok())
                .and_then(|v| v["terraform_version"].as_str().map(str::to_string));
            version.is_some_and(|version| at_least(&version, (1, 10)))
        })
    }

    pub fn require(&self) -> Result<&PathBuf, Error> {
        self.path.as_ref().ok_or_else(|| Error::TerraformNotFound {
            tried: if self.name == "terraform" {
                "`terraform` and `tofu` on PATH".to_string()
            } else {
                format!("`{}`", self.name.to_string_lossy())
            },
        })
    }
}

/// Whether a version (`1.10.2`, `1.11.0-beta1`) is at least `major.minor`.
fn at_least(version: &str, (major, minor): (u64, u64)) -> bool {
    let mut parts = version.split(['.', '-']).map(|p| p.parse::<u64>().ok());
    match (parts.next().flatten(), parts.next().flatten()) {
        (Some(a), Some(b)) => (a, b) >= (major, minor),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn versions_compare_by_major_and_minor() {
        for (version, at_least) in [
            ("1.10.0", true),
            ("1.11.0-beta1", true),
            ("2.0.0", true),
            ("1.9.3", false),
            ("1", false),
            ("", false),
        ] {
            assert_eq!(super::at_least(version, (1, 10)), at_least, "{version}");
        }
    }
}
