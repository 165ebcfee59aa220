//! The test oracle: the text tables of `data/wordnet/` parsed into hash maps, and morphy over
//! them, as the crate did at run time before the tables were generated at build time. The
//! tests in `tests.rs` compare the compiled-in tables with this on every lemma, every
//! exception form and many more words.

use std::sync::OnceLock;

use super::SUBSTITUTIONS;

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

/// Reference to the set {the lemma itself} in `refs`.
const OWN: u32 = u32::MAX;

/// Hash map used for word look-ups (foldhash: fast on short strings).
type Map<K, V> = foldhash::HashMap<K, V>;

/// The WordNet text tables, parsed.
#[derive(Debug)]
pub(super) struct Parsed {
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

impl Parsed {
    /// The tables, parsed once per test process.
    pub(super) fn get() -> &'static Parsed {
        static WN: OnceLock<Parsed> = OnceLock::new();
        WN.get_or_init(|| Parsed::parse(LEMMAS, SYNSETS, EXCEPTIONS).expect("tables parse"))
    }

    fn empty() -> Parsed {
        Parsed {
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
    ) -> Result<Parsed, String> {
        // Hand-rolled byte parsing: per-field `split`/`parse` made first use several times
        // slower on these ~2 MB of tables.
        let mut wn = Parsed::empty();
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

    /// Every lemma, in id order.
    pub(super) fn lemmas(&self) -> &[&'static str] {
        &self.words
    }

    /// Every exception form (of any part of speech).
    pub(super) fn exception_forms(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.exceptions.iter().flat_map(|m| m.keys().copied())
    }

    /// The id of a lemma, if it has any synonym.
    #[inline]
    pub(super) fn id(&self, word: &str) -> Option<u32> {
        self.ids.get(word).copied()
    }

    /// The lemma of an id.
    pub(super) fn word(&self, id: u32) -> Option<&'static str> {
        self.words.get(id as usize).copied()
    }

    /// Push the word ids of every lower-case, `_`-free synset name of `wordnet.synsets(word)`
    /// onto `out` (not deduplicated; `scratch` is a reusable buffer for morphy's candidates).
    /// `word` must already be lower-case, as NLTK lower-cases it first.
    pub(super) fn synonym_ids_into(&self, word: &str, out: &mut Vec<u32>, scratch: &mut String) {
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
