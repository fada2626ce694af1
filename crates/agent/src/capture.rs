//! Frames as the agent consumes them: a recording at the reader's pace, a
//! camera drained in real time by a thread of its own.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::time::Instant;

use crate::source::{FrameSource, Picture, SourceError};

/// Damaged-frame reports a live feed keeps while the agent is busy.
const MAX_PENDING_SKIPS: usize = 16;

/// One frame and when it was read.
pub struct Frame {
    pub picture: Picture,
    pub captured_at: Instant,
}

/// Frames as the agent consumes them. A recording is read frame by frame; a
/// camera is drained by a thread that keeps only the newest frame, so a slow
/// or blocked agent (a server outage) never works through a backlog of old
/// frames afterwards.
pub enum Capture {
    Recorded(FrameSource),
    Live(LiveFeed),
}

impl Capture {
    pub fn start(source: FrameSource) -> Capture {
        if source.is_live() {
            Capture::Live(LiveFeed::spawn(source))
        } else {
            Capture::Recorded(source)
        }
    }

    pub fn is_live(&self) -> bool {
        matches!(self, Capture::Live(_))
    }

    /// The next frame, a skippable error, a fatal error, or `None` at the end.
    pub fn next_frame(&mut self) -> Option<Result<Frame, SourceError>> {
        match self {
            Capture::Recorded(source) => source
                .next_frame()
                .map(|frame| {
                    frame.map(|picture| Frame {
                        picture,
                        captured_at: Instant::now(),
                    })
                })
                .transpose(),
            Capture::Live(feed) => feed.next_frame(),
        }
    }
}

#[derive(Default)]
struct Slot {
    frame: Option<Frame>,
    skipped: VecDeque<SourceError>,
    /// Set when the reading thread has stopped: `Some(error)` if it failed.
    ended: Option<Option<SourceError>>,
    /// Set when the consumer is gone, so the thread stops reading.
    closed: bool,
}

pub struct LiveFeed {
    shared: Arc<(Mutex<Slot>, Condvar)>,
}

impl LiveFeed {
    fn spawn(mut source: FrameSource) -> LiveFeed {
        let shared = Arc::new((Mutex::new(Slot::default()), Condvar::new()));
        let theirs = Arc::clone(&shared);
        std::thread::spawn(move || {
            let _ends_feed = EndsFeed(Arc::clone(&theirs));
            let (slot, ready) = &*theirs;
            loop {
                let read = source.next_frame();
                let Ok(mut slot) = slot.lock() else { return };
                if slot.closed {
                    return;
                }
                match read {
                    // Replacing the previous frame drops (zeroises) it.
                    Ok(Some(picture)) => {
                        slot.frame = Some(Frame {
                            picture,
                            captured_at: Instant::now(),
                        })
                    }
                    Ok(None) => slot.ended = Some(None),
                    Err(e) if e.is_skippable() => {
                        if slot.skipped.len() < MAX_PENDING_SKIPS {
                            slot.skipped.push_back(e);
                        }
                    }
                    Err(e) => slot.ended = Some(Some(e)),
                }
                ready.notify_all();
                if slot.ended.is_some() {
                    return;
                }
            }
        });
        LiveFeed { shared }
    }

    fn next_frame(&mut self) -> Option<Result<Frame, SourceError>> {
        let (slot, ready) = &*self.shared;
        let mut slot = slot.lock().ok()?;
        loop {
            if let Some(e) = slot.skipped.pop_front() {
                return Some(Err(e));
            }
            if let Some(frame) = slot.frame.take() {
                return Some(Ok(frame));
            }
            if let Some(ended) = slot.ended.take() {
                // Leave it marked as ended for any later call.
                slot.ended = Some(None);
                return ended.map(Err);
            }
            slot = ready.wait(slot).ok()?;
        }
    }
}

/// Marks the feed ended when the reading thread stops without having said
/// why (a panic in a decoder), so that the agent is not left waiting.
struct EndsFeed(Arc<(Mutex<Slot>, Condvar)>);

impl Drop for EndsFeed {
    fn drop(&mut self) {
        let (slot, ready) = &*self.0;
        let mut slot = slot.lock().unwrap_or_else(PoisonError::into_inner);
        if slot.ended.is_none() {
            slot.ended = Some(Some(SourceError::Protocol(
                "reading the camera stopped unexpectedly".into(),
            )));
        }
        ready.notify_all();
    }
}

impl Drop for LiveFeed {
    fn drop(&mut self) {
        if let Ok(mut slot) = self.shared.0.lock() {
            slot.closed = true;
            slot.frame = None;
        }
    }
}
