//! Randomness for tags, Call-IDs and jitter: std's per-process random hasher keys, so no
//! dependency is needed for numbers that must differ, not be secret.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

pub(crate) fn random_u64() -> u64 {
    RandomState::new().build_hasher().finish()
}

/// Uniform in [0, 1).
pub(crate) fn random_unit() -> f64 {
    (random_u64() >> 11) as f64 / (1u64 << 53) as f64
}
