//! Charts drawn on the server as SVG: horizontal bars for comparisons and a line for trends. Each
//! has a text title for screen readers; the table next to it carries the same figures.

use std::fmt::Write as _;

const WIDTH: f64 = 640.0;
const LABEL: f64 = 190.0;
const BAR: f64 = 18.0;
const GAP: f64 = 6.0;

/// One bar per `(label, value)`; values below zero are drawn from the zero line to the left.
pub fn bars(title: &str, items: &[(String, f64)], unit: &str) -> String {
    let height = (items.len() as f64) * (BAR + GAP) + GAP;
    let max = items
        .iter()
        .map(|(_, v)| v.abs())
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    let has_negative = items.iter().any(|(_, v)| *v < 0.0);
    let plot = WIDTH - LABEL - 60.0;
    let zero = if has_negative {
        LABEL + plot / 2.0
    } else {
        LABEL
    };
    let scale = if has_negative {
        plot / 2.0 / max
    } else {
        plot / max
    };
    let mut svg = format!(
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg"><title>{}</title>"#,
        escape(title),
        escape(title)
    );
    for (i, (label, value)) in items.iter().enumerate() {
        let y = GAP + i as f64 * (BAR + GAP);
        let w = (value.abs() * scale).max(0.5);
        let x = if *value < 0.0 { zero - w } else { zero };
        let class = if *value < 0.0 { "bar neg" } else { "bar" };
        let _ = write!(
            svg,
            r#"<text x="{}" y="{}" class="label" text-anchor="end">{}</text><rect class="{class}" x="{x:.1}" y="{y:.1}" width="{w:.1}" height="{BAR}"/><text x="{:.1}" y="{}" class="value">{}{unit}</text>"#,
            LABEL - 6.0,
            y + BAR - 4.0,
            escape(&shorten(label, 14)),
            x + w + 4.0,
            y + BAR - 4.0,
            format_value(*value),
        );
    }
    svg.push_str("</svg>");
    svg
}

/// A line through `points` (label, value), with the labels along the bottom.
pub fn line(title: &str, points: &[(String, f64)], unit: &str) -> String {
    let (height, left, bottom) = (220.0, 50.0, 30.0);
    let max = points
        .iter()
        .map(|(_, v)| *v)
        .fold(0.0_f64, f64::max)
        .max(1e-9);
    let step = if points.len() > 1 {
        (WIDTH - left - 20.0) / (points.len() - 1) as f64
    } else {
        0.0
    };
    let plot_h = height - bottom - 20.0;
    let at = |i: usize, v: f64| (left + step * i as f64, 20.0 + plot_h * (1.0 - v / max));
    let mut svg = format!(
        r#"<svg class="chart" viewBox="0 0 {WIDTH} {height}" width="100%" role="img" aria-label="{}" xmlns="http://www.w3.org/2000/svg"><title>{}</title>"#,
        escape(title),
        escape(title)
    );
    let _ = write!(
        svg,
        r#"<line class="axis" x1="{left}" y1="{}" x2="{}" y2="{}"/>"#,
        20.0 + plot_h,
        WIDTH - 10.0,
        20.0 + plot_h
    );
    let path: Vec<String> = points
        .iter()
        .enumerate()
        .map(|(i, (_, v))| {
            let (x, y) = at(i, *v);
            format!("{x:.1},{y:.1}")
        })
        .collect();
    let _ = write!(
        svg,
        r#"<polyline class="trend" points="{}"/>"#,
        path.join(" ")
    );
    for (i, (label, v)) in points.iter().enumerate() {
        let (x, y) = at(i, *v);
        let _ = write!(
            svg,
            r#"<circle class="dot" cx="{x:.1}" cy="{y:.1}" r="3"/><text x="{x:.1}" y="{:.1}" class="value" text-anchor="middle">{}{unit}</text><text x="{x:.1}" y="{}" class="label" text-anchor="middle">{}</text>"#,
            y - 6.0,
            format_value(*v),
            height - 8.0,
            escape(label),
        );
    }
    svg.push_str("</svg>");
    svg
}

fn format_value(v: f64) -> String {
    if (v - v.round()).abs() < 1e-9 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

fn shorten(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(max - 1).collect();
        s.push('…');
        s
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_escaped_and_every_item_is_drawn() {
        let svg = bars("排名", &[("<b>&".into(), 3.0), ("乙".into(), -1.5)], "%");
        assert!(svg.contains("&lt;b&gt;&amp;"));
        assert!(!svg.contains("<b>"));
        assert_eq!(svg.matches("<rect").count(), 2);
        assert!(svg.contains("bar neg"));
        let svg = line("趋势", &[("W1".into(), 1.0), ("W2".into(), 2.0)], "");
        assert_eq!(svg.matches("<circle").count(), 2);
    }
}
