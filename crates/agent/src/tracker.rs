//! Following faces from frame to frame, so that a person walking up to the
//! door is one passage, sent once, not one request per frame.
//!
//! Time is the source's own timeline (a recording's frame positions, or a
//! camera's wall clock), passed in by the caller.

use std::time::Duration;

use limen_face::Rect;

pub type TrackId = u64;

/// Overlap above which a face continues a track.
const MIN_IOU: f64 = 0.3;
/// A face whose centre moved less than this fraction of the face width also
/// continues it: someone walking towards the camera grows fast between
/// frames, which lowers the overlap while the centre barely moves.
const MAX_CENTRE_SHIFT: f64 = 0.5;

struct Track {
    id: TrackId,
    rect: Rect,
    last_seen: Duration,
    sent_at: Option<Duration>,
}

pub struct Tracker {
    tracks: Vec<Track>,
    next_id: TrackId,
    /// How long a track stays closed after a send.
    cooldown: Duration,
    /// How long a track survives without being seen.
    timeout: Duration,
}

impl Tracker {
    pub fn new(cooldown: Duration, timeout: Duration) -> Tracker {
        Tracker {
            tracks: Vec::new(),
            next_id: 1,
            cooldown,
            timeout,
        }
    }

    /// Assigns each face seen at `now` to a track (continuing one or
    /// starting one); the ids come back in the order of `faces`.
    pub fn update(&mut self, faces: &[Rect], now: Duration) -> Vec<TrackId> {
        self.tracks
            .retain(|t| now.saturating_sub(t.last_seen) <= self.timeout);
        let mut pairs = Vec::new();
        for (f, face) in faces.iter().enumerate() {
            for (t, track) in self.tracks.iter().enumerate() {
                let iou = face.iou(&track.rect);
                let (a, b) = (face.center(), track.rect.center());
                let shift = (a.x - b.x).hypot(a.y - b.y);
                let width = face.width().max(track.rect.width()) as f64;
                if iou >= MIN_IOU || shift <= MAX_CENTRE_SHIFT * width {
                    pairs.push((iou, shift, f, t));
                }
            }
        }
        // Best overlap first, then the nearest centre.
        pairs.sort_by(|x, y| y.0.total_cmp(&x.0).then(x.1.total_cmp(&y.1)));
        let mut assigned: Vec<Option<usize>> = vec![None; faces.len()];
        let mut taken = vec![false; self.tracks.len()];
        for (_, _, f, t) in pairs {
            if assigned[f].is_none() && !taken[t] {
                assigned[f] = Some(t);
                taken[t] = true;
            }
        }
        faces
            .iter()
            .zip(assigned)
            .map(|(face, track)| match track {
                Some(t) => {
                    let track = &mut self.tracks[t];
                    track.rect = *face;
                    track.last_seen = now;
                    track.id
                }
                None => {
                    let id = self.next_id;
                    self.next_id += 1;
                    self.tracks.push(Track {
                        id,
                        rect: *face,
                        last_seen: now,
                        sent_at: None,
                    });
                    id
                }
            })
            .collect()
    }

    /// Where the faces of the tracks still alive at `now` were last seen.
    pub fn last_seen(&self, now: Duration) -> Vec<Rect> {
        self.tracks
            .iter()
            .filter(|t| now.saturating_sub(t.last_seen) <= self.timeout)
            .map(|t| t.rect)
            .collect()
    }

    /// Whether the track may be sent now: never sent, or its cooldown is
    /// over. A `true` answer counts as a send.
    pub fn claim(&mut self, id: TrackId, now: Duration) -> bool {
        let Some(track) = self.tracks.iter_mut().find(|t| t.id == id) else {
            return false;
        };
        let open = track
            .sent_at
            .is_none_or(|sent| now.saturating_sub(sent) >= self.cooldown);
        if open {
            track.sent_at = Some(now);
        }
        open
    }

    /// Undoes a claim whose frame never reached the server, so a fresh
    /// frame of the same passage may go instead.
    pub fn release(&mut self, id: TrackId) {
        if let Some(track) = self.tracks.iter_mut().find(|t| t.id == id) {
            track.sent_at = None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    /// A square face of side `size` at (x, y).
    fn face(x: i64, y: i64, size: i64) -> Rect {
        Rect::new(x, y, x + size - 1, y + size - 1)
    }

    /// Runs frames 100 ms apart; returns the frames at which a send happened.
    fn sends(tracker: &mut Tracker, frames: &[Option<Rect>]) -> Vec<usize> {
        let mut sent = Vec::new();
        for (i, f) in frames.iter().enumerate() {
            let now = ms(100 * i as u64);
            let faces: Vec<Rect> = f.iter().copied().collect();
            for id in tracker.update(&faces, now) {
                if tracker.claim(id, now) {
                    sent.push(i);
                }
            }
        }
        sent
    }

    #[test]
    fn a_passage_is_sent_once_while_the_face_moves_and_grows() {
        let mut tracker = Tracker::new(ms(3000), ms(500));
        // Walking towards the camera: the box grows and drifts.
        let walk: Vec<Option<Rect>> = (0..20)
            .map(|i| Some(face(300 - 3 * i, 200 - 2 * i, 80 + 6 * i)))
            .collect();
        assert_eq!(sends(&mut tracker, &walk), vec![0]);
    }

    #[test]
    fn the_same_person_is_sent_again_after_the_cooldown_and_a_new_passage_at_once() {
        let mut tracker = Tracker::new(ms(1000), ms(500));
        let mut frames: Vec<Option<Rect>> = vec![Some(face(100, 100, 120)); 25];
        // Nobody for 0.8 s (longer than the track timeout), then someone.
        frames.extend(vec![None; 8]);
        frames.extend(vec![Some(face(110, 100, 120)); 3]);
        assert_eq!(sends(&mut tracker, &frames), vec![0, 10, 20, 33]);
    }

    #[test]
    fn live_tracks_say_where_their_faces_were() {
        let mut tracker = Tracker::new(ms(1000), ms(500));
        let (a, b) = (face(10, 100, 100), face(400, 120, 90));
        tracker.update(&[a, b], ms(0));
        tracker.update(&[face(12, 101, 100)], ms(400));
        assert_eq!(tracker.last_seen(ms(400)), vec![face(12, 101, 100), b]);
        // b was last seen 600 ms ago, past the timeout.
        assert_eq!(tracker.last_seen(ms(600)), vec![face(12, 101, 100)]);
        assert!(tracker.last_seen(ms(1000)).is_empty());
    }

    #[test]
    fn two_people_are_two_tracks_and_a_released_claim_can_be_retaken() {
        let mut tracker = Tracker::new(ms(5000), ms(500));
        let left = face(10, 100, 100);
        let right = face(400, 120, 90);
        let ids = tracker.update(&[left, right], ms(0));
        assert_ne!(ids[0], ids[1]);
        // Listed in the other order, each face keeps its own track.
        let again = tracker.update(&[right, left], ms(100));
        assert_eq!(again, vec![ids[1], ids[0]]);
        assert!(tracker.claim(ids[0], ms(100)));
        assert!(!tracker.claim(ids[0], ms(200)));
        tracker.release(ids[0]);
        assert!(tracker.claim(ids[0], ms(300)));
        assert!(tracker.claim(ids[1], ms(300)));
    }
}
