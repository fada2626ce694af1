//! One organisation's gallery for one model: person ids beside a contiguous
//! row-major matrix of their descriptors.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

use parking_lot::RwLock;
use zeroize::Zeroize;

use crate::distance::{self, Scan};
use crate::{DIMENSIONS, Descriptor};

/// Held for reading by every outstanding match of one enrolled person; the
/// remover takes it for writing to wait for them.
pub(crate) type Presence = Arc<RwLock<()>>;

pub(crate) struct Gallery<P> {
    people: Vec<P>,
    presences: Vec<Presence>,
    row_of: HashMap<P, usize>,
    rows: Rows,
}

impl<P: Clone + Eq + Hash> Gallery<P> {
    pub(crate) fn new() -> Self {
        Self {
            people: Vec::new(),
            presences: Vec::new(),
            row_of: HashMap::new(),
            rows: Rows::default(),
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.people.len()
    }

    /// Enrols `person`, or replaces their descriptor (renewal).
    pub(crate) fn upsert(&mut self, person: P, descriptor: &Descriptor) {
        match self.row_of.get(&person) {
            Some(&row) => self.rows.overwrite(row, descriptor),
            None => {
                self.row_of.insert(person.clone(), self.people.len());
                self.people.push(person);
                self.presences.push(Arc::new(RwLock::new(())));
                self.rows.push(descriptor);
            }
        }
    }

    /// Takes `person` out; the returned presence lets the caller wait for
    /// matches already handed out.
    pub(crate) fn remove(&mut self, person: &P) -> Option<Presence> {
        let row = self.row_of.remove(person)?;
        self.people.swap_remove(row);
        let presence = self.presences.swap_remove(row);
        self.rows.swap_remove(row);
        if let Some(moved) = self.people.get(row) {
            self.row_of.insert(moved.clone(), row);
        }
        Some(presence)
    }

    /// Empties the gallery, returning every presence to wait for.
    pub(crate) fn clear(&mut self) -> Vec<Presence> {
        self.people.clear();
        self.row_of.clear();
        self.rows.clear();
        std::mem::take(&mut self.presences)
    }

    pub(crate) fn scan(&self, probe: &Descriptor) -> Option<Scan> {
        distance::scan(&self.rows.values, probe)
    }

    pub(crate) fn person(&self, row: usize) -> (&P, &Presence) {
        (&self.people[row], &self.presences[row])
    }
}

/// Descriptors row after row. Every buffer that held a descriptor is zeroed
/// before it is released, including the old buffer when it grows (a plain
/// `Vec` would free it with the descriptors still in it).
#[derive(Default)]
struct Rows {
    values: Vec<f32>,
}

impl Rows {
    fn push(&mut self, descriptor: &Descriptor) {
        if self.values.capacity() - self.values.len() < DIMENSIONS {
            let wanted = (self.values.capacity() * 2).max(self.values.len() + DIMENSIONS * 64);
            let mut grown = Vec::with_capacity(wanted);
            grown.extend_from_slice(&self.values);
            self.values.zeroize();
            self.values = grown;
        }
        self.values.extend_from_slice(descriptor);
    }

    fn overwrite(&mut self, row: usize, descriptor: &Descriptor) {
        self.values[row * DIMENSIONS..(row + 1) * DIMENSIONS].copy_from_slice(descriptor);
    }

    /// Moves the last row into `row` and zeroes the vacated last row.
    fn swap_remove(&mut self, row: usize) {
        let last = self.values.len() - DIMENSIONS;
        if row * DIMENSIONS != last {
            self.values.copy_within(last.., row * DIMENSIONS);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn descriptor(value: f32) -> Descriptor {
        [value; DIMENSIONS]
    }

    #[test]
    fn swap_remove_keeps_ids_and_rows_aligned() {
        let mut gallery = Gallery::new();
        for person in 0..5u32 {
            gallery.upsert(person, &descriptor(person as f32));
        }
        assert!(gallery.remove(&1).is_some());
        assert!(gallery.remove(&1).is_none());
        assert_eq!(gallery.len(), 4);
        // Person 4's row moved into the hole; searching for it finds person 4.
        let scan = gallery.scan(&descriptor(4.0)).expect("non-empty");
        assert_eq!(*gallery.person(scan.best_index).0, 4);
        assert_eq!(scan.best, 0.0);
        // Nobody is left at 1.0: the nearest are 0 and 2, each 1.0 away per component.
        let scan = gallery.scan(&descriptor(1.0)).expect("non-empty");
        assert_eq!(scan.best, DIMENSIONS as f32);
        assert_eq!(scan.second, DIMENSIONS as f32);
    }

    #[test]
    fn upsert_of_an_enrolled_person_replaces_their_row() {
        let mut gallery = Gallery::new();
        gallery.upsert(7u32, &descriptor(1.0));
        gallery.upsert(7u32, &descriptor(2.0));
        assert_eq!(gallery.len(), 1);
        assert_eq!(gallery.scan(&descriptor(2.0)).map(|s| s.best), Some(0.0));
    }

    #[test]
    fn removed_and_spare_memory_is_zeroed() {
        let mut rows = Rows::default();
        rows.push(&descriptor(1.0));
        rows.push(&descriptor(2.0));
        rows.swap_remove(0);
        assert_eq!(rows.values, descriptor(2.0));
        // The vacated row, now past the length, holds zeros.
        // SAFETY: reads within the allocation's capacity, as f32 (any bits are valid).
        let vacated =
            unsafe { std::slice::from_raw_parts(rows.values.as_ptr().add(DIMENSIONS), DIMENSIONS) };
        assert!(vacated.iter().all(|&v| v == 0.0));
    }
}
