//! The shipped default files (`workflows/*.yaml`), embedded so a fresh server can seed
//! its database with them as version 1.

/// `clinic-letter`: recognition -> secretary correction -> clinician review -> dispatch.
pub const CLINIC_LETTER: &str = include_str!("../../workflows/clinic-letter.yaml");
/// `fast-track`: the two-week-wait lane with shorter targets.
pub const FAST_TRACK: &str = include_str!("../../workflows/fast-track.yaml");
/// `self-typed`: the clinician corrects the draft himself.
pub const SELF_TYPED: &str = include_str!("../../workflows/self-typed.yaml");
/// The routing table.
pub const ROUTING: &str = include_str!("../../workflows/routing.yaml");

/// The default workflows as `(name, yaml)`, in seeding order.
pub fn workflows() -> [(&'static str, &'static str); 3] {
    [("clinic-letter", CLINIC_LETTER), ("fast-track", FAST_TRACK), ("self-typed", SELF_TYPED)]
}
