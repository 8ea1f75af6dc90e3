//! The peer exchange's randomness: which address to dial, which to hand out, whom to ask.
//! Seeded from the operating system on a node (so peers cannot predict a node's choices),
//! from a number in tests. Nothing here reaches consensus or the state.

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A random source.
pub struct Rng(ChaCha8Rng);

impl Rng {
    /// Seeded from the operating system.
    pub fn from_os() -> Rng {
        let mut seed = [0u8; 32];
        rand_core::OsRng.fill_bytes(&mut seed);
        Rng(ChaCha8Rng::from_seed(seed))
    }

    /// Seeded from `seed` (tests).
    pub fn seeded(seed: u64) -> Rng {
        Rng(ChaCha8Rng::seed_from_u64(seed))
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            self.0.next_u64() % n
        }
    }

    /// `N` random bytes.
    pub fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut b = [0u8; N];
        self.0.fill_bytes(&mut b);
        b
    }

    /// Shuffle `v` in place (Fisher–Yates).
    pub fn shuffle<T>(&mut self, v: &mut [T]) {
        for i in (1..v.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            v.swap(i, j);
        }
    }
}
