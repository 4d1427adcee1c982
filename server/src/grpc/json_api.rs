//! `/api/v1/…`: the query API for `curl` and scripts, as JSON over plain HTTP GET. Each path
//! calls the `QueryService` RPC of the table below in process, so tokens (`Authorization:
//! Bearer`), filters, order and page tokens are the gRPC API's own. Path segments and query
//! parameters are the request message's fields by their proto names (`?filter=tag%3Dweb&
//! page_size=50`); an unknown parameter is refused by name. The answer is the response
//! message in JSON with proto field names, every field present, 64-bit integers as numbers
//! and enums by name. `WatchHostStatus` streams, and is gRPC only.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse as _, Response};
use axum::routing::get;
use patchman_proto as pb;
use pb::query_service_server::QueryService as _;
use prost::Message as _;
use prost_reflect::{DescriptorPool, DynamicMessage, Kind, MessageDescriptor, SerializeOptions, Value};
use tonic::{Code, Status};

use super::query::QueryApi;

/// Path (under `/api/v1`) → RPC of `patchman.v1.QueryService`.
const ROUTES: &[(&str, &str)] = &[
    ("/hosts", "ListHosts"),
    ("/hosts/{hostname}", "GetHost"),
    ("/hosts/{hostname}/packages", "ListHostPackages"),
    ("/hosts/{hostname}/updates", "ListHostUpdates"),
    ("/packages", "ListPackages"),
    ("/packages/{name}/hosts", "ListPackageHosts"),
    ("/repositories", "ListRepositories"),
    ("/repositories/{repository_id}/mirrors", "ListMirrors"),
    ("/mirrors", "ListMirrors"),
    ("/os-groups", "ListOsGroups"),
    ("/errata", "ListErrata"),
    ("/summary", "GetSummary"),
    ("/advisories", "ListAdvisories"),
    ("/advisories/{name}", "GetAdvisory"),
    ("/cves/{cve}", "GetCve"),
    ("/hosts/{hostname}/exposures", "ListHostExposures"),
    ("/time-to-patch", "GetTimeToPatch"),
];

pub fn router(api: Arc<QueryApi>) -> Router {
    let mut router = Router::new();
    for &(path, rpc) in ROUTES {
        router = router.route(
            path,
            get(
                move |State(api): State<Arc<QueryApi>>,
                      params: Option<Path<Vec<(String, String)>>>,
                      query: RawQuery,
                      headers: HeaderMap| async move {
                    let params = params.map(|Path(p)| p).unwrap_or_default();
                    answer(&api, rpc, params, query.0, &headers).await
                },
            ),
        );
    }
    router
        .fallback(|| async { error(Code::NotFound, "no such API path: see /api/v1/ in the README".to_owned()) })
        .with_state(api)
}

fn pool() -> &'static DescriptorPool {
    static POOL: OnceLock<DescriptorPool> = OnceLock::new();
    POOL.get_or_init(|| DescriptorPool::decode(pb::FILE_DESCRIPTOR_SET).expect("the build's own descriptors"))
}

async fn answer(
    api: &QueryApi,
    rpc: &str,
    params: Vec<(String, String)>,
    query: Option<String>,
    headers: &HeaderMap,
) -> Response {
    let method = pool()
        .get_service_by_name("patchman.v1.QueryService")
        .and_then(|s| s.methods().find(|m| m.name() == rpc))
        .expect("every route names an RPC of QueryService");
    let fields: Vec<(String, String)> = match serde_urlencoded::from_str(query.as_deref().unwrap_or("")) {
        Ok(f) => f,
        Err(e) => return error(Code::InvalidArgument, format!("the query string: {e}")),
    };
    let request = match request(method.input(), params.into_iter().chain(fields)) {
        Ok(r) => r,
        Err(status) => return error(status.code(), status.message().to_owned()),
    };
    let auth = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok());
    match call(api, rpc, request.encode_to_vec(), auth).await {
        Ok(bytes) => json(method.output(), &bytes),
        Err(status) => error(status.code(), status.message().to_owned()),
    }
}

/// The request message from path and query fields, each named and typed as in the proto.
fn request(desc: MessageDescriptor, fields: impl Iterator<Item = (String, String)>) -> Result<DynamicMessage, Status> {
    let mut msg = DynamicMessage::new(desc.clone());
    for (name, text) in fields {
        let Some(field) = desc.get_field_by_name(&name) else {
            let known: Vec<String> = desc.fields().map(|f| f.name().to_owned()).collect();
            return Err(Status::invalid_argument(format!(
                "{name}: no such parameter (this path takes: {})",
                known.join(", ")
            )));
        };
        let bad = |what: &str| Status::invalid_argument(format!("{name}: {what}, not {text:?}"));
        let value = match field.kind() {
            Kind::String => Value::String(text),
            Kind::Bool => Value::Bool(match text.as_str() {
                "true" | "1" | "yes" => true,
                "false" | "0" | "no" | "" => false,
                _ => return Err(bad("true or false")),
            }),
            Kind::Int32 => Value::I32(text.parse().map_err(|_| bad("a number"))?),
            Kind::Int64 => Value::I64(text.parse().map_err(|_| bad("a number"))?),
            _ => return Err(Status::invalid_argument(format!("{name}: not settable from a URL"))),
        };
        msg.set_field(&field, value);
    }
    Ok(msg)
}

fn with_auth<T>(message: T, auth: Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>) -> tonic::Request<T> {
    let mut req = tonic::Request::new(message);
    if let Some(auth) = auth {
        req.metadata_mut().insert("authorization", auth);
    }
    req
}

/// Calls the RPC with the encoded request; the encoded response.
async fn call(
    api: &QueryApi,
    rpc: &str,
    body: Vec<u8>,
    auth: Option<tonic::metadata::MetadataValue<tonic::metadata::Ascii>>,
) -> Result<Vec<u8>, Status> {
    let malformed = |e: prost::DecodeError| Status::internal(format!("cannot re-encode the request: {e}"));
    macro_rules! rpc {
        ($method:ident) => {{
            let message = prost::Message::decode(body.as_slice()).map_err(malformed)?;
            Ok(api.$method(with_auth(message, auth)).await?.into_inner().encode_to_vec())
        }};
    }
    match rpc {
        "ListHosts" => rpc!(list_hosts),
        "GetHost" => rpc!(get_host),
        "ListHostPackages" => rpc!(list_host_packages),
        "ListHostUpdates" => rpc!(list_host_updates),
        "ListPackages" => rpc!(list_packages),
        "ListPackageHosts" => rpc!(list_package_hosts),
        "ListRepositories" => rpc!(list_repositories),
        "ListMirrors" => rpc!(list_mirrors),
        "ListOsGroups" => rpc!(list_os_groups),
        "ListErrata" => rpc!(list_errata),
        "GetSummary" => rpc!(get_summary),
        "ListAdvisories" => rpc!(list_advisories),
        "GetAdvisory" => rpc!(get_advisory),
        "GetCve" => rpc!(get_cve),
        "ListHostExposures" => rpc!(list_host_exposures),
        "GetTimeToPatch" => rpc!(get_time_to_patch),
        other => Err(Status::unimplemented(format!("{other} has no JSON mapping"))),
    }
}

fn json(desc: MessageDescriptor, bytes: &[u8]) -> Response {
    let options =
        SerializeOptions::new().stringify_64_bit_integers(false).use_proto_field_name(true).skip_default_fields(false);
    let mut out = Vec::with_capacity(bytes.len() * 2);
    let written = DynamicMessage::decode(desc, bytes).map_err(|e| e.to_string()).and_then(|msg| {
        let mut ser = serde_json::Serializer::new(&mut out);
        msg.serialize_with_options(&mut ser, &options).map_err(|e| e.to_string())
    });
    match written {
        Ok(()) => (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], out).into_response(),
        Err(e) => error(Code::Internal, format!("cannot write the answer as JSON: {e}")),
    }
}

/// `{"error": {"code": "NOT_FOUND", "message": "…"}}` with the HTTP status gRPC's code maps to.
fn error(code: Code, message: String) -> Response {
    let status = match code {
        Code::InvalidArgument | Code::FailedPrecondition | Code::OutOfRange => StatusCode::BAD_REQUEST,
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::PermissionDenied => StatusCode::FORBIDDEN,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Code::Unimplemented => StatusCode::NOT_IMPLEMENTED,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let name = format!("{code:?}");
    let body = serde_json::json!({ "error": { "code": screaming(&name), "message": message } });
    let mut res = (status, axum::Json(body)).into_response();
    if code == Code::Unauthenticated {
        res.headers_mut().insert(header::WWW_AUTHENTICATE, header::HeaderValue::from_static("Bearer"));
    }
    res
}

/// `InvalidArgument` → `INVALID_ARGUMENT`, as gRPC's own JSON mappings name codes.
fn screaming(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_route_names_an_rpc_with_a_mapping() {
        let service = super::pool().get_service_by_name("patchman.v1.QueryService").unwrap();
        for (path, rpc) in super::ROUTES {
            let method = service.methods().find(|m| m.name() == *rpc).unwrap_or_else(|| panic!("{path}: {rpc}"));
            // Path parameters are fields of the request.
            for seg in path.split('/').filter(|s| s.starts_with('{')) {
                let field = seg.trim_matches(|c| c == '{' || c == '}');
                assert!(method.input().get_field_by_name(field).is_some(), "{path}: {field}");
            }
        }
        assert_eq!(super::screaming("InvalidArgument"), "INVALID_ARGUMENT");
    }
}
