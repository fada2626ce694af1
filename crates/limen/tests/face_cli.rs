//! The `limen face` and `limen eval` commands as a user runs them.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn lfw(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../face/tests/fixtures/lfw")
        .join(name)
}

fn limen(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_limen"))
        .args(args)
        .output()
        .expect("limen runs");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn temp_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("limen-cli-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn embed_prints_one_line_per_image_in_order_with_given_boxes_and_errors() {
    let dir = temp_dir("embed");
    let list = dir.join("list.txt");
    let agassi = lfw("Andre_Agassi_0005.jpg");
    let missing = dir.join("no-such.jpg");
    std::fs::write(
        &list,
        format!(
            "{}\n{}\t60,70,170,180\n{}\n",
            agassi.display(),
            agassi.display(),
            missing.display()
        ),
    )
    .expect("list");
    let (ok, stdout, stderr) = limen(&[
        "face",
        "embed",
        "--json",
        "--threads",
        "2",
        "--list",
        list.to_str().expect("utf-8"),
        lfw("Abdullah_Gul_0008.jpg").to_str().expect("utf-8"),
    ]);
    std::fs::remove_dir_all(&dir).ok();
    assert!(ok, "{stderr}");
    let lines: Vec<Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(lines.len(), 4);

    let detected = &lines[0];
    assert_eq!(detected["path"], agassi.display().to_string());
    assert_eq!(detected["faces"].as_array().expect("faces").len(), 1);
    assert_eq!(
        detected["embedding"].as_array().expect("vector").len(),
        256,
        "the default model version's vectors"
    );
    assert!(detected["error"].is_null());
    let face = &detected["faces"][0];
    assert_eq!(face["landmarks5"].as_array().expect("points").len(), 5);
    assert!(face["quality"]["passed"].as_bool().expect("verdict"));

    let given = &lines[1];
    assert_eq!(
        given["faces"][0]["box"],
        serde_json::json!([60, 70, 170, 180])
    );
    assert!(given["faces"][0]["score"].is_null());

    assert!(
        lines[2]["error"]
            .as_str()
            .expect("message")
            .contains("cannot read")
    );
    assert!(lines[2]["embedding"].is_null());
    // Several faces: the top-level embedding is the largest face's.
    assert!(lines[3]["faces"].as_array().expect("faces").len() >= 2);
}

#[test]
fn compare_gives_a_verdict() {
    let (ok, same, _) = limen(&[
        "face",
        "compare",
        lfw("Andre_Agassi_0005.jpg").to_str().expect("utf-8"),
        lfw("Andre_Agassi_0016.jpg").to_str().expect("utf-8"),
    ]);
    assert!(ok);
    assert!(same.contains("same person"), "{same}");
    let (ok, different, _) = limen(&[
        "face",
        "compare",
        lfw("Andre_Agassi_0005.jpg").to_str().expect("utf-8"),
        lfw("Bill_Gates_0006.jpg").to_str().expect("utf-8"),
    ]);
    assert!(ok);
    assert!(different.contains("different people"), "{different}");
}

/// An LFW-shaped folder from the fixtures (two sets, images renumbered)
/// with its people.txt.
fn lfw_folder(tag: &str) -> PathBuf {
    let root = temp_dir(tag);
    let people = [
        (
            "Andre_Agassi",
            vec![
                "Andre_Agassi_0002",
                "Andre_Agassi_0003",
                "Andre_Agassi_0005",
                "Andre_Agassi_0016",
                "Andre_Agassi_0027",
                "Andre_Agassi_0029",
            ],
        ),
        ("Bill_Gates", vec!["Bill_Gates_0006", "Bill_Gates_0017"]),
        (
            "David_Beckham",
            vec![
                "David_Beckham_0001",
                "David_Beckham_0012",
                "David_Beckham_0023",
            ],
        ),
        (
            "Abdullah_Gul",
            vec!["Abdullah_Gul_0009", "Abdullah_Gul_0011"],
        ),
        ("Diana_Ross", vec!["Diana_Ross_0001"]),
        ("Damarius_Bilbo", vec!["Damarius_Bilbo_0001"]),
    ];
    // Some photos are among this crate's fixtures, the rest among the face crate's.
    let source = |file: &str| {
        let own = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/lfw")
            .join(format!("{file}.jpg"));
        if own.is_file() {
            own
        } else {
            lfw(&format!("{file}.jpg"))
        }
    };
    for (name, files) in &people {
        std::fs::create_dir_all(root.join(name)).expect("dir");
        for (k, file) in files.iter().enumerate() {
            std::fs::copy(
                source(file),
                root.join(name).join(format!("{name}_{:04}.jpg", k + 1)),
            )
            .expect("copy");
        }
    }
    let listing = |set: &[(&str, Vec<&str>)]| {
        set.iter()
            .map(|(n, f)| format!("{n}\t{}\n", f.len()))
            .collect::<String>()
    };
    let text = format!(
        "2\n3\n{}3\n{}",
        listing(&people[..3]),
        listing(&people[3..])
    );
    std::fs::write(root.join("people.txt"), text).expect("people");
    root
}

#[test]
fn eval_lfw_scores_a_small_people_file() {
    let root = lfw_folder("eval");
    let (ok, stdout, stderr) = limen(&[
        "eval",
        "lfw",
        "--root",
        root.to_str().expect("utf-8"),
        "--people",
        root.join("people.txt").to_str().expect("utf-8"),
        "--pairs",
        "3",
        "--splits",
        "1",
        "--json",
    ]);
    std::fs::remove_dir_all(&root).ok();
    assert!(ok, "{stderr}");
    let summary: Value = serde_json::from_str(&stdout).expect("json summary");
    assert_eq!(summary["images"], 15);
    let verification = summary["verification"].as_array().expect("per version");
    let versions: Vec<&str> = verification
        .iter()
        .map(|v| v["model_version"].as_str().expect("model version"))
        .collect();
    assert_eq!(
        versions,
        [
            "dlib-resnet-v1",
            "dlib-resnet-v1-mirrored",
            "omz-reid-0095",
            "omz-reid-0095-centred"
        ],
        "every model version, by default"
    );
    for version in verification {
        let report = &version["report"];
        let folds = report["folds"].as_array().expect("folds");
        assert_eq!(folds.len(), 2);
        // Damarius_Bilbo's photo has no face the reference finds either.
        let missing: u64 = folds
            .iter()
            .map(|f| f["missing_faces"].as_u64().expect("count"))
            .sum();
        assert!(missing > 0, "{report}");
        assert!(report["mean_accuracy"].as_f64().expect("accuracy") > 0.5);
    }
    let rows = summary["identification"].as_array().expect("rows");
    assert!(rows.len() > 1);
    for row in rows {
        let rank1 = row["single"]["rank1"].as_f64().expect("rank-1 rate");
        assert!((0.0..=1.0).contains(&rank1), "{row}");
    }
}

#[test]
fn eval_liveness_scores_live_faces_and_the_attacks_made_from_them() {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../face/tests/fixtures/liveness");
    let sample = |name: &str| samples.join(format!("sample-image_{name}.jpg"));
    let (t1, f1, agassi) = (sample("T1"), sample("F1"), lfw("Andre_Agassi_0005.jpg"));
    let (ok, out, err) = limen(&[
        "eval",
        "liveness",
        "--per-image",
        "--attacks",
        "--thresholds",
        "0.5",
        t1.to_str().expect("utf-8"),
        f1.to_str().expect("utf-8"),
        agassi.to_str().expect("utf-8"),
    ]);
    assert!(ok, "{err}");
    let mut lines = out.lines();
    let mut per_image: Vec<Value> = (0..3)
        .map(|_| serde_json::from_str(lines.next().expect("a line per image")).expect("json"))
        .collect();
    let score = |v: &Value, key: &str| v[key].as_f64();
    assert!(score(&per_image[0], "bona_fide").expect("T1 checked") >= 0.5);
    assert!(score(&per_image[1], "bona_fide").expect("F1 checked") < 0.5);
    let agassi_line = per_image.remove(2);
    assert!(score(&agassi_line, "bona_fide").expect("face found") >= 0.5);
    for attack in ["screen", "print"] {
        assert!(agassi_line.get(attack).is_some(), "{attack} rendered");
    }
    let summary: Value =
        serde_json::from_str(&lines.collect::<Vec<_>>().join("\n")).expect("summary");
    assert_eq!(summary["images"], 3);
    assert_eq!(summary["bona_fide"]["scores"]["checked"], 3);
    let live_share = summary["bona_fide"]["scores"]["judged_live"][0]["rate"]
        .as_f64()
        .expect("rate");
    assert!((live_share - 2.0 / 3.0).abs() < 1e-9, "{live_share}");
    for attack in ["screen", "print"] {
        let a = &summary["attacks"][attack];
        let presented = a["scores"]["checked"].as_u64().expect("count")
            + a["no_face_found"].as_u64().expect("count");
        assert_eq!(presented, 3, "{attack}");
    }
}

#[test]
fn eval_door_sends_the_protocol_through_a_live_service() {
    let root = lfw_folder("door");
    let (ok, stdout, stderr) = limen(&[
        "eval",
        "door",
        "--root",
        root.to_str().expect("utf-8"),
        "--people",
        root.join("people.txt").to_str().expect("utf-8"),
        // A split that enrols Andre_Agassi, whose other photos are within
        // the default level's threshold of his first.
        "--seed",
        "2",
        "--json",
    ]);
    std::fs::remove_dir_all(&root).ok();
    assert!(ok, "{stderr}");
    let report: Value = serde_json::from_str(&stdout).expect("json report");
    let count = |v: &Value, key: &str| v[key].as_u64().unwrap_or_else(|| panic!("{key}: {v}"));
    let (door, prediction) = (&report["door"], &report["prediction"]);
    // Two of the four people with several photos are enrolled; the two
    // one-photo people are distractors, and Damarius_Bilbo's photo shows
    // no face the enrolment check accepts.
    assert_eq!(count(&door["enrolled_people"], "people"), 2, "{report}");
    assert_eq!(count(&door["distractors"], "people"), 2, "{report}");
    assert!(count(&door["distractors"], "refused") >= 1, "{report}");
    let enrolled =
        count(&door["enrolled_people"], "enrolled") + count(&door["distractors"], "enrolled");
    assert_eq!(count(door, "gallery_people"), enrolled, "{report}");
    // Every probe is answered once, and they are the probes the prediction scored.
    for (kind, predicted) in [("mated", "mated"), ("non_mated", "non_mated")] {
        let answers = &door[kind];
        let answered: u64 = [
            "right_person",
            "someone_else",
            "unknown",
            "poor_quality",
            "no_face",
        ]
        .iter()
        .map(|k| count(answers, k))
        .sum();
        assert_eq!(answered, count(answers, "probes"), "{kind}: {report}");
        assert_eq!(
            count(answers, "probes"),
            count(prediction, predicted),
            "{report}"
        );
        let agreement = &report[format!("{kind}_agreement")];
        let compared: u64 = ["both_accept", "door_only", "prediction_only", "both_refuse"]
            .iter()
            .map(|k| count(agreement, k))
            .sum();
        assert_eq!(compared, count(answers, "probes"), "{kind}: {report}");
    }
    assert!(count(&door["non_mated"], "probes") > 0, "{report}");
    assert!(
        count(&door["mated"], "right_person") >= 1,
        "an enrolled person's other photo opens the door: {report}"
    );
}
