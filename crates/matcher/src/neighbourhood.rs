//! Each enrolled vector's neighbourhood: its distances to the nearest people
//! of the gallery's cohort, kept up to date as people come and go, so the
//! search can lower the distances of vectors in crowded regions (see
//! [`crate::Scoring`]).
//!
//! The cohort is one vector (the first) of each of up to `cohort_people`
//! people, held in slots. A row's list holds its `hub_neighbours` smallest
//! distances to cohort slots of other people. Joining the cohort offers the
//! newcomer to every row's list (one pass over the gallery); leaving it
//! marks the lists that held the leaver to be measured again, so a change
//! costs O(rows + cohort × lists it touched) distance computations, never
//! O(rows × cohort).
//!
//! A new row's list, and a list that lost a cohort member, is measured at
//! the next refresh, not at once: loading a gallery of n rows then measures
//! all n lists together, several rows per pass over the cohort
//! (`distances.rs`), split across as many threads as the caller gives
//! (most of a large gallery's loading time is these lists).

mod distances;

use zeroize::Zeroize;

use crate::Scoring;
use distances::Kernel;

/// Lists measured per call of the kernel: enough for its passes of
/// several rows, few enough to keep the rows' references small.
const ROWS_PER_CALL: usize = 256;

/// A cohort slot number; small and reused.
type Slot = u16;

pub(crate) struct Neighbourhoods {
    dimensions: usize,
    scoring: Scoring,
    kernel: Kernel,
    /// Slot `s` holds a vector at `s * dimensions` when `slot_owner[s]` is set.
    slot_vectors: Vec<f32>,
    /// Each slot's squared norm, as the kernel takes it.
    slot_norms: Vec<f32>,
    /// The gallery person index of each slot's owner.
    slot_owner: Vec<Option<usize>>,
    /// Per row, `hub_neighbours` (squared distance, slot) pairs, nearest
    /// first; unused entries are infinite. Squared, so that the many pairs
    /// a list turns away cost a comparison, not a square root (the order is
    /// the distances' order, and the root is taken once for the mean).
    lists: Vec<(f32, Slot)>,
    /// Per row, whether its list is still to be measured.
    pending: Vec<bool>,
    /// Per row, its squared norm as the kernel takes it: measured once,
    /// when the row arrives.
    row_norms: Vec<f32>,
    /// Per row, what the search subtracts from its distances.
    shifts: Vec<f32>,
}

impl Neighbourhoods {
    pub(crate) fn new(dimensions: usize, scoring: Scoring) -> Self {
        Neighbourhoods {
            dimensions,
            scoring,
            kernel: Kernel::detect(),
            slot_vectors: Vec::new(),
            slot_norms: Vec::new(),
            slot_owner: Vec::new(),
            lists: Vec::new(),
            pending: Vec::new(),
            row_norms: Vec::new(),
            shifts: Vec::new(),
        }
    }

    fn k(&self) -> usize {
        self.scoring.hub_neighbours.max(1)
    }

    /// Plain scoring keeps no neighbourhoods: every shift stays zero.
    fn active(&self) -> bool {
        self.scoring.hub_weight != 0.0
    }

    pub(crate) fn shifts(&self) -> &[f32] {
        &self.shifts
    }

    /// Whether nobody more can join the cohort (always, for plain scoring).
    pub(crate) fn cohort_is_full(&self) -> bool {
        !self.active()
            || self.slot_owner.iter().filter(|o| o.is_some()).count() >= self.scoring.cohort_people
    }

    /// A new row, `vector`, at the end of the gallery; its list is
    /// measured at the next [`Neighbourhoods::refresh_shifts`].
    pub(crate) fn push_row(&mut self, vector: &[f32]) {
        self.shifts.push(0.0);
        if !self.active() {
            return;
        }
        let k = self.k();
        self.lists
            .extend(std::iter::repeat_n((f32::INFINITY, 0), k));
        self.pending.push(true);
        self.row_norms.push(self.kernel.squared_norm(vector));
    }

    /// Row `row` leaves; the last row takes its place (as in the gallery).
    pub(crate) fn swap_remove_row(&mut self, row: usize) {
        let last = self.shifts.len() - 1;
        self.shifts.swap_remove(row);
        if !self.active() {
            return;
        }
        self.pending.swap_remove(row);
        self.row_norms.swap_remove(row);
        let k = self.k();
        if row != last {
            let (head, tail) = self.lists.split_at_mut(last * k);
            head[row * k..(row + 1) * k].copy_from_slice(&tail[..k]);
        }
        self.lists.truncate(last * k);
    }

    /// `person`, whose first row is row `anchor` of `rows`, joins the
    /// cohort: every other person's rows consider it. Returns the slot, for
    /// the person's record.
    pub(crate) fn join(
        &mut self,
        person: usize,
        anchor: usize,
        rows: &[f32],
        row_owner: &[usize],
    ) -> Slot {
        let dimensions = self.dimensions;
        let anchor_norm = self.row_norms[anchor];
        let anchor = &rows[anchor * dimensions..(anchor + 1) * dimensions];
        let slot = match self.slot_owner.iter().position(Option::is_none) {
            Some(free) => free,
            None => {
                // Allocated once at full size: growing would free a buffer
                // with vectors still in it.
                if self.slot_vectors.capacity() == 0 {
                    self.slot_vectors
                        .reserve_exact(self.scoring.cohort_people.max(1) * dimensions);
                }
                self.slot_owner.push(None);
                self.slot_norms.push(0.0);
                self.slot_vectors
                    .resize(self.slot_owner.len() * dimensions, 0.0);
                self.slot_owner.len() - 1
            }
        };
        self.slot_owner[slot] = Some(person);
        self.slot_vectors[slot * dimensions..(slot + 1) * dimensions].copy_from_slice(anchor);
        self.slot_norms[slot] = anchor_norm;
        let k = self.k();
        let (lists, pending) = (&mut self.lists, &self.pending);
        // A pending list will be measured against the whole cohort anyway.
        self.kernel.for_each_squared_distance(
            &[anchor],
            &[anchor_norm],
            rows,
            &self.row_norms,
            |_, row, squared| {
                if row_owner[row] != person && !pending[row] {
                    offer(&mut lists[row * k..(row + 1) * k], squared, slot as Slot);
                }
            },
        );
        slot as Slot
    }

    /// The owner of `slot` leaves the cohort: its vector is wiped and every
    /// list that held it is measured again at the next refresh.
    pub(crate) fn leave(&mut self, slot: Slot) {
        let slot = usize::from(slot);
        self.slot_owner[slot] = None;
        let dimensions = self.dimensions;
        self.slot_vectors[slot * dimensions..(slot + 1) * dimensions].zeroize();
        let k = self.k();
        for (list, pending) in self.lists.chunks_exact(k).zip(&mut self.pending) {
            if list
                .iter()
                .any(|&(d, s)| d.is_finite() && usize::from(s) == slot)
            {
                *pending = true;
            }
        }
    }

    /// A person moved from index `from` to `to` in the gallery.
    pub(crate) fn renumber(&mut self, from: usize, to: usize) {
        for owner in self.slot_owner.iter_mut().flatten() {
            if *owner == from {
                *owner = to;
            }
        }
    }

    /// Measures every pending list, split across `threads` threads.
    fn measure_pending(&mut self, rows: &[f32], row_owner: &[usize], threads: usize) {
        let pending = self.pending.iter().filter(|&&p| p).count();
        if pending == 0 {
            return;
        }
        let threads = threads.clamp(1, pending);
        let (k, dimensions, kernel) = (self.k(), self.dimensions, self.kernel);
        let rows_per_thread = self.pending.len().div_ceil(threads);
        let (slot_vectors, slot_norms, slot_owner, row_norms) = (
            &self.slot_vectors,
            &self.slot_norms,
            &self.slot_owner,
            &self.row_norms,
        );
        let parts = self
            .lists
            .chunks_mut(rows_per_thread * k)
            .zip(self.pending.chunks_mut(rows_per_thread))
            .enumerate();
        std::thread::scope(|scope| {
            for (part, (lists, pending)) in parts {
                let mut measure = move || {
                    let first = part * rows_per_thread;
                    let waiting: Vec<usize> = (0..pending.len()).filter(|&i| pending[i]).collect();
                    for call in waiting.chunks(ROWS_PER_CALL) {
                        let vectors: Vec<&[f32]> = call
                            .iter()
                            .map(|&i| &rows[(first + i) * dimensions..(first + i + 1) * dimensions])
                            .collect();
                        let norms: Vec<f32> = call.iter().map(|&i| row_norms[first + i]).collect();
                        for &i in call {
                            lists[i * k..(i + 1) * k].fill((f32::INFINITY, 0));
                            pending[i] = false;
                        }
                        // Every cohort slot of another person, in slot order.
                        kernel.for_each_squared_distance(
                            &vectors,
                            &norms,
                            slot_vectors,
                            slot_norms,
                            |v, slot, squared| {
                                let i = call[v];
                                let list = &mut lists[i * k..(i + 1) * k];
                                // Most pairs are farther than the list's
                                // farthest: turned away before anything else.
                                if squared < list[k - 1].0
                                    && slot_owner[slot].is_some_and(|o| o != row_owner[first + i])
                                {
                                    offer(list, squared, slot as Slot);
                                }
                            },
                        );
                    }
                };
                if threads == 1 {
                    measure();
                } else {
                    scope.spawn(measure);
                }
            }
        });
    }

    /// Measures the pending lists on `threads` threads, then recomputes
    /// every row's shift from the lists; call after each change. `rows`
    /// and `row_owner` are the gallery's.
    pub(crate) fn refresh_shifts(&mut self, rows: &[f32], row_owner: &[usize], threads: usize) {
        if !self.active() {
            return;
        }
        self.measure_pending(rows, row_owner, threads);
        let k = self.k();
        let row_mean = |list: &[(f32, Slot)]| {
            let (sum, count) = list
                .iter()
                .filter(|(squared, _)| squared.is_finite())
                .fold((0.0f32, 0usize), |(s, c), (squared, _)| {
                    (s + squared.sqrt(), c + 1)
                });
            (count > 0).then(|| sum / count as f32)
        };
        let (sum, count) = self
            .lists
            .chunks_exact(k)
            .filter_map(row_mean)
            .fold((0.0f64, 0usize), |(s, c), m| (s + f64::from(m), c + 1));
        let gallery_mean = if count == 0 {
            0.0
        } else {
            (sum / count as f64) as f32
        };
        let weight = self.scoring.hub_weight;
        for (shift, list) in self.shifts.iter_mut().zip(self.lists.chunks_exact(k)) {
            *shift = row_mean(list).map_or(0.0, |m| weight * (m - gallery_mean));
        }
    }

    pub(crate) fn clear(&mut self) {
        self.slot_vectors.zeroize();
        self.slot_norms.clear();
        self.slot_owner.clear();
        self.lists.clear();
        self.pending.clear();
        self.row_norms.clear();
        self.shifts.clear();
    }
}

impl Drop for Neighbourhoods {
    fn drop(&mut self) {
        self.slot_vectors.zeroize();
    }
}

/// Inserts `(squared distance, slot)` into a list kept nearest first,
/// dropping the farthest when full.
fn offer(list: &mut [(f32, Slot)], distance: f32, slot: Slot) {
    let Some(last) = list.last() else { return };
    if distance >= last.0 {
        return;
    }
    let at = list
        .iter()
        .position(|&(d, _)| distance < d)
        .unwrap_or(list.len() - 1);
    list[at..].rotate_right(1);
    list[at] = (distance, slot);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offer_keeps_the_nearest_in_order() {
        let mut list = [(f32::INFINITY, 0); 3];
        for (d, s) in [(0.5, 1), (0.2, 2), (0.9, 3), (0.3, 4), (0.1, 5)] {
            offer(&mut list, d, s);
        }
        assert_eq!(list, [(0.1, 5), (0.2, 2), (0.3, 4)]);
    }
}
