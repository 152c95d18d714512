//! `man`: one manual page with every command in it, built from cli.rs
//! (there are no per-command pages, so none is referred to).

use crate::error::{Error, Result};
use std::fmt::Write as _;

pub fn run() -> Result<i32> {
    let mut cmd = crate::cli::command();
    // Built, so each command's usage names the binary.
    cmd.build();
    let man = clap_mangen::Man::new(cmd.clone());
    let mut out = Vec::new();
    let fail = |e: std::io::Error| Error::failed(format!("cannot render the manual page: {e}"));
    man.render_title(&mut out).map_err(fail)?;
    man.render_name_section(&mut out).map_err(fail)?;
    man.render_synopsis_section(&mut out).map_err(fail)?;
    man.render_description_section(&mut out).map_err(fail)?;
    man.render_options_section(&mut out).map_err(fail)?;
    let mut page = String::from_utf8_lossy(&out).into_owned();
    page.push_str(&commands_section(&cmd));
    page.push_str(&exit_status_section());
    page.push_str(&environment_section());
    crate::output::print_stdout(&page)?;
    Ok(0)
}

/// Text made safe for roff: backslashes and hyphens escaped, and no line
/// starting with a control character.
fn escape(text: &str) -> String {
    text.replace('\\', "\\e")
        .replace('-', "\\-")
        .lines()
        .map(|line| {
            if line.starts_with('.') || line.starts_with('\'') {
                format!("\\&{line}")
            } else {
                line.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Prose paragraphs as filled text; indented lines (the examples) as is.
fn paragraphs(text: &str) -> String {
    let mut out = String::new();
    for block in text.split("\n\n") {
        let (head, rest) = match block.split_once('\n') {
            Some((head, rest)) if rest.starts_with("  ") => (head, Some(rest)),
            _ => (block, None),
        };
        let _ = writeln!(out, ".PP\n{}", escape(head));
        if let Some(lines) = rest {
            let _ = writeln!(out, ".nf\n{}\n.fi", escape(lines));
        }
    }
    out
}

/// Every command (and `openclaw setup`), with its usage, text and options.
fn commands_section(cmd: &clap::Command) -> String {
    let mut out = String::from(".SH COMMANDS\n");
    let mut leaves: Vec<&clap::Command> = Vec::new();
    for sub in cmd.get_subcommands().filter(|s| s.get_name() != "help") {
        if sub.has_subcommands() {
            leaves.extend(sub.get_subcommands().filter(|s| s.get_name() != "help"));
        } else {
            leaves.push(sub);
        }
    }
    for sub in leaves {
        let usage = sub.clone().render_usage().to_string();
        let usage = usage.trim_start_matches("Usage:").trim();
        let _ = writeln!(out, ".SS \"{}\"", escape(usage));
        let text = sub
            .get_long_about()
            .or(sub.get_about())
            .map(|t| t.to_string())
            .unwrap_or_default();
        out.push_str(&paragraphs(&text));
        for arg in sub
            .get_arguments()
            .filter(|a| !a.is_hide_set() && !a.is_global_set())
        {
            let id = arg.get_id().as_str();
            if id == "help" || id == "version" {
                continue;
            }
            let mut names = Vec::new();
            if let Some(short) = arg.get_short() {
                names.push(format!("\\fB\\-{short}\\fR"));
            }
            if let Some(long) = arg.get_long() {
                names.push(format!("\\fB\\-\\-{}\\fR", escape(long)));
            }
            let value = arg
                .get_value_names()
                .map(|v| {
                    v.iter()
                        .map(|n| format!(" \\fI{}\\fR", escape(n)))
                        .collect::<String>()
                })
                .unwrap_or_default();
            let label = if names.is_empty() {
                value.trim().to_string()
            } else {
                format!(
                    "{}{}",
                    names.join(", "),
                    if arg.get_num_args().is_some_and(|n| n.takes_values()) {
                        value
                    } else {
                        String::new()
                    }
                )
            };
            let help = arg
                .get_long_help()
                .or(arg.get_help())
                .map(|h| h.to_string())
                .unwrap_or_default();
            let _ = writeln!(out, ".TP\n{label}\n{}", escape(&help));
        }
    }
    out
}

fn exit_status_section() -> String {
    let mut out = String::from(".SH \"EXIT STATUS\"\n");
    for (code, meaning) in crate::cli::EXIT_CODES {
        let _ = writeln!(out, ".TP\n\\fB{code}\\fR\n{}", escape(meaning));
    }
    out
}

fn environment_section() -> String {
    let mut out = String::from(".SH ENVIRONMENT\n");
    for (name, meaning) in crate::cli::ENVIRONMENT {
        let _ = writeln!(out, ".TP\n\\fB{}\\fR\n{}", escape(name), escape(meaning));
    }
    out
}
