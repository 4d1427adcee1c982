//! `patchman.v1.QueryService`: the query layer's answers (the same store queries as the web
//! UI's pages and the CLI's listings) for API tokens of role `read` or `admin`.

use std::sync::Arc;

use patchman_proto as pb;
use pb::query_service_server::{QueryService, QueryServiceServer};
use tonic::{Request, Response, Status};

use super::api_auth::authorize;
use super::convert;
use super::paging::{next_token, page};
use super::watch::WatchHub;
use crate::auth::ApiRole;
use crate::query::{Clock, PageRequest};
use crate::store::{AccountStore, AdvisoryStore, HostDetail, HostQueries, StoreError};

pub struct QueryApi {
    queries: Arc<dyn HostQueries>,
    advisories: Arc<dyn AdvisoryStore>,
    accounts: Arc<dyn AccountStore>,
    silent_after_ms: i64,
    watch: Arc<WatchHub>,
}

impl QueryApi {
    pub fn new(
        queries: Arc<dyn HostQueries>,
        advisories: Arc<dyn AdvisoryStore>,
        accounts: Arc<dyn AccountStore>,
        silent_after_ms: i64,
        watch: Arc<WatchHub>,
    ) -> Self {
        Self { queries, advisories, accounts, silent_after_ms, watch }
    }

    pub(super) fn advisories(&self) -> &dyn AdvisoryStore {
        &*self.advisories
    }

    pub(super) fn accounts(&self) -> &dyn AccountStore {
        &*self.accounts
    }

    /// The gRPC service; the JSON mapping (`json_api`) shares the same API.
    pub fn service(api: Arc<Self>) -> QueryServiceServer<Self> {
        QueryServiceServer::from_arc(api)
    }

    pub(super) fn clock(&self) -> Clock {
        Clock { now_ms: crate::clock::now_ms(), silent_after_ms: self.silent_after_ms }
    }

    async fn host(&self, hostname: &str) -> Result<HostDetail, Status> {
        let name = hostname.trim().to_ascii_lowercase();
        if name.is_empty() {
            return Err(Status::invalid_argument("hostname: is required"));
        }
        self.queries.host(&name).await.map_err(store_failed)?.ok_or_else(|| no_host(&name))
    }
}

pub(super) fn store_failed(err: StoreError) -> Status {
    tracing::error!(%err, "a query failed");
    Status::unavailable("the server cannot read its database now")
}

pub(super) fn no_host(name: &str) -> Status {
    Status::not_found(format!("no host named {name}"))
}

/// One page of an in-memory list, as the paged answers give it.
fn slice<T: Clone>(all: &[T], p: PageRequest) -> Vec<T> {
    all.iter().skip(p.offset() as usize).take(p.per_page as usize).cloned().collect()
}

#[tonic::async_trait]
impl QueryService for QueryApi {
    async fn list_hosts(&self, req: Request<pb::ListHostsRequest>) -> Result<Response<pb::ListHostsResponse>, Status> {
        authorize(&*self.accounts, &req, ApiRole::Read).await?;
        let r = req.into_inner();
        let filter = convert::host_filter("filter", &r.filter)?;
        let sort = convert::host_sort(&r.order_by)?;
        let query = ["ListHosts", r.filter.as_str(), r.order_by.as_str()];
        let p = page(r.page_size, &r.page_token, &query)?;
        let clock = self.clock();
        let list = self.queries.host_list(&filter, &sort, p, &clock).await.map_err(store_failed)?;
        Ok(Response::new(pb::ListHostsResponse {
            hosts: list.rows.iter().map(|h| convert::host(h, &clock)).collect(),
            next_page_token: next_token(p, list.total, &query),
            total_size: list.total as i64,
        }))
    }

    async fn get_host(&self, req: Request<pb::GetHostRequest>) -> Result<Response<pb::HostInfo>, Status> {
        authorize(&*self.accounts, &req, ApiRole::Read).await?;
        let host = self.host(&req.get_ref().hostname).await?;
        Ok(Response::new(convert::host_detail(&host, &self.clock())))
    }

    async fn list_host_packages(
        &self,
        req: Request<pb::ListHostPackagesRequest>,
    ) -> Result<Response<pb::ListHostPackagesResponse>, Status> {
        authorize(&*self.accounts, &req, ApiRole::Read).await?;
        let r = req.into_inner();
        let query = ["ListHostPackages", r.hostname.as_str()];
        let p = page(r.page_size, &r.page_token, &query)?;
        let host = self.host(&r.hostname).await?;
        let unknown: std::collections::HashSet<&str> = host.packages_not_in_repos.iter().map(String::as_str).collect();
        let packages: Vec<pb::InstalledPackage> = host
            .packages
            .iter()
            .map(|p| convert::installed(p, unknown.contains(format!("{} {} {}", p.name, p.evr, p.arch).as_str())))
            .collect();
        Ok(Response::new(pb::ListHostPackagesResponse {
            next_page_token: next_token(p, packages.len() as u64, &query),
            total_size: packages.len() as i64,
            packages: slice(&packages, p),
        }))
    }

    async fn list_host_updates(
        &self,
        req: Request<pb::ListHostUpdatesRequest>,
    ) -> Result<Response<pb::ListHostUpdatesResponse>, Status> {
        authorize(&*self.accounts, &req, ApiRole::Read).await?;
        let name = req.get_ref().hostname.trim().to_ascii_lowercase();
        if name.is_empty() {
            return Err(Status::invalid_argument("hostname: is required"));
        }
        let (summary, updates) =
            self.queries.host_update_list(&name).await.map_err(store_failed)?.ok_or_else(|| no_host(&name))?;
        let mut updates: Vec<pb::Update> = updates.iter().map(convert::update).collect();
        updates.sort_by(|a, b| (!a.security, &a.name, &a.arch).cmp(&(!b.security, &b.name, &b.arch)));
        let current = summary.updates_current && summary.updates_known;
        Ok(Response::new(pb::ListHostUpdatesResponse { updates, current }))
    }

    async fn list_packages(
        &self,
        req: Request<pb::ListPackagesRequest>,
    ) -> Result<Response<pb::ListPackagesResponse>, Status> {
        authorize(&*self.accounts, &req, ApiRole::Read).await?;
        let r = req.into_inner();
        let filter = convert::package_filter(&r.search, &r.kind, &r.arch)?;
        let query = ["ListPackages", r.search.as_str(), r.kind.as_str(), r.arch.as_str()];
        let p = page(r.page_size, &r.page_token, &query)?;
        let list = self.queries.package_names(&filter, p).await.map_err(store_failed)?;
        Ok(Response::new(pb::ListPackagesResponse {
            packages: list.rows.iter().map(convert::package_name).collect(),
            next_page_token: next_token(p, list.total, &query),
            total_size: list.total as i64,
        }))
    }

    async fn list_package_hosts(
        &self,
        req: Request<pb::ListPackageHostsRequest>,
    ) -> Result<Response<pb::ListPackageHostsResponse>, Status> {
        authorize(&*self.accounts, &req, ApiRole::Read).await?;
        let r = req.into_inner();
        if r.name.trim().is_empty() {
            return Err(Status::invalid_argument("name: is required"));
        }
        let filter = convert::host_filter("filter", &r.filter)?;
        if filter.package_name.is_some() {
            return Err(Status::invalid_argument("filter: the package is given by name and evr"));
        }
        let query = ["ListPackageHosts", r.name.as_str(), r.evr.as_str(), r.filter.as_str()];
        let p = page(r.page_size, &r.page_token, &query)?;
        let evr = Some(r.evr.trim()).filter(|e| !e.is_empty());
        let clock = self.clock();
        let list = self.queries.package_hosts(r.name.trim(), evr, &filter, p, &clock).await.map_err(store_failed)?;
        Ok(Response::new(pb::ListPackageHostsResponse {
            hosts: list.rows.iter().map(convert::package_host).collect(),
            next_page_token: if list.more { next_token(p, u64::MAX, &query) } else { String::new() },
            total_size: list.total.map_or(-1, |t| t as i64),
        }))
    }

    async fn list_repositories(
        &self,
        req: Request<pb::ListRepositoriesRequest>,
    ) -> Result<Response<pb::ListRepositoriesResponse>, Status> {
        authorize(&*self.accounts, &req, ApiRole::Read).await?;
        let r = req.into_inner();
        let filter = convert::repo_filter(&r.filter)?;
        let query = ["ListRepositories", r.filter.as_str()];
        let p = page(r.page_size, &r.page_token, &query)?;
        let clock = self.clock();
        let repos = self.queries.repo_list(&filter, &clock).await.map_err(store_failed)?;
        let all: Vec<pb::RepositoryInfo> = repos.iter().map(|r| convert::repository(r, &clock)).collect();
        Ok(Response::new(pb::ListRepositoriesResponse {
            next_page_token: next_token(p, all.len() as u64, &query),
            total_size: all.len() as i64,
            repositories: slice(&all, p),
        }))
    }

    async fn list_mirrors(
        &self,
        req: Request<pb::ListMirrorsRequest>,
    ) -> Result<Response<pb::ListMirrorsResponse>, Status> {
        authorize(&*self.accounts, &req, ApiRole::Read).await?;
        let r = req.into_inner();
        let repo = r.repository_id.to_string();
        let query = ["ListMirrors", repo.as_str(), if r.failing_only { "failing" } else { "" }];
        let p = page(r.page_size, &r.page_token, &query)?;
        let repos = self.queries.repos().await.map_err(store_failed)?;
        if r.repository_id != 0 && !repos.iter().any(|x| x.id == r.repository_id) {
            return Err(Status::not_found(format!("no repository {}", r.repository_id)));
        }
        let all: Vec<pb::Mirror> = repos
            .iter()
            .filter(|x| r.repository_id == 0 || x.id == r.repository_id)
            .flat_map(|x| x.mirrors.iter().map(|m| convert::mirror(x.id, m)))
            .filter(|m| !r.failing_only || !m.enabled || m.fail_count > 0)
            .collect();
        Ok(Response::new(pb::ListMirrorsResponse {
            next_page_token: next_token(p, all.len() as u64, &query),
            total_size: all.len() as i64,
            mirrors: slice(&all, p),
        }))
    }

    async fn list_os_groups(
        &self,
        req: Request<pb::ListOsGroupsRequest>,
    ) -> Result<Response<pb::ListOsGroupsResponse>, Status> {
        authorize(&*self.accounts, &req, ApiRole::Read).await?;
        let groups = self.queries.os_groups().await.map_err(store_failed)?;
        Ok(Response::new(pb::ListOsGroupsResponse { os_groups: groups.iter().map(convert::os_group).collect() }))
    }

    async fn list_errata(
        &self,
        req: Request<pb::ListErrataRequest>,
    ) -> Result<Response<pb::ListErrataResponse>, Status> {
        authorize(&*self.accounts, &req, ApiRole::Read).await?;
        let r = req.into_inner();
        let query = ["ListErrata"];
        let p = page(r.page_size, &r.page_token, &query)?;
        let list = self.queries.errata(p).await.map_err(store_failed)?;
        Ok(Response::new(pb::ListErrataResponse {
            errata: list.rows.iter().map(convert::erratum).collect(),
            next_page_token: next_token(p, list.total, &query),
            total_size: list.total as i64,
        }))
    }

    async fn get_summary(&self, req: Request<pb::GetSummaryRequest>) -> Result<Response<pb::Summary>, Status> {
        authorize(&*self.accounts, &req, ApiRole::Read).await?;
        let d = self.queries.dashboard(&self.clock()).await.map_err(store_failed)?;
        Ok(Response::new(convert::summary(&d)))
    }

    async fn list_advisories(
        &self,
        req: Request<pb::ListAdvisoriesRequest>,
    ) -> Result<Response<pb::ListAdvisoriesResponse>, Status> {
        self.advisories_list(req).await
    }

    async fn get_advisory(&self, req: Request<pb::GetAdvisoryRequest>) -> Result<Response<pb::AdvisoryDetail>, Status> {
        self.advisory_get(req).await
    }

    async fn get_cve(&self, req: Request<pb::GetCveRequest>) -> Result<Response<pb::CveDetail>, Status> {
        self.cve_get(req).await
    }

    async fn list_host_exposures(
        &self,
        req: Request<pb::ListHostExposuresRequest>,
    ) -> Result<Response<pb::ListHostExposuresResponse>, Status> {
        self.host_exposures_list(req).await
    }

    async fn get_time_to_patch(
        &self,
        req: Request<pb::GetTimeToPatchRequest>,
    ) -> Result<Response<pb::GetTimeToPatchResponse>, Status> {
        self.time_to_patch_get(req).await
    }

    type WatchHostStatusStream = super::watch::EventStream;

    async fn watch_host_status(
        &self,
        req: Request<pb::WatchHostStatusRequest>,
    ) -> Result<Response<Self::WatchHostStatusStream>, Status> {
        authorize(&*self.accounts, &req, ApiRole::Read).await?;
        let r = req.into_inner();
        let stream = self.watch.subscribe(&r.filter, &r.cursor, self.silent_after_ms).await?;
        Ok(Response::new(stream))
    }
}
