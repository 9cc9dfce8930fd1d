//! The `tfw` binary: parses nothing itself, hands the command line to `tfw::run`.

fn main() {
    std::process::exit(tfw::run(std::env::args_os()));
}
