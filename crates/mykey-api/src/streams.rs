//! `/v1/rp/stream`: a relying party's event stream (after the Shared Signals Framework's stream
//! configuration): push (RFC 8935) or poll (RFC 8936), the events wanted, the delivery's state.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// Push delivery (RFC 8935).
pub const PUSH: &str = "urn:ietf:rfc:8935";
/// Poll delivery (RFC 8936).
pub const POLL: &str = "urn:ietf:rfc:8936";

/// How events are delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum DeliveryMethod {
    /// Push (RFC 8935).
    #[serde(rename = "urn:ietf:rfc:8935")]
    Push,
    /// Poll (RFC 8936).
    #[serde(rename = "urn:ietf:rfc:8936")]
    Poll,
}

/// The event types the platform sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub enum EventType {
    /// CAEP credential change.
    #[serde(rename = "https://schemas.openid.net/secevent/caep/event-type/credential-change")]
    CredentialChange,
    /// RISC account disabled: the My Key ID ended, and the Service ID with it — `reason`
    /// `my-key-id-revoked` (by the person), `card-revoked` (with J-LIS's `revocation_reason`)
    /// or `card-expired` (not renewed within the grace period).
    #[serde(rename = "https://schemas.openid.net/secevent/risc/event-type/account-disabled")]
    AccountDisabled,
    /// A Service ID ended.
    #[serde(rename = "urn:mykey:secevent:service-id-ended")]
    ServiceIdEnded,
    /// The basic facts of a linked person changed.
    #[serde(rename = "urn:mykey:secevent:basic-facts-changed")]
    BasicFactsChanged,
    /// The person withdrew their consent to a PPID service: the last event about them there.
    #[serde(rename = "urn:mykey:secevent:ppid-consent-withdrawn")]
    PpidConsentWithdrawn,
    /// The signature certificate a link was made with was revoked for a reason other than a
    /// change of the facts (with the reason, as J-LIS gives it).
    #[serde(rename = "urn:mykey:secevent:signature-certificate-revoked")]
    SignatureCertificateRevoked,
    /// To a payment provider: a card holder applied through its service; validate the Payment
    /// Service ID (`round`, `payment_service`, `payment_service_user_id`; Art 23.1.1).
    #[serde(rename = "urn:mykey:secevent:point-application-submitted")]
    PointApplicationSubmitted,
    /// To a payment provider: the holder withdrew the application.
    #[serde(rename = "urn:mykey:secevent:point-application-withdrawn")]
    PointApplicationWithdrawn,
    /// To a payment provider: the application was forfeited (Art 27, with the `reason`); no
    /// points are to be granted on it.
    #[serde(rename = "urn:mykey:secevent:point-application-forfeited")]
    PointApplicationForfeited,
    /// To every approved relying party: a maintenance window was announced (Art 9.3):
    /// `starts_at`, `ends_at`, `functions`, `notice` `{en, ja}`, `urgent`.
    #[serde(rename = "urn:mykey:secevent:maintenance-announced")]
    MaintenanceAnnounced,
    /// To every approved relying party: a maintenance window ended early, or was called off
    /// (`called_off`) before it began.
    #[serde(rename = "urn:mykey:secevent:maintenance-ended")]
    MaintenanceEnded,
    /// To every approved relying party: the end of the system was announced (Art 10):
    /// `terminates_at`, `notice` `{en, ja}`, `urgent`.
    #[serde(rename = "urn:mykey:secevent:termination-announced")]
    TerminationAnnounced,
    /// To every approved relying party: the announced end was withdrawn.
    #[serde(rename = "urn:mykey:secevent:termination-withdrawn")]
    TerminationWithdrawn,
}

/// A stream's configuration, as the relying party sets it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StreamConfiguration {
    /// How events are delivered.
    pub delivery: DeliveryConfiguration,
    /// Event type URIs; those this platform does not send are left out, and at least one must
    /// remain.
    pub events_requested: Vec<String>,
}

/// How events are delivered, as the relying party sets it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeliveryConfiguration {
    /// `urn:ietf:rfc:8935` (push) or `urn:ietf:rfc:8936` (poll).
    #[schema(value_type = DeliveryMethod)]
    pub method: String,
    /// Push only: https (http only to a loopback host).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint_url: Option<String>,
    /// Push only: sent as `Authorization`; never shown again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_header: Option<String>,
}

/// A stream: its configuration and its delivery's state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Stream {
    /// How events are delivered.
    pub delivery: Delivery,
    /// Every event type the platform sends.
    #[schema(value_type = Vec<EventType>)]
    pub events_supported: Vec<String>,
    /// The types asked for (those the platform sends).
    pub events_requested: Vec<String>,
    /// The types delivered: the same.
    pub events_delivered: Vec<String>,
    /// The delivery's state.
    pub status: StreamStatus,
}

/// How events are delivered; the authorization header, a secret of the receiver's, is never
/// shown.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Delivery {
    /// `urn:ietf:rfc:8935` (push) or `urn:ietf:rfc:8936` (poll).
    #[schema(value_type = DeliveryMethod)]
    pub method: String,
    /// Push: the receiver's URL; poll: `/v1/rp/events`.
    pub endpoint_url: String,
    /// Push: whether an authorization header is sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authorization_header_set: Option<bool>,
}

/// A stream's delivery state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct StreamStatus {
    /// Events waiting.
    pub pending: u64,
    /// Failed pushes since the last success.
    pub failed_attempts: u32,
    /// When the next push is tried.
    #[schema(format = DateTime)]
    pub next_attempt_at: String,
    /// Why the last push failed.
    #[schema(required = true)]
    pub last_error: Option<String>,
    /// When events were last delivered.
    #[schema(required = true, format = DateTime)]
    pub last_delivered_at: Option<String>,
}
