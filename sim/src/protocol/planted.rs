//! Planted bugs, declared once per protocol with [`planted_bugs!`]: a struct of flags the
//! protocol's code reads, the catalogue [`crate::Protocol::BUGS`] lists, and the parsing of
//! names, so that no protocol writes that boilerplate again.

/// Declares a protocol's planted bugs: each a `bool` field, its name on the command line
/// and in seed files, and a doc line saying what goes wrong.
///
/// ```
/// faultline_sim::planted_bugs! {
///     /// Known-wrong variants of my protocol.
///     pub struct Bugs {
///         /// A replica grants a second vote in a term it already voted in.
///         vote_twice = "vote-twice",
///     }
/// }
/// assert_eq!(Bugs::ALL[0].name, "vote-twice");
/// assert!(Bugs::from_names(&["vote-twice".to_string()]).unwrap().vote_twice);
/// ```
#[macro_export]
macro_rules! planted_bugs {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( #[doc = $doc:literal] $field:ident = $bug:literal, )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
        $vis struct $name {
            $( #[doc = $doc] pub $field: bool, )*
        }

        impl $name {
            /// Every planted bug, with what goes wrong.
            pub const ALL: &'static [$crate::Bug] = &[
                $( $crate::Bug { name: $bug, about: $doc.trim_ascii() }, )*
            ];
            /// Every planted bug's name.
            pub const NAMES: &'static [&'static str] = &[ $( $bug, )* ];

            /// Turns on the named bugs; an unknown name is an error listing the known ones.
            pub fn from_names(names: &[String]) -> Result<Self, String> {
                let mut bugs = Self::default();
                for name in names {
                    match name.as_str() {
                        $( $bug => bugs.$field = true, )*
                        other => {
                            return Err(format!(
                                "unknown bug {other:?}; known bugs: {}",
                                Self::NAMES.join(", ")
                            ))
                        }
                    }
                }
                Ok(bugs)
            }

            /// The names of the bugs that are on, in declaration order.
            pub fn names(&self) -> Vec<String> {
                let mut on = Vec::new();
                $( if self.$field { on.push($bug.to_string()); } )*
                on
            }
        }
    };
}
