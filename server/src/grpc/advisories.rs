//! The advisory RPCs of `QueryService` (ListAdvisories, GetAdvisory, GetCve,
//! ListHostExposures, GetTimeToPatch): the same store questions as the advisory pages and
//! `patchman advisory|cve`.

use patchman_proto as pb;
use tonic::{Request, Response, Status};

use super::api_auth::authorize;
use super::paging::{next_token, page};
use super::query::{QueryApi, no_host, store_failed};
use crate::advisories::windows::{GroupBy, time_to_patch};
use crate::auth::ApiRole;
use crate::query::AdvisoryFilter;
use crate::store::{AdvisoryView, ExposedHostView, FixedHostView};

fn advisory(a: &AdvisoryView) -> pb::Advisory {
    pb::Advisory {
        name: a.name.clone(),
        feed: a.feed.clone(),
        kind: a.kind.clone(),
        severity: a.severity.clone(),
        summary: a.summary.clone(),
        issued_ms: a.issued_at.unwrap_or(0),
        withdrawn_ms: a.withdrawn_at.unwrap_or(0),
        cves: a.cves.clone(),
        exploited: a.exploited,
        hosts_exposed: a.hosts_exposed,
    }
}

fn exposure(e: &ExposedHostView) -> pb::Exposure {
    pb::Exposure {
        hostname: e.hostname.clone(),
        advisory: e.advisory.clone(),
        package: e.package.clone(),
        installed: e.installed.clone(),
        fixed: e.fixed.clone(),
        since_ms: e.since.unwrap_or(0),
        silent: e.silent,
    }
}

fn fixed(f: &FixedHostView) -> pb::FixedHost {
    pb::FixedHost {
        hostname: f.hostname.clone(),
        advisory: f.advisory.clone(),
        exposed_ms: f.opened_at,
        fixed_ms: f.fixed_at,
    }
}

impl QueryApi {
    pub(super) async fn advisories_list(
        &self,
        req: Request<pb::ListAdvisoriesRequest>,
    ) -> Result<Response<pb::ListAdvisoriesResponse>, Status> {
        authorize(self.accounts(), &req, ApiRole::Read).await?;
        let r = req.into_inner();
        let pairs = super::convert::pairs("filter", &r.filter)?;
        let filter = AdvisoryFilter::parse(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .map_err(|e| Status::invalid_argument(format!("filter: {e}")))?;
        let query = ["ListAdvisories", r.filter.as_str()];
        let p = page(r.page_size, &r.page_token, &query)?;
        let list = self.advisories().advisory_list(&filter, p).await.map_err(store_failed)?;
        Ok(Response::new(pb::ListAdvisoriesResponse {
            advisories: list.rows.iter().map(advisory).collect(),
            next_page_token: next_token(p, list.total, &query),
            total_size: list.total as i64,
        }))
    }

    pub(super) async fn advisory_get(
        &self,
        req: Request<pb::GetAdvisoryRequest>,
    ) -> Result<Response<pb::AdvisoryDetail>, Status> {
        authorize(self.accounts(), &req, ApiRole::Read).await?;
        let name = req.get_ref().name.trim();
        if name.is_empty() {
            return Err(Status::invalid_argument("name: is required"));
        }
        let d = self
            .advisories()
            .advisory_detail(name, &self.clock())
            .await
            .map_err(store_failed)?
            .ok_or_else(|| Status::not_found(format!("no advisory named {name}")))?;
        Ok(Response::new(pb::AdvisoryDetail {
            advisory: Some(advisory(&d.advisory)),
            references: d.references.clone(),
            packages: d
                .packages
                .iter()
                .map(|p| pb::AdvisoryPackage {
                    release: p.release.clone(),
                    package: p.package.clone(),
                    status: p.status.to_owned(),
                    fixed: p.fixed.clone(),
                })
                .collect(),
            exposed: d.exposed.iter().map(exposure).collect(),
            fixed: d.fixed.iter().map(fixed).collect(),
        }))
    }

    pub(super) async fn cve_get(&self, req: Request<pb::GetCveRequest>) -> Result<Response<pb::CveDetail>, Status> {
        authorize(self.accounts(), &req, ApiRole::Read).await?;
        let cve = req.get_ref().cve.trim().to_ascii_uppercase();
        if !crate::advisories::is_cve(&cve) {
            return Err(Status::invalid_argument(format!("cve: {cve:?} is not a CVE id (CVE-YYYY-NNNN)")));
        }
        let d = self
            .advisories()
            .cve_detail(&cve, &self.clock())
            .await
            .map_err(store_failed)?
            .ok_or_else(|| Status::not_found(format!("no advisory, erratum or catalogue entry names {cve}")))?;
        Ok(Response::new(pb::CveDetail {
            cve: d.cve.clone(),
            severity: d.severity.clone(),
            exploited: d.exploited.is_some(),
            exploited_name: d.exploited.as_ref().map(|k| k.name.clone()).unwrap_or_default(),
            ransomware: d.exploited.as_ref().is_some_and(|k| k.ransomware),
            advisories: d.advisories.iter().map(advisory).collect(),
            errata: d
                .errata
                .iter()
                .map(|e| pb::CveErratum {
                    erratum: e.erratum.clone(),
                    severity: e.severity.clone(),
                    hostnames: e.hosts.clone(),
                })
                .collect(),
            exposed: d.exposed.iter().map(exposure).collect(),
            fixed: d.fixed.iter().map(fixed).collect(),
        }))
    }

    pub(super) async fn host_exposures_list(
        &self,
        req: Request<pb::ListHostExposuresRequest>,
    ) -> Result<Response<pb::ListHostExposuresResponse>, Status> {
        authorize(self.accounts(), &req, ApiRole::Read).await?;
        let name = req.get_ref().hostname.trim().to_ascii_lowercase();
        if name.is_empty() {
            return Err(Status::invalid_argument("hostname: is required"));
        }
        let list =
            self.advisories().host_exposures(&name).await.map_err(store_failed)?.ok_or_else(|| no_host(&name))?;
        Ok(Response::new(pb::ListHostExposuresResponse {
            exposures: list
                .iter()
                .map(|e| pb::HostExposure {
                    advisory: e.advisory.clone(),
                    feed: e.feed.clone(),
                    severity: e.severity.clone(),
                    cves: e.cves.clone(),
                    exploited: e.exploited,
                    package: e.package.clone(),
                    installed: e.installed.clone(),
                    fixed: e.fixed.clone(),
                    since_ms: e.since.unwrap_or(0),
                })
                .collect(),
        }))
    }

    pub(super) async fn time_to_patch_get(
        &self,
        req: Request<pb::GetTimeToPatchRequest>,
    ) -> Result<Response<pb::GetTimeToPatchResponse>, Status> {
        authorize(self.accounts(), &req, ApiRole::Read).await?;
        let r = req.into_inner();
        let by = GroupBy::parse(r.by.trim())
            .ok_or_else(|| Status::invalid_argument(format!("by: {:?} is not all, host, group or severity", r.by)))?;
        let days = match r.days {
            0 => 90,
            d @ 1..=3_650 => d,
            d => return Err(Status::invalid_argument(format!("days: {d} is not from 1 to 3650"))),
        };
        let clock = self.clock();
        let from = clock.now_ms - i64::from(days) * 86_400_000;
        let windows = self.advisories().exposure_windows(from, clock.now_ms + 1, &clock).await.map_err(store_failed)?;
        Ok(Response::new(pb::GetTimeToPatchResponse {
            buckets: time_to_patch(&windows, by, from, clock.now_ms + 1)
                .into_iter()
                .map(|t| pb::TimeToPatch {
                    key: t.key,
                    fixed: t.fixed as i64,
                    median_days: t.median_days.unwrap_or(0.0),
                    p90_days: t.p90_days.unwrap_or(0.0),
                    open: t.open as i64,
                    unknown: t.unknown as i64,
                })
                .collect(),
        }))
    }
}
