use std::sync::{Arc, Barrier};

use super::*;
use crate::model::{ChangeAction, HostState, PackageChange, Trigger};

fn state(generated_at_ms: i64, hostname: &str) -> Report {
    let mut r =
        Report::new(HostState { hostname: hostname.into(), ..HostState::default() }, Trigger::Timer, vec![], vec![]);
    r.generated_at_ms = generated_at_ms;
    r
}

fn tx(id: &str) -> Transaction {
    Transaction {
        transaction_id: id.into(),
        finished_at_ms: 1_700_000_000_000,
        tool: "apt".into(),
        changes: vec![PackageChange {
            action: ChangeAction::Upgraded,
            name: "bash".into(),
            arch: "amd64".into(),
            old_version: "5.2-1".into(),
            new_version: "5.2-2".into(),
        }],
    }
}

fn ids(p: &Pending) -> Vec<&str> {
    p.records.iter().map(|r| r.transaction.transaction_id.as_str()).collect()
}

fn spool() -> (tempfile::TempDir, Spool) {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::in_state_dir(dir.path()).unwrap();
    (dir, spool)
}

#[test]
fn records_come_back_in_the_order_they_were_added() {
    let (_dir, spool) = spool();
    // Ids that sort the other way round: the sequence number decides, not the id.
    for id in ["zz", "yy", "aa", "mm"] {
        spool.add(None, Some(&tx(id))).unwrap();
    }
    let pending = spool.pending().unwrap();
    assert_eq!(ids(&pending), ["zz", "yy", "aa", "mm"]);
    assert_eq!(pending.records[0].name, "tx-0000000001-zz.json");
    assert!(pending.state.is_none());
}

#[test]
fn the_newest_state_wins() {
    let (_dir, spool) = spool();
    assert!(spool.add(Some(&state(200, "new")), None).unwrap().state_replaced);
    // An older state (a slow process that collected earlier) does not replace it.
    assert!(!spool.add(Some(&state(100, "old")), None).unwrap().state_replaced);
    let pending = spool.pending().unwrap();
    assert_eq!(pending.state.unwrap().state.hostname, "new");
    assert!(pending.state_is_new);
}

#[test]
fn delivered_records_and_state_are_forgotten_but_newer_ones_stay() {
    let (_dir, spool) = spool();
    let first = state(100, "a");
    spool.add(Some(&first), Some(&tx("t1"))).unwrap();
    let snapshot = spool.pending().unwrap();
    // Meanwhile another transaction and a newer state arrive.
    spool.add(Some(&state(200, "b")), Some(&tx("t2"))).unwrap();
    let names: Vec<String> = snapshot.records.iter().map(|r| r.name.clone()).collect();
    spool.mark_delivered(Some(&first.report_id), &names).unwrap();
    let pending = spool.pending().unwrap();
    assert_eq!(ids(&pending), ["t2"]);
    assert_eq!(pending.state.as_ref().unwrap().state.hostname, "b");
    assert!(pending.state_is_new);
    assert_eq!(pending.records[0].name, "tx-0000000002-t2.json", "sequence numbers keep growing");

    // Once the new state is delivered, the last one still carries later records.
    let b = pending.state.unwrap();
    spool.mark_delivered(Some(&b.report_id), &["tx-0000000002-t2.json".to_owned()]).unwrap();
    let pending = spool.pending().unwrap();
    assert!(pending.is_empty());
    spool.add(None, Some(&tx("t3"))).unwrap();
    let pending = spool.pending().unwrap();
    assert!(!pending.state_is_new);
    assert_eq!(pending.state.unwrap().report_id, b.report_id);
    assert_eq!(spool.last_state().unwrap().report_id, b.report_id);
}

#[test]
fn a_crash_mid_write_leaves_the_old_files_and_its_litter_is_cleaned() {
    let (_dir, spool) = spool();
    spool.add(Some(&state(100, "a")), Some(&tx("t1"))).unwrap();
    // What a writer killed between writing and renaming leaves behind.
    fs::write(spool.dir().join(".state.json.4242.tmp"), b"{\"report_id\": \"half").unwrap();
    fs::write(spool.dir().join(".tx-0000000002-t2.json.4242.tmp"), b"{").unwrap();
    let pending = spool.pending().unwrap();
    assert_eq!(ids(&pending), ["t1"]);
    assert_eq!(pending.state.unwrap().state.hostname, "a");
    spool.add(None, Some(&tx("t3"))).unwrap();
    let mut left: Vec<String> =
        fs::read_dir(spool.dir()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    left.sort();
    assert_eq!(left, ["state.json", "tx-0000000001-t1.json", "tx-0000000002-t3.json", "write.lock"]);
}

#[test]
fn a_damaged_record_is_set_aside_not_sent_and_not_fatal() {
    let (_dir, spool) = spool();
    spool.add(None, Some(&tx("t1"))).unwrap();
    fs::write(spool.dir().join("tx-0000000002-t2.json"), b"not json").unwrap();
    spool.add(None, Some(&tx("t3"))).unwrap();
    let pending = spool.pending().unwrap();
    assert_eq!(ids(&pending), ["t1", "t3"]);
    assert_eq!(pending.quarantined, ["tx-0000000002-t2.json"]);
    assert!(spool.dir().join("bad-tx-0000000002-t2.json").is_file());
}

#[test]
fn a_full_spool_refuses_records_but_keeps_the_state_current() {
    let dir = tempfile::tempdir().unwrap();
    let spool = Spool::open(dir.path()).unwrap().with_limits(SpoolLimits { max_records: 3, max_bytes: 1 << 20 });
    for i in 0..5 {
        let added = spool.add(Some(&state(100 + i, &format!("h{i}"))), Some(&tx(&format!("t{i}")))).unwrap();
        assert_eq!(added.refused, i >= 3, "record {i}");
        assert!(added.state_replaced);
    }
    let pending = spool.pending().unwrap();
    assert_eq!(ids(&pending), ["t0", "t1", "t2"], "the oldest records are kept, never dropped");
    assert_eq!(pending.state.unwrap().state.hostname, "h4");
    assert_eq!(spool.dropped(), 2);

    // The byte bound works the same way.
    let dir = tempfile::tempdir().unwrap();
    let one = serde_json::to_vec(&tx("t0")).unwrap().len() as u64;
    let spool = Spool::open(dir.path()).unwrap().with_limits(SpoolLimits { max_records: 100, max_bytes: 2 * one });
    let refused: Vec<bool> = (0..3).map(|i| spool.add(None, Some(&tx(&format!("t{i}")))).unwrap().refused).collect();
    assert_eq!(refused, [false, false, true]);
}

#[test]
fn only_one_process_delivers_at_a_time() {
    let (_dir, spool) = spool();
    let held = spool.lock_delivery(Duration::ZERO).unwrap().expect("free at first");
    // flock belongs to the open file: a second open, as another process would, is refused.
    assert!(spool.lock_delivery(Duration::ZERO).unwrap().is_none());
    let t = Instant::now();
    assert!(spool.lock_delivery(Duration::from_millis(100)).unwrap().is_none());
    assert!(t.elapsed() >= Duration::from_millis(100));
    // Writers are not blocked by a delivery in progress.
    spool.add(None, Some(&tx("t1"))).unwrap();
    drop(held);
    assert!(spool.lock_delivery(Duration::ZERO).unwrap().is_some());
}

#[test]
fn concurrent_writers_neither_collide_nor_lose_records() {
    let (_dir, spool) = spool();
    let barrier = Arc::new(Barrier::new(4));
    let threads: Vec<_> = (0..4)
        .map(|w| {
            let (spool, barrier) = (spool.clone(), barrier.clone());
            std::thread::spawn(move || {
                barrier.wait();
                for i in 0..25 {
                    spool.add(Some(&state(i, "h")), Some(&tx(&format!("w{w}i{i:02}")))).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let pending = spool.pending().unwrap();
    assert_eq!(pending.records.len(), 100);
    let seqs: Vec<u64> = pending.records.iter().map(|r| record_seq(&r.name).unwrap()).collect();
    assert_eq!(seqs, (1..=100).collect::<Vec<_>>());
    // Each writer's own records stay in its order.
    for w in 0..4 {
        let mine: Vec<&str> = ids(&pending).into_iter().filter(|id| id.starts_with(&format!("w{w}"))).collect();
        let mut sorted = mine.clone();
        sorted.sort();
        assert_eq!(mine, sorted);
    }
}
