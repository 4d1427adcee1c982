//! A repository prepared for lookups: its packages by name, newest first; which module
//! streams each package belongs to; its errata by package name. Built once per repository
//! revision and shared by every host that uses the repository.

use std::cmp::Ordering;

use crate::hash::{FxHashMap, name_hash};
use crate::model::{Pkg, RepoData};

/// A repository with its lookup tables.
#[derive(Debug, Clone, Default)]
pub struct IndexedRepo {
    pub data: RepoData,
    /// Name hash → indices into `data.packages`, newest version first. Names whose hashes
    /// collide share a list; lookups filter by name.
    by_name: FxHashMap<u64, Vec<u32>>,
    /// Package id → indices into `data.modules` of the streams that contain it.
    streams_of: FxHashMap<i64, Vec<u32>>,
    /// Stream index → the package names it provides.
    stream_names: Vec<Vec<Box<str>>>,
    /// Package name → (erratum index, index into that erratum's fixed packages).
    errata_by_name: FxHashMap<Box<str>, Vec<(u32, u32)>>,
    /// Debian/Ubuntu versioned kernel images (`linux-image-<abi>-<flavour>`).
    kernel_images: Vec<u32>,
}

impl IndexedRepo {
    pub fn new(data: RepoData) -> Self {
        let mut by_name: FxHashMap<u64, Vec<u32>> = FxHashMap::default();
        let mut by_id: FxHashMap<i64, u32> = FxHashMap::default();
        for (i, p) in data.packages.iter().enumerate() {
            by_name.entry(name_hash(&p.name)).or_default().push(i as u32);
            by_id.insert(p.id, i as u32);
        }
        for list in by_name.values_mut() {
            // Newest first; equal versions (other arches) keep their order.
            list.sort_by(|a, b| data.packages[*b as usize].cmp_evr(&data.packages[*a as usize]));
        }
        let mut streams_of: FxHashMap<i64, Vec<u32>> = FxHashMap::default();
        let mut stream_names = Vec::with_capacity(data.modules.len());
        for (s, stream) in data.modules.iter().enumerate() {
            let mut names: Vec<Box<str>> = Vec::new();
            for id in &stream.artifacts {
                streams_of.entry(*id).or_default().push(s as u32);
                if let Some(&i) = by_id.get(id) {
                    names.push(data.packages[i as usize].name.clone());
                }
            }
            names.sort();
            names.dedup();
            stream_names.push(names);
        }
        let mut errata_by_name: FxHashMap<Box<str>, Vec<(u32, u32)>> = FxHashMap::default();
        for (e, erratum) in data.errata.iter().enumerate() {
            for (f, fixed) in erratum.fixed.iter().enumerate() {
                errata_by_name.entry(fixed.name.clone()).or_default().push((e as u32, f as u32));
            }
        }
        let kernel_images = (0..data.packages.len() as u32)
            .filter(|i| {
                crate::kernel::deb_kernel_parts(&data.packages[*i as usize].name).is_some_and(|k| k.0 == "linux-image-")
            })
            .collect();
        Self { data, by_name, streams_of, stream_names, errata_by_name, kernel_images }
    }

    /// Bytes this index takes in memory, roughly (packages, their lookup lists, errata and
    /// module streams), for caches' budgets.
    pub fn approx_bytes(&self) -> usize {
        let word = std::mem::size_of::<usize>();
        let packages: usize = self.data.packages.iter().map(Pkg::approx_bytes).sum();
        // A hash map entry: key, vector header, and ~one spare slot of load factor.
        let by_name = self.by_name.len() * (8 + 3 * word) * 2 + self.data.packages.len() * 4;
        let errata: usize = self
            .data
            .errata
            .iter()
            .map(|e| std::mem::size_of_val(e) + e.name.len() + e.fixed.iter().map(Pkg::approx_bytes).sum::<usize>())
            .sum();
        let errata_index =
            self.errata_by_name.iter().map(|(k, v)| k.len() + 2 * word + 3 * word + v.len() * 8).sum::<usize>();
        let streams: usize =
            self.data.modules.iter().map(|m| std::mem::size_of_val(m) + m.artifacts.len() * 8 + 64).sum();
        let stream_index = self.streams_of.len() * (8 + 3 * word) * 2
            + self
                .stream_names
                .iter()
                .map(|n| 3 * word + n.iter().map(|s| s.len() + 2 * word).sum::<usize>())
                .sum::<usize>();
        std::mem::size_of::<Self>() + packages + by_name + errata + errata_index + streams + stream_index
    }

    /// The packages named `name`, newest first.
    pub fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Pkg> + 'a {
        self.lookup(name_hash(name)).iter().map(|i| &self.data.packages[*i as usize]).filter(move |p| &*p.name == name)
    }

    /// Indices (for `pkg`) of the packages whose name hashes to `hash`, newest first: filter
    /// them by name (a collision puts two names in one list).
    pub fn lookup(&self, hash: u64) -> &[u32] {
        self.by_name.get(&hash).map_or(&[], Vec::as_slice)
    }

    pub fn pkg(&self, index: u32) -> &Pkg {
        &self.data.packages[index as usize]
    }

    /// The Debian/Ubuntu versioned kernel images this repository offers.
    pub fn kernel_images(&self) -> impl Iterator<Item = &Pkg> + '_ {
        self.kernel_images.iter().map(|i| &self.data.packages[*i as usize])
    }

    /// Whether this repository offers exactly this package.
    pub fn contains(&self, p: &Pkg) -> bool {
        self.named(&p.name).any(|q| q.id == p.id)
    }

    /// The (module, stream) pairs a package belongs to; empty for a non-modular package.
    pub fn streams_of(&self, id: i64) -> impl Iterator<Item = (&str, &str)> + '_ {
        self.streams_of.get(&id).into_iter().flatten().map(|s| {
            let m = &self.data.modules[*s as usize];
            (&*m.name, &*m.stream)
        })
    }

    /// Every (module, stream, provided names) this repository offers.
    pub fn streams(&self) -> impl Iterator<Item = (&str, &str, &[Box<str>])> + '_ {
        self.data.modules.iter().zip(&self.stream_names).map(|(m, names)| (&*m.name, &*m.stream, &names[..]))
    }

    /// Security errata of this repository fixing a package named like `p`'s with a version
    /// newer than `installed` and not newer than `candidate`.
    pub fn security_erratum(&self, installed: &Pkg, candidate: &Pkg) -> Option<&str> {
        self.errata_by_name.get(&*candidate.name)?.iter().find_map(|&(e, f)| {
            let erratum = &self.data.errata[e as usize];
            let fixed = &erratum.fixed[f as usize];
            let arch_fits = fixed.arch == candidate.arch || &*fixed.arch == "noarch";
            let in_range = fixed.kind == candidate.kind
                && fixed.cmp_evr(installed) == Ordering::Greater
                && fixed.cmp_evr(candidate) != Ordering::Greater;
            (erratum.security && arch_fits && in_range).then_some(&*erratum.name)
        })
    }
}
