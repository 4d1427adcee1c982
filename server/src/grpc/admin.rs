//! `patchman.v1.AdminService`: the changes the CLI and the web UI make, for API tokens of role
//! `admin`, through the same store functions; each change is written to the audit log as
//! `api:TOKEN-NAME`.

use std::sync::Arc;

use patchman_proto as pb;
use pb::admin_service_server::{AdminService, AdminServiceServer};
use tonic::{Request, Response, Status};

use super::api_auth::{Caller, authorize};
use super::convert;
use super::query::{no_host, store_failed};
use crate::auth::ApiRole;
use crate::query::{Clock, HostSort, PageRequest};
use crate::refresh::{Progress, Refresher};
use crate::store::{AuditEntry, Store};
use crate::updates::Updater;

pub struct AdminApi {
    store: Arc<dyn Store>,
    updater: Arc<Updater>,
    refresher: Arc<Refresher>,
    silent_after_ms: i64,
}

impl AdminApi {
    pub fn new(store: Arc<dyn Store>, updater: Arc<Updater>, refresher: Arc<Refresher>, silent_after_ms: i64) -> Self {
        Self { store, updater, refresher, silent_after_ms }
    }

    pub fn into_service(self) -> AdminServiceServer<Self> {
        AdminServiceServer::new(self)
    }

    fn clock(&self) -> Clock {
        Clock { now_ms: crate::clock::now_ms(), silent_after_ms: self.silent_after_ms }
    }

    async fn audit(&self, caller: &Caller, action: &str, target: &str, detail: &str) -> Result<(), Status> {
        let actor = caller.actor();
        let entry = AuditEntry { at: crate::clock::now_ms(), actor: &actor, action, target, detail };
        self.store.audit(&entry).await.map_err(store_failed)
    }

    async fn host_info(&self, name: &str) -> Result<pb::HostInfo, Status> {
        let host = self.store.host(name).await.map_err(store_failed)?.ok_or_else(|| no_host(name))?;
        Ok(convert::host_detail(&host, &self.clock()))
    }

    async fn repository(&self, id: i64) -> Result<pb::RepositoryInfo, Status> {
        let repos = self.store.repos().await.map_err(store_failed)?;
        let repo = repos.iter().find(|r| r.id == id).ok_or_else(|| no_repo(id))?;
        Ok(convert::repository(repo, &self.clock()))
    }
}

fn no_repo(id: i64) -> Status {
    Status::not_found(format!("no repository {id}"))
}

fn hostname(raw: &str) -> Result<String, Status> {
    let name = raw.trim().to_ascii_lowercase();
    if name.is_empty() {
        return Err(Status::invalid_argument("hostname: is required"));
    }
    Ok(name)
}

#[tonic::async_trait]
impl AdminService for AdminApi {
    async fn set_host_tag(&self, req: Request<pb::SetHostTagRequest>) -> Result<Response<pb::HostInfo>, Status> {
        let caller = authorize(&*self.store, &req, ApiRole::Admin).await?;
        let r = req.into_inner();
        let name = hostname(&r.hostname)?;
        let tag = crate::fields::tag("tag", &r.tag).map_err(|e| Status::invalid_argument(e.to_string()))?;
        if !self.store.set_host_tag(&name, &tag, r.present).await.map_err(store_failed)? {
            return Err(no_host(&name));
        }
        let action = if r.present { "host.tag" } else { "host.untag" };
        self.audit(&caller, action, &name, &tag).await?;
        Ok(Response::new(self.host_info(&name).await?))
    }

    async fn set_use_host_repos(
        &self,
        req: Request<pb::SetUseHostReposRequest>,
    ) -> Result<Response<pb::HostInfo>, Status> {
        let caller = authorize(&*self.store, &req, ApiRole::Admin).await?;
        let r = req.into_inner();
        let name = hostname(&r.hostname)?;
        if !self.store.set_use_host_repos(&name, r.use_host_repos).await.map_err(store_failed)? {
            return Err(no_host(&name));
        }
        self.audit(&caller, "host.use-host-repos", &name, if r.use_host_repos { "yes" } else { "no" }).await?;
        self.updater.notify();
        Ok(Response::new(self.host_info(&name).await?))
    }

    async fn delete_host(
        &self,
        req: Request<pb::DeleteHostRequest>,
    ) -> Result<Response<pb::DeleteHostResponse>, Status> {
        let caller = authorize(&*self.store, &req, ApiRole::Admin).await?;
        let name = hostname(&req.get_ref().hostname)?;
        if !self.store.delete_host(&name).await.map_err(store_failed)? {
            return Err(no_host(&name));
        }
        self.audit(&caller, "host.delete", &name, "").await?;
        Ok(Response::new(pb::DeleteHostResponse {}))
    }

    async fn set_repository_security(
        &self,
        req: Request<pb::SetRepositorySecurityRequest>,
    ) -> Result<Response<pb::RepositoryInfo>, Status> {
        let caller = authorize(&*self.store, &req, ApiRole::Admin).await?;
        let r = req.into_inner();
        let security = match r.security.as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            "auto" => None,
            other => return Err(Status::invalid_argument(format!("security: {other:?} is not yes, no or auto"))),
        };
        if !self.store.set_repo_security(r.repository_id, security).await.map_err(store_failed)? {
            return Err(no_repo(r.repository_id));
        }
        self.audit(&caller, "repo.security", &r.repository_id.to_string(), &r.security).await?;
        self.updater.notify();
        Ok(Response::new(self.repository(r.repository_id).await?))
    }

    async fn set_repository_enabled(
        &self,
        req: Request<pb::SetRepositoryEnabledRequest>,
    ) -> Result<Response<pb::RepositoryInfo>, Status> {
        let caller = authorize(&*self.store, &req, ApiRole::Admin).await?;
        let r = req.into_inner();
        if !self.store.set_repo_enabled(r.repository_id, r.enabled).await.map_err(store_failed)? {
            return Err(no_repo(r.repository_id));
        }
        let action = if r.enabled { "repo.enable" } else { "repo.disable" };
        self.audit(&caller, action, &r.repository_id.to_string(), "").await?;
        self.updater.notify();
        Ok(Response::new(self.repository(r.repository_id).await?))
    }

    async fn set_mirror_enabled(
        &self,
        req: Request<pb::SetMirrorEnabledRequest>,
    ) -> Result<Response<pb::Mirror>, Status> {
        let caller = authorize(&*self.store, &req, ApiRole::Admin).await?;
        let r = req.into_inner();
        if !self.store.set_mirror_enabled(r.mirror_id, r.enabled).await.map_err(store_failed)? {
            return Err(Status::not_found(format!("no mirror {}", r.mirror_id)));
        }
        let action = if r.enabled { "mirror.enable" } else { "mirror.disable" };
        self.audit(&caller, action, &r.mirror_id.to_string(), "").await?;
        let repos = self.store.repos().await.map_err(store_failed)?;
        let mirror = repos
            .iter()
            .flat_map(|x| x.mirrors.iter().map(move |m| (x.id, m)))
            .find(|(_, m)| m.id == r.mirror_id)
            .map(|(repo, m)| convert::mirror(repo, m))
            .ok_or_else(|| Status::not_found(format!("no mirror {}", r.mirror_id)))?;
        Ok(Response::new(mirror))
    }

    async fn refresh_repositories(
        &self,
        req: Request<pb::RefreshRepositoriesRequest>,
    ) -> Result<Response<pb::RefreshRepositoriesResponse>, Status> {
        let caller = authorize(&*self.store, &req, ApiRole::Admin).await?;
        let r = req.into_inner();
        let only = (r.repository_id != 0).then_some(r.repository_id);
        if let Some(id) = only
            && !self.store.repos().await.map_err(store_failed)?.iter().any(|x| x.id == id)
        {
            return Err(no_repo(id));
        }
        self.audit(&caller, "repo.refresh", &only.map_or_else(|| "all".to_owned(), |i| i.to_string()), "").await?;
        let summary = self.refresher.run(only, r.force, &Progress::Log).await.map_err(|e| {
            tracing::error!(err = %e, "a refresh failed");
            Status::unavailable(format!("the refresh failed: {e}"))
        })?;
        self.updater.notify();
        Ok(Response::new(pb::RefreshRepositoriesResponse {
            repositories: summary.repos as i64,
            changed: summary.changed as i64,
            failed: summary.failed.len() as i64,
        }))
    }

    async fn recompute_hosts(
        &self,
        req: Request<pb::RecomputeHostsRequest>,
    ) -> Result<Response<pb::RecomputeHostsResponse>, Status> {
        let caller = authorize(&*self.store, &req, ApiRole::Admin).await?;
        let r = req.into_inner();
        let filter = convert::host_filter("filter", &r.filter)?;
        let clock = self.clock();
        let mut ids = Vec::new();
        let mut page = PageRequest { page: 1, per_page: PageRequest::MAX_PER_PAGE };
        loop {
            let list = self.store.host_list(&filter, &HostSort::default(), page, &clock).await.map_err(store_failed)?;
            for h in &list.rows {
                if let Some(id) = self.store.host_id(&h.hostname).await.map_err(store_failed)? {
                    ids.push(id);
                }
            }
            if list.rows.len() < page.per_page as usize {
                break;
            }
            page.page += 1;
        }
        self.audit(&caller, "host.recompute", &format!("{} hosts", ids.len()), &r.filter).await?;
        self.store.mark_stale(Some(&ids)).await.map_err(store_failed)?;
        let stats =
            self.updater.recompute(&ids).await.map_err(|e| Status::unavailable(format!("cannot recompute: {e}")))?;
        Ok(Response::new(pb::RecomputeHostsResponse { hosts: stats.hosts as i64, updates: stats.updates as i64 }))
    }
}
