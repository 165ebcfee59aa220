//! Build-time WordNet tables (see `build.rs`): `data/wordnet/*.txt` (written by
//! `scripts/gen_wordnet.py`) become flat little-endian arrays in `OUT_DIR`, which the crate
//! includes as bytes (`src/meteor/wordnet/mod.rs` documents the layout), so no process parses
//! ~2 MB of text on its first synonym look-up.
//!
//! Keys are the lemmas and morphy's exception forms, numbered in three groups — exception
//! forms that are lemmas, exception forms that are not, the other lemmas (each sorted) — so
//! "is a lemma" and "has exception entries" are comparisons of the id. The key table is open
//! addressing with linear probing over a power-of-two array of 16-byte slots at most 40 % full
//! (a slot holds the key's first 8 bytes, its length, id and text offset, so most look-ups read
//! one cache line), hashed with `src/meteor/wordnet/hash.rs` (compiled here and in the crate);
//! the longest run of occupied slots is measured here and bounds every probe.

#[path = "../src/meteor/wordnet/filter.rs"]
mod filter;
#[path = "../src/meteor/wordnet/hash.rs"]
mod hash;

use filter::FILTER_WORDS;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::{Error, Result};
use std::path::Path;

/// Parts of speech in NLTK's `POS_LIST` order.
const POS: [u8; 4] = [b'n', b'v', b'a', b'r'];
/// A reference to the lemma's own singleton set.
const OWN: u32 = u32::MAX;
/// The mark of the last id of a lemma's synonym run in `SYN`.
const RUN_END: u32 = 1 << 31;
/// Bits of a slot's synonym-run start.
const RUN_BITS: u32 = 19;

fn bad(msg: String) -> Error {
    Error::other(format!("data/wordnet: {msg}"))
}

/// One parsed `lemmas.txt` line.
struct Lemma<'a> {
    word: &'a str,
    /// Per part of speech: references (set ids or [`OWN`]).
    refs: [Vec<u32>; 4],
}

fn number(s: &str, what: &str) -> Result<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad(format!("{what}: bad number {s:?}")));
    }
    s.parse()
        .map_err(|_| bad(format!("{what}: bad number {s:?}")))
}

fn pos_index(s: &str, what: &str) -> Result<usize> {
    POS.iter()
        .position(|&c| s.as_bytes() == [c])
        .ok_or_else(|| bad(format!("{what}: bad part of speech {s:?}")))
}

fn check_word(w: &str, what: &str) -> Result<()> {
    if w.is_empty() || !w.is_ascii() || w.bytes().any(|b| b.is_ascii_whitespace() || b == b',') {
        return Err(bad(format!("{what}: bad word {w:?}")));
    }
    Ok(())
}

fn parse_lemmas(text: &str, n_sets: usize) -> Result<Vec<Lemma<'_>>> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let what = format!("lemmas.txt line {}", n + 1);
        let mut fields = line.split(' ');
        let word = fields.next().unwrap_or_default();
        check_word(word, &what)?;
        let mut refs: [Vec<u32>; 4] = Default::default();
        let mut next_pos = 0;
        let mut any = false;
        for f in fields {
            let (tag, list) = f.split_at_checked(1).unwrap_or((f, ""));
            let p = pos_index(tag, &what)?;
            if p < next_pos || list.is_empty() {
                return Err(bad(format!("{what}: field {f:?} out of order or empty")));
            }
            next_pos = p + 1;
            for r in list.split(',') {
                let r = if r == "." { OWN } else { number(r, &what)? };
                if r != OWN && r as usize >= n_sets {
                    return Err(bad(format!("{what}: set {r} out of range")));
                }
                refs[p].push(r);
                any = true;
            }
        }
        if !any {
            return Err(bad(format!("{what}: a lemma without synsets")));
        }
        out.push(Lemma { word, refs });
    }
    Ok(out)
}

/// Every synset line as member line numbers.
fn parse_synsets(text: &str) -> Result<Vec<Vec<u32>>> {
    text.lines()
        .enumerate()
        .map(|(n, line)| {
            let what = format!("synsets.txt line {}", n + 1);
            line.split(' ').map(|m| number(m, &what)).collect()
        })
        .collect()
}

/// `(form, part of speech, bases)`, bases as words.
type Exception<'a> = (&'a str, usize, Vec<&'a str>);

fn parse_exceptions(text: &str) -> Result<Vec<Exception<'_>>> {
    let mut seen = BTreeSet::new();
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let what = format!("exceptions.txt line {}", n + 1);
        let mut fields = line.split(' ');
        let p = pos_index(fields.next().unwrap_or_default(), &what)?;
        let form = fields.next().unwrap_or_default();
        check_word(form, &what)?;
        if !seen.insert((form, p)) {
            return Err(bad(format!("{what}: {form:?} listed twice")));
        }
        let bases: Vec<&str> = fields.collect();
        for b in &bases {
            check_word(b, &what)?;
        }
        out.push((form, p, bases));
    }
    Ok(out)
}

fn u32_of(n: usize, what: &str) -> Result<u32> {
    u32::try_from(n).map_err(|_| bad(format!("{what}: {n} does not fit in 32 bits")))
}

fn u32_bytes(v: &[u32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

/// Write this area's tables into `out` (read from `manifest`'s `data/`).
pub fn generate(manifest: &Path, out: &Path) -> Result<()> {
    let data = manifest.join("data").join("wordnet");
    for f in ["lemmas.txt", "synsets.txt", "exceptions.txt"] {
        println!("cargo:rerun-if-changed={}", data.join(f).display());
    }
    println!(
        "cargo:rerun-if-changed={}",
        manifest.join("src/meteor/wordnet/hash.rs").display()
    );
    println!(
        "cargo:rerun-if-changed={}",
        manifest.join("src/meteor/wordnet/filter.rs").display()
    );
    let read = |f: &str| std::fs::read_to_string(data.join(f));
    let (lemma_text, synset_text, exc_text) = (
        read("lemmas.txt")?,
        read("synsets.txt")?,
        read("exceptions.txt")?,
    );
    let synsets = parse_synsets(&synset_text)?;
    let lemmas = parse_lemmas(&lemma_text, synsets.len())?;
    let exceptions = parse_exceptions(&exc_text)?;

    // Key numbering: exception forms that are lemmas, exception forms that are not, the rest.
    let line_of: HashMap<&str, usize> = lemmas
        .iter()
        .enumerate()
        .map(|(i, l)| (l.word, i))
        .collect();
    if line_of.len() != lemmas.len() {
        return Err(bad("lemmas.txt: a lemma listed twice".into()));
    }
    let forms: BTreeSet<&str> = exceptions.iter().map(|e| e.0).collect();
    let mut keys: Vec<&str> = forms
        .iter()
        .copied()
        .filter(|f| line_of.contains_key(f))
        .collect();
    let lemma_forms = keys.len();
    keys.extend(forms.iter().copied().filter(|f| !line_of.contains_key(f)));
    let exc_keys = keys.len();
    let mut rest: Vec<&str> = lemmas
        .iter()
        .map(|l| l.word)
        .filter(|w| !forms.contains(w))
        .collect();
    rest.sort_unstable();
    keys.extend(rest);
    let key_of: HashMap<&str, u32> = keys
        .iter()
        .enumerate()
        .map(|(k, &w)| Ok((w, u32_of(k, "keys")?)))
        .collect::<Result<_>>()?;
    let key_of_line: Vec<u32> = lemmas.iter().map(|l| key_of[l.word]).collect();

    // Key strings and their end offsets.
    let mut key_text = String::new();
    let mut key_end = vec![0u32];
    for w in &keys {
        key_text.push_str(w);
        key_end.push(u32_of(key_text.len(), "key text")?);
    }

    // Shared sets (CSR), members as key ids.
    let mut set_start = vec![0u32];
    let mut members = Vec::new();
    for (n, set) in synsets.iter().enumerate() {
        for &m in set {
            let k = key_of_line
                .get(m as usize)
                .ok_or_else(|| bad(format!("synsets.txt line {}: word {m} out of range", n + 1)))?;
            members.push(*k);
        }
        set_start.push(u32_of(members.len(), "set members")?);
    }

    // Per key and part of speech, the word ids of all its references, flattened (CSR: the
    // lists of one key are adjacent, so a look-up reads `SYN_START` and one run of `SYN`
    // instead of following each reference to its set).
    let mut syn_start = vec![0u32];
    let mut syn = Vec::new();
    let mut line_of_key = vec![None; keys.len()];
    for (line, &k) in key_of_line.iter().enumerate() {
        line_of_key[k as usize] = Some(line);
    }
    for (k, line) in line_of_key.iter().enumerate() {
        for p in 0..4 {
            if let Some(line) = line {
                for &r in &lemmas[*line].refs[p] {
                    if r == OWN {
                        syn.push(u32_of(k, "keys")?);
                    } else {
                        let (a, b) = (set_start[r as usize], set_start[r as usize + 1]);
                        syn.extend_from_slice(&members[a as usize..b as usize]);
                    }
                }
            }
            syn_start.push(u32_of(syn.len(), "synonym lists")?);
        }
        // A lemma's whole run (its four parts of speech) ends with a marked id, so a look-up
        // that found the key reads the run from the start its slot holds, without
        // `SYN_START` (ids are below 2^17: bit 31 is free).
        if line.is_some() {
            let start = syn_start[4 * k] as usize;
            match syn.get_mut(start..).and_then(<[u32]>::last_mut) {
                Some(last) => *last |= RUN_END,
                None => return Err(bad(format!("lemma {:?} has no synonym", keys[k]))),
            }
        }
    }
    if syn.len() >= 1 << RUN_BITS {
        return Err(bad("synonym lists too long for the slot layout".into()));
    }

    // Exceptions of the first `exc_keys` keys: a presence mask per key and the bases of each
    // (key, part of speech) (CSR).
    let mut by_key: BTreeMap<(u32, usize), Vec<u32>> = BTreeMap::new();
    for (form, p, bases) in &exceptions {
        let ids = bases
            .iter()
            .map(|b| {
                key_of
                    .get(b)
                    .filter(|&&k| (k as usize) < lemma_forms || k as usize >= exc_keys)
                    .copied()
            })
            .collect::<Option<Vec<u32>>>()
            .ok_or_else(|| {
                bad(format!(
                    "exceptions.txt: {form:?} has a base that is no lemma"
                ))
            })?;
        by_key.insert((key_of[form], *p), ids);
    }
    let mut exc_mask = vec![0u8; exc_keys];
    let mut exc_start = vec![0u32];
    let mut exc_bases = Vec::new();
    for (k, mask) in exc_mask.iter_mut().enumerate() {
        for (p, bit) in [1u8, 2, 4, 8].into_iter().enumerate() {
            if let Some(ids) = by_key.get(&(u32_of(k, "keys")?, p)) {
                *mask |= bit;
                exc_bases.extend_from_slice(ids);
            }
            exc_start.push(u32_of(exc_bases.len(), "exception bases")?);
        }
    }

    // The key table: 16-byte slots, at most 40 % full. A slot holds the key's first 8 bytes
    // (zero-padded) and `tag << 62 | run << 43 | len << 37 | k << 20 | offset` (`meta`, 0 =
    // empty; `run` = `SYN_START[4k]`, where a lemma's synonym run starts): a look-up of a key
    // of at most 8 bytes reads one slot and nothing else, a longer one compares the rest of
    // the text at `offset` in `KEY_TEXT`. (The 2-bit tag only spares some text compares of
    // long keys: the first 8 bytes and the length are compared anyway.)
    if keys.len() >= 1 << 17 || key_text.len() >= 1 << 20 {
        return Err(bad(
            "keys: too many keys or too much key text for the slot layout".into(),
        ));
    }
    let mut bits = 4;
    while (1usize << bits) * 2 < keys.len() * 5 {
        bits += 1;
    }
    let mask = (1usize << bits) - 1;
    let mut slots = vec![[0u64; 2]; 1 << bits];
    for (k, w) in keys.iter().enumerate() {
        let b = w.as_bytes();
        if b.is_empty() || b.len() >= 64 {
            return Err(bad(format!("keys: {w:?} is too long for the slot layout")));
        }
        let h = hash::hash(b);
        let mut i = h as usize & mask;
        while slots[i][1] != 0 {
            i = (i + 1) & mask;
        }
        let mut head = [0u8; 8];
        let n = b.len().min(8);
        head[..n].copy_from_slice(&b[..n]);
        let off = u64::from(key_end[k]);
        let run = u64::from(syn_start[4 * k]);
        slots[i] = [
            u64::from_le_bytes(head),
            (h >> 62 << 62) | (run << 43) | ((b.len() as u64) << 37) | ((k as u64) << 20) | off,
        ];
    }
    // Longest run of occupied slots (wrapping): a probe starting anywhere meets an empty slot
    // within that many steps plus one.
    let first_empty = slots.iter().position(|s| s[1] == 0).unwrap_or(0);
    let (mut run, mut longest) = (0usize, 0usize);
    for step in 1..=slots.len() {
        if slots[(first_empty + step) & mask][1] == 0 {
            run = 0;
        } else {
            run += 1;
            longest = longest.max(run);
        }
    }

    // The negative filter (`src/meteor/wordnet/filter.rs`): three bits per key in one 64-bit
    // word; a word whose bits are not all set is no key, found without touching the slots.
    let mut filter = vec![0u64; FILTER_WORDS];
    for w in &keys {
        let (at, bits) = filter::word_and_bits(hash::hash(w.as_bytes()));
        filter[at] |= bits;
    }

    let dir = out.join("wordnet");
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("keys.txt"), &key_text)?;
    std::fs::write(dir.join("key_end.bin"), u32_bytes(&key_end))?;
    std::fs::write(
        dir.join("slots.bin"),
        slots
            .iter()
            .flat_map(|s| s.iter().flat_map(|w| w.to_le_bytes()))
            .collect::<Vec<u8>>(),
    )?;
    std::fs::write(
        dir.join("filter.bin"),
        filter
            .iter()
            .flat_map(|w| w.to_le_bytes())
            .collect::<Vec<u8>>(),
    )?;
    std::fs::write(dir.join("syn_start.bin"), u32_bytes(&syn_start))?;
    std::fs::write(dir.join("syn.bin"), u32_bytes(&syn))?;
    std::fs::write(dir.join("exc_start.bin"), u32_bytes(&exc_start))?;
    std::fs::write(dir.join("exc_mask.bin"), &exc_mask)?;
    std::fs::write(dir.join("exc_bases.bin"), u32_bytes(&exc_bases))?;
    let include =
        |name: &str, mac: &str| format!("{mac}!(concat!(env!(\"OUT_DIR\"), \"/wordnet/{name}\"))");
    let rs = format!(
        "// Generated by build/wordnet.rs from data/wordnet/; do not edit.\n\
         pub(super) static KEY_TEXT: &str = {};\n\
         pub(super) static KEY_END: &[u8] = {};\n\
         pub(super) static SLOTS: &[u8] = {};\n\
         pub(super) static FILTER: &[u8] = {};\n\
         pub(super) static SYN_START: &[u8] = {};\n\
         pub(super) static SYN: &[u8] = {};\n\
         pub(super) static EXC_START: &[u8] = {};\n\
         pub(super) static EXC_MASK: &[u8] = {};\n\
         pub(super) static EXC_BASES: &[u8] = {};\n\
         pub(super) const N_KEYS: u32 = {};\n\
         pub(super) const LEMMA_FORMS: u32 = {};\n\
         pub(super) const EXC_KEYS: u32 = {};\n\
         pub(super) const SLOT_MASK: usize = {};\n\
         pub(super) const PROBE_LIMIT: usize = {};\n",
        include("keys.txt", "include_str"),
        include("key_end.bin", "include_bytes"),
        include("slots.bin", "include_bytes"),
        include("filter.bin", "include_bytes"),
        include("syn_start.bin", "include_bytes"),
        include("syn.bin", "include_bytes"),
        include("exc_start.bin", "include_bytes"),
        include("exc_mask.bin", "include_bytes"),
        include("exc_bases.bin", "include_bytes"),
        keys.len(),
        lemma_forms,
        exc_keys,
        mask,
        longest + 1,
    );
    std::fs::write(out.join("wordnet_tables.rs"), rs)
}
