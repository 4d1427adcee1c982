//! Who sent an upload: a host token (`Authorization: Bearer pmh_…`, from `patchman host
//! token`), an API key (`Authorization: Api-Key pmk_…`, Patchman's protocol-2 header, also
//! accepted as `Bearer pmk_…`), or, only where an administrator listed the network, nobody
//! in particular. Anything else is refused with a line that says what to send.

use std::net::IpAddr;

use crate::tls::Peer;
use axum::http::{HeaderMap, StatusCode, header};
use ipnet::IpNet;

use super::refusal::Refusal;
use crate::config::CompatConfig;
use crate::ingest::Sender;

/// The networks allowed to upload without credentials, and the proxies trusted to say who
/// the client is.
#[derive(Debug, Clone, Default)]
pub struct Trust {
    networks: Vec<IpNet>,
    proxies: Vec<IpNet>,
}

impl Trust {
    /// From `[compat]`; a value that is no CIDR is an error naming its key.
    pub fn from_config(c: &CompatConfig) -> anyhow::Result<Self> {
        let parse = |key: &str, list: &[String]| {
            list.iter()
                .map(|raw| {
                    let raw = raw.trim();
                    raw.parse::<IpNet>()
                        .or_else(|_| raw.parse::<IpAddr>().map(IpNet::from))
                        .map_err(|_| anyhow::anyhow!("[compat] {key}: {raw:?} is not a network (e.g. 10.0.0.0/8)"))
                })
                .collect::<anyhow::Result<Vec<IpNet>>>()
        };
        Ok(Self {
            networks: parse("unauthenticated_networks", &c.unauthenticated_networks)?,
            proxies: parse("trusted_proxies", &c.trusted_proxies)?,
        })
    }

    /// The client's address: the peer's, or behind a trusted proxy the last forwarded
    /// address that is not one.
    fn client(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = peer?;
        if !self.proxies.iter().any(|p| p.contains(&peer)) {
            return Some(peer);
        }
        let forwarded: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .filter_map(|a| a.trim().parse().ok())
            .collect();
        Some(forwarded.into_iter().rev().find(|a| !self.proxies.iter().any(|p| p.contains(a))).unwrap_or(peer))
    }
}

/// The sender of a request, or why it is refused.
pub fn sender(trust: &Trust, headers: &HeaderMap, peer: Option<&Peer>) -> Result<Sender, Refusal> {
    if let Some(value) = headers.get(header::AUTHORIZATION) {
        let value = value
            .to_str()
            .map_err(|_| Refusal::new(StatusCode::UNAUTHORIZED, "the Authorization header is not text"))?;
        let (scheme, secret) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
        let secret = secret.trim();
        if secret.is_empty() {
            return Err(Refusal::new(StatusCode::UNAUTHORIZED, format!("the Authorization header has no {scheme}")));
        }
        return match scheme.to_ascii_lowercase().as_str() {
            "api-key" => Ok(Sender::ApiKey(secret.to_owned())),
            "bearer" if secret.starts_with("pmk_") => Ok(Sender::ApiKey(secret.to_owned())),
            "bearer" => Ok(Sender::HostToken(secret.to_owned())),
            _ => Err(Refusal::new(
                StatusCode::UNAUTHORIZED,
                format!("Authorization scheme {scheme:?} is not Bearer (a host token) or Api-Key (an API key)"),
            )),
        };
    }
    let client = trust.client(peer.map(Peer::ip), headers);
    match client {
        Some(address) if trust.networks.iter().any(|n| n.contains(&address)) => Ok(Sender::Network(address)),
        _ => Err(Refusal::new(
            StatusCode::UNAUTHORIZED,
            "an upload needs credentials: the host's token as `Authorization: Bearer TOKEN` \
             (`patchman host token HOSTNAME`) or an API key as `Authorization: Api-Key KEY` \
             (`patchman api-key create NAME`)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(*k, v.parse().unwrap());
        }
        h
    }

    fn peer(a: &str) -> Peer {
        Peer { addr: std::net::SocketAddr::new(a.parse().unwrap(), 40000), cert: None }
    }

    fn trust(networks: &[&str], proxies: &[&str]) -> Trust {
        let c = CompatConfig {
            unauthenticated_networks: networks.iter().map(|s| (*s).to_owned()).collect(),
            trusted_proxies: proxies.iter().map(|s| (*s).to_owned()).collect(),
        };
        Trust::from_config(&c).unwrap()
    }

    #[test]
    fn credentials_are_read_from_the_authorization_header() {
        let t = Trust::default();
        let s = |v: &str| sender(&t, &headers(&[("authorization", v)]), None);
        assert_eq!(s("Bearer pmh_abc").unwrap(), Sender::HostToken("pmh_abc".into()));
        assert_eq!(s("Api-Key pmk_abc").unwrap(), Sender::ApiKey("pmk_abc".into()));
        assert_eq!(s("api-key  pmk_abc ").unwrap(), Sender::ApiKey("pmk_abc".into()));
        assert_eq!(s("Bearer pmk_abc").unwrap(), Sender::ApiKey("pmk_abc".into()), "a key as a bearer token");
        let basic = s("Basic dXNlcjpwdw==").unwrap_err();
        assert_eq!(basic.status, StatusCode::UNAUTHORIZED);
        assert!(basic.message.contains("\"Basic\" is not Bearer"), "{}", basic.message);
        assert!(s("Bearer").unwrap_err().message.contains("has no Bearer"));
    }

    #[test]
    fn no_credentials_are_accepted_only_from_a_listed_network() {
        let t = trust(&["10.1.0.0/16", "192.0.2.7"], &[]);
        let none = HeaderMap::new();
        assert_eq!(sender(&t, &none, Some(&peer("10.1.2.3"))).unwrap(), Sender::Network("10.1.2.3".parse().unwrap()));
        assert_eq!(sender(&t, &none, Some(&peer("192.0.2.7"))).unwrap(), Sender::Network("192.0.2.7".parse().unwrap()));
        let outside = sender(&t, &none, Some(&peer("10.2.0.1"))).unwrap_err();
        assert_eq!(outside.status, StatusCode::UNAUTHORIZED);
        assert!(outside.message.contains("patchman host token"), "{}", outside.message);
        assert!(sender(&t, &none, None).is_err(), "no peer address: no network");
        assert!(sender(&Trust::default(), &none, Some(&peer("10.1.2.3"))).is_err(), "none listed by default");
    }

    #[test]
    fn behind_a_trusted_proxy_the_forwarded_address_counts_and_only_then() {
        let t = trust(&["10.1.0.0/16"], &["127.0.0.1/32"]);
        let fwd = headers(&[("x-forwarded-for", "10.9.9.9, 10.1.2.3")]);
        assert_eq!(sender(&t, &fwd, Some(&peer("127.0.0.1"))).unwrap(), Sender::Network("10.1.2.3".parse().unwrap()));
        // A client outside the network cannot claim an address inside it without a proxy.
        let forged = headers(&[("x-forwarded-for", "10.1.2.3")]);
        assert!(sender(&t, &forged, Some(&peer("203.0.113.5"))).is_err());
        // The last entry is the one the proxy added: what the client wrote before it is not.
        let appended = headers(&[("x-forwarded-for", "10.1.2.3, 203.0.113.5")]);
        assert!(sender(&t, &appended, Some(&peer("127.0.0.1"))).is_err());
    }

    #[test]
    fn a_bad_network_is_refused_naming_its_key() {
        let c = CompatConfig { unauthenticated_networks: vec!["10.0.0.0/33".into()], ..Default::default() };
        let err = Trust::from_config(&c).unwrap_err().to_string();
        assert!(err.contains("[compat] unauthenticated_networks") && err.contains("10.0.0.0/33"), "{err}");
    }
}
