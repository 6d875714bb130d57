//! The citizen's contact (来电人信息) and how it is masked. The plaintext exists only in memory:
//! the store holds it sealed, and every response masks it unless a logged reveal says otherwise.

use serde::{Deserialize, Serialize};

use crate::error::DomainError;
use crate::phone::PhoneNumber;

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    pub name: Option<String>,
    pub phone: Option<PhoneNumber>,
    pub address: Option<String>,
    /// Given through Open311 or the citizen page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl std::fmt::Debug for Contact {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("Contact").field(&self.masked()).finish()
    }
}

/// What a person sees by default.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MaskedContact {
    pub name: Option<String>,
    pub phone: Option<String>,
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl Contact {
    pub fn new(
        name: Option<&str>,
        phone: Option<&str>,
        address: Option<&str>,
    ) -> Result<Option<Contact>, DomainError> {
        Self::with_email(name, phone, address, None)
    }

    pub fn with_email(
        name: Option<&str>,
        phone: Option<&str>,
        address: Option<&str>,
        email: Option<&str>,
    ) -> Result<Option<Contact>, DomainError> {
        let clean = |field: &'static str,
                     value: Option<&str>,
                     max: usize|
         -> Result<Option<String>, DomainError> {
            let Some(value) = value.map(str::trim).filter(|v| !v.is_empty()) else {
                return Ok(None);
            };
            if value.chars().count() > max {
                return Err(DomainError::invalid(
                    field,
                    format!("at most {max} characters"),
                ));
            }
            Ok(Some(value.to_owned()))
        };
        let phone = phone
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(PhoneNumber::parse)
            .transpose()?;
        let email = clean("contact.email", email, 254)?;
        if let Some(e) = &email
            && !e
                .split_once('@')
                .is_some_and(|(user, host)| !user.is_empty() && host.contains('.'))
        {
            return Err(DomainError::invalid(
                "contact.email",
                format!("{e:?} is not an email address"),
            ));
        }
        let contact = Contact {
            name: clean("contact.name", name, 50)?,
            phone,
            address: clean("contact.address", address, 200)?,
            email,
        };
        Ok((contact.name.is_some()
            || contact.phone.is_some()
            || contact.address.is_some()
            || contact.email.is_some())
        .then_some(contact))
    }

    pub fn masked(&self) -> MaskedContact {
        MaskedContact {
            name: self.name.as_deref().map(mask_name),
            phone: self.phone.as_ref().map(PhoneNumber::masked),
            address: self.address.as_deref().map(mask_address),
            email: self.email.as_deref().map(mask_email),
        }
    }
}

const COMPOUND_SURNAMES: [&str; 12] = [
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "长孙", "司徒",
];

/// Surname only: `张**`, `欧阳*`.
pub fn mask_name(name: &str) -> String {
    let name = name.trim();
    let keep = if COMPOUND_SURNAMES.iter().any(|s| name.starts_with(s)) {
        2
    } else {
        1
    };
    let total = name.chars().count();
    let head: String = name.chars().take(keep).collect();
    head + &"*".repeat(total.saturating_sub(keep).clamp(1, 3))
}

/// The first letter and the domain: `w***@example.com`.
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((user, host)) => {
            let first: String = user.chars().take(1).collect();
            format!("{first}***@{host}")
        }
        None => "***".into(),
    }
}

/// Down to the street (街道/镇/乡) at most: `东湖区湖滨街道****`.
pub fn mask_address(address: &str) -> String {
    let address = address.trim();
    let chars: Vec<char> = address.chars().collect();
    let text: String = chars.iter().take(24).collect();
    let cut = ["街道", "镇", "乡"]
        .iter()
        .filter_map(|m| {
            text.find(m)
                .map(|i| text[..i].chars().count() + m.chars().count())
        })
        .min()
        .unwrap_or(6)
        .min(chars.len().saturating_sub(1));
    chars.iter().take(cut).collect::<String>() + "****"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_keep_the_surname_only() {
        assert_eq!(mask_name("张伟"), "张*");
        assert_eq!(mask_name("张三丰"), "张**");
        assert_eq!(mask_name("欧阳娜娜"), "欧阳**");
        assert_eq!(mask_name("王"), "王*");
    }

    #[test]
    fn addresses_stop_at_the_street() {
        assert_eq!(
            mask_address("东湖区湖滨街道幸福里3栋402"),
            "东湖区湖滨街道****"
        );
        assert_eq!(mask_address("青山镇石桥村5组"), "青山镇****");
        assert_eq!(mask_address("幸福小区3栋402室"), "幸福小区3栋****");
        assert_eq!(mask_address("小区"), "小****");
    }

    #[test]
    fn a_contact_needs_something_and_masks_everything() {
        assert_eq!(Contact::new(None, Some(" "), None).unwrap(), None);
        let c = Contact::new(Some("李娜"), Some("13912345678"), Some("湖滨街道幸福里3栋"))
            .unwrap()
            .unwrap();
        let m = c.masked();
        assert_eq!(m.name.as_deref(), Some("李*"));
        assert_eq!(m.phone.as_deref(), Some("139****5678"));
        assert!(!format!("{c:?}").contains("13912345678"));
        assert!(Contact::new(None, Some("12"), None).is_err());
    }
}
