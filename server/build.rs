//! Embeds the SQL migrations of both dialects (`../migrations/{sqlite,postgres}/NNNN_name.sql`).

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    // Read at run time: a build script reused from another checkout must not look in that one.
    let manifest = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let root = Path::new(&manifest).join("../migrations");
    let mut out = String::new();
    for dialect in ["sqlite", "postgres"] {
        let dir = root.join(dialect);
        println!("cargo:rerun-if-changed={}", dir.display());
        let entries = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
        let mut files: Vec<_> = entries.map(|e| e.expect("a readable migrations directory").path()).collect();
        files.retain(|p| p.extension().is_some_and(|e| e == "sql"));
        files.sort();
        assert!(!files.is_empty(), "no migrations in {}", dir.display());
        writeln!(out, "pub const {}: &[(i64, &str, &str)] = &[", dialect.to_uppercase()).unwrap();
        for path in files {
            let stem = path.file_stem().and_then(|s| s.to_str()).expect("migration file names are UTF-8");
            let (version, description) = stem.split_once('_').expect("migrations are named NNNN_description.sql");
            let version: i64 = version.parse().expect("a migration name starts with its version number");
            println!("cargo:rerun-if-changed={}", path.display());
            writeln!(out, "    ({version}, {description:?}, include_str!({:?})),", path.canonicalize().unwrap())
                .unwrap();
        }
        writeln!(out, "];").unwrap();
    }
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap()).join("migrations.rs");
    std::fs::write(dest, out).unwrap();
}
