//! The `tactical-link-bench` binary: parses the command line and runs one
//! benchmark, or `summarize`. Exit codes as the gateway's: 64 for a bad
//! flag (nothing was started), 1 for a failure at run time.

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;
use tactical_link::cli::ConfigError;
use tactical_link_bench::BenchArgs;

/// Exit code for a bad command line (EX_USAGE).
const EXIT_USAGE: u8 = 64;

fn main() -> ExitCode {
    let args = match BenchArgs::try_parse() {
        Ok(args) => args,
        Err(err) => {
            let informational = matches!(
                err.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            );
            let _ = err.print();
            return if informational {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(EXIT_USAGE)
            };
        }
    };
    let runtime = tokio::runtime::Runtime::new().expect("start the tokio runtime");
    match runtime.block_on(tactical_link_bench::run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            if let Some(config) = err.downcast_ref::<ConfigError>() {
                eprintln!("error: {config}");
                return ExitCode::from(EXIT_USAGE);
            }
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
