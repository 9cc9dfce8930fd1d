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
