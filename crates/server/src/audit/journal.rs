//! The journal files: `journal-N.jsonl` segments, appended whole lines at a time under one
//! lock, so a segment always ends with a complete line (a failed append is cut off again).
//! Segment numbers only grow; a segment is deleted once it is wholly imported.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// The segment being appended to.
#[derive(Debug)]
struct Segment {
    number: u64,
    file: File,
    /// Bytes written so far: always the end of a complete line.
    written: u64,
}

#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    current: Mutex<Segment>,
}

impl Journal {
    /// Starts a new, empty segment `number`.
    pub fn create(dir: &Path, number: u64) -> io::Result<Journal> {
        let file = create_segment(dir, number)?;
        Ok(Journal { dir: dir.to_path_buf(), current: Mutex::new(Segment { number, file, written: 0 }) })
    }

    /// Appends one or more complete lines with a single write. A page-cache write takes
    /// microseconds, so request tasks call it directly.
    pub fn append(&self, lines: &[u8]) -> io::Result<()> {
        let mut segment = self.current.lock().map_err(|_| io::Error::other("the journal lock is poisoned"))?;
        match segment.file.write_all(lines) {
            Ok(()) => {
                segment.written += lines.len() as u64;
                Ok(())
            }
            Err(error) => {
                // Cut a partial line off, so the next append starts a line of its own.
                let written = segment.written;
                let _ = segment.file.set_len(written);
                let _ = segment.file.seek(SeekFrom::Start(written));
                Err(error)
            }
        }
    }

    /// The segment being written and how far.
    pub fn position(&self) -> io::Result<(u64, u64)> {
        let segment = self.current.lock().map_err(|_| io::Error::other("the journal lock is poisoned"))?;
        Ok((segment.number, segment.written))
    }

    /// Moves appends to a new segment; returns the old one's number and final length.
    pub fn rotate(&self) -> io::Result<(u64, u64)> {
        let mut segment = self.current.lock().map_err(|_| io::Error::other("the journal lock is poisoned"))?;
        let next = segment.number + 1;
        let file = create_segment(&self.dir, next)?;
        let old = std::mem::replace(&mut *segment, Segment { number: next, file, written: 0 });
        Ok((old.number, old.written))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
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

/// The complete lines of segment `number` from byte `from` up to at most `to`.
pub fn read_lines(dir: &Path, number: u64, from: u64, to: u64) -> io::Result<Vec<u8>> {
    let mut file = File::open(segment_path(dir, number))?;
    file.seek(SeekFrom::Start(from))?;
    let mut bytes = Vec::new();
    file.take(to.saturating_sub(from)).read_to_end(&mut bytes)?;
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
        assert_eq!(journal.position().unwrap(), (3, 16));
        assert_eq!(journal.rotate().unwrap(), (3, 16));
        journal.append(b"{\"c\":3}\n").unwrap();
        assert_eq!(segments(&dir).unwrap(), vec![3, 4]);
        assert_eq!(read_lines(&dir, 3, 8, 16).unwrap(), b"{\"b\":2}\n");
        // A torn tail (a crash of the writer's disk, not of Homeport) is left for later.
        std::fs::write(segment_path(&dir, 5), b"{\"d\":4}\n{\"e\"").unwrap();
        assert_eq!(read_lines(&dir, 5, 0, 100).unwrap(), b"{\"d\":4}\n");
        assert!(Journal::create(&dir, 4).is_err(), "a segment is never reopened");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
