//! Open-set 1:N identification, as an entrance sees it, searched with
//! Limen's own matcher (its normalisation included).
//!
//! People with at least two images are shuffled with a seed; the first
//! half are *enrolled*, the second half *absent*. An enrolled person with
//! more than `k` images is enrolled with their first `k` (one vector each)
//! and their other images are mated probes; absent people's images are
//! non-mated probes. People with one image join the gallery as distractors.
//! A probe's answer is the nearest person by normalised distance.
//!
//! With `pass_frames = 2`, consecutive probe images of one person are fused
//! into one passage, as the server fuses the frames of a passage. LFW holds
//! photographs taken apart, not video: two photos of one person as one
//! passage are more independent than two frames of one approach, so this is
//! an upper bound on what fusion brings.
//!
//! With `gates`, the product's quality gates apply: an enrolment image the
//! enrolment check refuses is not enrolled (a person left with none is not
//! in the gallery, and all their probes are misses), and a probe the
//! entrance check refuses is a miss (or, non-mated, no false match).
//!
//! A face not found is a miss for a mated probe and never a false match.
//! Images on the label-noise list are left out (and reported as such).

use std::collections::{HashMap, HashSet};

use limen_face::{Descriptor, FaceModel};
use limen_matcher::{Calibration, Galleries, Scoring};

use crate::people::Person;
use crate::rng::SplitMix64;

/// What the engine made of one image, as the protocols need it.
#[derive(Debug)]
pub struct ImageFace {
    /// The largest face's vector; `None` when no face was found.
    pub vector: Option<Descriptor>,
    /// Why enrolment would refuse this photo (a stable code), if it would.
    pub enrolment_refusal: Option<String>,
    /// Why the entrance would refuse this photo as a frame, if it would.
    pub entrance_refusal: Option<String>,
}

/// Every image's face, by path relative to the LFW folder.
pub type FaceTable = HashMap<String, ImageFace>;

/// Who is enrolled, who is absent and who is a distractor (indices).
#[derive(Debug, Clone, PartialEq)]
pub struct Split {
    pub enrolled: Vec<usize>,
    pub absent: Vec<usize>,
    pub distractors: Vec<usize>,
}

pub fn split(people: &[Person], seed: u64) -> Split {
    let mut multi: Vec<usize> = (0..people.len())
        .filter(|&i| people[i].images >= 2)
        .collect();
    SplitMix64::new(seed).shuffle(&mut multi);
    let absent = multi.split_off(multi.len() / 2);
    Split {
        enrolled: multi,
        absent,
        distractors: (0..people.len())
            .filter(|&i| people[i].images == 1)
            .collect(),
    }
}

/// Everyone with two or more images enrolled, everyone with one image a
/// stranger at the door: how strangers are met when they are nobody the
/// gallery has seen, as in an evaluation on held-out LFW sets.
pub fn strangers_split(people: &[Person]) -> Split {
    let (enrolled, absent): (Vec<usize>, Vec<usize>) =
        (0..people.len()).partition(|&i| people[i].images >= 2);
    Split {
        enrolled,
        absent,
        distractors: Vec::new(),
    }
}

/// How one identification run is made.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Setup {
    /// Enrolment images per person (one vector each).
    pub enrol_images: usize,
    pub scoring: Scoring,
    /// Probe images fused into one passage (1 or more).
    pub pass_frames: usize,
    /// Whether the product's quality gates apply.
    pub gates: bool,
}

/// The scores of one run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Trial {
    /// Per mated passage: the normalised distance when the nearest person is
    /// the right one, `None` otherwise (wrong person, no face, refused).
    pub mated: Vec<Option<f32>>,
    /// Per non-mated passage: the nearest person's normalised distance,
    /// `None` when there was nothing to search with.
    pub non_mated: Vec<Option<f32>>,
    pub gallery_people: usize,
    /// Enrolled people whose every enrolment image was refused or faceless.
    pub not_enrolled: usize,
    /// Probe images refused by the entrance check (with gates).
    pub refused_probes: usize,
    /// The first image of each mated passage, and the first enrolment image
    /// of its person (for measuring what each refusal reason costs).
    pub mated_probe: Vec<String>,
    pub mated_enrolment: Vec<String>,
    /// The first image of each non-mated passage.
    pub non_mated_probe: Vec<String>,
}

impl Trial {
    /// Several runs as one (each keeps the threshold-free scores).
    pub fn pooled(trials: &[Trial]) -> Trial {
        let mut out = Trial::default();
        for t in trials {
            out.mated.extend(&t.mated);
            out.non_mated.extend(&t.non_mated);
            out.mated_probe.extend(t.mated_probe.iter().cloned());
            out.mated_enrolment
                .extend(t.mated_enrolment.iter().cloned());
            out.non_mated_probe
                .extend(t.non_mated_probe.iter().cloned());
            out.gallery_people += t.gallery_people;
            out.not_enrolled += t.not_enrolled;
            out.refused_probes += t.refused_probes;
        }
        out.gallery_people /= trials.len().max(1);
        out
    }
}

/// The images a run may use: those with a face, not set apart.
struct Usable<'a> {
    faces: &'a FaceTable,
    set_apart: &'a HashSet<String>,
    gates: bool,
}

impl Usable<'_> {
    fn enrolment(&self, path: &str) -> Option<&Descriptor> {
        let face = self.face(path)?;
        if self.gates && face.enrolment_refusal.is_some() {
            return None;
        }
        face.vector.as_ref()
    }

    /// A probe image: `Ok(Some)` to search with, `Ok(None)` for no face,
    /// `Err(())` for refused by the entrance check.
    fn probe(&self, path: &str) -> Result<Option<&Descriptor>, ()> {
        let Some(face) = self.face(path) else {
            return Ok(None);
        };
        if self.gates && face.entrance_refusal.is_some() {
            return Err(());
        }
        Ok(face.vector.as_ref())
    }

    fn face(&self, path: &str) -> Option<&ImageFace> {
        if self.set_apart.contains(path) {
            return None;
        }
        self.faces.get(path)
    }
}

/// The images one run uses, chosen before any face is looked at: who is
/// enrolled with which images and which images are probes. `limen eval
/// door` sends these same images through the service.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Enrolled people with more images than the enrolment takes.
    pub enrolled: Vec<EnrolledPerson>,
    /// Distractors: each image joins the gallery on its own.
    pub distractors: Vec<PersonImages>,
    /// Absent people: each image is a non-mated probe.
    pub absent: Vec<PersonImages>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct EnrolledPerson {
    /// Index into the people list.
    pub person: usize,
    /// The first `k` images.
    pub enrolment: Vec<String>,
    /// The other images: mated probes.
    pub probes: Vec<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PersonImages {
    /// Index into the people list.
    pub person: usize,
    pub images: Vec<String>,
}

/// The plan of a split with `enrol_images` images per enrolled person;
/// set-apart images are neither enrolled nor probed.
pub fn plan(
    people: &[Person],
    set_apart: &HashSet<String>,
    split: &Split,
    enrol_images: usize,
) -> Plan {
    let k = enrol_images.max(1);
    let kept = |who: usize| -> Vec<String> {
        people[who]
            .image_paths()
            .into_iter()
            .filter(|p| !set_apart.contains(p))
            .collect()
    };
    let with_images = |who: &[usize]| -> Vec<PersonImages> {
        who.iter()
            .map(|&person| PersonImages {
                person,
                images: kept(person),
            })
            .filter(|p| !p.images.is_empty())
            .collect()
    };
    Plan {
        enrolled: split
            .enrolled
            .iter()
            .filter_map(|&person| {
                let mut enrolment = kept(person);
                (enrolment.len() > k).then(|| {
                    let probes = enrolment.split_off(k);
                    EnrolledPerson {
                        person,
                        enrolment,
                        probes,
                    }
                })
            })
            .collect(),
        distractors: with_images(&split.distractors),
        absent: with_images(&split.absent),
    }
}

pub fn run(
    people: &[Person],
    faces: &FaceTable,
    set_apart: &HashSet<String>,
    split: &Split,
    setup: &Setup,
    version: FaceModel,
    calibration: &Calibration,
) -> Trial {
    let usable = Usable {
        faces,
        set_apart,
        gates: setup.gates,
    };
    let galleries: Galleries<(), usize> = Galleries::new(
        version.id,
        version.dimensions,
        setup.scoring,
        calibration.clone(),
    );
    let mut trial = Trial::default();
    let plan = plan(people, set_apart, split, setup.enrol_images);
    for enrolled in &plan.enrolled {
        let vectors: Vec<&[f32]> = enrolled
            .enrolment
            .iter()
            .filter_map(|p| usable.enrolment(p))
            .map(Descriptor::as_slice)
            .collect();
        // No usable image, or a set the gallery refuses: not enrolled.
        if vectors.is_empty()
            || galleries
                .enrol(&(), enrolled.person, version.id, &vectors)
                .is_err()
        {
            trial.not_enrolled += 1;
        }
    }
    for distractor in &plan.distractors {
        for path in &distractor.images {
            if let Some(vector) = usable.enrolment(path) {
                // Refusal is impossible for a finite vector of the right model.
                let _ = galleries.enrol(&(), distractor.person, version.id, &[vector.as_slice()]);
            }
        }
    }
    trial.gallery_people = galleries.len(&());

    let frames = setup.pass_frames.max(1);
    for enrolled in &plan.enrolled {
        for pass in enrolled.probes.chunks(frames) {
            let (answer, refused) = search(&galleries, &usable, pass, version);
            trial.refused_probes += refused;
            trial
                .mated
                .push(answer.and_then(|(p, d)| (p == enrolled.person).then_some(d)));
            trial.mated_probe.push(pass[0].clone());
            trial.mated_enrolment.push(enrolled.enrolment[0].clone());
        }
    }
    for absent in &plan.absent {
        for pass in absent.images.chunks(frames) {
            let (answer, refused) = search(&galleries, &usable, pass, version);
            trial.refused_probes += refused;
            trial.non_mated.push(answer.map(|(_, d)| d));
            trial.non_mated_probe.push(pass[0].clone());
        }
    }
    trial
}

/// The nearest person for a passage of probe images, fused as the server
/// fuses a passage's frames; and how many images the entrance refused.
fn search(
    galleries: &Galleries<(), usize>,
    usable: &Usable<'_>,
    pass: &[String],
    version: FaceModel,
) -> (Option<(usize, f32)>, usize) {
    let mut refused = 0;
    let mut vectors = Vec::new();
    for path in pass {
        match usable.probe(path) {
            Ok(Some(v)) => vectors.push(v),
            Ok(None) => {}
            Err(()) => refused += 1,
        }
    }
    let answer = version
        .fuse(&vectors)
        .and_then(|fused| {
            galleries
                .search(&(), version.id, fused.as_slice())
                .ok()
                .flatten()
        })
        .map(|n| (n.person, n.distance));
    (answer, refused)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(axis: usize, wobble: f32) -> Descriptor {
        let mut v = vec![0.0f32; 128];
        v[axis] = 1.0;
        v[127] = wobble;
        Descriptor::from_vec(v)
    }

    fn table(names: &[&str], images: usize) -> (Vec<Person>, FaceTable) {
        let people: Vec<Person> = names
            .iter()
            .map(|n| Person {
                name: n.to_string(),
                images,
            })
            .collect();
        let mut faces = FaceTable::new();
        for (k, person) in people.iter().enumerate() {
            for (i, path) in person.image_paths().into_iter().enumerate() {
                faces.insert(
                    path,
                    ImageFace {
                        vector: Some(unit(k, 0.01 * i as f32)),
                        enrolment_refusal: None,
                        entrance_refusal: None,
                    },
                );
            }
        }
        (people, faces)
    }

    fn setup(enrol_images: usize) -> Setup {
        Setup {
            enrol_images,
            scoring: Scoring::PLAIN,
            pass_frames: 1,
            gates: true,
        }
    }

    #[test]
    fn perfect_vectors_identify_everyone_and_keep_strangers_far() {
        let (people, faces) = table(&["A", "B", "C", "D", "E", "F"], 3);
        let split = split(&people, 3);
        let v = FaceModel::DLIB_RESNET_V1;
        let t = run(
            &people,
            &faces,
            &HashSet::new(),
            &split,
            &setup(1),
            v,
            &Calibration::UNCALIBRATED,
        );
        assert_eq!(t.gallery_people, 3);
        assert_eq!((t.mated.len(), t.non_mated.len()), (6, 9));
        assert!(t.mated.iter().all(|m| m.is_some_and(|d| d < 0.05)));
        assert!(t.non_mated.iter().all(|n| n.is_some_and(|d| d > 1.0)));
        // Two enrolment images leave one probe each.
        let t = run(
            &people,
            &faces,
            &HashSet::new(),
            &split,
            &setup(2),
            v,
            &Calibration::UNCALIBRATED,
        );
        assert_eq!(t.mated.len(), 3);
    }

    #[test]
    fn refusals_missing_faces_and_set_apart_images_count_as_the_protocol_says() {
        let (people, mut faces) = table(&["A", "B", "C", "D"], 2);
        let split = split(&people, 0);
        let enrolled = &people[split.enrolled[0]];
        let absent = &people[split.absent[0]];
        // The first enrolled person's only enrolment photo is refused.
        faces
            .get_mut(&enrolled.image_paths()[0])
            .expect("present")
            .enrolment_refusal = Some("blurred".into());
        // An absent person's photo is refused at the door, another faceless.
        faces
            .get_mut(&absent.image_paths()[0])
            .expect("present")
            .entrance_refusal = Some("too_small".into());
        faces
            .get_mut(&absent.image_paths()[1])
            .expect("present")
            .vector = None;
        let v = FaceModel::DLIB_RESNET_V1;
        let t = run(
            &people,
            &faces,
            &HashSet::new(),
            &split,
            &setup(1),
            v,
            &Calibration::UNCALIBRATED,
        );
        assert_eq!(t.not_enrolled, 1);
        assert_eq!(t.refused_probes, 1);
        assert_eq!(t.mated.iter().filter(|m| m.is_none()).count(), 1);
        assert_eq!(t.non_mated.iter().filter(|n| n.is_none()).count(), 2);
        // Without gates the refused photos are used.
        let open = Setup {
            gates: false,
            ..setup(1)
        };
        let t = run(
            &people,
            &faces,
            &HashSet::new(),
            &split,
            &open,
            v,
            &Calibration::UNCALIBRATED,
        );
        assert_eq!((t.not_enrolled, t.refused_probes), (0, 0));
        assert!(t.mated.iter().all(Option::is_some));
        // A set-apart image is neither enrolled nor probed.
        let apart: HashSet<String> = [enrolled.image_paths()[1].clone()].into();
        let t = run(
            &people,
            &faces,
            &apart,
            &split,
            &open,
            v,
            &Calibration::UNCALIBRATED,
        );
        assert_eq!(
            t.mated.len(),
            1,
            "the set-apart person has one image left: no probe"
        );
    }

    #[test]
    fn the_plan_names_enrolment_images_probes_and_strangers() {
        let (people, _) = table(&["A", "B", "C", "D", "E"], 3);
        let mut people = people;
        people[4].images = 1;
        let split = split(&people, 5);
        let first = &people[split.enrolled[0]];
        let apart: HashSet<String> = [first.image_paths()[1].clone()].into();
        let plan = plan(&people, &apart, &split, 1);
        assert_eq!(plan.enrolled.len(), 2);
        let planned = &plan.enrolled[0];
        assert_eq!(planned.person, split.enrolled[0]);
        assert_eq!(planned.enrolment, vec![first.image_paths()[0].clone()]);
        assert_eq!(planned.probes, vec![first.image_paths()[2].clone()]);
        assert_eq!(plan.distractors.len(), 1);
        assert_eq!(plan.distractors[0].images, people[4].image_paths());
        let absent: usize = plan.absent.iter().map(|a| a.images.len()).sum();
        assert_eq!(absent, 6);
        // Three enrolment images leave a three-image person no probe.
        assert!(super::plan(&people, &apart, &split, 3).enrolled.is_empty());
    }

    #[test]
    fn passes_fuse_consecutive_probes() {
        let (people, faces) = table(&["A", "B", "C", "D"], 5);
        let split = split(&people, 9);
        let pass = Setup {
            pass_frames: 2,
            ..setup(1)
        };
        let t = run(
            &people,
            &faces,
            &HashSet::new(),
            &split,
            &pass,
            FaceModel::DLIB_RESNET_V1_MIRRORED,
            &Calibration::UNCALIBRATED,
        );
        // Four probes each for two enrolled people: two passes each; five
        // images each for two absent people: three passes each.
        assert_eq!((t.mated.len(), t.non_mated.len()), (4, 6));
        assert!(t.mated.iter().all(Option::is_some));
    }
}
