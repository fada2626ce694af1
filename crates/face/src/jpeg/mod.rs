//! A baseline (sequential, Huffman-coded, 8-bit) JPEG decoder that gives the
//! same pixels as libjpeg-turbo with its default settings, which is what the
//! reference (PIL) decodes with: accurate integer IDCT, fancy chroma
//! upsampling and libjpeg's fixed-point YCbCr → RGB.
//!
//! It covers grey images and YCbCr at 4:4:4, 4:2:2, 4:4:0 and 4:2:0 in one
//! interleaved scan. Anything else (progressive, arithmetic coding, 12-bit,
//! CMYK, Adobe/RGB colour, several scans) is reported as unsupported so the
//! caller can fall back to a general decoder.

mod color;
mod huffman;
mod idct;

use zeroize::Zeroizing;

use crate::RgbImage;
use crate::decode::{DecodeError, MAX_PIXELS};
use huffman::{BitReader, HuffmanTable};

/// Where each zig-zag coefficient index lands in the natural 8×8 order.
const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

fn corrupt(what: &str) -> DecodeError {
    DecodeError::Corrupt(what.into())
}

/// One colour component as declared in the frame header.
struct Component {
    id: u8,
    h: usize,
    v: usize,
    quant_slot: usize,
}

/// Everything read from the markers before the scan data.
#[derive(Default)]
struct Headers {
    quant: [Option<[u16; 64]>; 4],
    dc: [Option<HuffmanTable>; 4],
    ac: [Option<HuffmanTable>; 4],
    restart_interval: usize,
    /// The colour transform an Adobe APP14 marker declares, if any.
    adobe_transform: Option<u8>,
    width: usize,
    height: usize,
    components: Vec<Component>,
    frame_seen: bool,
}

/// A component's samples at its own (possibly reduced) resolution.
struct Plane {
    samples: Zeroizing<Vec<u8>>,
    stride: usize,
    /// Samples that carry image content (libjpeg's downsampled size).
    width: usize,
    height: usize,
}

/// Decodes `bytes` if it is a JPEG of a kind this module reproduces exactly;
/// `Ok(None)` means "valid or not, let the general decoder handle it".
pub(crate) fn decode_baseline(bytes: &[u8]) -> Result<Option<RgbImage>, DecodeError> {
    if bytes.get(..2) != Some(&[0xFF, 0xD8]) {
        return Ok(None);
    }
    let mut headers = Headers::default();
    let mut pos = 2;
    loop {
        let (marker, body, next) = read_segment(bytes, pos)?;
        pos = next;
        match marker {
            // 12-bit samples: a different IDCT range, left to others.
            0xC0 | 0xC1 if body.first() != Some(&8) => return Ok(None),
            0xC0 | 0xC1 => read_frame(&mut headers, body)?,
            // Other frame types: progressive, lossless, arithmetic, ...
            0xC2..=0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => return Ok(None),
            0xC4 => read_huffman(&mut headers, body)?,
            0xDB => read_quant(&mut headers, body)?,
            0xDD => {
                let interval = body.get(..2).ok_or_else(|| corrupt("short DRI"))?;
                headers.restart_interval =
                    usize::from(u16::from_be_bytes([interval[0], interval[1]]));
            }
            // Adobe's marker may declare RGB or YCCK instead of YCbCr.
            0xEE if body.starts_with(b"Adobe") => {
                headers.adobe_transform = Some(body.get(11).copied().unwrap_or(0));
            }
            0xDA => return decode_scan(&headers, body, &bytes[pos..]),
            0xD9 => return Err(corrupt("no image data before the end marker")),
            _ => {}
        }
    }
}

/// Reads the marker at `pos` and its length-prefixed body; returns the
/// marker code, the body and the offset just past it.
fn read_segment(bytes: &[u8], mut pos: usize) -> Result<(u8, &[u8], usize), DecodeError> {
    // Markers may be preceded by any number of 0xFF fill bytes.
    while bytes.get(pos) == Some(&0xFF) && bytes.get(pos + 1) == Some(&0xFF) {
        pos += 1;
    }
    let marker = match bytes.get(pos..pos + 2) {
        Some(&[0xFF, m]) => m,
        _ => return Err(corrupt("expected a JPEG marker")),
    };
    if marker == 0xD9 || (0xD0..=0xD7).contains(&marker) || marker == 0x01 {
        return Ok((marker, &[], pos + 2));
    }
    let length = bytes
        .get(pos + 2..pos + 4)
        .map(|l| usize::from(u16::from_be_bytes([l[0], l[1]])))
        .ok_or_else(|| corrupt("marker segment cut short"))?;
    let body = length
        .checked_sub(2)
        .and_then(|n| bytes.get(pos + 4..pos + 4 + n))
        .ok_or_else(|| corrupt("marker segment cut short"))?;
    Ok((marker, body, pos + 2 + length))
}

fn read_frame(headers: &mut Headers, body: &[u8]) -> Result<(), DecodeError> {
    if headers.frame_seen {
        return Err(corrupt("two frame headers"));
    }
    headers.frame_seen = true;
    let [_precision, h0, h1, w0, w1, count, rest @ ..] = body else {
        return Err(corrupt("short frame header"));
    };
    headers.height = usize::from(u16::from_be_bytes([*h0, *h1]));
    headers.width = usize::from(u16::from_be_bytes([*w0, *w1]));
    let count = usize::from(*count);
    if rest.len() < count * 3 {
        return Err(corrupt("short frame header"));
    }
    headers.components = rest
        .chunks_exact(3)
        .take(count)
        .map(|c| Component {
            id: c[0],
            h: usize::from(c[1] >> 4),
            v: usize::from(c[1] & 15),
            quant_slot: usize::from(c[2]),
        })
        .collect();
    Ok(())
}

fn read_quant(headers: &mut Headers, mut body: &[u8]) -> Result<(), DecodeError> {
    while let [info, rest @ ..] = body {
        let slot = usize::from(info & 15);
        let wide = info >> 4 != 0;
        let size = if wide { 128 } else { 64 };
        let values = rest.get(..size).ok_or_else(|| corrupt("short DQT"))?;
        let table = std::array::from_fn(|k| {
            if wide {
                u16::from_be_bytes([values[2 * k], values[2 * k + 1]])
            } else {
                u16::from(values[k])
            }
        });
        *headers
            .quant
            .get_mut(slot)
            .ok_or_else(|| corrupt("bad quantisation table slot"))? = Some(table);
        body = &rest[size..];
    }
    Ok(())
}

fn read_huffman(headers: &mut Headers, mut body: &[u8]) -> Result<(), DecodeError> {
    while let [info, rest @ ..] = body {
        let counts: &[u8; 16] = rest
            .get(..16)
            .and_then(|c| c.try_into().ok())
            .ok_or_else(|| corrupt("short DHT"))?;
        let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
        let values = rest
            .get(16..16 + total)
            .ok_or_else(|| corrupt("short DHT"))?;
        let is_ac = info >> 4 != 0;
        let table = HuffmanTable::new(counts, values, !is_ac)?;
        let slots = if is_ac {
            &mut headers.ac
        } else {
            &mut headers.dc
        };
        *slots
            .get_mut(usize::from(info & 15))
            .ok_or_else(|| corrupt("bad Huffman table slot"))? = Some(table);
        body = &rest[16 + total..];
    }
    Ok(())
}

/// A component's part in the scan: its tables, plane and DC predictor.
struct ScanComponent<'h> {
    /// Which frame component this is; the scan may list them in any order.
    frame_index: usize,
    h: usize,
    v: usize,
    quant: &'h [u16; 64],
    dc: &'h HuffmanTable,
    ac: &'h HuffmanTable,
    plane: Plane,
    predictor: i32,
}

fn decode_scan(
    headers: &Headers,
    sos: &[u8],
    data: &[u8],
) -> Result<Option<RgbImage>, DecodeError> {
    let (width, height) = (headers.width, headers.height);
    if !headers.frame_seen || width == 0 || height == 0 {
        return Err(corrupt("no usable frame header before the scan"));
    }
    if (width * height) as u64 > MAX_PIXELS {
        return Err(DecodeError::TooLarge {
            width: width as u32,
            height: height as u32,
        });
    }
    let components = &headers.components;
    let shape_ok = match components.as_slice() {
        [_] => true,
        [y, cb, cr] => {
            // libjpeg takes three components as YCbCr unless an Adobe marker
            // or R, G, B identifiers say otherwise: leave those to others.
            let distinct = y.id != cb.id && y.id != cr.id && cb.id != cr.id;
            let rgb_ids = [y.id, cb.id, cr.id] == [b'R', b'G', b'B'];
            let chroma_full = [cb, cr].iter().all(|c| c.h == 1 && c.v == 1);
            let luma_ok = matches!((y.h, y.v), (1, 1) | (2, 1) | (1, 2) | (2, 2));
            // Fancy upsampling needs two chroma columns to interpolate.
            let wide_enough = y.h == 1 || width > 2;
            let ycbcr = matches!(headers.adobe_transform, None | Some(1));
            ycbcr && distinct && !rgb_ids && chroma_full && luma_ok && wide_enough
        }
        _ => false,
    };
    let in_scan = usize::from(*sos.first().ok_or_else(|| corrupt("short SOS"))?);
    if !shape_ok || in_scan != components.len() {
        return Ok(None);
    }
    let selectors = sos
        .get(1..1 + 2 * in_scan)
        .ok_or_else(|| corrupt("short SOS"))?;
    let single = components.len() == 1;
    // A lone component is stored at full size whatever factors it declares.
    let factors = |c: &Component| if single { (1, 1) } else { (c.h, c.v) };
    let h_max = components.iter().map(|c| factors(c).0).max().unwrap_or(1);
    let v_max = components.iter().map(|c| factors(c).1).max().unwrap_or(1);
    // Blocks per MCU row and column: one block per MCU in a one-component scan.
    let (mcu_w, mcu_h) = if single {
        (8, 8)
    } else {
        (8 * h_max, 8 * v_max)
    };
    let mcus_x = width.div_ceil(mcu_w);
    let mcus_y = height.div_ceil(mcu_h);

    let mut scan = Vec::with_capacity(in_scan);
    for pair in selectors.chunks_exact(2) {
        let frame_index = components
            .iter()
            .position(|c| c.id == pair[0])
            .ok_or_else(|| corrupt("scan names an unknown component"))?;
        if scan
            .iter()
            .any(|c: &ScanComponent| c.frame_index == frame_index)
        {
            return Err(corrupt("scan names a component twice"));
        }
        let component = &components[frame_index];
        let (h, v) = factors(component);
        let stride = mcus_x * h * 8;
        let rows = mcus_y * v * 8;
        scan.push(ScanComponent {
            h,
            v,
            quant: headers
                .quant
                .get(component.quant_slot)
                .and_then(Option::as_ref)
                .ok_or_else(|| corrupt("component uses an undefined quantisation table"))?,
            dc: huffman_table(&headers.dc, pair[1] >> 4)?,
            ac: huffman_table(&headers.ac, pair[1] & 15)?,
            plane: Plane {
                samples: Zeroizing::new(vec![0u8; stride * rows]),
                stride,
                width: (width * h).div_ceil(h_max),
                height: (height * v).div_ceil(v_max),
            },
            frame_index,
            predictor: 0,
        });
    }
    if scan.len() != components.len() {
        return Err(corrupt("short SOS"));
    }

    let mut bits = BitReader::new(data);
    let mut coefs = Zeroizing::new([0i32; 64]);
    let mut until_restart = headers.restart_interval;
    for mcu_y in 0..mcus_y {
        for mcu_x in 0..mcus_x {
            if headers.restart_interval > 0 {
                if until_restart == 0 {
                    bits.restart()?;
                    scan.iter_mut().for_each(|c| c.predictor = 0);
                    until_restart = headers.restart_interval;
                }
                until_restart -= 1;
            }
            for c in scan.iter_mut() {
                for by in 0..c.v {
                    for bx in 0..c.h {
                        decode_block(&mut bits, c, &mut coefs)?;
                        let x = (mcu_x * c.h + bx) * 8;
                        let y = (mcu_y * c.v + by) * 8;
                        let offset = y * c.plane.stride + x;
                        idct::idct_islow(&coefs, &mut c.plane.samples, offset, c.plane.stride);
                    }
                }
            }
        }
    }

    scan.sort_by_key(|c| c.frame_index);
    let planes: Vec<Plane> = scan.into_iter().map(|c| c.plane).collect();
    let mut rgb = Zeroizing::new(vec![0u8; width * height * 3]);
    match planes.as_slice() {
        [grey] => {
            for (y, out) in rgb.chunks_exact_mut(width * 3).enumerate() {
                let row = &grey.samples[y * grey.stride..][..width];
                for (px, &g) in out.chunks_exact_mut(3).zip(row) {
                    px.fill(g);
                }
            }
        }
        [luma, cb, cr] => to_rgb(luma, cb, cr, width, &mut rgb),
        _ => return Ok(None),
    }
    let pixels = std::mem::take(&mut *rgb);
    Ok(RgbImage::from_raw(width, height, pixels))
}

fn huffman_table(
    slots: &[Option<HuffmanTable>; 4],
    slot: u8,
) -> Result<&HuffmanTable, DecodeError> {
    slots
        .get(usize::from(slot))
        .and_then(Option::as_ref)
        .ok_or_else(|| corrupt("scan uses an undefined Huffman table"))
}

/// A row of a plane's meaningful samples.
fn plane_row(plane: &Plane, row: usize) -> &[u8] {
    &plane.samples[row * plane.stride..][..plane.width]
}

/// Reads one block's coefficients, dequantised, into natural order.
fn decode_block(
    bits: &mut BitReader,
    c: &mut ScanComponent,
    coefs: &mut [i32; 64],
) -> Result<(), DecodeError> {
    coefs.fill(0);
    let size = c.dc.decode(bits)?;
    let diff = bits.receive_extend(size);
    c.predictor = c.predictor.wrapping_add(diff);
    // libjpeg stores coefficients as 16-bit.
    coefs[0] = i32::from(c.predictor as i16) * i32::from(c.quant[0]);
    let mut k = 1;
    while k < 64 {
        let symbol = c.ac.decode(bits)?;
        let (run, size) = (usize::from(symbol >> 4), symbol & 15);
        if size == 0 {
            if run != 15 {
                break;
            }
            k += 16;
            continue;
        }
        k += run;
        // A run past the end is corrupt; libjpeg lands such values on the
        // last coefficient rather than failing.
        let zz = k.min(63);
        let value = bits.receive_extend(size) as i16;
        coefs[ZIGZAG[zz]] = i32::from(value) * i32::from(c.quant[zz]);
        k += 1;
    }
    Ok(())
}

/// Upsamples the chroma planes to full size and converts to RGB, row by row.
fn to_rgb(luma: &Plane, cb: &Plane, cr: &Plane, width: usize, rgb: &mut [u8]) {
    // Doubling may give one column more than the image has.
    let mut cb_row = Zeroizing::new(vec![0u8; 2 * cb.width]);
    let mut cr_row = Zeroizing::new(vec![0u8; 2 * cr.width]);
    let mut sums = vec![0u16; cb.width];
    let doubled_x = cb.width < luma.width;
    let doubled_y = cb.height < luma.height;
    for (y, out) in rgb.chunks_exact_mut(width * 3).enumerate() {
        for (plane, row) in [(cb, &mut cb_row), (cr, &mut cr_row)] {
            if doubled_y {
                let near = y / 2;
                // The row on the other side of this output row, repeating the
                // edge rows beyond the image.
                let far = if y % 2 == 0 {
                    near.saturating_sub(1)
                } else {
                    (near + 1).min(plane.height - 1)
                };
                let (near, far) = (plane_row(plane, near), plane_row(plane, far));
                if doubled_x {
                    color::double_row_from_two(near, far, &mut sums, row);
                } else {
                    color::blend_rows(near, far, y % 2 == 1, row);
                }
            } else if doubled_x {
                color::double_row(plane_row(plane, y), row);
            } else {
                row[..plane.width].copy_from_slice(plane_row(plane, y));
            }
        }
        let luma_row = &luma.samples[y * luma.stride..][..width];
        color::ycc_to_rgb_row(luma_row, &cb_row[..width], &cr_row[..width], out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SMALL_JPEGS: [&[u8]; 5] = [
        include_bytes!("../../tests/fixtures/decode/restart.jpg"),
        include_bytes!("../../tests/fixtures/decode/422.jpg"),
        include_bytes!("../../tests/fixtures/decode/440.jpg"),
        include_bytes!("../../tests/fixtures/decode/444.jpg"),
        include_bytes!("../../tests/fixtures/decode/grey-odd.jpg"),
    ];

    #[test]
    fn damaged_headers_and_data_never_panic() {
        // Straight into this decoder, without the general decoder's header
        // checks in front, every single-byte change must give a result.
        for good in SMALL_JPEGS {
            for at in 2..good.len() {
                for value in [0x00, 0x01, 0x03, 0x22, 0xFF, good[at] ^ 0x81] {
                    let mut damaged = good.to_vec();
                    damaged[at] = value;
                    let _ = decode_baseline(&damaged);
                }
            }
            for cut in 2..good.len() {
                let _ = decode_baseline(&good[..cut]);
            }
        }
    }

    #[test]
    fn unsupported_kinds_are_left_to_the_general_decoder() {
        let progressive = include_bytes!("../../tests/fixtures/decode/progressive.jpg");
        assert!(matches!(decode_baseline(progressive), Ok(None)));
        let cmyk = include_bytes!("../../tests/fixtures/decode/cmyk.jpg");
        assert!(matches!(decode_baseline(cmyk), Ok(None)));
        assert!(matches!(decode_baseline(b"\x89PNG"), Ok(None)));
    }

    #[test]
    fn baseline_kinds_are_decoded_here() {
        for good in SMALL_JPEGS {
            let img = decode_baseline(good).expect("valid").expect("handled");
            assert_eq!((img.width(), img.height()), (61, 45));
        }
    }
}
