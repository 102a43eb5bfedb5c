//! The journal files: `journal-N.jsonl` segments of JSON lines. Segment numbers only grow; a
//! segment is deleted once it is wholly imported.
//!
//! Appends take no lock of ours: each is one write(2) to a file opened `O_APPEND`, which the
//! kernel places atomically after every earlier write, so concurrent requests never wait on
//! each other's system calls (a mutex here cost more in sleeps and wake-ups than the writes).
//! A record whose write fails is not acknowledged; should a write stop short, the next append
//! starts a new line first, so a torn record never swallows an acknowledged one. Readers take
//! complete lines only, since the newline is the last byte of a record to reach the file.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// The segment being appended to.
#[derive(Debug)]
struct Segment {
    number: u64,
    file: File,
}

#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    /// Appends share it; only rotation takes it exclusively.
    current: RwLock<Segment>,
    /// A write stopped short: the next append starts a new line.
    torn: AtomicBool,
}

fn poisoned<T>(_: T) -> io::Error {
    io::Error::other("the journal lock is poisoned")
}

impl Journal {
    /// Starts a new, empty segment `number`.
    pub fn create(dir: &Path, number: u64) -> io::Result<Journal> {
        let file = create_segment(dir, number)?;
        Ok(Journal {
            dir: dir.to_path_buf(),
            current: RwLock::new(Segment { number, file }),
            torn: AtomicBool::new(false),
        })
    }

    /// Appends one or more complete lines with a single write. A page-cache write takes
    /// microseconds, so request tasks call it directly.
    pub fn append(&self, lines: &[u8]) -> io::Result<()> {
        let segment = self.current.read().map_err(poisoned)?;
        let mut file = &segment.file;
        if self.torn.swap(false, Ordering::Relaxed) {
            file.write_all(b"\n")?;
        }
        match file.write(lines) {
            Ok(written) if written == lines.len() => Ok(()),
            Ok(_) => {
                self.torn.store(true, Ordering::Relaxed);
                Err(io::Error::new(io::ErrorKind::WriteZero, "the audit journal took part of a record"))
            }
            Err(error) => {
                self.torn.store(true, Ordering::Relaxed);
                Err(error)
            }
        }
    }

    /// The number of the segment being written.
    pub fn current(&self) -> io::Result<u64> {
        Ok(self.current.read().map_err(poisoned)?.number)
    }

    /// Moves appends to a new segment, once every append to the old one has returned.
    pub fn rotate(&self) -> io::Result<()> {
        let mut segment = self.current.write().map_err(poisoned)?;
        let next = segment.number + 1;
        *segment = Segment { number: next, file: create_segment(&self.dir, next)? };
        Ok(())
    }
}

pub fn segment_path(dir: &Path, number: u64) -> PathBuf {
    dir.join(format!("journal-{number}.jsonl"))
}

fn create_segment(dir: &Path, number: u64) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.append(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(segment_path(dir, number))
}

/// The numbers of the segments in `dir`, ascending.
pub fn segments(dir: &Path) -> io::Result<Vec<u64>> {
    let mut numbers: Vec<u64> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().into_string().ok()?;
            name.strip_prefix("journal-")?.strip_suffix(".jsonl")?.parse().ok()
        })
        .collect();
    numbers.sort_unstable();
    Ok(numbers)
}

/// The complete lines of segment `number` from byte `from` on.
pub fn read_lines(dir: &Path, number: u64, from: u64) -> io::Result<Vec<u8>> {
    let mut file = File::open(segment_path(dir, number))?;
    file.seek(SeekFrom::Start(from))?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    let complete = bytes.iter().rposition(|byte| *byte == b'\n').map_or(0, |last| last + 1);
    bytes.truncate(complete);
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appends_rotate_and_read_back_whole_lines() {
        let dir = std::env::temp_dir().join(format!("homeport-journal-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let journal = Journal::create(&dir, 3).unwrap();
        journal.append(b"{\"a\":1}\n").unwrap();
        journal.append(b"{\"b\":2}\n").unwrap();
        journal.rotate().unwrap();
        assert_eq!(journal.current().unwrap(), 4);
        journal.append(b"{\"c\":3}\n").unwrap();
        assert_eq!(segments(&dir).unwrap(), vec![3, 4]);
        assert_eq!(read_lines(&dir, 3, 8).unwrap(), b"{\"b\":2}\n");
        assert_eq!(read_lines(&dir, 4, 0).unwrap(), b"{\"c\":3}\n");
        // A torn tail (a disk that filled up, not a crash of Homeport) is left for later.
        std::fs::write(segment_path(&dir, 5), b"{\"d\":4}\n{\"e\"").unwrap();
        assert_eq!(read_lines(&dir, 5, 0).unwrap(), b"{\"d\":4}\n");
        assert!(Journal::create(&dir, 4).is_err(), "a segment is never reopened");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn concurrent_appends_never_interleave() {
        let dir = std::env::temp_dir().join(format!("homeport-journal-threads-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let journal = std::sync::Arc::new(Journal::create(&dir, 1).unwrap());
        let writers: Vec<_> = (0..4)
            .map(|writer| {
                let journal = std::sync::Arc::clone(&journal);
                std::thread::spawn(move || {
                    for index in 0..2_000 {
                        let line = format!(
                            "{{\"writer\":{writer},\"index\":{index},\"pad\":\"{}\"}}\n",
                            "x".repeat(index % 300)
                        );
                        journal.append(line.as_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        let text = String::from_utf8(read_lines(&dir, 1, 0).unwrap()).unwrap();
        let mut next = [0_u64; 4];
        for line in text.lines() {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            let writer = value["writer"].as_u64().unwrap() as usize;
            assert_eq!(value["index"].as_u64().unwrap(), next[writer], "each writer's lines whole and in order");
            next[writer] += 1;
        }
        assert_eq!(next, [2_000; 4]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
