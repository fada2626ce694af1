//! Time per descriptor on one thread, after warm-up. Run with
//! `cargo test -p limen-face --release --test descriptor_speed -- --ignored --nocapture`.
//! On a shared machine, wall time includes waiting for a core; on Linux the
//! thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`) is reported too.

use std::path::Path;
use std::time::Instant;

use limen_dlib_format::DnnModel;
use limen_face::{DescriptorNet, FaceChip, Point, RgbImage};

#[test]
#[ignore = "timing, not correctness: run on an idle machine"]
fn time_per_descriptor() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(root.join("../../models/dlib_face_recognition_resnet_model_v1.dat"))
        .expect("model file");
    let net = DescriptorNet::from_model(&DnnModel::parse_face_resnet(&bytes).expect("model"))
        .expect("runnable");
    let rgb = image::open(root.join("tests/fixtures/lfw/Abba_Eban_0001.jpg"))
        .expect("fixture")
        .to_rgb8();
    let (w, h) = (rgb.width() as usize, rgb.height() as usize);
    let image = RgbImage::from_raw(w, h, rgb.into_raw()).expect("size");
    let landmarks = [
        (153.0, 112.0),
        (139.0, 112.0),
        (97.0, 115.0),
        (113.0, 113.0),
        (132.0, 144.0),
    ]
    .map(|(x, y)| Point::new(x, y));

    let chip = FaceChip::extract(&image, &landmarks).expect("chip");
    for _ in 0..5 {
        net.compute(&chip);
    }
    let runs = 60;
    let (mut wall, mut on_cpu, mut chip_only) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..runs {
        let (start, cpu_start) = (Instant::now(), on_cpu_ms());
        let chip = FaceChip::extract(&image, &landmarks).expect("chip");
        chip_only.push(start.elapsed().as_secs_f64() * 1e3);
        net.compute(&chip);
        wall.push(start.elapsed().as_secs_f64() * 1e3);
        if let (Some(a), Some(b)) = (cpu_start, on_cpu_ms()) {
            on_cpu.push(b - a);
        }
    }
    let flops = 2.0 * net.multiply_adds() as f64;
    chip_only.sort_by(f64::total_cmp);
    eprintln!("chip alone, wall: min {:.3} ms", chip_only[0]);
    for (what, mut times) in [("wall", wall), ("thread CPU", on_cpu)] {
        if times.is_empty() {
            continue;
        }
        times.sort_by(f64::total_cmp);
        let median = times[times.len() / 2];
        eprintln!(
            "chip + descriptor, {what}: min {:.2} ms, median {median:.2} ms over {runs} runs ({:.1} GFLOP/s at the median)",
            times[0],
            flops / median / 1e6
        );
    }
}

/// Time this thread has spent on a CPU, in ms.
#[cfg(target_os = "linux")]
fn on_cpu_ms() -> Option<f64> {
    #[repr(C)]
    struct Timespec {
        seconds: i64,
        nanoseconds: i64,
    }
    unsafe extern "C" {
        fn clock_gettime(clock: i32, time: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut t = Timespec {
        seconds: 0,
        nanoseconds: 0,
    };
    // SAFETY: `t` is a valid, writable timespec for the call's duration.
    let status = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut t) };
    (status == 0).then(|| t.seconds as f64 * 1e3 + t.nanoseconds as f64 / 1e6)
}

#[cfg(not(target_os = "linux"))]
fn on_cpu_ms() -> Option<f64> {
    None
}
