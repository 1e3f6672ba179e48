//! Hand-written SVG charts: points with error bars joined by lines over a linear
//! x axis, and grouped bars over a logarithmic y axis. Enough for the report's
//! three figures; every coordinate is computed here, nothing is styled by CSS.

use std::fmt::Write;

const W: f64 = 760.0;
const H: f64 = 460.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 200.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 60.0;

/// One point: `y` with an error bar from `lo` to `hi`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub x: f64,
    pub y: f64,
    pub lo: f64,
    pub hi: f64,
}

#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub color: &'static str,
    pub points: Vec<Point>,
    /// Drawn with a dashed line (reference data rather than ours).
    pub dashed: bool,
}

#[derive(Debug, Clone)]
pub struct LineChart {
    pub title: String,
    pub x_label: String,
    pub y_label: String,
    /// Tick positions on the x axis with their labels.
    pub x_ticks: Vec<(f64, String)>,
    pub series: Vec<Series>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A round step giving about `count` ticks over `span`.
fn nice_step(span: f64, count: f64) -> f64 {
    let raw = (span / count).max(f64::MIN_POSITIVE);
    let mag = 10f64.powf(raw.log10().floor());
    let norm = raw / mag;
    let nice = if norm <= 1.0 {
        1.0
    } else if norm <= 2.0 {
        2.0
    } else if norm <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * mag
}

fn label(v: f64) -> String {
    if v.abs() >= 100.0 || v.fract() == 0.0 {
        format!("{v:.0}")
    } else {
        format!("{v}")
    }
}

fn header(out: &mut String, title: &str) {
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(out, r#"<rect width="{W}" height="{H}" fill="white"/>"#);
    let _ = writeln!(
        out,
        r#"<text x="{}" y="22" text-anchor="middle" font-size="15" font-weight="bold">{}</text>"#,
        (LEFT + W - RIGHT) / 2.0,
        esc(title)
    );
}

fn axis_labels(out: &mut String, x_label: &str, y_label: &str) {
    let _ = writeln!(
        out,
        r#"<text x="{}" y="{}" text-anchor="middle">{}</text>"#,
        (LEFT + W - RIGHT) / 2.0,
        H - 15.0,
        esc(x_label)
    );
    let cy = (TOP + H - BOTTOM) / 2.0;
    let _ = writeln!(
        out,
        r#"<text x="20" y="{cy}" text-anchor="middle" transform="rotate(-90 20 {cy})">{}</text>"#,
        esc(y_label)
    );
}

fn legend(out: &mut String, entries: &[(&str, &str, bool)]) {
    for (i, (name, color, dashed)) in entries.iter().enumerate() {
        let y = TOP + 10.0 + i as f64 * 22.0;
        let x = W - RIGHT + 15.0;
        let dash = if *dashed {
            r#" stroke-dasharray="6 3""#
        } else {
            ""
        };
        let _ = writeln!(
            out,
            r#"<line x1="{x}" y1="{y}" x2="{}" y2="{y}" stroke="{color}" stroke-width="2"{dash}/><circle cx="{}" cy="{y}" r="3.5" fill="{color}"/><text x="{}" y="{}">{}</text>"#,
            x + 28.0,
            x + 14.0,
            x + 34.0,
            y + 4.0,
            esc(name)
        );
    }
}

impl LineChart {
    pub fn render(&self) -> String {
        let xs = self.x_ticks.iter().map(|t| t.0);
        let (x_min, x_max) = xs.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), x| {
            (a.min(x), b.max(x))
        });
        let pts = self.series.iter().flat_map(|s| &s.points);
        let y_max = pts
            .clone()
            .map(|p| p.hi.max(p.y))
            .fold(f64::NEG_INFINITY, f64::max);
        let (x_min, x_max) = if x_min < x_max {
            (x_min, x_max)
        } else {
            (0.0, 1.0)
        };
        let step = nice_step(y_max.max(1e-9), 6.0);
        let y_top = (y_max / step).ceil().max(1.0) * step;
        let pad = (x_max - x_min) * 0.05;
        let sx =
            |x: f64| LEFT + (x - x_min + pad) / (x_max - x_min + 2.0 * pad) * (W - LEFT - RIGHT);
        let sy = |y: f64| H - BOTTOM - y / y_top * (H - TOP - BOTTOM);

        let mut out = String::new();
        header(&mut out, &self.title);
        let mut y = 0.0;
        while y <= y_top + step / 2.0 {
            let py = sy(y);
            let _ = writeln!(
                out,
                r##"<line x1="{LEFT}" y1="{py}" x2="{}" y2="{py}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end">{}</text>"##,
                W - RIGHT,
                LEFT - 6.0,
                py + 4.0,
                label(y)
            );
            y += step;
        }
        for (x, text) in &self.x_ticks {
            let px = sx(*x);
            let _ = writeln!(
                out,
                r#"<line x1="{px}" y1="{}" x2="{px}" y2="{}" stroke="black"/><text x="{px}" y="{}" text-anchor="middle">{}</text>"#,
                H - BOTTOM,
                H - BOTTOM + 5.0,
                H - BOTTOM + 20.0,
                esc(text)
            );
        }
        let _ = writeln!(
            out,
            r#"<polyline points="{LEFT},{TOP} {LEFT},{} {},{}" fill="none" stroke="black"/>"#,
            H - BOTTOM,
            W - RIGHT,
            H - BOTTOM
        );
        axis_labels(&mut out, &self.x_label, &self.y_label);
        let n = self.series.len() as f64;
        for (i, s) in self.series.iter().enumerate() {
            // Series side by side around each x, so error bars do not hide each other.
            let dx = (i as f64 - (n - 1.0) / 2.0) * 8.0;
            let dash = if s.dashed {
                r#" stroke-dasharray="6 3""#
            } else {
                ""
            };
            let line: Vec<String> = s
                .points
                .iter()
                .map(|p| format!("{:.1},{:.1}", sx(p.x) + dx, sy(p.y)))
                .collect();
            let _ = writeln!(
                out,
                r#"<polyline points="{}" fill="none" stroke="{}" stroke-width="2"{dash}/>"#,
                line.join(" "),
                s.color
            );
            for p in &s.points {
                let px = sx(p.x) + dx;
                let (lo, hi) = (sy(p.lo), sy(p.hi));
                let _ = writeln!(
                    out,
                    r#"<path d="M{px:.1},{lo:.1}V{hi:.1}M{:.1},{lo:.1}h8M{:.1},{hi:.1}h8" stroke="{c}" fill="none"/><circle cx="{px:.1}" cy="{:.1}" r="3.5" fill="{c}"/>"#,
                    px - 4.0,
                    px - 4.0,
                    sy(p.y),
                    c = s.color
                );
            }
        }
        let entries: Vec<(&str, &str, bool)> = self
            .series
            .iter()
            .map(|s| (s.name.as_str(), s.color, s.dashed))
            .collect();
        legend(&mut out, &entries);
        out.push_str("</svg>\n");
        out
    }
}

/// Bars in groups: `values[group][series]`, over a log10 y axis.
#[derive(Debug, Clone)]
pub struct BarChart {
    pub title: String,
    pub y_label: String,
    pub groups: Vec<String>,
    pub series: Vec<(String, &'static str)>,
    pub values: Vec<Vec<f64>>,
}

impl BarChart {
    pub fn render(&self) -> String {
        let positive = self.values.iter().flatten().copied().filter(|v| *v > 0.0);
        let (lo, hi) = positive.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
        let (lo, hi) = if lo <= hi { (lo, hi) } else { (1.0, 10.0) };
        let d_min = lo.log10().floor();
        let d_max = hi.log10().ceil().max(d_min + 1.0);
        let sy = |v: f64| {
            let f = (v.max(10f64.powf(d_min)).log10() - d_min) / (d_max - d_min);
            H - BOTTOM - f * (H - TOP - BOTTOM)
        };
        let mut out = String::new();
        header(&mut out, &self.title);
        let mut d = d_min;
        while d <= d_max {
            let py = sy(10f64.powf(d));
            let _ = writeln!(
                out,
                r##"<line x1="{LEFT}" y1="{py}" x2="{}" y2="{py}" stroke="#ddd"/><text x="{}" y="{}" text-anchor="end">1e{d}</text>"##,
                W - RIGHT,
                LEFT - 6.0,
                py + 4.0
            );
            d += 1.0;
        }
        let _ = writeln!(
            out,
            r#"<polyline points="{LEFT},{TOP} {LEFT},{} {},{}" fill="none" stroke="black"/>"#,
            H - BOTTOM,
            W - RIGHT,
            H - BOTTOM
        );
        axis_labels(&mut out, "", &self.y_label);
        let group_w = (W - LEFT - RIGHT) / self.groups.len().max(1) as f64;
        let bar_w = group_w * 0.8 / self.series.len().max(1) as f64;
        for (g, name) in self.groups.iter().enumerate() {
            let gx = LEFT + g as f64 * group_w + group_w * 0.1;
            for (s, (_, color)) in self.series.iter().enumerate() {
                let v = self
                    .values
                    .get(g)
                    .and_then(|row| row.get(s))
                    .copied()
                    .unwrap_or(0.0);
                if v <= 0.0 {
                    continue;
                }
                let top = sy(v);
                let _ = writeln!(
                    out,
                    r#"<rect x="{:.1}" y="{top:.1}" width="{:.1}" height="{:.1}" fill="{color}"/>"#,
                    gx + s as f64 * bar_w,
                    bar_w - 1.0,
                    H - BOTTOM - top
                );
            }
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{}" text-anchor="middle">{}</text>"#,
                gx + group_w * 0.4,
                H - BOTTOM + 18.0,
                esc(name)
            );
        }
        let entries: Vec<(&str, &str, bool)> = self
            .series
            .iter()
            .map(|(n, c)| (n.as_str(), *c, false))
            .collect();
        legend(&mut out, &entries);
        out.push_str("</svg>\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_are_round() {
        assert_eq!(nice_step(543.0, 6.0), 100.0);
        assert_eq!(nice_step(2600.0, 6.0), 500.0);
        assert_eq!(nice_step(24.0, 6.0), 5.0);
    }

    #[test]
    fn charts_are_well_formed_svg() {
        let chart = LineChart {
            title: "a < b".into(),
            x_label: "x".into(),
            y_label: "y".into(),
            x_ticks: vec![(0.0, "0".into()), (160.0, "160".into())],
            series: vec![Series {
                name: "ours".into(),
                color: "black",
                points: vec![Point {
                    x: 0.0,
                    y: 1.0,
                    lo: 0.5,
                    hi: 2.0,
                }],
                dashed: true,
            }],
        };
        let svg = chart.render();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>\n"));
        assert!(svg.contains("a &lt; b") && !svg.contains("NaN"));
        let bars = BarChart {
            title: "t".into(),
            y_label: "bytes".into(),
            groups: vec!["g".into()],
            series: vec![("s".into(), "red"), ("z".into(), "blue")],
            values: vec![vec![1e6, 0.0]],
        };
        let svg = bars.render();
        assert_eq!(svg.matches("<rect").count(), 2, "background and one bar");
        assert!(!svg.contains("NaN"));
    }
}
