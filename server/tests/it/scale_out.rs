//! Scale-out: two `patchman serve` processes on one PostgreSQL database take 2,000 reports
//! of 500 hosts, one of them is killed with SIGKILL half way and restarted. Every
//! acknowledged report is stored once, every host ends with its last report's packages, and
//! every due job (refresh of the hosts' repository on loopback, recomputation, pruning, and
//! a test probe) ran once (a job held by the killed server is taken over).

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use patchman_proto as pb;
use patchman_testkit::pg;
use patchman_testkit::server::{ENROLLMENT_KEY, Server};
use pb::report_service_client::ReportServiceClient;
use tonic::transport::{Channel, Endpoint};

use crate::repo_support::{AptRepo, HELLO};
use crate::support::{good_report, package};
use patchman_testkit::http::FileServer;

const HOSTS: usize = 500;
const PER_HOST: usize = 4;

fn start(url: &str) -> Server {
    let env = [
        ("PATCHMAN_REFRESH_INTERVAL_SECONDS", "2"),
        ("PATCHMAN_REPOS__NEW_REPO_INTERVAL_SECONDS", "2"),
        ("PATCHMAN_JOB_LEASE_SECONDS", "3"),
        ("PATCHMAN_PROBE_INTERVAL_MS", "1000"),
        ("PATCHMAN_PROBE_DURATION_MS", "1500"),
        ("PATCHMAN_PRUNE_INTERVAL_SECONDS", "2"),
        ("PATCHMAN_RECOMPUTE_INTERVAL_SECONDS", "2"),
        ("PATCHMAN_JOBS__SILENCE_INTERVAL_SECONDS", "2"),
        ("PATCHMAN_LOG", "error"),
    ];
    Server::start_with(Path::new(env!("CARGO_BIN_EXE_patchman")), tempfile::tempdir().unwrap(), url.to_owned(), &env)
}

async fn channel(url: &str) -> Option<Channel> {
    Endpoint::from_shared(url.to_owned()).ok()?.connect_timeout(Duration::from_secs(1)).connect().await.ok()
}

/// Host `h`'s report number `k`: newer k, newer state; its repository is `repo_url`.
fn report(h: usize, k: usize, repo_url: &str) -> pb::Report {
    let mut r = good_report(&format!("host{h:03}.example.org"), &format!("h{h}-k{k}"));
    r.repos[0].urls[0].url = repo_url.to_owned();
    r.generated_at_ms = 1_700_000_000_000 + k as i64 * 1_000;
    r.packages.push(package(&format!("state-{h}-{k}"), "1", "1"));
    r
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_one_database_survive_a_kill() {
    let url = pg::fresh_database("scaleout");
    // The repository every host uses, for the servers' refresh job.
    let repo = AptRepo::build(HELLO);
    let files = FileServer::start(repo.root());
    let repo_url: Arc<str> = AptRepo::url(&files).into();
    let mut servers = [start(&url), start(&url)];
    let urls = Arc::new(Mutex::new([servers[0].url(), servers[1].url()]));

    let first = servers[0].url();
    let mut client = ReportServiceClient::new(channel(&first).await.unwrap());
    let mut tokens = Vec::with_capacity(HOSTS);
    for h in 0..HOSTS {
        let req = pb::EnrollRequest {
            enrollment_key: ENROLLMENT_KEY.into(),
            host: Some(pb::Host { hostname: format!("host{h:03}.example.org"), machine_id: String::new() }),
        };
        tokens.push(client.enroll(req).await.unwrap().into_inner().host_token);
    }
    let tokens = Arc::new(tokens);

    // Every report once, in an order that delivers some of a host's reports late.
    let mut order: Vec<(usize, usize)> = (0..HOSTS).flat_map(|h| (0..PER_HOST).map(move |k| (h, k))).collect();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    for i in (1..order.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        order.swap(i, (seed % (i as u64 + 1)) as usize);
    }
    let order = Arc::new(order);
    let next = Arc::new(AtomicUsize::new(0));
    let acked = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for w in 0..16 {
        let (order, next, acked, tokens, urls, repo_url) =
            (order.clone(), next.clone(), acked.clone(), tokens.clone(), urls.clone(), repo_url.clone());
        workers.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(&(h, k)) = order.get(i) else { break };
                let deadline = Instant::now() + Duration::from_secs(60);
                let mut attempt = w + i;
                let mut retried = false;
                // Retry until acknowledged, alternating servers: a report sent to the killed
                // server may or may not have been stored, and sending it again is harmless.
                loop {
                    assert!(Instant::now() < deadline, "report {h}/{k} was never acknowledged");
                    let target = urls.lock().unwrap()[attempt % 2].clone();
                    attempt += 1;
                    let Some(ch) = channel(&target).await else {
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    };
                    let mut req = tonic::Request::new(report(h, k, &repo_url));
                    req.metadata_mut().insert("authorization", format!("Bearer {}", tokens[h]).parse().unwrap());
                    match ReportServiceClient::new(ch).submit(req).await {
                        Ok(ack) => {
                            let outcome = ack.into_inner().outcome;
                            let stored = [
                                pb::SubmitOutcome::Stored,
                                pb::SubmitOutcome::Superseded,
                                pb::SubmitOutcome::Duplicate,
                            ];
                            // A retry of a report whose first try was stored but not
                            // acknowledged finds the host already in that state.
                            let again = retried && outcome == pb::SubmitOutcome::Unchanged as i32;
                            assert!(
                                again || stored.iter().any(|o| *o as i32 == outcome),
                                "report {h}/{k}: outcome {outcome}"
                            );
                            acked.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        Err(status) => {
                            retried = true;
                            assert!(
                                matches!(
                                    status.code(),
                                    tonic::Code::Unavailable
                                        | tonic::Code::Unknown
                                        | tonic::Code::Cancelled
                                        | tonic::Code::Internal
                                ),
                                "report {h}/{k}: {status:?}"
                            );
                            tokio::time::sleep(Duration::from_millis(20)).await;
                        }
                    }
                }
            }
        }));
    }

    // Half way, kill the server that holds the probe job's lease, then start it again.
    while acked.load(Ordering::Relaxed) < HOSTS * PER_HOST / 2 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let holder = loop {
        let owner = pg::query(&url, "SELECT coalesce(lease_owner, '') FROM jobs WHERE name = 'probe'");
        let pid = owner.first().and_then(|o| o.split(':').nth(1)).and_then(|p| p.parse::<u32>().ok());
        if let Some(i) = servers.iter().position(|s| Some(s.pid()) == pid) {
            break i;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let killed_pid = servers[holder].pid();
    servers[holder].kill();
    tokio::time::sleep(Duration::from_millis(300)).await;
    servers[holder] = start(&url);
    urls.lock().unwrap()[holder] = servers[holder].url();
    for w in workers {
        w.await.unwrap();
    }
    assert_eq!(acked.load(Ordering::Relaxed), HOSTS * PER_HOST);

    // Give the survivor time to take over the killed server's probe run (lease 3 s).
    let taken_over = Instant::now() + Duration::from_secs(20);
    loop {
        let rows = pg::query(
            &url,
            "SELECT count(*) FROM job_runs WHERE name = 'probe' AND attempts > 1 AND finished_at IS NOT NULL",
        );
        if rows == ["1"] || Instant::now() > taken_over {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    for s in &mut servers {
        s.kill();
    }

    // Every acknowledged report is stored exactly once.
    let per_report = pg::query(&url, "SELECT count(*), count(DISTINCT (host_id, report_id)) FROM reports");
    assert_eq!(per_report, [format!("{}|{}", HOSTS * PER_HOST, HOSTS * PER_HOST)]);
    // Every host's inventory is its last report's.
    let last = pg::query(
        &url,
        "SELECT h.hostname, string_agg(p.name, ',' ORDER BY p.name) FROM hosts h \
         JOIN host_packages hp ON hp.host_id = h.id JOIN packages p ON p.id = hp.package_id GROUP BY h.hostname ORDER BY 1",
    );
    assert_eq!(last.len(), HOSTS);
    for (h, line) in last.iter().enumerate() {
        assert_eq!(line, &format!("host{h:03}.example.org|bash,openssl,state-{h}-{},zlib1g", PER_HOST - 1));
    }
    // Each due job ran once: one run per (job, due time), each finished run counted once,
    // and the run the killed server held was finished by the other one.
    let runs = pg::query(
        &url,
        "SELECT j.name, j.runs, (SELECT count(*) FROM job_runs r WHERE r.name = j.name AND r.finished_at IS NOT NULL) \
         FROM jobs j ORDER BY j.name",
    );
    assert_eq!(runs.len(), 6, "{runs:?}");
    for line in &runs {
        let f: Vec<&str> = line.split('|').collect();
        assert_eq!(f[1], f[2], "job {}: finished runs and the job's run count differ", f[0]);
        assert!(f[1].parse::<u32>().unwrap() >= 2, "job {} barely ran: {line}", f[0]);
    }
    // Only the runs the two final servers held when they were killed are unfinished: at
    // most one each, since a server runs one job at a time.
    let unfinished = pg::query(&url, "SELECT owner FROM job_runs WHERE finished_at IS NULL ORDER BY owner");
    assert!(unfinished.len() <= 2, "{unfinished:?}");
    let final_pids = [servers[0].pid(), servers[1].pid()];
    let held_by = |owner: &str| final_pids.iter().position(|p| owner.contains(&format!(":{p}:")));
    assert!(unfinished.iter().all(|o| held_by(o).is_some()), "a run left unfinished before the end: {unfinished:?}");
    assert!(unfinished.len() < 2 || held_by(&unfinished[0]) != held_by(&unfinished[1]), "{unfinished:?}");
    let takeover =
        pg::query(&url, "SELECT owner FROM job_runs WHERE name = 'probe' AND attempts > 1 AND finished_at IS NOT NULL");
    assert_eq!(takeover.len(), 1, "the killed server's probe run was not taken over exactly once: {takeover:?}");
    assert!(!takeover[0].contains(&format!(":{killed_pid}:")), "the killed server cannot have finished it");
    // The refresh job did its work: the repository's packages are stored.
    let stored = pg::query(&url, "SELECT count(*) FROM repo_packages");
    assert_eq!(stored, ["3"], "the refresh job never stored the repository");
}
