//! The domain's own stories, without sockets: a platform over a real SQLite file and a scripted
//! J-LIS, its clock and randomness in the test's hands. Each story is what a person and a
//! relying party do, told through `Platform`'s methods alone.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use mykey_pki::issue::{EndEntity, SigningKey, Urls, ca_certificate, end_entity_certificate};
use mykey_pki::{
    CaCertificate, IssuanceNumber, Purpose, RevocationStatus, TrustAnchors, UnixTime,
    UserIdentificationCertificate,
};
use mykey_platform::{
    CardAnswer, ChallengePurpose, Clock, Conflict, CustomerId, Jlis, JlisUnavailable, LogKind,
    ManualClock, NewConsent, PPID_CONSENT, Platform, PlatformConfig, PlatformError, PpidSecret,
    RelyingParty, RelyingPartyKind, RelyingPartyStatus, RevocationAnswer, SERVICE_ID_CONSENT,
    SeededRng, Session, SignatureStatus,
};

const YEAR: u64 = 365 * 86_400;

/// J-LIS as the story scripts it: which numbers renew which, every certificate good.
#[derive(Default)]
struct ScriptedJlis {
    previous: Mutex<HashMap<IssuanceNumber, Vec<IssuanceNumber>>>,
}

#[async_trait::async_trait]
impl Jlis for ScriptedJlis {
    async fn previous_issuance_numbers(
        &self,
        n: IssuanceNumber,
    ) -> Result<Vec<IssuanceNumber>, JlisUnavailable> {
        Ok(self
            .previous
            .lock()
            .unwrap()
            .get(&n)
            .cloned()
            .unwrap_or_default())
    }

    async fn signature_certificate_status(
        &self,
        _: IssuanceNumber,
    ) -> Result<SignatureStatus, JlisUnavailable> {
        Ok(SignatureStatus::default())
    }

    async fn revocation(
        &self,
        _: &UserIdentificationCertificate,
        _: &CaCertificate,
        _: UnixTime,
    ) -> Result<RevocationAnswer, JlisUnavailable> {
        Ok(RevocationAnswer {
            status: RevocationStatus::Good,
            asked_jlis: false,
        })
    }
}

struct World {
    platform: Platform,
    jlis: Arc<ScriptedJlis>,
    clock: Arc<ManualClock>,
    ca_key: SigningKey,
    ca: CaCertificate,
    _dir: tempfile::TempDir,
}

/// A card: its key and one user-identification certificate.
struct Card {
    key: SigningKey,
    certificate: Vec<u8>,
}

async fn world() -> World {
    let now = UnixTime::now();
    let ca_key = SigningKey::generate().unwrap();
    let ca = ca_certificate(
        &ca_key,
        Purpose::UserIdentification,
        IssuanceNumber::from_u64(1).unwrap(),
        now.minus(YEAR),
        now.plus(10 * YEAR),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = mykey_store::SqliteStore::open(&dir.path().join("platform.sqlite3"))
        .await
        .unwrap();
    let jlis = Arc::new(ScriptedJlis::default());
    let clock = Arc::new(ManualClock::new(now));
    let platform = Platform::new(
        Arc::new(store),
        jlis.clone(),
        clock.clone(),
        Arc::new(SeededRng::new([7; 32])),
        TrustAnchors::new([ca.clone()]),
        PlatformConfig {
            ppid_key: Some(PpidSecret::from_bytes(&[42; 32]).unwrap()),
            ..PlatformConfig::default()
        },
    );
    World {
        platform,
        jlis,
        clock,
        ca_key,
        ca,
        _dir: dir,
    }
}

impl World {
    /// A certificate numbered `n` for `key`.
    fn certify(&self, key: &SigningKey, n: u64) -> Vec<u8> {
        let now = self.clock.now();
        end_entity_certificate(
            &self.ca_key,
            &self.ca,
            &EndEntity {
                purpose: Purpose::UserIdentification,
                serial: IssuanceNumber::from_u64(n).unwrap(),
                subject_cn: &format!("{n:016X}"),
                spki_der: key.spki_der(),
                not_before: now.minus(86_400),
                not_after: now.plus(5 * YEAR),
                facts: None,
                urls: &Urls::default(),
            },
        )
        .unwrap()
    }

    fn card(&self, n: u64) -> Card {
        let key = SigningKey::generate().unwrap();
        let certificate = self.certify(&key, n);
        Card { key, certificate }
    }

    /// The card logs in to the person's own pages.
    async fn login(&self, card: &Card) -> Session {
        let c = self
            .platform
            .challenge(ChallengePurpose::Login, None)
            .await
            .unwrap();
        let signature = card.key.sign(&c.nonce);
        let (_, session) = self
            .platform
            .respond(
                &CardAnswer {
                    nonce: &c.nonce,
                    certificate: &card.certificate,
                    signature: &signature,
                },
                ChallengePurpose::Login,
                None,
            )
            .await
            .unwrap();
        session
    }

    async fn approved_relying_party(&self, name: &str) -> RelyingParty {
        let (rp, _) = self
            .platform
            .register_relying_party(
                name,
                RelyingPartyKind::PublicAuthority,
                mykey_platform::RelyingPartyProfile::new(
                    "窓口 092-000-0000",
                    "https://rp.example/privacy",
                    "https://rp.example/terms",
                )
                .unwrap(),
                None,
            )
            .await
            .unwrap();
        self.platform
            .set_relying_party_status(rp.id, RelyingPartyStatus::Approved)
            .await
            .unwrap()
    }

    async fn consent(&self, items: &[mykey_platform::ConsentItem]) -> NewConsent {
        NewConsent {
            items: items.iter().map(|i| i.name.to_owned()).collect(),
            terms_version: self.platform.terms_version().await.unwrap(),
        }
    }
}

fn kinds(log: &[mykey_platform::LogEntry]) -> Vec<&str> {
    log.iter().map(|e| e.kind.as_str()).collect()
}

#[tokio::test]
async fn a_card_logs_in_and_its_renewal_leads_to_the_same_person() {
    let w = world().await;
    let card = w.card(1001);
    let first = w.login(&card).await;
    assert_eq!(w.login(&card).await.person, first.person, "the same card");

    // J-LIS renews the card: a new number for the same holder.
    let renewed = Card {
        certificate: w.certify(&card.key, 1002),
        key: card.key,
    };
    w.jlis.previous.lock().unwrap().insert(
        IssuanceNumber::from_u64(1002).unwrap(),
        vec![IssuanceNumber::from_u64(1001).unwrap()],
    );
    let after = w.login(&renewed).await;
    assert_eq!(after.person, first.person, "renewal continuity");
    // Another card is another person.
    assert_ne!(w.login(&w.card(2001)).await.person, first.person);

    let log = w.platform.log(&after).await.unwrap();
    assert_eq!(
        kinds(&log),
        // A number the platform does not know is first asked about at J-LIS (for earlier
        // numbers), and the person is told so.
        [
            LogKind::JlisQuery.as_str(),
            LogKind::PersonCreated.as_str(),
            LogKind::Login.as_str(),
            LogKind::Login.as_str(),
            LogKind::JlisQuery.as_str(),
            LogKind::CardRenewed.as_str(),
            LogKind::Login.as_str(),
        ]
    );
    mykey_platform::verify_chain(&log).unwrap();
}

#[tokio::test]
async fn a_person_approves_a_link_with_the_card_once() {
    let w = world().await;
    let card = w.card(3001);
    let session = w.login(&card).await;
    let library = w.approved_relying_party("Hakata City Library").await;
    let request = w
        .platform
        .open_link_request(&library, "LIB-0001".parse::<CustomerId>().unwrap())
        .await
        .unwrap();
    let answer = |nonce: &[u8; 32]| card.key.sign(nonce);

    // Without a My Key ID the link is refused (Art 17.1), and nothing is kept.
    let c = w.platform.link_challenge(request.id).await.unwrap();
    let sig = answer(&c.nonce);
    let card_answer = CardAnswer {
        nonce: &c.nonce,
        certificate: &card.certificate,
        signature: &sig,
    };
    let consent = w.consent(&SERVICE_ID_CONSENT).await;
    assert!(matches!(
        w.platform
            .approve_link_request(request.id, &card_answer, consent.clone())
            .await,
        Err(PlatformError::Conflict(Conflict::MyKeyIdRequired))
    ));

    // A My Key ID is created only with the person's acceptance of Art 16.1.
    let partial = mykey_platform::NewConsent {
        items: vec!["my-key-id.validity-check".into()],
        ..w.consent(&mykey_platform::MY_KEY_ID_CONSENT).await
    };
    assert!(matches!(
        w.platform.create_my_key_id(&session, None, &partial).await,
        Err(PlatformError::Invalid(
            mykey_platform::InvalidError::ConsentIncomplete
        ))
    ));
    let accepted = w.consent(&mykey_platform::MY_KEY_ID_CONSENT).await;
    w.platform
        .create_my_key_id(&session, None, &accepted)
        .await
        .unwrap();
    let c = w.platform.link_challenge(request.id).await.unwrap();
    let sig = answer(&c.nonce);
    let card_answer = CardAnswer {
        nonce: &c.nonce,
        certificate: &card.certificate,
        signature: &sig,
    };
    let link = w
        .platform
        .approve_link_request(request.id, &card_answer, consent.clone())
        .await
        .unwrap();
    assert_eq!(link.customer_id.as_str(), "LIB-0001");
    assert_eq!(w.platform.my_links(&session).await.unwrap().len(), 1);
    let links = w
        .platform
        .relying_party_links(&library, None)
        .await
        .unwrap();
    assert_eq!(links.len(), 1);
    // The same answer approves nothing twice, and the request is used.
    assert!(
        w.platform
            .approve_link_request(request.id, &card_answer, consent)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_person_gets_one_ppid_per_service_that_only_its_relying_party_redeems() {
    let w = world().await;
    let card = w.card(4001);
    let city = w.approved_relying_party("Fukuoka City").await;
    let stranger = w.approved_relying_party("Someone Else").await;
    let service = w
        .platform
        .register_ppid_service(&city, "Resident services")
        .await
        .unwrap();
    let authenticate = |consent: Option<NewConsent>| {
        let (w, card, service) = (&w, &card, &service);
        async move {
            let c = w.platform.ppid_challenge(service.id).await.unwrap();
            let sig = card.key.sign(&c.nonce);
            w.platform
                .authenticate_for_ppid(
                    service.id,
                    &CardAnswer {
                        nonce: &c.nonce,
                        certificate: &card.certificate,
                        signature: &sig,
                    },
                    consent,
                )
                .await
        }
    };
    let first = authenticate(Some(w.consent(&PPID_CONSENT).await))
        .await
        .unwrap();
    assert!(first.first);
    let again = authenticate(None).await.unwrap();
    assert!(!again.first);
    assert_eq!(again.ppid, first.ppid, "one PPID per person and service");

    // Only the service's relying party redeems the code, once.
    assert!(
        w.platform
            .redeem_ppid_code(&stranger, service.id, first.code.as_str())
            .await
            .is_err()
    );
    let redeemed = w
        .platform
        .redeem_ppid_code(&city, service.id, first.code.as_str())
        .await
        .unwrap();
    assert_eq!(redeemed, (first.ppid, None));
    assert!(
        w.platform
            .redeem_ppid_code(&city, service.id, first.code.as_str())
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_relying_party_exchanges_the_code_of_an_approved_login_once() {
    use base64::Engine;
    use mykey_platform::oidc::{
        AuthorizationParams, BrowserOrigin, Continuation, IdTokenAlg, OidcClient,
    };
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let w = world().await;
    let card = w.card(5001);
    let shop = w.approved_relying_party("Hakata Books").await;
    let service = w
        .platform
        .register_ppid_service(&shop, "Hakata Books accounts")
        .await
        .unwrap();
    let callback = "https://shop.example/callback";
    w.platform
        .set_oidc_client(
            &shop,
            &OidcClient {
                relying_party: shop.id,
                subject: mykey_platform::oidc::OidcSubject::Ppid(service.id),
                redirect_uris: vec![callback.into()],
                post_logout_redirect_uris: Vec::new(),
                scopes: Vec::new(),
                id_token_alg: IdTokenAlg::default(),
            },
        )
        .await
        .unwrap();

    // The browser begins, with PKCE.
    let verifier = b64.encode([9u8; 32]);
    let challenge = b64.encode(aws_lc_rs::digest::digest(
        &aws_lc_rs::digest::SHA256,
        verifier.as_bytes(),
    ));
    let begun = w
        .platform
        .begin_authorization(
            &AuthorizationParams {
                response_type: Some("code".into()),
                client_id: Some(shop.client_id.clone()),
                redirect_uri: Some(callback.into()),
                scope: Some("openid".into()),
                state: Some("s-1".into()),
                nonce: Some("n-1".into()),
                code_challenge: Some(challenge),
                code_challenge_method: Some("S256".into()),
                ..AuthorizationParams::default()
            },
            BrowserOrigin::new(None, Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0")),
        )
        .await
        .map_err(|_| "the request is refused")
        .unwrap();

    // The phone approves it with the card (by the QR code's handle: no code to type).
    let c = w
        .platform
        .authorization_challenge(&begun.handle, None)
        .await
        .unwrap();
    let sig = card.key.sign(&c.nonce);
    let approved = w
        .platform
        .approve_authorization(
            &begun.handle,
            None,
            &CardAnswer {
                nonce: &c.nonce,
                certificate: &card.certificate,
                signature: &sig,
            },
            &w.consent(&PPID_CONSENT).await,
            None,
        )
        .await
        .unwrap();
    assert!(approved.confirmation_code.is_none());

    // The browser comes back and is sent to the client with a code.
    let Continuation::Redirect(to) = w
        .platform
        .continue_authorization(&begun.handle, &begun.browser_secret, None)
        .await
        .unwrap()
    else {
        panic!("the approved request goes back to the client");
    };
    assert!(to.starts_with(callback) && to.contains("state=s-1"), "{to}");
    let code = to
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("code="))
        .unwrap()
        .to_owned();

    // The relying party exchanges it once, with the verifier.
    let exchange = |verifier: &str| {
        let (w, shop, code) = (&w, &shop, &code);
        let verifier = verifier.to_owned();
        async move {
            w.platform
                .exchange_code(shop, None, code, Some(callback), Some(&verifier))
                .await
        }
    };
    let wrong = b64.encode([8u8; 32]);
    assert!(exchange(&wrong).await.is_err(), "PKCE binds the code");
    let tokens = exchange(&verifier).await.unwrap();
    assert_eq!(tokens.id_token.split('.').count(), 3);
    let claims = w.platform.userinfo(&tokens.access_token).await.unwrap();
    assert!(claims["sub"].is_string());
    // A second exchange is a replay: refused, and the first tokens are revoked.
    assert!(exchange(&verifier).await.is_err());
    assert!(w.platform.userinfo(&tokens.access_token).await.is_err());
}
