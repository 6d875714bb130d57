//! FreeSWITCH's Event Socket framing (and the Asterisk manager interface's, the same without
//! bodies): a message is header lines (`Name: value`) ending in a blank line, followed by
//! `Content-Length` bytes of body when that header is present. An event in
//! `plain` format is such a body: header lines again, values percent-encoded. Bytes arrive in any
//! pieces; [`Framer`] keeps what it has not yet made a message of.

/// One message from the socket: its headers and its body, if it had one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message {
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

impl Message {
    /// The first header of this name (names compared without case).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }
}

pub(crate) fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// What a message or a body is not: the connection is out of step and must be dropped.
#[derive(Debug, PartialEq, Eq)]
pub struct FramingError(pub String);

impl std::fmt::Display for FramingError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the event socket sent something unreadable: {}", self.0)
    }
}

/// A header block or body larger than this is not FreeSWITCH talking.
const LARGEST: usize = 4 * 1024 * 1024;

/// Turns the bytes of a connection into messages.
#[derive(Default)]
pub struct Framer {
    buffer: Vec<u8>,
}

impl Framer {
    pub fn push(&mut self, bytes: &[u8]) {
        self.buffer.extend_from_slice(bytes);
    }

    /// The first line, if a whole one has arrived (the AMI's banner, which no blank line ends).
    pub fn take_line(&mut self) -> Option<String> {
        let end = self.buffer.iter().position(|b| *b == b'\n')?;
        let line: Vec<u8> = self.buffer.drain(..=end).collect();
        Some(String::from_utf8_lossy(&line).trim_end().to_owned())
    }

    /// The next whole message, if the bytes so far hold one.
    pub fn next_message(&mut self) -> Result<Option<Message>, FramingError> {
        let Some(end) = find_blank_line(&self.buffer) else {
            if self.buffer.len() > LARGEST {
                return Err(FramingError("a header block without end".into()));
            }
            return Ok(None);
        };
        let head = std::str::from_utf8(&self.buffer[..end.start])
            .map_err(|_| FramingError("headers that are not UTF-8".into()))?;
        let headers = parse_lines(head, false)?;
        let length = match header(&headers, "Content-Length") {
            Some(n) => n
                .trim()
                .parse::<usize>()
                .ok()
                .filter(|n| *n <= LARGEST)
                .ok_or_else(|| FramingError(format!("Content-Length {n:?}")))?,
            None => 0,
        };
        if self.buffer.len() < end.after + length {
            return Ok(None);
        }
        let body = (length > 0)
            .then(|| {
                std::str::from_utf8(&self.buffer[end.after..end.after + length])
                    .map(str::to_owned)
                    .map_err(|_| FramingError("a body that is not UTF-8".into()))
            })
            .transpose()?;
        self.buffer.drain(..end.after + length);
        Ok(Some(Message { headers, body }))
    }
}

struct BlankLine {
    /// Where the header block ends, and where what follows the blank line starts.
    start: usize,
    after: usize,
}

/// The first blank line (`\n\n`, or `\r\n\r\n` from a sender that writes CRs).
fn find_blank_line(bytes: &[u8]) -> Option<BlankLine> {
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\n' {
            if bytes.get(i + 1) == Some(&b'\n') {
                return Some(BlankLine {
                    start: i,
                    after: i + 2,
                });
            }
            if bytes.get(i + 1) == Some(&b'\r') && bytes.get(i + 2) == Some(&b'\n') {
                return Some(BlankLine {
                    start: i,
                    after: i + 3,
                });
            }
        }
        i += 1;
    }
    None
}

/// `Name: value` lines; with `decode`, values are percent-decoded (an event's plain body).
fn parse_lines(text: &str, decode: bool) -> Result<Vec<(String, String)>, FramingError> {
    let mut headers = Vec::new();
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if line.is_empty() {
            continue;
        }
        let (name, value) = line
            .split_once(':')
            .ok_or_else(|| FramingError(format!("a header line without a colon: {line:?}")))?;
        let value = value.trim_start();
        let value = if decode {
            percent_encoding::percent_decode_str(value)
                .decode_utf8()
                .map_err(|_| FramingError(format!("header {name} is not UTF-8 once decoded")))?
                .into_owned()
        } else {
            value.to_owned()
        };
        headers.push((name.trim().to_owned(), value));
    }
    Ok(headers)
}

/// The headers of an event sent in `plain` format (its body; a body of its own after a blank
/// line, as some events carry, is left out).
pub fn event_headers(body: &str) -> Result<Vec<(String, String)>, FramingError> {
    let head = match body.find("\n\n") {
        Some(end) => &body[..end],
        None => body,
    };
    parse_lines(head, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &str =
        "Event-Name: CUSTOM\nCC-Queue: 12345%40default\nCC-Member-CID-Name: %E6%9D%8E\n\n";

    fn framed() -> String {
        format!(
            "Content-Type: auth/request\n\nContent-Length: {}\nContent-Type: text/event-plain\n\n{EVENT}",
            EVENT.len()
        )
    }

    #[test]
    fn messages_come_out_whole_however_the_bytes_are_cut() {
        let bytes = framed().into_bytes();
        for cut in 1..bytes.len() {
            let mut framer = Framer::default();
            let mut messages = Vec::new();
            for piece in bytes.chunks(cut) {
                framer.push(piece);
                while let Some(m) = framer.next_message().unwrap() {
                    messages.push(m);
                }
            }
            assert_eq!(messages.len(), 2, "pieces of {cut}");
            assert_eq!(messages[0].header("content-type"), Some("auth/request"));
            let event = event_headers(messages[1].body.as_deref().unwrap()).unwrap();
            assert_eq!(header(&event, "CC-Queue"), Some("12345@default"));
            assert_eq!(header(&event, "CC-Member-CID-Name"), Some("李"));
        }
    }

    #[test]
    fn nonsense_is_an_error_not_a_panic() {
        let mut framer = Framer::default();
        framer.push(b"no colon here\n\n");
        assert!(framer.next_message().is_err());
        let mut framer = Framer::default();
        framer.push(b"Content-Length: lots\n\n");
        assert!(framer.next_message().is_err());
        let mut framer = Framer::default();
        framer.push(&[0xff, b':', b' ', b'x', b'\n', b'\n']);
        assert!(framer.next_message().is_err());
    }
}
