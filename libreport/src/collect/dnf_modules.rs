//! Enabled dnf module streams, from /etc/dnf/modules.d/*.module.

use std::path::Path;

use crate::collect::ini::parse_ini;
use crate::collect::{CollectResult, file_name, files_in, read_optional, under};
use crate::model::ModuleStream;

/// The module streams whose `state` is `enabled` and that name a stream, sorted by name.
pub fn read_dnf_modules(root: &Path) -> CollectResult<Vec<ModuleStream>> {
    let mut modules = Vec::new();
    for path in files_in(&under(root, "/etc/dnf/modules.d"))? {
        if file_name(&path).ends_with(".module") {
            modules.extend(parse_module_file(&read_optional(&path)?.unwrap_or_default()));
        }
    }
    modules.sort_by(|a, b| (&a.name, &a.stream).cmp(&(&b.name, &b.stream)));
    modules.dedup();
    Ok(modules)
}

/// Parses one `.module` file: `[name]` sections with `name=`, `stream=`, `profiles=`
/// (comma-separated) and `state=`.
pub fn parse_module_file(text: &str) -> Vec<ModuleStream> {
    parse_ini(text)
        .into_iter()
        .filter(|s| s.get("state").is_some_and(|st| st.trim().eq_ignore_ascii_case("enabled")))
        .filter_map(|s| {
            let stream = s.get("stream").unwrap_or("").trim();
            if stream.is_empty() {
                return None;
            }
            let name = s.get("name").map(str::trim).filter(|n| !n.is_empty()).unwrap_or(&s.name);
            let profiles = s.get("profiles").unwrap_or("");
            Some(ModuleStream {
                name: name.to_owned(),
                stream: stream.to_owned(),
                profiles: profiles
                    .split([',', '\n'])
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(str::to_owned)
                    .collect(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_enabled_streams_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("etc/dnf/modules.d");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("nodejs.module"),
            "[nodejs]\nname=nodejs\nstream=20\nprofiles=common, development\nstate=enabled\n",
        )
        .unwrap();
        std::fs::write(d.join("php.module"), "[php]\nname=php\nstream=8.2\nprofiles=\nstate=enabled\n").unwrap();
        std::fs::write(d.join("perl.module"), "[perl]\nname=perl\nstream=5.32\nprofiles=\nstate=disabled\n").unwrap();
        std::fs::write(d.join("nginx.module"), "[nginx]\nname=nginx\nstream=\nprofiles=\nstate=enabled\n").unwrap();
        std::fs::write(
            d.join("postgresql.module"),
            "[postgresql]\nstream=16\nstate=enabled\n[ruby]\nname=ruby\nstream=3.1\nstate=\n",
        )
        .unwrap();
        std::fs::write(d.join("notes.txt"), "[x]\nname=x\nstream=1\nstate=enabled\n").unwrap();
        let got = read_dnf_modules(dir.path()).unwrap();
        let want = vec![
            ModuleStream {
                name: "nodejs".into(),
                stream: "20".into(),
                profiles: vec!["common".into(), "development".into()],
            },
            ModuleStream { name: "php".into(), stream: "8.2".into(), profiles: vec![] },
            ModuleStream { name: "postgresql".into(), stream: "16".into(), profiles: vec![] },
        ];
        assert_eq!(got, want);
        assert!(read_dnf_modules(&dir.path().join("nowhere")).unwrap().is_empty());
    }
}
