//! The register's sequential specification, over interned values so states are small integers.

use std::collections::HashMap;

use super::history::{Input, Op, Output};

/// A register's content: [`ABSENT`] or an index into the key's interned values.
pub(super) type State = u64;

/// The empty register, which is also where every key starts.
pub(super) const ABSENT: State = 0;

/// What one op does to the register, given what its reply said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
}

impl Step {
    /// Whether the op never changes the register, whatever it holds.
    pub(super) fn is_read(self) -> bool {
        match self {
            Step::Read(_) | Step::CasFailed { .. } => true,
            Step::CasOk { expected, new } => expected == new,
            Step::Write(_) | Step::CasMaybe { .. } => false,
        }
    }

    /// The state after the op, or `None` when its reply is impossible from `state`.
    pub(super) fn apply(self, state: State) -> Option<State> {
        match self {
            Step::Read(seen) => (seen == state).then_some(state),
            Step::Write(new) => Some(new),
            Step::CasOk { expected, new } => (expected == state).then_some(new),
            Step::CasFailed { expected } => (expected != state).then_some(state),
            Step::CasMaybe { expected, new } => Some(if expected == state { new } else { state }),
        }
    }
}

/// Maps one key's values to states; ids follow first appearance, so they are deterministic.
#[derive(Default)]
pub(super) struct Interner<'a> {
    /// Value to state.
    ids: HashMap<&'a str, State>,
}

impl<'a> Interner<'a> {
    fn id(&mut self, value: Option<&'a str>) -> State {
        let Some(value) = value else { return ABSENT };
        let next = self.ids.len() as State + 1;
        *self.ids.entry(value).or_insert(next)
    }

    /// The op's effect on the register, or `None` when it has none whatever happened (a get
    /// with no reply), so the search can leave it out.
    pub(super) fn step(&mut self, op: &'a Op) -> Option<Step> {
        let step = match (&op.input, &op.output) {
            (Input::Get { .. }, Output::Value(seen)) => Step::Read(self.id(seen.as_deref())),
            (Input::Get { .. }, _) => return None,
            (Input::Put { value, .. }, _) => Step::Write(self.id(Some(value))),
            (Input::Delete { .. }, _) => Step::Write(ABSENT),
            (Input::Cas { expected, new, .. }, output) => {
                let expected = self.id(expected.as_deref());
                let new = self.id(new.as_deref());
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
