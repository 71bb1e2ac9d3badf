//! One client HTTP/2 connection's request handle, as the tower service tonic's generated client
//! calls: the link (`crate::link`) makes it, the connection's stream (`crate::session`) sends on
//! it.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use hyper::client::conn::http2::SendRequest;

/// One HTTP/2 connection's request handle, as a tower service for tonic's generated client.
#[derive(Clone)]
pub(crate) struct Http2(SendRequest<tonic::body::Body>);

impl Http2 {
    pub(crate) fn new(sender: SendRequest<tonic::body::Body>) -> Self {
        Http2(sender)
    }

    /// Whether the connection is gone.
    pub(crate) fn is_closed(&self) -> bool {
        self.0.is_closed()
    }
}

impl tower_service::Service<http::Request<tonic::body::Body>> for Http2 {
    type Response = http::Response<hyper::body::Incoming>;
    type Error = hyper::Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, hyper::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), hyper::Error>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<tonic::body::Body>) -> Self::Future {
        Box::pin(self.0.send_request(request))
    }
}
