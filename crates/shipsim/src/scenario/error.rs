//! Errors of the scenario loader.
//!
//! A scenario file is written by hand, so every problem found in it — a YAML syntax error, a
//! wrong type, a fault that makes no sense — is reported as `file:line:column: message`, the
//! form editors and terminals turn into a clickable location. Only a file that cannot be read
//! at all has no position; its error still names the file.

use std::fmt;

use shipsim_trace::InputError;

/// A 1-based line and column (in characters, not bytes) inside a scenario file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Pos {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, counted in Unicode scalar values.
    pub column: usize,
}

impl Pos {
    /// The first character of the file: the position of problems that concern the whole file.
    pub const START: Pos = Pos { line: 1, column: 1 };

    /// A position; `line` and `column` are 1-based.
    pub const fn new(line: usize, column: usize) -> Pos {
        Pos { line, column }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A problem at a position, before the file name is known.
///
/// The loader's inner functions work on text and do not know which file it came from;
/// [`Problem::in_file`] turns the first problem into the public [`ScenarioError`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Problem {
    pub pos: Pos,
    pub message: String,
}

impl Problem {
    pub(crate) fn new(pos: Pos, message: impl Into<String>) -> Problem {
        Problem { pos, message: message.into() }
    }

    pub(crate) fn in_file(self, file: &str) -> ScenarioError {
        ScenarioError::Invalid(InputError::new(file, self.pos.line, self.pos.column, self.message))
    }
}

/// Why a scenario file was rejected.
///
/// `Display` is `{file}:{line}:{column}: {message}` for everything found in the file's
/// contents (syntax and semantic errors alike); a file that could not be read is
/// `{file}: {io error}`.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file's contents are not a valid scenario: where, and why.
    #[error(transparent)]
    Invalid(InputError),
    /// The file could not be read.
    #[error("{file}: cannot read scenario file: {source}")]
    Io {
        /// The path as given to the loader.
        file: String,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl ScenarioError {
    /// The file this error is about.
    pub fn file(&self) -> &str {
        match self {
            ScenarioError::Invalid(InputError { file, .. }) | ScenarioError::Io { file, .. } => file,
        }
    }

    /// Line and column of the problem; `None` only for I/O errors.
    pub fn position(&self) -> Option<Pos> {
        match self {
            ScenarioError::Invalid(e) => Some(Pos::new(e.line, e.column)),
            ScenarioError::Io { .. } => None,
        }
    }

    /// The message without the file and position prefix.
    pub fn message(&self) -> String {
        match self {
            ScenarioError::Invalid(e) => e.message.clone(),
            ScenarioError::Io { source, .. } => format!("cannot read scenario file: {source}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_displays_file_line_column_message() {
        let e = Problem::new(Pos::new(3, 9), "shards must be at least 1").in_file("s.yaml");
        assert_eq!(e.to_string(), "s.yaml:3:9: shards must be at least 1");
        assert_eq!(e.position(), Some(Pos::new(3, 9)));
        assert_eq!(e.file(), "s.yaml");
        assert_eq!(e.message(), "shards must be at least 1");
    }

    #[test]
    fn io_error_names_the_file() {
        let e = ScenarioError::Io {
            file: "missing.yaml".into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "not found"),
        };
        assert_eq!(e.to_string(), "missing.yaml: cannot read scenario file: not found");
        assert_eq!(e.position(), None);
        assert!(std::error::Error::source(&e).is_some());
    }
}
