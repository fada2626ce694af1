//! The whole engine against the reference on identical boxes: our decode,
//! our landmarks from the reference's box, our chip and our descriptor must
//! give dlib's vectors (median cosine ≥ 0.99999, minimum ≥ 0.9999) and
//! dlib's landmarks exactly. Also the enrolment rules.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use limen_face::{
    CROP_FACE_SHARE, EnrolmentError, FaceEngine, FaceModel, FoundFace, FrameProblem,
    HogFaceDetector, Point, Rect, RgbImage,
};
use serde_json::Value;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn models() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models")
}

/// dlib's own descriptors, for comparison with the reference.
fn engine() -> &'static FaceEngine {
    static ENGINE: OnceLock<FaceEngine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        FaceEngine::load(models(), FaceModel::DLIB_RESNET_V1).expect("the repository's models load")
    })
}

/// The version Limen enrols with by default.
fn mirrored() -> &'static FaceEngine {
    static ENGINE: OnceLock<FaceEngine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        FaceEngine::load(models(), FaceModel::DLIB_RESNET_V1_MIRRORED)
            .expect("the repository's models load")
    })
}

fn reference() -> Vec<Value> {
    let text = std::fs::read_to_string(fixtures().join("reference.jsonl")).expect("reference");
    text.lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect()
}

fn cosine(a: &[f32], b: &[f64]) -> f64 {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| f64::from(*x) * y).sum();
    let na: f64 = a.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>().sqrt();
    let nb: f64 = b.iter().map(|y| y.powi(2)).sum::<f64>().sqrt();
    dot / (na * nb)
}

fn numbers(v: &Value) -> Vec<f64> {
    v.as_array()
        .expect("array")
        .iter()
        .map(|x| x.as_f64().expect("number"))
        .collect()
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(fixtures().join(rel)).expect("fixture image")
}

#[test]
fn descriptors_and_landmarks_match_dlib_on_the_reference_boxes() {
    let mut cosines = Vec::new();
    let mut landmark_errors = Vec::new();
    for row in reference() {
        let image = limen_face::decode(&read(row["path"].as_str().expect("path"))).expect("decode");
        for face in row["faces"].as_array().expect("faces") {
            let b = numbers(&face["box"]);
            let rect = Rect::new(b[0] as i64, b[1] as i64, b[2] as i64, b[3] as i64);
            let ours = engine()
                .face_in_box(&image, rect)
                .expect("a chip for a real face");
            cosines.push(cosine(
                ours.descriptor.as_slice(),
                &numbers(&face["embedding"]),
            ));
            let theirs: Vec<Point> = face["landmarks5"]
                .as_array()
                .expect("landmarks")
                .iter()
                .map(|p| {
                    let xy = numbers(p);
                    Point::new(xy[0], xy[1])
                })
                .collect();
            let mean = ours
                .landmarks
                .iter()
                .zip(&theirs)
                .map(|(a, b)| (a.x - b.x).hypot(a.y - b.y))
                .sum::<f64>()
                / 5.0;
            landmark_errors.push(mean);
        }
    }
    assert!(cosines.len() >= 60, "only {} faces", cosines.len());
    cosines.sort_by(f64::total_cmp);
    let (min, median) = (cosines[0], cosines[cosines.len() / 2]);
    let worst_landmarks = landmark_errors.iter().copied().fold(0.0, f64::max);
    eprintln!(
        "{} faces: cosine min {min:.9}, median {median:.9}; worst landmark error {worst_landmarks} px",
        cosines.len()
    );
    // Issue 14's agreement bounds for the descriptor's arithmetic (Winograd
    // rounds differently from dlib's direct convolution).
    assert!(median >= 0.99999, "median cosine {median}");
    assert!(min >= 0.9999, "minimum cosine {min}");
    // Decoding and landmarks reproduce dlib's arithmetic exactly.
    assert_eq!(worst_landmarks, 0.0, "landmarks differ from dlib's");
}

#[test]
fn enrolment_keeps_one_vector_per_good_frame_and_sets_the_rest_aside() {
    let gul_a = read("lfw/Abdullah_Gul_0011.jpg");
    let agassi_a = read("lfw/Andre_Agassi_0005.jpg");
    let agassi_b = read("lfw/Andre_Agassi_0016.jpg");
    let engine = mirrored();
    let limit = engine.model().same_person_distance;

    let enrolled = engine
        .enrol(&[&agassi_a, &agassi_b], None)
        .expect("two good photos of one person enrol");
    assert_eq!(enrolled.faces.len(), 2);
    assert!(enrolled.set_aside.is_empty());
    let probe = engine
        .analyze(&read("lfw/Andre_Agassi_0027.jpg"))
        .expect("decode");
    let nearest = probe
        .iter()
        .flat_map(|p| {
            enrolled
                .faces
                .iter()
                .map(|f| p.descriptor.euclidean_distance(&f.vector))
        })
        .fold(f32::INFINITY, f32::min);
    assert!(nearest < limit, "distance {nearest}");
    for face in &enrolled.faces {
        let norm = face
            .vector
            .as_slice()
            .iter()
            .map(|v| v * v)
            .sum::<f32>()
            .sqrt();
        assert!(
            (norm - 1.0).abs() < 1e-5,
            "mirrored vectors have unit length: {norm}"
        );
    }

    // A third person in a sitting of three is outvoted and set aside.
    let outvoted = engine
        .enrol(&[&agassi_a, &gul_a, &agassi_b], None)
        .expect("two of three agree");
    assert_eq!(
        outvoted.faces.iter().map(|f| f.frame).collect::<Vec<_>>(),
        [1, 3]
    );
    assert!(matches!(
        outvoted.set_aside.as_slice(),
        [limen_face::SetAside {
            frame: 2,
            problem: FrameProblem::Disagrees
        }]
    ));
    // Two people and no majority: refused.
    assert!(matches!(
        engine.enrol(&[&agassi_a, &gul_a], None),
        Err(EnrolmentError::FramesDisagree)
    ));
    assert!(matches!(
        engine.enrol(&[], None),
        Err(EnrolmentError::FrameCount(0))
    ));
    let six = [&agassi_a[..]; 6];
    assert!(matches!(
        engine.enrol(&six, None),
        Err(EnrolmentError::FrameCount(6))
    ));

    // A frame without a face is set aside; the good one is kept.
    let one_good = engine
        .enrol(&[&agassi_a, &read("lfw/Damarius_Bilbo_0001.jpg")], None)
        .expect("one good frame is enough");
    assert_eq!(one_good.faces.len(), 1);
    assert!(matches!(
        one_good.set_aside.as_slice(),
        [limen_face::SetAside {
            frame: 2,
            problem: FrameProblem::NoFace
        }]
    ));
    // Small faces in the background do not stop an enrolment; two faces of
    // a like size do.
    assert_eq!(
        engine
            .enrol(&[&read("lfw/Abdullah_Gul_0008.jpg")], None)
            .expect("one main face")
            .faces
            .len(),
        1
    );
    match engine.enrol(&[&read("lfw/Abdullah_Gul_0016.jpg")], None) {
        Err(EnrolmentError::NoUsableFrame(problems)) => assert!(
            matches!(
                problems.as_slice(),
                [limen_face::SetAside {
                    frame: 1,
                    problem: FrameProblem::SeveralFaces
                }]
            ),
            "{problems:?}"
        ),
        other => panic!("two like faces must be refused, got {other:?}"),
    }
    match engine.enrol(&[&agassi_a[..agassi_a.len() / 2]], None) {
        Err(e @ EnrolmentError::NoUsableFrame(_)) => {
            assert!(
                e.to_string()
                    .starts_with("no frame could be used: frame 1: "),
                "{e}"
            )
        }
        other => panic!("a truncated frame must be refused, got {other:?}"),
    }
}

#[test]
fn a_face_too_small_is_refused_with_its_reason() {
    // The same photo shrunk to a quarter: the face is there but too small.
    let image = limen_face::decode(&read("lfw/David_Beckham_0001.jpg")).expect("decode");
    let (w, h) = (image.width() / 4, image.height() / 4);
    let mut small = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        for x in 0..w {
            small.extend_from_slice(&image.pixel(x * 4, y * 4));
        }
    }
    let small = limen_face::RgbImage::from_raw(w, h, small).expect("sized");
    // The reference's box for this photo, scaled by the same quarter.
    let enrolment = limen_face::QualityThresholds::enrolment();
    let face = engine()
        .finder()
        .locate(&small, Rect::new(19, 21, 41, 44), None);
    let verdict = enrolment.judge(&face.quality.measurements);
    assert!(
        verdict.issues.contains(&limen_face::QualityIssue::TooSmall),
        "{verdict:?}"
    );
    let full = engine()
        .finder()
        .locate(&image, Rect::new(76, 86, 165, 176), None);
    assert!(enrolment.judge(&full.quality.measurements).passed);
}

#[test]
fn a_face_is_found_again_near_where_it_was_and_nothing_near_an_empty_spot() {
    let image = limen_face::decode(&read("lfw/Andre_Agassi_0005.jpg")).expect("decode");
    let finder = engine().finder();
    let whole = finder.find(&image);
    assert_eq!(whole.len(), 1);
    let face = whole[0].rect;
    let again = finder.find_near(&image, face);
    assert_eq!(again.len(), 1);
    assert!(
        again[0].rect.iou(&face) > 0.8,
        "{:?} vs {face:?}",
        again[0].rect
    );
    assert!(again[0].quality.passed);
    // A face a little off and smaller than it was is still looked for at
    // the right place and scale.
    let (w, h) = (face.width() / 4, face.height() / 4);
    let drifted = Rect::new(face.left + w, face.top, face.right, face.bottom - h);
    assert_eq!(finder.find_near(&image, drifted).len(), 1);
    // A small box in the corner, partly outside the image: nothing there.
    assert!(
        finder
            .find_near(&image, Rect::new(-10, -10, 20, 20))
            .is_empty()
    );
}

/// The box, landmarks, score and verdict of a found face, exactly.
fn found_exactly(face: &FoundFace) -> (Rect, [(u64, u64); 5], Option<u64>, bool) {
    (
        face.rect,
        face.landmarks.map(|p| (p.x.to_bits(), p.y.to_bits())),
        face.score.map(f64::to_bits),
        face.quality.passed,
    )
}

/// The largest of `find`'s faces.
fn largest_found(image: &RgbImage) -> Option<FoundFace> {
    engine()
        .finder()
        .find(image)
        .into_iter()
        .max_by_key(|f| f.rect.area())
}

/// Whether the first, narrow scan of `find_largest` finds a face in
/// `image`, as the finder runs it (upsampled once below 480 px).
fn narrow_scan_finds(image: &RgbImage) -> bool {
    let detector = HogFaceDetector::from_bytes(
        &std::fs::read(models().join("dlib_frontal_face_detector_hog.svm")).expect("detector"),
    )
    .expect("parses");
    let side = image.width().max(image.height()) as f64;
    let upsample = u32::from(image.width().min(image.height()) < 480);
    !detector
        .detect_sized(image, upsample, (side * CROP_FACE_SHARE) as i64..=i64::MAX)
        .is_empty()
}

#[test]
fn the_largest_face_of_a_crop_and_of_a_whole_frame_is_the_one_find_chooses() {
    let finder = engine().finder();
    // A face crop, as an agent sends it: the narrow scan finds its face.
    let crop = limen_face::decode(&read("lfw/Andre_Agassi_0005.jpg")).expect("decode");
    assert!(narrow_scan_finds(&crop));
    let expected = largest_found(&crop).expect("a face");
    let got = finder.find_largest(&crop).expect("a face");
    assert_eq!(found_exactly(&got), found_exactly(&expected));

    // The same face, small in a whole 640×480 frame (a device that sends
    // its frames as they are): the narrow scan finds nothing there and the
    // whole image is scanned.
    let (width, height, left, top) = (640, 480, 300, 150);
    let mut pixels = vec![90u8; width * height * 3];
    for y in 0..crop.height() {
        let row = crop.width() * 3;
        let to = ((top + y) * width + left) * 3;
        pixels[to..to + row].copy_from_slice(&crop.as_raw()[y * row..(y + 1) * row]);
    }
    let frame = RgbImage::from_raw(width, height, pixels).expect("sized");
    assert!(!narrow_scan_finds(&frame));
    let expected = largest_found(&frame).expect("a face");
    assert!(expected.rect.width() < 150, "{:?}", expected.rect);
    let got = finder.find_largest(&frame).expect("a face");
    assert_eq!(found_exactly(&got), found_exactly(&expected));

    // Nothing to find: nothing found.
    let blank = RgbImage::from_raw(200, 200, vec![128; 200 * 200 * 3]).expect("sized");
    assert!(finder.find_largest(&blank).is_none());
}
