use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::*;

/// Every object key in `v`, with the path to it.
fn keys(v: &Value, path: &str, out: &mut Vec<(String, String)>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                out.push((path.to_owned(), k.clone()));
                keys(x, &format!("{path}.{k}"), out);
            }
        }
        Value::Array(a) => a.iter().for_each(|x| keys(x, &format!("{path}[]"), out)),
        _ => {}
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_person_exports_everything_held_about_them_without_internal_ids() {
    let w = world().await;
    let city = relying_party(&w, "City").await;
    let card = card(&w).await;
    let token = login(&w, &card).await;
    let (_, created) = post(&w, "/v1/me/my-key-id", Some(&token), my_key_id_creation()).await;
    let (_, changed) = call(&w, Method::PUT, "/v1/me/my-key-id", Some(&token)).await;
    let id = link_request(&w, &city, "C-41").await;
    assert_eq!(approve(&w, &card, &id, full_consent()).await.0, 201);
    let (status, _) = rp(&w, &city, Method::DELETE, "/v1/rp/service-ids/C-41", None).await;
    assert_eq!(status, 204);
    let id = link_request(&w, &city, "C-42").await;
    assert_eq!(approve(&w, &card, &id, full_consent()).await.0, 201);
    let (_, service) = rp(
        &w,
        &city,
        Method::POST,
        "/v1/rp/ppid-services",
        Some(json!({"name": "Portal"})),
    )
    .await;
    let sid = service["id"].as_i64().unwrap();
    let (_, c) = post(
        &w,
        &format!("/v1/ppid-services/{sid}/challenges"),
        None,
        json!({}),
    )
    .await;
    let mut body = answer_for(&card, c["nonce"].as_str().unwrap());
    body.as_object_mut().unwrap().remove("purpose");
    body["consent"] = json!({
        "items": ["ppid.certificate-to-platform", "ppid.managed-with-issuance-number",
                  "ppid.customer-id-association", "ppid.validity-check",
                  "ppid.previous-issuance-numbers", "ppid.jlis-previous-number-search"],
        "terms_version": "2026-11-01",
    });
    let (status, issued) = post(
        &w,
        &format!("/v1/ppid-services/{sid}/authentications"),
        None,
        body,
    )
    .await;
    assert_eq!(status, 201, "{issued}");

    let (status, export) = call(&w, Method::GET, "/v1/me/export", Some(&token)).await;
    assert_eq!(status, 200, "{export}");
    assert_eq!(export["format"], "mykey-export-v1");
    // My Key ID history: the first one changed, the second active.
    let ids = export["my_key_ids"].as_array().unwrap();
    assert_eq!(ids.len(), 2);
    assert_eq!(
        (&ids[0]["my_key_id"], &ids[0]["end_reason"]),
        (&created["id"], &json!("changed"))
    );
    assert_eq!(
        (&ids[1]["my_key_id"], &ids[1]["ended_at"]),
        (&changed["id"], &Value::Null)
    );
    // Service IDs with their consents; PPID services with the person's own PPID.
    // Every Service ID, the ended one with why.
    let links = export["service_ids"].as_array().unwrap();
    assert_eq!(
        (&links[0]["customer_id"], &links[0]["end_reason"]),
        (&json!("C-41"), &json!("removed"))
    );
    assert_eq!(
        (&links[1]["customer_id"], &links[1]["ended_at"]),
        (&json!("C-42"), &Value::Null)
    );
    assert_eq!(links[1]["consent"]["items"].as_array().unwrap().len(), 3);
    assert_eq!(export["ppid_services"][0]["name"], "Portal");
    assert_eq!(export["ppid_services"][0]["ppid"], issued["ppid"]);
    let functions: Vec<&str> = export["consents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["function"].as_str().unwrap())
        .collect();
    assert_eq!(functions, ["my-key-id", "service-id", "service-id", "ppid"]);
    // The whole log, ending with this download, and its head hash (which the verifier agrees on).
    let entries = export["log"]["entries"].as_array().unwrap();
    assert_eq!(entries.last().unwrap()["kind"], "export.downloaded");
    assert_eq!(export["log"]["head"], entries.last().unwrap()["hash"]);
    let (_, verdict) = call(&w, Method::GET, "/v1/me/log/verify", Some(&token)).await;
    assert_eq!(
        (&verdict["valid"], &verdict["head"]),
        (&json!(true), &export["log"]["head"])
    );
    let (_, log) = call(&w, Method::GET, "/v1/me/log", Some(&token)).await;
    assert_eq!(log["entries"].as_array().unwrap().len(), entries.len());

    // Never an issuance number or an internal ID.
    let text = export.to_string();
    assert!(
        !text.contains(&card.number),
        "issuance number in the export"
    );
    let mut all = Vec::new();
    keys(&export, "", &mut all);
    for (path, k) in &all {
        let allowed = ["my_key_id", "customer_id", "ppid"];
        assert!(
            !(k == "id" || k.ends_with("_id") || k.contains("person") || k.contains("issuance"))
                || allowed.contains(&k.as_str()),
            "{path}.{k} in the export"
        );
    }
    // A second download is logged too; without a session there is none.
    let (_, again) = call(&w, Method::GET, "/v1/me/export", Some(&token)).await;
    assert_eq!(
        again["log"]["entries"].as_array().unwrap().len(),
        entries.len() + 1
    );
    let (status, _) = call(&w, Method::GET, "/v1/me/export", None).await;
    assert_eq!(status, 401);
}
