//! The roles an identity can hold. A role comes from the identity's certificate; what each role may
//! do is the ledger's rule table.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Role bound to a key by its certificate.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    PartialOrd,
    Ord,
    Hash,
    BorshSerialize,
    BorshDeserialize,
    Serialize,
    Deserialize,
)]
#[serde(rename_all = "kebab-case")]
#[borsh(use_discriminant = true)]
pub enum Role {
    /// A patient holding their own key.
    Patient = 0,
    /// A physician who diagnoses and reports.
    Doctor = 1,
    /// A medical institution (sentinel hospital, clinic).
    Hospital = 2,
    /// A laboratory that confirms cases.
    Lab = 3,
    /// A pharmacy (syndromic data).
    Pharmacy = 4,
    /// A device (sensor, point-of-care analyser).
    Device = 5,
    /// A provider of movement data (base stations, payments, travel, video).
    DataProvider = 6,
    /// A centre for disease control at the level of its region (district, city, province, national).
    Authority = 7,
    /// A node of the network: votes in consensus when genesis names its key, otherwise follows
    /// the chain as a replica operated by its institution.
    Validator = 8,
    /// A certificate authority (national root, province or city intermediate).
    CertificateAuthority = 9,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 10] = [
        Role::Patient,
        Role::Doctor,
        Role::Hospital,
        Role::Lab,
        Role::Pharmacy,
        Role::Device,
        Role::DataProvider,
        Role::Authority,
        Role::Validator,
        Role::CertificateAuthority,
    ];

    /// Stable name used in certificates, files and the CLI.
    pub fn name(self) -> &'static str {
        match self {
            Role::Patient => "patient",
            Role::Doctor => "doctor",
            Role::Hospital => "hospital",
            Role::Lab => "lab",
            Role::Pharmacy => "pharmacy",
            Role::Device => "device",
            Role::DataProvider => "data-provider",
            Role::Authority => "authority",
            Role::Validator => "validator",
            Role::CertificateAuthority => "ca",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Not a role name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown role {0:?} (expected patient, doctor, hospital, lab, pharmacy, device, data-provider, authority, validator or ca)"
)]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|role| role.name() == text)
            .ok_or_else(|| UnknownRole(text.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for role in Role::ALL {
            assert_eq!(role.name().parse::<Role>(), Ok(role));
        }
        assert!("admin".parse::<Role>().is_err());
    }
}
