//! Text every layer may word: lines fitted to the terminal. It sits at the
//! bottom (ARCHITECTURE.md); saying it is `ui::tell`'s job.

/// Lines no longer than `width`: a long line breaks at a space (or, with
/// none, anywhere), going on indented two more than it started.
pub fn fit(text: &str, width: usize) -> String {
    let mut out = String::new();
    for line in text.split_inclusive('\n') {
        let (body, newline) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        let indent = body.len() - body.trim_start().len();
        let mut rest = body;
        let mut first = true;
        loop {
            let lead = if first { 0 } else { indent + 2 };
            let room = width.saturating_sub(lead).max(10);
            if rest.chars().count() <= room {
                out.push_str(&" ".repeat(lead));
                out.push_str(rest);
                break;
            }
            let cut = rest.char_indices().nth(room).map_or(rest.len(), |(i, _)| i);
            let at = rest[..cut]
                .rfind(' ')
                .filter(|at| *at > indent)
                .unwrap_or(cut);
            out.push_str(&" ".repeat(lead));
            out.push_str(rest[..at].trim_end());
            out.push('\n');
            rest = rest[at..].trim_start();
            first = false;
        }
        out.push_str(newline);
    }
    out
}
