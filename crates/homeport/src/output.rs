//! Writing to the terminal without panicking: `println!` panics when the reader of a pipe
//! has gone (`homeport ... | head`), and a CLI must exit quietly then, as other tools do.

use std::io::Write;

/// Writes one line to standard output; a closed pipe is not an error worth reporting.
pub fn line(text: &str) {
    let _ = writeln!(std::io::stdout().lock(), "{text}");
}

/// Writes text to standard output as it is (it carries its own line ends).
pub fn text(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// Writes one line to standard error.
pub fn error_line(text: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{text}");
}

/// Writes text to standard error as it is (progress that redraws its line carries no line end).
pub fn error_text(text: &str) {
    let mut stderr = std::io::stderr().lock();
    let _ = stderr.write_all(text.as_bytes());
    let _ = stderr.flush();
}
