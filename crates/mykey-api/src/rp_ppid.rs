//! `/v1/rp/ppid-services`: a relying party's PPID services and PPIDs (Terms Art 19, 20.1.3).

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

/// A PPID service to register.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PpidServiceRegistration {
    /// Its name, as card holders see it.
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
}

/// A relying party's PPID service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PpidService {
    /// Its ID.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// When it was registered.
    #[schema(format = DateTime)]
    pub created_at: String,
}

/// The relying party's PPID services.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PpidServices {
    /// Each service.
    pub ppid_services: Vec<PpidService>,
}

/// A PPID redeemed from a one-time code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PpidRedeemed {
    /// The PPID.
    #[schema(pattern = "^[0-9a-f]{32}$")]
    pub ppid: String,
    /// The four facts, when the code answered a PIN-less request (Terms Art 20.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub facts: Option<crate::pinless::FourFactsClaims>,
}

/// Associates a customer ID with a PPID.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PpidAssociation {
    /// 1 to 128 printable ASCII characters.
    #[schema(pattern = "^[!-~]{1,128}$")]
    pub customer_id: String,
}

/// `?customer_id=`: the PPID associated with one customer only.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PpidsQuery {
    /// Only this customer's PPID (404 if there is none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<String>,
}

/// A PPID of the relying party's service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ServicePpid {
    /// The PPID.
    pub ppid: String,
    /// The customer ID associated with it, if any.
    #[schema(required = true)]
    pub customer_id: Option<String>,
    /// When it was issued.
    #[schema(format = DateTime)]
    pub issued_at: String,
}

/// A service's PPIDs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ServicePpids {
    /// Each PPID.
    pub ppids: Vec<ServicePpid>,
}
