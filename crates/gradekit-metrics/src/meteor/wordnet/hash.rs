//! The fixed hash of the compiled-in WordNet key table, shared word for word by the build
//! script (`build/wordnet.rs`, which lays the table out) and the crate (which probes it):
//! both compile this file.
//!
//! The table is static, so its hash is unseeded: the keys are known when it is built, the
//! build script measures the longest run of occupied slots and every probe stops after that
//! many slots (`PROBE_LIMIT`), so no input can make a look-up walk further, whatever it
//! hashes to.
//!
//! The hash: start from a constant XOR the length, then fold in the key 8 bytes at a time
//! (little-endian words, the last one zero-padded; the empty key folds one zero word) with
//! the folded multiply of foldhash / wyhash (the 128-bit product's halves XORed), and one
//! more folded multiply at the end so the low bits (the slot) and the high 32 bits (the
//! slot's tag) both depend on every byte. Changing anything here changes the generated
//! table with it (the build script re-runs when this file changes).

/// Multiplier of every fold (the 64-bit golden ratio, odd).
const K0: u64 = 0x9e37_79b9_7f4a_7c15;
/// Start value and final multiplier (digits of π).
const K1: u64 = 0x243f_6a88_85a3_08d3;

#[inline(always)]
fn fold_mul(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// The hash of a key; its low bits pick the home slot, bits 32..64 are the slot's tag.
#[inline]
pub(crate) fn hash(key: &[u8]) -> u64 {
    let mut h = K1 ^ (key.len() as u64);
    let mut words = key.chunks_exact(8);
    for w in &mut words {
        let mut b = [0u8; 8];
        b.copy_from_slice(w);
        h = fold_mul(h ^ u64::from_le_bytes(b), K0);
    }
    let rest = words.remainder();
    if !rest.is_empty() || key.is_empty() {
        let mut b = [0u8; 8];
        b[..rest.len()].copy_from_slice(rest);
        h = fold_mul(h ^ u64::from_le_bytes(b), K0);
    }
    fold_mul(h, K1)
}
