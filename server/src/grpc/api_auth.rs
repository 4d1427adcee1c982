//! Who calls the query API: an API token (`patchman token create`) as `authorization: Bearer`
//! metadata, of role `read` (QueryService) or `admin` (also AdminService). Host tokens and
//! Patchman's upload keys are refused here, as API tokens are refused by ReportService.

use tonic::{Request, Status};

use crate::auth::{ApiRole, TokenHash};
use crate::store::AccountStore;

/// The caller, once authenticated: the token's name, for the audit log.
#[derive(Debug, Clone)]
pub struct Caller {
    pub name: String,
}

impl Caller {
    /// As the audit log names it.
    pub fn actor(&self) -> String {
        format!("api:{}", self.name)
    }
}

/// The caller of `req` if its token may do what `need` says.
pub async fn authorize<T>(store: &dyn AccountStore, req: &Request<T>, need: ApiRole) -> Result<Caller, Status> {
    let value = req.metadata().get("authorization").ok_or_else(|| {
        Status::unauthenticated("no API token: send `authorization: Bearer <token>` (patchman token create)")
    })?;
    let value = value.to_str().map_err(|_| Status::unauthenticated("the authorization header is not text"))?;
    let token = crate::auth::bearer(value)
        .ok_or_else(|| Status::unauthenticated("the authorization header is not `Bearer <token>`"))?;
    let now = crate::clock::now_ms();
    let found = store.api_token(&TokenHash::of(token), now).await.map_err(|err| {
        tracing::error!(%err, "cannot check an API token");
        Status::unavailable("the server cannot check the token now")
    })?;
    let Some((name, role)) = found else {
        let what = if token.starts_with("pmh_") {
            "a host token cannot query"
        } else {
            "unknown, revoked or expired API token"
        };
        return Err(Status::unauthenticated(what));
    };
    let allowed = match need {
        ApiRole::Read => matches!(role, ApiRole::Read | ApiRole::Admin),
        ApiRole::Admin => role == ApiRole::Admin,
        ApiRole::Upload => role == ApiRole::Upload,
    };
    if !allowed {
        return Err(Status::permission_denied(format!(
            "token {name} has role {}; this needs {}",
            role.as_str(),
            need.as_str()
        )));
    }
    Ok(Caller { name })
}
