//! Institutions: the organisation an identity acts for. Every key of one hospital, laboratory or
//! CDC names the same institution in its certificate, so rules that need several parties
//! (separation of duties, governance approvals, ownership of a case) count institutions, not keys.
//!
//! An institution id is what the issuing CA certifies, e.g. the organisation's unified social
//! credit code (GB 32100, 18 characters) or a stable short name: 1 to [`INSTITUTION_BYTES_MAX`]
//! ASCII letters, digits, `-` and `.` (a subset of the DER PrintableString alphabet, so the id
//! travels unchanged in the certificate).

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// Longest institution id, bytes.
pub const INSTITUTION_BYTES_MAX: usize = 64;

/// Why a text is not an institution id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum InstitutionError {
    /// Empty or longer than [`INSTITUTION_BYTES_MAX`].
    #[error("an institution id has 1 to {INSTITUTION_BYTES_MAX} characters, not {0}")]
    Length(usize),
    /// A character outside `A-Z a-z 0-9 - .`.
    #[error("an institution id has only letters, digits, '-' and '.' (position {0})")]
    Character(usize),
}

/// The organisation an identity acts for, as its certificate names it.
#[derive(
    Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize, Serialize, Deserialize,
)]
#[serde(try_from = "String", into = "String")]
pub struct Institution(String);

impl Institution {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for Institution {
    type Err = InstitutionError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if text.is_empty() || text.len() > INSTITUTION_BYTES_MAX {
            return Err(InstitutionError::Length(text.len()));
        }
        if let Some(position) = text
            .bytes()
            .position(|byte| !(byte.is_ascii_alphanumeric() || byte == b'-' || byte == b'.'))
        {
            return Err(InstitutionError::Character(position));
        }
        Ok(Institution(text.to_string()))
    }
}

impl TryFrom<String> for Institution {
    type Error = InstitutionError;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<Institution> for String {
    fn from(institution: Institution) -> Self {
        institution.0
    }
}

impl fmt::Display for Institution {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

/// Decoding checks the alphabet too: state and blocks never hold an id a certificate could not.
impl BorshDeserialize for Institution {
    fn deserialize_reader<R: std::io::Read>(reader: &mut R) -> std::io::Result<Self> {
        let text = String::deserialize_reader(reader)?;
        text.parse().map_err(|error: InstitutionError| {
            std::io::Error::new(std::io::ErrorKind::InvalidData, error.to_string())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ids_are_short_printable_ascii() {
        assert!("91440300MA5DC7XX2Q".parse::<Institution>().is_ok());
        assert!("futian-hospital.1".parse::<Institution>().is_ok());
        assert_eq!("".parse::<Institution>(), Err(InstitutionError::Length(0)));
        assert_eq!(
            "a".repeat(INSTITUTION_BYTES_MAX + 1).parse::<Institution>(),
            Err(InstitutionError::Length(INSTITUTION_BYTES_MAX + 1))
        );
        assert_eq!(
            "futian hospital".parse::<Institution>(),
            Err(InstitutionError::Character(6))
        );
        assert_eq!(
            "福田医院".parse::<Institution>(),
            Err(InstitutionError::Character(0))
        );
    }

    proptest! {
        #[test]
        fn borsh_round_trips_and_refuses_what_parsing_refuses(text in ".{0,80}") {
            let bytes = borsh::to_vec(&text).expect("encode");
            let decoded = borsh::from_slice::<Institution>(&bytes);
            match text.parse::<Institution>() {
                Ok(institution) => {
                    prop_assert_eq!(borsh::to_vec(&institution).expect("encode"), bytes);
                    prop_assert_eq!(decoded.expect("decodes"), institution);
                }
                Err(_) => prop_assert!(decoded.is_err()),
            }
        }
    }
}
