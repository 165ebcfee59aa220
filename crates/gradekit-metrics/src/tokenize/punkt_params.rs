//! The English Punkt parameters (`punkt_tab/english`) compiled into the crate.
//!
//! `data/punkt_english.txt` is written by `scripts/gen_tokenize_data.py`, which reads the
//! parameters back through NLTK 3.9.1's own `PunktTokenizer("english")`, so the tables are
//! exactly what `word_tokenize` consults. `build/tokenize.rs` turns the text into static hash
//! tables ([`StrMap`], `strmap.rs`) at build time: no process parses anything on first use
//! (that parse used to cost every `gradekit score` run ~1.4 ms and ~230 page faults). The
//! unit tests below still parse the text, as the oracle the generated tables must match.

use super::strmap::{Key32, StrMap};

include!(concat!(env!("OUT_DIR"), "/punkt_tables.rs"));

/// Orthographic-context flags (NLTK `_ORTHO_*`).
pub(crate) const ORTHO_BEG_UC: u8 = 1 << 1;
pub(crate) const ORTHO_MID_UC: u8 = 1 << 2;
pub(crate) const ORTHO_UNK_UC: u8 = 1 << 3;
pub(crate) const ORTHO_BEG_LC: u8 = 1 << 4;
pub(crate) const ORTHO_MID_LC: u8 = 1 << 5;
pub(crate) const ORTHO_UNK_LC: u8 = 1 << 6;
pub(crate) const ORTHO_UC: u8 = ORTHO_BEG_UC | ORTHO_MID_UC | ORTHO_UNK_UC;
pub(crate) const ORTHO_LC: u8 = ORTHO_BEG_LC | ORTHO_MID_LC | ORTHO_UNK_LC;

/// NLTK `PunktParameters` for English (the compiled-in tables).
#[derive(Debug)]
pub(crate) struct PunktParams {
    abbrev_types: StrMap<'static>,
    sent_starters: StrMap<'static>,
    collocations: &'static [(&'static str, &'static str)],
    ortho_context: StrMap<'static>,
}

impl PunktParams {
    #[inline]
    pub(crate) fn is_abbrev(&self, typ: impl AsRef<[u8]>) -> bool {
        self.abbrev_types.contains(typ.as_ref())
    }

    #[inline]
    pub(crate) fn is_sent_starter(&self, typ: impl AsRef<[u8]>) -> bool {
        self.sent_starters.contains(typ.as_ref())
    }

    /// 37 pairs: a linear scan beats hashing a tuple.
    pub(crate) fn is_collocation(&self, a: &str, b: &str) -> bool {
        self.collocations.iter().any(|&(x, y)| x == a && y == b)
    }

    /// Whether `typ` is the first word of any collocation (the lengths of those words are
    /// tested first: a bit set at build time).
    #[inline(always)]
    pub(crate) fn has_collocation_first(&self, typ: impl AsRef<[u8]>) -> bool {
        let typ = typ.as_ref();
        COLLOCATION_FIRST_LENS >> typ.len().min(63) & 1 != 0
            && self.collocations.iter().any(|&(x, _)| x.as_bytes() == typ)
    }

    /// [`Self::is_abbrev`] of a zero-padded key.
    #[inline]
    pub(crate) fn is_abbrev32(&self, typ: &Key32) -> bool {
        self.abbrev_types.get32(typ).is_some()
    }

    /// [`Self::is_sent_starter`] of a zero-padded key.
    #[inline]
    pub(crate) fn is_sent_starter32(&self, typ: &Key32) -> bool {
        self.sent_starters.get32(typ).is_some()
    }

    /// [`Self::ortho_context`] of a zero-padded key.
    #[inline]
    pub(crate) fn ortho_context32(&self, typ: &Key32) -> u8 {
        self.ortho_context.get32(typ).unwrap_or(0)
    }

    /// `ortho_context[typ]` of the `defaultdict(int)`: 0 when unseen.
    #[inline]
    pub(crate) fn ortho_context(&self, typ: impl AsRef<[u8]>) -> u8 {
        self.ortho_context.get(typ.as_ref()).unwrap_or(0)
    }
}

static PARAMS: PunktParams = PunktParams {
    abbrev_types: ABBREV,
    sent_starters: STARTERS,
    collocations: &COLLOCATIONS,
    ortho_context: ORTHO,
};

/// The parameters (static data: nothing happens on first use).
#[inline]
pub(crate) fn params() -> &'static PunktParams {
    &PARAMS
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::{HashMap, HashSet};

    const DATA: &str = include_str!("../../data/punkt_english.txt");

    /// The text form parsed as the crate did at run time before the tables were generated.
    struct Parsed {
        abbrev: HashSet<&'static str>,
        starters: HashSet<&'static str>,
        colloc: Vec<(&'static str, &'static str)>,
        ortho: HashMap<&'static str, u8>,
    }

    fn parse(data: &'static str) -> Parsed {
        let mut p = Parsed {
            abbrev: HashSet::new(),
            starters: HashSet::new(),
            colloc: Vec::new(),
            ortho: HashMap::new(),
        };
        let mut section = "";
        // Split on '\n' only: entries may end in spaces (the abbreviation ". . " does).
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
                        if let Some((a, b)) = line.split_once('\t') {
                            p.colloc.push((a, b));
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

    fn filled(m: &StrMap<'_>) -> usize {
        m.slots.iter().filter(|&&s| s != 0).count()
    }

    /// Keys that are not in a table but look like its keys: each key with one byte changed,
    /// cut short, extended, upper-cased.
    fn near_misses(key: &str) -> Vec<String> {
        let mut out = vec![
            format!("{key}."),
            format!("{key} "),
            format!("{key}s"),
            key.to_ascii_uppercase(),
            format!(".{key}"),
        ];
        if !key.is_empty() {
            out.push(key[..key.len() - 1].to_owned());
            let mut b = key.as_bytes().to_vec();
            b[0] ^= 1;
            out.push(String::from_utf8_lossy(&b).into_owned());
            let last = b.len() - 1;
            b[last] ^= 0x20;
            out.push(String::from_utf8_lossy(&b).into_owned());
        }
        out
    }

    #[test]
    fn counts_match_nltk_punkt_tab_english() {
        let p = params();
        // Counts printed by scripts/gen_tokenize_data.py from NLTK's loaded parameters.
        assert_eq!(filled(&p.abbrev_types), 156);
        assert_eq!(filled(&p.sent_starters), 39);
        assert_eq!(p.collocations.len(), 37);
        assert_eq!(filled(&p.ortho_context), 20_366);
        assert!(p.is_abbrev("dr") && p.is_abbrev("u.s") && p.is_abbrev(". . "));
        assert!(p.is_sent_starter("however"));
        assert!(p.is_collocation("##number##", "abreast"));
        assert_eq!(p.ortho_context("unseen-type-xyz"), 0);
        assert!(p.has_collocation_first("##number##") && p.has_collocation_first("b"));
        assert!(!p.has_collocation_first("##number#") && !p.has_collocation_first("x"));
        // `punkt_annotate::quick_sentbreak_at` relies on no collocation starting with `.`.
        assert!(!p.collocations.iter().any(|(a, _)| a.starts_with('.')));
    }

    #[test]
    fn generated_tables_equal_the_parsed_text() {
        let want = parse(DATA);
        let p = params();
        assert_eq!(filled(&p.abbrev_types), want.abbrev.len());
        assert_eq!(filled(&p.sent_starters), want.starters.len());
        assert_eq!(filled(&p.ortho_context), want.ortho.len());
        assert_eq!(p.collocations, want.colloc.as_slice());
        for (a, _) in &want.colloc {
            assert!(p.has_collocation_first(a), "{a:?}");
        }
        for &k in &want.abbrev {
            assert!(p.is_abbrev(k), "{k:?}");
        }
        for &k in &want.starters {
            assert!(p.is_sent_starter(k), "{k:?}");
        }
        for (&k, &v) in &want.ortho {
            assert_eq!(p.ortho_context(k), v, "{k:?}");
        }
        // Look-ups of absent keys (every section's keys, changed a little, against every
        // table), plus a few odd ones.
        let mut probes: Vec<String> = ["", " ", "#ortho", "##number##", "\u{e9}t\u{e9}"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        for k in want
            .abbrev
            .iter()
            .chain(&want.starters)
            .chain(want.ortho.keys())
        {
            probes.push((*k).to_owned());
            probes.extend(near_misses(k));
        }
        for k in &probes {
            assert_eq!(p.is_abbrev(k), want.abbrev.contains(k.as_str()), "{k:?}");
            assert_eq!(
                p.is_sent_starter(k),
                want.starters.contains(k.as_str()),
                "{k:?}"
            );
            let v = want.ortho.get(k.as_str()).copied().unwrap_or(0);
            assert_eq!(p.ortho_context(k), v, "{k:?}");
            // The word-at-a-time look-ups of zero-padded keys agree (keys of up to 32 bytes).
            if let Some(key) = Key32::new(k.as_bytes()) {
                assert_eq!(p.is_abbrev32(&key), p.is_abbrev(k), "{k:?}");
                assert_eq!(p.is_sent_starter32(&key), p.is_sent_starter(k), "{k:?}");
                assert_eq!(p.ortho_context32(&key), v, "{k:?}");
            }
        }
        assert!(Key32::new(&[b'a'; 33]).is_none());
        assert_eq!(
            Key32::folded(b"Mr-X").map(|k| k.as_bytes().to_vec()),
            Some(b"mr-x".to_vec())
        );
    }
}
