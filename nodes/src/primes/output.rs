//! `primes.txt`: the real coordinator's output as a file, one prime per line in increasing
//! order, each once. It is a view of the coordinator's durable progress, rewritten after
//! every flush once the progress is on disk ([`faultline_sim::ViewFile`]), so it holds
//! exactly the primes counted, and a SIGKILL loses none of them.

use std::fmt::Write;

use faultline_sim::{Durable, ViewFile};

use super::coordinator::durable_output;

/// The file, in the coordinator's folder.
pub const OUTPUT_FILE: &str = "primes.txt";

/// The view the real coordinator keeps.
pub const VIEW: ViewFile = ViewFile {
    name: OUTPUT_FILE,
    render,
};

/// The file's text from the coordinator's durable store; nothing before the first flush.
fn render(durable: &Durable) -> Option<Vec<u8>> {
    let primes = durable_output(durable)?;
    let mut text = String::with_capacity(primes.len() * 12);
    for p in primes {
        let _ = writeln!(text, "{p}");
    }
    Some(text.into_bytes())
}

/// Reads a `primes.txt` back: the primes in it, in file order; an error names the line.
pub fn parse_output(text: &str) -> Result<Vec<u64>, String> {
    text.lines()
        .enumerate()
        .map(|(i, line)| {
            line.trim()
                .parse()
                .map_err(|e| format!("line {}: {line:?}: {e}", i + 1))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_holds_the_durable_output_in_order_and_reads_back() {
        assert_eq!(render(&Durable::default()), None);
        let mut durable = Durable::default();
        let progress = r#"{"loaded":true,"done":[0,1],"output":[18446744073709551557,2,3]}"#;
        durable
            .entries
            .insert("progress".into(), progress.as_bytes().to_vec());
        let text = String::from_utf8(render(&durable).unwrap()).unwrap();
        assert_eq!(text, "2\n3\n18446744073709551557\n");
        assert_eq!(
            parse_output(&text).unwrap(),
            vec![2, 3, 18446744073709551557]
        );
        assert!(parse_output("2\nx\n").unwrap_err().starts_with("line 2"));
    }
}
