//! Thin: parse, run, map the outcome to an exit code (design §5.2).

use clap::Parser;
use entraprobe::cli::{Cli, Command};
use entraprobe::{UsageError, commands, manual};
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version itself (exit 0) and usage errors with exit 2.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    entraprobe::http::set_verbose(cli.verbose);
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Run(args) => commands::run(args).await,
            Command::Demo(args) => commands::demo(args).await,
            Command::Emulate(args) => commands::emulate(args).await,
            Command::Token(args) => commands::token(args).await,
            Command::Decode(args) => commands::decode(args),
            Command::Explain(args) => commands::explain(args),
            Command::Completions(args) => manual::completions(args.shell),
            Command::Man => manual::man_page(),
        }
    });
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            let code = if e.downcast_ref::<UsageError>().is_some() {
                2
            } else {
                1
            };
            eprintln!("error: {}", entraprobe::redact::scrub(&format!("{e:#}")));
            ExitCode::from(code)
        }
    }
}
