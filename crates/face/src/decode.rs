//! Encoded bytes (JPEG, PNG) to an [`RgbImage`], with limits checked before
//! any pixel memory is reserved.
//!
//! Pixels are decoded straight into buffers this module owns and zeroises, so
//! no copy of the face outlives the call in a buffer we control (P1). Grey,
//! 16-bit and alpha images are reduced to 8-bit RGB (alpha is dropped: a
//! camera frame has no meaningful transparency), and the EXIF orientation is
//! applied so the face stands upright.
//!
//! Baseline JPEGs (grey, or YCbCr at 4:4:4, 4:2:2, 4:4:0, 4:2:0) are decoded by our
//! own decoder (`crate::jpeg`), which gives libjpeg-turbo's exact pixels: the
//! reference reads images through PIL, and a grey level here and there tips
//! borderline detections. Other JPEGs and PNGs go through the `image` crate.

use std::io::Cursor;

use image::metadata::Orientation;
use image::{ColorType, ImageDecoder, ImageFormat, ImageReader, Limits};
use thiserror::Error;
use zeroize::Zeroizing;

use crate::RgbImage;

/// The largest image accepted: 40 megapixels.
pub const MAX_PIXELS: u64 = 40_000_000;
/// The longest side accepted; bounds absurd declared dimensions early.
pub const MAX_SIDE: u32 = 20_000;

/// Why bytes could not become an image. Messages are safe to show a user.
#[derive(Debug, Error)]
pub enum DecodeError {
    #[error("not a JPEG or PNG image")]
    UnsupportedFormat,
    #[error("the image is empty (0 pixels)")]
    Empty,
    #[error("the image is too large ({width}x{height}; at most {MAX_PIXELS} pixels)")]
    TooLarge { width: u32, height: u32 },
    #[error("the image is corrupt or truncated: {0}")]
    Corrupt(String),
}

/// A JPEG's or PNG's width and height, read from its header alone: no
/// pixel is decoded and no pixel memory reserved, so callers can refuse a
/// frame by its size for the cost of a few hundred bytes of parsing.
pub fn dimensions(bytes: &[u8]) -> Result<(u32, u32), DecodeError> {
    let format = match image::guess_format(bytes) {
        Ok(f @ (ImageFormat::Jpeg | ImageFormat::Png)) => f,
        _ => return Err(DecodeError::UnsupportedFormat),
    };
    ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(classify)
}

/// Decodes a JPEG or PNG held in memory.
pub fn decode(bytes: &[u8]) -> Result<RgbImage, DecodeError> {
    let format = match image::guess_format(bytes) {
        Ok(f @ (ImageFormat::Jpeg | ImageFormat::Png)) => f,
        _ => return Err(DecodeError::UnsupportedFormat),
    };
    // The JPEG decoder pads a cut-off scan with grey and reports success; a
    // truncated upload must be refused instead.
    if format == ImageFormat::Jpeg && !jpeg_has_end_marker(bytes) {
        return Err(DecodeError::Corrupt(
            "JPEG data ends before its end marker".into(),
        ));
    }
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    // Room for a 40 MP image at 16 bits per RGBA channel plus decoder state.
    limits.max_alloc = Some(MAX_PIXELS * 8 + (64 << 20));
    reader.limits(limits);

    let mut decoder = reader.into_decoder().map_err(classify)?;
    let (width, height) = decoder.dimensions();
    if width == 0 || height == 0 {
        return Err(DecodeError::Empty);
    }
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(DecodeError::TooLarge { width, height });
    }
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    // Baseline JPEGs go through our own decoder, which gives libjpeg-turbo's
    // (and so the reference's) exact pixels; the rest through `image`.
    if format == ImageFormat::Jpeg
        && let Some(upright) = crate::jpeg::decode_baseline(bytes)?
    {
        if (upright.width(), upright.height()) != (width as usize, height as usize) {
            return Err(DecodeError::Corrupt("inconsistent JPEG dimensions".into()));
        }
        return Ok(orient(upright, orientation));
    }
    let color = decoder.color_type();
    let total = usize::try_from(decoder.total_bytes())
        .map_err(|_| DecodeError::TooLarge { width, height })?;
    let mut raw = Zeroizing::new(vec![0u8; total]);
    decoder.read_image(&mut raw).map_err(classify)?;

    let (w, h) = (width as usize, height as usize);
    let rgb = to_rgb8(&raw, color, w * h)?;
    let upright = RgbImage::from_raw(w, h, rgb)
        .ok_or_else(|| DecodeError::Corrupt("decoded size mismatch".into()))?;
    Ok(orient(upright, orientation))
}

/// Whether an end-of-image marker follows the first start-of-scan. Inside
/// entropy-coded data a 0xFF byte is always followed by 0x00 or a restart
/// marker, so 0xFF 0xD9 after the scan starts can only be the real end.
fn jpeg_has_end_marker(bytes: &[u8]) -> bool {
    let scan = bytes.windows(2).position(|w| w == [0xFF, 0xDA]);
    scan.is_some_and(|start| bytes[start..].windows(2).any(|w| w == [0xFF, 0xD9]))
}

fn classify(e: image::ImageError) -> DecodeError {
    match e {
        image::ImageError::Limits(_) => DecodeError::TooLarge {
            width: 0,
            height: 0,
        },
        image::ImageError::Unsupported(_) => DecodeError::UnsupportedFormat,
        other => DecodeError::Corrupt(other.to_string()),
    }
}

/// Reduces any decoded pixel layout to interleaved 8-bit RGB.
fn to_rgb8(raw: &[u8], color: ColorType, pixels: usize) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::with_capacity(pixels * 3);
    let bpp = usize::from(color.bytes_per_pixel());
    if raw.len() != pixels * bpp {
        return Err(DecodeError::Corrupt("decoded size mismatch".into()));
    }
    // 16-bit samples arrive in native byte order; keep the high byte's worth.
    let wide = |s: &[u8]| (u16::from_ne_bytes([s[0], s[1]]) as u32 * 255 + 32767) / 65535;
    let float = |s: &[u8]| {
        let v = f32::from_ne_bytes([s[0], s[1], s[2], s[3]]);
        (v.clamp(0.0, 1.0) * 255.0).round() as u8
    };
    for px in raw.chunks_exact(bpp) {
        let rgb: [u8; 3] = match color {
            ColorType::L8 | ColorType::La8 => [px[0]; 3],
            ColorType::Rgb8 | ColorType::Rgba8 => [px[0], px[1], px[2]],
            ColorType::L16 | ColorType::La16 => [wide(&px[0..2]) as u8; 3],
            ColorType::Rgb16 | ColorType::Rgba16 => [
                wide(&px[0..2]) as u8,
                wide(&px[2..4]) as u8,
                wide(&px[4..6]) as u8,
            ],
            ColorType::Rgb32F | ColorType::Rgba32F => {
                [float(&px[0..4]), float(&px[4..8]), float(&px[8..12])]
            }
            _ => return Err(DecodeError::UnsupportedFormat),
        };
        out.extend_from_slice(&rgb);
    }
    Ok(out)
}

/// For a destination pixel (x, y) of an image whose source is w×h, the
/// source pixel it takes.
type SourcePixel = fn(usize, usize, usize, usize) -> (usize, usize);

/// Applies an EXIF orientation, returning the upright image.
fn orient(image: RgbImage, orientation: Orientation) -> RgbImage {
    let (w, h) = (image.width(), image.height());
    let (swapped, source): (bool, SourcePixel) = match orientation {
        Orientation::NoTransforms => return image,
        Orientation::FlipHorizontal => (false, |x, y, w, _| (w - 1 - x, y)),
        Orientation::Rotate180 => (false, |x, y, w, h| (w - 1 - x, h - 1 - y)),
        Orientation::FlipVertical => (false, |x, y, _, h| (x, h - 1 - y)),
        Orientation::Rotate90 => (true, |x, y, _, h| (y, h - 1 - x)),
        Orientation::Rotate270 => (true, |x, y, w, _| (w - 1 - y, x)),
        Orientation::Rotate90FlipH => (true, |x, y, _, _| (y, x)),
        Orientation::Rotate270FlipH => (true, |x, y, w, h| (w - 1 - y, h - 1 - x)),
    };
    let (dw, dh) = if swapped { (h, w) } else { (w, h) };
    let mut out = Vec::with_capacity(w * h * 3);
    for y in 0..dh {
        for x in 0..dw {
            let (sx, sy) = source(x, y, w, h);
            out.extend_from_slice(&image.pixel(sx, sy));
        }
    }
    RgbImage::from_raw(dw, dh, out).unwrap_or(image)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pattern(w: usize, h: usize) -> RgbImage {
        let data = (0..w * h)
            .flat_map(|i| [i as u8, (i * 7) as u8, (i * 13) as u8])
            .collect();
        RgbImage::from_raw(w, h, data).expect("sized")
    }

    #[test]
    fn rotations_compose_to_identity() {
        let img = pattern(3, 2);
        let expected = img.as_raw().to_vec();
        let r90 = orient(pattern(3, 2), Orientation::Rotate90);
        assert_eq!((r90.width(), r90.height()), (2, 3));
        let r180 = orient(r90, Orientation::Rotate90);
        let r270 = orient(r180, Orientation::Rotate90);
        let back = orient(r270, Orientation::Rotate90);
        assert_eq!(back.as_raw(), &expected[..]);
        // Rotate90 then Rotate270 is the identity too.
        let round = orient(
            orient(pattern(3, 2), Orientation::Rotate90),
            Orientation::Rotate270,
        );
        assert_eq!(round.as_raw(), &expected[..]);
    }

    #[test]
    fn rotate90_moves_top_left_to_top_right() {
        let r = orient(pattern(3, 2), Orientation::Rotate90);
        // Source (0,0) goes to (h-1, 0) = (1, 0) when turned clockwise.
        assert_eq!(r.pixel(1, 0), pattern(3, 2).pixel(0, 0));
        assert_eq!(r.pixel(0, 0), pattern(3, 2).pixel(0, 1));
    }

    #[test]
    fn sixteen_bit_and_grey_reduce_to_rgb8() {
        let raw: Vec<u8> = [65535u16, 0, 32768]
            .iter()
            .flat_map(|v| v.to_ne_bytes())
            .collect();
        assert_eq!(
            to_rgb8(&raw, ColorType::Rgb16, 1).expect("ok"),
            vec![255, 0, 128]
        );
        assert_eq!(
            to_rgb8(&[7, 200], ColorType::La8, 1).expect("ok"),
            vec![7, 7, 7]
        );
        assert!(to_rgb8(&[1, 2], ColorType::Rgb8, 1).is_err());
    }
}
