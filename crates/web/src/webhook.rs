//! The SMS gateway transport: each message is POSTed as JSON to a configured URL, with its stable
//! id in the body and in an `Idempotency-Key` header, so a gateway can drop a message it already
//! has. Any 2xx answer is delivery; anything else (a redirect too, which is never followed, or no
//! answer within ten seconds) is retried.
//!
//! The body carries a citizen's full number, so the gateway is reached over HTTPS (rustls; the
//! system's roots, or only the CA given with `--notify-webhook-ca`), plain HTTP only on loopback,
//! and every request is signed: `X-Minsheng-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of
//! "<t>.<body>" under the shared secret>`, which the gateway checks (and rejects when `t` is old).

use std::path::Path;
use std::time::Duration;

use app::notify::{Outgoing, Transport};
use hmac::{Hmac, KeyInit, Mac};
use jiff::Timestamp;
use sha2::Sha256;

/// The header that carries the signature.
pub const SIGNATURE_HEADER: &str = "X-Minsheng-Signature";

pub struct WebhookTransport {
    url: url::Url,
    secret: Vec<u8>,
    client: reqwest::Client,
}

impl WebhookTransport {
    /// `url` must be HTTPS, or HTTP to this machine; `secret` (16 characters or more) signs every
    /// request; `ca_pem`, when given, is the only certificate authority trusted for the gateway.
    pub fn new(url: &str, secret: &str, ca_pem: Option<&Path>) -> Result<Self, String> {
        let url = url::Url::parse(url.trim())
            .map_err(|e| format!("the webhook URL {url:?} is not a URL ({e})"))?;
        let loopback = match url.host() {
            Some(url::Host::Domain(name)) => name == "localhost",
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        match (url.scheme(), loopback) {
            ("https", _) | ("http", true) => {}
            ("http", false) => {
                return Err(format!(
                    "the webhook {url} is plain HTTP away from this machine, and messages carry citizens' numbers: use https://"
                ));
            }
            _ => {
                return Err(format!(
                    "the webhook URL must start with https:// (or http:// to this machine), not {url}"
                ));
            }
        }
        if secret.trim().chars().count() < 16 {
            return Err(
                "the webhook needs a shared secret of 16 characters or more (--notify-webhook-secret) to sign its requests"
                    .to_owned(),
            );
        }
        let mut builder = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .https_only(!loopback);
        if let Some(path) = ca_pem {
            let pem = std::fs::read(path).map_err(|e| {
                format!("cannot read the webhook's CA file {}: {e}", path.display())
            })?;
            let ca = reqwest::Certificate::from_pem(&pem)
                .map_err(|e| format!("{} is not a PEM certificate: {e}", path.display()))?;
            builder = builder.tls_certs_only([ca]);
        }
        let client = builder
            .build()
            .map_err(|e| format!("preparing the webhook client: {e}"))?;
        Ok(Self {
            url,
            secret: secret.trim().as_bytes().to_vec(),
            client,
        })
    }

    /// The signature header's value for `body` sent at `now`.
    pub fn signature(&self, body: &[u8], now: Timestamp) -> String {
        sign(&self.secret, body, now.as_second())
    }
}

/// `t=<seconds>,v1=<hex HMAC-SHA256("<seconds>." ‖ body)>`: what a gateway recomputes to check a
/// request came from this server and was not replayed later.
pub fn sign(secret: &[u8], body: &[u8], seconds: i64) -> String {
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(secret) else {
        return String::new();
    };
    mac.update(format!("{seconds}.").as_bytes());
    mac.update(body);
    format!(
        "t={seconds},v1={}",
        hex::encode(mac.finalize().into_bytes())
    )
}

#[async_trait::async_trait]
impl Transport for WebhookTransport {
    async fn send(&self, message: &Outgoing, now: Timestamp) -> Result<(), String> {
        let body = serde_json::to_vec(message).map_err(|e| e.to_string())?;
        let response = self
            .client
            .post(self.url.clone())
            .header("Idempotency-Key", &message.id)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header(SIGNATURE_HEADER, self.signature(&body, now))
            .body(body)
            .send()
            .await
            // Only what kind of failure: the error's text may carry the URL, never a number.
            .map_err(|e| {
                if e.is_timeout() {
                    "the gateway did not answer in time".to_owned()
                } else if e.is_connect() {
                    "the gateway could not be reached (or its certificate was not trusted)"
                        .to_owned()
                } else {
                    "the request to the gateway failed".to_owned()
                }
            })?;
        if response.status().is_success() {
            Ok(())
        } else {
            // Only the status: a gateway's error text may repeat the number, and this error is
            // logged and kept with the message. A redirect is not followed.
            Err(format!("the gateway answered {}", response.status()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_https_or_loopback_with_a_secret() {
        let secret = "a-shared-secret-of-some-length";
        assert!(WebhookTransport::new("https://sms.example/send", secret, None).is_ok());
        assert!(WebhookTransport::new("http://127.0.0.1:9/send", secret, None).is_ok());
        let plain = WebhookTransport::new("http://sms.example/send", secret, None);
        assert!(plain.err().unwrap().contains("plain HTTP"));
        assert!(WebhookTransport::new("ftp://sms.example", secret, None).is_err());
        let weak = WebhookTransport::new("https://sms.example/send", "short", None);
        assert!(weak.err().unwrap().contains("16 characters"));
    }

    #[test]
    fn the_signature_covers_the_time_and_the_body() {
        let a = sign(b"secret", b"{\"to\":\"1\"}", 1_795_658_400);
        assert!(a.starts_with("t=1795658400,v1="), "{a}");
        assert_ne!(a, sign(b"secret", b"{\"to\":\"2\"}", 1_795_658_400));
        assert_ne!(a, sign(b"secret", b"{\"to\":\"1\"}", 1_795_658_401));
        assert_ne!(a, sign(b"other", b"{\"to\":\"1\"}", 1_795_658_400));
    }
}
