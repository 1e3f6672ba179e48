//! The report's charts, drawn with `plotters` on its SVG back end: points
//! with error bars joined by lines over the paper's RTTs (evenly spaced, as
//! they are categories: 0.02, 30, 90, 160 ms), and grouped bars over a
//! logarithmic y axis.

use plotters::coord::Shift;
use plotters::prelude::*;

const SIZE: (u32, u32) = (820, 480);

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
    /// `#rrggbb`.
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
    /// Tick positions on the x axis with their labels; points sit at the
    /// tick of their `x`.
    pub x_ticks: Vec<(f64, String)>,
    pub series: Vec<Series>,
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

fn rgb(hex: &str) -> RGBColor {
    let byte = |i: usize| {
        hex.get(i..i + 2)
            .and_then(|h| u8::from_str_radix(h, 16).ok())
            .unwrap_or(0)
    };
    RGBColor(byte(1), byte(3), byte(5))
}

/// Draws with `draw` into an SVG document; a drawing error leaves a chart
/// that says so rather than no file.
fn svg(draw: impl FnOnce(&DrawingArea<SVGBackend, Shift>) -> Result<(), String>) -> String {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, SIZE).into_drawing_area();
        let drawn = root
            .fill(&WHITE)
            .map_err(|e| e.to_string())
            .and_then(|()| draw(&root));
        if let Err(e) = drawn {
            let _ = root.draw(&Text::new(
                format!("chart not drawn: {e}"),
                (20, 20),
                ("sans-serif", 14),
            ));
        }
        let _ = root.present();
    }
    out
}

impl LineChart {
    /// The index of `x` among the ticks (points between ticks are placed
    /// proportionally).
    fn position(&self, x: f64) -> f64 {
        let ticks: Vec<f64> = self.x_ticks.iter().map(|t| t.0).collect();
        match ticks.iter().position(|t| (t - x).abs() < 1e-9) {
            Some(i) => i as f64,
            None => ticks.iter().filter(|t| **t < x).count() as f64 - 0.5,
        }
    }

    pub fn render(&self) -> String {
        svg(|root| self.draw(root))
    }

    fn draw(&self, root: &DrawingArea<SVGBackend, Shift>) -> Result<(), String> {
        let e = |e: DrawingAreaErrorKind<_>| e.to_string();
        let y_max = self
            .series
            .iter()
            .flat_map(|s| s.points.iter().map(|p| p.hi.max(p.y)))
            .fold(0.0_f64, f64::max)
            .max(1.0)
            * 1.1;
        let n = self.x_ticks.len().max(1) as f64;
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(65)
            .build_cartesian_2d(-0.5..n - 0.5, 0.0..y_max)
            .map_err(e)?;
        let labels: Vec<String> = self.x_ticks.iter().map(|t| t.1.clone()).collect();
        chart
            .configure_mesh()
            .x_desc(&self.x_label)
            .y_desc(&self.y_label)
            .x_labels(self.x_ticks.len().max(1))
            .x_label_formatter(&|x| {
                let i = x.round();
                if (x - i).abs() < 1e-6 && i >= 0.0 {
                    labels.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .disable_x_mesh()
            .draw()
            .map_err(e)?;
        for s in &self.series {
            let color = rgb(s.color);
            let mut pts: Vec<(f64, f64)> =
                s.points.iter().map(|p| (self.position(p.x), p.y)).collect();
            pts.sort_by(|a, b| a.0.total_cmp(&b.0));
            let style = color.stroke_width(2);
            let line = if s.dashed {
                chart.draw_series(DashedLineSeries::new(pts.clone(), 6, 4, style))
            } else {
                chart.draw_series(LineSeries::new(pts.clone(), style))
            };
            line.map_err(e)?.label(&s.name).legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
            });
            chart
                .draw_series(
                    pts.iter()
                        .map(|&(x, y)| Circle::new((x, y), 4, color.filled())),
                )
                .map_err(e)?;
            chart
                .draw_series(s.points.iter().filter(|p| p.hi > p.lo).map(|p| {
                    let x = self.position(p.x);
                    PathElement::new(vec![(x, p.lo), (x, p.hi)], color.stroke_width(1))
                }))
                .map_err(e)?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(e)
    }
}

impl BarChart {
    pub fn render(&self) -> String {
        svg(|root| self.draw(root))
    }

    fn draw(&self, root: &DrawingArea<SVGBackend, Shift>) -> Result<(), String> {
        let e = |e: DrawingAreaErrorKind<_>| e.to_string();
        let positive = self.values.iter().flatten().copied().filter(|v| *v > 0.0);
        let (lo, hi) = positive.fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), v| {
            (a.min(v), b.max(v))
        });
        let (lo, hi) = if lo <= hi { (lo, hi) } else { (1.0, 10.0) };
        let floor = 10f64.powf(lo.log10().floor());
        let ceil = 10f64.powf(hi.log10().ceil().max(lo.log10().floor() + 1.0));
        let groups = self.groups.len().max(1);
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, ("sans-serif", 18))
            .margin(12)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(0.0..groups as f64, (floor..ceil).log_scale())
            .map_err(e)?;
        let names = self.groups.clone();
        chart
            .configure_mesh()
            .y_desc(&self.y_label)
            .x_labels(groups * 2 + 1)
            .x_label_formatter(&|x| {
                let g = x - 0.5;
                let i = g.round();
                if (g - i).abs() < 1e-6 && i >= 0.0 {
                    names.get(i as usize).cloned().unwrap_or_default()
                } else {
                    String::new()
                }
            })
            .disable_x_mesh()
            .draw()
            .map_err(e)?;
        let width = 0.8 / self.series.len().max(1) as f64;
        for (k, (name, hex)) in self.series.iter().enumerate() {
            let color = rgb(hex);
            let bars = self.values.iter().enumerate().filter_map(|(g, row)| {
                let v = *row.get(k)?;
                let x0 = g as f64 + 0.1 + k as f64 * width;
                (v > 0.0)
                    .then(|| Rectangle::new([(x0, floor), (x0 + width * 0.9, v)], color.filled()))
            });
            chart
                .draw_series(bars)
                .map_err(e)?
                .label(name)
                .legend(move |(x, y)| {
                    Rectangle::new([(x, y - 5), (x + 12, y + 5)], color.filled())
                });
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK.mix(0.3))
            .draw()
            .map_err(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_chart_is_an_svg_with_its_title_labels_and_legend() {
        let chart = LineChart {
            title: "Service downtime vs WAN RTT".into(),
            x_label: "RTT (ms)".into(),
            y_label: "downtime (ms)".into(),
            x_ticks: vec![(0.02, "0.02".into()), (30.0, "30".into())],
            series: vec![Series {
                name: "ours".into(),
                color: "#1f5fbf",
                dashed: false,
                points: vec![
                    Point {
                        x: 0.02,
                        y: 300.0,
                        lo: 290.0,
                        hi: 310.0,
                    },
                    Point {
                        x: 30.0,
                        y: 340.0,
                        lo: 330.0,
                        hi: 350.0,
                    },
                ],
            }],
        }
        .render();
        assert!(chart.starts_with("<svg"), "{chart}");
        for text in [
            "Service downtime vs WAN RTT",
            "RTT (ms)",
            "ours",
            "0.02",
            "30",
        ] {
            assert!(chart.contains(text), "{text} missing");
        }
        assert!(!chart.contains("chart not drawn"));
    }

    #[test]
    fn a_bar_chart_draws_every_positive_value() {
        let chart = BarChart {
            title: "bytes".into(),
            y_label: "bytes (log)".into(),
            groups: vec!["a".into(), "b".into()],
            series: vec![("one".into(), "#d0502a")],
            values: vec![vec![10.0], vec![100_000.0]],
        }
        .render();
        assert!(chart.contains("<rect") && chart.contains("one"));
        assert!(!chart.contains("chart not drawn"));
    }
}
