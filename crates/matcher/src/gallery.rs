//! One organisation's gallery for one model: people, each with one or more
//! vectors held as rows of a contiguous row-major matrix and as compressed
//! codes, and the rows' neighbourhoods.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

use parking_lot::RwLock;
use zeroize::Zeroize;

use crate::compressed::{Codes, ProbeCode};
use crate::distance::for_each_distance;
use crate::neighbourhood::Neighbourhoods;
use crate::{CANDIDATES, EXACT_SEARCH_BELOW, MAX_VECTORS_PER_PERSON, Scoring, reserve_zeroizing};

/// Held for reading by every outstanding match of one enrolled person;
/// `Galleries::wait_for_matches` takes it for writing to wait for them.
pub(crate) type Presence = Arc<RwLock<()>>;

struct Enrolled<P> {
    id: P,
    presence: Presence,
    cohort_slot: Option<u16>,
    /// Order of first enrolment: the cohort takes people in this order.
    sequence: u64,
}

pub(crate) struct Gallery<P> {
    people: Vec<Enrolled<P>>,
    index_of: HashMap<P, usize>,
    rows: Rows,
    /// The same rows, compressed, for the search's first pass.
    codes: Codes,
    /// The index in `people` of each row's person.
    row_owner: Vec<usize>,
    neighbourhoods: Neighbourhoods,
    /// Added to the distance of a person with v vectors (index v − 1).
    vector_penalty: [f32; MAX_VECTORS_PER_PERSON],
    /// Per row, what is added to its distances: its person's penalty less
    /// its neighbourhood shift.
    offsets: Vec<f32>,
    /// Whether `offsets` reflect every change. Changes only mark them
    /// stale, and the next search recomputes them once: a refresh is one
    /// pass over the gallery, so refreshing per change would make loading
    /// a gallery of n people cost n passes.
    offsets_current: bool,
    enrolments: u64,
}

/// The nearest and second-nearest people for a probe, by normalised
/// distance, as indices into the gallery.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Ranking {
    pub best: (usize, f32),
    /// `None` when only one person is enrolled.
    pub second: Option<(usize, f32)>,
}

impl<P: Clone + Eq + Hash> Gallery<P> {
    pub(crate) fn new(
        dimensions: usize,
        scoring: Scoring,
        vector_penalty: [f32; MAX_VECTORS_PER_PERSON],
    ) -> Self {
        Self {
            people: Vec::new(),
            index_of: HashMap::new(),
            rows: Rows::new(dimensions),
            codes: Codes::new(dimensions),
            row_owner: Vec::new(),
            neighbourhoods: Neighbourhoods::new(dimensions, scoring),
            vector_penalty,
            offsets: Vec::new(),
            offsets_current: true,
            enrolments: 0,
        }
    }

    /// Number of people enrolled.
    pub(crate) fn len(&self) -> usize {
        self.people.len()
    }

    /// Enrols `person` with `vectors`, or replaces their vectors (renewal,
    /// re-enrolment). `vectors` must not be empty.
    pub(crate) fn enrol(&mut self, person: P, vectors: &[&[f32]]) {
        let index = match self.index_of.get(&person) {
            Some(&index) => {
                self.detach(index);
                index
            }
            None => {
                self.enrolments += 1;
                self.people.push(Enrolled {
                    id: person.clone(),
                    presence: Arc::new(RwLock::new(())),
                    cohort_slot: None,
                    sequence: self.enrolments,
                });
                self.index_of.insert(person, self.people.len() - 1);
                self.people.len() - 1
            }
        };
        for vector in vectors {
            self.rows.push(vector);
            self.codes.push(vector);
            self.row_owner.push(index);
            self.neighbourhoods.push_row(vector);
        }
        if !self.neighbourhoods.cohort_is_full() {
            self.join_cohort(index);
        }
        self.offsets_current = false;
    }

    /// Takes `person` out; the returned presence lets the caller wait for
    /// matches already handed out.
    pub(crate) fn remove(&mut self, person: &P) -> Option<Presence> {
        let index = self.index_of.remove(person)?;
        self.detach(index);
        let removed = self.people.swap_remove(index);
        if let Some(moved) = self.people.get(index) {
            let from = self.people.len();
            self.index_of.insert(moved.id.clone(), index);
            for owner in &mut self.row_owner {
                if *owner == from {
                    *owner = index;
                }
            }
            self.neighbourhoods.renumber(from, index);
        }
        // The person waiting longest outside the cohort takes the free place.
        if !self.neighbourhoods.cohort_is_full()
            && let Some(waiting) = (0..self.people.len())
                .filter(|&i| self.people[i].cohort_slot.is_none())
                .min_by_key(|&i| self.people[i].sequence)
        {
            self.join_cohort(waiting);
        }
        self.offsets_current = false;
        Some(removed.presence)
    }

    /// Whether a search must first [`Gallery::refresh`] the offsets.
    pub(crate) fn is_stale(&self) -> bool {
        !self.offsets_current
    }

    /// Brings the offsets up to date with every change so far, measuring
    /// new vectors' neighbourhoods on `threads` threads.
    pub(crate) fn refresh(&mut self, threads: usize) {
        if !self.offsets_current {
            self.refresh_offsets(threads);
            self.offsets_current = true;
        }
    }

    fn refresh_offsets(&mut self, threads: usize) {
        self.neighbourhoods
            .refresh_shifts(&self.rows.values, &self.row_owner, threads);
        let mut vectors = vec![0usize; self.people.len()];
        for &owner in &self.row_owner {
            vectors[owner] += 1;
        }
        let penalty = |v: usize| self.vector_penalty[v.clamp(1, MAX_VECTORS_PER_PERSON) - 1];
        self.offsets = self
            .row_owner
            .iter()
            .zip(self.neighbourhoods.shifts())
            .map(|(&owner, shift)| penalty(vectors[owner]) - shift)
            .collect();
        self.codes.set_offsets(&self.offsets);
    }

    /// Empties the gallery, returning every presence to wait for.
    pub(crate) fn clear(&mut self) -> Vec<(P, Presence)> {
        self.index_of.clear();
        self.rows.clear();
        self.codes.clear();
        self.row_owner.clear();
        self.neighbourhoods.clear();
        self.offsets.clear();
        self.offsets_current = true;
        self.people.drain(..).map(|p| (p.id, p.presence)).collect()
    }

    /// The person's rows and cohort place go; the person's record stays.
    fn detach(&mut self, index: usize) {
        self.remove_rows_of(index);
        if let Some(slot) = self.people[index].cohort_slot.take() {
            self.neighbourhoods.leave(slot);
        }
    }

    fn remove_rows_of(&mut self, index: usize) {
        // From the last row down, so a row moved into a hole is never one
        // still to be removed.
        for row in (0..self.row_owner.len()).rev() {
            if self.row_owner[row] == index {
                self.rows.swap_remove(row);
                self.codes.swap_remove(row);
                self.row_owner.swap_remove(row);
                self.neighbourhoods.swap_remove_row(row);
            }
        }
    }

    fn join_cohort(&mut self, index: usize) {
        let Some(anchor) = self.row_owner.iter().position(|&o| o == index) else {
            return;
        };
        let slot = self
            .neighbourhoods
            .join(index, anchor, &self.rows.values, &self.row_owner);
        self.people[index].cohort_slot = Some(slot);
    }

    /// The two nearest people by normalised distance (a person's distance
    /// is that of their nearest vector); `None` when the gallery is empty.
    /// Galleries of fewer than [`EXACT_SEARCH_BELOW`] rows are compared
    /// exactly ([`Gallery::rank_exact`]), larger ones through the compressed
    /// pass ([`Gallery::rank_compressed`]). The offsets must be current
    /// ([`Gallery::refresh`]).
    pub(crate) fn rank(&self, probe: &[f32]) -> Option<Ranking> {
        if self.row_owner.len() < EXACT_SEARCH_BELOW {
            self.rank_exact(probe)
        } else {
            self.rank_compressed(probe)
        }
    }

    /// The compressed pass picks up to [`CANDIDATES`] rows nearest by its
    /// estimate, and they are ranked exactly: the result is
    /// [`Gallery::rank_exact`]'s whenever the rows that decide it are among
    /// them. A gallery holding a row the scan cannot estimate (numbers too
    /// large for its half-precision side numbers) is compared exactly.
    pub(crate) fn rank_compressed(&self, probe: &[f32]) -> Option<Ranking> {
        debug_assert!(self.offsets_current, "searched with stale offsets");
        if self.row_owner.len() <= CANDIDATES || !self.codes.scannable() {
            return self.rank_exact(probe);
        }
        let mut candidates = self
            .codes
            .nearest(&ProbeCode::new(probe), &self.offsets, CANDIDATES);
        // In row order, as the exact scan meets them, so that ties resolve
        // alike.
        candidates.sort_unstable();
        let dimensions = self.rows.dimensions;
        let mut ranker = Ranker::default();
        for row in candidates {
            let vector = &self.rows.values[row * dimensions..(row + 1) * dimensions];
            for_each_distance(vector, probe, |_, squared| {
                ranker.offer(self.row_owner[row], squared.sqrt() + self.offsets[row]);
            });
        }
        ranker.ranking()
    }

    /// [`Gallery::rank`] by comparing every row in f32: what the compressed
    /// search is measured against.
    pub(crate) fn rank_exact(&self, probe: &[f32]) -> Option<Ranking> {
        debug_assert!(self.offsets_current, "searched with stale offsets");
        let mut ranker = Ranker::default();
        for_each_distance(&self.rows.values, probe, |row, squared| {
            ranker.offer(self.row_owner[row], squared.sqrt() + self.offsets[row]);
        });
        ranker.ranking()
    }

    pub(crate) fn person(&self, index: usize) -> (&P, &Presence) {
        let entry = &self.people[index];
        (&entry.id, &entry.presence)
    }
}

/// The nearest and second-nearest people among the rows offered, in the
/// order offered.
#[derive(Default)]
struct Ranker {
    best: Option<(usize, f32)>,
    second: Option<(usize, f32)>,
}

impl Ranker {
    /// A row of person `owner` at normalised distance `distance`.
    #[inline(always)]
    fn offer(&mut self, owner: usize, distance: f32) {
        let candidate = (owner, distance);
        match self.best {
            None => self.best = Some(candidate),
            Some(current) if current.0 == owner => {
                if distance < current.1 {
                    self.best = Some(candidate);
                }
            }
            // A new best person: everyone else, the second included, is at
            // least as far as the previous best.
            Some(current) if distance < current.1 => {
                self.second = Some(current);
                self.best = Some(candidate);
            }
            Some(_) => {
                if self.second.is_none_or(|(_, d)| distance < d) {
                    self.second = Some(candidate);
                }
            }
        }
    }

    fn ranking(self) -> Option<Ranking> {
        self.best.map(|best| Ranking {
            best,
            second: self.second,
        })
    }
}

/// Vectors row after row. Every buffer that held a vector is zeroed before
/// it is released, including the old buffer when it grows (a plain `Vec`
/// would free it with the vectors still in it).
struct Rows {
    dimensions: usize,
    values: Vec<f32>,
}

impl Rows {
    fn new(dimensions: usize) -> Self {
        Rows {
            dimensions,
            values: Vec::new(),
        }
    }

    fn push(&mut self, vector: &[f32]) {
        reserve_zeroizing(&mut self.values, self.dimensions);
        self.values.extend_from_slice(vector);
    }

    /// Moves the last row into `row` and zeroes the vacated last row.
    fn swap_remove(&mut self, row: usize) {
        let last = self.values.len() - self.dimensions;
        if row * self.dimensions != last {
            self.values.copy_within(last.., row * self.dimensions);
        }
        self.values[last..].zeroize();
        self.values.truncate(last);
    }

    fn clear(&mut self) {
        // Zeroes the whole allocation and leaves the vector empty.
        self.values.zeroize();
    }
}

impl Drop for Rows {
    fn drop(&mut self) {
        self.values.zeroize();
    }
}
