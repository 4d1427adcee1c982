//! The metadata parsers, for `crate::fuzzing` (they are private to this module otherwise).
#![doc(hidden)]

const URL: &str = "http://fuzz.invalid/repo";

pub fn apt_release(text: &str) {
    if let Ok(signed) = super::keyring::unverified_text(URL, text) {
        let _ = super::apt::parse_release(URL, &signed);
    }
    let _ = super::apt::parse_release(URL, text);
    let _ = super::date::parse_rfc2822_ms(text);
    let _ = super::date::parse_yum_date_ms(text);
}

pub fn apt_packages(data: &[u8]) {
    let _ = super::apt::parse_packages(URL, &mut &data[..]);
}

pub fn repomd(data: &[u8]) {
    let _ = super::yum::parse_repomd(URL, data);
}

pub fn primary(data: &[u8]) {
    let _ = super::yum::parse_primary(URL, &mut &data[..]);
}

pub fn updateinfo(data: &[u8]) {
    let _ = super::yum::parse_updateinfo(URL, &mut &data[..]);
}

pub fn modules(data: &[u8]) {
    let _ = super::yum::parse_modules(URL, &mut &data[..]);
}

pub fn mirrorlist(data: &[u8]) {
    let _ = super::mirrorlist::parse_mirrorlist(&String::from_utf8_lossy(data), 50);
    let _ = super::mirrorlist::parse_metalink(URL, data, 50);
}
