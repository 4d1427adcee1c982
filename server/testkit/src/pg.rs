//! A fresh PostgreSQL database per test, on the server `PATCHMAN_TEST_PG_URL` names (`.ci/test`
//! starts a throwaway cluster and sets it). Without it the test fails: it never skips.

use std::process::Command;

use crate::{require_tool, run};

/// The admin URL of the test cluster.
pub fn admin_url() -> String {
    std::env::var("PATCHMAN_TEST_PG_URL").unwrap_or_else(|_| {
        panic!(
            "PATCHMAN_TEST_PG_URL is not set: run the tests with `bash .ci/test`, which starts a throwaway \
             PostgreSQL, or point it at a server you may create databases on"
        )
    })
}

/// Creates an empty database and returns its URL.
pub fn fresh_database(label: &str) -> String {
    require_tool("psql");
    let admin = admin_url();
    let mut bytes = [0u8; 6];
    let entropy = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let seed = entropy.as_nanos() ^ (u128::from(std::process::id()) << 64);
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = (seed >> (i * 8)) as u8 ^ (seed >> (i * 8 + 48)) as u8;
    }
    let suffix: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let label: String = label.chars().filter(|c| c.is_ascii_alphanumeric()).take(20).collect::<String>().to_lowercase();
    let name = format!("pm_{label}_{suffix}");
    run(Command::new("psql").arg(&admin).args(["-v", "ON_ERROR_STOP=1", "-qc"]).arg(format!("CREATE DATABASE {name}")));
    with_database(&admin, &name)
}

/// `url` with its database name replaced.
pub fn with_database(url: &str, name: &str) -> String {
    let (base, query) = url.split_once('?').map_or((url, None), |(b, q)| (b, Some(q)));
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let path_start = base[scheme_end..].find('/').map_or(base.len(), |i| scheme_end + i);
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// Runs one SQL statement with psql and returns its rows, one line each, columns separated
/// by `|`.
pub fn query(url: &str, sql: &str) -> Vec<String> {
    let out = run(Command::new("psql").arg(url).args(["-v", "ON_ERROR_STOP=1", "-AtXqc"]).arg(sql));
    String::from_utf8_lossy(&out.stdout).lines().map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_names_are_swapped() {
        assert_eq!(super::with_database("postgres://u@h:5/postgres", "x"), "postgres://u@h:5/x");
        assert_eq!(super::with_database("postgres://u@h:5", "x"), "postgres://u@h:5/x");
        assert_eq!(super::with_database("postgres://h/db?sslmode=disable", "x"), "postgres://h/x?sslmode=disable");
    }
}
