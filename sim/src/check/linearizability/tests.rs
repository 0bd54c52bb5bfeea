//! The checker against the data files, hand-written histories and generated ones.

use std::collections::BTreeMap;
use std::time::Instant;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;

const LINEARIZABLE: &str = include_str!("../../../../tests/data/history-linearizable.jsonl");
const STALE_READ: &str = include_str!("../../../../tests/data/history-stale-read.jsonl");

fn op(client: u64, invoke_us: u64, return_us: Option<u64>, input: Input, output: Output) -> Op {
    Op {
        client,
        invoke_us,
        return_us,
        input,
        output,
    }
}

fn put(client: u64, span: (u64, u64), value: &str) -> Op {
    let input = Input::Put {
        key: "x".into(),
        value: value.into(),
    };
    op(client, span.0, Some(span.1), input, Output::Ok)
}

fn put_unknown(client: u64, invoke_us: u64, value: &str) -> Op {
    let input = Input::Put {
        key: "x".into(),
        value: value.into(),
    };
    op(client, invoke_us, None, input, Output::Unknown)
}

fn get(client: u64, span: (u64, u64), seen: Option<&str>) -> Op {
    let input = Input::Get { key: "x".into() };
    let output = Output::Value(seen.map(str::to_string));
    op(client, span.0, Some(span.1), input, output)
}

fn cas(client: u64, span: (u64, u64), expected: Option<&str>, new: Option<&str>, ok: bool) -> Op {
    let input = Input::Cas {
        key: "x".into(),
        expected: expected.map(str::to_string),
        new: new.map(str::to_string),
    };
    let output = if ok { Output::Ok } else { Output::CasFailed };
    op(client, span.0, Some(span.1), input, output)
}

fn delete(client: u64, span: (u64, u64)) -> Op {
    let input = Input::Delete { key: "x".into() };
    op(client, span.0, Some(span.1), input, Output::Ok)
}

fn is_linearizable(history: &[Op]) -> bool {
    match check(history, Model::Kv) {
        Verdict::Linearizable => true,
        Verdict::NotLinearizable { .. } => false,
        Verdict::Unknown { reason } => panic!("unknown: {reason}"),
    }
}

fn witness(history: &[Op]) -> Vec<Op> {
    match check(history, Model::Kv) {
        Verdict::NotLinearizable { witness, .. } => witness,
        other => panic!("expected a violation, got {other}"),
    }
}

#[test]
fn linearizable_file_is_linearizable() {
    let history = parse_history(LINEARIZABLE).unwrap();
    assert!(history.len() >= 30);
    assert!(history.iter().any(|op| op.return_us.is_none()));
    assert_eq!(check(&history, Model::Kv), Verdict::Linearizable);
}

#[test]
fn stale_read_file_has_a_small_witness_with_the_stale_get() {
    let history = parse_history(STALE_READ).unwrap();
    let stale = get(1, (1522, 1612), Some("4"));
    let stale = Op {
        input: Input::Get { key: "z".into() },
        ..stale
    };
    assert!(history.contains(&stale));
    match check(&history, Model::Kv) {
        Verdict::NotLinearizable { key, witness } => {
            assert_eq!(key, "z");
            assert!(witness.len() <= 6, "{}", write_history(&witness));
            assert!(witness.contains(&stale), "{}", write_history(&witness));
        }
        other => panic!("expected a violation, got {other}"),
    }
}

#[test]
fn files_round_trip_through_the_writer() {
    for text in [LINEARIZABLE, STALE_READ] {
        let history = parse_history(text).unwrap();
        assert_eq!(write_history(&history), text);
    }
}

#[test]
fn writer_round_trips_generated_and_awkward_strings() {
    let mut history = generated(3, 4, 50, 3, 0.1);
    history.push(op(
        7,
        1,
        Some(2),
        Input::Cas {
            key: "quote\" back\\slash\nnewline é".into(),
            expected: None,
            new: Some("\u{0}".into()),
        },
        Output::CasFailed,
    ));
    let text = write_history(&history);
    assert_eq!(text.lines().count(), history.len());
    assert_eq!(parse_history(&text).unwrap(), history);
}

#[test]
fn sequential_history_is_linearizable() {
    let history = [
        get(1, (0, 10), None),
        put(1, (20, 30), "1"),
        get(2, (40, 50), Some("1")),
        put(2, (60, 70), "2"),
        get(1, (80, 90), Some("2")),
        delete(1, (100, 110)),
        get(2, (120, 130), None),
    ];
    assert!(is_linearizable(&history));
}

#[test]
fn concurrent_get_may_see_either_side_of_a_put() {
    for seen in [None, Some("1")] {
        let history = [put(1, (0, 100), "1"), get(2, (10, 90), seen)];
        assert!(is_linearizable(&history), "{seen:?}");
    }
    // The put returned before the get was sent: only the new value will do.
    let history = [put(1, (0, 100), "1"), get(2, (110, 120), None)];
    assert!(!is_linearizable(&history));
}

#[test]
fn events_in_the_same_microsecond_count_as_concurrent() {
    let history = [put(1, (0, 100), "1"), get(2, (100, 120), None)];
    assert!(is_linearizable(&history));
}

#[test]
fn stale_read_witness_is_the_three_ops_that_tell_the_story() {
    let history = [
        put(1, (0, 10), "1"),
        get(3, (12, 18), Some("1")),
        put(2, (20, 30), "2"),
        get(1, (31, 35), Some("2")),
        get(3, (40, 50), Some("1")),
        put(1, (60, 70), "3"),
    ];
    let expected = vec![
        put(1, (0, 10), "1"),
        put(2, (20, 30), "2"),
        get(3, (40, 50), Some("1")),
    ];
    assert_eq!(witness(&history), expected);
}

#[test]
fn unknown_put_that_a_later_read_sees_took_effect() {
    let history = [
        put(1, (0, 10), "1"),
        put_unknown(2, 20, "2"),
        get(3, (500, 600), Some("2")),
    ];
    assert!(is_linearizable(&history));
}

#[test]
fn unknown_put_that_nobody_sees_may_never_have_happened() {
    let history = [
        put(1, (0, 10), "1"),
        put_unknown(2, 20, "2"),
        get(3, (500, 600), Some("1")),
        get(1, (700, 800), Some("1")),
    ];
    assert!(is_linearizable(&history));
}

#[test]
fn unknown_put_happens_at_most_once_and_not_before_it_was_sent() {
    // Seen, then unseen with no other write in between.
    let history = [
        put(1, (0, 10), "1"),
        put_unknown(2, 20, "2"),
        get(3, (500, 600), Some("2")),
        get(3, (700, 800), Some("1")),
    ];
    assert!(!is_linearizable(&history));
    // Seen before it was sent.
    let history = [get(1, (0, 10), Some("2")), put_unknown(2, 20, "2")];
    assert!(!is_linearizable(&history));
}

#[test]
fn cas_semantics() {
    let history = [
        cas(1, (0, 10), None, Some("1"), true),
        cas(2, (20, 30), Some("1"), Some("2"), true),
        cas(1, (40, 50), Some("1"), Some("3"), false),
        get(2, (60, 70), Some("2")),
        cas(1, (80, 90), Some("2"), None, true),
        get(2, (100, 110), None),
    ];
    assert!(is_linearizable(&history));

    // Succeeded although the key held something else.
    let history = [
        put(1, (0, 10), "1"),
        cas(2, (20, 30), Some("2"), Some("3"), true),
    ];
    assert!(!is_linearizable(&history));
    // Failed although the key held exactly what it expected.
    let history = [
        put(1, (0, 10), "1"),
        cas(2, (20, 30), Some("1"), Some("3"), false),
    ];
    assert!(!is_linearizable(&history));
    // A failed cas wrote nothing.
    let history = [
        put(1, (0, 10), "1"),
        cas(2, (20, 30), Some("2"), Some("3"), false),
        get(1, (40, 50), Some("3")),
    ];
    assert!(!is_linearizable(&history));
    // A cas with no reply took effect only if the key matched.
    let unknown_cas = |expected: &str| Op {
        return_us: None,
        output: Output::Unknown,
        ..cas(2, (20, 30), Some(expected), Some("3"), true)
    };
    let seen_three = get(1, (40, 50), Some("3"));
    let history = [put(1, (0, 10), "1"), unknown_cas("1"), seen_three.clone()];
    assert!(is_linearizable(&history));
    let history = [put(1, (0, 10), "1"), unknown_cas("2"), seen_three];
    assert!(!is_linearizable(&history));
}

#[test]
fn keys_are_independent_and_the_register_model_wants_one() {
    let on = |key: &str, op: Op| Op {
        input: match op.input {
            Input::Put { value, .. } => Input::Put {
                key: key.into(),
                value,
            },
            Input::Get { .. } => Input::Get { key: key.into() },
            other => other,
        },
        ..op
    };
    let history = [
        on("a", put(1, (0, 10), "1")),
        on("b", get(2, (20, 30), None)),
        on("a", get(2, (40, 50), Some("1"))),
    ];
    assert!(is_linearizable(&history));
    assert!(matches!(
        check(&history, Model::Register),
        Verdict::Unknown { reason } if reason.contains("kv model")
    ));
    let one_key = [put(1, (0, 10), "1"), get(2, (20, 30), Some("1"))];
    assert_eq!(check(&one_key, Model::Register), Verdict::Linearizable);
    let stale = [put(1, (0, 10), "1"), get(2, (20, 30), None)];
    assert!(matches!(
        check(&stale, Model::Register),
        Verdict::NotLinearizable { key, .. } if key == "x"
    ));
}

#[test]
fn malformed_ops_in_code_are_unknown_not_a_panic() {
    let history = [op(
        1,
        0,
        Some(10),
        Input::Get { key: "x".into() },
        Output::Ok,
    )];
    assert!(matches!(
        check(&history, Model::Kv),
        Verdict::Unknown { reason } if reason.contains("line 1: field \"result\"")
    ));
    let backwards = [put(1, (10, 5), "1")];
    let err = validate(&backwards).unwrap_err();
    assert_eq!(err.field.as_deref(), Some("return_us"));
}

#[test]
fn empty_history_is_linearizable() {
    assert_eq!(check(&[], Model::Kv), Verdict::Linearizable);
    assert_eq!(check(&[], Model::Register), Verdict::Linearizable);
}

/// A history of `clients` clients doing `per_client` ops each over `keys` keys against a real
/// map, each op taking effect at a random instant within its span; with probability
/// `unknown_rate` an op gets no reply (and then, half the time, never takes effect).
fn generated(
    seed: u64,
    clients: u64,
    per_client: usize,
    keys: usize,
    unknown_rate: f64,
) -> Vec<Op> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut planned = Vec::new();
    for client in 1..=clients {
        let mut t = rng.gen_range(0..100u64);
        for _ in 0..per_client {
            let invoke = t;
            let ret = invoke + rng.gen_range(1..300u64);
            let effect = rng.gen_range(invoke..=ret);
            let no_reply = rng.gen_bool(unknown_rate);
            let applied = !no_reply || rng.gen_bool(0.5);
            let key = format!("k{}", rng.gen_range(0..keys));
            let kind = rng.gen_range(0..10u8);
            planned.push((effect, applied, no_reply, client, invoke, ret, key, kind));
            t = ret + rng.gen_range(1..50u64);
        }
    }
    planned.sort_by_key(|p| p.0);
    let mut map: BTreeMap<String, String> = BTreeMap::new();
    let mut history = Vec::new();
    for (n, (_, applied, no_reply, client, invoke, ret, key, kind)) in
        planned.into_iter().enumerate()
    {
        let current = map.get(&key).cloned();
        let fresh = format!("v{n}");
        let (input, output) = match kind {
            0..=3 => (Input::Get { key }, Output::Value(current)),
            4..=6 => {
                if applied {
                    map.insert(key.clone(), fresh.clone());
                }
                let input = Input::Put { key, value: fresh };
                (input, Output::Ok)
            }
            7 => {
                if applied {
                    map.remove(&key);
                }
                (Input::Delete { key }, Output::Ok)
            }
            _ => {
                let expected = if rng.gen_bool(0.6) {
                    current.clone()
                } else {
                    Some(format!("v{}", rng.gen_range(0..=n)))
                };
                let ok = expected == current;
                if ok && applied {
                    map.insert(key.clone(), fresh.clone());
                }
                let input = Input::Cas {
                    key,
                    expected,
                    new: Some(fresh),
                };
                (input, if ok { Output::Ok } else { Output::CasFailed })
            }
        };
        let (return_us, output) = if no_reply {
            (None, Output::Unknown)
        } else {
            (Some(ret), output)
        };
        history.push(op(client, invoke, return_us, input, output));
    }
    history.sort_by_key(|op| op.invoke_us);
    history
}

#[test]
fn random_sequential_histories_pass_and_a_forged_read_fails() {
    for seed in 0..200 {
        let history = generated(seed, 1, 40, 3, 0.0);
        assert!(is_linearizable(&history), "seed {seed}");

        let mut rng = ChaCha8Rng::seed_from_u64(seed + 1000);
        let gets: Vec<usize> = (0..history.len())
            .filter(|&i| matches!(history[i].input, Input::Get { .. }))
            .collect();
        let forged = gets[rng.gen_range(0..gets.len())];
        let mut bad = history.clone();
        bad[forged].output = Output::Value(Some("never written".into()));
        let witness = witness(&bad);
        assert!(
            witness.contains(&bad[forged]),
            "seed {seed}: {}not in\n{}",
            bad[forged].to_json_line(),
            write_history(&witness)
        );
        assert!(
            witness.len() <= 3,
            "seed {seed}: {}",
            write_history(&witness)
        );
    }
}

#[test]
fn random_concurrent_histories_with_lost_replies_pass() {
    for seed in 0..100 {
        let history = generated(seed, 5, 30, 3, 0.05);
        assert!(is_linearizable(&history), "seed {seed}");
    }
}

#[test]
fn random_concurrent_stale_reads_are_caught_with_small_witnesses() {
    let mut caught = 0;
    for seed in 0..300 {
        let clients = 2 + seed % 6;
        let keys = 1 + seed as usize % 4;
        let lost = 0.03 * (seed % 4) as f64;
        let mut history = generated(seed, clients, 40, keys, lost);
        assert!(is_linearizable(&history), "seed {seed}");
        let Some((i, old)) = stale_candidate(&history) else {
            continue;
        };
        history[i].output = Output::Value(old);
        let witness = witness(&history);
        assert!(
            witness.contains(&history[i]),
            "seed {seed}: {} not in\n{}",
            history[i].to_json_line(),
            write_history(&witness)
        );
        assert!(
            witness.len() <= 6,
            "seed {seed}: {}",
            write_history(&witness)
        );
        assert!(!is_linearizable(&witness), "seed {seed}");
        caught += 1;
    }
    assert!(caught > 150, "{caught}");
}

/// A get `i` and a value it could not have seen: one overwritten by a put that returned before
/// the get was sent, that the get did not see, and that nothing could have rewritten since.
fn stale_candidate(history: &[Op]) -> Option<(usize, Option<String>)> {
    for (i, reader) in history.iter().enumerate() {
        let Output::Value(seen) = &reader.output else {
            continue;
        };
        let key = reader.input.key();
        let before = |op: &Op| op.return_us.is_some_and(|r| r < reader.invoke_us);
        let writes: Vec<&Op> = history
            .iter()
            .filter(|op| op.input.key() == key && !matches!(op.input, Input::Get { .. }))
            .collect();
        // Two sequential unique puts, both finished before the read, the second finished
        // before the read and with nothing else touching the key after the first started.
        for (a, b) in writes.iter().zip(writes.iter().skip(1)) {
            let (Input::Put { value: old, .. }, Input::Put { value: new, .. }) =
                (&a.input, &b.input)
            else {
                continue;
            };
            let sequential = a.return_us.is_some_and(|r| r < b.invoke_us);
            let later_writes = writes.iter().any(|w| {
                w.invoke_us > b.invoke_us && w.invoke_us < reader.return_us.unwrap_or(u64::MAX)
            });
            if sequential && before(b) && !later_writes && seen.as_ref() == Some(new) {
                return Some((i, Some(old.clone())));
            }
        }
    }
    None
}

#[test]
fn step_budget_gives_up_on_an_adversarial_history() {
    // Thirty overlapping puts and a read of a value none wrote: proving it takes every subset.
    let mut history: Vec<Op> = (0..30).map(|c| put(c, (0, 1000), &c.to_string())).collect();
    history.push(get(99, (0, 1000), Some("none")));
    let limits = Limits {
        steps_per_key: 100_000,
        minimize_steps: 100_000,
        time: None,
    };
    let started = Instant::now();
    let verdict = check_with(&history, Model::Kv, &limits);
    assert!(
        matches!(&verdict, Verdict::Unknown { reason } if reason.contains("\"x\"")),
        "{verdict}"
    );
    assert!(started.elapsed().as_secs() < 5);
}

#[test]
fn malformed_lines_name_line_and_field() {
    let good = r#"{"client":1,"invoke_us":100,"return_us":250,"op":"put","key":"x","value":"1","result":"ok"}"#;
    let cases: [(&str, Option<&str>, &str); 12] = [
        (
            r#"{"client":1,"invoke_us":1,"return_us":2,"op":"puut","key":"x","value":"1","result":"ok"}"#,
            Some("op"),
            "line 4: field \"op\": unknown operation \"puut\" (expected get, put, cas, delete, append or concat)",
        ),
        (
            r#"{"client":1,"invoke_us":1,"return_us":2,"op":"put","key":"x","vlaue":"1","result":"ok"}"#,
            Some("vlaue"),
            "unknown field",
        ),
        (
            r#"{"client":1,"invoke_us":1,"return_us":2,"op":"put","key":"x","result":"ok"}"#,
            Some("value"),
            "missing",
        ),
        (
            r#"{"client":"a","invoke_us":1,"return_us":2,"op":"get","key":"x","result":{"value":null}}"#,
            Some("client"),
            "non-negative integer",
        ),
        (
            r#"{"client":1,"invoke_us":-1,"return_us":2,"op":"get","key":"x","result":{"value":null}}"#,
            Some("invoke_us"),
            "non-negative integer",
        ),
        (
            r#"{"client":1,"invoke_us":1,"return_us":2,"op":"get","key":"x","result":"ok"}"#,
            Some("result"),
            "a get returns",
        ),
        (
            r#"{"client":1,"invoke_us":1,"return_us":2,"op":"get","key":"x","value":"1","result":{"value":null}}"#,
            Some("value"),
            "not used by get",
        ),
        (
            r#"{"client":1,"invoke_us":5,"return_us":2,"op":"delete","key":"x","result":"ok"}"#,
            Some("return_us"),
            "before invoke_us",
        ),
        (
            r#"{"client":1,"invoke_us":1,"return_us":2,"op":"delete","key":"x","result":"unknown"}"#,
            Some("result"),
            "needs \"return_us\": null",
        ),
        (
            r#"{"client":1,"invoke_us":1,"return_us":null,"op":"cas","key":"x","expected":null,"new":"1","result":"ok"}"#,
            Some("return_us"),
            "needs \"result\": \"unknown\"",
        ),
        (
            r#"{"client":1,"invoke_us":1,"return_us":2,"op":"cas","key":"x","expected":3,"new":"1","result":"ok"}"#,
            Some("expected"),
            "string or null",
        ),
        (r#"{"client":1,"invoke_us":1,"#, None, "not valid JSON"),
    ];
    for (line, field, message) in cases {
        let text = format!("{good}\n\n{good}\n{line}\n{good}\n");
        let err = parse_history(&text).unwrap_err();
        assert_eq!(err.line, 4, "{err}");
        assert_eq!(err.field.as_deref(), field, "{err}");
        assert!(err.to_string().contains(message), "{err}");
    }
    let err = parse_history("[1, 2]").unwrap_err();
    assert_eq!(err.to_string(), "line 1: expected a JSON object, got [1,2]");
}

#[test]
fn mangled_files_never_panic() {
    let mut rng = ChaCha8Rng::seed_from_u64(9);
    let pieces = [
        "\"",
        "{",
        "}",
        ":",
        ",",
        "null",
        "-1",
        "1e3",
        "\"unknown\"",
        "\"cas\"",
        "\n",
    ];
    for _ in 0..2000 {
        let mut text = STALE_READ.to_string();
        for _ in 0..rng.gen_range(1..4) {
            let mut at = rng.gen_range(0..text.len());
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            let end = (at + rng.gen_range(0..6)).min(text.len());
            if text.is_char_boundary(end) {
                text.replace_range(at..end, pieces[rng.gen_range(0..pieces.len())]);
            }
        }
        match parse_history(&text) {
            Ok(history) => {
                let _ = check(&history, Model::Kv);
            }
            Err(err) => assert!(err.line >= 1 && !err.message.is_empty()),
        }
    }
}

/// Prints how long a 10,000-op history takes:
/// `cargo test -p faultline-sim --release linearizability::tests::timing -- --ignored --nocapture`.
#[test]
#[ignore]
fn timing_of_a_ten_thousand_op_history() {
    let history = generated(7, 50, 200, 40, 0.01);
    assert_eq!(history.len(), 10_000);
    let started = Instant::now();
    let verdict = check(&history, Model::Kv);
    println!(
        "10,000 ops, 50 clients, 40 keys, 1% without reply: {verdict} in {:?}",
        started.elapsed()
    );
    assert_eq!(verdict, Verdict::Linearizable);

    let mut history = generated(7, 50, 200, 40, 0.0);
    let (i, old) = stale_candidate(&history).unwrap();
    history[i].output = Output::Value(old);
    let started = Instant::now();
    let verdict = check(&history, Model::Kv);
    println!(
        "the same with one stale read, shrinking included: {:?}",
        started.elapsed()
    );
    println!("{verdict}");
    assert!(matches!(verdict, Verdict::NotLinearizable { .. }));

    // One busy key: the search grows with how many ops are in flight at once.
    for clients in [5, 10, 20] {
        let history = generated(8, clients, 10_000 / clients as usize, 1, 0.002);
        let started = Instant::now();
        let verdict = check(&history, Model::Register);
        println!(
            "10,000 ops on one register, {clients} clients, 0.2% without reply: {verdict} in {:?}",
            started.elapsed()
        );
    }
}

/// Linearizability by brute force: every choice of which no-reply ops took effect, every
/// order that respects real time.
fn brute_force(history: &[Op]) -> bool {
    // A list is a string behind this mark, its items as JSON, so one state type does.
    const LIST: &str = "\u{0}list:";
    fn list(items: &[String]) -> Option<String> {
        (!items.is_empty()).then(|| format!("{LIST}{}", serde_json::Value::from(items.to_vec())))
    }
    fn apply(op: &Op, state: &Option<String>) -> Option<Option<String>> {
        let is_list = state.as_deref().is_some_and(|s| s.starts_with(LIST));
        match (&op.input, &op.output) {
            (Input::Get { .. }, Output::Value(seen)) => (seen == state).then(|| state.clone()),
            (Input::Get { .. }, Output::List(items)) => {
                (list(items) == *state).then(|| state.clone())
            }
            (Input::Get { .. }, _) => Some(state.clone()),
            (Input::Put { value, .. }, _) => Some(Some(value.clone())),
            (Input::Delete { .. }, _) => Some(None),
            (Input::Append { value, .. }, _) => match state {
                None => Some(list(std::slice::from_ref(value))),
                Some(s) if is_list => {
                    let mut items: Vec<String> = serde_json::from_str(&s[LIST.len()..]).unwrap();
                    items.push(value.clone());
                    Some(list(&items))
                }
                Some(_) => None,
            },
            (Input::Concat { value, .. }, _) => match state {
                None if value.is_empty() => Some(None),
                None => Some(Some(value.clone())),
                Some(s) if !is_list => Some(Some(format!("{s}{value}"))),
                Some(_) => None,
            },
            (Input::Cas { expected, new, .. }, Output::Ok) => {
                (expected == state).then(|| new.clone())
            }
            (Input::Cas { expected, .. }, Output::CasFailed) => {
                (expected != state).then(|| state.clone())
            }
            (Input::Cas { expected, new, .. }, _) => Some(if expected == state {
                new.clone()
            } else {
                state.clone()
            }),
        }
    }
    fn orders(ops: &[&Op], placed: &mut Vec<bool>, state: Option<String>) -> bool {
        if placed.iter().all(|&p| p) {
            return true;
        }
        for i in 0..ops.len() {
            let ready = !placed[i]
                && (0..ops.len())
                    .all(|j| placed[j] || ops[j].return_us.is_none_or(|r| r >= ops[i].invoke_us));
            if !ready {
                continue;
            }
            if let Some(after) = apply(ops[i], &state) {
                placed[i] = true;
                if orders(ops, placed, after) {
                    return true;
                }
                placed[i] = false;
            }
        }
        false
    }
    let maybe: Vec<usize> = (0..history.len())
        .filter(|&i| history[i].return_us.is_none())
        .collect();
    (0..1u32 << maybe.len()).any(|chosen| {
        let ops: Vec<&Op> = (0..history.len())
            .filter(|&i| match maybe.iter().position(|&m| m == i) {
                Some(bit) => chosen & (1 << bit) != 0,
                None => true,
            })
            .map(|i| &history[i])
            .collect();
        orders(&ops, &mut vec![false; ops.len()], None)
    })
}

#[test]
fn agrees_with_brute_force_on_small_random_histories() {
    let mut rng = ChaCha8Rng::seed_from_u64(42);
    let value = |rng: &mut ChaCha8Rng| match rng.gen_range(0..3) {
        0 => None,
        n => Some(n.to_string()),
    };
    let (mut linearizable, mut not) = (0, 0);
    for round in 0..3000 {
        let len = rng.gen_range(1..=6);
        let history: Vec<Op> = (0..len)
            .map(|c| {
                let invoke = rng.gen_range(0..20);
                let ret = invoke + rng.gen_range(0..10);
                let unknown = rng.gen_bool(0.2);
                let (input, output) = match rng.gen_range(0..4) {
                    0 => (
                        Input::Get { key: "x".into() },
                        Output::Value(value(&mut rng)),
                    ),
                    1 => {
                        let value = value(&mut rng).unwrap_or_else(|| "1".into());
                        (
                            Input::Put {
                                key: "x".into(),
                                value,
                            },
                            Output::Ok,
                        )
                    }
                    2 => (Input::Delete { key: "x".into() }, Output::Ok),
                    _ => {
                        let input = Input::Cas {
                            key: "x".into(),
                            expected: value(&mut rng),
                            new: value(&mut rng),
                        };
                        let ok = rng.gen_bool(0.5);
                        (input, if ok { Output::Ok } else { Output::CasFailed })
                    }
                };
                let (return_us, output) = if unknown {
                    (None, Output::Unknown)
                } else {
                    (Some(ret), output)
                };
                op(c, invoke, return_us, input, output)
            })
            .collect();
        let expected = brute_force(&history);
        match check(&history, Model::Register) {
            Verdict::Linearizable => {
                assert!(expected, "round {round}:\n{}", write_history(&history))
            }
            Verdict::NotLinearizable { witness, .. } => {
                assert!(!expected, "round {round}:\n{}", write_history(&history));
                assert!(
                    !brute_force(&witness),
                    "round {round}:\n{}",
                    write_history(&witness)
                );
                assert!(witness.iter().all(|w| history.contains(w)));
            }
            Verdict::Unknown { reason } => panic!("round {round}: {reason}"),
        }
        if expected {
            linearizable += 1;
        } else {
            not += 1;
        }
    }
    // Both answers are well represented, or the comparison proves little.
    assert!(linearizable > 500 && not > 500, "{linearizable} / {not}");
}

#[test]
fn many_lost_replies_do_not_blow_up_a_failing_search() {
    // Forty puts that never got a reply, half of them seen, among sequential traffic, and
    // then a stale read: the unseen ones may take effect at any later time, or never.
    let mut history = Vec::new();
    for i in 0..40u64 {
        let t = i * 100;
        let seen = if i % 2 == 0 { "b" } else { "a" };
        history.push(put(1, (t, t + 10), &format!("a{i}")));
        history.push(put_unknown(2 + i, t + 20, &format!("b{i}")));
        history.push(get(1, (t + 30, t + 40), Some(&format!("{seen}{i}"))));
    }
    history.push(get(99, (5000, 5010), Some("a0")));
    let started = Instant::now();
    let witness = witness(&history);
    assert!(witness.len() <= 4, "{}", write_history(&witness));
    assert!(started.elapsed().as_secs() < 5);
}

/// A random single-key history of appends (list or text, one kind per history) and reads of
/// what the appends could have built.
fn random_append_history(rng: &mut ChaCha8Rng, text: bool) -> Vec<Op> {
    let len = rng.gen_range(1..=6);
    (0..len)
        .map(|c| {
            let invoke = rng.gen_range(0..20);
            let ret = invoke + rng.gen_range(0..10);
            let unknown = rng.gen_bool(0.2);
            let piece = ["a", "b", "ab"][rng.gen_range(0..3)].to_string();
            let (input, output) = if rng.gen_bool(0.5) {
                let key = "x".to_string();
                let input = if text {
                    Input::Concat { key, value: piece }
                } else {
                    Input::Append { key, value: piece }
                };
                (input, Output::Ok)
            } else {
                let seen = ["", "a", "b", "ab", "ba", "aab", "abab"][rng.gen_range(0..7)];
                let output = if text {
                    Output::Value((!seen.is_empty()).then(|| seen.to_string()))
                } else {
                    // Lists of single letters, and "ab" as one item when the text is "ab".
                    let items = if seen == "ab" && rng.gen_bool(0.5) {
                        vec!["ab".to_string()]
                    } else {
                        seen.chars().map(|c| c.to_string()).collect()
                    };
                    Output::List(items)
                };
                (Input::Get { key: "x".into() }, output)
            };
            let (return_us, output) = if unknown {
                (None, Output::Unknown)
            } else {
                (Some(ret), output)
            };
            op(c, invoke, return_us, input, output)
        })
        .collect()
}

#[test]
fn appends_agree_with_brute_force_on_small_random_histories() {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    let (mut linearizable, mut not) = (0, 0);
    for round in 0..3000 {
        let history = random_append_history(&mut rng, round % 2 == 0);
        let expected = brute_force(&history);
        match check(&history, Model::Register) {
            Verdict::Linearizable => {
                assert!(expected, "round {round}:\n{}", write_history(&history))
            }
            Verdict::NotLinearizable { witness, .. } => {
                assert!(!expected, "round {round}:\n{}", write_history(&history));
                assert!(
                    !brute_force(&witness),
                    "round {round}:\n{}",
                    write_history(&witness)
                );
            }
            Verdict::Unknown { reason } => panic!("round {round}: {reason}"),
        }
        if expected {
            linearizable += 1;
        } else {
            not += 1;
        }
    }
    assert!(linearizable > 300 && not > 300, "{linearizable} / {not}");
}

fn append(client: u64, span: (u64, u64), value: &str) -> Op {
    let input = Input::Append {
        key: "x".into(),
        value: value.into(),
    };
    op(client, span.0, Some(span.1), input, Output::Ok)
}

fn read_list(client: u64, span: (u64, u64), items: &[&str]) -> Op {
    let input = Input::Get { key: "x".into() };
    let output = Output::List(items.iter().map(|s| s.to_string()).collect());
    op(client, span.0, Some(span.1), input, output)
}

#[test]
fn list_append_histories_both_ways() {
    // Two concurrent appends: a read may see them in either order, but two reads may not
    // disagree about the order.
    let concurrent = [append(1, (0, 10), "1"), append(2, (0, 10), "2")];
    let mut fine = concurrent.to_vec();
    fine.push(read_list(3, (20, 30), &["2", "1"]));
    fine.push(read_list(4, (40, 50), &["2", "1"]));
    assert!(is_linearizable(&fine));
    let mut flipped = concurrent.to_vec();
    flipped.push(read_list(3, (20, 30), &["2", "1"]));
    flipped.push(read_list(4, (40, 50), &["1", "2"]));
    let witness = witness(&flipped);
    assert_eq!(witness.len(), 4, "{}", write_history(&witness));
    // A lost append: a read before any append finished sees nothing (an empty list), and a
    // read may never see an element appended after it returned.
    let lost = op(
        5,
        0,
        None,
        Input::Append {
            key: "x".into(),
            value: "3".into(),
        },
        Output::Unknown,
    );
    assert!(is_linearizable(&[
        read_list(1, (0, 1), &[]),
        lost.clone(),
        read_list(2, (5, 6), &["3"]),
    ]));
    assert!(!is_linearizable(&[
        read_list(2, (0, 1), &["1"]),
        append(1, (5, 6), "1"),
    ]));
    // The round trip through JSON lines keeps appends and list reads.
    let text = write_history(&flipped);
    assert!(text.contains("\"op\":\"append\""), "{text}");
    assert_eq!(parse_history(&text).unwrap(), flipped);
}

#[test]
fn concat_is_porcupines_string_append() {
    let concat = |client, span: (u64, u64), value: &str| {
        let input = Input::Concat {
            key: "x".into(),
            value: value.into(),
        };
        op(client, span.0, Some(span.1), input, Output::Ok)
    };
    // "x" then "y" concurrently: "xy" and "yx" are both possible, "x" alone after both is not.
    let both = [concat(1, (0, 10), "x"), concat(2, (0, 10), "y")];
    let mut fine = both.to_vec();
    fine.push(get(3, (20, 30), Some("yx")));
    assert!(is_linearizable(&fine));
    let mut lost = both.to_vec();
    lost.push(get(3, (20, 30), Some("x")));
    assert!(!is_linearizable(&lost));
    // A put resets the text; concat builds on it.
    assert!(is_linearizable(&[
        put(1, (0, 1), "a"),
        concat(1, (2, 3), "b"),
        get(1, (4, 5), Some("ab")),
    ]));
    // A list append on a text cannot happen.
    assert!(!is_linearizable(&[
        put(1, (0, 1), "a"),
        append(1, (2, 3), "b")
    ]));
}

#[test]
fn explanation_shows_the_longest_prefix_and_the_stuck_read() {
    // put 1, put 2, then a read of 1: the puts go in, the read cannot.
    let history = [
        put(1, (0, 10), "1"),
        put(2, (20, 30), "2"),
        get(3, (40, 50), Some("1")),
        get(4, (60, 70), Some("2")),
    ];
    let explained = explain(&history, "x", &Limits::default());
    assert_eq!(explained.linearizable, Some(false));
    assert_eq!(
        explained.order,
        [(0, "\"1\"".to_string()), (1, "\"2\"".to_string())]
    );
    assert_eq!(explained.stuck, Some(2));
    // A linearizable key is placed whole, nothing stuck.
    let fine = explain(&history[..2], "x", &Limits::default());
    assert_eq!(
        (fine.linearizable, fine.order.len(), fine.stuck),
        (Some(true), 2, None)
    );
}

#[test]
fn wall_clock_budget_runs_out_and_says_so() {
    // The adversarial history of the step-budget test, with no step bound but a short time.
    let mut history: Vec<Op> = (0..30).map(|c| put(c, (0, 1000), &c.to_string())).collect();
    history.push(get(99, (0, 1000), Some("none")));
    let limits = Limits {
        steps_per_key: u64::MAX,
        minimize_steps: 100_000,
        time: Some(std::time::Duration::from_millis(200)),
    };
    let started = Instant::now();
    let verdict = check_with(&history, Model::Kv, &limits);
    assert!(
        matches!(&verdict, Verdict::Unknown { reason } if reason.starts_with("budget exhausted after 0.2 s, undecided on key \"x\"")),
        "{verdict}"
    );
    assert!(started.elapsed().as_secs() < 5);
    // A decidable history gets the same verdict with a wall-clock budget as with steps.
    let stale = parse_history(STALE_READ).unwrap();
    assert_eq!(
        check_with(
            &stale,
            Model::Kv,
            &Limits::wall_clock(std::time::Duration::from_secs(10))
        ),
        check(&stale, Model::Kv)
    );
}

#[test]
fn a_busy_register_the_step_budget_gives_up_on_is_decided_within_the_wall_clock_budget() {
    // 1,440 ops on one key from 16 clients: more than the default million steps (so `check`
    // inside a simulated run says undecided), about 0.3 s of wall clock in a release build.
    let history = generated(3, 16, 90, 1, 0.0);
    assert_eq!(history.len(), 1440);
    assert!(
        matches!(check(&history, Model::Register), Verdict::Unknown { .. }),
        "the default steps suffice: pick a harder history"
    );
    let started = Instant::now();
    let verdict = check_with(
        &history,
        Model::Register,
        &Limits::wall_clock(std::time::Duration::from_secs(60)),
    );
    assert_eq!(verdict, Verdict::Linearizable);
    println!("decided in {:?}", started.elapsed());
}
