//! The mempool's write-ahead journal (review M6): the API acknowledges a transaction (202) only
//! once its bytes are on disk, and a restarted validator re-admits what it acknowledged, so a
//! crash of the node that answered loses nothing it accepted.
//!
//! Chosen over acknowledging after f+1 validators hold the transaction: it costs one `fdatasync`
//! per group of concurrent submissions (a writer thread commits everything queued at once), needs
//! no extra round trip, and works the same for a node that is alone or partitioned.
//!
//! Format: segment files `NNNNNNNNNNNNNNNN.log` in the journal directory, each a sequence of
//! records `length: u32 LE ‖ transaction bytes`. A torn tail (a crash mid-write) ends a segment;
//! the bytes are re-checked at admission like any submission, so a damaged record is refused,
//! not trusted. Segments older than the mempool's expiry are deleted: everything in them has
//! been included or has expired.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// A segment is closed after this long and a new one started.
const SEGMENT_AGE: Duration = Duration::from_secs(60);

/// A segment is closed beyond this size and a new one started.
const SEGMENT_BYTES_MAX: u64 = 64 * 1024 * 1024;

/// Largest record a segment may hold (a transaction is at most 64 KiB).
const RECORD_BYTES_MAX: usize = 1024 * 1024;

/// Requests the writer commits together at most.
const GROUP_REQUESTS_MAX: usize = 1_024;

/// Why the journal failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum JournalError {
    /// Reading or writing the files failed.
    #[error("mempool journal: {0}")]
    Io(String),
    /// The writer stopped.
    #[error("mempool journal writer stopped")]
    Stopped,
}

fn io(error: std::io::Error) -> JournalError {
    JournalError::Io(error.to_string())
}

struct Request {
    items: Vec<Vec<u8>>,
    done: tokio::sync::oneshot::Sender<Result<(), JournalError>>,
}

/// The journal: appends are durable when they return.
pub struct Journal {
    sender: Mutex<Option<std::sync::mpsc::Sender<Request>>>,
    writer: Mutex<Option<std::thread::JoinHandle<()>>>,
    replayed: Mutex<Vec<PathBuf>>,
}

/// The segments of `directory` in order.
fn segments(directory: &Path) -> Result<Vec<(u64, PathBuf)>, JournalError> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(directory).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let number = path
            .file_name()
            .and_then(|name| name.to_str())
            .and_then(|name| name.strip_suffix(".log"))
            .and_then(|stem| stem.parse::<u64>().ok());
        if let Some(number) = number {
            found.push((number, path));
        }
    }
    found.sort();
    Ok(found)
}

/// The records of one segment, up to a torn tail.
fn read_segment(path: &Path) -> Result<Vec<Vec<u8>>, JournalError> {
    let mut bytes = Vec::new();
    File::open(path)
        .map_err(io)?
        .read_to_end(&mut bytes)
        .map_err(io)?;
    let mut records = Vec::new();
    let mut rest = bytes.as_slice();
    while let Some((length, tail)) = rest.split_first_chunk::<4>() {
        let length = u32::from_le_bytes(*length) as usize;
        if length > RECORD_BYTES_MAX || tail.len() < length {
            break;
        }
        let (record, next) = tail.split_at(length);
        records.push(record.to_vec());
        rest = next;
    }
    Ok(records)
}

impl Journal {
    /// Opens the journal in `directory` (created if missing). Returns it with the transactions
    /// it held: re-admit them, append those still pending, then [`Journal::forget_replayed`].
    pub fn open(
        directory: &Path,
        retention: Duration,
    ) -> Result<(Journal, Vec<Vec<u8>>), JournalError> {
        std::fs::create_dir_all(directory).map_err(io)?;
        let existing = segments(directory)?;
        let mut transactions = Vec::new();
        for (_, path) in &existing {
            transactions.extend(read_segment(path)?);
        }
        let next_number = existing.last().map_or(0, |(number, _)| number + 1);
        let writer = Writer::new(directory.to_path_buf(), next_number, retention)?;
        let (sender, receiver) = std::sync::mpsc::channel::<Request>();
        let thread = std::thread::Builder::new()
            .name("epichain-journal".into())
            .spawn(move || writer.run(&receiver))
            .map_err(io)?;
        let journal = Journal {
            sender: Mutex::new(Some(sender)),
            writer: Mutex::new(Some(thread)),
            replayed: Mutex::new(existing.into_iter().map(|(_, path)| path).collect()),
        };
        Ok((journal, transactions))
    }

    /// Appends transactions; returns once they are on disk.
    pub async fn append(&self, items: Vec<Vec<u8>>) -> Result<(), JournalError> {
        if items.is_empty() {
            return Ok(());
        }
        let (done, finished) = tokio::sync::oneshot::channel();
        {
            let sender = self.sender.lock().map_err(|_| JournalError::Stopped)?;
            let sender = sender.as_ref().ok_or(JournalError::Stopped)?;
            sender
                .send(Request { items, done })
                .map_err(|_| JournalError::Stopped)?;
        }
        finished.await.map_err(|_| JournalError::Stopped)?
    }

    /// Deletes the segments read at open (their pending transactions were appended again).
    pub fn forget_replayed(&self) -> Result<(), JournalError> {
        let paths = std::mem::take(&mut *self.replayed.lock().map_err(|_| JournalError::Stopped)?);
        for path in paths {
            std::fs::remove_file(&path).map_err(io)?;
        }
        Ok(())
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        if let Ok(mut sender) = self.sender.lock() {
            sender.take();
        }
        if let Ok(mut writer) = self.writer.lock()
            && let Some(thread) = writer.take()
        {
            let _ = thread.join();
        }
    }
}

/// The writer thread's state: the open segment and those still kept.
struct Writer {
    directory: PathBuf,
    retention: Duration,
    next_number: u64,
    active: File,
    active_bytes: u64,
    active_started: Instant,
    /// Closed segments with when they were closed.
    closed: Vec<(Instant, PathBuf)>,
}

impl Writer {
    fn new(directory: PathBuf, number: u64, retention: Duration) -> Result<Writer, JournalError> {
        let active = Self::create(&directory, number)?;
        Ok(Writer {
            directory,
            retention,
            next_number: number + 1,
            active,
            active_bytes: 0,
            active_started: Instant::now(),
            closed: Vec::new(),
        })
    }

    fn path(directory: &Path, number: u64) -> PathBuf {
        directory.join(format!("{number:016}.log"))
    }

    fn create(directory: &Path, number: u64) -> Result<File, JournalError> {
        let file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(Self::path(directory, number))
            .map_err(io)?;
        // The new name must survive a crash too.
        File::open(directory)
            .and_then(|dir| dir.sync_all())
            .map_err(io)?;
        Ok(file)
    }

    fn run(mut self, requests: &std::sync::mpsc::Receiver<Request>) {
        while let Ok(first) = requests.recv() {
            let mut group = vec![first];
            while group.len() < GROUP_REQUESTS_MAX {
                match requests.try_recv() {
                    Ok(next) => group.push(next),
                    Err(_) => break,
                }
            }
            let written = self.write(&group);
            for request in group {
                let _ = request.done.send(written.clone());
            }
        }
    }

    /// Writes a group of requests and makes them durable with one sync.
    fn write(&mut self, group: &[Request]) -> Result<(), JournalError> {
        if self.active_started.elapsed() > SEGMENT_AGE || self.active_bytes > SEGMENT_BYTES_MAX {
            self.rotate()?;
        }
        let mut buffer = Vec::new();
        for item in group.iter().flat_map(|request| &request.items) {
            buffer.extend_from_slice(&(item.len() as u32).to_le_bytes());
            buffer.extend_from_slice(item);
        }
        self.active.write_all(&buffer).map_err(io)?;
        self.active.sync_data().map_err(io)?;
        self.active_bytes += buffer.len() as u64;
        Ok(())
    }

    /// Starts a new segment and deletes those past the retention.
    fn rotate(&mut self) -> Result<(), JournalError> {
        let number = self.next_number;
        let active = Self::create(&self.directory, number)?;
        let previous = Self::path(&self.directory, number - 1);
        self.closed.push((Instant::now(), previous));
        self.active = active;
        self.active_bytes = 0;
        self.active_started = Instant::now();
        self.next_number += 1;
        let retention = self.retention;
        let (expired, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.closed)
            .into_iter()
            .partition(|(closed, _)| closed.elapsed() > retention);
        self.closed = kept;
        for (_, path) in expired {
            std::fs::remove_file(&path).map_err(io)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn appended_transactions_survive_a_reopen_and_a_torn_tail_is_ignored() {
        let directory = tempfile::tempdir().expect("temp dir");
        let retention = Duration::from_secs(600);
        {
            let (journal, replayed) = Journal::open(directory.path(), retention).expect("open");
            assert!(replayed.is_empty());
            journal
                .append(vec![b"first".to_vec(), b"second".to_vec()])
                .await
                .expect("append");
            journal
                .append(vec![b"third".to_vec()])
                .await
                .expect("append");
        }
        // A crash mid-record: a length with half its bytes.
        let (_, path) = segments(directory.path()).expect("segments")[0].clone();
        let mut file = OpenOptions::new().append(true).open(&path).expect("open");
        file.write_all(&100u32.to_le_bytes()).expect("write");
        file.write_all(b"torn").expect("write");
        drop(file);
        let (journal, replayed) = Journal::open(directory.path(), retention).expect("reopen");
        assert_eq!(
            replayed,
            vec![b"first".to_vec(), b"second".to_vec(), b"third".to_vec()]
        );
        journal
            .append(vec![b"second".to_vec()])
            .await
            .expect("append");
        journal.forget_replayed().expect("forget");
        drop(journal);
        let (_, replayed) = Journal::open(directory.path(), retention).expect("reopen");
        assert_eq!(replayed, vec![b"second".to_vec()]);
    }
}
