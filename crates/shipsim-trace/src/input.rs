//! [`InputError`]: the one positioned error of shipsim. Scenario files and trace files are
//! written by people and by other programs; every problem found in one names the file, the
//! line and the column, the form editors and terminals turn into a clickable location.

/// Bad input and where it is: `file:line:column: message`, leaving out a line or column that is
/// 0 (unknown: a problem with the file as a whole, or with a whole line).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.render())]
pub struct InputError {
    /// The file, as it was named.
    pub file: String,
    /// 1-based line; 0 when the problem is the file as a whole.
    pub line: usize,
    /// 1-based column, in characters; 0 when not known.
    pub column: usize,
    /// What is wrong, in words meant for the file's author.
    pub message: String,
}

impl InputError {
    /// A problem at `line` and `column` of `file` (0: unknown).
    pub fn new(file: impl Into<String>, line: usize, column: usize, message: impl Into<String>) -> Self {
        InputError { file: file.into(), line, column, message: message.into() }
    }

    fn render(&self) -> String {
        let (file, message) = (&self.file, &self.message);
        match (self.line, self.column) {
            (0, _) => format!("{file}: {message}"),
            (line, 0) => format!("{file}:{line}: {message}"),
            (line, column) => format!("{file}:{line}:{column}: {message}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_what_is_known_of_the_position() {
        assert_eq!(InputError::new("t.jsonl", 3, 9, "bad").to_string(), "t.jsonl:3:9: bad");
        assert_eq!(InputError::new("t.jsonl", 3, 0, "bad").to_string(), "t.jsonl:3: bad");
        assert_eq!(InputError::new("t.jsonl", 0, 0, "empty").to_string(), "t.jsonl: empty");
    }
}
