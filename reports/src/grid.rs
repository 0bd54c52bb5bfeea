//! A table of verdicts as an SVG: one row per experiment, one column per check, each cell
//! green where the check held and red where it broke (the Byzantine report).

use plotters::prelude::*;
use serde::{Deserialize, Serialize};

/// A table to draw.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Grid {
    /// The title over it.
    pub title: String,
    /// Column headings.
    pub columns: Vec<String>,
    /// The rows.
    pub rows: Vec<GridRow>,
    /// A line under the table (how many seeds, where the seed files are).
    pub footnote: String,
}

/// One row.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GridRow {
    /// Its heading.
    pub name: String,
    /// One cell per column.
    pub cells: Vec<Cell>,
}

/// One cell: its text and whether it is a failure.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    /// What it says ("held", "broken 12/100").
    pub text: String,
    /// Drawn red when true.
    pub broken: bool,
}

const ROW_H: i32 = 34;
const HEAD_W: i32 = 150;
const COL_W: i32 = 170;
const HELD: RGBColor = RGBColor(205, 235, 210);
const BROKEN: RGBColor = RGBColor(245, 190, 185);

/// Draws the grid; returns the SVG document.
pub fn render_grid(grid: &Grid) -> String {
    let width = (HEAD_W + COL_W * grid.columns.len() as i32 + 20) as u32;
    let height = (ROW_H * (grid.rows.len() as i32 + 1) + 90) as u32;
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (width, height)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let text = |s: &str, x: i32, y: i32, size: u32| {
            Text::new(s.to_string(), (x, y), ("sans-serif", size).into_font())
        };
        let _ = root.draw(&text(&grid.title, 10, 10, 18));
        let top = 44;
        for (c, column) in grid.columns.iter().enumerate() {
            let x = HEAD_W + COL_W * c as i32;
            let _ = root.draw(&text(column, x + 6, top + 10, 13));
        }
        for (r, row) in grid.rows.iter().enumerate() {
            let y = top + ROW_H * (r as i32 + 1);
            let _ = root.draw(&text(&row.name, 10, y + 10, 14));
            for (c, cell) in row.cells.iter().enumerate() {
                let x = HEAD_W + COL_W * c as i32;
                let fill = if cell.broken { BROKEN } else { HELD };
                let _ = root.draw(&Rectangle::new(
                    [(x, y), (x + COL_W - 4, y + ROW_H - 4)],
                    fill.filled(),
                ));
                let _ = root.draw(&text(&cell.text, x + 6, y + 9, 13));
            }
        }
        let foot_y = top + ROW_H * (grid.rows.len() as i32 + 1) + 12;
        let _ = root.draw(&text(&grid.footnote, 10, foot_y, 12));
        let _ = root.present();
    }
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn broken_cells_are_red_and_every_text_is_drawn() {
        let grid = Grid {
            title: "a protocol".into(),
            columns: vec!["election-safety".into(), "liveness".into()],
            rows: vec![GridRow {
                name: "equivocate".into(),
                cells: vec![
                    Cell {
                        text: "broken 3/10".into(),
                        broken: true,
                    },
                    Cell {
                        text: "held".into(),
                        broken: false,
                    },
                ],
            }],
            footnote: "10 seeds".into(),
        };
        let svg = render_grid(&grid);
        for s in [
            "a protocol",
            "election-safety",
            "liveness",
            "equivocate",
            "broken 3/10",
            "10 seeds",
        ] {
            assert!(svg.contains(s), "{s} missing");
        }
        assert!(svg.contains("#F5BEB9"), "no red cell");
        assert!(svg.contains("#CDEBD2"), "no green cell");
    }
}
