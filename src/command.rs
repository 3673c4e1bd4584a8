//! The `systemtask` search command: options and allowlist resolved at getinfo, then the engine
//! for every chunk. Also the local mode, which feeds files through the same engine.

use std::path::{Path, PathBuf};

use crate::allowlist::{self, Allowlist, Date};
use crate::engine::{Engine, Scratch};
use crate::error::CsvError;
use crate::options::{AllowlistChoice, DEFAULT_ALLOWLIST, Options};
use crate::protocol::{Command, Level, Message, Processed, SearchInfo};
use crate::record::Spliced;

/// Where the allowlist comes from when the command runs.
#[derive(Clone, Debug)]
pub enum AllowlistSource {
    /// Inside Splunk: files in the app's `lookups/` directory (`None` when the executable is
    /// not inside an app).
    AppLookups(Option<PathBuf>),
    /// Local mode: an explicit path chosen by the person running it.
    Path(PathBuf),
}

/// Builds the engine from options; warnings go to the user, errors end the search.
pub fn build_engine(options: Options, source: &AllowlistSource) -> Result<(Engine, Vec<Message>), String> {
    let mut messages = Vec::new();
    let path = match (&options.allowlist, source) {
        (AllowlistChoice::None, _) => None,
        (AllowlistChoice::Default, AllowlistSource::Path(p)) => Some(p.clone()),
        (AllowlistChoice::Named(name), AllowlistSource::Path(p)) => {
            Some(p.parent().unwrap_or(Path::new(".")).join(name))
        }
        (choice, AllowlistSource::AppLookups(Some(dir))) => {
            let name = match choice {
                AllowlistChoice::Named(n) => n.as_str(),
                _ => DEFAULT_ALLOWLIST,
            };
            Some(allowlist::resolve_in(dir, name)?)
        }
        (AllowlistChoice::Default, AllowlistSource::AppLookups(None)) => {
            messages.push(Message::new(
                Level::Warn,
                "systemtask: no app lookups directory next to the executable; suppression is off",
            ));
            None
        }
        (AllowlistChoice::Named(n), AllowlistSource::AppLookups(None)) => {
            return Err(format!("allowlist {n:?}: no app lookups directory next to the executable"));
        }
    };
    let allowlist = match path {
        Some(path) => {
            let list = Allowlist::load(&path, Date::today()).map_err(|e| e.to_string())?;
            if !list.expired.is_empty() {
                messages.push(Message::new(
                    Level::Warn,
                    format!(
                        "systemtask: {} expired allowlist entr{} ignored: {}",
                        list.expired.len(),
                        if list.expired.len() == 1 { "y" } else { "ies" },
                        list.expired.join(", ")
                    ),
                ));
            }
            Some(list)
        }
        None => None,
    };
    Ok((Engine::new(options.mode, allowlist, options.fields), messages))
}

/// The command as Splunk runs it.
pub struct SearchCommand {
    source: AllowlistSource,
    engine: Option<Engine>,
    scratch: Scratch,
}

impl SearchCommand {
    pub fn new(source: AllowlistSource) -> Self {
        SearchCommand { source, engine: None, scratch: Scratch::default() }
    }
}

impl Command for SearchCommand {
    fn configure(&mut self, info: &SearchInfo) -> Result<Vec<Message>, String> {
        let options = Options::from_args(&info.args)?;
        let (engine, messages) = build_engine(options, &self.source)?;
        self.engine = Some(engine);
        Ok(messages)
    }

    fn process(&mut self, body: &[u8], out: &mut Spliced) -> Result<Processed, CsvError> {
        let Some(engine) = &self.engine else { return Ok(Processed::default()) };
        let stats = engine.process(body, out, &mut self.scratch)?;
        let mut messages = Vec::new();
        if stats.errors > 0 {
            messages.push(Message::new(
                Level::Warn,
                format!(
                    "systemtask: {} of {} events in this chunk could not be analysed; they pass through with systemtask_verdict=error and the reason in systemtask_reasons",
                    stats.errors, stats.records_in
                ),
            ));
        }
        Ok(Processed { records: stats.records_out, messages })
    }
}
