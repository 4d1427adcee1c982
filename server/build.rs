//! Embeds the SQL migrations of both dialects (`../migrations/{sqlite,postgres}/NNNN_name.sql`).

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations");
    let mut out = String::new();
    for dialect in ["sqlite", "postgres"] {
        let dir = root.join(dialect);
        println!("cargo:rerun-if-changed={}", dir.display());
        let mut files: Vec<_> =
            std::fs::read_dir(&dir).map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.path()).collect()).unwrap_or_default();
        files.retain(|p| p.extension().is_some_and(|e| e == "sql"));
        files.sort();
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
