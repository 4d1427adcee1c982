//! A `multipart/form-data` body as `curl -F name=value` (and `-F name=<file`) makes it: the
//! shape Patchman's `patchman-client` uploads.

/// The boundary of `body`, as curl makes them.
pub const BOUNDARY: &str = "------------------------6735de1a64c6439f86c8b10b";

/// The `Content-Type` of `body`.
pub fn content_type() -> String {
    format!("multipart/form-data; boundary={BOUNDARY}")
}

/// The fields in order, each value as sent.
pub fn body<N: AsRef<str>, V: AsRef<str>>(fields: &[(N, V)]) -> Vec<u8> {
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"{}\"\r\n\r\n", name.as_ref()).as_bytes(),
        );
        body.extend_from_slice(value.as_ref().as_bytes());
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{BOUNDARY}--\r\n").as_bytes());
    body
}
