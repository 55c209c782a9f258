//! The layer that makes every refusal of the JSON API a problem document
//! ([`super::problem::api_refusal`]): answers under `/v1/` are looked at once they are made;
//! every other request passes straight through, untouched and unboxed. (As an
//! `axum::middleware::from_fn` it cost every request — the token endpoint's included — about
//! 4 % of its CPU, measured with `mykey bench oidc-compare`: a clone of the route, and two
//! boxes, per request.)

use std::convert::Infallible;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::response::Response;
use futures_util::future::{BoxFuture, Either};

/// The layer, for `Router::layer`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ApiRefusals;

impl<S> tower::Layer<S> for ApiRefusals {
    type Service = ApiRefusalsService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ApiRefusalsService(inner)
    }
}

/// A route's service under [`ApiRefusals`].
#[derive(Clone, Debug)]
pub(crate) struct ApiRefusalsService<S>(S);

impl<S> tower::Service<Request> for ApiRefusalsService<S>
where
    S: tower::Service<Request, Response = Response, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Either<S::Future, BoxFuture<'static, Result<Response, Infallible>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let path = req.uri().path();
        if !(path == "/v1" || path.starts_with("/v1/")) {
            return Either::Left(self.0.call(req));
        }
        let answer = self.0.call(req);
        Either::Right(Box::pin(async move {
            Ok(super::problem::api_refusal(answer.await?).await)
        }))
    }
}
