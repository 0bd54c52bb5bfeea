//! TSPLIB `.tsp` files, the format TSP users already have: `EUC_2D`, `ATT` and `GEO`
//! coordinates, and `EXPLICIT` matrices (`FULL_MATRIX`, `LOWER_DIAG_ROW`, `UPPER_ROW`,
//! `UPPER_DIAG_ROW`, `LOWER_ROW`), with distances by TSPLIB's own rules (Reinelt, "TSPLIB
//! 95", section 2). A malformed file is an [`InputError`] naming the file, the line and the
//! field (`DIMENSION`, `NODE_COORD_SECTION[3].y`, `EDGE_WEIGHT_SECTION`).

use faultline_sim::scenario::InputError;

use super::instance::{Instance, CITIES_MAX, CITIES_MIN, DISTANCE_MAX};

/// TSPLIB's `nint`: the nearest integer, halves up.
fn nint(x: f64) -> i64 {
    (x + 0.5).floor() as i64
}

/// `EUC_2D`: the Euclidean distance, rounded to the nearest integer.
pub fn euc_2d(a: (f64, f64), b: (f64, f64)) -> u64 {
    let (dx, dy) = (a.0 - b.0, a.1 - b.1);
    nint((dx * dx + dy * dy).sqrt()).max(0) as u64
}

/// `ATT`: the pseudo-Euclidean distance of the `att48`/`att532` instances, rounded up.
pub fn att(a: (f64, f64), b: (f64, f64)) -> u64 {
    let (dx, dy) = (a.0 - b.0, a.1 - b.1);
    let r = ((dx * dx + dy * dy) / 10.0).sqrt();
    let t = nint(r);
    (if (t as f64) < r { t + 1 } else { t }).max(0) as u64
}

/// `GEO`: the distance in km on TSPLIB's idealized sphere between two points given as
/// `DDD.MM` degrees and minutes (latitude, longitude), with TSPLIB's own PI and radius.
pub fn geo(a: (f64, f64), b: (f64, f64)) -> u64 {
    // TSPLIB's own rounded PI, not the exact one: the published optima are computed with it.
    #[allow(clippy::approx_constant)]
    const PI: f64 = 3.141592;
    const RRR: f64 = 6378.388;
    let radians = |x: f64| {
        // TSPLIB's reference code truncates to whole degrees (a C cast), then adds minutes.
        let deg = x.trunc();
        let min = x - deg;
        PI * (deg + 5.0 * min / 3.0) / 180.0
    };
    let (lat_a, lon_a, lat_b, lon_b) = (radians(a.0), radians(a.1), radians(b.0), radians(b.1));
    let q1 = (lon_a - lon_b).cos();
    let q2 = (lat_a - lat_b).cos();
    let q3 = (lat_a + lat_b).cos();
    let arg = (0.5 * ((1.0 + q1) * q2 - (1.0 - q1) * q3)).clamp(-1.0, 1.0);
    (RRR * arg.acos() + 1.0) as u64
}

/// The distance rules for coordinates.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CoordRule {
    /// `EUC_2D`.
    Euc2d,
    /// `ATT`.
    Att,
    /// `GEO`.
    Geo,
}

/// How an `EXPLICIT` matrix is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    /// Every row in full.
    Full,
    /// Row i holds columns 0..=i.
    LowerDiag,
    /// Row i holds columns 0..i.
    Lower,
    /// Row i holds columns i+1..n.
    Upper,
    /// Row i holds columns i..n.
    UpperDiag,
}

impl Layout {
    /// The layout a TSPLIB `EDGE_WEIGHT_FORMAT` names.
    fn of(name: &str) -> Option<Layout> {
        Some(match name {
            "FULL_MATRIX" => Layout::Full,
            "LOWER_DIAG_ROW" => Layout::LowerDiag,
            "LOWER_ROW" => Layout::Lower,
            "UPPER_ROW" => Layout::Upper,
            "UPPER_DIAG_ROW" => Layout::UpperDiag,
            _ => return None,
        })
    }

    /// The (row, column) cells the section lists, in its order.
    fn cells(self, n: usize) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for i in 0..n {
            let cols = match self {
                Layout::Full => 0..n,
                Layout::LowerDiag => 0..i + 1,
                Layout::Lower => 0..i,
                Layout::Upper => i + 1..n,
                Layout::UpperDiag => i..n,
            };
            out.extend(cols.map(|j| (i, j)));
        }
        out
    }
}

/// The specification part of a file, as far as it was read.
#[derive(Default)]
struct Spec {
    /// `NAME`.
    name: Option<String>,
    /// `DIMENSION`, with its line.
    dimension: Option<(usize, usize)>,
    /// `EDGE_WEIGHT_TYPE`, with its line.
    weight_type: Option<(String, usize)>,
    /// `EDGE_WEIGHT_FORMAT`, with its line.
    weight_format: Option<(String, usize)>,
}

/// Parses the text of a TSPLIB file named `file`.
pub fn parse(file: &str, text: &str) -> Result<Instance, InputError> {
    let err = |line: usize, field: &str, message: String| InputError {
        file: file.to_string(),
        line: Some(line),
        field: field.to_string(),
        message,
    };
    let mut spec = Spec::default();
    let mut coords: Option<Vec<(f64, f64)>> = None;
    let mut matrix: Option<Vec<u64>> = None;
    let lines: Vec<&str> = text.lines().collect();
    let mut at = 0;
    while at < lines.len() {
        let line_no = at + 1;
        let line = lines[at].trim();
        at += 1;
        if line.is_empty() {
            continue;
        }
        let (key, value) = match line.split_once(':') {
            Some((k, v)) => (k.trim(), v.trim()),
            None => (line, ""),
        };
        match key {
            "EOF" => break,
            "NAME" => spec.name = Some(value.to_string()),
            "TYPE" => {
                let kind = value.split_whitespace().next().unwrap_or("");
                if kind != "TSP" {
                    return Err(err(
                        line_no,
                        "TYPE",
                        format!("{kind:?}: only symmetric TSP instances are solved"),
                    ));
                }
            }
            "COMMENT" | "DISPLAY_DATA_TYPE" | "NODE_COORD_TYPE" => {}
            "DIMENSION" => {
                let n: usize = value
                    .parse()
                    .map_err(|_| err(line_no, "DIMENSION", format!("{value:?} is not a number")))?;
                if !(CITIES_MIN..=CITIES_MAX).contains(&n) {
                    return Err(err(
                        line_no,
                        "DIMENSION",
                        format!("{n} cities: between {CITIES_MIN} and {CITIES_MAX} are solved"),
                    ));
                }
                spec.dimension = Some((n, line_no));
            }
            "EDGE_WEIGHT_TYPE" => spec.weight_type = Some((value.to_string(), line_no)),
            "EDGE_WEIGHT_FORMAT" => spec.weight_format = Some((value.to_string(), line_no)),
            "NODE_COORD_SECTION" | "DISPLAY_DATA_SECTION" => {
                let n = dimension(&spec, line_no, key, file)?;
                let mut points = vec![None; n];
                for k in 0..n {
                    let Some(row) = lines.get(at) else {
                        return Err(err(
                            line_no,
                            key,
                            format!("{n} cities expected, the file ends after {k}"),
                        ));
                    };
                    let row_no = at + 1;
                    at += 1;
                    let field = format!("{key}[{}]", k + 1);
                    let parts: Vec<&str> = row.split_whitespace().collect();
                    if parts.len() != 3 {
                        return Err(err(
                            row_no,
                            &field,
                            format!("expected `id x y`, found {:?}", row.trim()),
                        ));
                    }
                    let id: usize = parts[0].parse().map_err(|_| {
                        err(
                            row_no,
                            &format!("{field}.id"),
                            format!("{:?} is not a city number", parts[0]),
                        )
                    })?;
                    if !(1..=n).contains(&id) || points[id - 1].is_some() {
                        return Err(err(
                            row_no,
                            &format!("{field}.id"),
                            format!("city {id} is out of 1..={n} or given twice"),
                        ));
                    }
                    let mut xy = [0.0; 2];
                    for (c, name) in ["x", "y"].iter().enumerate() {
                        xy[c] = parts[c + 1]
                            .parse::<f64>()
                            .ok()
                            .filter(|v| v.is_finite() && v.abs() < 1e9)
                            .ok_or_else(|| {
                                err(
                                    row_no,
                                    &format!("{field}.{name}"),
                                    format!("{:?} is not a coordinate", parts[c + 1]),
                                )
                            })?;
                    }
                    points[id - 1] = Some((xy[0], xy[1]));
                }
                if key == "NODE_COORD_SECTION" {
                    coords = Some(points.into_iter().map(|p| p.expect("all read")).collect());
                }
            }
            "EDGE_WEIGHT_SECTION" => {
                let n = dimension(&spec, line_no, key, file)?;
                let layout = match &spec.weight_format {
                    None => {
                        return Err(err(
                            line_no,
                            "EDGE_WEIGHT_FORMAT",
                            "an EDGE_WEIGHT_SECTION needs an EDGE_WEIGHT_FORMAT before it".into(),
                        ))
                    }
                    Some((f, f_line)) => Layout::of(f).ok_or_else(|| {
                        err(
                            *f_line,
                            "EDGE_WEIGHT_FORMAT",
                            format!(
                                "{f:?}: FULL_MATRIX, LOWER_DIAG_ROW, LOWER_ROW, UPPER_ROW or \
                                 UPPER_DIAG_ROW are read"
                            ),
                        )
                    })?,
                };
                let cells = layout.cells(n);
                let mut dist = vec![0u64; n * n];
                let mut filled = vec![false; n * n];
                let mut k = 0;
                while k < cells.len() {
                    let Some(row) = lines.get(at) else {
                        return Err(err(
                            line_no,
                            key,
                            format!("{} weights expected, the file ends after {k}", cells.len()),
                        ));
                    };
                    let row_no = at + 1;
                    at += 1;
                    for token in row.split_whitespace() {
                        if k == cells.len() {
                            return Err(err(
                                row_no,
                                key,
                                format!("more than the {} weights expected", cells.len()),
                            ));
                        }
                        let (i, j) = cells[k];
                        let w: u64 = token
                            .parse::<u64>()
                            .ok()
                            .filter(|w| *w <= DISTANCE_MAX)
                            .ok_or_else(|| {
                                err(
                                    row_no,
                                    &format!("{key}[{}]", k + 1),
                                    format!("{token:?} is not a distance (0..={DISTANCE_MAX})"),
                                )
                            })?;
                        if i == j && w != 0 {
                            return Err(err(
                                row_no,
                                &format!("{key}[{}]", k + 1),
                                format!("city {} to itself must be 0, found {w}", i + 1),
                            ));
                        }
                        for (a, b) in [(i, j), (j, i)] {
                            if filled[a * n + b] && dist[a * n + b] != w {
                                return Err(err(
                                    row_no,
                                    &format!("{key}[{}]", k + 1),
                                    format!(
                                        "cities {} and {} are {} apart one way and {w} the other: \
                                         only symmetric instances are solved",
                                        i + 1,
                                        j + 1,
                                        dist[a * n + b]
                                    ),
                                ));
                            }
                            dist[a * n + b] = w;
                            filled[a * n + b] = true;
                        }
                        k += 1;
                    }
                }
                matrix = Some(dist);
            }
            _ => return Err(err(line_no, key, format!("unknown keyword {key:?}"))),
        }
    }
    let end = lines.len().max(1);
    let Some((n, _)) = spec.dimension else {
        return Err(err(end, "DIMENSION", "the file names no DIMENSION".into()));
    };
    let Some((weight_type, type_line)) = spec.weight_type else {
        return Err(err(
            end,
            "EDGE_WEIGHT_TYPE",
            "the file names no EDGE_WEIGHT_TYPE".into(),
        ));
    };
    let rule = match weight_type.as_str() {
        "EXPLICIT" => None,
        "EUC_2D" => Some(CoordRule::Euc2d),
        "ATT" => Some(CoordRule::Att),
        "GEO" => Some(CoordRule::Geo),
        other => {
            return Err(err(
                type_line,
                "EDGE_WEIGHT_TYPE",
                format!("{other:?}: EUC_2D, ATT, GEO or EXPLICIT are read"),
            ))
        }
    };
    let dist = match rule {
        None => matrix.ok_or_else(|| {
            err(
                end,
                "EDGE_WEIGHT_SECTION",
                "EXPLICIT weights need an EDGE_WEIGHT_SECTION".into(),
            )
        })?,
        Some(rule) => {
            let points = coords.ok_or_else(|| {
                err(
                    end,
                    "NODE_COORD_SECTION",
                    format!("{weight_type} needs a NODE_COORD_SECTION"),
                )
            })?;
            let f = match rule {
                CoordRule::Euc2d => euc_2d,
                CoordRule::Att => att,
                CoordRule::Geo => geo,
            };
            let mut dist = vec![0; n * n];
            for i in 0..n {
                for j in 0..n {
                    if i != j {
                        dist[i * n + j] = f(points[i], points[j]).min(DISTANCE_MAX);
                    }
                }
            }
            dist
        }
    };
    let name = spec.name.unwrap_or_else(|| file.to_string());
    Instance::from_matrix(&name, n, dist).ok_or_else(|| {
        err(
            end,
            "EDGE_WEIGHT_SECTION",
            "the distances are not symmetric".into(),
        )
    })
}

/// The `DIMENSION` a section needs, read before it.
fn dimension(spec: &Spec, line: usize, section: &str, file: &str) -> Result<usize, InputError> {
    spec.dimension.map(|(n, _)| n).ok_or_else(|| InputError {
        file: file.to_string(),
        line: Some(line),
        field: "DIMENSION".into(),
        message: format!("{section} comes before any DIMENSION"),
    })
}

/// Reads and parses the TSPLIB file at `path`.
pub fn load(path: &std::path::Path) -> Result<Instance, InputError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| InputError {
        file: file.clone(),
        line: None,
        field: String::new(),
        message: format!("cannot read it: {e}"),
    })?;
    parse(&file, &text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tsp::held_karp::held_karp;

    fn data(name: &str) -> Instance {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../tests/data/tsp")
            .join(name);
        load(&path).unwrap()
    }

    #[test]
    fn geo_and_explicit_instances_have_their_known_optima() {
        let burma = data("burma14.tsp");
        assert_eq!((burma.name.as_str(), burma.n), ("burma14", 14));
        assert_eq!(held_karp(&burma).len, 3323);
        let gr17 = data("gr17.tsp");
        assert_eq!(gr17.d(0, 1), 633);
        assert_eq!(gr17.d(16, 15), 336);
        assert_eq!(data("ulysses16.tsp").n, 16);
    }

    #[test]
    fn rand20_has_the_optimum_its_sources_name() {
        let rand20 = data("rand20.tsp");
        assert_eq!(
            rand20,
            Instance {
                name: "rand20".into(),
                ..Instance::generated(20, 20)
            }
        );
        assert_eq!(held_karp(&rand20).len, 4337);
        assert_eq!(crate::tsp::search::solve(&rand20).0.len, 4337);
    }

    #[test]
    fn every_explicit_layout_reads_the_same_matrix() {
        // Three cities: 1-2 is 5, 1-3 is 7, 2-3 is 9.
        let head = |fmt: &str| {
            format!("NAME: t\nTYPE: TSP\nDIMENSION: 3\nEDGE_WEIGHT_TYPE: EXPLICIT\nEDGE_WEIGHT_FORMAT: {fmt}\nEDGE_WEIGHT_SECTION\n")
        };
        let bodies = [
            ("FULL_MATRIX", "0 5 7\n5 0 9\n7 9 0\n"),
            ("LOWER_DIAG_ROW", "0\n5 0\n7 9 0\n"),
            ("LOWER_ROW", "5\n7 9\n"),
            ("UPPER_ROW", "5 7\n9\n"),
            ("UPPER_DIAG_ROW", "0 5 7 0 9 0\n"),
        ];
        for (fmt, body) in bodies {
            let inst = parse("t.tsp", &format!("{}{body}EOF\n", head(fmt))).unwrap();
            assert_eq!(inst.dist, vec![0, 5, 7, 5, 0, 9, 7, 9, 0], "{fmt}");
        }
    }

    #[test]
    fn euc_2d_and_att_round_as_tsplib_says() {
        assert_eq!(euc_2d((0.0, 0.0), (3.0, 4.0)), 5);
        assert_eq!(euc_2d((0.0, 0.0), (1.0, 1.0)), 1);
        assert_eq!(euc_2d((0.0, 0.0), (1.1, 1.1)), 2);
        // sqrt(100/10) = 3.16: rounds to 3, which is below, so 4.
        assert_eq!(att((0.0, 0.0), (6.0, 8.0)), 4);
        // sqrt((100 + 900) / 10) = 10 exactly.
        assert_eq!(att((0.0, 0.0), (10.0, 30.0)), 10);
    }

    #[test]
    fn a_malformed_file_names_its_line_and_field() {
        let text = "NAME: t\nTYPE: TSP\nDIMENSION: 3\nEDGE_WEIGHT_TYPE: EUC_2D\nNODE_COORD_SECTION\n1 0 0\n2 3 x\n3 1 1\nEOF\n";
        let e = parse("bad.tsp", text).unwrap_err();
        assert_eq!(
            (e.line, e.field.as_str()),
            (Some(7), "NODE_COORD_SECTION[2].y")
        );
        let e = parse("bad.tsp", "DIMENSION: many\n").unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (Some(1), "DIMENSION"));
        let e = parse("bad.tsp", "DIMENSION: 3\nEDGE_WEIGHT_TYPE: MAN_2D\n").unwrap_err();
        assert_eq!((e.line, e.field.as_str()), (Some(2), "EDGE_WEIGHT_TYPE"));
        let text = "DIMENSION: 3\nEDGE_WEIGHT_TYPE: EXPLICIT\nEDGE_WEIGHT_FORMAT: FULL_MATRIX\nEDGE_WEIGHT_SECTION\n0 5 7\n5 0 9\n7 8 0\n";
        let e = parse("bad.tsp", text).unwrap_err();
        assert_eq!(
            (e.line, e.field.as_str()),
            (Some(7), "EDGE_WEIGHT_SECTION[8]")
        );
        assert!(e.message.contains("symmetric"), "{}", e.message);
        let e = parse(
            "bad.tsp",
            "DIMENSION: 4\nEDGE_WEIGHT_TYPE: GEO\nNODE_COORD_SECTION\n1 0 0\n",
        )
        .unwrap_err();
        assert_eq!(e.field, "NODE_COORD_SECTION");
        assert!(e.to_string().starts_with("bad.tsp:"), "{e}");
    }
}
