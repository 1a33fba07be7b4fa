//! Shell completions and the manual page, both generated from the clap definitions in
//! [`crate::cli`], so they cannot drift from the flags the binary accepts.

use crate::cli::Cli;
use clap::CommandFactory;
use std::io::Write;

/// `entraprobe completions SHELL`: the completion script on stdout.
pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<u8> {
    let mut command = Cli::command();
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut command, "entraprobe", &mut out);
    write_stdout(&out)
}

/// `entraprobe man`: one roff page, `entraprobe(1)`, with a section for every subcommand (its
/// synopsis, description and options), so `man` shows every flag in one place.
pub fn man_page() -> anyhow::Result<u8> {
    let command = Cli::command();
    let mut out = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut out)?;
    for sub in command.get_subcommands().filter(|s| s.get_name() != "help") {
        let sub = sub
            .clone()
            .bin_name(format!("entraprobe {}", sub.get_name()));
        let page = clap_mangen::Man::new(sub.clone());
        let mut section = Vec::new();
        page.render_synopsis_section(&mut section)?;
        page.render_description_section(&mut section)?;
        if sub.get_arguments().any(|a| !a.is_hide_set()) {
            page.render_options_section(&mut section)?;
        }
        out.extend_from_slice(format!(".SH \"{}\"\n", sub.get_name().to_uppercase()).as_bytes());
        out.extend_from_slice(&demote_headings(&section));
    }
    write_stdout(&out)
}

/// A subcommand's sections become subsections of its own section.
fn demote_headings(roff: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(roff)
        .lines()
        .map(|line| match line.strip_prefix(".SH ") {
            Some(rest) => format!(".SS {rest}\n"),
            None => format!("{line}\n"),
        })
        .collect::<String>()
        .into_bytes()
}

fn write_stdout(bytes: &[u8]) -> anyhow::Result<u8> {
    let mut stdout = std::io::stdout().lock();
    // A closed pipe (`entraprobe man | head`) is not an error worth a message.
    match stdout.write_all(bytes).and_then(|()| stdout.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(0),
    }
}
