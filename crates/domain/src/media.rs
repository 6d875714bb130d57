//! Photos citizens attach (现场照片): what is accepted. The type is read from the file's first
//! bytes, never from its name or the browser's claim, so nothing but an image is ever stored or
//! served back.

use crate::error::DomainError;

/// The largest photo accepted.
pub const MAX_PHOTO_BYTES: usize = 5 * 1024 * 1024;

/// The photo's media type, or why it is refused.
pub fn photo_type(bytes: &[u8]) -> Result<&'static str, DomainError> {
    if bytes.is_empty() {
        return Err(DomainError::invalid("photo", "the photo is empty"));
    }
    if bytes.len() > MAX_PHOTO_BYTES {
        return Err(DomainError::invalid(
            "photo",
            format!(
                "the photo is larger than {} MB; send a smaller one",
                MAX_PHOTO_BYTES / 1024 / 1024
            ),
        ));
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Ok("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Ok("image/png")
    } else if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Ok("image/webp")
    } else {
        Err(DomainError::invalid(
            "photo",
            "only JPEG, PNG or WebP photos are accepted",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_images_of_a_sensible_size_pass() {
        assert_eq!(
            photo_type(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]).unwrap(),
            "image/jpeg"
        );
        assert_eq!(photo_type(b"\x89PNG\r\n\x1a\n0000").unwrap(), "image/png");
        assert_eq!(photo_type(b"RIFF\0\0\0\0WEBPVP8 ").unwrap(), "image/webp");
        assert!(
            photo_type(b"<svg onload=alert(1)>").is_err(),
            "no SVG: it can carry script"
        );
        assert!(photo_type(b"GIF89a").is_err());
        assert!(photo_type(&[]).is_err());
        let mut big = vec![0xFF, 0xD8, 0xFF];
        big.resize(MAX_PHOTO_BYTES + 1, 0);
        assert!(photo_type(&big).unwrap_err().to_string().contains("5 MB"));
    }
}
