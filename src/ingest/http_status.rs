//! The HTTP status of a source's last answer, one type from the request to the store and
//! `boletin sources`: [`reqwest::StatusCode`] itself, wrapped only so that it can be written
//! as the bare number the JSON outputs and the store's INTEGER column have always held.

use std::fmt;

use reqwest::StatusCode;

/// An HTTP status as fetch received it. Shown, serialized and stored as its number (`404`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HttpStatus(pub StatusCode);

impl HttpStatus {
    /// The three-digit code.
    pub fn as_u16(self) -> u16 {
        self.0.as_u16()
    }

    /// A code read back as a number; `None` outside 100–999.
    pub fn from_u16(code: u16) -> Option<HttpStatus> {
        StatusCode::from_u16(code).ok().map(HttpStatus)
    }
}

impl From<StatusCode> for HttpStatus {
    fn from(code: StatusCode) -> HttpStatus {
        HttpStatus(code)
    }
}

impl fmt::Display for HttpStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_u16())
    }
}

impl serde::Serialize for HttpStatus {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u16(self.as_u16())
    }
}
