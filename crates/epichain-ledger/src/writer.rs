//! The background writer of a pipelined ledger: commits blocks to the store in order on its own
//! thread, so executing block h+1 overlaps writing (and fsyncing) block h.
//!
//! Crash guarantee (unchanged by pipelining): each block is written in one store transaction,
//! so a crash leaves the store at some committed block, never inside one. A block is durable
//! once the writer has committed it with durability (every block, or every n-th with group
//! commit); its `on_durable` callback runs then, never before. Blocks committed in memory but
//! not yet durable are lost by a crash and must come again from consensus or peers.
//!
//! A storage failure stops the writer; the ledger reports it on its next call and the node must
//! stop (a ledger that cannot write must not pretend to advance).

use crate::StorageError;
use crate::ledger::PreparedBlock;
use crate::store::{Store, Tip};
use std::sync::mpsc;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread::JoinHandle;

/// Called once a block is durable.
pub type OnDurable = Box<dyn FnOnce() + Send + 'static>;

/// One block for the writer.
pub(crate) struct Job {
    pub prepared: Arc<PreparedBlock>,
    pub certificate: Option<Vec<u8>>,
    pub tip: Tip,
    pub durable: bool,
    pub on_durable: Option<OnDurable>,
}

enum Message {
    Block(Box<Job>),
    /// Make everything written durable.
    Sync,
}

/// What the writer has done, shared with the ledger.
#[derive(Default)]
struct Progress {
    /// Height of the last block written (durable or not).
    written: u64,
    /// Height of the last durable block.
    durable: u64,
    /// The failure that stopped the writer.
    failure: Option<StorageError>,
}

/// The writer thread and what it reports.
pub(crate) struct Writer {
    sender: Option<mpsc::Sender<Message>>,
    progress: Arc<(Mutex<Progress>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

fn lock(progress: &Mutex<Progress>) -> MutexGuard<'_, Progress> {
    progress
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Writer {
    /// Starts the writer for `store`, whose tip is at `height`.
    pub fn start(store: Arc<Store>, height: u64) -> std::io::Result<Self> {
        let (sender, receiver) = mpsc::channel::<Message>();
        let progress = Arc::new((
            Mutex::new(Progress {
                written: height,
                durable: height,
                failure: None,
            }),
            Condvar::new(),
        ));
        let shared = progress.clone();
        let thread = std::thread::Builder::new()
            .name("ledger-writer".into())
            .spawn(move || run(&store, &receiver, &shared))?;
        Ok(Writer {
            sender: Some(sender),
            progress,
            thread: Some(thread),
        })
    }

    /// Queues a block. Fails if the writer stopped.
    pub fn submit(&self, job: Job) -> Result<(), StorageError> {
        self.failure()?;
        self.send(Message::Block(Box::new(job)))
    }

    fn send(&self, message: Message) -> Result<(), StorageError> {
        let stopped = || StorageError::Database("the ledger writer stopped".into());
        self.sender
            .as_ref()
            .ok_or_else(stopped)?
            .send(message)
            .map_err(|_| self.failure().err().unwrap_or_else(stopped))
    }

    /// The failure that stopped the writer, if any.
    pub fn failure(&self) -> Result<(), StorageError> {
        match &lock(&self.progress.0).failure {
            Some(failure) => Err(failure.clone()),
            None => Ok(()),
        }
    }

    /// Height of the last block written.
    pub fn written(&self) -> u64 {
        lock(&self.progress.0).written
    }

    /// Waits until the block at `height` is written (and durable, with `durable`).
    pub fn wait(&self, height: u64, durable: bool) -> Result<(), StorageError> {
        let (mutex, condvar) = &*self.progress;
        let mut progress = lock(mutex);
        loop {
            if let Some(failure) = &progress.failure {
                return Err(failure.clone());
            }
            let reached = if durable {
                progress.durable
            } else {
                progress.written
            };
            if reached >= height {
                return Ok(());
            }
            progress = condvar
                .wait(progress)
                .unwrap_or_else(|poisoned| poisoned.into_inner());
        }
    }

    /// Makes everything queued durable and waits for it.
    pub fn sync(&self, height: u64) -> Result<(), StorageError> {
        self.send(Message::Sync)?;
        self.wait(height, true)
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        // Closing the channel lets the thread finish what is queued and exit.
        self.sender.take();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Most queued blocks written in one store transaction.
pub const GROUP_BLOCKS_MAX: usize = 8;

fn run(store: &Store, receiver: &mpsc::Receiver<Message>, progress: &(Mutex<Progress>, Condvar)) {
    let (mutex, condvar) = progress;
    let mut waiting: Vec<OnDurable> = Vec::new();
    let mut next = receiver.recv().ok();
    while let Some(message) = next.take() {
        let outcome = match message {
            Message::Block(job) => {
                // Everything already queued goes into the same transaction.
                let mut jobs = vec![*job];
                while jobs.len() < GROUP_BLOCKS_MAX {
                    match receiver.try_recv() {
                        Ok(Message::Block(job)) => jobs.push(*job),
                        Ok(other) => {
                            next = Some(other);
                            break;
                        }
                        Err(_) => break,
                    }
                }
                write(store, jobs, &mut waiting)
            }
            Message::Sync => store.sync().map(|()| None),
        };
        let mut shared = lock(mutex);
        match outcome {
            Ok(written) => {
                if let Some((height, durable)) = written {
                    shared.written = height;
                    if durable {
                        shared.durable = height;
                    }
                } else {
                    shared.durable = shared.written;
                }
                let durable_now = shared.durable == shared.written;
                drop(shared);
                condvar.notify_all();
                if durable_now {
                    for callback in waiting.drain(..) {
                        callback();
                    }
                }
            }
            Err(failure) => {
                shared.failure = Some(failure);
                drop(shared);
                condvar.notify_all();
                return;
            }
        }
        if next.is_none() {
            next = receiver.recv().ok();
        }
    }
}

/// Writes consecutive blocks in one transaction, durable if any of them asked to be; returns
/// (last height, durable).
fn write(
    store: &Store,
    jobs: Vec<Job>,
    waiting: &mut Vec<OnDurable>,
) -> Result<Option<(u64, bool)>, StorageError> {
    let Some(last) = jobs.last() else {
        return Ok(None);
    };
    let tip = last.tip;
    let durable = jobs.iter().any(|job| job.durable);
    let writes: Vec<_> = jobs
        .iter()
        .map(|job| job.prepared.write(job.certificate.as_deref()))
        .collect();
    store.write_blocks(&writes, tip, durable)?;
    drop(writes);
    waiting.extend(jobs.into_iter().filter_map(|job| job.on_durable));
    Ok(Some((tip.height, durable)))
}
