use reqwest::Method;

use crate::harness::*;

/// Every operation the document (derived from the handlers) describes is routed (an unrouted path answers 404 with an empty
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
        ("/v1/maintenance-windows", "get"),
        ("/v1/ops/maintenance-windows", "post"),
        ("/v1/ops/maintenance-windows/{id}/ending", "post"),
        ("/v1/termination", "get"),
        ("/v1/ops/termination", "post"),
        ("/v1/ops/termination/withdrawal", "post"),
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
        ("/v1/rp/service-ids", "post"),
        ("/v1/service-id-logins/{client_id}/challenges", "post"),
        ("/v1/service-id-logins/{client_id}/authentications", "post"),
        ("/v1/rp/service-id-logins/{code}", "post"),
        ("/v1/rp/ppid-services/{id}/pinless-requests", "post"),
        ("/v1/pinless-requests/{handle}", "get"),
        ("/v1/pinless-requests/{handle}/approval", "post"),
        ("/v1/ops/point-rounds", "get"),
        ("/v1/ops/point-rounds", "post"),
        ("/v1/ops/point-rounds/{id}/opening", "post"),
        ("/v1/ops/point-rounds/{id}/closing", "post"),
        ("/v1/ops/payment-services", "get"),
        ("/v1/ops/payment-services/{id}/approval", "post"),
        ("/v1/ops/payment-services/{id}/withdrawal", "post"),
        ("/v1/rp/payment-services", "get"),
        ("/v1/rp/payment-services", "post"),
        ("/v1/point-programme", "get"),
        ("/v1/me/point-applications", "get"),
        ("/v1/me/point-applications", "post"),
        ("/v1/me/point-applications/{id}/withdrawal", "post"),
        ("/v1/me/point-applications/{id}/triggers", "post"),
        ("/v1/rp/point-applications", "get"),
        ("/v1/rp/point-applications/{id}", "get"),
        ("/v1/rp/point-applications/{id}/validation", "post"),
        ("/v1/rp/point-applications/challenges", "post"),
        ("/v1/rp/point-applications", "post"),
        ("/v1/rp/point-rounds/{id}/transactions", "post"),
        ("/v1/rp/point-rounds/{id}/grant-batches", "post"),
        ("/v1/rp/point-grant-batches/{id}/grants", "get"),
        ("/v1/rp/point-grant-batches/{id}/confirmation", "post"),
        ("/v1/ops/point-rounds/{id}/statement", "get"),
        ("/v1/ops/point-rounds/{id}/statement.csv", "get"),
        ("/v1/rp/profile", "get"),
        ("/v1/rp/profile", "put"),
    ] {
        assert!(
            paths[path].get(method).is_some(),
            "{method} {path} is not described"
        );
    }
}

/// Every operation, with the answers it describes: those the hand-written document of the API's
/// first slices described are all here, the refusals included, so that deriving the document
/// lost none. A new operation is added here with its answers.
const OPERATIONS: &[(&str, &str, &[u16])] = &[
    ("get", "/metrics", &[200, 401, 404]),
    ("get", "/v1/termination", &[200]),
    (
        "post",
        "/v1/ops/termination",
        &[201, 401, 403, 409, 413, 422],
    ),
    (
        "post",
        "/v1/ops/termination/withdrawal",
        &[200, 401, 403, 404, 410],
    ),
    ("get", "/v1/maintenance-windows", &[200]),
    (
        "post",
        "/v1/ops/maintenance-windows",
        &[201, 401, 403, 413, 422],
    ),
    (
        "post",
        "/v1/ops/maintenance-windows/{id}/ending",
        &[200, 400, 401, 403, 404],
    ),
    ("post", "/v1/auth/challenges", &[201, 413, 422]),
    (
        "post",
        "/v1/auth/responses",
        &[201, 400, 401, 403, 413, 422, 503],
    ),
    ("get", "/v1/me", &[200, 401]),
    ("get", "/v1/me/my-key-id", &[200, 401, 404]),
    ("post", "/v1/me/my-key-id", &[201, 401, 409, 422]),
    ("put", "/v1/me/my-key-id", &[200, 401, 404, 409, 422]),
    ("delete", "/v1/me/my-key-id", &[204, 401, 404]),
    ("get", "/v1/me/my-key-id/consent", &[200, 401]),
    ("get", "/v1/me/log", &[200, 401, 422]),
    ("get", "/v1/me/log/verify", &[200, 401]),
    ("get", "/v1/ops/relying-parties", &[200, 401, 403]),
    (
        "post",
        "/v1/ops/relying-parties",
        &[201, 401, 403, 413, 422],
    ),
    (
        "post",
        "/v1/ops/relying-parties/{id}/approval",
        &[200, 401, 403, 404],
    ),
    (
        "post",
        "/v1/ops/relying-parties/{id}/suspension",
        &[200, 401, 403, 404],
    ),
    (
        "post",
        "/v1/ops/relying-parties/{id}/secret",
        &[200, 401, 403, 404],
    ),
    (
        "post",
        "/v1/rp/service-id-requests",
        &[201, 401, 403, 413, 422],
    ),
    ("get", "/v1/rp/service-ids", &[200, 401, 403, 404, 422]),
    (
        "post",
        "/v1/rp/service-ids",
        &[201, 401, 403, 404, 409, 413, 422, 429, 503],
    ),
    (
        "post",
        "/v1/service-id-logins/{client_id}/challenges",
        &[201, 403, 404, 409, 410, 413, 422],
    ),
    (
        "post",
        "/v1/service-id-logins/{client_id}/authentications",
        &[201, 400, 401, 403, 404, 409, 410, 413, 422, 503],
    ),
    (
        "post",
        "/v1/rp/service-id-logins/{code}",
        &[200, 400, 401, 403],
    ),
    (
        "post",
        "/v1/rp/ppid-services/{id}/pinless-requests",
        &[201, 400, 401, 403, 404, 413, 422, 429],
    ),
    ("get", "/v1/pinless-requests/{handle}", &[200, 403, 404]),
    (
        "post",
        "/v1/pinless-requests/{handle}/approval",
        &[201, 400, 401, 403, 404, 409, 413, 422, 503],
    ),
    ("get", "/v1/ops/point-rounds", &[200, 401, 403]),
    (
        "post",
        "/v1/ops/point-rounds",
        &[201, 400, 401, 403, 409, 413, 422],
    ),
    (
        "post",
        "/v1/ops/point-rounds/{id}/opening",
        &[200, 400, 401, 403, 404, 409, 422],
    ),
    (
        "post",
        "/v1/ops/point-rounds/{id}/closing",
        &[200, 400, 401, 403, 404, 409, 422],
    ),
    ("get", "/v1/ops/payment-services", &[200, 401, 403]),
    (
        "post",
        "/v1/ops/payment-services/{id}/approval",
        &[200, 400, 401, 403, 404, 422],
    ),
    (
        "post",
        "/v1/ops/payment-services/{id}/withdrawal",
        &[200, 400, 401, 403, 404, 422],
    ),
    ("get", "/v1/rp/payment-services", &[200, 401, 403]),
    (
        "post",
        "/v1/rp/payment-services",
        &[201, 400, 401, 403, 409, 413, 422],
    ),
    ("get", "/v1/point-programme", &[200]),
    ("get", "/v1/me/point-applications", &[200, 401]),
    (
        "post",
        "/v1/me/point-applications",
        &[201, 400, 401, 404, 409, 413, 422],
    ),
    (
        "post",
        "/v1/me/point-applications/{id}/withdrawal",
        &[200, 400, 401, 404, 409, 422],
    ),
    (
        "post",
        "/v1/me/point-applications/{id}/triggers",
        &[200, 400, 401, 404, 409, 413, 422, 429, 503],
    ),
    (
        "get",
        "/v1/rp/point-applications",
        &[200, 400, 401, 403, 422],
    ),
    (
        "get",
        "/v1/rp/point-applications/{id}",
        &[200, 400, 401, 403, 404, 422],
    ),
    (
        "post",
        "/v1/rp/point-applications/{id}/validation",
        &[200, 400, 401, 403, 404, 409, 413, 422],
    ),
    (
        "post",
        "/v1/rp/point-rounds/{id}/transactions",
        &[200, 400, 401, 403, 404, 409, 413, 422],
    ),
    (
        "post",
        "/v1/rp/point-rounds/{id}/grant-batches",
        &[201, 400, 401, 403, 404, 409, 422, 429],
    ),
    (
        "get",
        "/v1/rp/point-grant-batches/{id}/grants",
        &[200, 400, 401, 403, 404, 422],
    ),
    (
        "post",
        "/v1/rp/point-grant-batches/{id}/confirmation",
        &[200, 400, 401, 403, 404, 409, 422],
    ),
    (
        "get",
        "/v1/ops/point-rounds/{id}/statement",
        &[200, 400, 401, 403, 404, 422],
    ),
    (
        "get",
        "/v1/ops/point-rounds/{id}/statement.csv",
        &[200, 400, 401, 403, 404, 422],
    ),
    (
        "post",
        "/v1/rp/point-applications/challenges",
        &[201, 401, 403],
    ),
    (
        "post",
        "/v1/rp/point-applications",
        &[201, 400, 401, 403, 404, 409, 413, 422, 503],
    ),
    ("get", "/v1/rp/profile", &[200, 401, 403]),
    ("put", "/v1/rp/profile", &[200, 401, 403, 413, 422]),
    (
        "delete",
        "/v1/rp/service-ids/{customer_id}",
        &[204, 401, 403, 404],
    ),
    ("get", "/v1/link-requests/{id}", &[200, 403, 404, 409, 410]),
    (
        "post",
        "/v1/link-requests/{id}/challenges",
        &[201, 403, 404, 409, 410],
    ),
    (
        "post",
        "/v1/link-requests/{id}/approval",
        &[201, 400, 401, 403, 404, 409, 410, 413, 422, 503],
    ),
    (
        "post",
        "/v1/link-requests/{id}/refusal",
        &[204, 403, 404, 409, 410],
    ),
    ("get", "/v1/me/service-ids", &[200, 401]),
    ("delete", "/v1/me/service-ids/{id}", &[204, 401, 404]),
    ("get", "/v1/terms", &[200]),
    ("post", "/v1/ops/terms", &[201, 401, 403, 409, 413, 422]),
    ("get", "/v1/rp/ppid-services", &[200, 401, 403]),
    ("post", "/v1/rp/ppid-services", &[201, 401, 403, 413, 422]),
    (
        "post",
        "/v1/rp/ppid-services/{id}/authentications/{code}",
        &[200, 400, 401, 403, 404],
    ),
    (
        "get",
        "/v1/rp/ppid-services/{id}/ppids",
        &[200, 401, 403, 404, 422],
    ),
    (
        "put",
        "/v1/rp/ppid-services/{id}/ppids/{ppid}",
        &[200, 401, 403, 404, 413, 422],
    ),
    ("get", "/v1/ppid-services/{id}", &[200, 403, 404]),
    (
        "post",
        "/v1/ppid-services/{id}/challenges",
        &[201, 403, 404],
    ),
    (
        "post",
        "/v1/ppid-services/{id}/authentications",
        &[201, 400, 401, 403, 404, 413, 422, 503],
    ),
    ("get", "/v1/me/ppid-services", &[200, 401]),
    ("delete", "/v1/me/ppid-services/{id}", &[204, 401, 404]),
    ("get", "/v1/me/export", &[200, 401]),
    ("get", "/health", &[200]),
    ("get", "/health/live", &[200]),
    ("get", "/health/ready", &[200, 503]),
    (
        "put",
        "/v1/ops/relying-parties/{id}/jwks",
        &[200, 401, 403, 404, 413, 422],
    ),
    (
        "delete",
        "/v1/ops/relying-parties/{id}/jwks",
        &[200, 401, 403, 404],
    ),
    ("post", "/oidc/token", &[200, 400, 401]),
    ("post", "/v1/rp/events", &[200, 401, 403, 413, 422]),
    ("get", "/oidc/jwks", &[200]),
    ("get", "/v1/rp/stream", &[200, 401, 403, 404]),
    ("put", "/v1/rp/stream", &[200, 401, 403, 413, 422]),
    ("delete", "/v1/rp/stream", &[204, 401, 403, 404]),
    (
        "get",
        "/v1/ops/relying-parties/{id}/stream",
        &[200, 401, 403, 404],
    ),
    (
        "post",
        "/v1/rp/service-ids/{customer_id}/facts-check",
        &[200, 401, 403, 404, 422, 503],
    ),
    (
        "get",
        "/v1/authorizations/{handle}",
        &[200, 404, 409, 410, 429],
    ),
    (
        "post",
        "/v1/authorizations/{handle}/challenges",
        &[201, 404, 409, 410, 429],
    ),
    (
        "post",
        "/v1/authorizations/{handle}/approval",
        &[200, 400, 401, 403, 404, 409, 410, 422, 429, 503],
    ),
    (
        "post",
        "/v1/authorizations/{handle}/refusal",
        &[204, 404, 409, 410, 422, 429],
    ),
    (
        "get",
        "/v1/ops/relying-parties/{id}/oidc-client",
        &[200, 401, 403, 404],
    ),
    (
        "put",
        "/v1/ops/relying-parties/{id}/oidc-client",
        &[200, 401, 403, 404, 422],
    ),
    ("get", "/.well-known/openid-configuration", &[200]),
    ("get", "/oidc/authorize", &[200, 303, 400]),
    ("post", "/oidc/authorize", &[200, 303, 400]),
    ("get", "/oidc/authorize/status", &[200, 400, 404]),
    (
        "get",
        "/oidc/authorize/continue",
        &[200, 303, 400, 404, 409],
    ),
    ("get", "/oidc/userinfo", &[200, 401]),
    ("post", "/oidc/userinfo", &[200, 401]),
    ("get", "/oidc/logout", &[200, 303, 400]),
    ("post", "/oidc/logout", &[200, 303, 400]),
    (
        "get",
        "/v1/ops/authorization-reports",
        &[200, 401, 403, 422],
    ),
    ("get", "/v1/ops/operators", &[200, 401, 403]),
    (
        "post",
        "/v1/ops/operators",
        &[201, 401, 403, 404, 409, 413, 422],
    ),
    (
        "delete",
        "/v1/ops/operators/{id}",
        &[204, 401, 403, 404, 409],
    ),
    ("get", "/v1/ops/operator-log", &[200, 401, 403, 422]),
    ("get", "/v1/ops/operator-log/verify", &[200, 401, 403]),
    ("get", "/v1/ops/people/{my_key_id}", &[200, 401, 403, 404]),
    (
        "get",
        "/v1/ops/people/{my_key_id}/log",
        &[200, 401, 403, 404, 422],
    ),
    (
        "post",
        "/v1/ops/people/{my_key_id}/suspension",
        &[204, 401, 403, 404, 409, 413, 422],
    ),
    (
        "post",
        "/v1/ops/people/{my_key_id}/resumption",
        &[204, 401, 403, 404, 409, 413, 422],
    ),
    (
        "post",
        "/v1/ops/people/{my_key_id}/my-key-id/suspension",
        &[204, 401, 403, 404, 409, 413, 422],
    ),
    (
        "post",
        "/v1/ops/people/{my_key_id}/point-forfeiture",
        &[204, 401, 403, 404, 413, 422],
    ),
    (
        "post",
        "/v1/ops/people/{my_key_id}/my-key-id/resumption",
        &[204, 401, 403, 404, 409, 413, 422],
    ),
    ("get", "/v1/openapi.json", &[200]),
    (
        "post",
        "/oidc/authorize/continue",
        &[200, 303, 404, 409, 415, 422],
    ),
];

/// The derived document describes each operation's answers: every status of [`OPERATIONS`],
/// each refusal of the REST API as a problem document and each of the token endpoint as an OAuth
/// error; and it describes no operation [`OPERATIONS`] does not name.
#[tokio::test(flavor = "multi_thread")]
async fn every_operation_describes_its_answers_and_refusals() {
    let w = world().await;
    let (status, doc) = call(&w, Method::GET, "/v1/openapi.json", None).await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    for (method, path, codes) in OPERATIONS {
        let op = &doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not described");
        for code in *codes {
            let answer = &op["responses"][code.to_string()];
            assert!(
                answer.is_object(),
                "{method} {path} does not describe its {code}"
            );
            let content = &answer["content"];
            if *code >= 400 && path.starts_with("/v1/") {
                assert_eq!(
                    content["application/problem+json"]["schema"]["$ref"],
                    "#/components/schemas/Problem",
                    "{method} {path}: {code} is not a problem document"
                );
            }
            if *code >= 400 && *path == "/oidc/token" {
                assert_eq!(
                    content["application/json"]["schema"]["$ref"],
                    "#/components/schemas/OAuthError",
                    "{method} {path}: {code} is not an OAuth error"
                );
            }
        }
    }
    for (path, ops) in doc["paths"].as_object().unwrap() {
        for method in ops.as_object().unwrap().keys() {
            assert!(
                OPERATIONS.iter().any(|(m, p, _)| m == method && p == path),
                "{method} {path} is described but not listed in OPERATIONS"
            );
        }
    }
    // Every schema a reference names is in the document.
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    let text = doc.to_string();
    for piece in text.split("\"#/components/schemas/").skip(1) {
        let name = piece.split('"').next().unwrap();
        assert!(
            schemas.contains_key(name),
            "{name} is named but not defined"
        );
    }
    for scheme in ["session", "operator", "client", "clientToken"] {
        assert!(
            doc["components"]["securitySchemes"][scheme].is_object(),
            "the {scheme} security scheme is missing"
        );
    }
}

/// A body that may be left out is described as its type, not as `null` (which the handlers
/// refuse), and not as required.
#[tokio::test(flavor = "multi_thread")]
async fn an_optional_body_is_absent_not_null() {
    let w = world().await;
    let (_, doc) = call(&w, Method::GET, "/v1/openapi.json", None).await;
    for (path, method) in [
        ("/v1/me/my-key-id", "put"),
        ("/v1/rp/events", "post"),
        ("/v1/authorizations/{handle}/refusal", "post"),
    ] {
        let body = &doc["paths"][path][method]["requestBody"];
        assert_ne!(body["required"], true, "{method} {path}");
        let schema = &body["content"]["application/json"]["schema"];
        assert!(
            schema["$ref"].is_string(),
            "{method} {path}: the body is {schema}"
        );
    }
    // And the handlers do refuse `null`.
    let (status, _) = post(
        &w,
        "/v1/authorizations/x/refusal",
        None,
        serde_json::Value::Null,
    )
    .await;
    assert_eq!(status, 422);
}
