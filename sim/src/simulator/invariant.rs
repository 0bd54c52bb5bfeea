//! A broken invariant in a simulated run (sim flavor only). An `assert!` in a node, or a bug
//! in faultline itself, panics; madsim propagates the panic out of its runtime, and without
//! this the process (an explore worker with it) would abort. Here the panic becomes a failed
//! check named [`INVARIANT`] that says what broke, where and in which node, so the run ends as
//! a FAILURE with its seed file like any other.

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Once;
use std::task::{Context, Poll};

use crate::node::NodeId;

/// The name of the check a panic in a simulated run fails.
pub const INVARIANT: &str = "invariant";

/// A panic caught in a simulated run.
#[derive(Clone, Debug, PartialEq)]
pub struct Broken {
    /// The panic's message.
    pub message: String,
    /// Where it was raised, `file:line:column` (empty when the hook did not see it).
    pub location: String,
    /// The node whose task was running; `None` outside every node (faultline's supervisor).
    pub node: Option<NodeId>,
}

thread_local! {
    /// A simulated run is under way on this thread: its panics are caught, not printed.
    static ARMED: Cell<bool> = const { Cell::new(false) };
    /// The node whose task is being polled on this thread, if any.
    static CURRENT: Cell<Option<NodeId>> = const { Cell::new(None) };
    /// The first panic of the run on this thread (later ones come from unwinding it).
    static CAUGHT: RefCell<Option<Broken>> = const { RefCell::new(None) };
}

/// The process-wide hook is installed once; it only acts for threads that armed it, so the
/// panics of tests and of faultline outside a simulated run still print as usual.
static HOOK: Once = Once::new();

/// Runs `f` (a whole simulated run); a panic inside comes back as `Err`.
pub(crate) fn catch<R>(f: impl FnOnce() -> R) -> Result<R, Broken> {
    HOOK.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !ARMED.with(Cell::get) {
                return previous(info);
            }
            let broken = Broken {
                message: payload_message(info.payload()),
                location: info.location().map(|l| l.to_string()).unwrap_or_default(),
                node: CURRENT.with(Cell::get),
            };
            CAUGHT.with(|c| {
                c.borrow_mut().get_or_insert(broken);
            });
        }));
    });
    let armed_before = ARMED.with(|a| a.replace(true));
    CAUGHT.with(|c| c.borrow_mut().take());
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    ARMED.with(|a| a.set(armed_before));
    CURRENT.with(|c| c.set(None));
    let caught = CAUGHT.with(|c| c.borrow_mut().take());
    result.map_err(|payload| {
        caught.unwrap_or_else(|| Broken {
            message: payload_message(&*payload),
            location: String::new(),
            node: None,
        })
    })
}

/// The text of a panic's payload (`panic!` gives a `&str` or a `String`).
fn payload_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "a panic without a message".to_string()
    }
}

/// A node's task: while it is polled, a panic is blamed on `node`.
pub(crate) struct InNode<F: Future> {
    /// The node the task runs.
    pub(crate) node: NodeId,
    /// The task.
    pub(crate) task: Pin<Box<F>>,
}

impl<F: Future> Future for InNode<F> {
    type Output = F::Output;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        let outer = CURRENT.with(|c| c.replace(Some(self.node)));
        let poll = self.task.as_mut().poll(cx);
        // Not reached when the task panics: the hook has read `CURRENT` by then, and
        // [`catch`] clears it.
        CURRENT.with(|c| c.set(outer));
        poll
    }
}

impl Broken {
    /// The failed check's detail, `names` naming the nodes: what broke, where, and in which
    /// node, at `t_us`.
    pub fn detail(&self, names: &[String], t_us: u64) -> String {
        let who = match self.node {
            Some(node) => names
                .get(node.0 as usize)
                .map_or_else(|| format!("node #{}", node.0), |n| format!("node {n}")),
            None => "faultline, outside every node,".to_string(),
        };
        let at = if self.location.is_empty() {
            String::new()
        } else {
            format!(" at {}", self.location)
        };
        format!(
            "at {:.3} s: {who} panicked{at}: {}",
            t_us as f64 / 1e6,
            self.message
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_comes_back_with_its_message_location_and_node() {
        let broken = catch(|| {
            let mut task = InNode {
                node: NodeId(2),
                task: Box::pin(async { panic!("commit moved back from 7 to 5") }),
            };
            let waker = std::task::Waker::noop();
            let _ = Pin::new(&mut task).poll(&mut Context::from_waker(waker));
        })
        .unwrap_err();
        assert_eq!(broken.message, "commit moved back from 7 to 5");
        assert!(
            broken
                .location
                .starts_with("sim/src/simulator/invariant.rs:"),
            "{broken:?}"
        );
        assert_eq!(broken.node, Some(NodeId(2)));
        let names = ["s1".to_string(), "s2".to_string(), "s3".to_string()];
        assert!(broken
            .detail(&names, 1_500_000)
            .starts_with("at 1.500 s: node s3 panicked at sim/src/simulator/invariant.rs:"));
    }

    #[test]
    fn a_panic_outside_every_node_is_blamed_on_faultline_and_no_panic_is_ok() {
        let broken = catch(|| panic!("bad {}", 1)).unwrap_err();
        assert_eq!(broken.message, "bad 1");
        assert_eq!(broken.node, None);
        assert!(broken
            .detail(&[], 0)
            .contains("faultline, outside every node,"));
        assert_eq!(catch(|| 5), Ok(5));
    }
}
