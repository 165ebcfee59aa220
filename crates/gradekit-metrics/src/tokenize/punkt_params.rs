//! The English Punkt parameters (`punkt_tab/english`) compiled into the crate.
//!
//! `data/punkt_english.txt` is written by `scripts/gen_tokenize_data.py`, which reads the
//! parameters back through NLTK 3.9.1's own `PunktTokenizer("english")`, so the sets below
//! are exactly what `word_tokenize` consults.  The text is embedded with `include_str!` and
//! parsed once, on first use, into hash sets keyed by borrowed `&'static str` (no copies).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

const DATA: &str = include_str!("../../data/punkt_english.txt");

/// Orthographic-context flags (NLTK `_ORTHO_*`).
pub(crate) const ORTHO_BEG_UC: u8 = 1 << 1;
pub(crate) const ORTHO_MID_UC: u8 = 1 << 2;
pub(crate) const ORTHO_UNK_UC: u8 = 1 << 3;
pub(crate) const ORTHO_BEG_LC: u8 = 1 << 4;
pub(crate) const ORTHO_MID_LC: u8 = 1 << 5;
pub(crate) const ORTHO_UNK_LC: u8 = 1 << 6;
pub(crate) const ORTHO_UC: u8 = ORTHO_BEG_UC | ORTHO_MID_UC | ORTHO_UNK_UC;
pub(crate) const ORTHO_LC: u8 = ORTHO_BEG_LC | ORTHO_MID_LC | ORTHO_UNK_LC;

/// FNV-1a: the keys are short ASCII words, for which SipHash's setup cost dominates.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Fnv(u64);

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type FnvBuild = BuildHasherDefault<Fnv>;

/// NLTK `PunktParameters` for English.
#[derive(Debug)]
pub(crate) struct PunktParams {
    abbrev_types: HashSet<&'static str, FnvBuild>,
    sent_starters: HashSet<&'static str, FnvBuild>,
    collocations: Vec<(&'static str, &'static str)>,
    ortho_context: HashMap<&'static str, u8, FnvBuild>,
}

impl PunktParams {
    pub(crate) fn is_abbrev(&self, typ: &str) -> bool {
        self.abbrev_types.contains(typ)
    }

    pub(crate) fn is_sent_starter(&self, typ: &str) -> bool {
        self.sent_starters.contains(typ)
    }

    /// 37 pairs: a linear scan beats hashing a tuple.
    pub(crate) fn is_collocation(&self, a: &str, b: &str) -> bool {
        self.collocations.iter().any(|&(x, y)| x == a && y == b)
    }

    /// `ortho_context[typ]` of the `defaultdict(int)`: 0 when unseen.
    pub(crate) fn ortho_context(&self, typ: &str) -> u8 {
        self.ortho_context.get(typ).copied().unwrap_or(0)
    }
}

/// The parameters, parsed on first use.
pub(crate) fn params() -> &'static PunktParams {
    static PARAMS: OnceLock<PunktParams> = OnceLock::new();
    PARAMS.get_or_init(|| parse(DATA))
}

fn parse(data: &'static str) -> PunktParams {
    #[derive(Clone, Copy)]
    enum Section {
        None,
        Abbrev,
        Starters,
        Colloc,
        Ortho,
    }
    let mut p = PunktParams {
        abbrev_types: HashSet::default(),
        sent_starters: HashSet::default(),
        collocations: Vec::new(),
        ortho_context: HashMap::with_capacity_and_hasher(21_000, FnvBuild::default()),
    };
    let mut section = Section::None;
    // Split on '\n' only: entries may end in spaces (the abbreviation ". . " does).
    for line in data.split('\n') {
        match line {
            "#abbrev" => section = Section::Abbrev,
            "#starters" => section = Section::Starters,
            "#colloc" => section = Section::Colloc,
            "#ortho" => section = Section::Ortho,
            "" => {}
            _ => match section {
                Section::None => {}
                Section::Abbrev => {
                    p.abbrev_types.insert(line);
                }
                Section::Starters => {
                    p.sent_starters.insert(line);
                }
                Section::Colloc => {
                    if let Some((a, b)) = line.split_once('\t') {
                        p.collocations.push((a, b));
                    }
                }
                Section::Ortho => {
                    if let Some((k, v)) = line.rsplit_once('\t') {
                        if let Ok(v) = v.parse::<u8>() {
                            p.ortho_context.insert(k, v);
                        }
                    }
                }
            },
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_match_nltk_punkt_tab_english() {
        let p = params();
        // Counts printed by scripts/gen_tokenize_data.py from NLTK's loaded parameters.
        assert_eq!(p.abbrev_types.len(), 156);
        assert_eq!(p.sent_starters.len(), 39);
        assert_eq!(p.collocations.len(), 37);
        assert_eq!(p.ortho_context.len(), 20_366);
        assert!(p.is_abbrev("dr") && p.is_abbrev("u.s") && p.is_abbrev(". . "));
        assert!(p.is_sent_starter("however"));
        assert!(p.is_collocation("##number##", "abreast"));
        assert_eq!(p.ortho_context("unseen-type-xyz"), 0);
    }
}
