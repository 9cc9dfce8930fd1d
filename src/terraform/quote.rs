//! Shell quoting of arguments, so printed commands can be pasted into a POSIX shell.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;

/// `arg` as one shell word: bare when safe, `'…'` when printable, `$'…'` otherwise.
pub fn quote(arg: &OsStr) -> String {
    let bytes = arg.as_bytes();
    let safe = |b: &u8| b.is_ascii_alphanumeric() || b"_-./=:,+@%^".contains(b);
    if !bytes.is_empty() && bytes.iter().all(safe) {
        return String::from_utf8_lossy(bytes).into_owned();
    }
    match std::str::from_utf8(bytes) {
        Ok(text) if !text.chars().any(char::is_control) => {
            format!("'{}'", text.replace('\'', r"'\''"))
        }
        _ => {
            let mut out = String::from("$'");
            for chunk in bytes.utf8_chunks() {
                for c in chunk.valid().chars() {
                    match c {
                        '\\' | '\'' => {
                            out.push('\\');
                            out.push(c);
                        }
                        '\n' => out.push_str(r"\n"),
                        '\t' => out.push_str(r"\t"),
                        // Byte by byte: `$'\x85'` is the byte 0x85, not U+0085 (C2 85).
                        c if c.is_control() => {
                            for b in c.encode_utf8(&mut [0; 4]).bytes() {
                                out.push_str(&format!("\\x{b:02x}"));
                            }
                        }
                        c => out.push(c),
                    }
                }
                for b in chunk.invalid() {
                    out.push_str(&format!("\\x{b:02x}"));
                }
            }
            out.push('\'');
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;

    #[test]
    fn quoting_table() {
        let cases: &[(&[u8], &str)] = &[
            (b"plan", "plan"),
            ("a\u{85}b".as_bytes(), r"$'a\xc2\x85b'"),
            (b"-var-file=stg.tfvars", "-var-file=stg.tfvars"),
            (b"", "''"),
            (b"a b", "'a b'"),
            (b"it's", r"'it'\''s'"),
            (b"*.tf", "'*.tf'"),
            (b"-target=module.x[\"a\"]", r#"'-target=module.x["a"]'"#),
            (b"a\nb", r"$'a\nb'"),
            (b"\xff\xfe", r"$'\xff\xfe'"),
            (b"caf\xc3\xa9 \\ '", r"'café \ '\'''"),
        ];
        for (input, expected) in cases {
            assert_eq!(quote(OsStr::from_bytes(input)), *expected, "{input:?}");
        }
    }
}
