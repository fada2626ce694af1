//! The registry of galleries, one per organisation, for one model version.

use std::collections::HashMap;
use std::fmt;
use std::hash::Hash;
use std::sync::{Arc, Mutex, Weak};

use parking_lot::{RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::decision::{DecisionRule, Identification, Match, UnknownReason};
use crate::gallery::{Gallery, Presence, Ranking};
use crate::{Calibration, MAX_VECTORS_PER_PERSON, MatcherError, Scoring, check_vector};

/// Every organisation's gallery for one model version. While two models run
/// side by side during a transition, each has its own `Galleries`.
///
/// `O` identifies an organisation and `P` a person; the matcher knows nothing
/// else about either.
pub struct Galleries<O, P> {
    model_version: String,
    dimensions: usize,
    scoring: Scoring,
    calibration: Calibration,
    by_organisation: RwLock<HashMap<O, Arc<RwLock<Gallery<P>>>>>,
    /// People removed while a match of them may still be held, for
    /// [`Galleries::wait_for_matches`]; an entry whose matches are all
    /// dropped is dead and pruned.
    departed: Mutex<Departed<O, P>>,
}

/// Removed people, each with their presence while a match of them is held.
type Departed<O, P> = HashMap<(O, P), Weak<RwLock<()>>>;

/// The nearest enrolled person and the two smallest normalised distances.
#[derive(Debug, Clone, PartialEq)]
pub struct Nearest<P> {
    pub person: P,
    pub distance: f32,
    /// Distance to the second-nearest person; `None` when only one is enrolled.
    pub second_distance: Option<f32>,
    /// People in the gallery searched.
    pub gallery_people: usize,
}

impl<O, P> fmt::Debug for Galleries<O, P> {
    // Counts only: a gallery's contents are biometric data.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Galleries")
            .field("model_version", &self.model_version)
            .field("organisations", &self.by_organisation.read().len())
            .finish()
    }
}

impl<O: Eq + Hash + Clone, P: Clone + Eq + Hash> Galleries<O, P> {
    /// Galleries of `model_version`'s vectors of `dimensions` numbers,
    /// normalised by `scoring` and decided by `calibration` (both that
    /// version's).
    pub fn new(
        model_version: impl Into<String>,
        dimensions: usize,
        scoring: Scoring,
        calibration: Calibration,
    ) -> Self {
        Self {
            model_version: model_version.into(),
            dimensions,
            scoring,
            calibration,
            by_organisation: RwLock::new(HashMap::new()),
            departed: Mutex::new(HashMap::new()),
        }
    }

    pub fn model_version(&self) -> &str {
        &self.model_version
    }

    pub fn dimensions(&self) -> usize {
        self.dimensions
    }

    pub fn scoring(&self) -> &Scoring {
        &self.scoring
    }

    pub fn calibration(&self) -> &Calibration {
        &self.calibration
    }

    /// Number of people enrolled in `organisation`'s gallery.
    pub fn len(&self, organisation: &O) -> usize {
        self.gallery(organisation).map_or(0, |g| g.read().len())
    }

    /// Every organisation's gallery with the number of people it holds.
    pub fn sizes(&self) -> Vec<(O, usize)> {
        self.by_organisation
            .read()
            .iter()
            .map(|(organisation, gallery)| (organisation.clone(), gallery.read().len()))
            .collect()
    }

    /// Enrols `person` in `organisation`'s gallery with their vectors (1 to
    /// [`MAX_VECTORS_PER_PERSON`]), or replaces the vectors they had
    /// (re-enrolment, renewal). The vectors are copied; the caller zeroises
    /// its own.
    pub fn enrol(
        &self,
        organisation: &O,
        person: P,
        model_version: &str,
        vectors: &[&[f32]],
    ) -> Result<(), MatcherError> {
        self.check_model(model_version)?;
        if vectors.is_empty() || vectors.len() > MAX_VECTORS_PER_PERSON {
            return Err(MatcherError::VectorCount(vectors.len()));
        }
        vectors
            .iter()
            .try_for_each(|v| check_vector(v, self.dimensions))?;
        let gallery = {
            let mut by_organisation = self.by_organisation.write();
            Arc::clone(
                by_organisation
                    .entry(organisation.clone())
                    .or_insert_with(|| {
                        Arc::new(RwLock::new(Gallery::new(
                            self.dimensions,
                            self.scoring,
                            self.calibration.vector_penalty,
                        )))
                    }),
            )
        };
        gallery.write().enrol(person, vectors);
        Ok(())
    }

    /// Brings every gallery up to date with the changes made so far, now
    /// rather than at its next search (which does it on its own thread).
    /// After loading many people (at start-up), this measures every new
    /// vector's neighbourhood together, split across `threads` threads, so
    /// that the first search does not.
    pub fn refresh_all(&self, threads: usize) {
        let galleries: Vec<_> = self.by_organisation.read().values().cloned().collect();
        for gallery in galleries {
            gallery.write().refresh(threads);
        }
    }

    /// Takes `person` out of `organisation`'s gallery (withdrawal, removal,
    /// erasure) and zeroes their descriptor: once this returns, no search
    /// finds them. A match of them handed out before may still be held
    /// (its access system not yet told); [`Galleries::wait_for_matches`]
    /// waits for it. Returns whether the person was enrolled.
    pub fn remove(&self, organisation: &O, person: &P) -> bool {
        let Some(gallery) = self.gallery(organisation) else {
            return false;
        };
        let presence = gallery.write().remove(person);
        match presence {
            Some(presence) => {
                self.depart([((organisation.clone(), person.clone()), presence)]);
                true
            }
            None => false,
        }
    }

    /// Drops `organisation`'s whole gallery (the organisation is deleted),
    /// as [`Galleries::remove`] does for each of its people. Returns how
    /// many people it held.
    pub fn remove_organisation(&self, organisation: &O) -> usize {
        let Some(gallery) = self.by_organisation.write().remove(organisation) else {
            return 0;
        };
        // A search that fetched this gallery before it left the map may still
        // be running; clearing under the write lock waits for it.
        let presences = gallery.write().clear();
        let people = presences.len();
        self.depart(
            presences
                .into_iter()
                .map(|(person, presence)| ((organisation.clone(), person), presence)),
        );
        people
    }

    /// Waits until every match of `person` handed out before their removal
    /// has been dropped; at once when none is held. Blocks: not from a
    /// thread that holds such a match.
    pub fn wait_for_matches(&self, organisation: &O, person: &P) {
        let key = (organisation.clone(), person.clone());
        let held = self.lock_departed().get(&key).and_then(Weak::upgrade);
        if let Some(presence) = held {
            drop(presence.write());
        }
        let mut departed = self.lock_departed();
        if departed.get(&key).is_some_and(|w| w.strong_count() == 0) {
            departed.remove(&key);
        }
    }

    /// Remembers the removed people whose matches may still be held, and
    /// forgets those whose matches are all dropped.
    fn depart(&self, removed: impl IntoIterator<Item = ((O, P), Presence)>) {
        let mut departed = self.lock_departed();
        departed.retain(|_, presence| presence.strong_count() > 0);
        for (key, presence) in removed {
            // Only a held match keeps the presence alive past this call.
            departed.insert(key, Arc::downgrade(&presence));
        }
    }

    fn lock_departed(&self) -> std::sync::MutexGuard<'_, Departed<O, P>> {
        self.departed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The nearest person in `organisation`'s gallery, without any decision;
    /// `None` when the gallery is empty. For evaluation and calibration; an
    /// entrance uses [`Galleries::identify`].
    pub fn search(
        &self,
        organisation: &O,
        model_version: &str,
        probe: &[f32],
    ) -> Result<Option<Nearest<P>>, MatcherError> {
        self.nearest(organisation, model_version, probe, Gallery::rank)
    }

    /// [`Galleries::search`] through the compressed pass whatever the
    /// gallery's size, where `search` compares a small gallery exactly: so
    /// that the compressed pass can be measured on small galleries too
    /// (the matcher's tests on lfw-dev, `limen bench matcher`).
    pub fn search_compressed(
        &self,
        organisation: &O,
        model_version: &str,
        probe: &[f32],
    ) -> Result<Option<Nearest<P>>, MatcherError> {
        self.nearest(organisation, model_version, probe, Gallery::rank_compressed)
    }

    /// [`Galleries::search`] comparing the probe with every vector in f32,
    /// without the compressed first pass: the reference that search is
    /// measured against (`limen bench matcher`, the matcher's tests).
    pub fn search_exact(
        &self,
        organisation: &O,
        model_version: &str,
        probe: &[f32],
    ) -> Result<Option<Nearest<P>>, MatcherError> {
        self.nearest(organisation, model_version, probe, Gallery::rank_exact)
    }

    fn nearest(
        &self,
        organisation: &O,
        model_version: &str,
        probe: &[f32],
        rank: fn(&Gallery<P>, &[f32]) -> Option<Ranking>,
    ) -> Result<Option<Nearest<P>>, MatcherError> {
        self.check_model(model_version)?;
        check_vector(probe, self.dimensions)?;
        let Some(gallery) = self.gallery(organisation) else {
            return Ok(None);
        };
        let gallery = current(&gallery);
        Ok(rank(&gallery, probe).map(|ranking| Nearest {
            person: gallery.person(ranking.best.0).0.clone(),
            distance: ranking.best.1,
            second_distance: ranking.second.map(|(_, d)| d),
            gallery_people: gallery.len(),
        }))
    }

    /// Searches `organisation`'s gallery with `probe`, the fused vector of
    /// a passage of `frames` frames, and applies `rule`. Once its person is
    /// removed, [`Galleries::wait_for_matches`] waits for the match to be
    /// dropped: keep it until the access system has been told.
    pub fn identify(
        &self,
        organisation: &O,
        model_version: &str,
        probe: &[f32],
        frames: usize,
        rule: &DecisionRule,
    ) -> Result<Identification<P>, MatcherError> {
        self.check_model(model_version)?;
        check_vector(probe, self.dimensions)?;
        let Some(gallery) = self.gallery(organisation) else {
            return Ok(Identification::Unknown(UnknownReason::EmptyGallery));
        };
        let gallery = current(&gallery);
        let Some(ranking) = gallery.rank(probe) else {
            return Ok(Identification::Unknown(UnknownReason::EmptyGallery));
        };
        let (best, distance) = ranking.best;
        let second_distance = ranking.second.map_or(f32::INFINITY, |(_, d)| d);
        let threshold = self
            .calibration
            .threshold(rule.level, gallery.len(), frames);
        if let Some(reason) = rule.reject(threshold, distance, second_distance) {
            return Ok(Identification::Unknown(reason));
        }
        let (person, presence) = gallery.person(best);
        // Taken while the gallery is still read-locked, so a remover cannot
        // slip in between finding the person and holding off their removal.
        let lease = presence.read_arc();
        Ok(Identification::Matched(Match::new(
            person.clone(),
            distance,
            lease,
        )))
    }

    fn gallery(&self, organisation: &O) -> Option<Arc<RwLock<Gallery<P>>>> {
        self.by_organisation.read().get(organisation).cloned()
    }

    fn check_model(&self, model_version: &str) -> Result<(), MatcherError> {
        if model_version == self.model_version {
            Ok(())
        } else {
            Err(MatcherError::ModelMismatch {
                expected: self.model_version.clone(),
                given: model_version.to_owned(),
            })
        }
    }
}

/// `gallery` read-locked with its offsets current: the first search after
/// changes refreshes them under the write lock, then reads on.
fn current<P: Clone + Eq + Hash>(gallery: &RwLock<Gallery<P>>) -> RwLockReadGuard<'_, Gallery<P>> {
    let read = gallery.read();
    if !read.is_stale() {
        return read;
    }
    drop(read);
    let mut write = gallery.write();
    write.refresh(1);
    RwLockWriteGuard::downgrade(write)
}
