//! Build-time tables of the tokenize data (see `build.rs`): the English Punkt parameters
//! (`data/punkt_english.txt`) and the NIST character classes (`data/nist_charclass.txt`),
//! both written by `scripts/gen_tokenize_data.py`.
//!
//! Until these existed every process parsed the two text files on its first tokenizer call
//! (~10M instructions and ~230 page faults: a `gradekit score` over one line spent most of
//! its time there). Now the tables are laid out here, once per build, and compiled in as
//! read-only data that the loader maps lazily:
//!
//! * `punkt_tables.rs`: the abbreviation, sentence-starter and orthographic-context tables as
//!   [`StrMap`]s (open addressing over a key blob, `src/tokenize/strmap.rs`, shared with the
//!   crate so both sides hash alike), the 37 collocations as a plain array;
//! * `nist_tables.rs`: the per-code-point class flags as a two-level table (a block index per
//!   256 code points, then the distinct 256-byte blocks), so a look-up is two loads, for
//!   every plane.
//!
//! The text files are parsed here exactly as the crate parsed them before (and as its unit
//! tests still do, as the oracle the generated tables are compared against), and each table
//! is checked against the parsed entries before it is written.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::io;
use std::path::Path;

#[path = "../src/tokenize/strmap.rs"]
mod strmap;

use strmap::{encode_slot, key_hash, StrMap};

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

/// Write this area's tables into `out` (read from `manifest`'s `data/`).
pub fn generate(manifest: &Path, out: &Path) -> io::Result<()> {
    let punkt = manifest.join("data/punkt_english.txt");
    let nist = manifest.join("data/nist_charclass.txt");
    println!("cargo:rerun-if-changed={}", punkt.display());
    println!("cargo:rerun-if-changed={}", nist.display());
    println!("cargo:rerun-if-changed=src/tokenize/strmap.rs");
    punkt_tables(&std::fs::read_to_string(&punkt)?, out)?;
    nist_tables(&std::fs::read_to_string(&nist)?, out)
}

/// The parameters as the crate's former run-time parser read them: `#` section lines,
/// entries split on `\n` only (an abbreviation may end in spaces), collocations split at
/// their first tab, orthographic contexts at their last (the last duplicate wins).
#[derive(Default)]
struct Punkt<'a> {
    abbrev: BTreeSet<&'a str>,
    starters: BTreeSet<&'a str>,
    colloc: Vec<(&'a str, &'a str)>,
    ortho: BTreeMap<&'a str, u8>,
}

fn parse_punkt(data: &str) -> Punkt<'_> {
    let mut p = Punkt::default();
    let mut section = "";
    for line in data.split('\n') {
        match line {
            "#abbrev" | "#starters" | "#colloc" | "#ortho" => section = line,
            "" => {}
            _ => match section {
                "#abbrev" => {
                    p.abbrev.insert(line);
                }
                "#starters" => {
                    p.starters.insert(line);
                }
                "#colloc" => {
                    if let Some(pair) = line.split_once('\t') {
                        p.colloc.push(pair);
                    }
                }
                "#ortho" => {
                    if let Some((k, v)) = line.rsplit_once('\t') {
                        if let Ok(v) = v.parse::<u8>() {
                            p.ortho.insert(k, v);
                        }
                    }
                }
                _ => {}
            },
        }
    }
    p
}

/// A [`StrMap`] of `entries` (distinct keys): blob, slots, longest probe. The load factor
/// stays ≤ 5/8, so most look-ups read one or two slots of one cache line.
fn build_map(entries: &[(&[u8], u8)]) -> io::Result<(Vec<u8>, Vec<u32>, usize)> {
    let cap = (entries.len() * 8 / 5 + 1).next_power_of_two().max(8);
    let mask = cap - 1;
    let mut blob = Vec::new();
    let mut slots = vec![0u32; cap];
    let mut max_probe = 0;
    for &(key, value) in entries {
        blob.push(value);
        let h = key_hash(key);
        let slot = encode_slot(blob.len(), key.len(), h)
            .ok_or_else(|| invalid(format!("key {key:?} does not fit a table slot")))?;
        blob.extend_from_slice(key);
        let mut i = h as usize & mask;
        let mut d = 0;
        while slots[i] != 0 {
            i = (i + 1) & mask;
            d += 1;
        }
        slots[i] = slot;
        max_probe = max_probe.max(d);
    }
    let map = StrMap {
        blob: &blob,
        slots: &slots,
        max_probe,
    };
    for &(key, value) in entries {
        if map.get(key) != Some(value) || !map.contains(key) {
            return Err(invalid(format!("table self-check failed for {key:?}")));
        }
    }
    Ok((blob, slots, max_probe))
}

/// Writes `OUT_DIR/{name}.bin` (the blob) and returns the Rust items of the map `NAME`.
fn emit_map(out: &Path, name: &str, entries: &[(&[u8], u8)]) -> io::Result<String> {
    let (blob, slots, max_probe) = build_map(entries)?;
    let file = format!("punkt_{}.bin", name.to_ascii_lowercase());
    std::fs::write(out.join(&file), &blob)?;
    let mut s = String::new();
    let n = slots.len();
    let _ = writeln!(
        s,
        "/// {len} keys in {n} slots.\npub(crate) static {name}: StrMap<'static> = StrMap {{\n    \
         blob: include_bytes!(concat!(env!(\"OUT_DIR\"), \"/{file}\")),\n    \
         slots: &{name}_SLOTS,\n    max_probe: {max_probe},\n}};",
        len = entries.len(),
    );
    let _ = write!(s, "static {name}_SLOTS: [u32; {n}] = [");
    for (i, v) in slots.iter().enumerate() {
        if i % 16 == 0 {
            s.push_str("\n   ");
        }
        let _ = write!(s, " {v},");
    }
    s.push_str("\n];\n");
    Ok(s)
}

fn punkt_tables(data: &str, out: &Path) -> io::Result<()> {
    let p = parse_punkt(data);
    fn set<'a>(keys: &BTreeSet<&'a str>) -> Vec<(&'a [u8], u8)> {
        keys.iter().map(|k| (k.as_bytes(), 1)).collect()
    }
    let ortho: Vec<(&[u8], u8)> = p.ortho.iter().map(|(k, &v)| (k.as_bytes(), v)).collect();
    let mut s = String::from("// @generated by build/tokenize.rs from data/punkt_english.txt\n\n");
    s.push_str(&emit_map(out, "ABBREV", &set(&p.abbrev))?);
    s.push_str(&emit_map(out, "STARTERS", &set(&p.starters))?);
    s.push_str(&emit_map(out, "ORTHO", &ortho)?);
    let _ = write!(
        s,
        "/// The collocations, in file order.\npub(crate) static COLLOCATIONS: [(&str, &str); {}] = [",
        p.colloc.len()
    );
    for (a, b) in &p.colloc {
        let _ = write!(s, "\n    ({a:?}, {b:?}),");
    }
    s.push_str("\n];\n");
    let lens = p
        .colloc
        .iter()
        .fold(0u64, |m, (a, _)| m | 1 << a.len().min(63));
    let _ = writeln!(
        s,
        "/// Bit `n` (`n` < 63) is set when a collocation's first word has `n` bytes; bit 63 for \
         any longer.\npub(crate) const COLLOCATION_FIRST_LENS: u64 = {lens:#x};"
    );
    std::fs::write(out.join("punkt_tables.rs"), s)
}

fn nist_tables(data: &str, out: &Path) -> io::Result<()> {
    // Lines `start end flags` (hex); later lines win; unparsable lines are skipped.
    let mut flags = vec![0u8; 0x11_0000];
    for line in data.lines() {
        let mut it = line.split(' ').map(|f| u32::from_str_radix(f, 16));
        let (Some(Ok(a)), Some(Ok(b)), Some(Ok(fl))) = (it.next(), it.next(), it.next()) else {
            continue;
        };
        let b = b.min(0x10_FFFF);
        for cp in a..=b {
            flags[cp as usize] = (fl & 0xff) as u8;
        }
    }
    let used = flags
        .iter()
        .rposition(|&f| f != 0)
        .map_or(1, |last| last / 256 + 1);
    let mut index: Vec<usize> = Vec::with_capacity(used);
    let mut blocks: Vec<u8> = Vec::new();
    let mut seen: HashMap<&[u8], usize> = HashMap::new();
    for block in flags.chunks(256).take(used) {
        let next = seen.len();
        let id = *seen.entry(block).or_insert(next);
        if id == next {
            blocks.extend_from_slice(block);
        }
        index.push(id);
    }
    // Self-check: every code point reads back.
    for (cp, &f) in flags.iter().enumerate() {
        let got = index
            .get(cp >> 8)
            .map_or(0, |&id| blocks[id * 256 + (cp & 0xff)]);
        if got != f {
            return Err(invalid(format!("class table self-check failed at {cp:#x}")));
        }
    }
    let ty = if seen.len() <= 256 { "u8" } else { "u16" };
    std::fs::write(out.join("nist_blocks.bin"), &blocks)?;
    let mut s = String::from("// @generated by build/tokenize.rs from data/nist_charclass.txt\n\n");
    let _ = write!(
        s,
        "/// The 256-code-point blocks with any flag: their index in `BLOCKS` ({} distinct).\n\
         static BLOCK_OF: [{ty}; {}] = [",
        seen.len(),
        index.len()
    );
    for (i, v) in index.iter().enumerate() {
        if i % 24 == 0 {
            s.push_str("\n   ");
        }
        let _ = write!(s, " {v},");
    }
    s.push_str(
        "\n];\n/// The distinct blocks, 256 flag bytes each.\n\
         static BLOCKS: &[u8] = include_bytes!(concat!(env!(\"OUT_DIR\"), \"/nist_blocks.bin\"));\n",
    );
    std::fs::write(out.join("nist_tables.rs"), s)
}
