//! `faultline client` for a TSP solver: `tsp solve FILE.tsp` submits a TSPLIB problem to
//! every coordinator replica (so whichever is active answers, across failovers), checks the
//! tour it gets back against the file and prints it with its length.

use std::path::Path;
use std::time::{Duration, Instant};

use faultline_nodes::tsp::{self, Client, Event, Tsp};
use faultline_sim::Ev;

use crate::cluster::Cluster;

/// How often the client submits again until answered (a failover loses what the old active
/// replica held of the client; the new one hears it at the next submission).
const RETRY: Duration = Duration::from_millis(300);

/// The TSPLIB file the words name.
fn parse_words(words: &[String]) -> Result<&Path, String> {
    match words {
        [t, solve, file] if t == "tsp" && solve == "solve" => Ok(Path::new(file)),
        _ => Err(format!(
            "cannot read `{}`; the operation is: tsp solve FILE.tsp",
            words.join(" ")
        )),
    }
}

/// Solves the TSPLIB file the words name as client `id` (default: the cluster's first
/// client); returns the exit code.
pub(super) fn client_command(
    cluster: &Cluster,
    id: Option<&str>,
    deadline_ms: u64,
    words: &[String],
) -> Result<i32, crate::error::Error> {
    let file = parse_words(words)?;
    // A malformed file is an InputError naming its file, line and field: exit 2.
    let instance = tsp::load(file)?;
    let me = super::client_node(cluster, id)?;
    let coordinators = cluster.setup().ids("coordinator");
    let deadline = Duration::from_millis(deadline_ms);
    let problem = instance.clone();
    let started = Instant::now();
    let records = super::run_one_shot::<Tsp>(cluster, me, move || {
        Box::new(
            Client::new(coordinators.clone(), problem.clone(), Duration::ZERO, RETRY)
                .one_shot(deadline),
        )
    })?;
    let took = started.elapsed();
    let tour = records.iter().find_map(|r| match &r.ev {
        Ev::Proto {
            event: Event::Solved { tour },
        } => Some(tour.clone()),
        _ => None,
    });
    let Some(tour) = tour else {
        println!(
            "no answer within {deadline_ms} ms (is the solver running? a solver solves one \
             problem per start: one that solved another file answers only that one; \
             a larger problem may need a longer --deadline-ms)"
        );
        return Ok(1);
    };
    if let Err(why) = instance.judge(&tour) {
        println!("the solver answered with a tour that is not one of this problem: {why}");
        return Ok(1);
    }
    // TSPLIB numbers cities from 1.
    let cities: Vec<String> = tour.cities.iter().map(|c| (c + 1).to_string()).collect();
    println!(
        "{}: {} cities, tour length {}",
        instance.name, instance.n, tour.len
    );
    println!("tour: {}", cities.join(" "));
    println!("solved in {:.3} s", took.as_secs_f64());
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tsp_solve_file_is_read() {
        let words = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert_eq!(
            parse_words(&words("tsp solve a.tsp")),
            Ok(Path::new("a.tsp"))
        );
        assert!(parse_words(&words("tsp solve")).is_err());
        assert!(parse_words(&words("kv get a")).is_err());
    }
}
