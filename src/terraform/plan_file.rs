//! The backend a saved plan file was made against: `terraform apply PLANFILE` writes there,
//! whatever the data dir says. Read from the plan's zip (`tfplan`, a protobuf `Plan` whose field
//! 13 is the backend: type, config as cty msgpack, workspace).

use std::collections::BTreeMap;
use std::path::Path;

/// The backend recorded in a plan file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanBackend {
    pub kind: String,
    /// The config's attributes with a string, number or bool value, as text.
    pub config: BTreeMap<String, String>,
    pub workspace: String,
}

/// The backend of the plan file at `path`; `None` when it is not a terraform plan tfw can read
/// (terraform itself then says what is wrong with it).
pub fn read_backend(path: &Path) -> Option<PlanBackend> {
    let bytes = std::fs::read(path).ok()?;
    let plan = zip_entry(&bytes, "tfplan")?;
    let backend = field(&plan, 13)?;
    let kind = String::from_utf8(field(backend, 1)?.to_vec()).ok()?;
    let config = field(backend, 2)
        .and_then(|value| field(value, 1))
        .unwrap_or_default();
    let workspace = field(backend, 3).unwrap_or_default();
    Some(PlanBackend {
        kind,
        config: msgpack_map(config)?,
        workspace: String::from_utf8_lossy(workspace).into_owned(),
    })
}

fn u16_at(bytes: &[u8], at: usize) -> Option<usize> {
    Some(usize::from(u16::from_le_bytes(
        bytes.get(at..at + 2)?.try_into().ok()?,
    )))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<usize> {
    usize::try_from(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?)).ok()
}

/// The uncompressed content of the entry `name`, found through the central directory (Go's
/// zip writer puts sizes in data descriptors, so local headers alone do not have them).
fn zip_entry(zip: &[u8], name: &str) -> Option<Vec<u8>> {
    const END: &[u8] = b"PK\x05\x06";
    const CENTRAL: &[u8] = b"PK\x01\x02";
    const LOCAL: &[u8] = b"PK\x03\x04";
    if !zip.starts_with(LOCAL) {
        return None;
    }
    let end = (0..zip.len().saturating_sub(21))
        .rev()
        .take(65_557)
        .find(|&at| zip[at..].starts_with(END))?;
    let count = u16_at(zip, end + 10)?;
    let mut at = u32_at(zip, end + 16)?;
    for _ in 0..count {
        if !zip.get(at..)?.starts_with(CENTRAL) {
            return None;
        }
        let method = u16_at(zip, at + 10)?;
        let compressed = u32_at(zip, at + 20)?;
        let name_len = u16_at(zip, at + 28)?;
        let entry_name = zip.get(at + 46..at + 46 + name_len)?;
        if entry_name == name.as_bytes() {
            let local = u32_at(zip, at + 42)?;
            if !zip.get(local..)?.starts_with(LOCAL) {
                return None;
            }
            let start = local + 30 + u16_at(zip, local + 26)? + u16_at(zip, local + 28)?;
            let data = zip.get(start..start + compressed)?;
            return match method {
                0 => Some(data.to_vec()),
                8 => miniz_oxide::inflate::decompress_to_vec_with_limit(data, 256 << 20).ok(),
                _ => None,
            };
        }
        at += 46 + name_len + u16_at(zip, at + 30)? + u16_at(zip, at + 32)?;
    }
    None
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

/// A msgpack map of string keys; values other than strings, numbers and bools are left out.
fn msgpack_map(bytes: &[u8]) -> Option<BTreeMap<String, String>> {
    let mut reader = MsgPack { bytes, at: 0 };
    let mut map = BTreeMap::new();
    let entries = reader.map_len()?;
    for _ in 0..entries {
        let Some(Scalar::Text(key)) = reader.value()? else {
            return None;
        };
        match reader.value()? {
            Some(Scalar::Text(value)) => map.insert(key, value),
            Some(Scalar::Other(value)) => map.insert(key, value),
            None => None,
        };
    }
    Some(map)
}

enum Scalar {
    Text(String),
    /// A number or bool, as text.
    Other(String),
}

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

    fn map_len(&mut self) -> Option<usize> {
        let marker = *self.take(1)?.first()?;
        match marker {
            0x80..=0x8f => Some(usize::from(marker & 0x0f)),
            0xde => usize::try_from(self.uint(2)?).ok(),
            0xdf => usize::try_from(self.uint(4)?).ok(),
            _ => None,
        }
    }

    /// One value: `Some` for a scalar, `None` for nil, arrays, maps and extensions (skipped).
    fn value(&mut self) -> Option<Option<Scalar>> {
        let marker = *self.take(1)?.first()?;
        let text = |bytes: &[u8]| {
            Some(Some(Scalar::Text(
                String::from_utf8_lossy(bytes).into_owned(),
            )))
        };
        let other = |value: String| Some(Some(Scalar::Other(value)));
        let length = |reader: &mut Self, n| reader.uint(n).and_then(|l| usize::try_from(l).ok());
        match marker {
            0x00..=0x7f => other(marker.to_string()),
            0xe0..=0xff => other((i64::from(marker) - 256).to_string()),
            0xa0..=0xbf => {
                let bytes = self.take(usize::from(marker & 0x1f))?;
                text(bytes)
            }
            0xd9..=0xdb => {
                let n = length(self, 1 << (marker - 0xd9))?;
                let bytes = self.take(n)?;
                text(bytes)
            }
            0xc0 => Some(None),
            0xc2 => other("false".into()),
            0xc3 => other("true".into()),
            0xcc..=0xcf => other(self.uint(1 << (marker - 0xcc))?.to_string()),
            0xd0..=0xd3 => {
                let n = 1 << (marker - 0xd0);
                let raw = self.uint(n)?;
                let shift = 64 - 8 * n as u32;
                other((((raw << shift) as i64) >> shift).to_string())
            }
            0xca => other(f32::from_bits(self.uint(4)? as u32).to_string()),
            0xcb => other(f64::from_bits(self.uint(8)?).to_string()),
            0xc4..=0xc6 => {
                let n = length(self, 1 << (marker - 0xc4))?;
                self.take(n)?;
                Some(None)
            }
            0x90..=0x9f | 0xdc | 0xdd => {
                let n = match marker {
                    0xdc => length(self, 2)?,
                    0xdd => length(self, 4)?,
                    _ => usize::from(marker & 0x0f),
                };
                for _ in 0..n {
                    self.value()?;
                }
                Some(None)
            }
            0x80..=0x8f | 0xde | 0xdf => {
                self.at -= 1;
                for _ in 0..self.map_len()? * 2 {
                    self.value()?;
                }
                Some(None)
            }
            0xd4..=0xd8 => {
                self.take(1 + (1 << (marker - 0xd4)))?;
                Some(None)
            }
            0xc7..=0xc9 => {
                let n = length(self, 1 << (marker - 0xc7))?;
                self.take(1 + n)?;
                Some(None)
            }
            0xc1 => None,
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

    #[test]
    fn reads_the_backend_of_real_plans() {
        for (version, bytes) in PLANS {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("tfplan");
            std::fs::write(&path, bytes).unwrap();
            let backend = read_backend(&path).unwrap_or_else(|| panic!("{version}"));
            assert_eq!(backend.kind, "local", "{version}");
            assert_eq!(backend.workspace, "default", "{version}");
            assert_eq!(
                backend.config.get("path").map(String::as_str),
                Some("state/prd.tfstate"),
                "{version}"
            );
            assert!(
                !backend.config.contains_key("workspace_dir"),
                "null is left out"
            );
        }
    }

    #[test]
    fn anything_else_is_not_a_plan() {
        let dir = tempfile::tempdir().unwrap();
        for (name, bytes) in [
            ("empty", &b""[..]),
            ("text", b"hello"),
            ("zip header only", b"PK\x03\x04"),
            ("truncated", &PLANS[0].1[..PLANS[0].1.len() / 2]),
        ] {
            let path = dir.path().join("tfplan");
            std::fs::write(&path, bytes).unwrap();
            assert_eq!(read_backend(&path), None, "{name}");
        }
        assert_eq!(read_backend(&dir.path().join("none")), None);
    }

    #[test]
    fn msgpack_scalars() {
        // {"a": "x", "n": -3, "big": 300, "t": true, "l": [1], "z": nil}
        let bytes = b"\x86\xa1a\xa1x\xa1n\xfd\xa3big\xcd\x01\x2c\xa1t\xc3\xa1l\x91\x01\xa1z\xc0";
        let map = msgpack_map(bytes).unwrap();
        let expected: BTreeMap<String, String> =
            [("a", "x"), ("n", "-3"), ("big", "300"), ("t", "true")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
        assert_eq!(map, expected);
    }
}
