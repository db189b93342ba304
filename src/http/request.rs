//! What a request carries besides its path: its parameters (query string,
//! then a bounded body: urlencoded, multipart or flat JSON), its credentials
//! (parameters, else HTTP Basic) and the client's address.

use std::{net::IpAddr, time::Duration};

use axum::{
    body::Body,
    http::{HeaderMap, Method, header, request::Parts},
};
use base64::Engine;
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::{
    auth::Credentials,
    base::{ApiError, Params},
    http::params::{BodyKind, ParamsBuilder},
    settings::Settings,
};

/// Bodies larger than this are parsed on a blocking thread.
const PARSE_INLINE_BYTES: usize = 64 * 1024;

/// Query string, then (for POST) the body: urlencoded, multipart or flat JSON.
pub async fn read_params(settings: &Settings, parts: &Parts, body: Body) -> Result<Params, ApiError> {
    let mut builder = ParamsBuilder::default();
    if let Some(query) = parts.uri.query() {
        builder.add_urlencoded(query.as_bytes());
    }
    if parts.method == Method::POST {
        let declared = parts.headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|len| len > settings.max_body_bytes as u64) {
            return Err(ApiError::PayloadTooLarge);
        }
        let read = Limited::new(body, settings.max_body_bytes).collect();
        let bytes = match tokio::time::timeout(Duration::from_secs(settings.limits.body_read_timeout_secs), read).await
        {
            Ok(Ok(collected)) => collected.to_bytes(),
            Ok(Err(err)) if err.is::<LengthLimitError>() => return Err(ApiError::PayloadTooLarge),
            Ok(Err(_)) | Err(_) => return Err(ApiError::invalid("", "The request body could not be read.")),
        };
        if !bytes.is_empty() {
            let kind = match parts.headers.get(header::CONTENT_TYPE).map(|v| v.to_str()) {
                // Declared, but not readable as text: not a type Switchyard reads.
                Some(Err(_)) => BodyKind::Unsupported,
                declared => BodyKind::from_content_type(declared.and_then(Result::ok)),
            };
            // A large body is parsed on a blocking thread, so that one client's
            // megabyte of keys does not stall the calls of others.
            if bytes.len() > PARSE_INLINE_BYTES && matches!(kind, BodyKind::UrlEncoded | BodyKind::Json) {
                builder = tokio::task::spawn_blocking(move || {
                    match kind {
                        BodyKind::Json => builder.add_json(&bytes),
                        _ => builder.add_urlencoded(&bytes),
                    }
                    builder
                })
                .await
                .map_err(ApiError::internal)?;
                return builder.finish().map_err(ApiError::Invalid);
            }
            match kind {
                BodyKind::UrlEncoded => builder.add_urlencoded(&bytes),
                BodyKind::Json => builder.add_json(&bytes),
                BodyKind::Multipart(boundary) => builder.add_multipart(bytes, boundary).await,
                BodyKind::Unsupported => builder.reject_body("The request body's content type is not supported."),
            }
        }
    }
    builder.finish().map_err(ApiError::Invalid)
}

/// `auth_username`/`auth_password` parameters, else HTTP Basic. Parameters win
/// when both are present.
pub fn credentials(params: &Params, headers: &HeaderMap) -> Option<Credentials> {
    let (username, password) = (params.get("auth_username"), params.get("auth_password"));
    if username.is_some() || password.is_some() {
        return Some(Credentials {
            username: username.unwrap_or_default().to_string(),
            password: password.unwrap_or_default().to_string(),
        });
    }
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let decoded = String::from_utf8(decoded).ok()?;
    let (username, password) = decoded.split_once(':')?;
    Some(Credentials { username: username.to_string(), password: password.to_string() })
}

/// The scheme the client used: `https` only when a trusted proxy says so in
/// `X-Forwarded-Proto` (it ends TLS and calls us over plain HTTP); anyone
/// else's header is the client's own to write and is ignored. As with
/// `X-Forwarded-For`, the last entry is the one our proxy wrote: a proxy
/// that appends leaves the client's own claim in front of it.
pub fn forwarded_scheme(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> &'static str {
    let says_https = || {
        let last_line = headers.get_all("x-forwarded-proto").iter().next_back();
        let proto = last_line.and_then(|v| v.to_str().ok()).unwrap_or("");
        proto.rsplit(',').next().is_some_and(|last| last.trim().eq_ignore_ascii_case("https"))
    };
    if trusted.contains(&peer) && says_https() { "https" } else { "http" }
}

/// The peer's address, unless the peer is a trusted proxy: then the last
/// address of `X-Forwarded-For` that is not itself a trusted proxy.
pub fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    let forwarded = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|a| forwarded_address(a.trim()))
        .collect::<Vec<_>>();
    forwarded.into_iter().rev().find(|a| !trusted.contains(a)).unwrap_or(peer)
}

/// An `X-Forwarded-For` entry: an address, or `IP:port` / `[IPv6]:port` as
/// some load balancers write them. An entry that is none of these is skipped.
fn forwarded_address(entry: &str) -> Option<IpAddr> {
    entry
        .parse::<IpAddr>()
        .ok()
        .or_else(|| entry.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
        .or_else(|| entry.strip_prefix('[')?.strip_suffix(']')?.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "203.0.113.9, 198.51.100.7, 10.0.0.1".parse().unwrap());
        assert_eq!(client_address(proxy, &headers, &[]), proxy);
        assert_eq!(client_address(proxy, &headers, &[proxy]), "198.51.100.7".parse::<IpAddr>().unwrap());
        assert_eq!(client_address(proxy, &HeaderMap::new(), &[proxy]), proxy);
    }

    #[test]
    fn forwarded_entries_with_ports() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        for (entry, client) in [
            ("203.0.113.9:5555", "203.0.113.9"),
            ("[2001:db8::7]:443", "2001:db8::7"),
            ("[2001:db8::7]", "2001:db8::7"),
            ("2001:db8::8", "2001:db8::8"),
        ] {
            let mut headers = HeaderMap::new();
            headers.insert("x-forwarded-for", format!("198.51.100.1, {entry}").parse().unwrap());
            assert_eq!(client_address(proxy, &headers, &[proxy]), client.parse::<IpAddr>().unwrap(), "{entry}");
        }
    }

    #[test]
    fn parameters_win_over_basic() {
        let mut headers = HeaderMap::new();
        headers.insert(header::AUTHORIZATION, "Basic YWRtaW46c2VjcmV0".parse().unwrap());
        let basic = credentials(&Params::default(), &headers).unwrap();
        assert_eq!((basic.username.as_str(), basic.password.as_str()), ("admin", "secret"));
        let params = Params::from_pairs([("auth_username", "bob"), ("auth_password", "pw")]);
        assert_eq!(credentials(&params, &headers).unwrap().username, "bob");
        assert!(credentials(&Params::default(), &HeaderMap::new()).is_none());
    }
}
