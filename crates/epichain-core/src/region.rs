//! Administrative region codes (GB/T 2260) and the four levels of the network.
//!
//! A code has six digits `PPCCDD`: `PP0000` is a province, `PPCC00` a city (prefecture), `PPCCDD` a
//! district or county. The national root is written `000000`. Jurisdiction follows the code: a
//! province contains every code sharing its first two digits, a city every code sharing four.

use borsh::{BorshDeserialize, BorshSerialize};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

/// The four levels of the surveillance network, from the top.
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
#[serde(rename_all = "snake_case")]
#[borsh(use_discriminant = true)]
pub enum Level {
    /// The whole country.
    National = 0,
    /// A province, autonomous region or municipality.
    Province = 1,
    /// A prefecture-level city.
    City = 2,
    /// A district, county or county-level city.
    District = 3,
}

impl Level {
    /// All levels, from the top.
    pub const ALL: [Level; 4] = [
        Level::National,
        Level::Province,
        Level::City,
        Level::District,
    ];

    /// Lower-case name.
    pub fn name(self) -> &'static str {
        match self {
            Level::National => "national",
            Level::Province => "province",
            Level::City => "city",
            Level::District => "district",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Level {
    type Err = RegionError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Level::ALL
            .into_iter()
            .find(|level| level.name() == text)
            .ok_or_else(|| RegionError::UnknownLevel(text.to_string()))
    }
}

/// Errors about region codes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegionError {
    /// Not six digits.
    #[error("region code {0:?} is not six digits (GB/T 2260, e.g. 440305)")]
    Format(String),
    /// Digits that no GB/T 2260 code can have.
    #[error("region code {0:?} is not a valid GB/T 2260 code: {1}")]
    Invalid(String, &'static str),
    /// Not a level name.
    #[error("unknown level {0:?} (expected national, province, city or district)")]
    UnknownLevel(String),
    /// Valid shape, but not in the region set of this chain.
    #[error("unknown region {0}")]
    Unknown(RegionCode),
}

/// A GB/T 2260 region code; `000000` is the national root.
#[derive(
    Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, BorshSerialize, BorshDeserialize,
)]
pub struct RegionCode(u32);

impl RegionCode {
    /// The national root.
    pub const NATIONAL: RegionCode = RegionCode(0);

    /// Builds a code from its number, validating the shape.
    pub fn new(value: u32) -> Result<Self, RegionError> {
        let text = format!("{value:06}");
        if value > 999_999 {
            return Err(RegionError::Format(text));
        }
        let code = RegionCode(value);
        if value == 0 {
            return Ok(code);
        }
        let province = value / 10_000;
        if !(11..=82).contains(&province) {
            return Err(RegionError::Invalid(
                text,
                "province digits must be 11 to 82",
            ));
        }
        if code.city_digits() == 0 && code.district_digits() != 0 {
            return Err(RegionError::Invalid(
                text,
                "a district code needs non-zero city digits",
            ));
        }
        Ok(code)
    }

    /// The numeric value.
    pub fn value(self) -> u32 {
        self.0
    }

    fn city_digits(self) -> u32 {
        (self.0 / 100) % 100
    }

    fn district_digits(self) -> u32 {
        self.0 % 100
    }

    /// Level of the code.
    pub fn level(self) -> Level {
        if self.0 == 0 {
            Level::National
        } else if self.city_digits() == 0 {
            Level::Province
        } else if self.district_digits() == 0 {
            Level::City
        } else {
            Level::District
        }
    }

    /// The enclosing region, or `None` for the national root.
    pub fn parent(self) -> Option<RegionCode> {
        match self.level() {
            Level::National => None,
            Level::Province => Some(RegionCode::NATIONAL),
            Level::City => Some(RegionCode(self.0 / 10_000 * 10_000)),
            Level::District => Some(RegionCode(self.0 / 100 * 100)),
        }
    }

    /// The region at `level` that contains this one (itself if the level is its own).
    pub fn ancestor_at(self, level: Level) -> Option<RegionCode> {
        if level > self.level() {
            return None;
        }
        Some(match level {
            Level::National => RegionCode::NATIONAL,
            Level::Province => RegionCode(self.0 / 10_000 * 10_000),
            Level::City => RegionCode(self.0 / 100 * 100),
            Level::District => self,
        })
    }

    /// This code and every enclosing one, from itself up to the national root.
    pub fn lineage(self) -> impl Iterator<Item = RegionCode> {
        std::iter::successors(Some(self), |code| code.parent())
    }

    /// True if `self` lies within the jurisdiction of `authority` (equal or below it).
    pub fn is_within(self, authority: RegionCode) -> bool {
        self.ancestor_at(authority.level()) == Some(authority)
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:06}", self.0)
    }
}

impl fmt::Debug for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "RegionCode({:06})", self.0)
    }
}

impl FromStr for RegionCode {
    type Err = RegionError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        if text.eq_ignore_ascii_case("national") || text.eq_ignore_ascii_case("cn") {
            return Ok(RegionCode::NATIONAL);
        }
        if text.len() != 6 || !text.bytes().all(|byte| byte.is_ascii_digit()) {
            return Err(RegionError::Format(text.to_string()));
        }
        let value: u32 = text
            .parse()
            .map_err(|_| RegionError::Format(text.to_string()))?;
        RegionCode::new(value)
    }
}

impl Serialize for RegionCode {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for RegionCode {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::encoding::deserialize_from_str(deserializer)
    }
}

/// One region of the chain's region set.
#[derive(Clone, Debug, PartialEq, Eq, BorshSerialize, BorshDeserialize, Serialize, Deserialize)]
pub struct RegionInfo {
    /// GB/T 2260 code.
    pub code: RegionCode,
    /// Chinese name.
    pub name_zh: String,
    /// English name.
    pub name_en: String,
}

/// The regions a chain knows, with their neighbour relation. Both are genesis data changed only by
/// governance.
#[derive(Clone, Debug, Default, PartialEq, Eq, BorshSerialize, BorshDeserialize)]
pub struct RegionSet {
    regions: BTreeMap<RegionCode, RegionInfo>,
    adjacency: BTreeSet<(RegionCode, RegionCode)>,
}

impl RegionSet {
    /// Builds a set; every region's parent must be present (the national root always is).
    pub fn new(
        regions: impl IntoIterator<Item = RegionInfo>,
        adjacency: impl IntoIterator<Item = (RegionCode, RegionCode)>,
    ) -> Result<Self, RegionError> {
        let mut set = RegionSet::default();
        for region in regions {
            set.regions.insert(region.code, region);
        }
        for code in set.regions.keys() {
            if let Some(parent) = code.parent()
                && parent != RegionCode::NATIONAL
                && !set.regions.contains_key(&parent)
            {
                return Err(RegionError::Unknown(parent));
            }
        }
        for (a, b) in adjacency {
            set.set_adjacent(a, b, true)?;
        }
        Ok(set)
    }

    /// True if the code is the national root or a region of this set.
    pub fn contains(&self, code: RegionCode) -> bool {
        code == RegionCode::NATIONAL || self.regions.contains_key(&code)
    }

    /// Checks membership with a clear error.
    pub fn require(&self, code: RegionCode) -> Result<(), RegionError> {
        if self.contains(code) {
            Ok(())
        } else {
            Err(RegionError::Unknown(code))
        }
    }

    /// True if some region of the set lies directly below `code`. Cases are reported in regions
    /// without children (districts, and cities such as Dongguan that have none).
    pub fn has_children(&self, code: RegionCode) -> bool {
        self.children(code).next().is_some()
    }

    /// The regions of the set directly below `code`, in code order.
    pub fn children(&self, code: RegionCode) -> impl Iterator<Item = RegionCode> + '_ {
        let bounds = match code.level() {
            Level::National => Some((1, u32::MAX)),
            Level::Province => Some((code.0 + 100, code.0 + 9_999)),
            Level::City => Some((code.0 + 1, code.0 + 99)),
            Level::District => None,
        };
        bounds
            .into_iter()
            .flat_map(move |(low, high)| self.regions.range(RegionCode(low)..=RegionCode(high)))
            .map(|(child, _)| *child)
            .filter(move |child| child.parent() == Some(code))
    }

    /// Information about a region.
    pub fn get(&self, code: RegionCode) -> Option<&RegionInfo> {
        self.regions.get(&code)
    }

    /// All regions in code order.
    pub fn iter(&self) -> impl Iterator<Item = &RegionInfo> {
        self.regions.values()
    }

    /// Number of regions (without the national root).
    pub fn len(&self) -> usize {
        self.regions.len()
    }

    /// True if the set has no regions.
    pub fn is_empty(&self) -> bool {
        self.regions.is_empty()
    }

    /// Adds or replaces a region (governance).
    pub fn insert(&mut self, region: RegionInfo) -> Result<(), RegionError> {
        if let Some(parent) = region.code.parent() {
            self.require(parent)?;
        }
        self.regions.insert(region.code, region);
        Ok(())
    }

    /// Sets or clears the neighbour relation between two regions, neither containing the other.
    /// Levels may differ: cities without districts (Dongguan, Zhongshan) border districts.
    pub fn set_adjacent(
        &mut self,
        a: RegionCode,
        b: RegionCode,
        adjacent: bool,
    ) -> Result<(), RegionError> {
        self.require(a)?;
        self.require(b)?;
        if a.is_within(b) || b.is_within(a) {
            return Err(RegionError::Invalid(
                format!("{a}-{b}"),
                "neighbours must be two regions neither of which contains the other",
            ));
        }
        let pair = if a < b { (a, b) } else { (b, a) };
        if adjacent {
            self.adjacency.insert(pair);
        } else {
            self.adjacency.remove(&pair);
        }
        Ok(())
    }

    /// True if the two regions share a border.
    pub fn are_adjacent(&self, a: RegionCode, b: RegionCode) -> bool {
        let pair = if a < b { (a, b) } else { (b, a) };
        self.adjacency.contains(&pair)
    }

    /// Neighbours of a region, in code order.
    pub fn neighbours(&self, code: RegionCode) -> Vec<RegionCode> {
        self.adjacency
            .iter()
            .filter_map(|&(a, b)| {
                if a == code {
                    Some(b)
                } else if b == code {
                    Some(a)
                } else {
                    None
                }
            })
            .collect()
    }

    /// All neighbour pairs, each once, in order.
    pub fn adjacency(&self) -> impl Iterator<Item = (RegionCode, RegionCode)> + '_ {
        self.adjacency.iter().copied()
    }
}

/// Guangdong's regions (NBS 2023 codes: 1 province, 21 cities, 122 county-level units), shipped as
/// data (source: `data/SOURCES.md`).
pub const SHIPPED_GUANGDONG_REGIONS_CSV: &str = include_str!("../data/regions_guangdong.csv");

/// Guangdong's shared-border adjacency (299 pairs computed from public boundary polygons).
pub const SHIPPED_GUANGDONG_ADJACENCY_CSV: &str =
    include_str!("../data/regions_guangdong_adjacency.csv");

impl RegionSet {
    /// The shipped Guangdong region set with its adjacency.
    pub fn shipped_guangdong() -> Result<Self, RegionError> {
        Self::from_csv(
            SHIPPED_GUANGDONG_REGIONS_CSV,
            SHIPPED_GUANGDONG_ADJACENCY_CSV,
        )
    }

    /// Parses `code,name_zh,name_en,level,parent_code` rows and `code_a,code_b` adjacency rows.
    /// The declared level and parent must agree with the code.
    pub fn from_csv(regions_csv: &str, adjacency_csv: &str) -> Result<Self, RegionError> {
        let row_error = |row: usize, message: String| {
            RegionError::Invalid(format!("row {row}: {message}"), "malformed region file")
        };
        let mut regions = Vec::new();
        let mut reader = csv::Reader::from_reader(regions_csv.as_bytes());
        for (index, record) in reader.records().enumerate() {
            let row = index + 2;
            let record = record.map_err(|error| row_error(row, error.to_string()))?;
            let field = |column: usize| record.get(column).map(str::trim).unwrap_or_default();
            let code: RegionCode = field(0).parse()?;
            let level: Level = field(3).parse()?;
            if level != code.level() {
                return Err(row_error(row, format!("{code} is not a {level}")));
            }
            let parent = field(4);
            let expected_parent = code
                .parent()
                .filter(|parent| *parent != RegionCode::NATIONAL);
            let declared_parent = if parent.is_empty() {
                None
            } else {
                Some(parent.parse::<RegionCode>()?)
            };
            if declared_parent != expected_parent {
                return Err(row_error(
                    row,
                    format!("{code} has the wrong parent {parent:?}"),
                ));
            }
            regions.push(RegionInfo {
                code,
                name_zh: field(1).to_string(),
                name_en: field(2).to_string(),
            });
        }
        let mut adjacency = Vec::new();
        let mut reader = csv::Reader::from_reader(adjacency_csv.as_bytes());
        for (index, record) in reader.records().enumerate() {
            let row = index + 2;
            let record = record.map_err(|error| row_error(row, error.to_string()))?;
            let a: RegionCode = record.get(0).unwrap_or_default().trim().parse()?;
            let b: RegionCode = record.get(1).unwrap_or_default().trim().parse()?;
            adjacency.push((a, b));
        }
        RegionSet::new(regions, adjacency)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str) -> RegionCode {
        text.parse().expect("valid code")
    }

    #[test]
    fn levels_and_parents() {
        let futian = code("440304");
        assert_eq!(futian.level(), Level::District);
        assert_eq!(futian.parent(), Some(code("440300")));
        assert_eq!(code("440300").parent(), Some(code("440000")));
        assert_eq!(code("440000").parent(), Some(RegionCode::NATIONAL));
        assert_eq!(RegionCode::NATIONAL.parent(), None);
        let lineage: Vec<String> = futian.lineage().map(|c| c.to_string()).collect();
        assert_eq!(lineage, ["440304", "440300", "440000", "000000"]);
    }

    #[test]
    fn jurisdiction() {
        let futian = code("440304");
        assert!(futian.is_within(code("440300")));
        assert!(futian.is_within(code("440000")));
        assert!(futian.is_within(RegionCode::NATIONAL));
        assert!(futian.is_within(futian));
        assert!(!futian.is_within(code("440100")));
        assert!(!futian.is_within(code("450000")));
        assert!(!code("440300").is_within(futian));
    }

    #[test]
    fn rejects_bad_codes() {
        for bad in [
            "44030", "4403041", "44x304", "990000", "100000", "440004", "",
        ] {
            assert!(bad.parse::<RegionCode>().is_err(), "{bad} accepted");
        }
        assert_eq!(code("000000"), RegionCode::NATIONAL);
        assert_eq!(code("national"), RegionCode::NATIONAL);
    }

    #[test]
    fn region_set_adjacency_is_symmetric() {
        let regions = ["440000", "440300", "440303", "440304"].map(|text| RegionInfo {
            code: code(text),
            name_zh: String::new(),
            name_en: String::new(),
        });
        let set =
            RegionSet::new(regions, [(code("440304"), code("440303"))]).expect("valid region set");
        assert!(set.are_adjacent(code("440303"), code("440304")));
        assert_eq!(set.neighbours(code("440303")), vec![code("440304")]);
        assert!(set.require(code("440305")).is_err());
    }

    #[test]
    fn shipped_guangdong_set() {
        let set = RegionSet::shipped_guangdong().expect("shipped data parses");
        assert_eq!(set.len(), 144);
        assert_eq!(set.adjacency().count(), 299);
        let count = |level| set.iter().filter(|r| r.code.level() == level).count();
        assert_eq!(count(Level::City), 21);
        assert_eq!(count(Level::District), 122);
        assert!(set.has_children(code("440300")));
        assert!(
            !set.has_children(code("441900")),
            "Dongguan has no districts"
        );
        assert!(set.has_children(code("440000")));
        assert!(!set.has_children(code("440304")));
        let shenzhen: Vec<RegionCode> = set.children(code("440300")).collect();
        assert!(shenzhen.contains(&code("440304")) && shenzhen.contains(&code("440305")));
        assert!(
            shenzhen
                .iter()
                .all(|child| child.parent() == Some(code("440300")))
        );
        let guangdong: Vec<RegionCode> = set.children(code("440000")).collect();
        assert!(guangdong.contains(&code("440300")) && !guangdong.contains(&code("440304")));
        assert_eq!(
            set.children(RegionCode::NATIONAL).collect::<Vec<_>>(),
            vec![code("440000")]
        );
        // Nan'ao County, an island, has no neighbours.
        assert!(set.neighbours(code("440523")).is_empty());
        assert!(set.neighbours(code("440304")).contains(&code("440303")));
    }

    #[test]
    fn region_set_requires_parents() {
        let orphan = RegionInfo {
            code: code("440304"),
            name_zh: String::new(),
            name_en: String::new(),
        };
        assert!(RegionSet::new([orphan], []).is_err());
    }
}
