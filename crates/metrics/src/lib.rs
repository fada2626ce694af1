//! Prometheus's text exposition format for Limen's processes (the server's
//! metrics listener, the camera agent's). Counted by hand with a few maps
//! and atomics: a handful of series do not need a metrics library.
//!
//! No personal data belongs in a label: callers label by ids and by stable
//! codes, never by a person, a name, an e-mail address or an ACS id.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// The media type of a scrape's answer.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4";

/// Writes a metric's `# HELP` and `# TYPE` lines.
pub fn header(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// Writes a counter without labels.
pub fn counter(out: &mut String, name: &str, help: &str, value: u64) {
    header(out, name, "counter", help);
    let _ = writeln!(out, "{name} {value}");
}

/// Writes a gauge without labels.
pub fn gauge(out: &mut String, name: &str, help: &str, value: u64) {
    header(out, name, "gauge", help);
    let _ = writeln!(out, "{name} {value}");
}

/// A label value as the text format quotes it.
pub fn escape(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A counter per combination of `N` label values.
pub struct Counters<const N: usize> {
    counts: Mutex<BTreeMap<[String; N], u64>>,
}

impl<const N: usize> Default for Counters<N> {
    fn default() -> Self {
        Counters {
            counts: Mutex::new(BTreeMap::new()),
        }
    }
}

impl<const N: usize> Counters<N> {
    pub fn add(&self, labels: [String; N]) {
        *self
            .counts
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(labels)
            .or_default() += 1;
    }

    /// Writes the counter, one line per combination counted so far.
    pub fn write(&self, out: &mut String, name: &str, help: &str, label_names: [&str; N]) {
        header(out, name, "counter", help);
        let counts = self.counts.lock().unwrap_or_else(|p| p.into_inner());
        for (values, count) in counts.iter() {
            let labels: Vec<String> = label_names
                .iter()
                .zip(values)
                .map(|(name, value)| format!("{name}=\"{}\"", escape(value)))
                .collect();
            let _ = writeln!(out, "{name}{{{}}} {count}", labels.join(","));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_quoted_as_the_format_says() {
        let counters = Counters::<1>::default();
        counters.add(["a\"b\\c\nd".to_owned()]);
        counters.add(["a\"b\\c\nd".to_owned()]);
        let mut out = String::new();
        counters.write(&mut out, "c_total", "test", ["l"]);
        assert!(out.ends_with("c_total{l=\"a\\\"b\\\\c\\nd\"} 2\n"), "{out}");
    }
}
