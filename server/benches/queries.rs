//! Read-side benchmark: the questions the web UI asks, answered by the store over a fleet of
//! 10,000 hosts (the engine benchmark's world: ~1,200 packages per host over 20 OS
//! variants, updates computed by the server's updater). Prints the median and p99 server
//! time of the dashboard, a filtered host list, a host's detail, "which hosts have package
//! X", the package page, the updates list, the repository list and the package names.
//!
//! cargo bench -p patchman-server --bench queries -- [--hosts N] [--scale S] [--store sqlite|postgres://…] [--db FILE] [--api]
//!
//! `--api` then asks a real `patchman serve` on the same database over gRPC, as an integration
//! would (read token, client-side times): `ListHosts` with a filter, `ListPackageHosts` for a
//! common package, `ListHostUpdates` and `GetHost`.
//!
//! `--db FILE` keeps the SQLite fleet in FILE and reuses it on the next run; a PostgreSQL
//! database that already holds the fleet is reused too.

// Shared with the engine benchmark, which uses the in-memory half this one does not.
#[allow(dead_code)]
mod world;

use std::time::Instant;

use patchman_server::auth::TokenHash;
use patchman_server::query::{Clock, HostFilter, PackageFilter, PageRequest};
use patchman_server::store::{Credential, Enrollment};

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut hosts, mut scale, mut url, mut db) = (10_000usize, 1.2f64, "sqlite".to_owned(), None);
    let mut api = false;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--hosts" => hosts = args.next().and_then(|v| v.parse().ok()).expect("--hosts N"),
            "--scale" => scale = args.next().and_then(|v| v.parse().ok()).expect("--scale S"),
            "--store" => url = args.next().expect("--store URL"),
            "--db" => db = Some(args.next().expect("--db FILE")),
            "--api" => api = true,
            _ => {}
        }
    }
    let world = world::world(20, hosts, scale, 7, 0);
    let installed: usize = world.hosts.iter().map(|h| h.1.len()).sum();
    println!("world: {hosts} hosts, {installed} installed-package links");
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    rt.block_on(run(&world, &url, db, api));
}

async fn run(world: &world::World, url: &str, db: Option<String>, api: bool) {
    let dir = tempfile::tempdir().unwrap();
    let file = db.unwrap_or_else(|| dir.path().join("q.db").display().to_string());
    let url = if url == "sqlite" { format!("sqlite://{file}") } else { url.to_owned() };
    let store = patchman_server::store::connect(&url).await.expect("open the store");
    if store.host(&world::stored::hostname(world.hosts.len() - 1)).await.unwrap().is_none() {
        build(world, &store, &url).await;
    } else {
        println!("store {}: reusing the fleet already stored", url.split(':').next().unwrap());
    }
    let clock = Clock { now_ms: now(), silent_after_ms: 14 * 86_400_000 };
    let some_package = world.hosts[0].1[world.hosts[0].1.len() / 2].name.to_string();
    let names: Vec<String> = (0..200).map(|i| world::stored::hostname(i * 37 % world.hosts.len())).collect();
    if api {
        api_bench(&url, &some_package, &names).await;
        return;
    }

    measure("dashboard", 200, |_| {
        let store = store.clone();
        async move {
            store.dashboard(&clock).await.unwrap();
        }
    })
    .await;
    measure("host list, tag=web & has_security, sorted by security, page 2 of 100", 200, |_| {
        let store = store.clone();
        async move {
            let (f, s, p) = HostFilter::from_pairs([
                ("tag", "web"),
                ("has_security", "true"),
                ("sort", "-security"),
                ("page", "2"),
            ])
            .unwrap();
            store.host_list(&f, &s, p, &clock).await.unwrap();
        }
    })
    .await;
    measure("host detail", 200, |i| {
        let store = store.clone();
        let name = names[i].clone();
        async move {
            store.host(&name).await.unwrap().unwrap();
        }
    })
    .await;
    // Fewer rounds: on SQLite, which keeps no package → host index, this probes every host.
    measure(&format!("hosts having package {some_package} (first page and count)"), 10, |_| {
        let store = store.clone();
        let pkg = some_package.clone();
        async move {
            let f = HostFilter { package_name: Some(pkg), ..HostFilter::default() };
            store.host_list(&f, &Default::default(), PageRequest::default(), &clock).await.unwrap();
        }
    })
    .await;
    measure(&format!("package page for {some_package} (versions, host counts, repositories)"), 10, |_| {
        let store = store.clone();
        let pkg = some_package.clone();
        async move {
            store.package_versions(&pkg).await.unwrap();
        }
    })
    .await;
    measure("updates list, first page (every pair with its host count, security first)", 10, |_| {
        let store = store.clone();
        async move {
            store.update_list(&HostFilter::default(), None, PageRequest::default(), &clock).await.unwrap();
        }
    })
    .await;
    measure("updates list of tag=web hosts, first page", 10, |_| {
        let store = store.clone();
        async move {
            let f = HostFilter { tag: Some("web".into()), ..HostFilter::default() };
            store.update_list(&f, None, PageRequest::default(), &clock).await.unwrap();
        }
    })
    .await;
    measure("repository list (all, with package and host counts)", 50, |_| {
        let store = store.clone();
        async move {
            store.repo_list(&Default::default(), &clock).await.unwrap();
        }
    })
    .await;
    measure("package names containing \"lib\", first page", 50, |_| {
        let store = store.clone();
        async move {
            let f = PackageFilter { search: Some("lib".into()), ..PackageFilter::default() };
            store.package_names(&f, PageRequest::default()).await.unwrap();
        }
    })
    .await;
}

/// The query API of a real server on this database, over gRPC with a read token.
async fn api_bench(url: &str, package: &str, names: &[String]) {
    use patchman_proto as pb;
    let bin = std::path::Path::new(env!("CARGO_BIN_EXE_patchman"));
    let server = patchman_testkit::server::Server::start_with(bin, tempfile::tempdir().unwrap(), url.to_owned(), &[]);
    let token = server.admin(&["token", "create", "--name", &format!("bench-{}", now()), "--role", "read"]);
    let bearer: tonic::metadata::MetadataValue<_> = format!("Bearer {}", token.trim()).parse().unwrap();
    let channel = tonic::transport::Endpoint::from_shared(server.url()).unwrap().connect().await.unwrap();
    let client = pb::query_service_client::QueryServiceClient::new(channel);
    fn call<T>(bearer: &tonic::metadata::MetadataValue<tonic::metadata::Ascii>, message: T) -> tonic::Request<T> {
        let mut req = tonic::Request::new(message);
        req.metadata_mut().insert("authorization", bearer.clone());
        req
    }
    println!("api: patchman serve on {} ({})", server.addr, url.split(':').next().unwrap());
    // The world's repositories carry no security flag: its updates are bugfix updates.
    measure("ListHosts, filter tag=web&has_bugfix=true, order -bugfix, 50 per page", 500, |_| {
        let mut q = client.clone();
        let req = call(
            &bearer,
            pb::ListHostsRequest {
                filter: "tag=web&has_bugfix=true".into(),
                order_by: "-bugfix".into(),
                page_size: 50,
                page_token: String::new(),
            },
        );
        async move {
            assert!(!q.list_hosts(req).await.unwrap().into_inner().hosts.is_empty());
        }
    })
    .await;
    measure(&format!("ListPackageHosts {package}, 50 per page"), 500, |_| {
        let mut q = client.clone();
        let req = call(
            &bearer,
            pb::ListPackageHostsRequest { name: package.to_owned(), page_size: 50, ..Default::default() },
        );
        async move {
            assert!(!q.list_package_hosts(req).await.unwrap().into_inner().hosts.is_empty());
        }
    })
    .await;
    measure("ListHostUpdates", 500, |i| {
        let mut q = client.clone();
        let req = call(&bearer, pb::ListHostUpdatesRequest { hostname: names[i % names.len()].clone() });
        async move {
            q.list_host_updates(req).await.unwrap();
        }
    })
    .await;
    measure("GetHost", 500, |i| {
        let mut q = client.clone();
        let req = call(&bearer, pb::GetHostRequest { hostname: names[i % names.len()].clone() });
        async move {
            q.get_host(req).await.unwrap();
        }
    })
    .await;
}

/// Enrolls and ingests the fleet, stores the repositories' contents and computes updates.
async fn build(world: &world::World, store: &std::sync::Arc<dyn patchman_server::store::Store>, url: &str) {
    let t = Instant::now();
    for h in 0..world.hosts.len() {
        let name = world::stored::hostname(h);
        let token = TokenHash::of(&name);
        store.enroll(&Enrollment { hostname: &name, machine_id: "", token_hash: &token, now_ms: 1 }).await.unwrap();
        let mut report = world::stored::report(world, h);
        report.tags = vec![if h % 3 == 0 { "web".into() } else { "db".into() }];
        store.ingest(&Credential::Host(token), patchman_server::ingest::prepare(report), now()).await.unwrap().unwrap();
    }
    for r in &store.repos().await.unwrap() {
        let url = &r.mirrors[0].url;
        let (v, n) = (0..world.variants.len())
            .flat_map(|v| (0..3).map(move |n| (v, n)))
            .find(|(v, n)| world::stored::repo_url(*v, *n) == *url)
            .expect("a repository of the world");
        store.replace_repo_contents(r.id, &world::stored::contents(world, v, n), now()).await.unwrap();
    }
    let stats = patchman_server::updates::Updater::new(store.clone()).recompute_all().await.unwrap();
    println!(
        "store {}: fleet stored and {} updates computed in {:.1} s",
        url.split(':').next().unwrap(),
        stats.updates,
        t.elapsed().as_secs_f64()
    );
    if url.starts_with("postgres") {
        // What autovacuum does on a live server: planner statistics for the bulk-loaded tables.
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query("ANALYZE").execute(&pool).await.unwrap();
    }
}

async fn measure<F, Fut>(what: &str, n: usize, mut f: F)
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    f(0).await; // warm
    let mut ms = Vec::with_capacity(n);
    for i in 0..n {
        let t = Instant::now();
        f(i).await;
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    ms.sort_by(f64::total_cmp);
    println!("{what}: median {:.2} ms, p99 {:.2} ms", ms[n / 2], ms[n * 99 / 100]);
}

fn now() -> i64 {
    patchman_server::clock::now_ms()
}
