//! Prometheus metrics, served on a listener of their own (`metrics_bind`,
//! off by default) so that they never share the public address; written
//! with `limen-metrics`, as the camera agent's are.
//!
//! No personal data in any label: entrances, organisations and model
//! versions by id, outcomes and reasons by their stable codes; never a
//! person, a name, an e-mail address or an ACS id.

use std::fmt::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http;
use axum::response::IntoResponse;
use axum::routing::get;
use limen_domain::{Decision, EntranceId};
use limen_metrics::{CONTENT_TYPE, Counters, escape, gauge, header};

use crate::AppState;

/// Upper bounds (seconds) of the decision latency histogram's buckets: a
/// door answers within a few hundred milliseconds, a busy one in seconds.
const LATENCY_BUCKETS: [f64; 11] = [0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0];

/// Why an access system gave no decision (the entrance's door was denied).
#[derive(Debug, Clone, Copy)]
pub(crate) enum AccessSystemError {
    /// Its connector could not be built (no URL or secret stored, a
    /// refused address).
    NotUsable,
    /// It was asked and did not answer with a decision.
    NoDecision,
}

impl AccessSystemError {
    fn code(self) -> &'static str {
        match self {
            AccessSystemError::NotUsable => "not_usable",
            AccessSystemError::NoDecision => "no_decision",
        }
    }
}

/// Why a frame from a device was not decided.
#[derive(Debug, Clone, Copy)]
pub(crate) enum FrameRefused {
    /// The device sent faster than `device_frames_per_minute`.
    RateLimited,
    /// The engine's queue was full.
    Busy,
}

impl FrameRefused {
    fn code(self) -> &'static str {
        match self {
            FrameRefused::RateLimited => "rate_limited",
            FrameRefused::Busy => "busy",
        }
    }
}

/// The counters, shared by every request of the instance.
#[derive(Default)]
pub struct Metrics {
    decisions: Counters<2>,
    frames_refused: Counters<2>,
    decision_latency: Histogram,
    enrolments: Counters<1>,
    frames_set_aside: Counters<1>,
    access_system_errors: Counters<2>,
}

impl Metrics {
    pub(crate) fn decided(&self, entrance: &EntranceId, decision: Decision, took: Duration) {
        self.decisions
            .add([entrance.as_str().to_owned(), decision.as_str().to_owned()]);
        self.decision_latency.observe(took);
    }

    pub(crate) fn frame_refused(&self, entrance: &EntranceId, refused: FrameRefused) {
        self.frames_refused
            .add([entrance.as_str().to_owned(), refused.code().to_owned()]);
    }

    /// An enrolment's outcome (`enrolled`, or why it was refused) and the
    /// reason for each frame it left out.
    pub(crate) fn enrolment<'a>(
        &self,
        outcome: &'static str,
        set_aside: impl IntoIterator<Item = &'a str>,
    ) {
        self.enrolments.add([outcome.to_owned()]);
        for reason in set_aside {
            self.frames_set_aside.add([reason.to_owned()]);
        }
    }

    pub(crate) fn access_system_error(&self, entrance: &EntranceId, error: AccessSystemError) {
        self.access_system_errors
            .add([entrance.as_str().to_owned(), error.code().to_owned()]);
    }
}

/// The routes of the metrics listener.
pub fn routes(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/metrics", get(scrape))
        .with_state(state)
}

async fn scrape(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    (
        [(http::header::CONTENT_TYPE, CONTENT_TYPE)],
        exposition(&state),
    )
}

/// Serves what `exposition` writes at `/metrics` on `listener`, for a
/// process other than `limen serve` (the camera agent's
/// `--metrics-bind`).
pub async fn serve_exposition<F>(
    listener: tokio::net::TcpListener,
    exposition: F,
) -> std::io::Result<()>
where
    F: Fn() -> String + Clone + Send + Sync + 'static,
{
    let router = Router::new().route(
        "/metrics",
        get(move || {
            let exposition = exposition.clone();
            async move { ([(http::header::CONTENT_TYPE, CONTENT_TYPE)], exposition()) }
        }),
    );
    axum::serve(listener, router).await
}

/// Everything, in Prometheus's text exposition format.
fn exposition(state: &AppState) -> String {
    let metrics = &state.metrics;
    let mut out = String::new();
    metrics.decisions.write(
        &mut out,
        "limen_decisions_total",
        "Frames decided at entrances, by entrance and decision.",
        ["entrance", "decision"],
    );
    metrics.frames_refused.write(
        &mut out,
        "limen_frames_refused_total",
        "Frames from devices not decided: sent too fast, or the engine's queue was full.",
        ["entrance", "reason"],
    );
    metrics.decision_latency.write(
        &mut out,
        "limen_decision_seconds",
        "Time from a frame's arrival to its decision.",
    );
    metrics.enrolments.write(
        &mut out,
        "limen_enrolments_total",
        "Enrolments: enrolled, or the reason they were refused.",
        ["outcome"],
    );
    metrics.frames_set_aside.write(
        &mut out,
        "limen_enrolment_frames_set_aside_total",
        "Enrolment frames left out, by reason.",
        ["reason"],
    );
    metrics.access_system_errors.write(
        &mut out,
        "limen_access_system_errors_total",
        "Access system (connector) requests that gave no decision, by entrance and kind.",
        ["entrance", "kind"],
    );

    header(
        &mut out,
        "limen_gallery_people",
        "gauge",
        "People in each gallery on this instance, by organisation and model version.",
    );
    let mut sizes = state.services.gallery_sizes();
    sizes.sort_by(|a, b| {
        (a.organisation.as_str(), a.model_version.as_str())
            .cmp(&(b.organisation.as_str(), b.model_version.as_str()))
    });
    for size in sizes {
        let _ = writeln!(
            out,
            "limen_gallery_people{{organisation=\"{}\",model_version=\"{}\"}} {}",
            escape(size.organisation.as_str()),
            escape(size.model_version.as_str()),
            size.people
        );
    }
    let load = state.services.engine_load();
    gauge(
        &mut out,
        "limen_engine_jobs_running",
        "Face engine jobs running.",
        load.running as u64,
    );
    header(
        &mut out,
        "limen_engine_jobs_waiting",
        "gauge",
        "Face engine jobs waiting for a worker, by kind (the frames queue).",
    );
    let _ = writeln!(
        out,
        "limen_engine_jobs_waiting{{work=\"entrance\"}} {}",
        load.entrance_waiting
    );
    let _ = writeln!(
        out,
        "limen_engine_jobs_waiting{{work=\"enrolment\"}} {}",
        load.enrolment_waiting
    );
    out
}

/// A histogram of durations over [`LATENCY_BUCKETS`].
#[derive(Default)]
struct Histogram {
    /// Observations at most each bound (not cumulative; summed when written).
    buckets: [AtomicU64; LATENCY_BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    fn observe(&self, took: Duration) {
        let seconds = took.as_secs_f64();
        if let Some(bucket) = LATENCY_BUCKETS.iter().position(|&bound| seconds <= bound) {
            self.buckets[bucket].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    fn write(&self, out: &mut String, name: &str, help: &str) {
        header(out, name, "histogram", help);
        let mut cumulative = 0;
        for (bound, bucket) in LATENCY_BUCKETS.iter().zip(&self.buckets) {
            cumulative += bucket.load(Ordering::Relaxed);
            let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}");
        let _ = writeln!(out, "{name}_count {count}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_histogram_is_cumulative_and_counts_what_no_bucket_holds() {
        let histogram = Histogram::default();
        for millis in [10, 40, 40, 700, 90_000] {
            histogram.observe(Duration::from_millis(millis));
        }
        let mut out = String::new();
        histogram.write(&mut out, "t", "test");
        assert!(out.contains("t_bucket{le=\"0.025\"} 1\n"), "{out}");
        assert!(out.contains("t_bucket{le=\"0.05\"} 3\n"), "{out}");
        assert!(out.contains("t_bucket{le=\"1\"} 4\n"), "{out}");
        assert!(out.contains("t_bucket{le=\"60\"} 4\n"), "{out}");
        assert!(out.contains("t_bucket{le=\"+Inf\"} 5\n"), "{out}");
        assert!(out.contains("t_sum 90.79\n"), "{out}");
        assert!(out.contains("t_count 5\n"), "{out}");
    }
}
