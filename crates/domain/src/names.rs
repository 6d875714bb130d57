//! Unit-like enums' names as the API, the forms and the log spell them, with `FromStr`, so a
//! form field is parsed with `.parse()` instead of a trip through serde. A test per enum holds
//! the names equal to serde's, so the two spellings cannot drift apart.

/// `names!(Type, "what it is" { Variant => "name", … })`: `Type::ALL`, `as_str`, `FromStr`.
macro_rules! names {
    ($ty:ident, $what:literal { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The name the API, the forms and the log use.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }
        }

        impl std::str::FromStr for $ty {
            type Err = $crate::error::ParseError;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Self::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == text)
                    .ok_or_else(|| {
                        let names: Vec<&str> = Self::ALL.iter().map(|v| v.as_str()).collect();
                        $crate::error::ParseError::new(
                            $what,
                            text,
                            format!("one of {}", names.join(", ")),
                        )
                    })
            }
        }
    };
}

pub(crate) use names;

#[cfg(test)]
mod tests {
    use crate::org::UnitKind;
    use crate::permission::Action;
    use crate::ticket::{Channel, EmergencyService, RequestKind};

    fn serde_name<T: serde::Serialize>(value: T) -> String {
        serde_json::to_value(value)
            .unwrap()
            .as_str()
            .unwrap()
            .to_owned()
    }

    #[test]
    fn names_are_serdes_and_parse_back() {
        for &kind in RequestKind::ALL {
            assert_eq!(kind.as_str(), serde_name(kind));
            assert_eq!(kind.as_str().parse::<RequestKind>().unwrap(), kind);
        }
        // An action's one name: the API path, the workstation's form and the tests use it.
        for &action in Action::ALL {
            assert_eq!(action.as_str(), serde_name(action));
            assert_eq!(action.as_str().parse::<Action>().unwrap(), action);
        }
        for &channel in Channel::ALL {
            assert_eq!(channel.as_str(), serde_name(channel));
            assert_eq!(channel.as_str().parse::<Channel>().unwrap(), channel);
        }
        for &kind in UnitKind::ALL {
            assert_eq!(kind.as_str(), serde_name(kind));
            assert_eq!(kind.as_str().parse::<UnitKind>().unwrap(), kind);
        }
        for &service in EmergencyService::ALL {
            assert_eq!(service.as_str(), serde_name(service));
            assert_eq!(
                service.as_str().parse::<EmergencyService>().unwrap(),
                service
            );
        }
        let refused = "lawsuit".parse::<RequestKind>().unwrap_err();
        assert!(refused.to_string().contains("complaint"), "{refused}");
    }
}
