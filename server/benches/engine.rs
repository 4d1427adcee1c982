//! Update-engine benchmark: 10,000 hosts of ~1,000 packages over 20 OS variants whose
//! repositories hold ~150,000 packages. Prints the time to index the repositories, to
//! evaluate every host (all cores), per host, and the memory used.
//!
//! cargo bench -p patchman-server --bench engine -- [--hosts N] [--variants V] [--scale S]
//!     [--images N] [--store sqlite|postgres://…]
//!
//! `--images N`: most hosts are built from N images (exact copies or a few packages apart),
//! as cloud fleets are; the rest are unique.
//!
//! With `--store`, the same world is also stored (hosts ingested, repositories filled) and
//! the server's updater recomputes it from the database, in a child process whose peak memory
//! is the server's own: all hosts, then single hosts, then a security pocket's day.
//! The child alone reruns on a kept database: `ENGINE --recompute-from sqlite:///PATH --hosts N`
//! (ENGINE: the executable `cargo bench --bench engine --no-run` names; with `--refresh-only`,
//! only the security pocket's day); with `PATCHMAN_BENCH_LOG=sqlx::query=debug` it logs every
//! statement and its time as JSON lines on stderr.

mod world;

use std::time::Instant;

use patchman_engine::{evaluate, evaluate_with};

fn rss_mb() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
    };
    kb("VmHWM:").unwrap_or(0) / 1024
}

/// This process's CPU time so far (user and system, all threads).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // After the command's closing parenthesis: utime and stime are fields 14 and 15.
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let ticks: u64 = rest.split_whitespace().skip(11).take(2).filter_map(|v| v.parse::<u64>().ok()).sum();
    ticks as f64 / 100.0
}

/// The server's allocator (`src/main.rs`): the store and the updater run in this process.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut hosts, mut variants, mut scale, mut store, mut images) = (10_000usize, 20usize, 1.0f64, None, 0usize);
    let mut recompute_from: Option<String> = None;
    let mut refresh_only = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--hosts" => hosts = args.next().and_then(|v| v.parse().ok()).expect("--hosts N"),
            "--variants" => variants = args.next().and_then(|v| v.parse().ok()).expect("--variants V"),
            "--scale" => scale = args.next().and_then(|v| v.parse().ok()).expect("--scale S"),
            "--store" => store = args.next(),
            "--images" => images = args.next().and_then(|v| v.parse().ok()).expect("--images N"),
            "--recompute-from" => recompute_from = args.next(),
            "--refresh-only" => refresh_only = true,
            _ => {}
        }
    }
    if let Some(url) = recompute_from {
        // `PATCHMAN_BENCH_LOG=sqlx::query=debug` logs every statement with its time, as JSON
        // lines on stderr, to see where a phase's time goes.
        if let Ok(filter) = std::env::var("PATCHMAN_BENCH_LOG") {
            let filter: tracing_subscriber::filter::Targets = filter.parse().expect("PATCHMAN_BENCH_LOG: a log filter");
            use tracing_subscriber::prelude::*;
            let fmt = tracing_subscriber::fmt::layer().json().with_writer(std::io::stderr);
            tracing_subscriber::registry().with(filter).with(fmt).init();
        }
        // The child of a `--store` run: the repositories are the same world's; its hosts are stored.
        let world = world::world(variants, 0, scale, 7, images);
        tokio::runtime::Runtime::new().unwrap().block_on(recompute_stored(world, hosts, &url, refresh_only));
        return;
    }
    let t = Instant::now();
    let world = world::world(variants, hosts, scale, 7, images);
    let installed: usize = world.hosts.iter().map(|h| h.1.len()).sum();
    println!(
        "world: {} hosts ({} installed packages), {} variants, {} repository packages; built in {:.1} s, peak RSS {} MB",
        hosts,
        installed,
        variants,
        world.package_count(),
        t.elapsed().as_secs_f64(),
        rss_mb()
    );

    let t = Instant::now();
    let indexes = world.index();
    println!("index: {:.2} s, peak RSS {} MB", t.elapsed().as_secs_f64(), rss_mb());

    let inputs: Vec<_> = (0..hosts).map(|h| (world.hosts[h].0, world.input(h))).collect();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let t = Instant::now();
    let chunk = inputs.len().div_ceil(threads);
    let (updates, security) = std::thread::scope(|s| {
        let handles: Vec<_> = inputs
            .chunks(chunk)
            .map(|part| {
                let indexes = &indexes;
                s.spawn(move || {
                    part.iter().fold((0usize, 0usize), |(u, sec), (v, input)| {
                        let verdict = evaluate(input, &indexes[*v]);
                        (u + verdict.updates.len(), sec + verdict.updates.iter().filter(|x| x.security).count())
                    })
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1))
    });
    let all = t.elapsed();
    println!(
        "evaluate all: {hosts} hosts in {:.2} s on {threads} threads ({:.0} hosts/s); {updates} updates ({security} security)",
        all.as_secs_f64(),
        hosts as f64 / all.as_secs_f64()
    );
    // The same, each thread remembering installed packages' outcomes per context, as the
    // server's updater does.
    let t = Instant::now();
    let remembered: usize = std::thread::scope(|s| {
        let handles: Vec<_> = inputs
            .chunks(chunk)
            .map(|part| {
                let indexes = &indexes;
                s.spawn(move || {
                    let mut memo = patchman_engine::PackageMemo::new(1 << 20);
                    part.iter()
                        .map(|(v, input)| evaluate_with(input, &indexes[*v], &mut memo).updates.len())
                        .sum::<usize>()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(remembered, updates, "remembered outcomes give the same updates");
    let all = t.elapsed();
    println!(
        "evaluate all, remembering package outcomes: {:.2} s ({:.0} hosts/s)",
        all.as_secs_f64(),
        hosts as f64 / all.as_secs_f64()
    );
    let mut one: Vec<f64> = inputs
        .iter()
        .take(200)
        .map(|(v, input)| {
            let t = Instant::now();
            std::hint::black_box(evaluate(input, &indexes[*v]));
            t.elapsed().as_secs_f64() * 1e3
        })
        .collect();
    one.sort_by(f64::total_cmp);
    println!("evaluate one host: median {:.2} ms, p99 {:.2} ms", one[one.len() / 2], one[one.len() * 99 / 100]);
    println!("peak RSS: {} MB", rss_mb());
    drop(indexes);
    if let Some(url) = store {
        drop(inputs);
        tokio::runtime::Runtime::new().unwrap().block_on(stored(world, &url));
    }
}

/// The same world through the store and the server's updater. Once stored, the
/// recomputations run in a child process (this program with `--recompute-from`), so that its
/// peak memory is the server's own: the store, the updater and its caches.
async fn stored(world: world::World, url: &str) {
    use patchman_server::auth::TokenHash;
    use patchman_server::store::Credential;
    use patchman_server::store::Enrollment;
    let dir = tempfile::tempdir().unwrap();
    let url =
        if url == "sqlite" { format!("sqlite://{}", dir.path().join("engine.db").display()) } else { url.to_owned() };
    let store = patchman_server::store::connect(&url).await.expect("open the store");
    let t = Instant::now();
    for h in 0..world.hosts.len() {
        let name = world::stored::hostname(h);
        let token = TokenHash::of(&name);
        store.enroll(&Enrollment { hostname: &name, machine_id: "", token_hash: &token, now_ms: 1 }).await.unwrap();
        let report = patchman_server::ingest::prepare(world::stored::report(&world, h));
        store.ingest(&Credential::Host(token), report, 2).await.unwrap().unwrap();
    }
    let repos = store.repos().await.unwrap();
    for r in &repos {
        let url = &r.mirrors[0].url;
        let (v, n) = (0..world.variants.len())
            .flat_map(|v| (0..3).map(move |n| (v, n)))
            .find(|(v, n)| world::stored::repo_url(*v, *n) == *url)
            .expect("a repository of the world");
        store.replace_repo_contents(r.id, &world::stored::contents(&world, v, n), 3).await.unwrap();
    }
    println!(
        "store {}: {} hosts and {} repositories stored in {:.1} s",
        url.split(':').next().unwrap(),
        world.hosts.len(),
        repos.len(),
        t.elapsed().as_secs_f64()
    );

    let args = std::env::args().collect::<Vec<_>>();
    let pick = |key: &str| args.iter().position(|a| a == key).and_then(|i| args.get(i + 1)).cloned();
    let mut child = std::process::Command::new(std::env::current_exe().unwrap());
    child.args(["--recompute-from", &url, "--hosts", &world.hosts.len().to_string()]);
    for key in ["--variants", "--scale"] {
        if let Some(v) = pick(key) {
            child.args([key, &v]);
        }
    }
    drop(world);
    drop(store);
    let status = child.status().expect("run the recomputation");
    assert!(status.success(), "the recomputation failed: {status}");
}

/// Recomputes a stored world (`--recompute-from URL`): every host twice, single hosts, and a
/// security pocket's day, with this process's peak memory.
async fn recompute_stored(world: world::World, host_count: usize, url: &str, refresh_only: bool) {
    let store = patchman_server::store::connect(url).await.expect("open the store");
    let repos = store.repos().await.unwrap();
    let budget = patchman_server::updates::DEFAULT_CACHE_BYTES;
    let updater = patchman_server::updates::Updater::build(store.clone(), None, budget);
    println!("recomputing process: peak RSS {} MB before (updater cache budget {} MB)", rss_mb(), budget >> 20);
    if refresh_only {
        security_refresh(&world, host_count, &*store, &updater, &repos).await;
        return;
    }
    for round in ["cold caches", "warm caches"] {
        let t = Instant::now();
        let stats = updater.recompute_all().await.unwrap();
        let (repos_bytes, package_bytes) = updater.cache_bytes();
        println!(
            "recompute all ({round}): {} hosts ({} engine runs), {} updates, {} verdicts written ({} changed: \
             {} update rows added, {} removed) in {:.2} s; peak RSS {} MB (caches: indexes {} MB, packages {} MB)",
            stats.hosts,
            stats.evaluated,
            stats.updates,
            stats.saved,
            stats.hosts_changed,
            stats.updates_added,
            stats.updates_removed,
            t.elapsed().as_secs_f64(),
            rss_mb(),
            repos_bytes >> 20,
            package_bytes >> 20
        );
    }
    let mut one = Vec::new();
    for h in (0..host_count).step_by((host_count / 300).max(1)) {
        let id = store.host_id(&world::stored::hostname(h)).await.unwrap().unwrap();
        store.mark_stale(Some(&[id])).await.unwrap();
        let t = Instant::now();
        updater.recompute(&[id]).await.unwrap();
        one.push(t.elapsed().as_secs_f64() * 1e3);
    }
    one.sort_by(f64::total_cmp);
    println!(
        "recompute one host (load, evaluate, save): median {:.2} ms, p99 {:.2} ms",
        one[one.len() / 2],
        one[one.len() * 99 / 100]
    );
    security_refresh(&world, host_count, &*store, &updater, &repos).await;
    println!("recomputing process: peak RSS {} MB", rss_mb());
}

/// A security pocket's day: in every variant, its last repository gains a newer version of
/// five packages. Only hosts with one of those names are
/// recomputed; the time runs from the first repository change to the last verdict saved.
async fn security_refresh(
    world: &world::World,
    host_count: usize,
    store: &dyn patchman_server::store::Store,
    updater: &patchman_server::updates::Updater,
    repos: &[patchman_server::store::views::RepoView],
) {
    // A version new in every run, so that a database kept with `--store sqlite://PATH` can be
    // refreshed again by running this process once more.
    let run = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (t, cpu) = (Instant::now(), cpu_seconds());
    let mut names = 0;
    for (v, variant) in world.variants.iter().enumerate() {
        let r = variant.repos.len() - 1;
        let url = world::stored::repo_url(v, r);
        let Some(repo) = repos.iter().find(|x| x.mirrors[0].url == url) else { continue };
        let mut contents = world::stored::contents(world, v, r);
        // Five names spread over the variant's base repository: each installed on the few
        // hosts that picked it (a name every host has would mark them all, as it should).
        let base = &variant.repos[0].packages;
        for p in (1..=5).map(|k| &base[k * base.len() / 6]) {
            let mut fixed = world::stored::package(p);
            fixed.version = format!("{}.9999.{run}", fixed.version);
            contents.packages.push(fixed);
            names += 1;
        }
        store.replace_repo_contents(repo.id, &contents, 4).await.unwrap();
    }
    let applied = t.elapsed().as_secs_f64();
    let whole = store.stale_hosts(0, i64::MAX).await.unwrap().len();
    let by_name = store.stale_name_hosts(0, i64::MAX).await.unwrap().len();
    let stats = updater.recompute_stale().await.unwrap();
    println!(
        "security refresh ({names} packages in {} repositories): {} of {} hosts marked ({whole} whole, {by_name} for some names), \
         {} verdicts saved in {:.2} s, {:.2} s of CPU (contents applied and hosts marked in {applied:.2} s)",
        world.variants.len(),
        whole + by_name,
        host_count,
        stats.saved,
        t.elapsed().as_secs_f64(),
        cpu_seconds() - cpu
    );
}
