//! Encrypted Client Hello configurations for HTTPS records (RFC 9849 §4), for tests
//! and the demo: rustls has no server side of ECH, so nobody can decrypt what a
//! client encrypts to these; what a lab can show is what the client sends.

/// An ECHConfigList (RFC 9849 §4) of one version-0xfe0d configuration: `config_id`,
/// X25519 (KEM 0x0020) with a fixed public key, HKDF-SHA256 + AES-128-GCM, and
/// `public_name`, the name the outer ClientHello carries. Nobody holds the private
/// key: a server cannot decrypt it, which these tests do not need.
///
/// Panics if `public_name` is longer than 255 bytes (it is a DNS name).
pub fn config_list(config_id: u8, public_name: &str) -> Vec<u8> {
    // RFC 7748 §6.1's example public key: any 32 bytes would do for the client.
    let public_key: [u8; 32] = [
        0x85, 0x20, 0xf0, 0x09, 0x89, 0x30, 0xa7, 0x54, 0x74, 0x8b, 0x7d, 0xdc, 0xb4, 0x3e, 0xf7,
        0x5a, 0x0d, 0xbf, 0x3a, 0x0d, 0x26, 0x38, 0x1a, 0xf4, 0xeb, 0xa4, 0xa9, 0x8e, 0xaa, 0x9b,
        0x4e, 0x6a,
    ];
    let mut contents = vec![config_id];
    contents.extend(0x0020u16.to_be_bytes());
    contents.extend(u16_len(&public_key));
    contents.extend(public_key);
    contents.extend(4u16.to_be_bytes());
    contents.extend(0x0001u16.to_be_bytes()); // HKDF-SHA256
    contents.extend(0x0001u16.to_be_bytes()); // AES-128-GCM
    contents.push(0); // maximum_name_length: no padding hint
    contents.push(u8::try_from(public_name.len()).expect("a short name"));
    contents.extend(public_name.as_bytes());
    contents.extend(0u16.to_be_bytes()); // no extensions
    let mut config = 0xfe0du16.to_be_bytes().to_vec();
    config.extend(u16_len(&contents));
    config.extend(contents);
    let mut list = u16_len(&config).to_vec();
    list.extend(config);
    list
}

fn u16_len(bytes: &[u8]) -> [u8; 2] {
    u16::try_from(bytes.len()).expect("short").to_be_bytes()
}
