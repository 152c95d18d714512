//! What a terminal shows after a program wrote to it: a small emulator of
//! the few control sequences the tool uses (carriage return, cursor up and
//! down, erase line), so a captured pty session reads as the screen did.

/// The final screen of `raw` terminal output, `cols` wide, trailing spaces
/// and blank trailing lines removed.
pub fn render(raw: &str, cols: usize) -> String {
    let mut rows: Vec<Vec<char>> = vec![Vec::new()];
    let (mut row, mut col) = (0usize, 0usize);
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' => col = 0,
            '\n' => {
                row += 1;
                col = 0;
                if rows.len() <= row {
                    rows.push(Vec::new());
                }
            }
            '\u{1b}' => {
                if chars.peek() != Some(&'[') {
                    // Not a CSI sequence: skip the next character too.
                    chars.next();
                    continue;
                }
                chars.next();
                let mut params = String::new();
                let mut command = ' ';
                for next in chars.by_ref() {
                    if next.is_ascii_alphabetic() || next == '@' || next == '~' {
                        command = next;
                        break;
                    }
                    params.push(next);
                }
                let n = params
                    .trim_start_matches('?')
                    .parse::<usize>()
                    .unwrap_or(1)
                    .max(1);
                match command {
                    'A' => row = row.saturating_sub(n),
                    'B' => {
                        row += n;
                        while rows.len() <= row {
                            rows.push(Vec::new());
                        }
                    }
                    'C' => col += n,
                    'D' => col = col.saturating_sub(n),
                    'G' => col = n - 1,
                    'K' => match params.as_str() {
                        "1" => rows[row].iter_mut().take(col).for_each(|c| *c = ' '),
                        "2" => rows[row].clear(),
                        _ => rows[row].truncate(col),
                    },
                    'J' => {
                        rows[row].truncate(col);
                        rows.truncate(row + 1);
                    }
                    _ => {}
                }
            }
            c if c.is_control() => {}
            c => {
                if col >= cols {
                    row += 1;
                    col = 0;
                    if rows.len() <= row {
                        rows.push(Vec::new());
                    }
                }
                let line = &mut rows[row];
                while line.len() < col {
                    line.push(' ');
                }
                if col < line.len() {
                    line[col] = c;
                } else {
                    line.push(c);
                }
                col += 1;
            }
        }
    }
    let mut text: Vec<String> = rows
        .iter()
        .map(|r| r.iter().collect::<String>().trim_end().to_string())
        .collect();
    while text.last().is_some_and(|l| l.is_empty()) {
        text.pop();
    }
    text.join("\n")
}

/// What a terminal `cols` × `rows` shows of `raw`: its last `rows` lines.
pub fn visible(raw: &str, cols: usize, rows: usize) -> String {
    let all = render(raw, cols);
    let lines: Vec<&str> = all.lines().collect();
    lines[lines.len().saturating_sub(rows)..].join("\n")
}

/// Spinner frames (braille patterns) put in one form, for screens shot
/// while a spinner turns.
pub fn still(text: &str) -> String {
    text.chars()
        .map(|c| {
            if ('\u{2800}'..='\u{28ff}').contains(&c) {
                '⠿'
            } else {
                c
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn redraws_end_as_the_last_frame() {
        let raw = "one\r\n> a\r\n  b\r\n\u{1b}[2A\u{1b}[2K  a\r\n\u{1b}[2K> b\r\ndone\u{1b}[?25h";
        assert_eq!(render(raw, 80), "one\n  a\n> b\ndone");
        assert_eq!(render("abc\rx\u{1b}[K", 80), "x");
    }
}
