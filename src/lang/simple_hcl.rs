//! The subset of HCL most var and backend files are written in — one `name = literal` per line,
//! comments, flat one-line lists and objects — read without the full parser (a check of a big
//! repository reads thousands of them). Anything outside the subset is left to the full parser:
//! the subset's answers are the full parser's (the tests compare them).

/// A literal value of the subset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Literal<'a> {
    /// A quoted string without escapes or template sequences: its text as written.
    String(&'a str),
    /// A whole number without a sign or leading zeros, as written.
    Integer(&'a str),
    Bool(bool),
    Null,
    List(Vec<Literal<'a>>),
    Object(Vec<(&'a str, Literal<'a>)>),
}

impl Literal<'_> {
    /// A string, number or bool as a backend setting's text; `None` for what is not one.
    pub fn scalar(&self) -> Option<String> {
        match self {
            Literal::String(s) | Literal::Integer(s) => Some(s.to_string()),
            Literal::Bool(b) => Some(b.to_string()),
            _ => None,
        }
    }
}

/// Each attribute of `text` with its line (1-based) and value, in file order; `None` when the
/// text is not in the subset (or repeats an attribute, which the full parser reports).
pub fn attributes(text: &str) -> Option<Vec<(&str, usize, Literal<'_>)>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    if text.contains('\r') {
        return None;
    }
    let mut attributes: Vec<(&str, usize, Literal)> = Vec::new();
    for (index, line) in text.split('\n').enumerate() {
        let mut rest = Cursor(line.trim_start_matches([' ', '\t']));
        if rest.at_end_or_comment() {
            continue;
        }
        let name = rest.identifier()?;
        rest.skip_blanks();
        rest.expect('=')?;
        rest.skip_blanks();
        let value = rest.value(true)?;
        rest.skip_blanks();
        if !rest.at_end_or_comment() || attributes.iter().any(|(n, ..)| *n == name) {
            return None;
        }
        attributes.push((name, index + 1, value));
    }
    Some(attributes)
}

struct Cursor<'a>(&'a str);

impl<'a> Cursor<'a> {
    fn skip_blanks(&mut self) {
        self.0 = self.0.trim_start_matches([' ', '\t']);
    }

    /// Nothing left but blanks and a `#` or `//` comment (a `/*` one is not in the subset).
    fn at_end_or_comment(&self) -> bool {
        let rest = self.0.trim_start_matches([' ', '\t']);
        rest.is_empty() || rest.starts_with('#') || rest.starts_with("//")
    }

    fn expect(&mut self, c: char) -> Option<()> {
        self.0 = self.0.strip_prefix(c)?;
        Some(())
    }

    /// An ASCII identifier: a letter or `_`, then letters, digits, `_` and `-`.
    fn identifier(&mut self) -> Option<&'a str> {
        let first = self.0.chars().next()?;
        if !(first.is_ascii_alphabetic() || first == '_') {
            return None;
        }
        let end = self
            .0
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
            .unwrap_or(self.0.len());
        let (name, rest) = self.0.split_at(end);
        self.0 = rest;
        Some(name)
    }

    fn string(&mut self) -> Option<&'a str> {
        let body = self.0.strip_prefix('"')?;
        let end = body.find(['"', '\\', '$', '%'])?;
        if !body[end..].starts_with('"') {
            return None;
        }
        self.0 = &body[end + 1..];
        Some(&body[..end])
    }

    /// A value; lists and objects only at the top (`nested` false inside them), on one line.
    fn value(&mut self, nested: bool) -> Option<Literal<'a>> {
        match self.0.chars().next()? {
            '"' => self.string().map(Literal::String),
            '0'..='9' => {
                let end = self
                    .0
                    .find(|c: char| !c.is_ascii_digit())
                    .unwrap_or(self.0.len());
                let (digits, rest) = self.0.split_at(end);
                // `1.5`, `1e3` and `0x1` read as other numbers; `007` is 7.
                let followed = rest.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '.');
                if followed || (digits.len() > 1 && digits.starts_with('0')) || digits.len() > 18 {
                    return None;
                }
                self.0 = rest;
                Some(Literal::Integer(digits))
            }
            '[' if nested => {
                self.0 = &self.0[1..];
                let mut items = Vec::new();
                self.items(']', |cursor| {
                    items.push(cursor.value(false)?);
                    Some(())
                })?;
                Some(Literal::List(items))
            }
            '{' if nested => {
                self.0 = &self.0[1..];
                let mut entries: Vec<(&str, Literal)> = Vec::new();
                self.items('}', |cursor| {
                    let key = match cursor.0.starts_with('"') {
                        true => cursor.string()?,
                        false => cursor.identifier()?,
                    };
                    cursor.skip_blanks();
                    cursor.expect('=').or_else(|| cursor.expect(':'))?;
                    cursor.skip_blanks();
                    let value = cursor.value(false)?;
                    if entries.iter().any(|(k, _)| *k == key) {
                        return None;
                    }
                    entries.push((key, value));
                    Some(())
                })?;
                Some(Literal::Object(entries))
            }
            _ => {
                let word = self.identifier()?;
                match word {
                    "true" => Some(Literal::Bool(true)),
                    "false" => Some(Literal::Bool(false)),
                    "null" => Some(Literal::Null),
                    _ => None,
                }
            }
        }
    }

    /// Comma-separated items up to `close` (a trailing comma allowed), each read by `item`.
    fn items(&mut self, close: char, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        loop {
            self.skip_blanks();
            if self.expect(close).is_some() {
                return Some(());
            }
            item(self)?;
            self.skip_blanks();
            if self.expect(',').is_none() {
                self.skip_blanks();
                return self.expect(close);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::hcl::Parsed;

    /// Texts in the subset, and texts just outside it.
    const SAMPLES: &[&str] = &[
        "",
        "a = \"x\"\n",
        "\u{feff}bucket = \"b\"\nkey    = \"k/terraform.tfstate\"\nregion = \"eu-west-1\"\n",
        "# comment\n// another\n\nn = 10\nflag = true\noff = false\nnothing = null\n",
        "tags = { team = \"t1\", \"cost-center\" = \"42\" }\n",
        "tags = { team: \"t1\", }\nlist = [\"a\", 1, true, null,]\nempty = []\nnone = {}\n",
        "x = \"a#b\" # trailing\ny = 0 // trailing\n",
        "with-dash_1 = \"v\"\n",
        "\tindented = \"v\"\t\n",
        "a = \"x\"\na = \"y\"\n",
        "s = \"${var.x}\"\n",
        "s = \"100%{if}\"\n",
        "s = \"a\\\"b\"\n",
        "n = 1.5\n",
        "n = -1\n",
        "n = 007\n",
        "n = 1e3\n",
        "list = [[1]]\n",
        "o = { a = { b = 1 } }\n",
        "o = {\n  a = 1\n}\n",
        "x = local.y\n",
        "x = \"a\" \"b\"\n",
        "x = /* c */ 1\n",
        "block {\n  a = 1\n}\n",
        "crlf = \"x\"\r\n",
        "o = { a = 1, a = 2 }\n",
        "x = true1\n",
        "= 1\n",
        "x = \n",
        "x = \"unterminated\n",
        "é = 1\n",
        "x = \"é\"\n",
        "x = \"a\tb\"\n",
        "x = \"a\u{1}b\"\n",
        "x = \"a\u{7f}b\"\n",
        "true = 1\nnull = \"x\"\n",
        "x = True\n",
        "x = tru\n",
        "x={a=1,b=\"c\"}\n",
        "x=1\n",
        "x = [ ]\n",
        "x = { }\n",
        "x = 123456789012345678\n",
        "x = 1234567890123456789012\n",
    ];

    /// Texts made of fragments in and around the subset, `count` of them from `seed`.
    fn generated(seed: u64, count: usize) -> Vec<String> {
        const PARTS: &[&str] = &[
            "a", "b-c", "_d", "9e", " ", "\t", "=", ":", "\"s\"", "\"\"", "\"${x}\"", "1", "0",
            "01", "1.5", "-2", "true", "false", "null", "[", "]", "{", "}", ",", "#c", "//c",
            "/*c*/", "\n", "x.y", "\"a:b\"",
        ];
        let mut state = seed;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        (0..count)
            .map(|_| {
                let mut text = String::new();
                for _ in 0..next() % 4 + 1 {
                    let name = ["a", "b", "c-d", "e_1"][next() as usize % 4];
                    text.push_str(&format!("{name} = "));
                    for _ in 0..next() % 6 {
                        text.push_str(PARTS[next() as usize % PARTS.len()]);
                    }
                    text.push('\n');
                }
                text
            })
            .collect()
    }

    #[test]
    fn generated_texts_read_as_the_full_parser_reads_them() {
        let texts = generated(0x5eed, 4000);
        let read = texts.iter().filter(|t| read_as_the_full_parser(t)).count();
        assert!(read > 40, "the subset reads some of them: {read}");
    }

    /// Whether `text` is in the subset; when it is, asserts that it reads as the full parser
    /// reads it, as a var file and as a backend file.
    fn read_as_the_full_parser(text: &str) -> bool {
        let Some(attributes) = attributes(text) else {
            return false;
        };
        let fast = Parsed::Attributes(crate::lang::hcl::Attributes::new(
            attributes
                .iter()
                .filter_map(|(name, _, value)| Some((*name, value.scalar()?))),
        ));
        assert_eq!(fast, crate::lang::hcl::full_attributes(text), "{text:?}");
        assert_eq!(
            crate::lang::variables::simple_shapes(text).ok_or(()),
            crate::lang::variables::full_shapes(text, false).map_err(|_| ()),
            "{text:?}"
        );
        true
    }

    #[test]
    fn the_subset_reads_as_the_full_parser_does() {
        let read = SAMPLES
            .iter()
            .filter(|s| read_as_the_full_parser(s))
            .count();
        assert!(read >= 9, "the subset reads the samples in it: {read}");
    }

    #[test]
    fn texts_outside_the_subset_are_left_to_the_full_parser() {
        for outside in [
            "a = \"x\"\na = \"y\"\n",
            "s = \"${var.x}\"\n",
            "n = 1.5\n",
            "o = {\n  a = 1\n}\n",
            "block {\n  a = 1\n}\n",
        ] {
            assert_eq!(attributes(outside), None, "{outside:?}");
        }
    }
}
