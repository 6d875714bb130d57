//! A citizen's photo without what it says about the citizen: EXIF (with GPS position, camera and
//! owner), XMP, IPTC and comments are removed before the photo is sealed, so no one who opens it
//! later learns where the citizen lives or whose phone took it. The picture itself is untouched
//! (no re-encoding): only the container's metadata parts go.

use img_parts::jpeg::{Jpeg, markers};
use img_parts::png::Png;
use img_parts::riff::{RiffChunk, RiffContent};
use img_parts::webp::{CHUNK_VP8X, CHUNK_XMP, WebP};
use img_parts::{Bytes, ImageEXIF};

use crate::error::{AppError, AppResult};

/// The photo of media type `content_type` (as `domain::media::photo_type` found it) with its
/// metadata removed.
pub fn without_metadata(bytes: &[u8], content_type: &str) -> AppResult<Vec<u8>> {
    let unreadable = |e: img_parts::Error| -> AppError {
        domain::DomainError::invalid(
            "photo",
            format!("the photo could not be read ({e}); send it again as a JPEG, PNG or WebP"),
        )
        .into()
    };
    let bytes = Bytes::copy_from_slice(bytes);
    let cleaned = match content_type {
        "image/jpeg" => {
            let mut jpeg = Jpeg::from_bytes(bytes).map_err(unreadable)?;
            // Kept: JFIF (APP0), the colour profile (APP2) and Adobe's colour transform (APP14),
            // which decoding needs. Gone: EXIF and XMP (APP1), IPTC (APP13), every other
            // application segment, and comments.
            jpeg.segments_mut().retain(|s| {
                let marker = s.marker();
                let application = (markers::APP0..=markers::APP15).contains(&marker);
                let kept = matches!(marker, markers::APP0 | markers::APP2 | markers::APP14);
                marker != markers::COM && (!application || kept)
            });
            jpeg.encoder().bytes()
        }
        "image/png" => {
            let mut png = Png::from_bytes(bytes).map_err(unreadable)?;
            for kind in [*b"eXIf", *b"tEXt", *b"zTXt", *b"iTXt", *b"tIME"] {
                png.remove_chunks_by_type(kind);
            }
            png.encoder().bytes()
        }
        "image/webp" => {
            let mut webp = WebP::from_bytes(bytes).map_err(unreadable)?;
            webp.set_exif(None);
            webp.remove_chunks_by_id(CHUNK_XMP);
            clear_metadata_flags(&mut webp);
            webp.encoder().bytes()
        }
        other => {
            return Err(AppError::Internal(format!(
                "no metadata rule for a photo of type {other}"
            )));
        }
    };
    Ok(cleaned.to_vec())
}

/// The extended header says which metadata chunks follow; with them gone, its EXIF (0x08) and XMP
/// (0x04) flags must go too.
fn clear_metadata_flags(webp: &mut WebP) {
    for chunk in webp.chunks_mut() {
        if chunk.id() != CHUNK_VP8X {
            continue;
        }
        if let Some(data) = chunk.content().data() {
            let mut header = data.to_vec();
            if let Some(flags) = header.first_mut() {
                *flags &= !(0x08 | 0x04);
            }
            *chunk = RiffChunk::new(CHUNK_VP8X, RiffContent::Data(Bytes::from(header)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GPS: &[u8] = b"GPSLatitude 29.6084 GPSLongitude 106.5508 Owner Wang Xiaoming";

    fn segment(marker: u8, contents: &[u8]) -> Vec<u8> {
        let mut out = vec![0xFF, marker];
        out.extend_from_slice(&((contents.len() + 2) as u16).to_be_bytes());
        out.extend_from_slice(contents);
        out
    }

    /// A JPEG's container: SOI, the given segments, a minimal frame and scan, EOI.
    fn jpeg(parts: &[Vec<u8>]) -> Vec<u8> {
        let mut out = vec![0xFF, 0xD8];
        for part in parts {
            out.extend_from_slice(part);
        }
        out.extend(segment(0xDB, &[0; 65]));
        out.extend(segment(0xC0, &[8, 0, 1, 0, 1, 1, 1, 0x11, 0]));
        out.extend(segment(0xDA, &[1, 1, 0, 0, 63, 0]));
        out.extend_from_slice(&[0x12, 0x34, 0xFF, 0xD9]);
        out
    }

    #[test]
    fn a_jpeg_keeps_its_picture_and_loses_exif_xmp_iptc_and_comments() {
        let mut exif = b"Exif\0\0".to_vec();
        exif.extend_from_slice(GPS);
        let original = jpeg(&[
            segment(0xE0, b"JFIF\0\x01\x01\0\0\x01\0\x01\0\0"),
            segment(0xE1, &exif),
            segment(
                0xE1,
                b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>Wang Xiaoming</x:xmpmeta>",
            ),
            segment(0xED, b"Photoshop 3.0\0IPTC Wang Xiaoming"),
            segment(0xFE, b"taken at home, Building 3"),
            segment(0xE2, b"ICC_PROFILE\0\x01\x01colour"),
        ]);
        let cleaned = without_metadata(&original, "image/jpeg").unwrap();
        let text = String::from_utf8_lossy(&cleaned);
        for secret in ["GPSLatitude", "Wang Xiaoming", "Building 3", "xmpmeta"] {
            assert!(!text.contains(secret), "{secret} survived");
        }
        assert!(text.contains("JFIF") && text.contains("ICC_PROFILE"));
        assert!(
            cleaned.ends_with(&[0x12, 0x34, 0xFF, 0xD9]),
            "the picture is untouched"
        );
        assert!(cleaned.len() < original.len());
    }

    fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut out = (data.len() as u32).to_be_bytes().to_vec();
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let mut crc = crc32fast::Hasher::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(&crc.finalize().to_be_bytes());
        out
    }

    #[test]
    fn a_png_loses_its_text_and_exif_chunks() {
        let mut original = b"\x89PNG\r\n\x1a\n".to_vec();
        original.extend(png_chunk(b"IHDR", &[0, 0, 0, 1, 0, 0, 0, 1, 8, 2, 0, 0, 0]));
        original.extend(png_chunk(b"tEXt", b"Author\0Wang Xiaoming"));
        original.extend(png_chunk(b"eXIf", GPS));
        original.extend(png_chunk(
            b"IDAT",
            &[0x78, 0x9c, 0x63, 0, 0, 0, 0x01, 0, 0x01],
        ));
        original.extend(png_chunk(b"IEND", &[]));
        let cleaned = without_metadata(&original, "image/png").unwrap();
        let text = String::from_utf8_lossy(&cleaned);
        assert!(!text.contains("Wang Xiaoming") && !text.contains("GPSLatitude"));
        assert!(text.contains("IHDR") && text.contains("IDAT") && text.contains("IEND"));
    }

    #[test]
    fn a_webp_loses_exif_and_xmp_and_says_so_in_its_header() {
        let chunk = |id: &[u8; 4], data: &[u8]| {
            let mut out = id.to_vec();
            out.extend_from_slice(&(data.len() as u32).to_le_bytes());
            out.extend_from_slice(data);
            if data.len() % 2 == 1 {
                out.push(0);
            }
            out
        };
        let mut body = b"WEBP".to_vec();
        // A colour profile keeps the extended header (flag 0x20) after the metadata goes.
        body.extend(chunk(b"VP8X", &[0x2C, 0, 0, 0, 0, 0, 0, 0, 0, 0]));
        body.extend(chunk(b"ICCP", b"colour"));
        body.extend(chunk(
            b"VP8L",
            &[
                0x2f, 0, 0, 0, 0x10, 0x07, 0x10, 0x11, 0x11, 0x88, 0x88, 0xfe, 0x07,
            ],
        ));
        let mut exif = b"Exif\0\0".to_vec();
        exif.extend_from_slice(GPS);
        body.extend(chunk(b"EXIF", &exif));
        body.extend(chunk(b"XMP ", b"<x:xmpmeta>Wang Xiaoming</x:xmpmeta>"));
        let mut original = b"RIFF".to_vec();
        original.extend_from_slice(&(body.len() as u32).to_le_bytes());
        original.extend(body);
        let cleaned = without_metadata(&original, "image/webp").unwrap();
        let text = String::from_utf8_lossy(&cleaned);
        assert!(!text.contains("Wang Xiaoming") && !text.contains("GPSLatitude"));
        assert!(text.contains("VP8L"), "the picture is kept");
        let vp8x = text.find("VP8X").unwrap();
        assert_eq!(
            cleaned[vp8x + 8],
            0x20,
            "the header claims the profile, no EXIF or XMP"
        );
    }

    #[test]
    fn a_broken_container_is_refused_with_what_to_do() {
        let err = without_metadata(&[0xFF, 0xD8, 0xFF, 0xE1, 0xFF], "image/jpeg").unwrap_err();
        assert!(err.to_string().contains("send it again"), "{err}");
    }
}
