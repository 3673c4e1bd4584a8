//! The `systemtask` search command: options and allowlist resolved at getinfo, then the engine
//! for every chunk. Also the local mode, which feeds files through the same engine.

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::allowlist::{self, Allowlist, AllowlistError, Date};
use crate::engine::{ChunkStats, Engine, Scratch};
use crate::error::CsvError;
use crate::options::{AllowlistChoice, DEFAULT_ALLOWLIST, OptionError, Options, SITE_ALLOWLIST};
use crate::protocol::{Command, Level, Message, Processed, SearchInfo};
use crate::record::Spliced;

/// Where the allowlist comes from when the command runs.
#[derive(Clone, Debug)]
pub enum AllowlistSource {
    /// Inside Splunk (and local runs from inside the app): files in the app's `lookups/`
    /// directory (`None` when the executable is not inside an app).
    AppLookups(Option<PathBuf>),
    /// Local mode: an explicit path chosen by the person running it.
    Path(PathBuf),
}

/// Why a search cannot start: an argument, or the allowlist it names. The message is what the
/// user sees.
#[derive(Debug, Error)]
pub enum SetupError {
    #[error(transparent)]
    Options(#[from] OptionError),
    #[error(transparent)]
    Allowlist(#[from] AllowlistError),
}

/// Builds the engine from options; warnings go to the user, errors end the search.
///
/// Inside Splunk the default is two lists read together: the shipped one
/// (`systemtask_allowlist.csv`, ours, replaced by every upgrade) and the site's own
/// (`systemtask_allowlist_site.csv`, which the app never ships, so no upgrade or deployer push
/// overwrites it), labelled `shipped:` and `site:` in `systemtask_suppressed_by`.
pub fn build_engine(options: Options, source: &AllowlistSource) -> Result<(Engine, Vec<Message>), AllowlistError> {
    let mut messages = Vec::new();
    let today = Date::today();
    let mut list = Allowlist::default();
    let mut any = true;
    match (&options.allowlist, source) {
        (AllowlistChoice::None, _) => any = false,
        (AllowlistChoice::Default, AllowlistSource::Path(p)) => list.add_file(p, None, today)?,
        (AllowlistChoice::Named(name), AllowlistSource::Path(p)) => {
            let path = p.parent().unwrap_or(Path::new(".")).join(name);
            list.add_file(&path, None, today)?
        }
        (AllowlistChoice::Default, AllowlistSource::AppLookups(Some(dir))) => {
            let shipped = allowlist::resolve_in(dir, DEFAULT_ALLOWLIST)?;
            list.add_file(&shipped, Some("shipped"), today)?;
            // The site's list is optional: a site that has not written one has none.
            if dir.join(SITE_ALLOWLIST).exists() {
                let site = allowlist::resolve_in(dir, SITE_ALLOWLIST)?;
                list.add_file(&site, Some("site"), today)?;
            }
        }
        (AllowlistChoice::Named(name), AllowlistSource::AppLookups(Some(dir))) => {
            let path = allowlist::resolve_in(dir, name)?;
            list.add_file(&path, Some(name), today)?;
        }
        (AllowlistChoice::Default, AllowlistSource::AppLookups(None)) => {
            messages.push(Message::new(
                Level::Warn,
                "systemtask: no app lookups directory next to the executable; suppression is off",
            ));
            any = false;
        }
        (AllowlistChoice::Named(n), AllowlistSource::AppLookups(None)) => {
            return Err(AllowlistError::NoLookupsDirectory { name: n.clone() });
        }
    }
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
    Ok((Engine::new(options.mode, any.then_some(list), options.fields), messages))
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
    type Error = SetupError;

    fn configure(&mut self, info: &SearchInfo) -> Result<Vec<Message>, SetupError> {
        let options = Options::from_args(&info.args)?;
        let (engine, messages) = build_engine(options, &self.source)?;
        self.engine = Some(engine);
        Ok(messages)
    }

    fn process(&mut self, body: &[u8], out: &mut Spliced) -> Result<Processed, CsvError> {
        let Some(engine) = &self.engine else { return Ok(Processed::default()) };
        let stats = engine.process(body, out, &mut self.scratch)?;
        Ok(processed(stats))
    }

    fn process_arriving(
        &mut self,
        body: &mut [u8],
        input: &mut dyn std::io::Read,
        out: &mut Spliced,
    ) -> Result<Processed, CsvError> {
        let Some(engine) = &self.engine else { return Ok(Processed::default()) };
        let stats = engine.process_arriving(body, input, out, &mut self.scratch)?;
        Ok(processed(stats))
    }
}

/// What a chunk's counts tell Splunk: the records written, and a warning for events that could
/// not be analysed.
fn processed(stats: ChunkStats) -> Processed {
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
    Processed { records: stats.records_out, messages }
}
