use reqwest::Method;

use crate::harness::*;

/// Every operation the document describes is routed (an unrouted path answers 404 with an empty
/// body, an unrouted method 405), and every routed operation is described.
#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_document_is_in_step_with_the_router() {
    let w = world().await;
    let (status, doc) = call(&w, Method::GET, "/v1/openapi.json", None).await;
    assert_eq!(status, 200);
    let paths = doc["paths"].as_object().unwrap();
    for (path, ops) in paths {
        for method in ops.as_object().unwrap().keys() {
            let concrete = path
                .replace("{id}", "1")
                .replace("{customer_id}", "C-1")
                .replace("{code}", "x")
                .replace("{ppid}", &"0".repeat(32));
            let m = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
            let resp = w
                .http
                .request(m, format!("{}{concrete}", w.url))
                .send()
                .await
                .unwrap();
            let status = resp.status().as_u16();
            let body = resp.text().await.unwrap();
            assert!(
                status != 405 && !(status == 404 && body.is_empty()),
                "{method} {path} is described but not routed ({status})"
            );
        }
    }
    // The operations of this slice, described.
    for (path, method) in [
        ("/v1/ops/relying-parties", "post"),
        ("/v1/ops/relying-parties", "get"),
        ("/v1/ops/relying-parties/{id}/approval", "post"),
        ("/v1/ops/relying-parties/{id}/suspension", "post"),
        ("/v1/ops/relying-parties/{id}/secret", "post"),
        ("/v1/rp/service-id-requests", "post"),
        ("/v1/rp/service-ids", "get"),
        ("/v1/rp/service-ids/{customer_id}", "delete"),
        ("/v1/link-requests/{id}", "get"),
        ("/v1/link-requests/{id}/challenges", "post"),
        ("/v1/link-requests/{id}/approval", "post"),
        ("/v1/link-requests/{id}/refusal", "post"),
        ("/v1/me/service-ids", "get"),
        ("/v1/me/service-ids/{id}", "delete"),
        ("/v1/terms", "get"),
        ("/v1/ops/terms", "post"),
        ("/v1/rp/ppid-services", "get"),
        ("/v1/rp/ppid-services", "post"),
        ("/v1/rp/ppid-services/{id}/authentications/{code}", "post"),
        ("/v1/rp/ppid-services/{id}/ppids", "get"),
        ("/v1/rp/ppid-services/{id}/ppids/{ppid}", "put"),
        ("/v1/ppid-services/{id}", "get"),
        ("/v1/ppid-services/{id}/challenges", "post"),
        ("/v1/ppid-services/{id}/authentications", "post"),
        ("/v1/me/ppid-services", "get"),
        ("/v1/me/ppid-services/{id}", "delete"),
        ("/v1/me/export", "get"),
        ("/v1/ops/relying-parties/{id}/jwks", "put"),
        ("/v1/ops/relying-parties/{id}/jwks", "delete"),
        ("/oidc/token", "post"),
        ("/v1/rp/events", "post"),
        ("/oidc/jwks", "get"),
        ("/v1/rp/stream", "get"),
        ("/v1/rp/stream", "put"),
        ("/v1/rp/stream", "delete"),
        ("/v1/ops/relying-parties/{id}/stream", "get"),
        ("/v1/rp/service-ids/{customer_id}/facts-check", "post"),
        ("/.well-known/openid-configuration", "get"),
        ("/oidc/authorize", "get"),
        ("/oidc/authorize", "post"),
        ("/oidc/authorize/status", "get"),
        ("/oidc/authorize/continue", "get"),
        ("/oidc/userinfo", "get"),
        ("/oidc/userinfo", "post"),
        ("/oidc/logout", "get"),
        ("/oidc/logout", "post"),
        ("/v1/authorizations/{handle}", "get"),
        ("/v1/authorizations/{handle}/challenges", "post"),
        ("/v1/authorizations/{handle}/approval", "post"),
        ("/v1/authorizations/{handle}/refusal", "post"),
        ("/v1/ops/relying-parties/{id}/oidc-client", "get"),
        ("/v1/ops/relying-parties/{id}/oidc-client", "put"),
    ] {
        assert!(
            paths[path].get(method).is_some(),
            "{method} {path} is not described"
        );
    }
}
