//! The SMS gateway transport: each message is POSTed as JSON to a configured URL, with its stable
//! id in the body and in an `Idempotency-Key` header, so a gateway can drop a message it already
//! has. Any 2xx answer is delivery; anything else (or no answer within ten seconds) is retried.

use std::time::Duration;

use app::notify::{Outgoing, Transport};

pub struct WebhookTransport {
    url: String,
    client: reqwest::Client,
}

impl WebhookTransport {
    pub fn new(url: &str) -> Result<Self, String> {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!(
                "the webhook URL must start with http:// or https://, not {url:?}"
            ));
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("preparing the webhook client: {e}"))?;
        Ok(Self {
            url: url.to_owned(),
            client,
        })
    }
}

#[async_trait::async_trait]
impl Transport for WebhookTransport {
    async fn send(&self, message: &Outgoing) -> Result<(), String> {
        let response = self
            .client
            .post(&self.url)
            .header("Idempotency-Key", &message.id)
            .json(message)
            .send()
            .await
            .map_err(|e| format!("the gateway did not answer: {e}"))?;
        if response.status().is_success() {
            Ok(())
        } else {
            // Only the status: a gateway's error text may repeat the number, and this error is
            // logged and kept with the message.
            Err(format!("the gateway answered {}", response.status()))
        }
    }
}
