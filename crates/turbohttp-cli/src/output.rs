//! Writing to standard output and error without panicking when the reader has gone
//! away (`turbohttp get URL | head`).

use std::io::{self, Write};

/// Writes `text` to standard output. A closed pipe is not an error worth a panic.
pub fn stdout(text: &str) {
    let mut out = io::stdout().lock();
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// Writes `text` to standard error.
pub fn stderr(text: &str) {
    let _ = io::stderr().lock().write_all(text.as_bytes());
}

/// `turbohttp: warning: {message}` on standard error.
pub fn warning_line(message: &str) {
    stderr(&format!("turbohttp: warning: {message}\n"));
}

/// `turbohttp: error: {message}` on standard error.
pub fn error_line(message: &str) {
    stderr(&format!("turbohttp: error: {message}\n"));
}
