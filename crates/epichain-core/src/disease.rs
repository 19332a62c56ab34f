//! The national notifiable-disease catalogue.
//!
//! The catalogue ships as data (`data/diseases.csv`, the 40 statutory diseases of the 2025 law plus
//! pulmonary anthrax as a 2-hour sub-form), is loaded into genesis, and changes only by governance.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// The catalogue shipped with epichain (source: `data/SOURCES.md`).
pub const SHIPPED_CATALOGUE_CSV: &str = include_str!("../data/diseases.csv");

/// Longest disease code.
pub const DISEASE_CODE_BYTES_MAX: usize = 32;

/// Errors about diseases and the catalogue.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DiseaseError {
    /// Code syntax.
    #[error(
        "disease code {0:?} must be 1 to 32 characters of A-Z, 0-9 and '_' (e.g. DENGUE, COVID19)"
    )]
    Code(String),
    /// Not in the catalogue.
    #[error("unknown disease {0}")]
    Unknown(DiseaseCode),
    /// In the catalogue but retired by governance.
    #[error("disease {0} was retired from the catalogue")]
    Retired(DiseaseCode),
    /// A catalogue file row is wrong.
    #[error("catalogue row {row}: {message}")]
    Row { row: usize, message: String },
}

/// Short stable identifier of a disease, e.g. `DENGUE`.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, BorshSerialize)]
pub struct DiseaseCode(String);

impl DiseaseCode {
    /// Validates and wraps a code.
    pub fn new(text: &str) -> Result<Self, DiseaseError> {
        let valid = !text.is_empty()
            && text.len() <= DISEASE_CODE_BYTES_MAX
            && text
                .bytes()
                .all(|byte| byte.is_ascii_uppercase() || byte.is_ascii_digit() || byte == b'_');
        if valid {
            Ok(DiseaseCode(text.to_string()))
        } else {
            Err(DiseaseError::Code(text.to_string()))
        }
    }

    /// The code text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl BorshDeserialize for DiseaseCode {
    fn deserialize_reader<R: std::io::Read>(reader: &mut R) -> std::io::Result<Self> {
        let text = String::deserialize_reader(reader)?;
        DiseaseCode::new(&text)
            .map_err(|error| std::io::Error::new(std::io::ErrorKind::InvalidData, error))
    }
}

impl fmt::Display for DiseaseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for DiseaseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DiseaseCode({})", self.0)
    }
}

impl FromStr for DiseaseCode {
    type Err = DiseaseError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        DiseaseCode::new(text.trim())
    }
}

impl Serialize for DiseaseCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for DiseaseCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::encoding::deserialize_from_str(deserializer)
    }
}

/// Statutory class under the Law on the Prevention and Control of Infectious Diseases.
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
pub enum DiseaseClass {
    /// Class A (甲类).
    A,
    /// Class B (乙类).
    B,
    /// Class C (丙类).
    C,
}

/// One catalogue entry.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct Disease {
    /// Stable code.
    pub code: DiseaseCode,
    /// English name.
    pub name_en: String,
    /// Chinese name.
    pub name_zh: String,
    /// Statutory class.
    pub class: DiseaseClass,
    /// Class A control measures apply (Class A itself, and Class B managed as A).
    pub managed_as_a: bool,
    /// Reporting deadline after diagnosis, in hours.
    pub report_deadline_hours: u16,
    /// ICD-10 codes.
    pub icd10: Vec<String>,
    /// Retired by governance: kept for history, no new reports.
    pub retired: bool,
}

impl Disease {
    /// The statutory deadline rule: 2 h for Class A and Class B managed as A, 24 h otherwise.
    pub fn statutory_deadline_hours(class: DiseaseClass, managed_as_a: bool) -> u16 {
        if class == DiseaseClass::A || managed_as_a {
            2
        } else {
            24
        }
    }
}

/// The notifiable-disease catalogue, keyed by code.
#[derive(Clone, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct Catalogue {
    diseases: BTreeMap<DiseaseCode, Disease>,
}

impl Catalogue {
    /// The catalogue shipped with epichain.
    pub fn shipped() -> Result<Self, DiseaseError> {
        Self::from_csv(SHIPPED_CATALOGUE_CSV)
    }

    /// Parses the catalogue CSV (`code,name_en,name_zh,class,managed_as_a,report_deadline_hours,icd10,...`).
    /// A missing deadline is filled by the statutory rule; a present one must agree with it.
    pub fn from_csv(text: &str) -> Result<Self, DiseaseError> {
        let mut reader = csv::ReaderBuilder::new()
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut catalogue = Catalogue::default();
        for (index, record) in reader.records().enumerate() {
            let row = index + 2;
            let record = record.map_err(|error| DiseaseError::Row {
                row,
                message: error.to_string(),
            })?;
            let disease =
                parse_disease_row(&record).map_err(|message| DiseaseError::Row { row, message })?;
            catalogue.insert(disease);
        }
        Ok(catalogue)
    }

    /// Adds or replaces an entry (governance).
    pub fn insert(&mut self, disease: Disease) {
        self.diseases.insert(disease.code.clone(), disease);
    }

    /// Marks an entry retired (governance); history stays.
    pub fn retire(&mut self, code: &DiseaseCode) -> Result<(), DiseaseError> {
        let disease = self
            .diseases
            .get_mut(code)
            .ok_or_else(|| DiseaseError::Unknown(code.clone()))?;
        disease.retired = true;
        Ok(())
    }

    /// Looks up an entry.
    pub fn get(&self, code: &DiseaseCode) -> Option<&Disease> {
        self.diseases.get(code)
    }

    /// An entry that accepts new reports.
    pub fn require_active(&self, code: &DiseaseCode) -> Result<&Disease, DiseaseError> {
        let disease = self
            .get(code)
            .ok_or_else(|| DiseaseError::Unknown(code.clone()))?;
        if disease.retired {
            return Err(DiseaseError::Retired(code.clone()));
        }
        Ok(disease)
    }

    /// Entries in code order.
    pub fn iter(&self) -> impl Iterator<Item = &Disease> {
        self.diseases.values()
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.diseases.len()
    }

    /// True if empty.
    pub fn is_empty(&self) -> bool {
        self.diseases.is_empty()
    }
}

fn parse_disease_row(record: &csv::StringRecord) -> Result<Disease, String> {
    let field = |index: usize, name: &str| {
        record
            .get(index)
            .map(str::trim)
            .ok_or_else(|| format!("missing column {name}"))
    };
    let code = DiseaseCode::new(field(0, "code")?).map_err(|error| error.to_string())?;
    let class = match field(3, "class")? {
        "A" => DiseaseClass::A,
        "B" => DiseaseClass::B,
        "C" => DiseaseClass::C,
        other => return Err(format!("class {other:?} is not A, B or C")),
    };
    let managed_as_a = match field(4, "managed_as_a")? {
        "1" => true,
        "0" => false,
        other => return Err(format!("managed_as_a {other:?} is not 0 or 1")),
    };
    let statutory = Disease::statutory_deadline_hours(class, managed_as_a);
    let report_deadline_hours = match record.get(5).map(str::trim) {
        None | Some("") => statutory,
        Some(text) => {
            let hours: u16 = text
                .parse()
                .map_err(|_| format!("report_deadline_hours {text:?} is not a number"))?;
            if hours != statutory {
                return Err(format!(
                    "report_deadline_hours {hours} disagrees with the statutory {statutory} h"
                ));
            }
            hours
        }
    };
    let icd10 = record
        .get(6)
        .map(|text| {
            text.split(';')
                .map(str::trim)
                .filter(|code| !code.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    Ok(Disease {
        code,
        name_en: field(1, "name_en")?.to_string(),
        name_zh: field(2, "name_zh")?.to_string(),
        class,
        managed_as_a,
        report_deadline_hours,
        icd10,
        retired: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_catalogue_matches_the_2025_law() {
        let catalogue = Catalogue::shipped().expect("shipped catalogue parses");
        // 40 statutory diseases plus the pulmonary-anthrax sub-form.
        assert_eq!(catalogue.len(), 41);
        let count = |class| catalogue.iter().filter(|d| d.class == class).count();
        assert_eq!(count(DiseaseClass::A), 2);
        assert_eq!(count(DiseaseClass::B), 28);
        assert_eq!(count(DiseaseClass::C), 11);
        let code = |text: &str| DiseaseCode::new(text).expect("valid code");
        let plague = catalogue.get(&code("PLAGUE")).expect("plague present");
        assert_eq!(plague.report_deadline_hours, 2);
        let sars = catalogue.get(&code("SARS")).expect("SARS present");
        assert!(sars.managed_as_a && sars.report_deadline_hours == 2);
        let hfmd = catalogue.get(&code("HFMD")).expect("HFMD present");
        assert_eq!(hfmd.report_deadline_hours, 24);
        assert_eq!(hfmd.name_en, "Hand, foot and mouth disease");
        let hiv = catalogue.get(&code("HIV_AIDS")).expect("HIV present");
        assert_eq!(hiv.icd10.len(), 6);
    }

    #[test]
    fn deadline_must_follow_the_statute() {
        let csv = "code,name_en,name_zh,class,managed_as_a,report_deadline_hours,icd10\n\
                   PLAGUE,Plague,鼠疫,A,1,24,A20\n";
        assert!(Catalogue::from_csv(csv).is_err());
    }

    #[test]
    fn codes_are_validated() {
        assert!(DiseaseCode::new("dengue").is_err());
        assert!(DiseaseCode::new("").is_err());
        assert!(DiseaseCode::new(&"A".repeat(33)).is_err());
        assert!(DiseaseCode::new("COVID19").is_ok());
    }

    #[test]
    fn retired_disease_rejects_new_reports() {
        let mut catalogue = Catalogue::shipped().expect("shipped catalogue parses");
        let code = DiseaseCode::new("MPOX").expect("valid code");
        catalogue.retire(&code).expect("known disease");
        assert_eq!(
            catalogue.require_active(&code),
            Err(DiseaseError::Retired(code.clone()))
        );
        assert!(catalogue.get(&code).is_some());
    }
}
