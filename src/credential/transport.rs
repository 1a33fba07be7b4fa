//! The transport every azure_identity credential gets: the tool's one reqwest client, with three
//! rules the SDK's own reqwest transport does not keep.
//!
//! - A token endpoint's answer (Entra ID, IMDS, the App Service endpoint) is read to at most
//!   [`TOKEN_BODY_LIMIT`]: a huge or endless body is cut there, whatever its framing.
//! - A 429 or 5xx is asked again, honouring `Retry-After` (at most [`MAX_RETRY_WAIT`]), as long
//!   as the wait ends before the token deadline; the SDK's own retries are off.
//! - The last answer is kept, so a request that fails or runs out of time says what the endpoint
//!   actually answered (an IMDS 500 is a 500, not a timeout).

use crate::http::{BodyError, TOKEN_BODY_LIMIT, read_body_capped};
use azure_core::http::headers::{HeaderName, HeaderValue, Headers};
use azure_core::http::{AsyncRawResponse, Body, HttpClient, Method, Request};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// Tries per request, the first included.
pub(crate) const MAX_TRIES: u32 = 3;
/// The longest `Retry-After` the tool waits for; a longer one is reported, not waited out.
pub(crate) const MAX_RETRY_WAIT: Duration = Duration::from_secs(5);
/// The wait before a retry when the answer named none.
const DEFAULT_RETRY_WAIT: Duration = Duration::from_secs(1);

/// What the token endpoint last did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LastAnswer {
    /// An HTTP status other than success.
    Status {
        host: String,
        status: u16,
        retry_after: Option<Duration>,
        tries: u32,
    },
    /// A body past [`TOKEN_BODY_LIMIT`].
    TooLarge { host: String },
    /// The connection was reset or closed before an answer: a fault of the moment, like a 5xx.
    Reset { host: String, tries: u32 },
}

#[derive(Debug)]
pub(crate) struct TokenTransport {
    http: reqwest::Client,
    deadline: Instant,
    last: Mutex<Option<LastAnswer>>,
}

impl TokenTransport {
    /// A transport for one token request whose deadline is `timeout` from now.
    pub(crate) fn new(http: reqwest::Client, timeout: Duration) -> TokenTransport {
        TokenTransport {
            http,
            deadline: Instant::now() + timeout,
            last: Mutex::new(None),
        }
    }

    /// The last failed answer, if the last request did not succeed.
    pub(crate) fn last_answer(&self) -> Option<LastAnswer> {
        self.last.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn remember(&self, answer: Option<LastAnswer>) {
        *self.last.lock().unwrap_or_else(|e| e.into_inner()) = answer;
    }

    fn retry_wait(
        &self,
        status: u16,
        headers: &reqwest::header::HeaderMap,
        tries: u32,
    ) -> Option<Duration> {
        retry_wait(status, headers, tries, self.deadline)
    }
}

/// The wait before the next try of a token request that got `status` on its `tries`-th try, or
/// None when there is to be no next try: not transient, out of tries, asked to wait longer than
/// [`MAX_RETRY_WAIT`], or the wait would end too close to `deadline`.
pub(crate) fn retry_wait(
    status: u16,
    headers: &reqwest::header::HeaderMap,
    tries: u32,
    deadline: Instant,
) -> Option<Duration> {
    if !is_transient(status) || tries >= MAX_TRIES {
        return None;
    }
    let wait = match retry_after(headers) {
        Some(asked) if asked > MAX_RETRY_WAIT => return None,
        Some(asked) => asked,
        None => DEFAULT_RETRY_WAIT * tries,
    };
    // Leave the next try a second to be answered in.
    (Instant::now() + wait + Duration::from_secs(1) < deadline).then_some(wait)
}

/// 429 and the 5xx statuses that mean "try again" (not 501, 505: those will not change).
pub(crate) fn is_transient(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

/// `Retry-After` in seconds (the form Entra ID, IMDS and Azure services send); an HTTP-date is
/// not honoured and counts as absent.
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?;
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[async_trait::async_trait]
impl HttpClient for TokenTransport {
    async fn execute_request(&self, request: &Request) -> azure_core::Result<AsyncRawResponse> {
        let host = request.url().host_str().unwrap_or_default().to_string();
        let mut tries = 0;
        loop {
            tries += 1;
            let rsp = match crate::http::execute(&self.http, to_reqwest(&self.http, request)?).await
            {
                Ok(rsp) => rsp,
                Err(e) if is_reset(&e) => {
                    self.remember(Some(LastAnswer::Reset {
                        host: host.clone(),
                        tries,
                    }));
                    let wait = DEFAULT_RETRY_WAIT * tries;
                    if tries < MAX_TRIES
                        && Instant::now() + wait + Duration::from_secs(1) < self.deadline
                    {
                        tokio::time::sleep(wait).await;
                        continue;
                    }
                    return Err(send_error(e));
                }
                Err(e) => return Err(send_error(e)),
            };
            let status = rsp.status().as_u16();
            let wait = self.retry_wait(status, rsp.headers(), tries);
            let retry_after = retry_after(rsp.headers());
            let headers = to_headers(rsp.headers());
            let body = match read_body_capped(rsp, TOKEN_BODY_LIMIT).await {
                Ok(body) => body,
                Err(e) => {
                    if matches!(e, BodyError::TooLarge { .. }) {
                        self.remember(Some(LastAnswer::TooLarge { host: host.clone() }));
                    }
                    return Err(azure_core::Error::with_message(
                        azure_core::error::ErrorKind::Io,
                        format!("{host}: {e}"),
                    ));
                }
            };
            let failed = !(200..300).contains(&status);
            self.remember(failed.then(|| LastAnswer::Status {
                host: host.clone(),
                status,
                retry_after,
                tries,
            }));
            match wait {
                Some(wait) => tokio::time::sleep(wait).await,
                None => {
                    return Ok(AsyncRawResponse::from_bytes(status.into(), headers, body));
                }
            }
        }
    }
}

/// A connection reset, aborted or closed mid-exchange (not a refused connection, not a
/// timeout): the endpoint or something in between dropped it, and a retry may well succeed.
pub(crate) fn is_reset(err: &reqwest::Error) -> bool {
    if err.is_timeout() {
        return false;
    }
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(s) = source {
        if let Some(io) = s.downcast_ref::<std::io::Error>()
            && matches!(
                io.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::UnexpectedEof
                    | std::io::ErrorKind::BrokenPipe
            )
        {
            return true;
        }
        let text = s.to_string().to_ascii_lowercase();
        if text.contains("connection reset")
            || text.contains("connection closed before message completed")
            || text.contains("unexpected eof")
        {
            return true;
        }
        source = s.source();
    }
    false
}

fn send_error(err: reqwest::Error) -> azure_core::Error {
    let kind = if err.is_connect() {
        azure_core::error::ErrorKind::Connection
    } else {
        azure_core::error::ErrorKind::Io
    };
    azure_core::Error::with_error(kind, err, "failed to execute `reqwest` request")
}

fn to_reqwest(http: &reqwest::Client, request: &Request) -> azure_core::Result<reqwest::Request> {
    let method = match request.method() {
        Method::Delete => reqwest::Method::DELETE,
        Method::Get => reqwest::Method::GET,
        Method::Head => reqwest::Method::HEAD,
        Method::Patch => reqwest::Method::PATCH,
        Method::Post => reqwest::Method::POST,
        Method::Put => reqwest::Method::PUT,
        other => {
            return Err(azure_core::Error::with_message(
                azure_core::error::ErrorKind::Other,
                format!("entraprobe's token transport does not send {other:?} requests"),
            ));
        }
    };
    let mut builder = http.request(method, request.url().clone());
    for (name, value) in request.headers().iter() {
        builder = builder.header(name.as_str(), value.as_str());
    }
    // Token requests are small forms or bodiless GETs; a stream would not survive a retry.
    let body = match request.body() {
        Body::Bytes(bytes) => bytes.clone(),
        Body::SeekableStream(_) => {
            return Err(azure_core::Error::with_message(
                azure_core::error::ErrorKind::Other,
                "entraprobe's token transport sends no streamed bodies",
            ));
        }
    };
    builder.body(body).build().map_err(|e| {
        azure_core::Error::with_error(azure_core::error::ErrorKind::Other, e, "bad token request")
    })
}

fn to_headers(map: &reqwest::header::HeaderMap) -> Headers {
    let headers: HashMap<HeaderName, HeaderValue> = map
        .iter()
        .filter_map(|(k, v)| {
            let value = v.to_str().ok()?;
            Some((
                HeaderName::from(k.as_str().to_owned()),
                HeaderValue::from(value.to_owned()),
            ))
        })
        .collect();
    Headers::from(headers)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> reqwest::header::HeaderMap {
        let mut map = reqwest::header::HeaderMap::new();
        for (k, v) in pairs {
            map.insert(
                reqwest::header::HeaderName::from_bytes(k.as_bytes()).unwrap(),
                v.parse().unwrap(),
            );
        }
        map
    }

    #[tokio::test]
    async fn retries_only_transient_answers_and_only_within_the_deadline() {
        let t = TokenTransport::new(reqwest::Client::new(), Duration::from_secs(30));
        assert_eq!(t.retry_wait(400, &headers(&[]), 1), None);
        assert_eq!(t.retry_wait(501, &headers(&[]), 1), None);
        assert_eq!(
            t.retry_wait(429, &headers(&[("retry-after", "2")]), 1),
            Some(Duration::from_secs(2))
        );
        assert_eq!(
            t.retry_wait(503, &headers(&[]), 2),
            Some(Duration::from_secs(2))
        );
        assert_eq!(t.retry_wait(503, &headers(&[]), MAX_TRIES), None);
        // Longer than the tool waits: reported, not waited out.
        assert_eq!(
            t.retry_wait(429, &headers(&[("retry-after", "60")]), 1),
            None
        );

        let short = TokenTransport::new(reqwest::Client::new(), Duration::from_secs(2));
        assert_eq!(
            short.retry_wait(429, &headers(&[("retry-after", "2")]), 1),
            None,
            "the wait would end past the deadline"
        );
    }

    #[test]
    fn retry_after_in_seconds_is_read_and_a_date_is_not() {
        assert_eq!(
            retry_after(&headers(&[("retry-after", " 3 ")])),
            Some(Duration::from_secs(3))
        );
        assert_eq!(
            retry_after(&headers(&[(
                "retry-after",
                "Wed, 21 Oct 2015 07:28:00 GMT"
            )])),
            None
        );
    }
}
