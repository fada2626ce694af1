//! The face engine's queue. Engine work is CPU-bound and costly (a frame
//! is tens to hundreds of milliseconds of one core, an enrolment several
//! frames), so at most as many jobs run as there are cores, a bounded
//! number wait, and the rest are refused at once with "busy, retry later"
//! instead of piling up memory and latency.
//!
//! Entrance frames come first: a waiting entrance frame always starts
//! before waiting enrolment work, and enrolment and quality checks may
//! never hold every worker, so a door keeps answering however many people
//! enrol at once.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::oneshot;

/// What a job is for, which decides its place in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineWork {
    /// A frame from a device at an entrance: someone is waiting at a door.
    Entrance,
    /// Enrolment and the webcam page's quality checks.
    Enrolment,
}

/// The queue was full; try again after `retry_after`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineBusy {
    pub retry_after: Duration,
}

/// The engine's jobs at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineLoad {
    pub running: usize,
    /// Entrance frames waiting for a worker.
    pub entrance_waiting: usize,
    /// Enrolments and quality checks waiting for a worker.
    pub enrolment_waiting: usize,
}

/// How much work may run and wait.
#[derive(Debug, Clone, Copy)]
struct Bounds {
    workers: usize,
    /// Enrolment work running at once: one worker is kept for entrances
    /// when there are two or more.
    enrolment_workers: usize,
    entrance_waiting: usize,
    enrolment_waiting: usize,
}

#[derive(Default)]
struct State {
    running: usize,
    enrolment_running: usize,
    entrance: VecDeque<oneshot::Sender<()>>,
    enrolment: VecDeque<oneshot::Sender<()>>,
}

pub struct EngineQueue {
    bounds: Bounds,
    state: Mutex<State>,
}

impl EngineQueue {
    /// A queue for `workers` engine jobs at once (the cores), with room for
    /// a few times as many waiting entrance frames and fewer enrolments.
    pub fn new(workers: usize) -> Arc<EngineQueue> {
        let workers = workers.max(1);
        Arc::new(EngineQueue {
            bounds: Bounds {
                workers,
                enrolment_workers: workers.saturating_sub(1).max(1),
                entrance_waiting: 4 * workers,
                enrolment_waiting: workers,
            },
            state: Mutex::new(State::default()),
        })
    }

    /// Waits for a worker for `work`, or refuses at once when as many jobs
    /// of its kind wait as may.
    pub async fn admit(self: &Arc<Self>, work: EngineWork) -> Result<EngineSlot, EngineBusy> {
        let receiver = {
            let mut state = self.lock();
            if self.may_start(&state, work) {
                Self::start(&mut state, work);
                return Ok(self.slot(work));
            }
            let (waiting, room, retry_after) = match work {
                EngineWork::Entrance => (
                    &mut state.entrance,
                    self.bounds.entrance_waiting,
                    Duration::from_secs(1),
                ),
                EngineWork::Enrolment => (
                    &mut state.enrolment,
                    self.bounds.enrolment_waiting,
                    Duration::from_secs(5),
                ),
            };
            // Senders whose waiters gave up no longer hold a place.
            waiting.retain(|sender| !sender.is_closed());
            if waiting.len() >= room {
                return Err(EngineBusy { retry_after });
            }
            let (sender, receiver) = oneshot::channel();
            waiting.push_back(sender);
            receiver
        };
        let mut waiter = Waiter {
            queue: self.clone(),
            work,
            receiver: Some(receiver),
        };
        let granted = match waiter.receiver.as_mut() {
            Some(receiver) => receiver.await.is_ok(),
            None => false,
        };
        waiter.receiver = None;
        if granted {
            Ok(self.slot(work))
        } else {
            // Only when the queue itself is gone, which cannot happen
            // while `self` is held; answer busy rather than panic.
            Err(EngineBusy {
                retry_after: Duration::from_secs(1),
            })
        }
    }

    /// The jobs running and waiting now.
    pub fn load(&self) -> EngineLoad {
        let state = self.lock();
        let waiting = |queue: &VecDeque<oneshot::Sender<()>>| {
            queue.iter().filter(|sender| !sender.is_closed()).count()
        };
        EngineLoad {
            running: state.running,
            entrance_waiting: waiting(&state.entrance),
            enrolment_waiting: waiting(&state.enrolment),
        }
    }

    fn slot(self: &Arc<Self>, work: EngineWork) -> EngineSlot {
        EngineSlot {
            queue: self.clone(),
            work,
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn may_start(&self, state: &State, work: EngineWork) -> bool {
        state.running < self.bounds.workers
            && match work {
                EngineWork::Entrance => true,
                EngineWork::Enrolment => state.enrolment_running < self.bounds.enrolment_workers,
            }
    }

    fn start(state: &mut State, work: EngineWork) {
        state.running += 1;
        if work == EngineWork::Enrolment {
            state.enrolment_running += 1;
        }
    }

    /// Ends a job and hands its worker on: to a waiting entrance frame
    /// first, else to waiting enrolment work if it may run.
    fn release(&self, work: EngineWork) {
        let mut state = self.lock();
        state.running -= 1;
        if work == EngineWork::Enrolment {
            state.enrolment_running -= 1;
        }
        loop {
            let next = if self.may_start(&state, EngineWork::Entrance) && !state.entrance.is_empty()
            {
                state
                    .entrance
                    .pop_front()
                    .map(|s| (s, EngineWork::Entrance))
            } else if self.may_start(&state, EngineWork::Enrolment) {
                state
                    .enrolment
                    .pop_front()
                    .map(|s| (s, EngineWork::Enrolment))
            } else {
                None
            };
            let Some((sender, next_work)) = next else {
                return;
            };
            // A waiter that gave up is skipped; the worker goes on to the next.
            if sender.send(()).is_ok() {
                Self::start(&mut state, next_work);
                return;
            }
        }
    }
}

/// A running engine job; dropping it frees the worker.
pub struct EngineSlot {
    queue: Arc<EngineQueue>,
    work: EngineWork,
}

impl Drop for EngineSlot {
    fn drop(&mut self) {
        self.queue.release(self.work);
    }
}

/// A place in the queue. If the waiting request goes away after its worker
/// was granted but before it took it, the worker is handed on here.
struct Waiter {
    queue: Arc<EngineQueue>,
    work: EngineWork,
    receiver: Option<oneshot::Receiver<()>>,
}

impl Drop for Waiter {
    fn drop(&mut self) {
        if let Some(mut receiver) = self.receiver.take() {
            receiver.close();
            if receiver.try_recv().is_ok() {
                self.queue.release(self.work);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn entrance_frames_keep_a_worker_and_go_first() {
        let queue = EngineQueue::new(2);
        // Enrolment may hold one of the two workers, never both.
        let enrolling = queue.admit(EngineWork::Enrolment).await.expect("runs");
        let waiting_enrolment = tokio::spawn({
            let queue = queue.clone();
            async move { queue.admit(EngineWork::Enrolment).await }
        });
        tokio::task::yield_now().await;
        assert_eq!(queue.load().running, 1, "the second enrolment waits");
        let entrance = queue
            .admit(EngineWork::Entrance)
            .await
            .expect("runs at once");
        assert_eq!(queue.load().running, 2);
        // Both workers busy: an entrance frame waits, and is served before
        // the enrolment that waited longer.
        let waiting_entrance = tokio::spawn({
            let queue = queue.clone();
            async move { queue.admit(EngineWork::Entrance).await }
        });
        tokio::task::yield_now().await;
        drop(enrolling);
        let second_entrance = waiting_entrance.await.expect("task").expect("granted");
        assert!(!waiting_enrolment.is_finished());
        drop(entrance);
        drop(second_entrance);
        let enrolment = waiting_enrolment.await.expect("task").expect("granted");
        assert_eq!(queue.load().running, 1);
        drop(enrolment);
        assert_eq!(queue.load().running, 0);
    }

    #[tokio::test]
    async fn a_full_queue_refuses_at_once_and_a_waiter_that_leaves_frees_its_place() {
        let queue = EngineQueue::new(1);
        let running = queue.admit(EngineWork::Entrance).await.expect("runs");
        let mut waiters = Vec::new();
        for _ in 0..4 {
            let queue = queue.clone();
            waiters.push(tokio::spawn(async move {
                queue.admit(EngineWork::Entrance).await
            }));
        }
        tokio::task::yield_now().await;
        assert_eq!(
            queue.load(),
            EngineLoad {
                running: 1,
                entrance_waiting: 4,
                enrolment_waiting: 0
            }
        );
        let refused = queue.admit(EngineWork::Entrance).await.err();
        assert_eq!(
            refused.map(|b| b.retry_after),
            Some(Duration::from_secs(1)),
            "a fifth waiter is refused"
        );
        for waiter in &waiters {
            waiter.abort();
        }
        for waiter in waiters {
            let _ = waiter.await;
        }
        assert_eq!(
            queue.load().entrance_waiting,
            0,
            "those who left wait no more"
        );
        drop(running);
        assert_eq!(queue.load().running, 0, "abandoned places were skipped");
        let _again = queue.admit(EngineWork::Entrance).await.expect("free");
    }
}
