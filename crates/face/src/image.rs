//! In-memory pixel buffers. A face picture lives only here, and its bytes are
//! overwritten with zeros when the buffer is dropped (privacy invariant P1).

use zeroize::Zeroize;

use crate::geometry::Rect;

/// An 8-bit RGB image, row-major, 3 bytes a pixel, zeroised on drop.
pub struct RgbImage {
    width: usize,
    height: usize,
    data: Vec<u8>,
}

impl RgbImage {
    /// Wraps interleaved RGB bytes; `None` if the length does not match.
    pub fn from_raw(width: usize, height: usize, data: Vec<u8>) -> Option<Self> {
        if width.checked_mul(height)?.checked_mul(3)? != data.len() {
            let mut data = data;
            data.zeroize();
            return None;
        }
        Some(RgbImage {
            width,
            height,
            data,
        })
    }

    pub fn width(&self) -> usize {
        self.width
    }

    pub fn height(&self) -> usize {
        self.height
    }

    /// Interleaved RGB bytes, `width * height * 3` of them.
    pub fn as_raw(&self) -> &[u8] {
        &self.data
    }

    /// A copy of the pixels inside `area` (inclusive bounds); `None` unless
    /// `area` is non-empty and inside the image.
    pub fn crop(&self, area: Rect) -> Option<RgbImage> {
        let inside = !area.is_empty()
            && area.left >= 0
            && area.top >= 0
            && area.right < self.width as i64
            && area.bottom < self.height as i64;
        if !inside {
            return None;
        }
        let (left, top) = (area.left as usize, area.top as usize);
        let (width, height) = (area.width() as usize, area.height() as usize);
        let mut data = Vec::with_capacity(width * height * 3);
        for y in top..top + height {
            let row = (y * self.width + left) * 3;
            data.extend_from_slice(&self.data[row..row + width * 3]);
        }
        Some(RgbImage {
            width,
            height,
            data,
        })
    }

    /// The pixel at (x, y); the caller keeps x < width and y < height.
    #[inline]
    pub fn pixel(&self, x: usize, y: usize) -> [u8; 3] {
        let i = (y * self.width + x) * 3;
        [self.data[i], self.data[i + 1], self.data[i + 2]]
    }
}

impl Drop for RgbImage {
    fn drop(&mut self) {
        self.data.zeroize();
    }
}

impl std::fmt::Debug for RgbImage {
    // Never print pixels: a Debug of a face must not reach a log (P6).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RgbImage({}x{})", self.width, self.height)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_wrong_length_and_hides_pixels_in_debug() {
        assert!(RgbImage::from_raw(2, 2, vec![0; 11]).is_none());
        let img = RgbImage::from_raw(2, 1, vec![1, 2, 3, 4, 5, 6]).expect("valid");
        assert_eq!(img.pixel(1, 0), [4, 5, 6]);
        assert_eq!(format!("{img:?}"), "RgbImage(2x1)");
    }

    #[test]
    fn crops_inside_the_image_only() {
        let img = RgbImage::from_raw(3, 2, (0..18).collect()).expect("valid");
        let part = img.crop(Rect::new(1, 1, 2, 1)).expect("inside");
        assert_eq!((part.width(), part.height()), (2, 1));
        assert_eq!(part.as_raw(), &[12, 13, 14, 15, 16, 17]);
        assert!(img.crop(Rect::new(1, 1, 3, 1)).is_none());
        assert!(img.crop(Rect::new(-1, 0, 1, 1)).is_none());
        assert!(img.crop(Rect::new(2, 0, 1, 1)).is_none());
    }
}
