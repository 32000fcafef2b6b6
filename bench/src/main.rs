//! The `tactical-link-bench` binary: parses the command line and runs one
//! benchmark, or `summarize`. Exit codes as the gateway's: 64 for a bad
//! flag (nothing was started), 1 for a failure at run time.

use std::process::ExitCode;

use tactical_link::cli;
use tactical_link_bench::BenchArgs;

fn main() -> ExitCode {
    let args = match cli::parse_or_exit::<BenchArgs>() {
        Ok(args) => args,
        Err(code) => return code,
    };
    let runtime = tokio::runtime::Runtime::new().expect("start the tokio runtime");
    cli::exit_code(runtime.block_on(tactical_link_bench::run(args)))
}
