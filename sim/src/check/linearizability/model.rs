//! The register's sequential specification, over interned contents so states are small
//! integers.
//!
//! A key holds nothing, a text or a list. Puts, deletes and compare-and-sets replace the
//! content; `append` pushes an element onto a list (Jepsen's list-append), `concat` adds to
//! the end of a text (porcupine's kv `append`). Contents reached by appending are interned as
//! the search meets them, so a state is still one integer and equal contents are equal states.

use std::collections::HashMap;

use super::history::{Input, Op, Output};

/// A register's content: [`ABSENT`] or an index into the key's interned contents.
pub(super) type State = u64;

/// The empty register, which is also where every key starts.
pub(super) const ABSENT: State = 0;

/// What one op does to the register, given what its reply said.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Step {
    /// A get that saw this state.
    Read(State),
    /// A put, a delete (writing [`ABSENT`]) or an unknown-outcome put or delete.
    Write(State),
    /// A compare-and-set that reported success.
    CasOk {
        /// The state it required.
        expected: State,
        /// The state it left.
        new: State,
    },
    /// A compare-and-set that reported a different value.
    CasFailed {
        /// The state it did not find.
        expected: State,
    },
    /// A compare-and-set with no reply: it wrote `new` if the register held `expected`.
    CasMaybe {
        /// The state it required.
        expected: State,
        /// The state it left when it matched.
        new: State,
    },
    /// An append of this piece (an index into the interned pieces) to a list.
    Append(u32),
    /// A concatenation of this piece to a text.
    Concat(u32),
}

impl Step {
    /// Whether the op never changes the register, whatever it holds.
    pub(super) fn is_read(self) -> bool {
        match self {
            Step::Read(_) | Step::CasFailed { .. } => true,
            Step::CasOk { expected, new } => expected == new,
            Step::Write(_) | Step::CasMaybe { .. } | Step::Append(_) | Step::Concat(_) => false,
        }
    }

    /// Whether a read (see [`Step::is_read`]) accepts `state`.
    pub(super) fn accepts(self, state: State) -> bool {
        match self {
            Step::Read(seen) => seen == state,
            Step::CasFailed { expected } => expected != state,
            Step::CasOk { expected, new } => expected == new && expected == state,
            _ => false,
        }
    }

    /// The state after the op, or `None` when its reply is impossible from `state`.
    pub(super) fn apply(self, state: State, values: &mut Values) -> Option<State> {
        match self {
            Step::Read(seen) => (seen == state).then_some(state),
            Step::Write(new) => Some(new),
            Step::CasOk { expected, new } => (expected == state).then_some(new),
            Step::CasFailed { expected } => (expected != state).then_some(state),
            Step::CasMaybe { expected, new } => Some(if expected == state { new } else { state }),
            Step::Append(piece) | Step::Concat(piece) => values.extend(state, self, piece),
        }
    }
}

/// What a key can hold besides nothing.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Content {
    /// A string, written by a put or a compare-and-set or built by concats.
    Text(String),
    /// A non-empty list, built by appends (an empty list reads as absent).
    List(Vec<String>),
}

/// One key's contents and appended pieces; ids follow first appearance, so they are
/// deterministic.
#[derive(Default)]
pub(super) struct Values {
    /// Content to state.
    ids: HashMap<Content, State>,
    /// State - 1 to content.
    contents: Vec<Content>,
    /// Appended pieces, by index.
    pieces: Vec<String>,
    /// Piece to index.
    piece_ids: HashMap<String, u32>,
    /// Transitions already computed: (state, step) to the state after, `None` when the
    /// content's kind does not take that kind of append.
    extended: HashMap<(State, Step), Option<State>>,
}

impl Values {
    fn id(&mut self, content: Content) -> State {
        if let Some(&id) = self.ids.get(&content) {
            return id;
        }
        self.contents.push(content.clone());
        let id = self.contents.len() as State;
        self.ids.insert(content, id);
        id
    }

    fn text(&mut self, value: Option<&str>) -> State {
        value.map_or(ABSENT, |v| self.id(Content::Text(v.to_string())))
    }

    fn list(&mut self, items: &[String]) -> State {
        if items.is_empty() {
            return ABSENT;
        }
        self.id(Content::List(items.to_vec()))
    }

    fn piece(&mut self, piece: &str) -> u32 {
        if let Some(&id) = self.piece_ids.get(piece) {
            return id;
        }
        let id = self.pieces.len() as u32;
        self.pieces.push(piece.to_string());
        self.piece_ids.insert(piece.to_string(), id);
        id
    }

    /// The state after appending (or concatenating) `piece` to `state`: a list append needs a
    /// list (or nothing), a concat a text (or nothing, read as ""; an empty concat to nothing
    /// leaves nothing, as in porcupine, where a missing key is "").
    fn extend(&mut self, state: State, step: Step, piece: u32) -> Option<State> {
        if let Some(&after) = self.extended.get(&(state, step)) {
            return after;
        }
        let current = (state != ABSENT).then(|| self.contents[state as usize - 1].clone());
        let piece_text = self.pieces[piece as usize].clone();
        let after = match (step, current) {
            (Step::Append(_), None) => Some(self.id(Content::List(vec![piece_text]))),
            (Step::Append(_), Some(Content::List(mut items))) => {
                items.push(piece_text);
                Some(self.id(Content::List(items)))
            }
            (Step::Concat(_), None) if piece_text.is_empty() => Some(ABSENT),
            (Step::Concat(_), None) => Some(self.id(Content::Text(piece_text))),
            (Step::Concat(_), Some(Content::Text(mut text))) => {
                text.push_str(&piece_text);
                Some(self.id(Content::Text(text)))
            }
            _ => None,
        };
        self.extended.insert((state, step), after);
        after
    }

    /// The state for people: `nil`, a JSON string or a JSON list of strings.
    pub(super) fn render(&self, state: State) -> String {
        if state == ABSENT {
            return "nil".to_string();
        }
        match &self.contents[state as usize - 1] {
            Content::Text(text) => serde_json::Value::from(text.as_str()).to_string(),
            Content::List(items) => serde_json::Value::from(items.clone()).to_string(),
        }
    }

    /// The op's effect on the register, or `None` when it has none whatever happened (a get
    /// with no reply), so the search can leave it out.
    pub(super) fn step(&mut self, op: &Op) -> Option<Step> {
        let step = match (&op.input, &op.output) {
            (Input::Get { .. }, Output::Value(seen)) => Step::Read(self.text(seen.as_deref())),
            (Input::Get { .. }, Output::List(items)) => Step::Read(self.list(items)),
            (Input::Get { .. }, _) => return None,
            (Input::Put { value, .. }, _) => Step::Write(self.text(Some(value))),
            (Input::Delete { .. }, _) => Step::Write(ABSENT),
            (Input::Append { value, .. }, _) => Step::Append(self.piece(value)),
            (Input::Concat { value, .. }, _) => Step::Concat(self.piece(value)),
            (Input::Cas { expected, new, .. }, output) => {
                let expected = self.text(expected.as_deref());
                let new = self.text(new.as_deref());
                match output {
                    Output::Ok => Step::CasOk { expected, new },
                    Output::CasFailed => Step::CasFailed { expected },
                    _ => Step::CasMaybe { expected, new },
                }
            }
        };
        Some(step)
    }
}
