//! Time-based one-time passwords (RFC 6238) as authenticator apps make
//! them: HMAC-SHA-1 over 30-second steps, six digits. An admin's optional
//! second factor.

use hmac::{Hmac, Mac};
use rand::RngCore;
use sha1::Sha1;
use zeroize::Zeroizing;

/// Seconds per code.
pub const STEP_SECS: i64 = 30;
const DIGITS: u32 = 6;
/// 160 bits, the length RFC 4226 recommends.
pub const SECRET_LEN: usize = 20;

/// A fresh shared secret.
pub fn new_secret() -> Zeroizing<Vec<u8>> {
    let mut secret = Zeroizing::new(vec![0u8; SECRET_LEN]);
    rand::rng().fill_bytes(&mut secret);
    secret
}

/// The time step a Unix time falls in.
pub fn step_at(unix_time: i64) -> i64 {
    unix_time.div_euclid(STEP_SECS)
}

/// The code for one time step (RFC 4226's HOTP with the step as counter).
pub fn code_at(secret: &[u8], step: i64) -> u32 {
    let Ok(mut mac) = Hmac::<Sha1>::new_from_slice(secret) else {
        unreachable!("HMAC accepts keys of any length")
    };
    mac.update(&step.to_be_bytes());
    let digest = mac.finalize().into_bytes();
    let offset = usize::from(digest[19] & 0x0f);
    let truncated = u32::from_be_bytes([
        digest[offset] & 0x7f,
        digest[offset + 1],
        digest[offset + 2],
        digest[offset + 3],
    ]);
    truncated % 10u32.pow(DIGITS)
}

/// The step whose code `typed` is, looking one step either side of `now`
/// for clocks that differ a little; `None` if it is none of them. Spaces
/// people type to read the code in halves are ignored.
pub fn matching_step(secret: &[u8], typed: &str, now: i64) -> Option<i64> {
    let digits: String = typed.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() != DIGITS as usize || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let typed: u32 = digits.parse().ok()?;
    let current = step_at(now);
    // Every candidate is computed, so the time taken says nothing of which
    // one matched.
    (current - 1..=current + 1).fold(None, |found, step| {
        if code_at(secret, step) == typed {
            found.or(Some(step))
        } else {
            found
        }
    })
}

/// The secret as authenticator apps take it when typed in: base32
/// (RFC 4648) without padding.
pub fn base32(secret: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(secret.len().div_ceil(5) * 8);
    let (mut buffer, mut bits) = (0u32, 0u32);
    for &byte in secret {
        buffer = (buffer << 8) | u32::from(byte);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(char::from(ALPHABET[((buffer >> bits) & 31) as usize]));
        }
    }
    if bits > 0 {
        out.push(char::from(ALPHABET[((buffer << (5 - bits)) & 31) as usize]));
    }
    out
}

/// The `otpauth://` link apps read from a QR code or a tap.
pub fn provisioning_uri(secret: &[u8], issuer: &str, account: &str) -> String {
    let label = format!("{}:{}", percent(issuer), percent(account));
    format!(
        "otpauth://totp/{label}?secret={}&issuer={}&algorithm=SHA1&digits={DIGITS}&period={STEP_SECS}",
        base32(secret),
        percent(issuer)
    )
}

fn percent(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'@' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238 appendix B's SHA-1 secret.
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn codes_are_rfc_6238s_test_vectors() {
        // The RFC lists eight digits; six are their last six.
        for (time, eight_digits) in [
            (59, 94287082u32),
            (1111111109, 7081804),
            (1111111111, 14050471),
            (1234567890, 89005924),
            (2000000000, 69279037),
            (20000000000, 65353130),
        ] {
            assert_eq!(
                code_at(RFC_SECRET, step_at(time)),
                eight_digits % 1_000_000,
                "at {time}"
            );
        }
    }

    #[test]
    fn a_code_matches_its_step_and_its_neighbours_only() {
        let now = 1111111111;
        let step = step_at(now);
        let code = |s| format!("{:06}", code_at(RFC_SECRET, s));
        assert_eq!(matching_step(RFC_SECRET, &code(step), now), Some(step));
        assert_eq!(
            matching_step(RFC_SECRET, &code(step - 1), now),
            Some(step - 1)
        );
        assert_eq!(
            matching_step(RFC_SECRET, &code(step + 1), now),
            Some(step + 1)
        );
        assert_eq!(matching_step(RFC_SECRET, &code(step - 2), now), None);
        let spaced = format!("{} {}", &code(step)[..3], &code(step)[3..]);
        assert_eq!(matching_step(RFC_SECRET, &spaced, now), Some(step));
        for bad in ["", "12345", "1234567", "12a456", "+12345"] {
            assert_eq!(matching_step(RFC_SECRET, bad, now), None, "{bad}");
        }
    }

    #[test]
    fn base32_is_rfc_4648s() {
        for (plain, encoded) in [
            ("", ""),
            ("f", "MY"),
            ("fo", "MZXQ"),
            ("foo", "MZXW6"),
            ("foob", "MZXW6YQ"),
            ("fooba", "MZXW6YTB"),
            ("foobar", "MZXW6YTBOI"),
        ] {
            assert_eq!(base32(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn the_link_names_issuer_and_account() {
        let uri = provisioning_uri(RFC_SECRET, "Limen · Acme", "ada@acme.test");
        assert!(uri.starts_with("otpauth://totp/Limen%20%C2%B7%20Acme:ada@acme.test?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&"), "{uri}");
        assert!(uri.contains("&digits=6&period=30"));
    }
}
