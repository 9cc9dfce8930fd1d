//! The backend a saved plan file was made against: `terraform apply PLANFILE` writes there,
//! whatever the data dir says. Read from the plan's zip (`tfplan`, a protobuf `Plan` whose field
//! 13 is the backend: type, config as cty msgpack, workspace).

use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// The backend recorded in a plan file.
#[derive(Debug, Clone, PartialEq)]
pub struct PlanBackend {
    pub kind: String,
    /// The config's attributes that are set (null ones left out).
    pub config: BTreeMap<String, hcl::Value>,
    pub workspace: String,
}

/// The backend of the plan file at `path`, or why tfw cannot read it as a terraform plan. The
/// zip is read as Go's `archive/zip` reads it (the end record found from the end, bytes before
/// the archive and zip64 allowed), so that what terraform accepts, tfw reads too.
pub fn read_backend(path: &Path) -> Result<PlanBackend, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let mut archive = zip::ZipArchive::new(file).map_err(|e| format!("not a zip archive ({e})"))?;
    let mut entry = archive
        .by_name("tfplan")
        .map_err(|_| "no `tfplan` entry: not a terraform plan".to_string())?;
    let mut plan = Vec::new();
    entry
        .by_ref()
        .take(256 << 20)
        .read_to_end(&mut plan)
        .map_err(|e| format!("its `tfplan` entry cannot be read ({e})"))?;
    let unreadable = || "its `tfplan` entry has no backend tfw can read".to_string();
    let backend = field(&plan, 13).ok_or_else(unreadable)?;
    let kind = String::from_utf8(field(backend, 1).ok_or_else(unreadable)?.to_vec())
        .map_err(|_| unreadable())?;
    let config = field(backend, 2)
        .and_then(|value| field(value, 1))
        .unwrap_or_default();
    let workspace = field(backend, 3).unwrap_or_default();
    let mut reader = MsgPack {
        bytes: config,
        at: 0,
    };
    let hcl::Value::Object(config) = reader.value().ok_or_else(unreadable)? else {
        return Err(unreadable());
    };
    Ok(PlanBackend {
        kind,
        config: config
            .into_iter()
            .filter(|(_, value)| !value.is_null())
            .collect(),
        workspace: String::from_utf8_lossy(workspace).into_owned(),
    })
}

fn varint(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let byte = *bytes.get(*at)?;
        *at += 1;
        value |= u64::from(byte & 0x7f) << shift;
        if byte < 0x80 {
            return Some(value);
        }
    }
    None
}

/// The last length-delimited field `number` of a protobuf message (the last one wins, as in
/// protobuf itself).
fn field(message: &[u8], number: u64) -> Option<&[u8]> {
    let mut at = 0;
    let mut found = None;
    while at < message.len() {
        let key = varint(message, &mut at)?;
        let length = match key & 7 {
            0 => {
                varint(message, &mut at)?;
                0
            }
            1 => 8,
            2 => usize::try_from(varint(message, &mut at)?).ok()?,
            5 => 4,
            _ => return None,
        };
        let value = message.get(at..at.checked_add(length)?)?;
        if key >> 3 == number && key & 7 == 2 {
            found = Some(value);
        }
        at += length;
    }
    found
}

/// A cty msgpack value (terraform's encoding of the backend config): strings, numbers, bools,
/// nulls, lists and maps; `None` for what is not such a value (an unknown, an extension).
struct MsgPack<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl MsgPack<'_> {
    fn take(&mut self, n: usize) -> Option<&[u8]> {
        let slice = self.bytes.get(self.at..self.at.checked_add(n)?)?;
        self.at += n;
        Some(slice)
    }

    fn uint(&mut self, n: usize) -> Option<u64> {
        Some(
            self.take(n)?
                .iter()
                .fold(0u64, |value, byte| value << 8 | u64::from(*byte)),
        )
    }

    fn length(&mut self, n: usize) -> Option<usize> {
        usize::try_from(self.uint(n)?).ok()
    }

    fn text(&mut self, n: usize) -> Option<hcl::Value> {
        let bytes = self.take(n)?;
        Some(hcl::Value::String(
            String::from_utf8_lossy(bytes).into_owned(),
        ))
    }

    fn list(&mut self, n: usize) -> Option<hcl::Value> {
        (0..n)
            .map(|_| self.value())
            .collect::<Option<Vec<_>>>()
            .map(hcl::Value::Array)
    }

    fn map(&mut self, n: usize) -> Option<hcl::Value> {
        let mut map = hcl::Map::new();
        for _ in 0..n {
            let hcl::Value::String(key) = self.value()? else {
                return None;
            };
            let value = self.value()?;
            map.insert(key, value);
        }
        Some(hcl::Value::Object(map))
    }

    fn value(&mut self) -> Option<hcl::Value> {
        let marker = *self.take(1)?.first()?;
        let int = |n: i64| Some(hcl::Value::Number(hcl::Number::from(n)));
        match marker {
            0x00..=0x7f => int(i64::from(marker)),
            0xe0..=0xff => int(i64::from(marker) - 256),
            0xa0..=0xbf => self.text(usize::from(marker & 0x1f)),
            0xd9..=0xdb => {
                let n = self.length(1 << (marker - 0xd9))?;
                self.text(n)
            }
            0xc0 => Some(hcl::Value::Null),
            0xc2 => Some(hcl::Value::Bool(false)),
            0xc3 => Some(hcl::Value::Bool(true)),
            0xcc..=0xcf => Some(hcl::Value::Number(hcl::Number::from(
                self.uint(1 << (marker - 0xcc))?,
            ))),
            0xd0..=0xd3 => {
                let n = 1 << (marker - 0xd0);
                let raw = self.uint(n)?;
                let shift = 64 - 8 * n as u32;
                int(((raw << shift) as i64) >> shift)
            }
            0xca => hcl::Number::from_f64(f64::from(f32::from_bits(self.uint(4)? as u32)))
                .map(hcl::Value::Number),
            0xcb => hcl::Number::from_f64(f64::from_bits(self.uint(8)?)).map(hcl::Value::Number),
            0x90..=0x9f => self.list(usize::from(marker & 0x0f)),
            0xdc | 0xdd => {
                let n = self.length(2 << (marker - 0xdc))?;
                self.list(n)
            }
            0x80..=0x8f => self.map(usize::from(marker & 0x0f)),
            0xde | 0xdf => {
                let n = self.length(2 << (marker - 0xde))?;
                self.map(n)
            }
            // Binary, extensions (cty's unknown values) and the unused marker.
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plans of `path = "state/prd.tfstate"` (local backend) made by Terraform 1.0.3 and 1.11.4.
    const PLANS: &[(&str, &[u8])] = &[
        (
            "1.0.3",
            include_bytes!("../../tests/fixtures/prd-1.0.3.tfplan"),
        ),
        (
            "1.11.4",
            include_bytes!("../../tests/fixtures/prd-1.11.4.tfplan"),
        ),
    ];

    /// The plan as terraform reads it after other tools touched it: as written, with bytes in
    /// front (`(printf JUNK; cat tfplan)`), and re-zipped with zip64 records (`zip -fz`).
    fn variants(bytes: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
        let mut prepended = b"JUNK".to_vec();
        prepended.extend_from_slice(bytes);
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
        let mut writer = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for i in 0..archive.len() {
            let mut entry = archive.by_index(i).unwrap();
            let options = zip::write::SimpleFileOptions::default().large_file(true);
            let name = entry.name().unwrap().to_string();
            writer.start_file(name, options).unwrap();
            std::io::copy(&mut entry, &mut writer).unwrap();
        }
        let zip64 = writer.finish().unwrap().into_inner();
        vec![
            ("as written", bytes.to_vec()),
            ("with bytes in front", prepended),
            ("zip64", zip64),
        ]
    }

    #[test]
    fn reads_the_backend_of_real_plans_as_terraform_does() {
        for (version, bytes) in PLANS {
            for (variant, bytes) in variants(bytes) {
                let dir = tempfile::tempdir().unwrap();
                let path = dir.path().join("tfplan");
                std::fs::write(&path, bytes).unwrap();
                let backend =
                    read_backend(&path).unwrap_or_else(|why| panic!("{version} {variant}: {why}"));
                assert_eq!(backend.kind, "local", "{version}");
                assert_eq!(backend.workspace, "default", "{version}");
                assert_eq!(
                    backend.config.get("path"),
                    Some(&hcl::Value::from("state/prd.tfstate")),
                    "{version} {variant}"
                );
                assert!(
                    !backend.config.contains_key("workspace_dir"),
                    "null is left out"
                );
            }
        }
    }

    #[test]
    fn anything_else_is_not_a_plan_and_says_why() {
        let dir = tempfile::tempdir().unwrap();
        let mut not_a_plan = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        not_a_plan
            .start_file("other", zip::write::SimpleFileOptions::default())
            .unwrap();
        let not_a_plan = not_a_plan.finish().unwrap().into_inner();
        for (name, bytes, why) in [
            ("empty", &b""[..], "not a zip archive"),
            ("text", b"hello", "not a zip archive"),
            ("zip header only", b"PK\x03\x04", "not a zip archive"),
            (
                "truncated",
                &PLANS[0].1[..PLANS[0].1.len() / 2],
                "not a zip archive",
            ),
            ("another zip", &not_a_plan, "no `tfplan` entry"),
        ] {
            let path = dir.path().join("tfplan");
            std::fs::write(&path, bytes).unwrap();
            let err = read_backend(&path).unwrap_err();
            assert!(err.contains(why), "{name}: {err}");
        }
        assert!(read_backend(&dir.path().join("none")).is_err());
    }

    #[test]
    fn msgpack_values() {
        // {"a": "x", "n": -3, "big": 300, "t": true, "l": [1], "z": nil}
        let bytes = b"\x86\xa1a\xa1x\xa1n\xfd\xa3big\xcd\x01\x2c\xa1t\xc3\xa1l\x91\x01\xa1z\xc0";
        let value = MsgPack { bytes, at: 0 }.value().unwrap();
        let expected = hcl::Value::from_iter([
            ("a", hcl::Value::from("x")),
            ("n", hcl::Value::from(-3)),
            ("big", hcl::Value::from(300)),
            ("t", hcl::Value::from(true)),
            ("l", hcl::Value::from_iter([hcl::Value::from(1)])),
            ("z", hcl::Value::Null),
        ]);
        assert_eq!(value, expected);
    }
}
