//! modules.yaml: `modulemd` (v2) documents (name, stream, version, context, arch, artifact
//! NEVRAs) and `modulemd-defaults` documents (module → default stream). Streamed one document
//! at a time through saphyr's event parser; aliases are never expanded.

use std::cell::RefCell;
use std::io::{self, BufRead};
use std::rc::Rc;

use saphyr_parser::{Event, Parser};

use crate::report::{Package, PackageKind};
use crate::repos::RepoError;
use crate::repos::stream::read_error;

/// One module stream build a repository offers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ModuleStream {
    pub name: String,
    pub stream: String,
    pub version: u64,
    pub context: String,
    pub arch: String,
    /// `artifacts.rpms`, parsed from their NEVRAs (source packages included).
    pub artifacts: Vec<Package>,
}

#[derive(Debug, Default)]
pub(crate) struct ParsedModules {
    pub streams: Vec<ModuleStream>,
    pub defaults: Vec<(String, String)>,
}

/// Parses "name-[epoch:]version-release.arch" (also "epoch:name-version-release.arch", and a
/// trailing ".rpm"). Names may contain '-'.
pub(crate) fn parse_nevra(s: &str) -> Option<Package> {
    let s = s.trim();
    let s = s.strip_suffix(".rpm").unwrap_or(s);
    let (rest, arch) = s.rsplit_once('.')?;
    let (rest, release) = rest.rsplit_once('-')?;
    let (name, version) = rest.rsplit_once('-')?;
    let (epoch, version) = match version.split_once(':') {
        Some((e, v)) => (e.parse().ok()?, v),
        None => (0, version),
    };
    let (epoch, name) = match name.split_once(':') {
        Some((e, n)) if epoch == 0 => (e.parse().ok()?, n),
        Some(_) => return None,
        None => (epoch, name),
    };
    let ok = |p: &str| !p.is_empty() && !p.contains(|c: char| c.is_whitespace() || c == ':');
    (ok(name) && ok(version) && ok(release) && ok(arch) && !arch.contains('-')).then(|| Package {
        kind: PackageKind::Rpm,
        name: name.to_owned(),
        epoch,
        version: version.to_owned(),
        release: release.to_owned(),
        arch: arch.to_owned(),
    })
}

/// A YAML value, as much of it as we need.
#[derive(Debug)]
enum Node {
    Scalar(String),
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>),
    Null,
}

impl Node {
    fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    fn str(&self) -> Option<&str> {
        match self {
            Node::Scalar(s) => Some(s),
            _ => None,
        }
    }
}

enum Frame {
    Seq(Vec<Node>),
    Map(Vec<(String, Node)>, Option<String>),
}

const MAX_DEPTH: usize = 64;

pub(crate) fn parse_modules(url: &str, r: &mut dyn BufRead) -> Result<ParsedModules, RepoError> {
    let io_error = Rc::new(RefCell::new(None));
    let chars = Utf8Chars { r, error: io_error.clone() };
    let yaml_err = |reason: String| RepoError::Yaml { url: url.to_owned(), reason };
    let mut out = ParsedModules::default();
    let mut stack: Vec<Frame> = Vec::new();
    let mut root: Option<Node> = None;
    let mut doc = 0usize;
    for item in Parser::new_from_iter(chars) {
        if let Some(e) = io_error.borrow_mut().take() {
            return Err(read_error(url, &e));
        }
        let (event, _span) = item.map_err(|e| yaml_err(format!("document {}: {e}", doc.max(1))))?;
        let node = match event {
            Event::DocumentStart(_) => {
                doc += 1;
                stack.clear();
                root = None;
                continue;
            }
            Event::DocumentEnd | Event::StreamEnd => {
                if let Some(node) = root.take() {
                    extract(url, doc, &node, &mut out)?;
                }
                continue;
            }
            Event::SequenceStart(..) | Event::MappingStart(..) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(yaml_err(format!("document {doc}: nested deeper than {MAX_DEPTH}")));
                }
                stack.push(match event {
                    Event::SequenceStart(..) => Frame::Seq(Vec::new()),
                    _ => Frame::Map(Vec::new(), None),
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq(items)) => Node::Seq(items),
                Some(Frame::Map(entries, _)) => Node::Map(entries),
                None => return Err(yaml_err(format!("document {doc}: unbalanced collection"))),
            },
            Event::Scalar(value, ..) => Node::Scalar(value.into_owned()),
            Event::Alias(_) => Node::Null,
            Event::StreamStart | Event::Nothing => continue,
        };
        match stack.last_mut() {
            None => root = Some(node),
            Some(Frame::Seq(items)) => items.push(node),
            Some(Frame::Map(entries, key)) => match key.take() {
                None => *key = Some(node.str().unwrap_or_default().to_owned()),
                Some(k) => entries.push((k, node)),
            },
        }
    }
    if let Some(e) = io_error.borrow_mut().take() {
        return Err(read_error(url, &e));
    }
    Ok(out)
}

fn extract(url: &str, doc: usize, node: &Node, out: &mut ParsedModules) -> Result<(), RepoError> {
    let bad = |reason: String| RepoError::Yaml { url: url.to_owned(), reason: format!("document {doc}: {reason}") };
    let data = node.get("data");
    let field = |name: &str| data.and_then(|d| d.get(name)).and_then(Node::str).map(str::trim);
    match node.get("document").and_then(Node::str) {
        Some("modulemd") => {
            let name =
                field("name").filter(|s| !s.is_empty()).ok_or_else(|| bad("modulemd without data.name".into()))?;
            let stream =
                field("stream").filter(|s| !s.is_empty()).ok_or_else(|| bad(format!("module {name}: no stream")))?;
            let version = match field("version") {
                None => 0,
                Some(v) => v.parse().map_err(|_| bad(format!("module {name}: invalid version {v:?}")))?,
            };
            let rpms = data.and_then(|d| d.get("artifacts")).and_then(|a| a.get("rpms"));
            let mut artifacts = Vec::new();
            if let Some(Node::Seq(items)) = rpms {
                for item in items {
                    let nevra = item.str().ok_or_else(|| bad(format!("module {name}: artifact is not a string")))?;
                    let p =
                        parse_nevra(nevra).ok_or_else(|| bad(format!("module {name}: invalid artifact {nevra:?}")))?;
                    artifacts.push(p);
                }
            }
            out.streams.push(ModuleStream {
                name: name.to_owned(),
                stream: stream.to_owned(),
                version,
                context: field("context").unwrap_or_default().to_owned(),
                arch: field("arch").unwrap_or_default().to_owned(),
                artifacts,
            });
        }
        Some("modulemd-defaults") => {
            let module =
                field("module").filter(|s| !s.is_empty()).ok_or_else(|| bad("defaults without data.module".into()))?;
            if let Some(stream) = field("stream").filter(|s| !s.is_empty()) {
                out.defaults.push((module.to_owned(), stream.to_owned()));
            }
        }
        _ => {} // modulemd-obsoletes, modulemd-translations...
    }
    Ok(())
}

/// A stream's characters, decoded as UTF-8; an I/O or encoding error ends the iteration and is
/// left in `error`.
struct Utf8Chars<'a> {
    r: &'a mut dyn BufRead,
    error: Rc<RefCell<Option<io::Error>>>,
}

impl Iterator for Utf8Chars<'_> {
    type Item = char;

    fn next(&mut self) -> Option<char> {
        let mut bytes = [0u8; 4];
        let width = {
            let buf = match self.r.fill_buf() {
                Ok(b) => b,
                Err(e) => return self.fail(e),
            };
            let first = *buf.first()?;
            if first < 0x80 {
                self.r.consume(1);
                return Some(char::from(first));
            }
            let width = match first {
                0xC2..=0xDF => 2,
                0xE0..=0xEF => 3,
                0xF0..=0xF4 => 4,
                _ => 0,
            };
            if width == 0 {
                return self.fail(io::Error::new(io::ErrorKind::InvalidData, "invalid UTF-8"));
            }
            width
        };
        if let Err(e) = self.r.read_exact(&mut bytes[..width]) {
            return self.fail(e);
        }
        match std::str::from_utf8(&bytes[..width]).ok().and_then(|s| s.chars().next()) {
            Some(c) => Some(c),
            None => self.fail(io::Error::new(io::ErrorKind::InvalidData, "invalid UTF-8")),
        }
    }
}

impl Utf8Chars<'_> {
    fn fail(&mut self, e: io::Error) -> Option<char> {
        *self.error.borrow_mut() = Some(e);
        None
    }
}
