//! The SVG writer the timeline is drawn into: plotters' drawing calls in, the finished SVG
//! text out, in one pass.
//!
//! The timeline used to go through plotters' `SVGBackend` and then [`super::tidy`], which
//! re-read every line to turn group opacity into paint opacity and to merge runs of alike
//! shapes into one `<path>`. Formatting every attribute through `format!` (opacity as a
//! float, colours, each coordinate) and parsing it all again was most of a report's drawing
//! cost. This writer writes what the two together wrote, byte for byte, straight away: a
//! shape waits in a run while the next one looks alike, and every other element is written
//! in its tidied form at once. The tests hold it to that, element by element.

use std::fmt::Write as _;

use plotters::style::text_anchor::{HPos, VPos};
use plotters::style::{FontStyle, FontTransform};
use plotters_backend::{
    BackendColor, BackendCoord, BackendStyle, BackendTextStyle, DrawingBackend, DrawingErrorKind,
};

/// The look of a run of alike shapes: everything but their points.
#[derive(Clone, PartialEq)]
struct Look {
    /// A filled polygon, or else a stroked polyline.
    filled: bool,
    /// Its colour.
    rgb: (u8, u8, u8),
    /// Its opacity, as written.
    opacity: String,
    /// Its stroke width (a polygon has none).
    width: u32,
}

/// Shapes that look alike, drawn one after another: written as one element when the run
/// ends.
struct Run {
    /// How they look.
    look: Look,
    /// Every shape's points, one after another.
    points: Vec<BackendCoord>,
    /// Where each shape's points start in `points`.
    starts: Vec<usize>,
}

/// A plotters backend that writes a tidy SVG document into a string.
pub struct SvgWriter<'a> {
    /// Where the document goes.
    out: &'a mut String,
    /// Width and height in pixels.
    size: (u32, u32),
    /// The shapes waiting to be written together.
    run: Option<Run>,
    /// Opacities already formatted, by their bits: a picture uses a handful.
    opacities: Vec<(u64, String)>,
    /// Whether `</svg>` has been written.
    done: bool,
}

/// Upper-case hex digits, as colours are written.
const HEX: &[u8; 16] = b"0123456789ABCDEF";

/// Appends `v` in decimal (by itoa: a digit at a time as a `char` was a fifth of drawing a
/// timeline).
fn push_int(out: &mut String, v: i64) {
    out.push_str(itoa::Buffer::new().format(v));
}

/// Appends `#RRGGBB`.
fn push_colour(out: &mut String, (r, g, b): (u8, u8, u8)) {
    out.push('#');
    for c in [r, g, b] {
        out.push(HEX[(c >> 4) as usize] as char);
        out.push(HEX[(c & 15) as usize] as char);
    }
}

/// Appends `value` with the five characters XML reserves escaped, as plotters does.
fn push_escaped(out: &mut String, value: &str) {
    for c in value.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            other => out.push(other),
        }
    }
}

/// Appends ` key="value"` (a number).
fn push_int_attr(out: &mut String, key: &str, v: i64) {
    out.push(' ');
    out.push_str(key);
    out.push_str("=\"");
    push_int(out, v);
    out.push('"');
}

impl<'a> SvgWriter<'a> {
    /// A document of `size` pixels written into `out`; its opening tag is written at once.
    pub fn with_string(out: &'a mut String, size: (u32, u32)) -> Self {
        out.push_str("<svg");
        push_int_attr(out, "width", size.0.into());
        push_int_attr(out, "height", size.1.into());
        let _ = write!(
            out,
            " viewBox=\"0 0 {} {}\" xmlns=\"http://www.w3.org/2000/svg\">",
            size.0, size.1
        );
        out.push('\n');
        SvgWriter {
            out,
            size,
            run: None,
            opacities: Vec::new(),
            done: false,
        }
    }

    /// `alpha` as plotters writes it (the shortest decimal that reads back the same).
    fn opacity(&mut self, alpha: f64) -> String {
        let bits = alpha.to_bits();
        if let Some((_, s)) = self.opacities.iter().find(|(b, _)| *b == bits) {
            return s.clone();
        }
        let s = format!("{alpha}");
        self.opacities.push((bits, s.clone()));
        s
    }

    /// Appends the paint opacity that stands for plotters' group opacity: nothing when it
    /// is 1; `stroke-opacity` for an element that is not filled, else `fill-opacity`.
    fn push_opacity(&mut self, alpha: f64, unfilled: bool) {
        let opacity = self.opacity(alpha);
        if opacity != "1" {
            self.out
                .push_str(if unfilled { " stroke" } else { " fill" });
            self.out.push_str("-opacity=\"");
            self.out.push_str(&opacity);
            self.out.push('"');
        }
    }

    /// Adds a shape to the run, after writing the run it does not look like.
    fn shape(&mut self, look: Look, points: impl IntoIterator<Item = BackendCoord>) {
        if self.run.as_ref().is_some_and(|r| r.look != look) {
            self.flush();
        }
        let run = self.run.get_or_insert_with(|| Run {
            look,
            points: Vec::new(),
            starts: Vec::new(),
        });
        run.starts.push(run.points.len());
        run.points.extend(points);
    }

    /// Writes the waiting run: one shape as itself, more as one `<path>`.
    fn flush(&mut self) {
        let Some(run) = self.run.take() else {
            return;
        };
        let out = &mut *self.out;
        let look = &run.look;
        let (tag, paint) = if look.filled {
            ("polygon", "fill")
        } else {
            ("polyline", "stroke")
        };
        let single = run.starts.len() == 1;
        out.push('<');
        out.push_str(if single { tag } else { "path" });
        if look.filled {
            out.push_str(" fill=\"");
            push_colour(out, look.rgb);
            out.push('"');
        } else {
            out.push_str(" fill=\"none\" stroke=\"");
            push_colour(out, look.rgb);
            out.push('"');
            push_int_attr(out, "stroke-width", look.width.into());
        }
        if look.opacity != "1" {
            let _ = write!(out, " {paint}-opacity=\"{}\"", look.opacity);
        }
        if single {
            out.push_str(" points=\"");
            for (i, &(x, y)) in run.points.iter().enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                push_int(out, x.into());
                out.push(',');
                push_int(out, y.into());
            }
            out.push_str("\"/>\n");
            return;
        }
        out.push_str(" d=\"");
        for (k, &start) in run.starts.iter().enumerate() {
            let end = run.starts.get(k + 1).copied().unwrap_or(run.points.len());
            for (i, &(x, y)) in run.points[start..end].iter().enumerate() {
                out.push(if i == 0 { 'M' } else { 'L' });
                push_int(out, x.into());
                out.push(',');
                push_int(out, y.into());
            }
            if look.filled {
                out.push('Z');
            }
        }
        out.push_str("\"/>\n");
    }

    /// Starts an element other than a shape: the run before it is written first.
    fn open(&mut self, tag: &str) {
        self.flush();
        self.out.push('<');
        self.out.push_str(tag);
    }
}

impl DrawingBackend for SvgWriter<'_> {
    type ErrorType = std::io::Error;

    fn get_size(&self) -> (u32, u32) {
        self.size
    }

    fn ensure_prepared(&mut self) -> Result<(), DrawingErrorKind<std::io::Error>> {
        Ok(())
    }

    fn present(&mut self) -> Result<(), DrawingErrorKind<std::io::Error>> {
        if !self.done {
            self.flush();
            self.out.push_str("</svg>\n");
            self.done = true;
        }
        Ok(())
    }

    fn draw_pixel(
        &mut self,
        point: BackendCoord,
        color: BackendColor,
    ) -> Result<(), DrawingErrorKind<std::io::Error>> {
        if color.alpha == 0.0 {
            return Ok(());
        }
        self.open("rect");
        push_int_attr(self.out, "x", point.0.into());
        push_int_attr(self.out, "y", point.1.into());
        self.out
            .push_str(" width=\"1\" height=\"1\" stroke=\"none\"");
        self.push_opacity(color.alpha, false);
        self.out.push_str(" fill=\"");
        push_colour(self.out, color.rgb);
        self.out.push_str("\"/>\n");
        Ok(())
    }

    fn draw_line<S: BackendStyle>(
        &mut self,
        from: BackendCoord,
        to: BackendCoord,
        style: &S,
    ) -> Result<(), DrawingErrorKind<std::io::Error>> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        self.open("line");
        // A line has no fill attribute: tidying took its opacity for a fill's.
        self.push_opacity(color.alpha, false);
        self.out.push_str(" stroke=\"");
        push_colour(self.out, color.rgb);
        self.out.push('"');
        push_int_attr(self.out, "stroke-width", style.stroke_width().into());
        push_int_attr(self.out, "x1", from.0.into());
        push_int_attr(self.out, "y1", from.1.into());
        push_int_attr(self.out, "x2", to.0.into());
        push_int_attr(self.out, "y2", to.1.into());
        self.out.push_str("/>\n");
        Ok(())
    }

    fn draw_rect<S: BackendStyle>(
        &mut self,
        upper_left: BackendCoord,
        bottom_right: BackendCoord,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<std::io::Error>> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        self.open("rect");
        push_int_attr(self.out, "x", upper_left.0.into());
        push_int_attr(self.out, "y", upper_left.1.into());
        let width = i64::from(bottom_right.0) - i64::from(upper_left.0);
        let height = i64::from(bottom_right.1) - i64::from(upper_left.1);
        push_int_attr(self.out, "width", width);
        push_int_attr(self.out, "height", height);
        self.push_opacity(color.alpha, !fill);
        if fill {
            self.out.push_str(" fill=\"");
            push_colour(self.out, color.rgb);
            self.out.push_str("\" stroke=\"none\"/>\n");
        } else {
            self.out.push_str(" fill=\"none\" stroke=\"");
            push_colour(self.out, color.rgb);
            self.out.push_str("\"/>\n");
        }
        Ok(())
    }

    fn draw_path<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<std::io::Error>> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let look = Look {
            filled: false,
            rgb: color.rgb,
            opacity: self.opacity(color.alpha),
            width: style.stroke_width(),
        };
        self.shape(look, path);
        Ok(())
    }

    fn fill_polygon<S: BackendStyle, I: IntoIterator<Item = BackendCoord>>(
        &mut self,
        path: I,
        style: &S,
    ) -> Result<(), DrawingErrorKind<std::io::Error>> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let look = Look {
            filled: true,
            rgb: color.rgb,
            opacity: self.opacity(color.alpha),
            width: 0,
        };
        self.shape(look, path);
        Ok(())
    }

    fn draw_circle<S: BackendStyle>(
        &mut self,
        center: BackendCoord,
        radius: u32,
        style: &S,
        fill: bool,
    ) -> Result<(), DrawingErrorKind<std::io::Error>> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        self.open("circle");
        push_int_attr(self.out, "cx", center.0.into());
        push_int_attr(self.out, "cy", center.1.into());
        push_int_attr(self.out, "r", radius.into());
        self.push_opacity(color.alpha, !fill);
        if fill {
            self.out.push_str(" fill=\"");
            push_colour(self.out, color.rgb);
            self.out.push_str("\" stroke=\"none\"");
        } else {
            self.out.push_str(" fill=\"none\" stroke=\"");
            push_colour(self.out, color.rgb);
            self.out.push('"');
        }
        push_int_attr(self.out, "stroke-width", style.stroke_width().into());
        self.out.push_str("/>\n");
        Ok(())
    }

    fn draw_text<S: BackendTextStyle>(
        &mut self,
        text: &str,
        style: &S,
        pos: BackendCoord,
    ) -> Result<(), DrawingErrorKind<std::io::Error>> {
        let color = style.color();
        if color.alpha == 0.0 {
            return Ok(());
        }
        let anchor = match style.anchor().h_pos {
            HPos::Left => "start",
            HPos::Right => "end",
            HPos::Center => "middle",
        };
        let dy = match style.anchor().v_pos {
            VPos::Top => "0.76em",
            VPos::Center => "0.5ex",
            VPos::Bottom => "-0.5ex",
        };
        self.open("text");
        push_int_attr(self.out, "x", pos.0.into());
        push_int_attr(self.out, "y", pos.1.into());
        self.out.push_str(" dy=\"");
        self.out.push_str(dy);
        self.out.push_str("\" text-anchor=\"");
        self.out.push_str(anchor);
        self.out.push_str("\" font-family=\"");
        push_escaped(self.out, style.family().as_str());
        let _ = write!(self.out, "\" font-size=\"{}\"", style.size() / 1.24);
        self.push_opacity(color.alpha, false);
        self.out.push_str(" fill=\"");
        push_colour(self.out, color.rgb);
        self.out.push('"');
        match style.style() {
            FontStyle::Normal => {}
            FontStyle::Bold => self.out.push_str(" font-weight=\"bold\""),
            other => {
                self.out.push_str(" font-style=\"");
                push_escaped(self.out, other.as_str());
                self.out.push('"');
            }
        }
        let (x, y) = pos;
        let degrees = match style.transform() {
            FontTransform::Rotate90 => Some(90),
            FontTransform::Rotate180 => Some(180),
            FontTransform::Rotate270 => Some(270),
            _ => None,
        };
        if let Some(d) = degrees {
            let _ = write!(self.out, " transform=\"rotate({d}, {x}, {y})\"");
        }
        self.out.push_str(">\n");
        // Tidying read the document line by line: a "\r\n" in a text came out as "\n".
        let mut content = String::with_capacity(text.len() + 1);
        push_escaped(&mut content, text);
        content.push('\n');
        if content.contains('\r') {
            for line in content.lines() {
                self.out.push_str(line);
                self.out.push('\n');
            }
        } else {
            self.out.push_str(&content);
        }
        self.out.push_str("</text>\n");
        Ok(())
    }
}

impl Drop for SvgWriter<'_> {
    fn drop(&mut self) {
        let _ = self.present();
    }
}

#[cfg(test)]
mod tests {
    use plotters::prelude::*;
    use plotters::style::text_anchor::{HPos, Pos, VPos};
    use plotters_svg::SVGBackend;

    use super::super::tidy::tidy;
    use super::SvgWriter;

    /// Draws one of everything, in runs and alone, at every opacity the timeline uses and
    /// then some, on any backend.
    fn draw_sample<DB: DrawingBackend>(backend: DB) {
        let root = backend.into_drawing_area();
        let red = RGBColor(200, 10, 0);
        let blue = RGBColor(1, 2, 255);
        root.fill(&WHITE).unwrap();
        for alpha in [1.0, 0.3, 0.95, 0.07, 0.0, 0.1 + 0.2] {
            let c = red.mix(alpha);
            root.draw(&Rectangle::new([(1, 2), (30, 40)], c.filled()))
                .unwrap();
            root.draw(&Rectangle::new([(-5, 2), (3, -40)], c.stroke_width(2)))
                .unwrap();
            // Runs of alike polylines and polygons, broken by a change of look.
            for i in 0..3 {
                root.draw(&PathElement::new(vec![(i, 0), (i + 10, -20)], c))
                    .unwrap();
            }
            root.draw(&PathElement::new(
                vec![(0, 0), (5, 5), (9, 1)],
                c.stroke_width(3),
            ))
            .unwrap();
            for i in 0..2 {
                root.draw(&Polygon::new(
                    vec![(i, 0), (i + 5, 7), (i - 3, 8)],
                    c.filled(),
                ))
                .unwrap();
            }
            root.draw(&Polygon::new(
                vec![(1, 1), (2, 2), (3, 1)],
                blue.mix(alpha).filled(),
            ))
            .unwrap();
            root.draw(&Circle::new((50, 60), 7, c.filled())).unwrap();
            root.draw(&Circle::new((50, 60), 3, c.stroke_width(2)))
                .unwrap();
            root.draw(&Pixel::new((3, 4), c)).unwrap();
        }
        // A dashed line is a run of short polylines.
        root.draw(&plotters::element::DashedPathElement::new(
            vec![(0, 0), (100, 37)],
            4,
            3,
            blue.mix(0.8).stroke_width(1),
        ))
        .unwrap();
        for (h, v) in [
            (HPos::Left, VPos::Center),
            (HPos::Center, VPos::Top),
            (HPos::Right, VPos::Bottom),
        ] {
            for (text, weight) in [
                ("plain", FontStyle::Normal),
                ("<b> & \"q\" 'a' é→", FontStyle::Bold),
                ("two\nlines\r\nand\r a", FontStyle::Italic),
                ("", FontStyle::Normal),
            ] {
                let style = FontDesc::new(FontFamily::SansSerif, 12.0 * 1.24, weight)
                    .color(&red.mix(0.5))
                    .pos(Pos::new(h, v));
                root.draw(&Text::new(text, (10, -20), style)).unwrap();
            }
        }
        let rotated = FontDesc::new(FontFamily::Serif, 9.0, FontStyle::Normal)
            .transform(FontTransform::Rotate90)
            .color(&blue);
        root.draw(&Text::new("up", (5, 6), rotated)).unwrap();
        // A mesh draws `<line>`s and text through plotters' own chart.
        let mut chart = ChartBuilder::on(&root)
            .x_label_area_size(20)
            .build_cartesian_2d(0.0..7.5, 0.0..1.0)
            .unwrap();
        chart.configure_mesh().draw().unwrap();
        root.draw(&PathElement::new(vec![(1, 1), (9, 9)], blue))
            .unwrap();
        root.present().unwrap();
    }

    #[test]
    fn writes_what_plotters_and_tidying_wrote_byte_for_byte() {
        let mut plotters = String::new();
        draw_sample(SVGBackend::with_string(&mut plotters, (640, 480)));
        let mut ours = String::new();
        draw_sample(SvgWriter::with_string(&mut ours, (640, 480)));
        let expected = tidy(&plotters);
        for (i, (a, b)) in ours.lines().zip(expected.lines()).enumerate() {
            assert_eq!(a, b, "line {}", i + 1);
        }
        assert_eq!(ours, expected);
        // The sample has runs merged into paths and every kind of element.
        for tag in [
            "<path ",
            "<polyline ",
            "<polygon ",
            "<rect ",
            "<circle ",
            "<line ",
            "<text ",
        ] {
            assert!(ours.contains(tag), "{tag}");
        }
    }

    #[test]
    fn a_change_of_look_ends_a_run() {
        let mut ours = String::new();
        {
            let root = SvgWriter::with_string(&mut ours, (10, 10)).into_drawing_area();
            let c = RGBColor(0, 0, 0);
            root.draw(&PathElement::new(vec![(0, 0), (1, 1)], c))
                .unwrap();
            root.draw(&PathElement::new(vec![(2, 2), (3, 3)], c))
                .unwrap();
            root.draw(&PathElement::new(vec![(4, 4), (5, 5)], c.mix(0.5)))
                .unwrap();
            root.present().unwrap();
        }
        let lines: Vec<&str> = ours.lines().collect();
        assert_eq!(
            lines[1],
            "<path fill=\"none\" stroke=\"#000000\" stroke-width=\"1\" d=\"M0,0L1,1M2,2L3,3\"/>"
        );
        assert_eq!(
            lines[2],
            "<polyline fill=\"none\" stroke=\"#000000\" stroke-width=\"1\" stroke-opacity=\"0.5\" points=\"4,4 5,5\"/>"
        );
        assert_eq!(lines[3], "</svg>");
    }
}
