//! Streaming XML shared by the yum parsers: quick-xml events, with DOCTYPE refused (so no
//! entity can be declared, hence no "billion laughs"), only the predefined entities resolved,
//! and I/O errors classified (size limit, broken download, bad compression).

use std::io::BufRead;

use quick_xml::Reader;
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesRef, BytesStart, Event};

use crate::repos::RepoError;
use crate::repos::stream::read_error;

pub(crate) struct XmlReader<'u, R> {
    pub url: &'u str,
    reader: Reader<R>,
    pub buf: Vec<u8>,
}

impl<'u, R: BufRead> XmlReader<'u, R> {
    pub fn new(url: &'u str, r: R) -> Self {
        let mut reader = Reader::from_reader(r);
        reader.config_mut().check_end_names = true;
        Self { url, reader, buf: Vec::with_capacity(4096) }
    }

    /// The next event; a DOCTYPE is an error. Borrowing the internal buffer.
    pub fn next(&mut self) -> Result<Event<'_>, RepoError> {
        self.buf.clear();
        match self.reader.read_event_into(&mut self.buf) {
            Ok(Event::DocType(_)) => {
                Err(RepoError::Xml { url: self.url.to_owned(), reason: "DOCTYPE declarations are not allowed".into() })
            }
            Ok(ev) => Ok(ev),
            Err(quick_xml::Error::Io(e)) => Err(read_error(self.url, &e)),
            Err(e) => {
                let pos = self.reader.buffer_position();
                Err(RepoError::Xml { url: self.url.to_owned(), reason: format!("at byte {pos}: {e}") })
            }
        }
    }
}

pub(crate) fn xml_err(url: &str, reason: impl Into<String>) -> RepoError {
    RepoError::Xml { url: url.to_owned(), reason: reason.into() }
}

/// An attribute's value with predefined entities and character references resolved.
pub(crate) fn attr(url: &str, e: &BytesStart<'_>, name: &str) -> Result<Option<String>, RepoError> {
    let bad = |reason: String| RepoError::Xml { url: url.to_owned(), reason };
    let Some(a) = e.try_get_attribute(name).map_err(|err| bad(err.to_string()))? else {
        return Ok(None);
    };
    let v = a
        .normalized_value(quick_xml::XmlVersion::Implicit1_0)
        .map_err(|err| bad(format!("attribute {name}: {err}")))?;
    Ok(Some(v.into_owned()))
}

/// The element's local name ("rpm:entry" → "entry").
pub(crate) fn local(e: &BytesStart<'_>) -> String {
    e.local_name().as_ref().to_owned()
}

/// Appends an entity reference's replacement text; only XML's five entities and character
/// references exist here.
pub(crate) fn push_ref(url: &str, r: &BytesRef<'_>, out: &mut String) -> Result<(), RepoError> {
    let bad = |reason: String| RepoError::Xml { url: url.to_owned(), reason };
    if let Some(ch) = r.resolve_char_ref().map_err(|e| bad(e.to_string()))? {
        out.push(ch);
        return Ok(());
    }
    let name = r.xml10_content();
    match resolve_predefined_entity(&name) {
        Some(text) => {
            out.push_str(text);
            Ok(())
        }
        None => Err(bad(format!("undefined entity &{name};"))),
    }
}

/// Collects an element's text content (text, CDATA and entity references).
pub(crate) fn push_text(url: &str, ev: &Event<'_>, out: &mut String) -> Result<(), RepoError> {
    match ev {
        Event::Text(t) => out.push_str(&t.xml10_content()),
        Event::CData(c) => out.push_str(c),
        Event::GeneralRef(r) => push_ref(url, r, out)?,
        _ => {}
    }
    Ok(())
}
