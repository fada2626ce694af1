//! Limen's Open Model Zoo pipeline against the reference
//! (`tools/omz_reference`: OpenCV crops, ONNX Runtime networks) on the
//! single-face fixture photographs: the same aligner region, byte-identical
//! crops, and network outputs within 1e-4 on identical inputs.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use limen_face::omz::{OmzReid, Region};
use limen_face::{
    EntranceReading, FaceEngine, FaceModel, Point, Rect, RgbImage, read_entrance_frame,
};
use serde_json::Value;
use sha2::{Digest, Sha256};

const TOLERANCE: f32 = 1e-4;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn nets() -> &'static OmzReid {
    static NETS: OnceLock<OmzReid> = OnceLock::new();
    NETS.get_or_init(|| {
        OmzReid::load(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models"))
            .expect("the shipped Intel models load")
    })
}

struct Face {
    path: String,
    image: RgbImage,
    rect: Rect,
    record: Value,
}

fn faces() -> Vec<Face> {
    let text = std::fs::read_to_string(fixtures().join("omz/reference.jsonl")).expect("fixture");
    text.lines()
        .map(|line| {
            let record: Value = serde_json::from_str(line).expect("json");
            let path = record["path"].as_str().expect("path").to_string();
            let bytes = std::fs::read(fixtures().join(&path)).expect("image");
            let b: Vec<i64> = numbers(&record["box"]).iter().map(|&v| v as i64).collect();
            Face {
                image: limen_face::decode(&bytes).expect("decodes"),
                rect: Rect::new(b[0], b[1], b[2], b[3]),
                path,
                record,
            }
        })
        .collect()
}

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn sha256(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn max_gap(ours: &[f32], theirs: &[f64]) -> f32 {
    assert_eq!(ours.len(), theirs.len());
    ours.iter()
        .zip(theirs)
        .map(|(a, b)| (f64::from(*a) - b).abs() as f32)
        .fold(0.0, f32::max)
}

#[test]
fn aligner_region_crop_and_points_match_the_reference() {
    let faces = faces();
    assert!(faces.len() >= 50, "{} faces", faces.len());
    for face in &faces {
        let region = Region::around(face.rect, face.image.width(), face.image.height())
            .expect("face inside the image");
        let want: Vec<usize> = numbers(&face.record["region"])
            .iter()
            .map(|&v| v as usize)
            .collect();
        assert_eq!(
            [region.left, region.top, region.right, region.bottom][..],
            want[..],
            "{}",
            face.path
        );
        let crop = nets().aligner_crop(&face.image, region);
        assert_eq!(
            sha256(&crop.pixels),
            face.record["aligner_crop_sha256"],
            "{}: aligner crop differs from OpenCV's",
            face.path
        );
        let output = nets().aligner_output(&crop);
        let gap = max_gap(&output, &numbers(&face.record["aligner_output"]));
        assert!(
            gap <= TOLERANCE,
            "{}: aligner output off by {gap}",
            face.path
        );
    }
}

#[test]
fn chip_and_vector_match_the_reference_on_identical_inputs() {
    for face in &faces() {
        let points = numbers(
            &face.record["points"]
                .as_array()
                .expect("points")
                .concat_values(),
        );
        let points: [Point; 5] =
            std::array::from_fn(|i| Point::new(points[2 * i], points[2 * i + 1]));
        let chip = nets().chip(&face.image, &points).expect("chip");
        assert_eq!(
            sha256(chip.as_raw()),
            face.record["chip_sha256"],
            "{}: chip differs from OpenCV's",
            face.path
        );
        let output = nets().network_output(&chip);
        let gap = max_gap(&output, &numbers(&face.record["output"]));
        assert!(
            gap <= TOLERANCE,
            "{}: network output off by {gap}",
            face.path
        );
    }
}

#[test]
fn the_omz_version_runs_end_to_end_on_dlib_faces() {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models");
    let engine = FaceEngine::load(&models, FaceModel::OMZ_REID_0095).expect("loads");
    let version = engine.model();
    let face = |name: &str| {
        let bytes = std::fs::read(fixtures().join("lfw").join(name)).expect("image");
        let image = limen_face::decode(&bytes).expect("decodes");
        let mut faces = engine.faces(&image);
        assert_eq!(faces.len(), 1, "{name}");
        let face = faces.remove(0);
        // dlib finds the face and judges it; Intel's networks make the
        // vector from dlib's box.
        let want = nets().describe(&image, face.rect).expect("vector");
        assert_eq!(face.descriptor.as_slice(), &want[..], "{name}");
        assert_eq!(face.descriptor.len(), version.dimensions, "{name}");
        let norm = face
            .descriptor
            .as_slice()
            .iter()
            .map(|v| v * v)
            .sum::<f32>();
        assert!((norm - 1.0).abs() < 1e-5, "{name}: squared norm {norm}");
        face.descriptor
    };
    let agassi = [
        face("Andre_Agassi_0005.jpg"),
        face("Andre_Agassi_0016.jpg"),
        face("Andre_Agassi_0027.jpg"),
    ];
    let gul = face("Abdullah_Gul_0011.jpg");
    let limit = version.same_person_distance;
    for (i, a) in agassi.iter().enumerate() {
        for b in &agassi[i + 1..] {
            let d = a.euclidean_distance(b);
            assert!(d < limit, "same person at {d}");
        }
        let d = a.euclidean_distance(&gul);
        assert!(d > limit, "two people at {d}");
    }
}

/// The points as one flat array.
trait ConcatValues {
    fn concat_values(&self) -> Value;
}

impl ConcatValues for Vec<Value> {
    fn concat_values(&self) -> Value {
        Value::Array(
            self.iter()
                .flat_map(|p| p.as_array().expect("pair").clone())
                .collect(),
        )
    }
}

/// The centred version's vector of a face is its back-end applied to the
/// base version's vector of the same face: what an in-place migration
/// computes from a stored vector is what enrolling again would give.
#[test]
fn the_centred_version_derives_from_the_stored_base_vector() {
    let models = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models");
    let base = FaceEngine::load(&models, FaceModel::OMZ_REID_0095).expect("base");
    let centred = FaceEngine::load(&models, FaceModel::OMZ_REID_0095_CENTRED).expect("centred");
    let version = centred.model();
    assert!(version.derives_from(FaceModel::OMZ_REID_0095.id));
    assert!(!FaceModel::OMZ_REID_0095.derives_from(version.id));
    let back_end = version
        .back_end
        .expect("a back-end")
        .load(&models, version.dimensions)
        .expect("loads");
    for name in ["Andre_Agassi_0005.jpg", "Abdullah_Gul_0011.jpg"] {
        let bytes = std::fs::read(fixtures().join("lfw").join(name)).expect("image");
        let image = limen_face::decode(&bytes).expect("decodes");
        let stored = base.faces(&image).remove(0).descriptor;
        let enrolled_again = centred.faces(&image).remove(0).descriptor;
        let migrated = back_end.apply(stored.as_slice()).expect("256 numbers");
        assert_eq!(migrated.as_slice(), enrolled_again.as_slice(), "{name}");
        assert_ne!(migrated.as_slice(), stored.as_slice(), "{name}");
        // At an entrance during the transition, the centred vector is the
        // base's through the back-end (the networks run once), whichever
        // version comes first.
        for (engines, want) in [
            ([&centred, &base], [&enrolled_again, &stored]),
            ([&base, &centred], [&stored, &enrolled_again]),
        ] {
            let EntranceReading::Face { vectors, .. } =
                read_entrance_frame(&engines, None, &bytes).expect("decodes")
            else {
                panic!("{name}: no face at the entrance");
            };
            let got: Vec<&[f32]> = vectors.iter().map(|v| v.as_slice()).collect();
            assert_eq!(got, want.map(|v| v.as_slice()), "{name}");
        }
    }
}
