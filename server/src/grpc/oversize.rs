//! tonic refuses a message over the size limit itself, with OUT_OF_RANGE, before the service
//! sees it. Hosts get what every other bad report gets instead: INVALID_ARGUMENT, naming
//! what is wrong and the limit (`max_message_bytes`).

use axum::http::HeaderValue;
use axum::response::Response;

/// Rewrites tonic's "message too large" status (sent as trailers-only headers).
pub async fn as_invalid_argument(mut response: Response) -> Response {
    let headers = response.headers_mut();
    if headers.get("grpc-status").is_none_or(|s| s != "11") {
        return response;
    }
    let Some(message) = headers.get("grpc-message").and_then(|m| m.to_str().ok()).map(percent_decode) else {
        return response;
    };
    if !message.contains("message length too large") {
        return response;
    }
    let numbers: Vec<&str> = message.split(|c: char| !c.is_ascii_digit()).filter(|n| !n.is_empty()).collect();
    let text = match numbers[..] {
        [found, limit] => {
            format!("report: the message is {found} bytes, more than the limit of {limit} bytes (max_message_bytes)")
        }
        _ => "report: the message is more than the limit of max_message_bytes".to_owned(),
    };
    headers.insert("grpc-status", HeaderValue::from_static("3"));
    if let Ok(value) = HeaderValue::from_str(&text) {
        headers.insert("grpc-message", value);
    }
    response
}

/// gRPC's percent-encoding of `grpc-message` undone.
fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn percent_decoding() {
        assert_eq!(super::percent_decode("found%2020%20bytes%2x%"), "found 20 bytes%2x%");
    }
}
