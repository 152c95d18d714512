//! The command line: parse, run, exit with the code the outcome calls for
//! (docs/host-contract.md, "Exit codes"). Everything else is in the library.

fn main() {
    std::process::exit(minimax_portal_auth::run());
}
