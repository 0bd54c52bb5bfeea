//! Datasets: files of integers, one per line, named by a scenario either as files (paths
//! relative to the scenario) or generated from a seed with a count and a range.

use std::path::{Path, PathBuf};

use faultline_sim::scenario::{InputError, Source};
use serde::Deserialize;

use super::config::{DATASETS_MAX, DATASET_NUMBERS_MAX, NAME_BYTES_MAX};

/// One dataset as a scenario's `[[workload.datasets]]` names it.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DatasetSpec {
    /// Its file name on the file service.
    pub name: String,
    /// A file to read it from, relative to the scenario; without it, it is generated.
    #[serde(default)]
    pub file: Option<String>,
    /// How many numbers to generate.
    #[serde(default = "default_count")]
    pub count: u64,
    /// Smallest generated number (a string for numbers past TOML's 2^63 - 1).
    #[serde(default = "default_min", deserialize_with = "big_u64")]
    pub min: u64,
    /// Largest generated number (a string for numbers past TOML's 2^63 - 1).
    #[serde(default = "default_max", deserialize_with = "big_u64")]
    pub max: u64,
    /// The generator's seed.
    #[serde(default)]
    pub seed: u64,
}

/// A u64 written as a TOML integer or, past 2^63 - 1 (TOML integers are signed), as a
/// string: `max = "18446744073709551615"`.
fn big_u64<'de, D: serde::Deserializer<'de>>(de: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Big {
        /// A TOML integer.
        Int(u64),
        /// A decimal string.
        Text(String),
    }
    match Big::deserialize(de)? {
        Big::Int(n) => Ok(n),
        Big::Text(s) => s.trim().parse().map_err(|e| {
            serde::de::Error::custom(format!("{s:?} is not a 64-bit unsigned integer: {e}"))
        }),
    }
}

fn default_count() -> u64 {
    200
}

fn default_min() -> u64 {
    1
}

fn default_max() -> u64 {
    1_000_000
}

/// A dataset with its numbers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dataset {
    /// Its file name.
    pub name: String,
    /// Its numbers, in file order.
    pub numbers: Vec<u64>,
}

/// splitmix64: a tiny seeded generator, so that a dataset depends on its seed alone.
fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `count` numbers drawn uniformly from `min..=max` with `seed`.
pub fn generate(count: u64, min: u64, max: u64, seed: u64) -> Vec<u64> {
    let mut state = seed;
    let span = max.wrapping_sub(min).wrapping_add(1); // 0: the whole u64 range
    (0..count)
        .map(|_| {
            let r = splitmix(&mut state);
            if span == 0 {
                r
            } else {
                min + r % span
            }
        })
        .collect()
}

/// Parses a dataset file: one integer per line; blank lines and `#` comments are skipped.
/// An error names the line.
pub fn parse(text: &str) -> Result<Vec<u64>, String> {
    let mut numbers = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let n = line.parse::<u64>().map_err(|e| {
            format!(
                "line {}: {line:?} is not a 64-bit unsigned integer: {e}",
                i + 1
            )
        })?;
        numbers.push(n);
    }
    Ok(numbers)
}

/// Where a dataset file named in `scenario_file` is: beside the scenario, or, for a seed
/// file written elsewhere that carries the scenario, relative to the current folder or to
/// `scenarios/primes/`.
fn resolve(scenario_file: &str, file: &str) -> PathBuf {
    let beside = Path::new(scenario_file)
        .parent()
        .unwrap_or(Path::new(""))
        .join(file);
    [
        beside.clone(),
        PathBuf::from(file),
        Path::new("scenarios/primes").join(file),
    ]
    .into_iter()
    .find(|p| p.is_file())
    .unwrap_or(beside)
}

/// Builds the datasets a scenario or cluster file names (`specs`, then every file of
/// `folder`); errors point at the field.
pub fn load(
    specs: &[DatasetSpec],
    folder: Option<&str>,
    src: &Source,
) -> Result<Vec<Dataset>, InputError> {
    if specs.is_empty() && folder.is_none() {
        return Err(src.error(
            "workload.datasets",
            "name at least one dataset (or a folder of them: workload.folder)",
        ));
    }
    if specs.len() > DATASETS_MAX {
        return Err(src.error(
            "workload.datasets",
            format!("at most {DATASETS_MAX} datasets"),
        ));
    }
    let mut out = load_specs(specs, src)?;
    if let Some(folder) = folder {
        load_folder(folder, src, &mut out)?;
    }
    Ok(out)
}

/// The file names of a folder's datasets: its `.txt` files, by name.
fn dataset_files(dir: &Path) -> std::io::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".txt") && entry.file_type()?.is_file() {
            names.push(name);
        }
    }
    names.sort();
    Ok(names)
}

/// Adds a dataset for every `.txt` file of `folder` (relative to the scenario or cluster
/// file), in name order, named by its file name. A file of more than
/// [`DATASET_NUMBERS_MAX`] numbers is cut into parts of that many, named `name:0`,
/// `name:1`..., since a file travels in one datagram. Errors name the file and its line.
fn load_folder(folder: &str, src: &Source, out: &mut Vec<Dataset>) -> Result<(), InputError> {
    const FIELD: &str = "workload.folder";
    let dir = Path::new(src.file)
        .parent()
        .unwrap_or(Path::new(""))
        .join(folder);
    let names = dataset_files(&dir)
        .map_err(|e| src.error(FIELD, format!("cannot read {}: {e}", dir.display())))?;
    if names.is_empty() {
        return Err(src.error(
            FIELD,
            format!("{} holds no dataset (.txt file)", dir.display()),
        ));
    }
    for name in names {
        let path = dir.join(&name);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| src.error(FIELD, format!("cannot read {}: {e}", path.display())))?;
        let numbers =
            parse(&text).map_err(|e| src.error(FIELD, format!("{}: {e}", path.display())))?;
        if numbers.is_empty() {
            return Err(src.error(FIELD, format!("{}: holds no number", path.display())));
        }
        let parts = numbers.len().div_ceil(DATASET_NUMBERS_MAX);
        for (k, chunk) in numbers.chunks(DATASET_NUMBERS_MAX).enumerate() {
            let part = if parts == 1 {
                name.clone()
            } else {
                format!("{name}:{k}")
            };
            if part.len() > NAME_BYTES_MAX {
                return Err(src.error(
                    FIELD,
                    format!(
                        "{}: a name of at most {NAME_BYTES_MAX} bytes",
                        path.display()
                    ),
                ));
            }
            if out.iter().any(|d| d.name == part) {
                return Err(src.error(
                    FIELD,
                    format!(
                        "{}: a dataset of this name is named already",
                        path.display()
                    ),
                ));
            }
            out.push(Dataset {
                name: part,
                numbers: chunk.to_vec(),
            });
        }
        if out.len() > DATASETS_MAX {
            return Err(src.error(
                FIELD,
                format!("at most {DATASETS_MAX} datasets (of {DATASET_NUMBERS_MAX} numbers each) in all"),
            ));
        }
    }
    Ok(())
}

/// The datasets `specs` name.
fn load_specs(specs: &[DatasetSpec], src: &Source) -> Result<Vec<Dataset>, InputError> {
    let mut out: Vec<Dataset> = Vec::new();
    for (i, spec) in specs.iter().enumerate() {
        let at = |field: &str| format!("workload.datasets[{i}].{field}");
        if spec.name.is_empty() || spec.name.len() > NAME_BYTES_MAX {
            return Err(src.error(&at("name"), format!("1 to {NAME_BYTES_MAX} bytes")));
        }
        if out.iter().any(|d| d.name == spec.name) {
            return Err(src.error(&at("name"), "two datasets have this name"));
        }
        let numbers = match &spec.file {
            Some(file) => {
                let path = resolve(src.file, file);
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    src.error(&at("file"), format!("cannot read {}: {e}", path.display()))
                })?;
                parse(&text)
                    .map_err(|e| src.error(&at("file"), format!("{}: {e}", path.display())))?
            }
            None => {
                if spec.min > spec.max {
                    return Err(src.error(&at("min"), "must not exceed max"));
                }
                generate(
                    spec.count.min(DATASET_NUMBERS_MAX as u64 + 1),
                    spec.min,
                    spec.max,
                    spec.seed,
                )
            }
        };
        if numbers.is_empty() || numbers.len() > DATASET_NUMBERS_MAX {
            let field = if spec.file.is_some() { "file" } else { "count" };
            return Err(src.error(
                &at(field),
                format!(
                    "a dataset holds 1 to {DATASET_NUMBERS_MAX} numbers, not {}",
                    numbers.len()
                ),
            ));
        }
        out.push(Dataset {
            name: spec.name.clone(),
            numbers,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generation_depends_on_the_seed_only_and_stays_in_range() {
        let a = generate(100, 10, 20, 7);
        assert_eq!(a, generate(100, 10, 20, 7));
        assert_ne!(a, generate(100, 10, 20, 8));
        assert!(a.iter().all(|n| (10..=20).contains(n)));
        let top = generate(50, u64::MAX - 100, u64::MAX, 1);
        assert!(top.iter().all(|n| *n >= u64::MAX - 100));
        assert_eq!(generate(3, 0, u64::MAX, 1).len(), 3);
    }

    /// A cluster file naming `folder = "data"` in a fresh folder holding `files`.
    fn folder_with(test: &str, files: &[(&str, String)]) -> (PathBuf, String) {
        let dir = std::env::temp_dir().join(format!(
            "faultline-primes-folder-{test}-{}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("data")).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join("data").join(name), text).unwrap();
        }
        let cluster = dir.join("cluster.toml");
        let text = "protocol = \"primes\"\n\n[workload]\nfolder = \"data\"\n".to_string();
        std::fs::write(&cluster, &text).unwrap();
        (cluster, text)
    }

    #[test]
    fn a_folder_gives_its_txt_files_in_name_order_and_cuts_big_ones_into_parts() {
        let big: String = (1..=DATASET_NUMBERS_MAX as u64 + 5)
            .map(|n| format!("{n}\n"))
            .collect();
        let (cluster, text) = folder_with(
            "ok",
            &[
                ("b.txt", "18446744073709551557\n# near 2^64\n".into()),
                ("a.txt", big),
                ("notes.md", "not a dataset".into()),
            ],
        );
        let file = cluster.display().to_string();
        let src = Source {
            file: &file,
            text: &text,
        };
        let sets = load(&[], Some("data"), &src).unwrap();
        let names: Vec<&str> = sets.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(names, ["a.txt:0", "a.txt:1", "b.txt"]);
        assert_eq!(sets[0].numbers.len(), DATASET_NUMBERS_MAX);
        assert_eq!(sets[1].numbers, (4001..=4005).collect::<Vec<u64>>());
        assert_eq!(sets[2].numbers, [18446744073709551557]);
        let _ = std::fs::remove_dir_all(cluster.parent().unwrap());
    }

    #[test]
    fn a_bad_folder_or_line_is_named_with_the_field() {
        let (cluster, text) = folder_with("bad", &[("x.txt", "7\n18446744073709551616\n".into())]);
        let file = cluster.display().to_string();
        let src = Source {
            file: &file,
            text: &text,
        };
        let err = load(&[], Some("data"), &src).unwrap_err().to_string();
        assert!(err.contains("workload.folder"), "{err}");
        assert!(err.contains("x.txt: line 2"), "{err}");
        let err = load(&[], Some("nowhere"), &src).unwrap_err().to_string();
        assert!(err.contains("cannot read"), "{err}");
        std::fs::remove_file(cluster.parent().unwrap().join("data/x.txt")).unwrap();
        let err = load(&[], Some("data"), &src).unwrap_err().to_string();
        assert!(err.contains("holds no dataset"), "{err}");
        let err = load(&[], None, &src).unwrap_err().to_string();
        assert!(err.contains("workload.datasets"), "{err}");
        let _ = std::fs::remove_dir_all(cluster.parent().unwrap());
    }

    #[test]
    fn a_file_parses_and_a_bad_line_is_named() {
        assert_eq!(
            parse("1\n# c\n\n 18446744073709551557 \n2 # two\n").unwrap(),
            vec![1, 18446744073709551557, 2]
        );
        let err = parse("1\nx\n").unwrap_err();
        assert!(err.starts_with("line 2"), "{err}");
        assert!(parse("18446744073709551616").is_err());
    }
}
