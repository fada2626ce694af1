//! A DET picture (FNIR against FPIR, both on log scales) as SVG.

use std::fmt::Write;

/// One labelled curve of (FPIR, FNIR) points.
pub struct Curve<'a> {
    pub label: &'a str,
    pub points: &'a [(f64, f64)],
}

const WIDTH: f64 = 720.0;
const HEIGHT: f64 = 520.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 250.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 60.0;
/// log10 ranges shown: FPIR 1e-4..1, FNIR 1e-2..1.
const X_RANGE: (f64, f64) = (-4.0, 0.0);
const Y_RANGE: (f64, f64) = (-2.0, 0.0);
const COLOURS: [&str; 8] = [
    "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
];

fn x(fpir: f64) -> f64 {
    let v = fpir.max(1e-12).log10().clamp(X_RANGE.0, X_RANGE.1);
    LEFT + (v - X_RANGE.0) / (X_RANGE.1 - X_RANGE.0) * (WIDTH - LEFT - RIGHT)
}

fn y(fnir: f64) -> f64 {
    let v = fnir.max(1e-12).log10().clamp(Y_RANGE.0, Y_RANGE.1);
    TOP + (Y_RANGE.1 - v) / (Y_RANGE.1 - Y_RANGE.0) * (HEIGHT - TOP - BOTTOM)
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// The curves on one chart titled `title`.
pub fn svg(title: &str, curves: &[Curve<'_>]) -> String {
    let mut out = String::new();
    // Writing to a String cannot fail.
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{}" y="22" font-size="15">{}</text>"#,
        LEFT,
        escape(title)
    );
    for decade in -4..=0 {
        let fpir = 10f64.powi(decade);
        let _ = writeln!(
            out,
            r##"<line x1="{0:.1}" y1="{1}" x2="{0:.1}" y2="{2}" stroke="#ddd"/><text x="{0:.1}" y="{3}" text-anchor="middle">{4}</text>"##,
            x(fpir),
            TOP,
            HEIGHT - BOTTOM,
            HEIGHT - BOTTOM + 16.0,
            percent(fpir)
        );
    }
    for fnir in [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0] {
        let _ = writeln!(
            out,
            r##"<line x1="{1}" y1="{0:.1}" x2="{2}" y2="{0:.1}" stroke="#ddd"/><text x="{3}" y="{4:.1}" text-anchor="end">{5}</text>"##,
            y(fnir),
            LEFT,
            WIDTH - RIGHT,
            LEFT - 6.0,
            y(fnir) + 4.0,
            percent(fnir)
        );
    }
    let _ = writeln!(
        out,
        r#"<text x="{:.1}" y="{}" text-anchor="middle">FPIR: strangers matched to somebody</text>"#,
        (LEFT + WIDTH - RIGHT) / 2.0,
        HEIGHT - 20.0
    );
    let _ = writeln!(
        out,
        r#"<text transform="translate(18 {:.1}) rotate(-90)" text-anchor="middle">FNIR: enrolled people not recognised</text>"#,
        (TOP + HEIGHT - BOTTOM) / 2.0
    );
    for (i, curve) in curves.iter().enumerate() {
        let colour = COLOURS[i % COLOURS.len()];
        let mut path: Vec<String> = curve
            .points
            .iter()
            .filter(|(fpir, _)| *fpir > 0.0)
            .map(|&(fpir, fnir)| format!("{:.1},{:.1}", x(fpir), y(fnir)))
            .collect();
        // Thousands of thresholds land on the same tenth of a pixel.
        path.dedup();
        let _ = writeln!(
            out,
            r#"<polyline fill="none" stroke="{colour}" stroke-width="1.6" points="{}"/>"#,
            path.join(" ")
        );
        let legend_y = TOP + 10.0 + 18.0 * i as f64;
        let _ = writeln!(
            out,
            r#"<line x1="{0}" y1="{1:.1}" x2="{2}" y2="{1:.1}" stroke="{colour}" stroke-width="3"/><text x="{3}" y="{4:.1}">{5}</text>"#,
            WIDTH - RIGHT + 12.0,
            legend_y,
            WIDTH - RIGHT + 32.0,
            WIDTH - RIGHT + 38.0,
            legend_y + 4.0,
            escape(curve.label)
        );
    }
    out.push_str("</svg>\n");
    out
}

fn percent(rate: f64) -> String {
    let p = rate * 100.0;
    if p >= 1.0 {
        format!("{p:.0}%")
    } else {
        format!("{}%", format!("{p:.2}").trim_end_matches('0'))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_each_curve_with_its_label() {
        let a = [(0.001, 0.5), (0.01, 0.3), (0.1, 0.1)];
        let b = [(0.001, 0.4)];
        let picture = svg(
            "DET <lfw-dev>",
            &[
                Curve {
                    label: "one & only",
                    points: &a,
                },
                Curve {
                    label: "other",
                    points: &b,
                },
            ],
        );
        assert!(picture.starts_with("<svg"));
        assert_eq!(picture.matches("<polyline").count(), 2);
        assert!(picture.contains("one &amp; only"));
        assert!(picture.contains("DET &lt;lfw-dev&gt;"));
        assert!(picture.contains(">0.1%<"));
    }
}
