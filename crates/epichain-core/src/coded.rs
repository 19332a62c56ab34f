//! Enums that travel as codes: a stable number in Borsh (hashed, so never reordered) and a
//! kebab-case name in JSON and on the command line. Review M14: what the public chain says about
//! why or what is a code from such a list, never free text.

/// Declares a coded enum: `Variant = number => "name"` per value, with `ALL`, `name()`,
/// `Display` and `FromStr` (whose error lists the names).
macro_rules! coded_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident ($what:literal) {
            $($(#[$variant_meta:meta])* $variant:ident = $code:literal => $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(
            Clone,
            Copy,
            Debug,
            PartialEq,
            Eq,
            PartialOrd,
            Ord,
            Hash,
            borsh::BorshSerialize,
            borsh::BorshDeserialize,
            serde::Serialize,
            serde::Deserialize,
        )]
        #[borsh(use_discriminant = true)]
        $vis enum $name {
            $($(#[$variant_meta])* #[serde(rename = $text)] $variant = $code,)+
        }

        impl $name {
            /// Every value, in code order.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The kebab-case name.
            pub fn name(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, formatter: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                formatter.write_str(self.name())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = String;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|value| value.name() == text)
                    .ok_or_else(|| {
                        let names: Vec<&str> = $name::ALL.iter().map(|value| value.name()).collect();
                        format!("unknown {} {text:?} (one of {})", $what, names.join(", "))
                    })
            }
        }
    };
}

pub(crate) use coded_enum;
