//! The PIN-less route of Terms Art 20.2: the relying party gives the date of birth it holds,
//! the terminal sends what the card gives without a PIN, J-LIS vouches for the facts, and the
//! relying party redeems the code for the PPID and the four facts.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use mykey_jlis::api::{ChangeFactsRequest, IssueRequest};
use mykey_pki::Sex;
use mykey_pki::ticket::TicketFacts;
use reqwest::Method;
use serde_json::{Value, json};

use crate::harness::*;
use crate::ppids::{ppid_consent, ppid_of, ppid_service};

const NAME: &str = "高橋\u{3000}三郎";
const ADDRESS: &str = "熊本県熊本市中央区手取本町１番１号";

/// A card as the terminal reads it without a PIN: the user-identification certificate, file
/// 0002 of the ticket-item AP, and J-LIS's signature over it (file 0003).
struct Read {
    card: Card,
    facts_file: Vec<u8>,
    digest: String,
    item_id: String,
    signature: String,
}

async fn read_card(w: &World, name: &str, birth: &str) -> Read {
    let issued = w
        .jlis
        .issue(&IssueRequest {
            name: name.into(),
            address: ADDRESS.into(),
            birth_date: birth.into(),
            sex: 1,
            user_identification_public_key: B64.encode(key().spki_der()),
            signature_public_key: Some(B64.encode(key().spki_der())),
        })
        .await
        .unwrap();
    let signed = issued.ticket_item_signature.clone().unwrap();
    let date = time::Date::parse(
        birth,
        time::macros::format_description!("[year]-[month]-[day]"),
    )
    .unwrap();
    Read {
        card: Card {
            key: key(),
            cert: B64
                .decode(issued.user_identification_certificate.unwrap())
                .unwrap(),
            number: issued.issuance_number,
            signature: issued.signature_certificate.map(|c| B64.decode(c).unwrap()),
        },
        facts_file: TicketFacts::new(name, ADDRESS, date, Sex::Male)
            .unwrap()
            .to_tlv(),
        digest: signed.facts_digest,
        item_id: signed.item_id,
        signature: signed.signature,
    }
}

/// The six items of Art 20.1 and the two of Art 20.2.
fn consent() -> Value {
    let mut c = ppid_consent();
    let items = c["items"].as_array_mut().unwrap();
    items.push(json!("pinless.birth-date-to-card"));
    items.push(json!("pinless.facts-to-service"));
    c
}

fn approval(r: &Read) -> Value {
    json!({
        "certificate": B64.encode(&r.card.cert),
        "ticket_facts": B64.encode(&r.facts_file),
        "ticket_signature": {
            "facts_digest": r.digest,
            "item_id": r.item_id,
            "signature": r.signature,
        },
        "consent": consent(),
    })
}

async fn open(w: &World, client: &Client, id: i64, birth: &str) -> (u16, Value) {
    rp(
        w,
        client,
        Method::POST,
        &format!("/v1/rp/ppid-services/{id}/pinless-requests"),
        Some(json!({"birth_date": birth})),
    )
    .await
}

async fn opened(w: &World, client: &Client, id: i64, birth: &str) -> String {
    let (status, body) = open(w, client, id, birth).await;
    assert_eq!(status, 201, "{body}");
    body["request"].as_str().unwrap().to_owned()
}

async fn answer(w: &World, handle: &str, body: Value) -> (u16, Value) {
    post(
        w,
        &format!("/v1/pinless-requests/{handle}/approval"),
        None,
        body,
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_card_read_without_a_pin_gives_the_relying_party_its_ppid_and_the_four_facts() {
    let w = world().await;
    let city = relying_party(&w, "Kumamoto City").await;
    let id = ppid_service(&w, &city, "Counter").await;
    let read = read_card(&w, NAME, "1962-03-04").await;
    let handle = opened(&w, &city, id, "1962-03-04").await;

    // The terminal sees who asks, the date of birth for key B, and all eight items.
    let (status, shown) = call(
        &w,
        Method::GET,
        &format!("/v1/pinless-requests/{handle}"),
        None,
    )
    .await;
    assert_eq!(status, 200, "{shown}");
    assert_eq!(shown["relying_party"]["name"], "Kumamoto City");
    assert_eq!(shown["ppid_service"]["id"], id);
    assert_eq!(shown["birth_date"], "1962-03-04");
    let names: Vec<&str> = shown["consent"]["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(json!(names), consent()["items"]);
    assert!(
        shown["consent"]["items"][7]["text"]
            .as_str()
            .unwrap()
            .contains("Art 20.2.2")
    );

    // An incomplete consent (the PIN route's six alone) is refused and uses nothing up.
    let mut six = approval(&read);
    six["consent"] = ppid_consent();
    let (status, body) = answer(&w, &handle, six).await;
    assert_eq!(
        (status, problem_type(&body)),
        (422, "urn:mykey:problem:consent-incomplete")
    );

    let (status, approved) = answer(&w, &handle, approval(&read)).await;
    assert_eq!(status, 201, "{approved}");
    assert_eq!(approved["issued"], true);
    let ppid = approved["ppid"].as_str().unwrap().to_owned();
    // The same person by the PIN route gets the same PPID.
    assert_eq!(ppid_of(&w, &read.card, id, None).await, ppid);

    // Used once.
    let (status, body) = answer(&w, &handle, approval(&read)).await;
    assert_eq!(
        (status, problem_type(&body)),
        (404, "urn:mykey:problem:pinless-request-unknown")
    );

    // The relying party redeems the code for the PPID and the facts, once.
    let code = approved["code"].as_str().unwrap();
    let path = format!("/v1/rp/ppid-services/{id}/authentications/{code}");
    let (status, redeemed) = rp(&w, &city, Method::POST, &path, None).await;
    assert_eq!(status, 200, "{redeemed}");
    assert_eq!(redeemed["ppid"], ppid.as_str());
    assert_eq!(
        redeemed["facts"],
        json!({
            "name": NAME,
            "address": {"formatted": ADDRESS},
            "birthdate": "1962-03-04",
            "gender": "male",
        })
    );
    let (status, _) = rp(&w, &city, Method::POST, &path, None).await;
    assert_eq!(status, 400);
    // Nothing of it names the card's issuance number.
    assert_private(&read.card, &[&shown, &approved, &redeemed]);

    // The person's log tells it all.
    let token = login(&w, &read.card).await;
    let (_, log) = call(&w, Method::GET, "/v1/me/log", Some(&token)).await;
    let entries = log["entries"].as_array().unwrap();
    let find = |kind: &str, key: &str, value: &str| {
        entries
            .iter()
            .any(|e| e["kind"] == kind && e["detail"][key] == value)
    };
    assert!(find("jlis.query", "service", "ticket-items"), "{log}");
    assert!(find("consent.given", "function", "pinless-facts"), "{log}");
    assert!(find("ppid.issued", "route", "pinless"), "{log}");
    assert!(find("facts.given", "via", "pinless"), "{log}");
}

#[tokio::test(flavor = "multi_thread")]
async fn what_the_card_did_not_give_or_the_relying_party_did_not_hold_is_refused() {
    let w = world().await;
    let city = relying_party(&w, "Kumamoto City").await;
    let id = ppid_service(&w, &city, "Counter").await;
    let read = read_card(&w, NAME, "1962-03-04").await;
    let refused = |status: u16, kind: &str, body: &Value| {
        assert_eq!(
            (status, problem_type(body)),
            (status, format!("urn:mykey:problem:{kind}").as_str()),
            "{body}"
        );
    };

    // Another date of birth than the relying party's: the request stays open.
    let other_day = opened(&w, &city, id, "1962-03-05").await;
    let (status, body) = answer(&w, &other_day, approval(&read)).await;
    assert_eq!(status, 409);
    refused(status, "birth-date-mismatch", &body);
    let handle = opened(&w, &city, id, "1962-03-04").await;

    // A forged signature; facts that are not the signed ones.
    let mut forged = approval(&read);
    let mut sig = B64.decode(&read.signature).unwrap();
    sig[3] ^= 1;
    forged["ticket_signature"]["signature"] = json!(B64.encode(sig));
    let (status, body) = answer(&w, &handle, forged).await;
    assert_eq!(status, 401);
    refused(status, "ticket-items-invalid", &body);
    let mut edited = approval(&read);
    let other = TicketFacts::new(
        "別人\u{3000}四郎",
        ADDRESS,
        time::macros::date!(1962 - 03 - 04),
        Sex::Male,
    )
    .unwrap();
    edited["ticket_facts"] = json!(B64.encode(other.to_tlv()));
    let (status, body) = answer(&w, &handle, edited).await;
    assert_eq!(status, 401);
    refused(status, "ticket-items-invalid", &body);

    // Another person's signed data sent with this card's certificate: J-LIS says they are not
    // this holder's facts.
    let someone = read_card(&w, "別人\u{3000}四郎", "1962-03-04").await;
    let mut swapped = approval(&someone);
    swapped["certificate"] = json!(B64.encode(&read.card.cert));
    let (status, body) = answer(&w, &handle, swapped).await;
    assert_eq!(status, 409);
    refused(status, "ticket-items-outdated", &body);

    // A card made with the same four facts (another person of the same name, address and
    // birth, or a copy someone had made): its data is not this holder's card's.
    let twin = read_card(&w, NAME, "1962-03-04").await;
    let mut cloned = approval(&twin);
    cloned["certificate"] = json!(B64.encode(&read.card.cert));
    assert_eq!(twin.digest, read.digest);
    let (status, body) = answer(&w, &handle, cloned).await;
    assert_eq!(status, 409);
    refused(status, "ticket-items-outdated", &body);

    // Malformed input: precise, and nothing used up.
    for (field, value) in [
        ("certificate", json!("not base64!")),
        ("ticket_facts", json!("%%%")),
    ] {
        let mut bad = approval(&read);
        bad[field] = value;
        let (status, body) = answer(&w, &handle, bad).await;
        assert_eq!(
            (status, problem_type(&body)),
            (422, "urn:mykey:problem:invalid-request")
        );
    }
    let mut bad = approval(&read);
    bad["ticket_signature"]["facts_digest"] = json!("abcd");
    let (status, _) = answer(&w, &handle, bad).await;
    assert_eq!(status, 422);
    let (status, _) = answer(&w, &handle, json!({"certificate": "x"})).await;
    assert_eq!(status, 422);

    // After all that, the right data still goes through on the same request.
    let (status, body) = answer(&w, &handle, approval(&read)).await;
    assert_eq!(status, 201, "{body}");

    // A move at J-LIS: the card's old data is outdated until it is rewritten.
    w.jlis
        .change_facts(&ChangeFactsRequest {
            issuance_number: read.card.number.clone(),
            address: Some("熊本県熊本市北区植木町１番".into()),
            signature_public_key: B64.encode(key().spki_der()),
            ..Default::default()
        })
        .await
        .unwrap();
    let again = opened(&w, &city, id, "1962-03-04").await;
    let (status, body) = answer(&w, &again, approval(&read)).await;
    assert_eq!(status, 409);
    refused(status, "ticket-items-outdated", &body);
}

#[tokio::test(flavor = "multi_thread")]
async fn only_public_authorities_open_requests_for_their_own_services_with_a_real_date() {
    let w = world().await;
    let city = relying_party(&w, "Kumamoto City").await;
    let other = relying_party(&w, "Oita City").await;
    let id = ppid_service(&w, &city, "Counter").await;
    for bad in [
        "1962-13-01",
        "1962-02-30",
        "62-03-04",
        "1962-3-4",
        "2999-01-01",
        "1800-01-01",
    ] {
        let (status, body) = open(&w, &city, id, bad).await;
        assert_eq!(
            (status, problem_type(&body)),
            (422, "urn:mykey:problem:invalid-pinless-request"),
            "{bad}: {body}"
        );
    }
    let (status, body) = open(&w, &other, id, "1962-03-04").await;
    assert_eq!(
        (status, problem_type(&body)),
        (404, "urn:mykey:problem:ppid-service-unknown")
    );
    let shop = business(&w, "Shop").await;
    let (status, body) = open(&w, &shop, id, "1962-03-04").await;
    assert_eq!(
        (status, problem_type(&body)),
        (403, "urn:mykey:problem:public-authority-function")
    );
    let (status, body) = call(&w, Method::GET, "/v1/pinless-requests/nothing", None).await;
    assert_eq!(
        (status, problem_type(&body)),
        (404, "urn:mykey:problem:pinless-request-unknown")
    );
    // Unknown fields are refused.
    let (status, _) = rp(
        &w,
        &city,
        Method::POST,
        &format!("/v1/rp/ppid-services/{id}/pinless-requests"),
        Some(json!({"birth_date": "1962-03-04", "name": "x"})),
    )
    .await;
    assert_eq!(status, 422);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_withdrawal_before_the_code_is_redeemed_gives_the_relying_party_nothing() {
    let w = world().await;
    let city = relying_party(&w, "Kumamoto City").await;
    let id = ppid_service(&w, &city, "Counter").await;
    let read = read_card(&w, NAME, "1962-03-04").await;
    let handle = opened(&w, &city, id, "1962-03-04").await;
    let (status, approved) = answer(&w, &handle, approval(&read)).await;
    assert_eq!(status, 201, "{approved}");
    let token = login(&w, &read.card).await;
    let (status, body) = call(
        &w,
        Method::DELETE,
        &format!("/v1/me/ppid-services/{id}"),
        Some(&token),
    )
    .await;
    assert!(status == 200 || status == 204, "{status} {body}");
    let code = approved["code"].as_str().unwrap();
    let path = format!("/v1/rp/ppid-services/{id}/authentications/{code}");
    let (status, body) = rp(&w, &city, Method::POST, &path, None).await;
    assert_eq!(
        (status, problem_type(&body)),
        (400, "urn:mykey:problem:ppid-code-invalid")
    );
    let (_, log) = call(&w, Method::GET, "/v1/me/log", Some(&token)).await;
    assert!(
        !log["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "facts.given"),
        "{log}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_card_reported_lost_stops_at_once_though_the_crl_is_a_minute_behind() {
    let w = world().await;
    let city = relying_party(&w, "Kumamoto City").await;
    let id = ppid_service(&w, &city, "Counter").await;
    let read = read_card(&w, NAME, "1962-03-04").await;
    // The platform holds the CRL from before the revocation; J-LIS knows.
    w.jlis
        .revoke(&mykey_jlis::api::RevokeRequest {
            serial: read.card.number.clone(),
            reason: "keyCompromise".into(),
        })
        .await
        .unwrap();
    let handle = opened(&w, &city, id, "1962-03-04").await;
    let (status, body) = answer(&w, &handle, approval(&read)).await;
    assert_eq!(
        (status, problem_type(&body)),
        (403, "urn:mykey:problem:certificate-revoked"),
        "{body}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn one_handle_buys_five_questions_to_jlis() {
    let w = world().await;
    let city = relying_party(&w, "Kumamoto City").await;
    let id = ppid_service(&w, &city, "Counter").await;
    let read = read_card(&w, NAME, "1962-03-04").await;
    let handle = opened(&w, &city, id, "1962-03-04").await;
    let mut forged = approval(&read);
    forged["ticket_signature"]["signature"] = json!(B64.encode([7u8; 256]));
    for _ in 0..mykey_platform::MAX_PINLESS_ATTEMPTS {
        let (status, body) = answer(&w, &handle, forged.clone()).await;
        assert_eq!(
            (status, problem_type(&body)),
            (401, "urn:mykey:problem:ticket-items-invalid")
        );
    }
    // Spent: even the card's own data finds no request now.
    let (status, body) = answer(&w, &handle, approval(&read)).await;
    assert_eq!(
        (status, problem_type(&body)),
        (404, "urn:mykey:problem:pinless-request-unknown")
    );
}

/// A suspended holder (Art 8.2) is refused on the PIN-less route too, and a code the relying
/// party got before the suspension gives it nothing after.
#[tokio::test(flavor = "multi_thread")]
async fn a_suspended_holder_is_refused_and_an_earlier_code_gives_nothing() {
    let w = world().await;
    let city = relying_party(&w, "Kumamoto City").await;
    let id = ppid_service(&w, &city, "Counter").await;
    let read = read_card(&w, NAME, "1962-03-04").await;
    let handle = opened(&w, &city, id, "1962-03-04").await;
    let (status, approved) = answer(&w, &handle, approval(&read)).await;
    assert_eq!(status, 201, "{approved}");
    let token = login(&w, &read.card).await;
    let (_, created) = post(&w, "/v1/me/my-key-id", Some(&token), my_key_id_creation()).await;
    let my_key_id = created["id"].as_str().unwrap();
    let (status, body) = ops(
        &w,
        Method::POST,
        &format!("/v1/ops/people/{my_key_id}/suspension"),
        Some(json!({"reason": "card reported stolen"})),
    )
    .await;
    assert_eq!(status, 204, "{body}");
    let code = approved["code"].as_str().unwrap();
    let path = format!("/v1/rp/ppid-services/{id}/authentications/{code}");
    let (status, body) = rp(&w, &city, Method::POST, &path, None).await;
    assert_eq!(
        (status, problem_type(&body)),
        (400, "urn:mykey:problem:ppid-code-invalid")
    );
    let handle = opened(&w, &city, id, "1962-03-04").await;
    let (status, body) = answer(&w, &handle, approval(&read)).await;
    assert_eq!(
        (status, problem_type(&body)),
        (403, "urn:mykey:problem:person-suspended"),
        "{body}"
    );
}
