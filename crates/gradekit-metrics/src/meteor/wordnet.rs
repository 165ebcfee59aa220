//! WordNet 3.0 synonym lookup, as METEOR's third stage asks NLTK for it.
//!
//! NLTK computes, for a word `w`, the names without `_` of every synset of
//! `wordnet.synsets(w)`: for each part of speech (noun, verb, adjective, adverb) `morphy` yields
//! the base forms of `w` — `w` itself and either its exception-list bases or the results of the
//! part of speech's suffix rules (applied once, not recursively) — that the lemma index knows
//! for that part of speech, and every synset of those (form, pos) index entries is taken.
//!
//! The tables are generated from NLTK's own reader by `scripts/gen_wordnet.py` and compiled in
//! (`data/wordnet/`, ~2 MB of text, WordNet licence beside them); they keep only what can
//! change a METEOR score: names that are all lower-case (the word they are compared with is
//! always lower-cased) and index entries that lead to at least one such name. Word sets are
//! shared between synsets and parts of speech, so a lookup unions a few short integer lists.
//! Parsing happens once, on first use ([`WordNet::get`]).

use std::sync::OnceLock;

use super::porter::py_lower;

static LEMMAS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/wordnet/lemmas.txt"
));
static SYNSETS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/wordnet/synsets.txt"
));
static EXCEPTIONS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/data/wordnet/exceptions.txt"
));

/// Parts of speech in NLTK's `POS_LIST` order.
const POS: [u8; 4] = [b'n', b'v', b'a', b'r'];

/// `WordNetCorpusReader.MORPHOLOGICAL_SUBSTITUTIONS` (adjective satellites share the adjective
/// rules; NLTK's `synsets` never asks for them separately).
const SUBSTITUTIONS: [&[(&str, &str)]; 4] = [
    &[
        ("s", ""),
        ("ses", "s"),
        ("ves", "f"),
        ("xes", "x"),
        ("zes", "z"),
        ("ches", "ch"),
        ("shes", "sh"),
        ("men", "man"),
        ("ies", "y"),
    ],
    &[
        ("s", ""),
        ("ies", "y"),
        ("es", "e"),
        ("es", ""),
        ("ed", "e"),
        ("ed", ""),
        ("ing", "e"),
        ("ing", ""),
    ],
    &[("er", ""), ("est", ""), ("er", "e"), ("est", "e")],
    &[],
];

/// Reference to the set {the lemma itself} in `refs`.
const OWN: u32 = u32::MAX;

/// Hash map used for word look-ups (foldhash: fast on short strings).
type Map<K, V> = foldhash::HashMap<K, V>;

/// The compiled-in WordNet tables, parsed.
#[derive(Debug)]
pub struct WordNet {
    /// Lemma strings; the index is the word id.
    words: Vec<&'static str>,
    ids: Map<&'static str, u32>,
    /// `entry[id][p]..entry[id][p + 1]` = the lemma's references for `POS[p]` in `refs`.
    entry: Vec<[u32; 5]>,
    /// [`OWN`] or an index into `set_start`.
    refs: Vec<u32>,
    /// `members[set_start[s]..set_start[s + 1]]` = the word ids of shared set `s`.
    set_start: Vec<u32>,
    members: Vec<u32>,
    /// Per part of speech: exception form → range of its (pre-filtered) bases in `exc_bases`.
    exceptions: [Map<&'static str, (u32, u32)>; 4],
    exc_bases: Vec<u32>,
}

impl WordNet {
    /// The tables, parsed on first use. Parsing compiled-in data cannot fail unless the data files
    /// are corrupt; a unit test guards that, and a corrupt table degrades to "no synonyms" rather
    /// than a panic.
    pub fn get() -> &'static WordNet {
        static WN: OnceLock<WordNet> = OnceLock::new();
        WN.get_or_init(|| {
            WordNet::parse(LEMMAS, SYNSETS, EXCEPTIONS).unwrap_or_else(|_| WordNet::empty())
        })
    }

    fn empty() -> WordNet {
        WordNet {
            words: Vec::new(),
            ids: Map::default(),
            entry: Vec::new(),
            refs: Vec::new(),
            set_start: vec![0],
            members: Vec::new(),
            exceptions: Default::default(),
            exc_bases: Vec::new(),
        }
    }

    fn parse(
        lemmas: &'static str,
        synsets: &'static str,
        exceptions: &'static str,
    ) -> Result<WordNet, String> {
        // Hand-rolled byte parsing: per-field `split`/`parse` made first use several times
        // slower on these ~2 MB of tables.
        let mut wn = WordNet::empty();
        let n_words = lemmas.bytes().filter(|&b| b == b'\n').count();
        wn.words.reserve(n_words);
        wn.entry.reserve(n_words);
        wn.ids.reserve(n_words);
        wn.refs.reserve(n_words * 2);
        for (id, line) in byte_lines(lemmas).enumerate() {
            let b = line.as_bytes();
            let sp = b.iter().position(|&c| c == b' ').unwrap_or(b.len());
            if sp == 0 {
                return Err("empty lemma".into());
            }
            // ASCII space: a char boundary.
            let word = &line[..sp];
            let id = u32::try_from(id).map_err(|e| e.to_string())?;
            if wn.ids.insert(word, id).is_some() {
                return Err(format!("duplicate lemma {word}"));
            }
            wn.words.push(word);
            let mut starts = [0u32; 5];
            let mut next_pos = 0;
            let mut k = sp;
            while k < b.len() {
                // b[k] == b' ': a part-of-speech letter, then references separated by ','.
                let tag = *b.get(k + 1).ok_or("empty field")?;
                let p = POS
                    .iter()
                    .position(|&c| c == tag)
                    .filter(|&p| p >= next_pos)
                    .ok_or_else(|| format!("bad part of speech in {line}"))?;
                let here = len_u32(&wn.refs)?;
                starts[next_pos..=p].fill(here);
                next_pos = p + 1;
                k += 2;
                loop {
                    let s = k;
                    while k < b.len() && b[k] != b',' && b[k] != b' ' {
                        k += 1;
                    }
                    let r = &b[s..k];
                    wn.refs.push(if r == b"." { OWN } else { parse_u32(r)? });
                    if k < b.len() && b[k] == b',' {
                        k += 1;
                    } else {
                        break;
                    }
                }
            }
            let here = len_u32(&wn.refs)?;
            starts[next_pos..].fill(here);
            wn.entry.push(starts);
        }
        for line in byte_lines(synsets) {
            for m in line.as_bytes().split(|&c| c == b' ') {
                let m = parse_u32(m)?;
                if m as usize >= wn.words.len() {
                    return Err(format!("synsets: word id {m} out of range"));
                }
                wn.members.push(m);
            }
            wn.set_start.push(len_u32(&wn.members)?);
        }
        let n_sets = wn.set_start.len() - 1;
        if wn.refs.iter().any(|&r| r != OWN && r as usize >= n_sets) {
            return Err("lemmas: set id out of range".into());
        }
        for line in exceptions.lines() {
            let mut fields = line.split(' ');
            let pos = fields.next().ok_or("empty exception line")?;
            let p = POS
                .iter()
                .position(|&c| pos.as_bytes() == [c])
                .ok_or_else(|| format!("bad exception line {line}"))?;
            let form = fields.next().ok_or("exception without form")?;
            let start = len_u32(&wn.exc_bases)?;
            for base in fields {
                let id = *wn
                    .ids
                    .get(base)
                    .ok_or_else(|| format!("unknown base {base}"))?;
                wn.exc_bases.push(id);
            }
            wn.exceptions[p].insert(form, (start, len_u32(&wn.exc_bases)?));
        }
        Ok(wn)
    }

    /// Number of lemmas in the table.
    pub fn len(&self) -> usize {
        self.words.len()
    }

    /// Whether the table is empty (only if the compiled-in data were corrupt).
    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The id of a lemma, if it has any synonym.
    #[inline]
    pub fn id(&self, word: &str) -> Option<u32> {
        self.ids.get(word).copied()
    }

    /// The lemma of an id.
    pub fn word(&self, id: u32) -> Option<&'static str> {
        self.words.get(id as usize).copied()
    }

    /// Push the word ids of every lower-case, `_`-free synset name of `wordnet.synsets(word)`
    /// onto `out` (not deduplicated; `scratch` is a reusable buffer for morphy's candidates).
    /// `word` must already be lower-case, as NLTK lower-cases it first.
    pub(crate) fn synonym_ids_into(&self, word: &str, out: &mut Vec<u32>, scratch: &mut String) {
        for (p, rules) in SUBSTITUTIONS.iter().enumerate() {
            if let Some(id) = self.id(word) {
                self.push_sets(id, p, out);
            }
            if let Some(&(a, b)) = self.exceptions[p].get(word) {
                for &id in &self.exc_bases[a as usize..b as usize] {
                    self.push_sets(id, p, out);
                }
                continue;
            }
            for &(old, new) in *rules {
                if let Some(stem) = word.strip_suffix(old) {
                    scratch.clear();
                    scratch.push_str(stem);
                    scratch.push_str(new);
                    if let Some(id) = self.id(scratch) {
                        self.push_sets(id, p, out);
                    }
                }
            }
        }
    }

    #[inline]
    fn push_sets(&self, id: u32, p: usize, out: &mut Vec<u32>) {
        let Some(e) = self.entry.get(id as usize) else {
            return;
        };
        for &r in &self.refs[e[p] as usize..e[p + 1] as usize] {
            if r == OWN {
                out.push(id);
            } else {
                let s = r as usize;
                out.extend_from_slice(
                    &self.members[self.set_start[s] as usize..self.set_start[s + 1] as usize],
                );
            }
        }
    }

    /// The synonyms METEOR accepts for `word`: the sorted, distinct names without `_` of all
    /// synsets of `wordnet.synsets(word)` that could equal a lower-cased word (NLTK lower-cases
    /// `word` first; METEOR also accepts the word itself, which is not added here).
    ///
    /// ```
    /// use gradekit_metrics::meteor::wordnet::WordNet;
    /// let syn = WordNet::get().synonyms("ran");
    /// assert!(syn.contains(&"run") && syn.contains(&"scarper"));
    /// ```
    pub fn synonyms(&self, word: &str) -> Vec<&'static str> {
        let word = py_lower(word);
        let mut ids = Vec::new();
        self.synonym_ids_into(&word, &mut ids, &mut String::new());
        let mut out: Vec<&'static str> = ids.iter().filter_map(|&i| self.word(i)).collect();
        out.sort_unstable();
        out.dedup();
        out
    }
}

/// The lines of a table (`\n`-terminated; no `\r` in generated data).
fn byte_lines(text: &str) -> impl Iterator<Item = &str> {
    text.split_terminator('\n')
}

/// A decimal `u32` of at most nine digits.
fn parse_u32(digits: &[u8]) -> Result<u32, String> {
    if digits.is_empty() || digits.len() > 9 {
        return Err(format!("bad number {:?}", String::from_utf8_lossy(digits)));
    }
    let mut v = 0u32;
    for &c in digits {
        if !c.is_ascii_digit() {
            return Err(format!("bad number {:?}", String::from_utf8_lossy(digits)));
        }
        v = v * 10 + u32::from(c - b'0');
    }
    Ok(v)
}

fn len_u32<T>(v: &[T]) -> Result<u32, String> {
    u32::try_from(v.len()).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiled_tables_parse() {
        let wn = WordNet::parse(LEMMAS, SYNSETS, EXCEPTIONS).expect("tables parse");
        assert_eq!(wn.len(), LEMMAS.lines().count());
        assert!(wn.len() > 80_000);
    }

    #[test]
    fn morphy_rules_and_exceptions() {
        let wn = WordNet::get();
        // Checked with NLTK 3.9.1: exception list geese -> goose; rules dogs -> dog, running -> run.
        assert!(wn.synonyms("geese").contains(&"goose"));
        assert!(wn.synonyms("dogs").contains(&"dog"));
        assert!(wn.synonyms("Dogs").contains(&"frump"));
        assert!(wn.synonyms("running").contains(&"run"));
        // names with "_" or capitals never appear
        assert!(wn.synonyms("run").iter().all(|s| !s.contains('_')));
        assert!(wn.synonyms("xyzzyq").is_empty());
        assert!(wn.synonyms("").is_empty());
    }
}
