//! The card client against the virtual card in memory: every operation, and the typed errors.

use mykey_card::{
    AccessKey, CertificateFile, ClientError, CredentialId, FactsAccess, JpkiCard, MemoryTransport,
    Pin, SecurityCode, SignaturePassword, StatusWord, Transport, TransportError,
};
use mykey_pki::{SignatureCertificate, UserIdentificationCertificate, verify_challenge};

use crate::fixtures::{self, FreshCard};

fn client() -> JpkiCard<MemoryTransport> {
    JpkiCard::new(MemoryTransport::new(FreshCard::new().load()))
}

#[test]
fn reads_the_token_and_every_certificate() {
    let mut card = client();
    let certs = card.transport_mut().card().certificates().unwrap().clone();
    assert_eq!(card.token_label().unwrap(), "JPKIAPICCTOKEN2");
    assert_eq!(
        card.read_certificate(CertificateFile::UserIdentification)
            .unwrap(),
        certs.user_identification
    );
    assert_eq!(
        card.read_certificate(CertificateFile::UserIdentificationCa)
            .unwrap(),
        certs.user_identification_ca
    );
    assert_eq!(
        card.read_certificate(CertificateFile::SignatureCa).unwrap(),
        certs.signature_ca
    );
    assert!(matches!(
        card.read_certificate(CertificateFile::Signature),
        Err(ClientError::Card {
            sw: StatusWord::SecurityStatusNotSatisfied,
            ..
        })
    ));
    let password = SignaturePassword::new(fixtures::SIGN_PASSWORD).unwrap();
    let sig = card.read_signature_certificate(&password).unwrap();
    assert_eq!(sig, certs.signature);
    assert_eq!(
        SignatureCertificate::from_der(&sig).unwrap().facts().name(),
        fixtures::facts().name()
    );
}

#[test]
fn signs_a_challenge_that_verifies_against_the_certificate() {
    let mut card = client();
    let cert = UserIdentificationCertificate::from_der(
        &card
            .read_certificate(CertificateFile::UserIdentification)
            .unwrap(),
    )
    .unwrap();
    let pin = Pin::new(fixtures::UI_PIN).unwrap();
    let challenge = b"nonce=8c1f; aud=https://rp.example";
    let signature = card.sign_challenge(&pin, challenge).unwrap();
    verify_challenge(&cert, challenge, &signature).unwrap();
    assert!(verify_challenge(&cert, b"another challenge", &signature).is_err());
    let doc_sig = card
        .sign_with_signature_key(
            &SignaturePassword::new(fixtures::SIGN_PASSWORD).unwrap(),
            b"contract",
        )
        .unwrap();
    assert_eq!(doc_sig.len(), 256);
}

#[test]
fn wrong_pins_count_down_to_blocked() {
    let mut card = client();
    let wrong = Pin::new("0000").unwrap();
    assert_eq!(card.tries_left(CredentialId::UiPin).unwrap(), 3);
    assert!(matches!(
        card.sign_challenge(&wrong, b"x"),
        Err(ClientError::WrongPin {
            credential: CredentialId::UiPin,
            tries_left: 2
        })
    ));
    assert!(matches!(
        card.verify_pin(&wrong),
        Err(ClientError::WrongPin { tries_left: 1, .. })
    ));
    assert_eq!(card.tries_left(CredentialId::UiPin).unwrap(), 1);
    assert!(matches!(
        card.verify_pin(&wrong),
        Err(ClientError::Blocked {
            credential: CredentialId::UiPin
        })
    ));
    let right = Pin::new(fixtures::UI_PIN).unwrap();
    assert!(matches!(
        card.verify_pin(&right),
        Err(ClientError::Blocked { .. })
    ));
    assert!(matches!(
        card.sign_challenge(&right, b"x"),
        Err(ClientError::Blocked { .. })
    ));
    assert_eq!(card.tries_left(CredentialId::UiPin).unwrap(), 0);
    assert_eq!(card.tries_left(CredentialId::SignaturePassword).unwrap(), 5);
    assert_eq!(card.tries_left(CredentialId::TicketPin).unwrap(), 3);
    assert_eq!(card.tries_left(CredentialId::AccessKeyB).unwrap(), 10);
}

#[test]
fn reads_the_four_facts_by_pin_or_by_access_key() {
    let mut card = client();
    let pin = Pin::new(fixtures::TICKET_PIN).unwrap();
    assert_eq!(
        card.read_facts(FactsAccess::Pin(&pin)).unwrap(),
        fixtures::facts()
    );
    let code = SecurityCode::new(fixtures::SECURITY_CODE).unwrap();
    let key = AccessKey::b(fixtures::facts().birth_date(), fixtures::EXPIRY_YEAR, &code).unwrap();
    assert_eq!(
        card.read_facts(FactsAccess::AccessKey(&key)).unwrap(),
        fixtures::facts()
    );
    let wrong = AccessKey::b(
        fixtures::facts().birth_date(),
        fixtures::EXPIRY_YEAR + 1,
        &code,
    )
    .unwrap();
    assert!(matches!(
        card.read_facts(FactsAccess::AccessKey(&wrong)),
        Err(ClientError::WrongPin {
            credential: CredentialId::AccessKeyB,
            tries_left: 9
        })
    ));
    let ui_pin = Pin::new(fixtures::UI_PIN).unwrap();
    assert!(matches!(
        card.read_facts(FactsAccess::Pin(&ui_pin)),
        Err(ClientError::WrongPin { tries_left: 2, .. })
    ));
}

/// A transport that answers what a script says, to see the client cope with real-card habits.
struct Scripted {
    answers: Vec<Vec<u8>>,
    sent: Vec<Vec<u8>>,
}

impl Transport for Scripted {
    fn transmit(&mut self, apdu: &[u8]) -> Result<Vec<u8>, TransportError> {
        self.sent.push(apdu.to_vec());
        if self.answers.is_empty() {
            return Err(TransportError::NoCard {
                reader: "scripted".into(),
            });
        }
        Ok(self.answers.remove(0))
    }
}

#[test]
fn follows_get_response_and_wrong_le_and_refuses_nonsense() {
    let ok = vec![0x90, 0x00];
    let label = b"JPKIAPICCTOKEN2                 ";
    let mut first = label[..10].to_vec();
    first.extend_from_slice(&[0x61, 22]);
    let mut rest = label[10..].to_vec();
    rest.extend_from_slice(&[0x90, 0x00]);
    let mut card = JpkiCard::new(Scripted {
        answers: vec![ok.clone(), ok.clone(), first, rest],
        sent: vec![],
    });
    assert_eq!(card.token_label().unwrap(), "JPKIAPICCTOKEN2");
    assert_eq!(card.transport_mut().sent[3], [0x00, 0xC0, 0x00, 0x00, 22]);

    let mut card = JpkiCard::new(Scripted {
        answers: vec![ok.clone(), ok.clone(), vec![0x6C, 0x20], {
            let mut v = label.to_vec();
            v.extend([0x90, 0]);
            v
        }],
        sent: vec![],
    });
    assert_eq!(card.token_label().unwrap(), "JPKIAPICCTOKEN2");
    assert_eq!(card.transport_mut().sent[3], [0x00, 0xB0, 0x00, 0x00, 0x20]);

    // A header announcing more than the client reads, an answer without SW, a card gone.
    let huge = vec![0x30, 0x83, 0x10, 0x00, 0x00, 0x90, 0x00];
    let mut card = JpkiCard::new(Scripted {
        answers: vec![ok.clone(), ok.clone(), huge.clone(), huge],
        sent: vec![],
    });
    assert!(matches!(
        card.read_certificate(CertificateFile::UserIdentification),
        Err(ClientError::Malformed { .. })
    ));
    let mut card = JpkiCard::new(Scripted {
        answers: vec![vec![0x90]],
        sent: vec![],
    });
    assert!(matches!(
        card.token_label(),
        Err(ClientError::Malformed { .. })
    ));
    let mut card = JpkiCard::new(Scripted {
        answers: vec![],
        sent: vec![],
    });
    assert!(matches!(
        card.token_label(),
        Err(ClientError::Transport(TransportError::NoCard { .. }))
    ));
    // A card that is not a My Number Card.
    let mut card = JpkiCard::new(Scripted {
        answers: vec![vec![0x6A, 0x82]],
        sent: vec![],
    });
    assert!(matches!(
        card.token_label(),
        Err(ClientError::Card {
            sw: StatusWord::NotFound,
            ..
        })
    ));
}
