//! Colours: one fixed colour per role, and a stable colour per message label.

use plotters::style::RGBColor;

use crate::model::Tone;

/// Leader lanes stand out: they are what an election is about.
pub const LEADER: RGBColor = RGBColor(245, 166, 35);
/// Followers are the calm majority, so a pale colour.
pub const FOLLOWER: RGBColor = RGBColor(171, 206, 233);
/// Candidates are transient; pale purple echoes the election brackets.
pub const CANDIDATE: RGBColor = RGBColor(206, 185, 228);
/// Workers do what they are handed: a quiet teal, apart from followers' blue.
pub const WORKER: RGBColor = RGBColor(160, 214, 200);
/// Clients are not part of the protocol's state machine.
pub const CLIENT: RGBColor = RGBColor(183, 226, 160);
/// A role the renderer does not know.
pub const OTHER_ROLE: RGBColor = RGBColor(200, 200, 200);
/// Lane background where no role is known.
pub const NO_ROLE: RGBColor = RGBColor(238, 238, 238);
/// A crashed node's bar.
pub const DOWN: RGBColor = RGBColor(84, 84, 84);
/// Hatching over the crashed bar, so it reads as "absent" even in greyscale.
pub const DOWN_HATCH: RGBColor = RGBColor(125, 125, 125);
/// Partition bands and dropped-message crosses.
pub const PARTITION: RGBColor = RGBColor(214, 39, 40);
/// Loss-fault bands.
pub const LOSS: RGBColor = RGBColor(240, 200, 0);
/// Election brackets, election-start marks.
pub const ELECTION: RGBColor = RGBColor(106, 61, 154);
/// Election bracket fill.
pub const ELECTION_FILL: RGBColor = RGBColor(214, 196, 234);
/// Recovery brackets.
pub const RECOVERY: RGBColor = RGBColor(35, 130, 60);
/// Recovery bracket fill.
pub const RECOVERY_FILL: RGBColor = RGBColor(190, 228, 196);
/// Crash marks.
pub const CRASH: RGBColor = RGBColor(200, 20, 20);
/// Restart marks.
pub const RESTART: RGBColor = RGBColor(30, 150, 50);
/// "Elected" marks: a darker shade of the leader colour so it shows on a leader bar.
pub const ELECTED: RGBColor = RGBColor(200, 100, 0);
/// Terms with an odd number: pale shades of the leader colour, alternating so that
/// neighbouring terms part visibly.
pub const TERM_ODD: RGBColor = RGBColor(250, 215, 160);
/// Terms with an even number.
pub const TERM_EVEN: RGBColor = RGBColor(252, 236, 205);
/// The progress line (commit index): a blue no message label is given.
pub const PROGRESS: RGBColor = RGBColor(20, 80, 160);
/// A client operation that took effect.
pub const OP_OK: RGBColor = RGBColor(25, 105, 40);
/// A client operation the service refused.
pub const OP_FAIL: RGBColor = RGBColor(214, 39, 40);
/// A client operation whose outcome is unknown (it timed out).
pub const OP_UNKNOWN: RGBColor = RGBColor(230, 130, 0);
/// Traffic strips: a quiet grey, texture rather than information at a glance.
pub const TRAFFIC: RGBColor = RGBColor(120, 132, 150);
/// Notes and ordinary text.
pub const INK: RGBColor = RGBColor(40, 40, 40);
/// Secondary text.
pub const MUTED_INK: RGBColor = RGBColor(110, 110, 110);
/// Gridlines.
pub const GRID: RGBColor = RGBColor(222, 222, 222);
/// Finer gridlines.
pub const GRID_LIGHT: RGBColor = RGBColor(242, 242, 242);

/// Colour of a lane bar for a role of the given tone (the protocol declares it).
pub fn role_colour(tone: Option<Tone>) -> RGBColor {
    match tone {
        Some(Tone::Lead) => LEADER,
        Some(Tone::Follow) => FOLLOWER,
        Some(Tone::Contend) => CANDIDATE,
        Some(Tone::Work) => WORKER,
        Some(Tone::Client) => CLIENT,
        None => OTHER_ROLE,
    }
}

/// Message colours: saturated and mutually distinct, avoiding the pale lane
/// colours they are drawn over, the leader's orange, the loss yellow and the
/// reds that mean crash or drop.
const MESSAGE_PALETTE: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(148, 103, 189),
    RGBColor(44, 160, 44),
    RGBColor(227, 119, 194),
    RGBColor(23, 190, 207),
    RGBColor(140, 86, 75),
    RGBColor(127, 127, 127),
    RGBColor(40, 50, 140),
    RGBColor(0, 128, 128),
    RGBColor(110, 120, 20),
];

/// FNV-1a: stable across runs and platforms, unlike `std`'s randomly seeded hasher.
fn fnv1a(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Colours for distinct labels given in sorted order. A label's home colour
/// comes from its hash so it stays the same across runs with different label
/// sets; collisions probe to the next free colour, so labels stay distinct
/// while there are fewer labels than colours.
pub fn label_colours(sorted_labels: &[&str]) -> Vec<RGBColor> {
    let n = MESSAGE_PALETTE.len();
    let mut taken = [false; MESSAGE_PALETTE.len()];
    let mut used = 0;
    sorted_labels
        .iter()
        .map(|label| {
            let mut i = (fnv1a(label) % n as u64) as usize;
            if used < n {
                while taken[i] {
                    i = (i + 1) % n;
                }
                taken[i] = true;
                used += 1;
            }
            MESSAGE_PALETTE[i]
        })
        .collect()
}
