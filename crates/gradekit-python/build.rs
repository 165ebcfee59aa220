//! With the `embedded` feature: record the RUNPATH of the libpython pyo3 linked against. This
//! machine kind has two `libpython3.11.so.1.0` with the same soname (pyenv's and Debian's); without
//! it the binary silently loads the other one (research/python-graders.md §3.1).
fn main() {
    #[cfg(feature = "embedded")]
    pyo3_build_config::add_libpython_rpath_link_args();
}
