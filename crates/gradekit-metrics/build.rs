//! Build-time tables: the compiled-in data files (`data/`) are turned into ready-to-use tables
//! in `OUT_DIR`, so no process parses them on first use (a `gradekit score` run over a small
//! file otherwise spends most of its time there). Each area owns one module under `build/`.

#[path = "build/tokenize.rs"]
mod tokenize;
#[path = "build/wordnet.rs"]
mod wordnet;

fn main() {
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let manifest = std::path::PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=build");
    if let Err(e) =
        tokenize::generate(&manifest, &out).and_then(|()| wordnet::generate(&manifest, &out))
    {
        panic!("building the compiled-in tables failed: {e}");
    }
}
