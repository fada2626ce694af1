//! The only picture that leaves the entrance: the region around one face,
//! re-encoded as JPEG in memory. Never the whole frame, so bystanders and
//! the scene behind the person are not sent.

use std::io::Write;

use image::ExtendedColorType;
use image::codecs::jpeg::JpegEncoder;
use limen_face::{Rect, RgbImage};
use thiserror::Error;
use zeroize::{Zeroize, Zeroizing};

/// How much larger than the face box the crop is, in each direction: room
/// for the server's own detector to find the face again, little else.
pub const CROP_SCALE: f64 = 2.0;
const JPEG_QUALITY: u8 = 90;

// The server scans a crop first for faces of at least `CROP_FACE_SHARE` of
// its longer side: the face box is at least 1/CROP_SCALE of it, and the
// server's detector may find it one pyramid step (6/5) smaller.
const _: () = assert!(1.0 / CROP_SCALE / 1.2 > limen_face::CROP_FACE_SHARE);

#[derive(Debug, Error)]
pub enum CropError {
    #[error("the face box lies outside the frame")]
    OutsideFrame,
    #[error("encoding the face crop failed: {0}")]
    Encode(#[from] image::ImageError),
}

/// The face box enlarged by [`CROP_SCALE`] around its centre and clipped to
/// a `width`×`height` frame; `None` when nothing of it is in the frame.
pub fn crop_region(face: Rect, width: usize, height: usize) -> Option<Rect> {
    let centre = face.center();
    let half_w = face.width() as f64 * CROP_SCALE / 2.0;
    let half_h = face.height() as f64 * CROP_SCALE / 2.0;
    let frame = Rect::new(0, 0, width as i64 - 1, height as i64 - 1);
    let region = Rect::new(
        (centre.x - half_w).round() as i64,
        (centre.y - half_h).round() as i64,
        (centre.x + half_w).round() as i64,
        (centre.y + half_h).round() as i64,
    )
    .intersect(&frame);
    (!region.is_empty()).then_some(region)
}

/// The face's crop region of `image` as a JPEG, in a zeroising buffer.
pub fn encode_face_crop(image: &RgbImage, face: Rect) -> Result<Zeroizing<Vec<u8>>, CropError> {
    let region = crop_region(face, image.width(), image.height()).ok_or(CropError::OutsideFrame)?;
    let (left, top) = (region.left as usize, region.top as usize);
    let (w, h) = (region.width() as usize, region.height() as usize);
    let mut pixels = Zeroizing::new(Vec::with_capacity(w * h * 3));
    let stride = image.width() * 3;
    for y in top..top + h {
        let row = y * stride + left * 3;
        pixels.extend_from_slice(&image.as_raw()[row..row + w * 3]);
    }
    let mut out = ZeroizingWriter(Zeroizing::new(Vec::with_capacity(w * h * 3 / 4 + 1024)));
    JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY).encode(
        &pixels,
        w as u32,
        h as u32,
        ExtendedColorType::Rgb8,
    )?;
    Ok(out.0)
}

/// A byte sink that zeroises its old allocation whenever it has to grow,
/// so no stray copy of the encoded face is left in freed memory.
struct ZeroizingWriter(Zeroizing<Vec<u8>>);

impl Write for ZeroizingWriter {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let needed = self.0.len() + bytes.len();
        if needed > self.0.capacity() {
            let mut grown = Vec::with_capacity(needed.max(self.0.capacity() * 2));
            grown.extend_from_slice(&self.0);
            self.0.zeroize();
            self.0 = Zeroizing::new(grown);
        }
        self.0.extend_from_slice(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame with a bright square "face" on a dark, textured scene.
    fn frame(width: usize, height: usize, face: Rect) -> RgbImage {
        let mut data = Vec::with_capacity(width * height * 3);
        for y in 0..height as i64 {
            for x in 0..width as i64 {
                let inside = x >= face.left && x <= face.right && y >= face.top && y <= face.bottom;
                let v = if inside {
                    230
                } else {
                    ((x * 7 + y * 3) % 60) as u8
                };
                data.extend_from_slice(&[v, v, v]);
            }
        }
        RgbImage::from_raw(width, height, data).expect("sized")
    }

    #[test]
    fn region_is_twice_the_face_clipped_to_the_frame() {
        let face = Rect::new(100, 80, 149, 129);
        assert_eq!(
            crop_region(face, 640, 480),
            Some(Rect::new(75, 55, 175, 155))
        );
        let corner = Rect::new(0, 0, 39, 39);
        assert_eq!(crop_region(corner, 640, 480), Some(Rect::new(0, 0, 60, 60)));
        assert_eq!(crop_region(Rect::new(700, 10, 760, 70), 640, 480), None);
    }

    #[test]
    fn the_crop_holds_the_face_and_is_smaller_than_the_frame() {
        let face = Rect::new(300, 200, 379, 279);
        let image = frame(640, 480, face);
        let jpeg = encode_face_crop(&image, face).expect("crop");
        let crop = limen_face::decode(&jpeg).expect("a valid JPEG");
        assert_eq!((crop.width(), crop.height()), (161, 161));
        // The face sits in the middle half of the crop, bright; the border is scene.
        let centre = crop.pixel(80, 80);
        assert!(centre[0] > 200, "{centre:?}");
        let border = crop.pixel(2, 2);
        assert!(border[0] < 100, "{border:?}");
        assert!(encode_face_crop(&image, Rect::new(900, 900, 950, 950)).is_err());
    }
}
