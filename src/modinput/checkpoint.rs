//! One checkpoint per EVTX file in the input's `checkpoint_dir`: the last record sent, by
//! identity (see [`Anchor`]), not only by number.
//!
//! Written atomically: the new state goes to a temporary file in the same directory, is synced
//! to disk, then renamed over the old one (a rename within a directory is atomic on POSIX), and
//! the directory is synced. A checkpoint is written only after the events it covers were
//! flushed to splunkd, so a run killed at any moment loses nothing; it re-sends at most the
//! events flushed after the last checkpoint ([`crate::evtxfile::BATCH`] records).

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A checkpoint that exists but cannot be read.
#[derive(Debug, Error)]
pub enum CheckpointError {
    #[error("checkpoint {path} is unreadable: {source}")]
    Unreadable { path: String, source: serde_json::Error },
    #[error("checkpoint {path}: {source}")]
    Io { path: String, source: io::Error },
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The EVTX file, for people reading the directory.
    pub file: String,
    /// The highest EventRecordID sent; records up to it are never sent again, as long as the
    /// file still holds the record [`Checkpoint::anchor`] describes.
    pub last_record_id: u64,
    /// How many records were sent from this file, over all runs.
    pub records_sent: u64,
    /// The record `last_record_id` names, as it was when sent. Absent in checkpoints written
    /// before it existed: those cannot be verified, so they are not trusted.
    #[serde(default)]
    pub anchor: Option<Anchor>,
    /// The file's first record when the checkpoint was written: a file whose first record is
    /// still this one is the same log, even when it ends before `anchor` (a truncated copy).
    #[serde(default)]
    pub first: Option<Anchor>,
}

/// What makes a file the same file, for a checkpoint: it still holds the last record the
/// checkpoint covers, with the same `EventRecordID`, `TimeCreated`, `Computer` and `Channel`.
/// A log that grows or wraps around keeps that record or moves past it (record IDs only grow
/// within a log); a log cleared and collected again, another file copied over this one, a
/// truncated file or a checkpoint copied from another file does not hold it. Rejected
/// alternatives: the device and inode change when a collector copies the same file again and
/// mean little on Windows or network shares; a hash of the header or first chunk changes with
/// every record appended or every wrap.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    pub record_id: u64,
    pub time_ms: i64,
    pub computer: String,
    pub channel: String,
}

pub struct Store {
    dir: PathBuf,
}

impl Store {
    pub fn new(dir: &Path) -> io::Result<Store> {
        fs::create_dir_all(dir)?;
        Ok(Store { dir: dir.to_path_buf() })
    }

    fn path_for(&self, evtx: &Path) -> PathBuf {
        let full = evtx.canonicalize().unwrap_or_else(|_| evtx.to_path_buf());
        let full = full.to_string_lossy();
        let base: String = evtx
            .file_name()
            .map(|n| {
                n.to_string_lossy()
                    .chars()
                    .map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' })
                    .take(80)
                    .collect()
            })
            .unwrap_or_default();
        // FNV-1a of the full path: one checkpoint per file even when names repeat in folders.
        let hash =
            full.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3));
        self.dir.join(format!("{base}-{hash:016x}.json"))
    }

    /// The checkpoint of a file; `Ok(None)` when it has none yet. An unreadable checkpoint is an
    /// error the caller reports; it then re-reads the file from the start (duplicates, no loss).
    pub fn load(&self, evtx: &Path) -> Result<Option<Checkpoint>, CheckpointError> {
        let path = self.path_for(evtx);
        match fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|source| CheckpointError::Unreadable { path: path.display().to_string(), source }),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(CheckpointError::Io { path: path.display().to_string(), source }),
        }
    }

    /// Where a file's checkpoint lives (for messages).
    pub fn location(&self, evtx: &Path) -> PathBuf {
        self.path_for(evtx)
    }

    pub fn save(&self, evtx: &Path, checkpoint: &Checkpoint) -> io::Result<()> {
        let path = self.path_for(evtx);
        let tmp = path.with_extension("json.tmp");
        {
            let mut f = File::create(&tmp)?;
            f.write_all(&serde_json::to_vec(checkpoint).map_err(io::Error::other)?)?;
            f.sync_all()?;
        }
        // A rename replaces an existing file atomically (POSIX rename; MoveFileEx with
        // MOVEFILE_REPLACE_EXISTING on Windows, which std uses).
        fs::rename(&tmp, &path)?;
        sync_dir(&self.dir)
    }
}

/// Makes a rename in `dir` durable. Windows has no directory handle to sync: NTFS journals the
/// rename itself.
#[cfg(unix)]
fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_one_file_per_path() {
        let dir = std::env::temp_dir().join(format!("systemtask-ckpt-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let store = Store::new(&dir).unwrap();
        let a = Path::new("/x/a/Security.evtx");
        let b = Path::new("/x/b/Security.evtx");
        assert_eq!(store.load(a).unwrap(), None);
        let c = Checkpoint {
            file: a.display().to_string(),
            last_record_id: 42,
            records_sent: 40,
            anchor: None,
            first: None,
        };
        store.save(a, &c).unwrap();
        assert_eq!(store.load(a).unwrap(), Some(c));
        assert_eq!(store.load(b).unwrap(), None);
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1, "no temporary file left behind");
        fs::write(store.path_for(b), b"{broken").unwrap();
        let broken = store.load(b).unwrap_err();
        assert!(matches!(broken, CheckpointError::Unreadable { .. }) && broken.to_string().contains("unreadable"));
    }

    /// A second save replaces the first (a rename over an existing file: MoveFileEx with
    /// MOVEFILE_REPLACE_EXISTING on Windows), and leaves no temporary file.
    #[test]
    fn a_save_replaces_the_previous_checkpoint() {
        let dir = std::env::temp_dir().join(format!("systemtask-ckpt-replace-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let store = Store::new(&dir).unwrap();
        let evtx = dir.join("Security.evtx");
        for id in [7, 8, 9] {
            let c = Checkpoint { file: evtx.display().to_string(), last_record_id: id, ..Checkpoint::default() };
            store.save(&evtx, &c).unwrap();
            assert_eq!(store.load(&evtx).unwrap().map(|c| c.last_record_id), Some(id));
        }
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 1);
        let _ = fs::remove_dir_all(&dir);
    }

    /// Windows spellings of a case folder: drive letters, `\\?\` verbatim paths (what
    /// canonicalize returns) and UNC shares. Each gets its own checkpoint, named with characters
    /// NTFS accepts, in the checkpoint folder itself.
    #[cfg(windows)]
    #[test]
    fn windows_paths_get_distinct_valid_checkpoint_names() {
        let store = Store { dir: PathBuf::from(r"C:\Program Files\Splunk\var\lib\splunk\modinputs\systemtask_evtx") };
        let paths = [
            r"C:\Cases\42\Security.evtx",
            r"D:\Cases\42\Security.evtx",
            r"\\?\C:\Cases\43\Security.evtx",
            r"\\fileserver\ir$\case 42\Security.evtx",
            r"\\?\UNC\fileserver\ir$\case 43\Security.evtx",
        ];
        let names: Vec<PathBuf> = paths.iter().map(|p| store.path_for(Path::new(p))).collect();
        for (path, name) in paths.iter().zip(&names) {
            assert_eq!(name.parent(), Some(store.dir.as_path()), "{path}");
            let file = name.file_name().unwrap().to_str().unwrap();
            assert!(file.starts_with("Security.evtx-") && file.ends_with(".json"), "{path}: {file}");
            assert!(!file.contains([':', '\\', '/', '*', '?', '"', '<', '>', '|']), "{path}: {file}");
        }
        let distinct: std::collections::HashSet<_> = names.iter().collect();
        assert_eq!(distinct.len(), names.len());
    }
}
