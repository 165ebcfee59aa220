//! The compiled-in tables against the parsed text tables (`parsed.rs`, the oracle).

use proptest::prelude::*;

use super::parsed::Parsed;
use super::*;

/// The oracle's synonyms of a lower-cased word, sorted and distinct.
fn oracle(word: &str) -> Vec<&'static str> {
    let p = Parsed::get();
    let mut ids = Vec::new();
    p.synonym_ids_into(word, &mut ids, &mut String::new());
    let mut out: Vec<&'static str> = ids.iter().filter_map(|&i| p.word(i)).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// Both forms agree on `word`: its synonyms and whether it is a lemma.
fn agree(word: &str) -> Result<(), String> {
    let wn = WordNet::get();
    let (got, want) = (wn.synonyms(word), oracle(word));
    if got != want {
        return Err(format!("synonyms({word:?}): {got:?} != {want:?}"));
    }
    let (got, want) = (
        wn.id(word).and_then(|i| wn.word(i)),
        Parsed::get().id(word).and_then(|i| Parsed::get().word(i)),
    );
    if got != want {
        return Err(format!("lemma({word:?}): {got:?} != {want:?}"));
    }
    // With the lemma id given (as METEOR passes it when known), the same ids in the same order.
    // The look-up prefetches the key's home slot (a hint: it must change no answer; this
    // runs its `unsafe` on every word the tests check).
    let h = hash::hash(word.as_bytes());
    wn.prefetch_slot(h);
    prefetch(wn.slots, usize::MAX);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    wn.synonym_ids_into(word, &mut a, &mut String::new());
    let lemma = wn.synonym_ids_of(
        word,
        wn.id(word).map(|k| (k, None)),
        &mut b,
        &mut String::new(),
    );
    if a != b {
        return Err(format!(
            "synonym_ids_of({word:?}) with its id: {b:?} != {a:?}"
        ));
    }
    // And with its run's start too (as METEOR passes it when a look-up found it).
    let (run, mut c) = (wn.lemma_run(word), Vec::new());
    if run.map(|(k, _)| k) != wn.id(word) {
        return Err(format!("lemma_run({word:?}): {run:?} != {:?}", wn.id(word)));
    }
    wn.synonym_ids_of(
        word,
        run.map(|(k, r)| (k, Some(r))),
        &mut c,
        &mut String::new(),
    );
    if a != c {
        return Err(format!(
            "synonym_ids_of({word:?}) with its id and run: {c:?} != {a:?}"
        ));
    }
    // The lemma id it reports, with and without being given it.
    let looked_up = wn.synonym_ids_of(word, None, &mut Vec::new(), &mut String::new());
    if lemma != wn.id(word) || looked_up != wn.id(word) {
        return Err(format!(
            "synonym_ids_of({word:?}) lemma {lemma:?} / {looked_up:?} != {:?}",
            wn.id(word)
        ));
    }
    Ok(())
}

fn check_all<'a>(words: impl Iterator<Item = &'a str>) -> usize {
    let mut bad = Vec::new();
    let mut n = 0;
    for w in words {
        n += 1;
        if let Err(e) = agree(w) {
            bad.push(e);
        }
    }
    assert!(
        bad.is_empty(),
        "{} mismatches, e.g.\n{}",
        bad.len(),
        bad[..bad.len().min(20)].join("\n")
    );
    n
}

#[test]
fn every_lemma_agrees() {
    let lemmas = Parsed::get().lemmas();
    assert!(lemmas.len() > 80_000);
    assert_eq!(check_all(lemmas.iter().copied()), lemmas.len());
}

#[test]
fn every_exception_form_agrees() {
    let n = check_all(Parsed::get().exception_forms());
    assert!(n > 5_000, "{n}");
}

#[test]
fn every_key_is_found_at_its_id() {
    let wn = WordNet::get();
    for k in 0..tables::N_KEYS {
        let w = wn.key_str(k);
        assert!(!w.is_empty());
        assert_eq!(wn.key(w), Some(k), "{w}");
    }
    assert_eq!(wn.word(tables::N_KEYS), None);
    assert_eq!(wn.len(), tables::N_KEYS as usize);
    // Every lemma and exception form is a key, nothing else.
    let p = Parsed::get();
    let mut all: Vec<&str> = p
        .lemmas()
        .iter()
        .copied()
        .chain(p.exception_forms())
        .collect();
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), wn.len());
}

/// The negative filter lets every key through, and on words that are no key it answers what
/// the slot table answers (nothing) for nearly all of them.
#[test]
fn filter_passes_every_key_and_most_non_keys_not() {
    let wn = WordNet::get();
    for k in 0..tables::N_KEYS {
        let w = wn.key_str(k);
        assert!(wn.may_hold(hash::hash(w.as_bytes())), "{w}");
        assert!(wn.may_be_key(w), "{w}");
    }
    // Non-keys shaped like what METEOR asks: morphy candidates and Porter-like stems of keys.
    let keys: std::collections::HashSet<&str> = vocabulary().iter().copied().collect();
    let (mut asked, mut passed) = (0usize, 0usize);
    for &w in vocabulary() {
        for v in [
            format!("{w}x"),
            format!("{w}ed"),
            w[..w.len() - 1].to_owned(),
        ] {
            if v.is_empty() || keys.contains(v.as_str()) {
                continue;
            }
            asked += 1;
            let h = hash::hash(v.as_bytes());
            passed += usize::from(wn.may_hold(h));
            assert_eq!(wn.probe(v.as_bytes(), h), None, "{v}");
            assert_eq!(wn.key(&v), None, "{v}");
        }
    }
    assert!(asked > 200_000, "{asked}");
    // ~2 % expected (see filter.rs); 5 % would mean the filter lost its point.
    assert!(
        passed * 20 < asked,
        "{passed} of {asked} non-keys pass the filter"
    );
}

/// The slot layout keeps a key's first 8 bytes and its length inline and compares the rest at
/// its text offset: words that share a key's first 8 bytes and length but differ after them,
/// a key's prefixes and extensions, a key with a zero byte appended (the inline head is
/// zero-padded), and lengths past the longest key are no keys.
#[test]
fn slot_layout_compares_whole_keys() {
    let wn = WordNet::get();
    let keys: std::collections::HashSet<&str> = vocabulary().iter().copied().collect();
    let mut n = 0;
    for k in 0..tables::N_KEYS {
        let w = wn.key_str(k);
        let mut near = vec![
            format!("{w}\u{0}"),
            format!("{w}a"),
            w[..w.len() - 1].to_owned(),
        ];
        if w.len() > 8 {
            for at in [8, w.len() / 2 + 4, w.len() - 1] {
                let mut b = w.as_bytes().to_vec();
                if let Some(c) = b.get_mut(at) {
                    *c = if *c == b'q' { b'z' } else { b'q' };
                }
                near.push(String::from_utf8(b).unwrap_or_default());
            }
        }
        for v in near {
            if !keys.contains(v.as_str()) {
                assert_eq!(wn.key(&v), None, "{v:?}");
                n += 1;
            }
        }
    }
    assert!(n > 200_000, "{n}");
    assert_eq!(wn.key(&"a".repeat(64)), None);
    assert_eq!(wn.key(&"a".repeat(1000)), None);
    assert_eq!(wn.key(""), None);
}

/// Every word morphy's suffix rules map onto a lemma (the lemma with a rule's `new` ending
/// replaced by its `old` one, for every rule of every part of speech): the inflected forms
/// whose synonyms go through the rules.
#[test]
fn morphy_shaped_words_agree() {
    let rules: Vec<(&str, &str)> = SUBSTITUTIONS
        .iter()
        .flat_map(|r| r.iter().copied())
        .collect();
    let mut words = Vec::new();
    for lemma in Parsed::get().lemmas() {
        for &(old, new) in &rules {
            if let Some(stem) = lemma.strip_suffix(new) {
                words.push(format!("{stem}{old}"));
            }
        }
    }
    words.sort_unstable();
    words.dedup();
    assert!(words.len() > 300_000, "{}", words.len());
    check_all(words.iter().map(String::as_str));
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
    assert_eq!(wn.id(""), None);
    // An exception form that is no lemma has no id but still maps to its bases.
    assert_eq!(wn.id("geese"), None);
    assert_eq!(wn.id("goose").and_then(|i| wn.word(i)), Some("goose"));
}

/// Lemmas and exception forms to build random words from.
fn vocabulary() -> &'static [&'static str] {
    static V: std::sync::OnceLock<Vec<&'static str>> = std::sync::OnceLock::new();
    V.get_or_init(|| {
        let p = Parsed::get();
        p.lemmas()
            .iter()
            .copied()
            .chain(p.exception_forms())
            .collect()
    })
}

fn near_word() -> impl Strategy<Value = String> {
    let suffixes = [
        "", "", "s", "es", "ed", "ing", "er", "est", "ies", "ves", "men", "ches", "shes", "xes",
        "zes", "ses", "e", "y", "'s", "é", "\u{0}",
    ];
    (
        0..vocabulary().len(),
        0..4usize,
        proptest::sample::select(suffixes.to_vec()),
    )
        .prop_map(|(i, cut, suffix)| {
            let w = vocabulary()[i];
            let keep = w.len().saturating_sub(cut);
            format!("{}{suffix}", w.get(..keep).unwrap_or(w))
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]

    #[test]
    fn random_words_agree(w in "[a-z'.-]{0,14}") {
        prop_assert_eq!(agree(&w), Ok(()));
    }

    #[test]
    fn near_lemma_words_agree(w in near_word()) {
        prop_assert_eq!(agree(&w), Ok(()));
    }

    /// The filtered look-up is the table's look-up.
    #[test]
    fn filter_changes_no_answer(w in prop_oneof!["[a-z'.-]{1,14}".boxed(), near_word().boxed()]) {
        let b = w.as_bytes();
        prop_assume!(!b.is_empty() && b.len() <= MAX_KEY_LEN);
        let wn = WordNet::get();
        prop_assert_eq!(wn.key_run(&w), wn.probe(b, hash::hash(b)));
    }

    /// `may_be_key` says "no" only of words that are no key (stage 3 then takes the stem for
    /// no lemma without a probe).
    #[test]
    fn may_be_key_rejects_only_non_keys(w in prop_oneof!["[a-z'.-]{0,14}".boxed(), near_word().boxed(), any::<String>().boxed()]) {
        let wn = WordNet::get();
        if !wn.may_be_key(&w) {
            prop_assert_eq!(wn.key(&w), None);
            prop_assert_eq!(wn.id(&w), None);
        }
    }

    #[test]
    fn any_text_agrees(w in any::<String>()) {
        let w = py_lower(&w);
        prop_assert_eq!(agree(&w), Ok(()));
    }
}

/// A key's slot holds where its synonym run starts, and the run read from there up to its
/// marked last id is the key's four parts of speech's runs, in order.
#[test]
fn slot_runs_are_the_lemmas_runs() {
    let wn = WordNet::get();
    let mut lemmas = 0;
    for k in 0..tables::N_KEYS {
        let word = wn.word(k).expect("a key");
        let (got, start) = wn.key_run(word).expect("every key is found");
        assert_eq!(got, k, "{word:?}");
        if !WordNet::is_lemma(k) {
            continue;
        }
        lemmas += 1;
        assert_eq!(start, wn.syn_start.at(k as usize * 4), "{word:?}");
        let mut want = Vec::new();
        for p in 0..4 {
            wn.push_sets(k, p, &mut want);
        }
        let mut run = Vec::new();
        wn.push_run(start, &mut run);
        assert!(!run.is_empty(), "{word:?}");
        assert_eq!(run, want, "{word:?}");
    }
    assert!(lemmas > 80_000);
}

#[test]
fn prefetch_hints_take_any_word() {
    let long = "s".repeat(200);
    for w in [
        "",
        "s",
        "ies",
        "running",
        "ran",
        long.as_str(),
        "é",
        "ünïcödes",
    ] {
        // Stage 3's hints before its look-ups (`prefetch_key`, `prefetch_filter`,
        // `prefetch_sets`, the slot `may_be_key` starts loading) read nothing into the
        // program and cannot fault, whatever the word or id.
        WordNet::get().prefetch_key(w);
        WordNet::get().prefetch_filter(w);
        let _ = WordNet::get().may_be_key(w);
        assert_eq!(agree(w), Ok(()));
    }
    let wn = WordNet::get();
    for id in [
        0,
        1,
        tables::N_KEYS - 1,
        tables::N_KEYS,
        u32::MAX - 1,
        u32::MAX,
    ] {
        wn.prefetch_sets(id);
        wn.prefetch_run(id);
    }
    let mut ids = Vec::new();
    wn.synonym_ids_into("ran", &mut ids, &mut String::new());
    assert!(ids.contains(&wn.id("run").expect("a lemma")));
}
