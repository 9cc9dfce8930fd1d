//! Environment names: what is a valid name, which words are reserved, and "did you mean".

use crate::error::Error;

/// tfw's subcommands: a first word from this list is never an environment.
pub const RESERVED: &[&str] = &[
    "affected",
    "check",
    "envs",
    "stacks",
    "atlantis",
    "completions",
    "diff",
    "graph",
    "help",
    "providers",
];

/// Checks `name` before it is used to build any path, so `../prd` never reaches the file system.
pub fn validate(name: &str) -> Result<(), Error> {
    let reason = if name.is_empty() {
        Some("the name is empty")
    } else if !name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        Some("it must start with a letter or digit")
    } else if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'))
    {
        Some("only letters, digits, `_`, `.` and `-` are allowed")
    } else if name.contains("..") {
        Some("it must not contain `..`")
    } else if RESERVED.contains(&name) {
        Some("it is a tfw subcommand")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::InvalidEnvName {
            name: name.to_string(),
            reason,
        }),
        None => Ok(()),
    }
}

/// The known name closest to `name`, when it is close enough to be a likely typo.
pub fn suggest<'a>(name: &str, known: impl IntoIterator<Item = &'a str>) -> Option<String> {
    known
        .into_iter()
        // Case counts for nothing: `PRD` is `prd` typed with caps lock on.
        .map(|candidate| {
            let distance =
                strsim::damerau_levenshtein(&name.to_lowercase(), &candidate.to_lowercase());
            (distance, candidate)
        })
        .filter(|(distance, candidate)| *distance <= (name.len().max(candidate.len()) / 3).max(1))
        .min()
        .map(|(_, candidate)| candidate.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_and_invalid_names() {
        for ok in ["stg", "prd", "dev1", "stg.eu", "a_b-c", "1"] {
            assert!(validate(ok).is_ok(), "{ok}");
        }
        for bad in [
            "", "../prd", "a..b", ".hidden", "-x", "a/b", "stg env", "é", "check", "help",
        ] {
            assert!(validate(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn suggestion_picks_closest_typo() {
        let known = ["dev", "prd", "stg"];
        assert_eq!(suggest("prod", known).as_deref(), Some("prd"));
        assert_eq!(suggest("stag", known).as_deref(), Some("stg"));
        assert_eq!(suggest("sgt", known).as_deref(), Some("stg"));
        assert_eq!(suggest("production", known), None);
        assert_eq!(suggest("qa", known), None);
        assert_eq!(suggest("PRD", known).as_deref(), Some("prd"));
        assert_eq!(suggest("Stg", known).as_deref(), Some("stg"));
    }
}
