//! Finding the files to read under the paths a user names: the one folder walker, shared by the
//! modular input and `hunt`.
//!
//! - Only regular files are returned. A FIFO, socket or device (named `*.evtx` or not) would
//!   block or never end a read: it is skipped with a warning.
//! - Links are followed (case folders are often assembled from links), but a folder is entered
//!   once: folders are identified by their canonical path, so a link back to an ancestor (a
//!   cycle) or a second link to the same folder is reported, not walked again.
//! - Folders that cannot be read are reported and skipped; the walk goes on.
//! - The result is sorted, so runs and reports are in a stable order.

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};

/// The outcome of a walk: the files, and what was passed over and why.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Walk {
    pub files: Vec<PathBuf>,
    pub warnings: Vec<String>,
}

/// Which files a walk returns.
#[derive(Clone, Copy, Debug)]
pub struct Filter<'a> {
    /// Descend into subfolders of a named folder.
    pub recursive: bool,
    /// File name endings (without the dot, any case) wanted inside folders. A path named
    /// directly is returned whatever its ending, if it is a regular file.
    pub extensions: &'a [&'a str],
}

/// Walks `roots` (files or folders).
pub fn walk(roots: &[PathBuf], filter: Filter<'_>) -> Walk {
    let mut walk = Walk::default();
    let mut seen_dirs: HashSet<PathBuf> = HashSet::new();
    for root in roots {
        match fs::metadata(root) {
            Ok(meta) if meta.is_dir() => walk_dir(root, filter, &mut seen_dirs, &mut walk),
            Ok(meta) if meta.is_file() => walk.files.push(root.clone()),
            Ok(_) => walk
                .warnings
                .push(format!("{}: not a regular file or folder (FIFO, socket or device): skipped", root.display())),
            Err(e) => walk.warnings.push(format!("{}: {e}", root.display())),
        }
    }
    walk.files.sort();
    walk.files.dedup();
    walk
}

fn walk_dir(root: &Path, filter: Filter<'_>, seen: &mut HashSet<PathBuf>, walk: &mut Walk) {
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        match fs::canonicalize(&dir) {
            Ok(canonical) => {
                if !seen.insert(canonical.clone()) {
                    walk.warnings.push(format!(
                        "{}: folder already walked (as {}): a link cycle or a second link to it; not walked again",
                        dir.display(),
                        canonical.display()
                    ));
                    continue;
                }
            }
            Err(e) => {
                walk.warnings.push(format!("{}: {e}", dir.display()));
                continue;
            }
        }
        let entries = match fs::read_dir(&dir) {
            Ok(entries) => entries,
            Err(e) => {
                walk.warnings.push(format!("{}: cannot list the folder: {e}", dir.display()));
                continue;
            }
        };
        for entry in entries {
            let entry = match entry {
                Ok(entry) => entry,
                Err(e) => {
                    walk.warnings.push(format!("{}: {e}", dir.display()));
                    continue;
                }
            };
            let path = entry.path();
            // `fs::metadata` follows links: a link is judged by what it points at.
            let meta = match fs::metadata(&path) {
                Ok(meta) => meta,
                Err(e) => {
                    walk.warnings.push(format!("{}: {e}", path.display()));
                    continue;
                }
            };
            if meta.is_dir() {
                if filter.recursive {
                    pending.push(path);
                }
                continue;
            }
            let wanted = path
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| filter.extensions.iter().any(|w| w.eq_ignore_ascii_case(e)));
            if !wanted {
                continue;
            }
            if meta.is_file() {
                walk.files.push(path);
            } else {
                walk.warnings.push(format!("{}: not a regular file (FIFO, socket or device): skipped", path.display()));
            }
        }
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    const EVTX: Filter<'static> = Filter { recursive: true, extensions: &["evtx"] };

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("systemtask-walk-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn cycles_fifos_and_other_files() {
        let dir = temp("cycle");
        fs::create_dir_all(dir.join("a/b")).unwrap();
        fs::write(dir.join("a/one.evtx"), b"x").unwrap();
        fs::write(dir.join("a/b/Two.EVTX"), b"x").unwrap();
        fs::write(dir.join("a/notes.txt"), b"x").unwrap();
        // A link from deep inside back to the top: a cycle.
        std::os::unix::fs::symlink(&dir, dir.join("a/b/up")).unwrap();
        let fifo = dir.join("a/pipe.evtx");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().is_ok_and(|s| s.success());

        let w = walk(std::slice::from_ref(&dir), EVTX);
        assert_eq!(w.files, [dir.join("a/b/Two.EVTX"), dir.join("a/one.evtx")]);
        assert!(w.warnings.iter().any(|m| m.contains("already walked")), "{:?}", w.warnings);
        if made {
            assert!(w.warnings.iter().any(|m| m.contains("pipe.evtx") && m.contains("FIFO")), "{:?}", w.warnings);
            // Named directly, a FIFO is refused too.
            let direct = walk(std::slice::from_ref(&fifo), EVTX);
            assert!(direct.files.is_empty() && direct.warnings.len() == 1, "{direct:?}");
        }
        let flat = walk(std::slice::from_ref(&dir.join("a")), Filter { recursive: false, ..EVTX });
        assert_eq!(flat.files, [dir.join("a/one.evtx")]);
        fs::remove_dir_all(&dir).unwrap();
    }
}
