//! The layer that makes every refusal of the JSON API a problem document
//! ([`super::problem::api_refusal`]): answers under `/v1/` are looked at once they are made;
//! every other request passes straight through, unboxed. (As an `axum::middleware::from_fn`
//! it cost every request — the token endpoint's included — about 4 % of its CPU, measured with
//! `mykey bench oidc-compare`: a clone of the route, and two boxes, per request.)
//!
//! It also stands between a handler's panic and the client: the request is answered 500 (a
//! problem document under `/v1/`) and the panic logged, instead of the connection dropping.

use std::convert::Infallible;
use std::panic::AssertUnwindSafe;
use std::task::{Context, Poll};

use axum::extract::Request;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use futures_util::FutureExt;
use futures_util::future::{BoxFuture, CatchUnwind, Either, Map};

/// An answered request, or the panic that stopped its handler.
type Caught = std::thread::Result<Result<Response, Infallible>>;

/// A route's answer with its handler's panic caught.
type Guarded<F> = Map<CatchUnwind<AssertUnwindSafe<F>>, fn(Caught) -> Result<Response, Infallible>>;

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
    type Future = Either<Guarded<S::Future>, BoxFuture<'static, Result<Response, Infallible>>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.0.poll_ready(cx)
    }

    fn call(&mut self, req: Request) -> Self::Future {
        let path = req.uri().path();
        let api = path == "/v1" || path.starts_with("/v1/");
        let guarded = AssertUnwindSafe(self.0.call(req))
            .catch_unwind()
            .map(recover as fn(Caught) -> Result<Response, Infallible>);
        if !api {
            return Either::Left(guarded);
        }
        Either::Right(Box::pin(async move {
            Ok(super::problem::api_refusal(guarded.await?).await)
        }))
    }
}

/// The answer, or 500 for a handler that panicked (what it panicked with goes to the log, not
/// to the client).
fn recover(caught: Caught) -> Result<Response, Infallible> {
    match caught {
        Ok(answer) => answer,
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| (*s).to_owned())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_default();
            tracing::error!(panic = %what, "a request's handler panicked; answered 500");
            Ok(StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::routing::get;
    use tower::ServiceExt;

    use super::*;

    async fn panics() -> &'static str {
        panic!("a bug")
    }

    #[tokio::test]
    async fn a_handler_s_panic_is_answered_500_and_a_problem_under_v1() {
        let app = Router::new()
            .route("/v1/boom", get(panics))
            .route("/portal/boom", get(panics))
            .layer(ApiRefusals);
        let answer = |path: &'static str| {
            let app = app.clone();
            async move {
                app.oneshot(Request::get(path).body(axum::body::Body::empty()).unwrap())
                    .await
                    .unwrap()
            }
        };
        let r = answer("/v1/boom").await;
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(r.headers()["content-type"], "application/problem+json");
        let body = axum::body::to_bytes(r.into_body(), 4096).await.unwrap();
        assert!(
            !String::from_utf8_lossy(&body).contains("a bug"),
            "nothing leaks"
        );
        let r = answer("/portal/boom").await;
        assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    }
}
