//! The journal files: `journal-N.jsonl` segments of JSON lines. Segment numbers only grow; a
//! segment is never written again once rotated, and is deleted once wholly imported unless
//! the importer keeps it as the trail (embedded store).
//!
//! Lines are written in batches: [`Journal::enqueue`] adds a line to the batch of the calling
//! thread's stripe, and [`Journal::flush`] writes that batch with one write(2) unless another
//! caller already has; a batch's outcome is every one of its callers' outcome. Request tasks
//! enqueue, yield to the other ready requests of their runtime thread (which enqueue into the
//! same batch), then flush: one system call per batch instead of one per request. Stripes
//! (one per runtime thread, as threads first use them) keep the threads off each other's
//! locks; the file is opened `O_APPEND`, so the kernel places each batch whole after every
//! earlier write.
//!
//! A line whose batch fails to be written is not acknowledged; should a write stop short, the
//! next write starts a new line first, so a torn line never swallows an acknowledged one.
//! Readers take complete lines only, since the newline is the last byte of a line to reach
//! the file.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

/// Stripes per journal: enough that each runtime thread of a small machine has its own.
const STRIPES: usize = 8;

/// The segment being appended to.
#[derive(Debug)]
struct Segment {
    number: u64,
    file: File,
}

/// The outcome of one batch's write, shared by the callers whose lines it holds.
type Outcome = Arc<OnceLock<Result<(), io::ErrorKind>>>;

/// The lines waiting for the next write, and where that write's outcome will be told.
#[derive(Debug, Default)]
struct Batch {
    lines: Vec<u8>,
    outcome: Outcome,
}

/// A line's place in a batch: hand it to [`Journal::flush`].
#[derive(Debug)]
pub struct Ticket {
    stripe: usize,
    outcome: Outcome,
}

#[derive(Debug)]
pub struct Journal {
    dir: PathBuf,
    /// Writes share it; only rotation takes it exclusively.
    current: RwLock<Segment>,
    /// A write stopped short: the next write starts a new line.
    torn: AtomicBool,
    stripes: [Mutex<Batch>; STRIPES],
}

/// The calling thread's stripe: threads are numbered as they first append.
fn stripe_of_this_thread() -> usize {
    static THREADS: AtomicUsize = AtomicUsize::new(0);
    thread_local! {
        static STRIPE: usize = THREADS.fetch_add(1, Ordering::Relaxed) % STRIPES;
    }
    STRIPE.with(|stripe| *stripe)
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
            stripes: Default::default(),
        })
    }

    /// A journal appending to `file` (a test's stand-in for a full disk: `/dev/full`).
    #[cfg(test)]
    pub fn on_file(dir: &Path, file: File) -> Journal {
        Journal {
            dir: dir.to_path_buf(),
            current: RwLock::new(Segment { number: 1, file }),
            torn: AtomicBool::new(false),
            stripes: Default::default(),
        }
    }

    /// Adds what `write` appends (complete lines) to the calling thread's batch; it is written
    /// by the [`Journal::flush`] of this or any other ticket of the same batch.
    pub fn enqueue(&self, write: impl FnOnce(&mut Vec<u8>)) -> io::Result<Ticket> {
        let stripe = stripe_of_this_thread();
        let mut batch = self.stripe(stripe)?;
        write(&mut batch.lines);
        Ok(Ticket { stripe, outcome: Arc::clone(&batch.outcome) })
    }

    /// Returns once the ticket's batch is written, writing it if no one has yet.
    pub fn flush(&self, ticket: Ticket) -> io::Result<()> {
        let mut batch = self.stripe(ticket.stripe)?;
        if ticket.outcome.get().is_none() {
            let outcome = self.write(&batch.lines).map_err(|error| error.kind());
            let written = std::mem::take(&mut *batch);
            let _ = written.outcome.set(outcome);
            batch.lines = written.lines;
            batch.lines.clear();
        }
        drop(batch);
        match ticket.outcome.get() {
            Some(Ok(())) => Ok(()),
            Some(Err(kind)) => Err(io::Error::new(*kind, "the audit journal could not be written")),
            None => Err(io::Error::other("an audit journal batch was left unwritten")),
        }
    }

    /// Appends one or more complete lines with a single write.
    #[cfg(test)]
    pub fn append(&self, lines: &[u8]) -> io::Result<()> {
        self.flush(self.enqueue(|batch| batch.extend_from_slice(lines))?)
    }

    fn stripe(&self, stripe: usize) -> io::Result<std::sync::MutexGuard<'_, Batch>> {
        self.stripes.get(stripe).ok_or_else(|| io::Error::other("no such journal stripe"))?.lock().map_err(poisoned)
    }

    /// One write(2) of `lines` to the current segment.
    fn write(&self, lines: &[u8]) -> io::Result<()> {
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

/// Makes segment `number`'s bytes durable on disk.
pub fn sync(dir: &Path, number: u64) -> io::Result<()> {
    File::open(segment_path(dir, number))?.sync_data()
}

/// Bytes `start..end` of segment `number`: complete lines an importer indexed.
pub fn read_range(dir: &Path, number: u64, start: u64, end: u64) -> io::Result<Vec<u8>> {
    let mut file = File::open(segment_path(dir, number))?;
    file.seek(SeekFrom::Start(start))?;
    let mut bytes = Vec::new();
    file.take(end.saturating_sub(start)).read_to_end(&mut bytes)?;
    if (bytes.len() as u64) < end.saturating_sub(start) {
        return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the audit journal is shorter than its index"));
    }
    Ok(bytes)
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
    fn a_batch_is_written_once_by_whichever_ticket_flushes_first() {
        let dir = std::env::temp_dir().join(format!("homeport-journal-batch-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let journal = Journal::create(&dir, 1).unwrap();
        let tickets: Vec<Ticket> = ["a", "b", "c"]
            .iter()
            .map(|name| journal.enqueue(|batch| batch.extend_from_slice(format!("{name}\n").as_bytes())).unwrap())
            .collect();
        assert_eq!(read_lines(&dir, 1, 0).unwrap(), b"", "nothing is written before a flush");
        let mut tickets = tickets.into_iter();
        let (first, second, third) = (tickets.next().unwrap(), tickets.next().unwrap(), tickets.next().unwrap());
        journal.flush(second).unwrap();
        assert_eq!(read_lines(&dir, 1, 0).unwrap(), b"a\nb\nc\n", "the whole batch, in order");
        let later = journal.enqueue(|batch| batch.extend_from_slice(b"d\n")).unwrap();
        journal.flush(third).unwrap();
        journal.flush(first).unwrap();
        assert_eq!(read_lines(&dir, 1, 0).unwrap(), b"a\nb\nc\n", "a written batch is not written again");
        journal.flush(later).unwrap();
        assert_eq!(read_lines(&dir, 1, 0).unwrap(), b"a\nb\nc\nd\n");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn concurrent_batches_never_interleave() {
        let dir = std::env::temp_dir().join(format!("homeport-journal-threads-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let journal = std::sync::Arc::new(Journal::create(&dir, 1).unwrap());
        let writers: Vec<_> = (0..4)
            .map(|writer| {
                let journal = std::sync::Arc::clone(&journal);
                std::thread::spawn(move || {
                    let mut waiting = Vec::new();
                    for index in 0..2_000 {
                        let line = format!(
                            "{{\"writer\":{writer},\"index\":{index},\"pad\":\"{}\"}}\n",
                            "x".repeat(index % 300)
                        );
                        waiting.push(journal.enqueue(|batch| batch.extend_from_slice(line.as_bytes())).unwrap());
                        // Batches of up to 7, their tickets flushed newest first.
                        if index % 7 == 6 {
                            waiting.drain(..).rev().for_each(|ticket| journal.flush(ticket).unwrap());
                        }
                    }
                    waiting.drain(..).for_each(|ticket| journal.flush(ticket).unwrap());
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
