//! What the HTTP layer knows about its deployment, from the operator's configuration — never
//! from a request's headers, which any client can set — and the headers every response carries.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, SET_COOKIE, X_CONTENT_TYPE_OPTIONS,
    X_FRAME_OPTIONS,
};
use axum::middleware::Next;
use axum::response::Response;

/// How people and channels reach this server.
#[derive(Clone, Debug)]
pub struct WebConfig {
    /// The address the workstation, the citizen page and Open311 are reached at
    /// (`https://12345.example.gov.cn`): its scheme decides whether cookies are `Secure`, and it
    /// is the base of the Open311 discovery document.
    public_url: url::Url,
    /// Reverse proxies whose `X-Forwarded-For` is believed (a TLS terminator, a load balancer).
    trusted_proxies: Vec<std::net::IpAddr>,
}

impl WebConfig {
    /// `public_url` must be `http` or `https`, with no query or fragment.
    pub fn new(public_url: &str) -> Result<Self, String> {
        let url = url::Url::parse(public_url.trim()).map_err(|e| {
            format!("--public-url {public_url:?} is not a URL ({e}); write e.g. https://12345.example.gov.cn")
        })?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
            return Err(format!(
                "--public-url {public_url:?} must be an http:// or https:// address with a host"
            ));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(format!(
                "--public-url {public_url:?} takes no query or fragment"
            ));
        }
        Ok(Self {
            public_url: url,
            trusted_proxies: Vec::new(),
        })
    }

    /// Believes `X-Forwarded-For` from these peers.
    pub fn with_trusted_proxies(mut self, proxies: Vec<std::net::IpAddr>) -> Self {
        self.trusted_proxies = proxies;
        self
    }

    /// Where a request came from: `peer`, unless it is a trusted proxy; then the last address
    /// of `forwarded` (as the proxies appended them) that is not a trusted proxy.
    pub fn client_address(
        &self,
        peer: std::net::IpAddr,
        forwarded: &[std::net::IpAddr],
    ) -> std::net::IpAddr {
        if !self.trusted_proxies.contains(&peer) {
            return peer;
        }
        forwarded
            .iter()
            .rev()
            .find(|a| !self.trusted_proxies.contains(a))
            .copied()
            .unwrap_or(peer)
    }

    /// For a server reached on loopback only (tests, a demo on one's own machine).
    pub fn local(addr: std::net::SocketAddr) -> Self {
        Self::new(&format!("http://{addr}"))
            .unwrap_or_else(|_| unreachable!("a socket address makes a valid http URL"))
    }

    /// Cookies carry `Secure` whenever the public address is HTTPS.
    pub fn secure_cookies(&self) -> bool {
        self.public_url.scheme() == "https"
    }

    /// Whether the public address is plain HTTP on a host other than this machine: logins would
    /// travel in clear, so the login page and the server's log say so.
    pub fn insecure_away_from_loopback(&self) -> bool {
        let loopback = match self.public_url.host() {
            Some(url::Host::Domain(name)) => name == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        !self.secure_cookies() && !loopback
    }

    /// The public address followed by `path` (which starts with `/`).
    pub fn url_of(&self, path: &str) -> String {
        format!("{}{path}", self.public_url.as_str().trim_end_matches('/'))
    }
}

/// The policy every page is served under: scripts, styles and images from this server only (no
/// inline script anywhere), no framing, forms posting only here.
const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
    connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the security headers to every response: the CSP (unless the handler set a stricter
/// one), no framing, no referrer leaving the site, no sniffing, and `no-store` unless the
/// handler chose a cache policy (only the static files do) — pages and API answers carry
/// citizens' requests, so no browser or proxy may keep them. Cookies get `Secure` when the
/// public address is HTTPS.
pub async fn security_headers(
    State(config): State<Arc<WebConfig>>,
    request: Request,
    next: Next,
) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    if config.secure_cookies() {
        let cookies: Vec<HeaderValue> = headers.get_all(SET_COOKIE).iter().cloned().collect();
        headers.remove(SET_COOKIE);
        for cookie in cookies {
            let secured = match cookie.to_str() {
                Ok(text) if !text.contains("; Secure") => {
                    HeaderValue::from_str(&format!("{text}; Secure")).unwrap_or(cookie)
                }
                _ => cookie,
            };
            headers.append(SET_COOKIE, secured);
        }
    }
    headers
        .entry(CONTENT_SECURITY_POLICY)
        .or_insert(HeaderValue::from_static(CSP));
    headers.insert(X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers
        .entry(CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_address_decides_cookies_and_links() {
        let public = WebConfig::new("https://12345.example.gov.cn/").unwrap();
        assert!(public.secure_cookies());
        assert!(!public.insecure_away_from_loopback());
        assert_eq!(
            public.url_of("/open311/v2"),
            "https://12345.example.gov.cn/open311/v2"
        );
        let local = WebConfig::local("127.0.0.1:8080".parse().unwrap());
        assert!(!local.secure_cookies());
        assert!(!local.insecure_away_from_loopback());
        let lan = WebConfig::new("http://10.0.0.5:8080").unwrap();
        assert!(lan.insecure_away_from_loopback());
        for bad in [
            "ftp://x",
            "12345.example.gov.cn",
            "https://x/?a=1",
            "http://",
        ] {
            assert!(WebConfig::new(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_forwarded_address_is_believed_only_from_a_trusted_proxy() {
        let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
        let config = WebConfig::local("127.0.0.1:8080".parse().unwrap())
            .with_trusted_proxies(vec![ip("10.0.0.1")]);
        let claimed = [ip("1.2.3.4"), ip("5.6.7.8")];
        assert_eq!(
            config.client_address(ip("9.9.9.9"), &claimed),
            ip("9.9.9.9")
        );
        assert_eq!(
            config.client_address(ip("10.0.0.1"), &claimed),
            ip("5.6.7.8")
        );
        assert_eq!(config.client_address(ip("10.0.0.1"), &[]), ip("10.0.0.1"));
    }
}
