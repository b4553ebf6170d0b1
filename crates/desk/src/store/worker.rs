//! The store on its own thread: the engine hands it work and goes on, so a slow disk (an fsync
//! on every note) never holds up a call. Jobs run in the order they are given; the thread ends
//! when the last handle is dropped.

use std::sync::mpsc;

use tokio::sync::oneshot;

use super::{Store, StoreError};

type Job = Box<dyn FnOnce(&mut Store) + Send>;

#[derive(Clone)]
pub struct StoreWorker {
    jobs: mpsc::Sender<Job>,
}

impl StoreWorker {
    pub fn start(mut store: Store) -> Self {
        let (jobs, queue) = mpsc::channel::<Job>();
        let spawned = std::thread::Builder::new()
            .name("desk-store".into())
            .spawn(move || {
                for job in queue {
                    job(&mut store);
                }
            });
        if let Err(e) = spawned {
            // Without the thread every job fails with Stopped, and the calls go on unrecorded.
            tracing::error!("the store thread did not start: {e}");
        }
        Self { jobs }
    }

    /// Runs `job` on the store thread, without waiting for it.
    pub fn run(&self, job: impl FnOnce(&mut Store) + Send + 'static) {
        if self.jobs.send(Box::new(job)).is_err() {
            tracing::warn!("the store has stopped: a record was not written");
        }
    }

    /// Runs `job` on the store thread and returns what it gives.
    pub async fn ask<T: Send + 'static>(
        &self,
        job: impl FnOnce(&mut Store) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.jobs
            .send(Box::new(move |store| {
                let _ = tx.send(job(store));
            }))
            .map_err(|_| StoreError::Stopped)?;
        rx.await.map_err(|_| StoreError::Stopped)?
    }
}

/// Logs a failed write: the call goes on, the agent is not interrupted for a history row.
pub fn logged(what: &str, result: Result<(), StoreError>) {
    if let Err(e) = result {
        tracing::warn!("{what} not saved: {e}");
    }
}
