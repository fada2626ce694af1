//! Synthetic presentation attacks: a photograph shown on a phone screen, or
//! printed on paper, held up to a 640×480 camera. No public attack data set
//! is reachable here, so these are rendered, seeded and reproducible; they
//! model the cues a real recapture carries, not a particular device.
//!
//! The scene is rendered at 3×3 samples per camera pixel in linear light and
//! averaged into each pixel (the sensor's aperture), so a fine periodic
//! structure on the medium aliases into moiré as it does on a real sensor.
//!
//! - Screen: the photo fills the width of a tall phone screen (black above
//!   and below it), seen 300–360 px wide and turned up to ±6°. The display
//!   is an RGB-stripe panel whose pixel pitch is 1.0–1.8 camera pixels (a
//!   phone at a distance where its grid is near the sensor's, which is where
//!   recaptures show moiré); it emits the photo with 15% less saturation,
//!   a bluish white point, a black level of 2% and 70–100% backlight. Around
//!   it a near-black bezel and a grey rim; on the glass a specular glare
//!   spot of random place and size.
//! - Print: the photo printed on off-white paper with a white margin, the
//!   paper seen 360–420 px wide, turned up to ±6°. Colour is CMYK halftone
//!   (rotated dot screens of 1.2–2.0 camera pixels per cell, 60% grey
//!   component replaced by black), inks that absorb imperfectly, paper
//!   white at 88% reflectance, a fibre texture of ±4%, light falling off
//!   across the sheet, and a weak glare spot.
//! - Both: a wall-like background (a tinted grey gradient with soft
//!   texture), exposure set by the medium's brightness, sensor noise
//!   (σ = 2/255), and sRGB encoding.

use crate::rng::SplitMix64;

pub const FRAME_WIDTH: usize = 640;
pub const FRAME_HEIGHT: usize = 480;
const SAMPLES: usize = 3;

/// How the photo is presented to the camera.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attack {
    Screen,
    Print,
}

impl Attack {
    pub fn name(self) -> &'static str {
        match self {
            Attack::Screen => "screen",
            Attack::Print => "print",
        }
    }
}

/// A photograph (RGB bytes, row-major).
pub struct Photo<'a> {
    pub width: usize,
    pub height: usize,
    pub rgb: &'a [u8],
}

/// A rendered 640×480 camera frame, RGB bytes.
pub struct Frame {
    pub width: usize,
    pub height: usize,
    pub rgb: Vec<u8>,
}

fn srgb_to_linear(v: f32) -> f32 {
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

fn linear_to_srgb(v: f32) -> f32 {
    let v = v.clamp(0.0, 1.0);
    if v <= 0.003_130_8 {
        v * 12.92
    } else {
        1.055 * v.powf(1.0 / 2.4) - 0.055
    }
}

impl SplitMix64 {
    /// Uniform in `lo..hi`.
    pub fn range(&mut self, lo: f32, hi: f32) -> f32 {
        let unit = (self.next_u64() >> 40) as f32 / (1u64 << 24) as f32;
        lo + (hi - lo) * unit
    }

    /// Standard normal (Box–Muller).
    pub fn normal(&mut self) -> f32 {
        let u1 = self.range(f32::EPSILON, 1.0);
        let u2 = self.range(0.0, 1.0);
        (-2.0 * u1.ln()).sqrt() * (std::f32::consts::TAU * u2).cos()
    }
}

/// Smooth noise: random values on a lattice, bilinearly interpolated.
struct ValueNoise {
    cell: f32,
    cols: usize,
    values: Vec<f32>,
}

impl ValueNoise {
    fn new(rng: &mut SplitMix64, extent: f32, cell: f32) -> Self {
        let cols = (extent / cell) as usize + 3;
        let values = (0..cols * cols).map(|_| rng.range(-1.0, 1.0)).collect();
        ValueNoise { cell, cols, values }
    }

    /// At a point measured from the lattice's corner; 0 outside it.
    fn at(&self, x: f32, y: f32) -> f32 {
        let (gx, gy) = (x / self.cell, y / self.cell);
        if gx < 0.0 || gy < 0.0 {
            return 0.0;
        }
        let (ix, iy) = (gx as usize, gy as usize);
        if ix + 1 >= self.cols || iy + 1 >= self.cols {
            return 0.0;
        }
        let (fx, fy) = (gx - ix as f32, gy - iy as f32);
        let v = |x: usize, y: usize| self.values[y * self.cols + x];
        let top = v(ix, iy) * (1.0 - fx) + v(ix + 1, iy) * fx;
        let bottom = v(ix, iy + 1) * (1.0 - fx) + v(ix + 1, iy + 1) * fx;
        top * (1.0 - fy) + bottom * fy
    }
}

/// The photo in linear light, sampled bilinearly at normalised `(s, t)`.
fn sample_photo(photo: &Photo, linear: &[f32; 256], s: f32, t: f32) -> [f32; 3] {
    let x = (s * photo.width as f32 - 0.5).clamp(0.0, (photo.width - 1) as f32);
    let y = (t * photo.height as f32 - 0.5).clamp(0.0, (photo.height - 1) as f32);
    let (x0, y0) = (x as usize, y as usize);
    let (x1, y1) = (
        (x0 + 1).min(photo.width - 1),
        (y0 + 1).min(photo.height - 1),
    );
    let (fx, fy) = (x - x0 as f32, y - y0 as f32);
    let px = |x: usize, y: usize, c: usize| {
        linear[usize::from(photo.rgb[(y * photo.width + x) * 3 + c])]
    };
    std::array::from_fn(|c| {
        let top = px(x0, y0, c) * (1.0 - fx) + px(x1, y0, c) * fx;
        let bottom = px(x0, y1, c) * (1.0 - fx) + px(x1, y1, c) * fx;
        top * (1.0 - fy) + bottom * fy
    })
}

/// A gaussian spot of light.
struct Glare {
    x: f32,
    y: f32,
    radius: f32,
    strength: f32,
}

impl Glare {
    fn at(&self, x: f32, y: f32) -> f32 {
        let d2 = (x - self.x).powi(2) + (y - self.y).powi(2);
        self.strength * (-d2 / (2.0 * self.radius * self.radius)).exp()
    }
}

/// Renders `photo` presented as `attack`; `rng` draws every random choice.
pub fn present(attack: Attack, photo: &Photo, rng: &mut SplitMix64) -> Frame {
    let linear: [f32; 256] = std::array::from_fn(|v| srgb_to_linear(v as f32 / 255.0));
    let (cx, cy) = (
        FRAME_WIDTH as f32 / 2.0 + rng.range(-20.0, 20.0),
        FRAME_HEIGHT as f32 / 2.0 + rng.range(-10.0, 10.0),
    );
    let angle = rng.range(-6.0, 6.0).to_radians();
    let (sin, cos) = angle.sin_cos();
    let wall = [
        rng.range(0.12, 0.3),
        rng.range(0.12, 0.3),
        rng.range(0.12, 0.3),
    ];
    let wall_texture = ValueNoise::new(rng, 700.0, 40.0);
    let light_slope = rng.range(-0.3, 0.3) / FRAME_WIDTH as f32;

    // Medium-specific set-up.
    let photo_size = match attack {
        Attack::Screen => rng.range(300.0, 360.0),
        Attack::Print => rng.range(300.0, 340.0),
    };
    let half = photo_size / 2.0;
    let pitch = rng.range(1.0, 1.8);
    let backlight = rng.range(0.7, 1.0);
    let tint = [0.93, 1.0, 1.08];
    let cell = rng.range(1.2, 2.0);
    let screens = [15f32, 75.0, 0.0, 45.0].map(|a| (a + angle.to_degrees()).to_radians().sin_cos());
    let paper_texture = ValueNoise::new(rng, 900.0, 2.0);
    let glare = Glare {
        x: cx + rng.range(-half, half),
        y: cy + rng.range(-half, half),
        radius: rng.range(40.0, 110.0),
        strength: match attack {
            Attack::Screen => rng.range(0.2, 0.5),
            Attack::Print => rng.range(0.05, 0.15),
        },
    };
    let paper_margin = rng.range(25.0, 40.0);

    let medium = |x: f32, y: f32| -> Option<[f32; 3]> {
        // Coordinates on the medium, centred on the photo.
        let (dx, dy) = (x - cx, y - cy);
        let (u, v) = (cos * dx + sin * dy, -sin * dx + cos * dy);
        let in_photo = u.abs() < half && v.abs() < half;
        let content = |u: f32, v: f32| {
            sample_photo(
                photo,
                &linear,
                (u + half) / photo_size,
                (v + half) / photo_size,
            )
        };
        match attack {
            Attack::Screen => {
                let (screen_w, screen_h) = (half, half * 1.7);
                if u.abs() > screen_w + 17.0 || v.abs() > screen_h + 17.0 {
                    return None;
                }
                let glass = glare.at(x, y);
                if u.abs() > screen_w + 12.0 || v.abs() > screen_h + 12.0 {
                    return Some([0.18, 0.18, 0.19].map(|c| c + glass * 0.3));
                }
                if u.abs() > screen_w || v.abs() > screen_h {
                    return Some([0.01 + glass; 3]);
                }
                let mut rgb = if in_photo { content(u, v) } else { [0.0; 3] };
                let luma = 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2];
                for (c, value) in rgb.iter_mut().enumerate() {
                    *value = (0.85 * *value + 0.15 * luma) * tint[c];
                }
                // RGB stripes with dark gaps between them and between rows.
                let column = (u / pitch).rem_euclid(1.0);
                let row = (v / pitch).rem_euclid(1.0);
                let lit_row = row < 0.9;
                Some(std::array::from_fn(|c| {
                    let stripe = column >= c as f32 / 3.0 && column < c as f32 / 3.0 + 0.28;
                    let emitted = if stripe && lit_row {
                        rgb[c] / (0.28 * 0.9)
                    } else {
                        0.0
                    };
                    backlight * (0.02 + 0.98 * emitted) + glass
                }))
            }
            Attack::Print => {
                let top = -half - paper_margin * 0.8;
                let bottom = half + paper_margin * 2.2;
                if u.abs() > half + paper_margin || v < top || v > bottom {
                    return None;
                }
                let paper = [0.88, 0.87, 0.83];
                let texture = 1.0 + 0.04 * paper_texture.at(u + 450.0, v + 450.0);
                let mut reflectance = paper.map(|p| p * texture);
                if in_photo {
                    let rgb = content(u, v).map(linear_to_srgb);
                    let mut cmy = rgb.map(|c| 1.0 - c);
                    let black = cmy.iter().copied().fold(1.0f32, f32::min) * 0.6;
                    cmy.iter_mut().for_each(|c| *c -= black);
                    let coverage = [cmy[0], cmy[1], cmy[2], black];
                    // Absorption of cyan, magenta, yellow and black ink in
                    // the red, green and blue bands.
                    let absorb = [
                        [0.85, 0.2, 0.05],
                        [0.05, 0.85, 0.2],
                        [0.0, 0.05, 0.85],
                        [0.9, 0.9, 0.9],
                    ];
                    for ((amount, (s, c)), absorb) in coverage.iter().zip(screens).zip(absorb) {
                        let (a, b) = ((c * u + s * v) / cell, (-s * u + c * v) / cell);
                        let spot = 0.5
                            - 0.25
                                * ((std::f32::consts::TAU * a).cos()
                                    + (std::f32::consts::TAU * b).cos());
                        if spot < *amount {
                            for (r, k) in reflectance.iter_mut().zip(absorb) {
                                *r *= 1.0 - k;
                            }
                        }
                    }
                }
                let light = 1.0 + light_slope * (x - cx);
                Some(reflectance.map(|r| r * light + glare.at(x, y)))
            }
        }
    };

    let mut rgb = vec![0u8; FRAME_WIDTH * FRAME_HEIGHT * 3];
    let exposure = match attack {
        Attack::Screen => 0.9 / backlight.max(0.5),
        Attack::Print => 1.0,
    };
    for y in 0..FRAME_HEIGHT {
        for x in 0..FRAME_WIDTH {
            let mut sum = [0.0f32; 3];
            for sy in 0..SAMPLES {
                for sx in 0..SAMPLES {
                    let px = x as f32 + (sx as f32 + 0.5) / SAMPLES as f32;
                    let py = y as f32 + (sy as f32 + 0.5) / SAMPLES as f32;
                    let value = medium(px, py).unwrap_or_else(|| {
                        let shade = 0.8
                            + 0.4 * (py / FRAME_HEIGHT as f32)
                            + 0.1 * wall_texture.at(px + 30.0, py + 30.0);
                        wall.map(|w| w * shade)
                    });
                    for (s, v) in sum.iter_mut().zip(value) {
                        *s += v;
                    }
                }
            }
            let out = &mut rgb[(y * FRAME_WIDTH + x) * 3..][..3];
            for (o, s) in out.iter_mut().zip(sum) {
                let value = linear_to_srgb(s / (SAMPLES * SAMPLES) as f32 * exposure)
                    + rng.normal() * 2.0 / 255.0;
                *o = (value * 255.0).round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    Frame {
        width: FRAME_WIDTH,
        height: FRAME_HEIGHT,
        rgb,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grey_photo() -> Vec<u8> {
        (0..64 * 64 * 3).map(|i| ((i / 3) % 256) as u8).collect()
    }

    #[test]
    fn the_same_seed_renders_the_same_frame() {
        let rgb = grey_photo();
        let photo = Photo {
            width: 64,
            height: 64,
            rgb: &rgb,
        };
        for attack in [Attack::Screen, Attack::Print] {
            let a = present(attack, &photo, &mut SplitMix64::new(3));
            let b = present(attack, &photo, &mut SplitMix64::new(3));
            assert_eq!(a.rgb, b.rgb);
            assert_eq!(a.rgb.len(), FRAME_WIDTH * FRAME_HEIGHT * 3);
            let c = present(attack, &photo, &mut SplitMix64::new(4));
            assert_ne!(a.rgb, c.rgb);
        }
    }

    #[test]
    fn paper_shows_a_white_margin_and_a_screen_does_not() {
        let rgb = vec![100u8; 64 * 64 * 3];
        let photo = Photo {
            width: 64,
            height: 64,
            rgb: &rgb,
        };
        let bright = |f: &Frame| f.rgb.chunks_exact(3).filter(|p| p[1] > 200).count();
        for seed in 1..4 {
            let screen = present(Attack::Screen, &photo, &mut SplitMix64::new(seed));
            let print = present(Attack::Print, &photo, &mut SplitMix64::new(seed));
            assert!(bright(&print) > 10_000, "{}", bright(&print));
            assert!(bright(&screen) < bright(&print) / 4, "{}", bright(&screen));
        }
    }
}
