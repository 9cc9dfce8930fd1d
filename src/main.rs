//! The `tfw` binary: parses nothing itself, hands the command line to `tfw::run`.

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(tfw::run(std::env::args_os()));
}
