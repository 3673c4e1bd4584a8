//! The command's options, as SPL `key=value` arguments (`| systemtask mode=alerts`) or as
//! flags of the local mode. One typed layer validates both.

use thiserror::Error;

use crate::event::{Field, FieldNames};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Mode {
    /// Tag every event; pass every event through.
    #[default]
    Tag,
    /// Pass on only events whose verdict is `alert`.
    Alerts,
}

/// Which allowlist to use.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum AllowlistChoice {
    /// The app's `lookups/systemtask_allowlist.csv`.
    #[default]
    Default,
    /// Another file in the app's `lookups/` directory.
    Named(String),
    /// Suppression off.
    None,
}

#[derive(Clone, Debug, Default)]
pub struct Options {
    pub mode: Mode,
    pub allowlist: AllowlistChoice,
    pub fields: FieldNames,
}

/// The shipped allowlist: ours, replaced by every upgrade.
pub const DEFAULT_ALLOWLIST: &str = "systemtask_allowlist.csv";
/// The site's allowlist: never in the tarball, so upgrades keep it.
pub const SITE_ALLOWLIST: &str = "systemtask_allowlist_site.csv";

/// A search argument the command refuses, named in the message the user sees.
#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum OptionError {
    #[error("Malformed argument {0:?}: expected key=value (see | help systemtask)")]
    Malformed(String),
    #[error("Option {0:?} given twice")]
    Repeated(String),
    #[error("Invalid value for mode: {0:?} (expected tag or alerts)")]
    Mode(String),
    #[error("Invalid value for allowlist: empty (give a lookup file name or none)")]
    EmptyAllowlist,
    #[error("Invalid value for allowlist: {0:?} must be a file name in the app's lookups directory")]
    AllowlistNotAFileName(String),
    #[error("Invalid field name for {key}: {value:?}")]
    FieldName { key: String, value: String },
    #[error("Unrecognized option: {0}")]
    Unrecognized(String),
}

impl Options {
    /// Parses SPL arguments. The error names the offending argument.
    pub fn from_args<S: AsRef<str>>(args: &[S]) -> Result<Options, OptionError> {
        let mut options = Options::default();
        let mut seen: Vec<String> = Vec::new();
        for arg in args {
            let arg = arg.as_ref();
            let Some((key, value)) = arg.split_once('=') else {
                return Err(OptionError::Malformed(arg.to_string()));
            };
            let key = key.trim();
            if seen.iter().any(|k| k == key) {
                return Err(OptionError::Repeated(key.to_string()));
            }
            seen.push(key.to_string());
            match key {
                "mode" => {
                    options.mode = match value {
                        "tag" => Mode::Tag,
                        "alerts" => Mode::Alerts,
                        _ => return Err(OptionError::Mode(value.to_string())),
                    }
                }
                "allowlist" => options.allowlist = parse_allowlist(value)?,
                _ => {
                    let field = key.strip_suffix("_field").and_then(Field::from_key).filter(|f| *f != Field::Raw);
                    match field {
                        Some(field) if valid_field_name(value) => options.fields.set_override(field, value.to_string()),
                        Some(_) => {
                            return Err(OptionError::FieldName { key: key.to_string(), value: value.to_string() });
                        }
                        None => return Err(OptionError::Unrecognized(arg.to_string())),
                    }
                }
            }
        }
        Ok(options)
    }
}

fn valid_field_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_control() || c == '"')
}

/// An allowlist name must be a plain file name inside the app's `lookups/` directory.
fn parse_allowlist(value: &str) -> Result<AllowlistChoice, OptionError> {
    match value {
        "none" => Ok(AllowlistChoice::None),
        "" => Err(OptionError::EmptyAllowlist),
        v if !crate::allowlist::is_file_name(v) => Err(OptionError::AllowlistNotAFileName(v.to_string())),
        v => Ok(AllowlistChoice::Named(v.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_of_arguments() {
        let ok: &[(&[&str], Mode, AllowlistChoice)] = &[
            (&[], Mode::Tag, AllowlistChoice::Default),
            (&["mode=alerts"], Mode::Alerts, AllowlistChoice::Default),
            (&["mode=tag", "allowlist=none"], Mode::Tag, AllowlistChoice::None),
            (&["allowlist=custom.csv"], Mode::Tag, AllowlistChoice::Named("custom.csv".into())),
            (&["command_line_field=process"], Mode::Tag, AllowlistChoice::Default),
        ];
        for (args, mode, allowlist) in ok {
            let o = Options::from_args(args).unwrap();
            assert_eq!((o.mode, &o.allowlist), (*mode, allowlist), "{args:?}");
        }
        let bad: &[(&[&str], &str)] = &[
            (&["bogus=1"], "Unrecognized option: bogus=1"),
            (&["mode=filter"], "Invalid value for mode: \"filter\""),
            (&["mode"], "Malformed argument \"mode\""),
            (&["mode=tag", "mode=alerts"], "given twice"),
            (&["allowlist=../../etc/passwd"], "must be a file name"),
            (&["allowlist=/etc/passwd"], "must be a file name"),
            (&["allowlist=..\\x.csv"], "must be a file name"),
            (&["allowlist=.."], "must be a file name"),
            (&["allowlist="], "empty"),
            (&["raw_field=x"], "Unrecognized option: raw_field=x"),
            (&["command_line_field="], "Invalid field name"),
        ];
        for (args, want) in bad {
            let err = Options::from_args(args).unwrap_err().to_string();
            assert!(err.contains(want), "{args:?}: {err}");
        }
    }
}
