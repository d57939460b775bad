//! The op log: an append-only file of sealed envelopes per space, the ground truth on disk.
//!
//! Every append is written and `fdatasync`ed before it returns, so an acknowledged write
//! survives a kill and a power loss (sled's own flush is not an fsync; sled only holds derived
//! state here). A frame is `len: u32 LE | check: 4 bytes of SHA-256 | bytes`. Opening scans the
//! log: a torn last frame (a crash mid-write) is cut off; a damaged frame with valid data after
//! it is reported with its offset, and the frames before it stay readable.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::engine::private;

/// Largest frame accepted: an envelope is at most this big.
pub const MAX_FRAME: usize = 80 * 1024;
const HEADER: usize = 8;

/// Why the op log could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum OpLogError {
    #[error("the disk is full: the change was not saved ({path})")]
    DiskFull { path: PathBuf },
    #[error("the op log {path} is damaged at byte {offset}; {valid} earlier changes are intact")]
    Damaged {
        path: PathBuf,
        offset: u64,
        valid: usize,
    },
    #[error("entry of {len} bytes exceeds the limit of {max}")]
    TooLarge { len: usize, max: usize },
    #[error("cannot access the op log {path}: {source}")]
    Io { path: PathBuf, source: io::Error },
}

/// What opening a log found.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// Bytes of a torn last frame that were cut off.
    pub torn_tail_bytes: u64,
}

/// An open op log.
#[derive(Debug)]
pub struct OpLog {
    path: PathBuf,
    file: File,
    len: u64,
}

fn check(bytes: &[u8]) -> [u8; 4] {
    let digest = Sha256::digest(bytes);
    [digest[0], digest[1], digest[2], digest[3]]
}

fn is_disk_full(e: &io::Error) -> bool {
    e.raw_os_error() == Some(28) // ENOSPC
}

impl OpLog {
    /// Opens (creating if missing) the log at `path`, returning every intact entry in order.
    pub fn open(path: &Path) -> Result<(OpLog, Vec<Vec<u8>>, Recovery), OpLogError> {
        let io_err = |source| OpLogError::Io {
            path: path.to_owned(),
            source,
        };
        // Created 0600, never through a planted link (see `private`).
        let mut file = private::open(
            path,
            private::options().read(true).append(true).create(true),
        )
        .map_err(io_err)?;
        let mut data = Vec::new();
        file.read_to_end(&mut data).map_err(io_err)?;
        let (entries, valid_len) = scan(&data);
        let mut recovery = Recovery::default();
        if valid_len < data.len() {
            // Anything that parses after the bad spot means real damage, not a torn write.
            if has_valid_frame_after(&data, valid_len) {
                return Err(OpLogError::Damaged {
                    path: path.to_owned(),
                    offset: valid_len as u64,
                    valid: entries.len(),
                });
            }
            recovery.torn_tail_bytes = (data.len() - valid_len) as u64;
            file.set_len(valid_len as u64).map_err(io_err)?;
            file.sync_all().map_err(io_err)?;
        }
        file.seek(SeekFrom::End(0)).map_err(io_err)?;
        let log = OpLog {
            path: path.to_owned(),
            file,
            len: valid_len as u64,
        };
        Ok((log, entries, recovery))
    }

    /// Reads the intact entries before any damage, for salvage after [`OpLogError::Damaged`].
    pub fn read_intact_prefix(path: &Path) -> Result<Vec<Vec<u8>>, OpLogError> {
        let data = private::read(path).map_err(|source| OpLogError::Io {
            path: path.to_owned(),
            source,
        })?;
        Ok(scan(&data).0)
    }

    /// Appends one entry and makes it durable (`fdatasync`) before returning its offset.
    pub fn append(&mut self, bytes: &[u8]) -> Result<u64, OpLogError> {
        self.append_batch(&[bytes])
    }

    /// Appends entries and makes them durable with one `fdatasync`; returns the offset of the
    /// first. All or nothing: on an error no partial frame is left behind.
    pub fn append_batch<B: AsRef<[u8]>>(&mut self, entries: &[B]) -> Result<u64, OpLogError> {
        let mut frames = Vec::new();
        for bytes in entries {
            let bytes = bytes.as_ref();
            if bytes.len() > MAX_FRAME {
                return Err(OpLogError::TooLarge {
                    len: bytes.len(),
                    max: MAX_FRAME,
                });
            }
            frames.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            frames.extend_from_slice(&check(bytes));
            frames.extend_from_slice(bytes);
        }
        let offset = self.len;
        let written = self
            .file
            .write_all(&frames)
            .and_then(|()| self.file.sync_data());
        if let Err(e) = written {
            // Leave no partial frame behind, so later appends stay readable.
            let _ = self.file.set_len(offset);
            let _ = self.file.seek(SeekFrom::End(0));
            return Err(if is_disk_full(&e) {
                OpLogError::DiskFull {
                    path: self.path.clone(),
                }
            } else {
                OpLogError::Io {
                    path: self.path.clone(),
                    source: e,
                }
            });
        }
        self.len += frames.len() as u64;
        Ok(offset)
    }

    /// Replaces the log at `path` by `entries`, all or nothing: they are written to a fresh
    /// file beside it and made durable, which then takes the log's place (a crash leaves
    /// either the old log or the new one, never a mix). Returns the new log, open to append.
    pub fn rewrite(path: &Path, entries: &[Vec<u8>]) -> Result<OpLog, OpLogError> {
        let io_err = |source| OpLogError::Io {
            path: path.to_owned(),
            source,
        };
        let fresh = path.with_extension("log.rewrite");
        match std::fs::remove_file(&fresh) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(io_err(e)),
            _ => {}
        }
        let (mut log, _, _) = OpLog::open(&fresh)?;
        log.append_batch(entries)?;
        std::fs::rename(&fresh, path).map_err(io_err)?;
        if let Some(dir) = path.parent() {
            File::open(dir).and_then(|d| d.sync_all()).map_err(io_err)?;
        }
        log.path = path.to_owned();
        Ok(log)
    }

    /// Bytes of intact log.
    pub fn len(&self) -> u64 {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Parses frames from the start; returns them and the length of the intact prefix.
fn scan(data: &[u8]) -> (Vec<Vec<u8>>, usize) {
    let mut entries = Vec::new();
    let mut at = 0;
    while let Some(len) = frame_at(data, at) {
        entries.push(data[at + HEADER..at + HEADER + len].to_vec());
        at += HEADER + len;
    }
    (entries, at)
}

/// The payload length of an intact frame starting at `at`, if there is one.
fn frame_at(data: &[u8], at: usize) -> Option<usize> {
    let header = data.get(at..at.checked_add(HEADER)?)?;
    let len = u32::from_le_bytes([header[0], header[1], header[2], header[3]]) as usize;
    if len == 0 || len > MAX_FRAME {
        return None;
    }
    let body = data.get(at + HEADER..(at + HEADER).checked_add(len)?)?;
    (check(body) == header[4..8]).then_some(len)
}

fn has_valid_frame_after(data: &[u8], from: usize) -> bool {
    (from + 1..data.len().saturating_sub(HEADER)).any(|at| frame_at(data, at).is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir =
            std::env::temp_dir().join(format!("krizlink-oplog-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn appends_survive_reopen() {
        let path = temp_dir("reopen").join("s.log");
        let (mut log, entries, _) = OpLog::open(&path).unwrap();
        assert!(entries.is_empty());
        log.append(b"first").unwrap();
        log.append(b"second").unwrap();
        drop(log);
        let (log, entries, rec) = OpLog::open(&path).unwrap();
        assert_eq!(entries, vec![b"first".to_vec(), b"second".to_vec()]);
        assert_eq!(rec, Recovery::default());
        assert_eq!(log.len(), 2 * HEADER as u64 + 11);
    }

    #[test]
    fn a_rewrite_replaces_the_whole_log_and_appends_after_it() {
        let dir = temp_dir("rewrite");
        let path = dir.join("s.log");
        let (mut log, _, _) = OpLog::open(&path).unwrap();
        log.append(b"one").unwrap();
        log.append(b"two").unwrap();
        // A rewrite that a crash interrupted earlier left its file behind: it is started afresh.
        std::fs::write(dir.join("s.log.rewrite"), b"stale half").unwrap();
        let mut log = OpLog::rewrite(&path, &[b"one".to_vec(), b"TWO".to_vec()]).unwrap();
        log.append(b"three").unwrap();
        drop(log);
        let (_, entries, rec) = OpLog::open(&path).unwrap();
        assert_eq!(
            entries,
            vec![b"one".to_vec(), b"TWO".to_vec(), b"three".to_vec()]
        );
        assert_eq!(rec, Recovery::default());
        assert!(!dir.join("s.log.rewrite").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_torn_tail_is_cut_and_earlier_entries_kept() {
        let path = temp_dir("torn").join("s.log");
        let (mut log, _, _) = OpLog::open(&path).unwrap();
        log.append(b"kept").unwrap();
        log.append(b"torn away").unwrap();
        drop(log);
        let full = std::fs::metadata(&path).unwrap().len();
        let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
        f.set_len(full - 3).unwrap();
        let (mut log, entries, rec) = OpLog::open(&path).unwrap();
        assert_eq!(entries, vec![b"kept".to_vec()]);
        assert_eq!(rec.torn_tail_bytes, (HEADER + 9 - 3) as u64);
        log.append(b"after").unwrap();
        drop(log);
        assert_eq!(
            OpLog::open(&path).unwrap().1,
            vec![b"kept".to_vec(), b"after".to_vec()]
        );
    }

    #[test]
    fn damage_in_the_middle_is_reported_not_hidden() {
        let path = temp_dir("damaged").join("s.log");
        let (mut log, _, _) = OpLog::open(&path).unwrap();
        for i in 0..5u8 {
            log.append(&[i; 40]).unwrap();
        }
        drop(log);
        let mut data = std::fs::read(&path).unwrap();
        data[2 * (HEADER + 40) + HEADER + 5] ^= 0xff; // inside the third entry
        std::fs::write(&path, &data).unwrap();
        match OpLog::open(&path) {
            Err(OpLogError::Damaged { offset, valid, .. }) => {
                assert_eq!(offset, 2 * (HEADER as u64 + 40));
                assert_eq!(valid, 2);
            }
            other => panic!("expected damage, got {other:?}"),
        }
        assert_eq!(OpLog::read_intact_prefix(&path).unwrap().len(), 2);
        // The damaged file is left as it was, for an administrator to look at.
        assert_eq!(std::fs::read(&path).unwrap(), data);
    }

    #[test]
    fn garbage_never_panics() {
        let dir = temp_dir("garbage");
        for n in 0..200u32 {
            let path = dir.join(format!("{n}.log"));
            let mut bytes = Vec::new();
            let mut x = n.wrapping_mul(2_654_435_761) | 1;
            for _ in 0..(n * 7 % 300) {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                bytes.push(x as u8);
            }
            std::fs::write(&path, &bytes).unwrap();
            let _ = OpLog::open(&path);
        }
    }
}
