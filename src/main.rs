//! `faultline`: a deterministic simulation testbed for distributed protocols. The command
//! itself lives in the library ([`faultline::cli`]), so a user's crate can run it over its
//! own protocols too.

fn main() -> std::process::ExitCode {
    faultline::cli::main_with(faultline::registry::Registry::builtin())
}
