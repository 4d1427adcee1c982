//! Host events, written once for both dialects (see `portable.rs`): a row in `host_events`
//! for every change of a host's status (a stored or unchanged report, a saved verdict, an
//! administrator's change, a deletion, falling silent), read in order by the query API's
//! watch stream. Expanded after `portable_queries!` in the same module, it uses its imports
//! and `SUMMARY`.

macro_rules! portable_event_queries {
    () => {
        /// Records that a host's status may have changed.
        pub(in crate::store) async fn record_host_event(
            conn: &mut <Db as sqlx::Database>::Connection,
            hostname: &str,
            at: i64,
            deleted: bool,
        ) -> StoreResult<()> {
            sqlx::query("INSERT INTO host_events (hostname, at, deleted) VALUES ($1, $2, $3)")
                .bind(hostname)
                .bind(at)
                .bind(deleted)
                .execute(&mut *conn)
                .await?;
            Ok(())
        }

        /// Events after `after`, oldest first.
        pub(super) async fn host_events_after(
            pool: &Pool,
            after: i64,
            limit: i64,
        ) -> StoreResult<Vec<crate::store::HostEvent>> {
            let rows: Vec<(i64, String, i64, bool)> = sqlx::query_as(
                "SELECT seq, hostname, at, deleted FROM host_events WHERE seq > $1 ORDER BY seq LIMIT $2",
            )
            .bind(after)
            .bind(limit)
            .fetch_all(pool)
            .await?;
            Ok(rows
                .into_iter()
                .map(|(seq, hostname, at, deleted)| crate::store::HostEvent { seq, hostname, at, deleted })
                .collect())
        }

        /// The oldest kept event's sequence number and the newest's (0 when there are none).
        pub(super) async fn host_event_bounds(pool: &Pool) -> StoreResult<(i64, i64)> {
            let (oldest, newest): (Option<i64>, Option<i64>) =
                sqlx::query_as("SELECT min(seq), max(seq) FROM host_events").fetch_one(pool).await?;
            Ok((oldest.unwrap_or(0), newest.unwrap_or(0)))
        }

        /// The hosts of these names, as lists show them.
        pub(super) async fn host_summaries(pool: &Pool, hostnames: &[String]) -> StoreResult<Vec<HostSummary>> {
            if hostnames.is_empty() {
                return Ok(Vec::new());
            }
            let sql = format!("{SUMMARY} WHERE h.hostname IN ({})", super::bulk::text_list(1));
            let rows =
                sqlx::query(sqlx::AssertSqlSafe(sql)).bind(super::bulk::texts_param(hostnames)).fetch_all(pool).await?;
            let ids: Vec<i64> = rows.iter().map(|r| r.try_get::<i64, _>("id")).collect::<Result<_, _>>()?;
            let mut tags = tags_of(pool, &ids).await?;
            rows.iter().map(|r| summary(r, tags.remove(&r.try_get::<i64, _>("id")?).unwrap_or_default())).collect()
        }

        /// Records the hosts whose last report fell out of the silence threshold in
        /// (`since`, `until`]: their status became "silent" without anything being written.
        pub(super) async fn record_silent_hosts(pool: &Pool, since: i64, until: i64, now: i64) -> StoreResult<u64> {
            let done = sqlx::query(
                "INSERT INTO host_events (hostname, at, deleted) SELECT hostname, $3, $4 FROM hosts \
                 WHERE last_seen_at > $1 AND last_seen_at <= $2",
            )
            .bind(since)
            .bind(until)
            .bind(now)
            .bind(false)
            .execute(pool)
            .await?;
            Ok(done.rows_affected())
        }
    };
}

pub(crate) use portable_event_queries;
