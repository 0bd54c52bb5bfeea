//! [`timers!`]: a protocol's typed timers in one declaration, each variant with the number
//! the runtime and the trace know it by.

/// Declares a timer enum and its [`crate::Timer`] impl: each variant gets a fixed number
/// (what the trace shows), and `on_timer` can match the variants exhaustively.
///
/// ```
/// faultline_sim::timers! {
///     /// A client's timers.
///     pub enum ClientTimer {
///         /// Send (or resend) the current request.
///         Send = 1,
///         /// Give up on it.
///         Deadline = 2,
///     }
/// }
/// use faultline_sim::{Timer, TimerId};
/// assert_eq!(ClientTimer::Deadline.id(), TimerId(2));
/// assert_eq!(ClientTimer::from_id(TimerId(1)), Some(ClientTimer::Send));
/// assert_eq!(ClientTimer::from_id(TimerId(9)), None);
/// ```
#[macro_export]
macro_rules! timers {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $id:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )*
        }

        impl $crate::Timer for $name {
            fn id(self) -> $crate::TimerId {
                match self {
                    $( $name::$variant => $crate::TimerId($id), )*
                }
            }
            fn from_id(id: $crate::TimerId) -> Option<Self> {
                match id.0 {
                    $( $id => Some($name::$variant), )*
                    _ => None,
                }
            }
        }
    };
}

/// The timers of a node that sets none.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum NoTimer {}

impl crate::Timer for NoTimer {
    fn id(self) -> crate::TimerId {
        match self {}
    }
    fn from_id(_: crate::TimerId) -> Option<Self> {
        None
    }
}
