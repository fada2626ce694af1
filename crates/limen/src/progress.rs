//! A progress line for long jobs: drawn on standard error when it is a
//! terminal (done, rate, time left), silent in pipes and logs.

use std::io::{IsTerminal, Write};
use std::time::{Duration, Instant};

pub struct Progress {
    label: String,
    total: usize,
    done: usize,
    started: Instant,
    drawn: Option<Instant>,
    visible: bool,
}

impl Progress {
    pub fn new(label: impl Into<String>, total: usize) -> Progress {
        Progress {
            label: label.into(),
            total,
            done: 0,
            started: Instant::now(),
            drawn: None,
            visible: std::io::stderr().is_terminal(),
        }
    }

    pub fn advance(&mut self, by: usize) {
        self.done = (self.done + by).min(self.total);
        let due = self
            .drawn
            .is_none_or(|at| at.elapsed() >= Duration::from_millis(200));
        if self.visible && (due || self.done == self.total) {
            self.draw();
        }
    }

    /// Clears the line.
    pub fn finish(self) {
        if self.visible {
            eprint!("\r\x1b[2K");
            let _ = std::io::stderr().flush();
        }
    }

    fn draw(&mut self) {
        self.drawn = Some(Instant::now());
        let elapsed = self.started.elapsed().as_secs_f64();
        let share = self.done as f64 / self.total.max(1) as f64;
        let width = 30;
        let filled = (share * width as f64) as usize;
        let left = if self.done > 0 {
            let seconds = elapsed / self.done as f64 * (self.total - self.done) as f64;
            format!("{} left", clock(seconds))
        } else {
            String::new()
        };
        eprint!(
            "\r\x1b[2K{} [{}{}] {}/{} {}",
            self.label,
            "#".repeat(filled),
            " ".repeat(width - filled),
            self.done,
            self.total,
            left
        );
        let _ = std::io::stderr().flush();
    }
}

fn clock(seconds: f64) -> String {
    let s = seconds.round() as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, s % 3600 / 60)
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_reads_like_a_clock() {
        assert_eq!(clock(5.4), "0m05s");
        assert_eq!(clock(125.0), "2m05s");
        assert_eq!(clock(3725.0), "1h02m");
    }
}
