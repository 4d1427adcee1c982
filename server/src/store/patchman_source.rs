//! Reading a Patchman 4 database (`patchman import-patchman --from URL`), SQLite or
//! PostgreSQL, read-only: its hosts with their tags and repositories, repositories with their
//! mirrors, OS releases and variants, as plain rows (`PatchmanData`). Nothing here writes; the
//! source is opened read-only, so it cannot change.

use std::str::FromStr as _;

use sqlx::Row as _;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqlitePoolOptions};

use super::{StoreError, StoreResult};

/// What an import needs of a Patchman database, table by table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatchmanData {
    pub hosts: Vec<PmHost>,
    /// (host id, tag name).
    pub host_tags: Vec<(i64, String)>,
    pub host_repos: Vec<PmHostRepo>,
    pub repos: Vec<PmRepo>,
    pub mirrors: Vec<PmMirror>,
    pub releases: Vec<PmRelease>,
    /// (release id, repository id).
    pub release_repos: Vec<(i64, i64)>,
    pub variants: Vec<PmVariant>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PmHost {
    pub id: i64,
    pub hostname: String,
    pub kernel: String,
    pub arch: String,
    pub domain: String,
    pub variant_id: Option<i64>,
    /// Finds updates in its own repositories only (our `use_host_repos`).
    pub host_repos_only: bool,
    /// Its last report to Patchman, in ms since 1970.
    pub last_report_ms: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PmHostRepo {
    pub host_id: i64,
    pub repo_id: i64,
    pub enabled: bool,
    /// As Patchman keeps it: higher is preferred (yum priorities negated).
    pub priority: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PmRepo {
    pub id: i64,
    pub name: String,
    pub security: bool,
    /// `D` deb, `R` rpm, `A` arch, `G` gentoo.
    pub repotype: String,
    pub enabled: bool,
    /// yum's repository id (with the client's `CPE_NAME-` prefix), or the arch/gentoo name.
    pub repo_id: Option<String>,
    pub auth_required: bool,
    pub arch: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PmMirror {
    pub id: i64,
    pub repo_id: i64,
    pub url: String,
    pub mirrorlist: bool,
    pub enabled: bool,
    pub refresh: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PmRelease {
    pub id: i64,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PmVariant {
    pub id: i64,
    pub name: String,
    pub release_id: Option<i64>,
}

/// The statements, the same text for both dialects but for the last report's time (`$time`:
/// an expression of `h.lastreport` in ms since 1970).
macro_rules! read_all {
    ($pool:expr, $time:literal) => {{
        let pool = $pool;
        let releases: Result<i64, _> =
            sqlx::query_scalar("SELECT count(*) FROM operatingsystems_osrelease").fetch_one(pool).await;
        if let Err(e) = releases {
            return Err(StoreError::Unsupported(format!(
                "this is not a Patchman 4 database ({e}); upgrade a Patchman 3 database to Patchman 4 first"
            )));
        }
        let mut data = PatchmanData::default();
        for r in sqlx::query(concat!(
            "SELECT CAST(h.id AS BIGINT) AS id, h.hostname, h.kernel, a.name AS arch, d.name AS domain, \
             CAST(h.osvariant_id AS BIGINT) AS variant_id, h.host_repos_only, ",
            $time,
            " AS last_report FROM hosts_host h JOIN arch_machinearchitecture a ON a.id = h.arch_id \
             JOIN domains_domain d ON d.id = h.domain_id ORDER BY h.id"
        ))
        .fetch_all(pool)
        .await?
        {
            data.hosts.push(PmHost {
                id: r.try_get("id")?,
                hostname: r.try_get("hostname")?,
                kernel: r.try_get("kernel")?,
                arch: r.try_get("arch")?,
                domain: r.try_get("domain")?,
                variant_id: r.try_get("variant_id")?,
                host_repos_only: r.try_get("host_repos_only")?,
                last_report_ms: r.try_get("last_report")?,
            });
        }
        data.host_tags = sqlx::query_as(
            "SELECT CAST(i.object_id AS BIGINT), t.name FROM taggit_taggeditem i JOIN taggit_tag t ON t.id = i.tag_id \
             JOIN django_content_type c ON c.id = i.content_type_id WHERE c.app_label = 'hosts' AND c.model = 'host' \
             ORDER BY i.object_id, t.name",
        )
        .fetch_all(pool)
        .await?;
        for r in sqlx::query(
            "SELECT CAST(host_id AS BIGINT) AS host_id, CAST(repo_id AS BIGINT) AS repo_id, enabled, \
             CAST(priority AS BIGINT) AS priority FROM hosts_hostrepo ORDER BY id",
        )
        .fetch_all(pool)
        .await?
        {
            data.host_repos.push(PmHostRepo {
                host_id: r.try_get("host_id")?,
                repo_id: r.try_get("repo_id")?,
                enabled: r.try_get("enabled")?,
                priority: r.try_get("priority")?,
            });
        }
        for r in sqlx::query(
            "SELECT CAST(r.id AS BIGINT) AS id, r.name, r.security, r.repotype, r.enabled, r.repo_id, r.auth_required, \
             a.name AS arch FROM repos_repository r JOIN arch_machinearchitecture a ON a.id = r.arch_id ORDER BY r.id",
        )
        .fetch_all(pool)
        .await?
        {
            data.repos.push(PmRepo {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                security: r.try_get("security")?,
                repotype: r.try_get("repotype")?,
                enabled: r.try_get("enabled")?,
                repo_id: r.try_get("repo_id")?,
                auth_required: r.try_get("auth_required")?,
                arch: r.try_get("arch")?,
            });
        }
        for r in sqlx::query(
            "SELECT CAST(id AS BIGINT) AS id, CAST(repo_id AS BIGINT) AS repo_id, url, mirrorlist, enabled, refresh \
             FROM repos_mirror ORDER BY id",
        )
        .fetch_all(pool)
        .await?
        {
            data.mirrors.push(PmMirror {
                id: r.try_get("id")?,
                repo_id: r.try_get("repo_id")?,
                url: r.try_get("url")?,
                mirrorlist: r.try_get("mirrorlist")?,
                enabled: r.try_get("enabled")?,
                refresh: r.try_get("refresh")?,
            });
        }
        for r in sqlx::query("SELECT CAST(id AS BIGINT) AS id, name FROM operatingsystems_osrelease ORDER BY id")
            .fetch_all(pool)
            .await?
        {
            data.releases.push(PmRelease { id: r.try_get("id")?, name: r.try_get("name")? });
        }
        data.release_repos = sqlx::query_as(
            "SELECT CAST(osrelease_id AS BIGINT), CAST(repository_id AS BIGINT) FROM operatingsystems_osrelease_repos \
             ORDER BY id",
        )
        .fetch_all(pool)
        .await?;
        for r in sqlx::query(
            "SELECT CAST(id AS BIGINT) AS id, name, CAST(osrelease_id AS BIGINT) AS release_id \
             FROM operatingsystems_osvariant ORDER BY id",
        )
        .fetch_all(pool)
        .await?
        {
            data.variants.push(PmVariant {
                id: r.try_get("id")?,
                name: r.try_get("name")?,
                release_id: r.try_get("release_id")?,
            });
        }
        data
    }};
}

/// Reads the Patchman database at `url` (`sqlite://…`, `postgres://…`), without writing.
pub async fn read_patchman(url: &str) -> StoreResult<PatchmanData> {
    let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or_default();
    match scheme {
        "sqlite" => {
            let options = SqliteConnectOptions::from_str(url)?.read_only(true).create_if_missing(false);
            let pool = SqlitePoolOptions::new().max_connections(1).connect_with(options).await?;
            // Django keeps SQLite times as "YYYY-MM-DD HH:MM:SS[.ffffff]" in UTC.
            let data = read_all!(&pool, "CAST(round((julianday(h.lastreport) - 2440587.5) * 86400000.0) AS INTEGER)");
            pool.close().await;
            Ok(data)
        }
        "postgres" | "postgresql" => {
            let options = PgConnectOptions::from_str(url)?
                .application_name("patchman import-patchman")
                .options([("default_transaction_read_only", "on")]);
            let pool = PgPoolOptions::new().max_connections(1).connect_with(options).await?;
            let data = read_all!(&pool, "CAST(round(extract(epoch FROM h.lastreport) * 1000) AS BIGINT)");
            pool.close().await;
            Ok(data)
        }
        "mysql" | "mariadb" => Err(StoreError::Unsupported(
            "this build reads Patchman's SQLite and PostgreSQL databases, not MySQL: move it first \
             (`patchman-manage dumpdata` with the MySQL settings, then `migrate` and `loaddata` with SQLite ones)"
                .to_owned(),
        )),
        other => Err(StoreError::UnsupportedScheme(other.to_owned())),
    }
}
