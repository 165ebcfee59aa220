//! The `gradekit` binary; the command-line code is in `crates/gradekit-cli`.

fn main() -> std::process::ExitCode {
    gradekit_cli::main()
}
