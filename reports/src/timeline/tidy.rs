//! Rewrites plotters' SVG into the same picture that viewers draw fast.
//!
//! Plotters' SVG backend puts a group `opacity` on every element. A renderer must paint an
//! element with group opacity on a surface of its own and composite it: librsvg took a minute
//! over a timeline of a few thousand translucent arrows and ticks. Every element plotters
//! writes paints either its fill or its stroke, never both, so the same opacity as
//! `fill-opacity` or `stroke-opacity` looks the same and costs nothing; `opacity="1"` goes.
//! Plotters also writes one `<polyline>` per dash of a dashed line, per hatch stroke and per
//! tick, and a `<polygon>` per arrowhead: runs of them that look alike become one `<path>`.
//!
//! Works line by line on plotters' output, which has one element per line; a line it does
//! not recognise passes through unchanged.
//!
//! The timeline is now drawn by [`super::svg_writer`], which writes the tidied form at once;
//! this stays as its reference: plotters' SVG backend and this pass together are what the
//! writer must write.

use std::fmt::Write as _;

/// The look of a `<polyline>` or `<polygon>`: everything but its points.
#[derive(PartialEq)]
struct Look<'a> {
    /// True for a filled polygon, false for a stroked polyline.
    filled: bool,
    /// Its opacity, as written.
    opacity: &'a str,
    /// Its stroke colour.
    stroke: &'a str,
    /// Its stroke width.
    width: &'a str,
}

/// The attributes of `tag`, in order: one pass over its bytes, looking only for quotes
/// (values never hold one: plotters escapes them), no allocation.
fn attrs(tag: &str) -> impl Iterator<Item = (&str, &str)> {
    let bytes = tag.as_bytes();
    let mut at = 0;
    std::iter::from_fn(move || {
        let open = at + bytes[at..].iter().position(|&b| b == b'"')?;
        if open == 0 || bytes[open - 1] != b'=' {
            return None;
        }
        let key_end = open - 1;
        let key_start = bytes[at..key_end]
            .iter()
            .rposition(|&b| b == b' ')
            .map_or(at, |p| at + p + 1);
        let close = open + 1 + bytes[open + 1..].iter().position(|&b| b == b'"')?;
        at = close + 1;
        // Quotes, spaces and '=' are ASCII: every index is on a character boundary.
        Some((&tag[key_start..key_end], &tag[open + 1..close]))
    })
}

/// The look and points of a polyline or polygon as plotters writes it.
fn shape(line: &str) -> Option<(Look<'_>, &str)> {
    if !line.ends_with("/>") {
        return None;
    }
    let filled = if line.starts_with("<polyline fill=\"none\" ") {
        false
    } else if line.starts_with("<polygon ") {
        true
    } else {
        return None;
    };
    let (mut opacity, mut colour, mut width, mut points) = (None, None, "", None);
    for (key, value) in attrs(line) {
        match key {
            "opacity" => opacity = Some(value),
            "stroke" if !filled => colour = Some(value),
            "fill" if filled => colour = Some(value),
            "stroke-width" => width = value,
            "points" => points = Some(value),
            _ => {}
        }
    }
    let look = Look {
        filled,
        opacity: opacity?,
        stroke: colour?,
        width,
    };
    Some((look, points?))
}

/// Writes the run of alike shapes `points` as one element.
fn flush(out: &mut String, look: &Look, points: &mut Vec<&str>) {
    if points.is_empty() {
        return;
    }
    let paint = if look.filled { "fill" } else { "stroke" };
    let opacity = if look.opacity == "1" {
        String::new()
    } else {
        format!(" {paint}-opacity=\"{}\"", look.opacity)
    };
    let head = if look.filled {
        format!("fill=\"{}\"{opacity}", look.stroke)
    } else {
        format!(
            "fill=\"none\" stroke=\"{}\" stroke-width=\"{}\"{opacity}",
            look.stroke, look.width
        )
    };
    let tag = if look.filled { "polygon" } else { "polyline" };
    if let [one] = points.as_slice() {
        let _ = writeln!(out, "<{tag} {head} points=\"{}\"/>", one.trim_end());
    } else {
        let _ = write!(out, "<path {head} d=\"");
        for p in points.iter() {
            for (i, xy) in p.split(' ').filter(|xy| !xy.is_empty()).enumerate() {
                out.push(if i == 0 { 'M' } else { 'L' });
                out.push_str(xy);
            }
            if look.filled {
                out.push('Z');
            }
        }
        out.push_str("\"/>\n");
    }
    points.clear();
}

/// An element other than those, with its group opacity turned into paint opacity.
fn other(out: &mut String, line: &str) {
    // Attributes end where the tag does; text after it is content, left alone.
    let end = line.find('>').unwrap_or(line.len());
    let (tag, rest) = line.split_at(end);
    let (mut opacity, mut unfilled) = (None, false);
    for (key, value) in attrs(tag) {
        match key {
            "opacity" => opacity = Some(value),
            "fill" => unfilled = value == "none",
            _ => {}
        }
    }
    const KEY: &str = " opacity=\"";
    match (opacity, tag.find(KEY)) {
        (Some(opacity), Some(at)) => {
            out.push_str(&tag[..at]);
            if opacity != "1" {
                out.push_str(if unfilled { " stroke" } else { " fill" });
                out.push_str("-opacity=\"");
                out.push_str(opacity);
                out.push('"');
            }
            out.push_str(&tag[at + KEY.len() + opacity.len() + 1..]);
        }
        _ => out.push_str(tag),
    }
    out.push_str(rest);
    out.push('\n');
}

/// The same picture as `svg`, cheaper to draw and smaller.
pub fn tidy(svg: &str) -> String {
    let mut out = String::with_capacity(svg.len());
    let mut run: Vec<&str> = Vec::new();
    let mut run_look: Option<Look> = None;
    for line in svg.lines() {
        if let Some((look, points)) = shape(line) {
            if run_look.as_ref() != Some(&look) {
                if let Some(prev) = &run_look {
                    flush(&mut out, prev, &mut run);
                }
                run_look = Some(look);
            }
            run.push(points);
            continue;
        }
        if let Some(prev) = run_look.take() {
            flush(&mut out, &prev, &mut run);
        }
        if line.starts_with('<') {
            other(&mut out, line);
        } else {
            out.push_str(line);
            out.push('\n');
        }
    }
    if let Some(prev) = run_look.take() {
        flush(&mut out, &prev, &mut run);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_opacity_becomes_paint_opacity() {
        let svg = "<svg>\n\
            <rect x=\"0\" opacity=\"1\" fill=\"#FFFFFF\" stroke=\"none\"/>\n\
            <rect x=\"0\" opacity=\"0.5\" fill=\"none\" stroke=\"#000000\"/>\n\
            <polygon opacity=\"0.3\" fill=\"#123456\" points=\"1,2 3,4 \"/>\n\
            <text x=\"1\" opacity=\"0.8\" fill=\"#000000\">a opacity=\"0.8\" b</text>\n\
            </svg>\n";
        let out = tidy(svg);
        assert!(!out.contains(" opacity=\"1\""), "{out}");
        assert!(out.contains("<rect x=\"0\" stroke-opacity=\"0.5\" fill=\"none\""));
        assert!(out.contains("<polygon fill=\"#123456\" fill-opacity=\"0.3\" points=\"1,2 3,4\"/>"));
        assert!(out.contains("fill-opacity=\"0.8\" fill=\"#000000\">a opacity=\"0.8\" b</text>"));
    }

    #[test]
    fn alike_polygons_in_a_row_become_one_path() {
        let head = "<polygon opacity=\"0.95\" fill=\"#8C564B\" points=\"1,1 2,2 3,1 \"/>\n";
        let out = tidy(&[head, head].concat());
        assert_eq!(
            out,
            "<path fill=\"#8C564B\" fill-opacity=\"0.95\" d=\"M1,1L2,2L3,1ZM1,1L2,2L3,1Z\"/>\n"
        );
    }

    #[test]
    fn alike_polylines_in_a_row_become_one_path() {
        let dash = |x: u32, o: &str| {
            format!(
                "<polyline fill=\"none\" opacity=\"{o}\" stroke=\"#000000\" stroke-width=\"1\" points=\"{x},0 {},0 \"/>\n",
                x + 2
            )
        };
        let svg = [dash(0, "1"), dash(5, "1"), dash(10, "0.5"), dash(15, "1")].concat();
        let out = tidy(&svg);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3, "{out}");
        assert!(lines[0].starts_with("<path") && lines[0].contains("d=\"M0,0L2,0M5,0L7,0\""));
        assert!(lines[1].starts_with("<polyline") && lines[1].contains("stroke-opacity=\"0.5\""));
        assert!(lines[2].starts_with("<polyline") && !lines[2].contains("opacity"));
    }
}
