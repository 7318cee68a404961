//! Decoding fuzz bytes into the planner's inputs: address lists (drawn mostly from a
//! small pool, so that duplicates and ties are common, sometimes fully arbitrary) and
//! options (small pacing delays, sometimes absurd ones).
//!
//! Included once at the root of each crate that runs the `planner` or `race` check (as
//! `mod common`), which reach it as `crate::common`.

// Each check uses only some of these.
#![allow(dead_code)]

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};
use std::time::Duration;

use arbitrary::{Result, Unstructured};
use turbohttp::AttemptError;
use turbohttp::{AddressFamily, HappyEyeballsOptions};

/// One resolved address.
pub fn address(u: &mut Unstructured<'_>) -> Result<SocketAddr> {
    let choice: u8 = u.arbitrary()?;
    let port = if choice & 0x80 == 0 {
        *u.choose(&[443u16, 80])?
    } else {
        u.arbitrary()?
    };
    Ok(match choice % 8 {
        0..=2 => SocketAddr::new(
            Ipv4Addr::new(192, 0, 2, u.int_in_range(1..=8)?).into(),
            port,
        ),
        3..=5 => SocketAddr::new(
            Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, u.int_in_range(1..=8)?).into(),
            port,
        ),
        6 => SocketAddr::new(IpAddr::V4(u.arbitrary::<u32>()?.into()), port),
        _ => {
            // A resolver may hand out scope ids (link-local) and flow labels.
            let ip: Ipv6Addr = if u.arbitrary()? {
                u.arbitrary::<u128>()?.into()
            } else {
                Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, u.int_in_range(1..=4)?)
            };
            SocketAddr::V6(SocketAddrV6::new(
                ip,
                port,
                u.int_in_range(0..=2)?,
                u.int_in_range(0..=2)?,
            ))
        }
    })
}

/// A resolver's answer of up to `max` addresses.
pub fn addresses(u: &mut Unstructured<'_>, max: usize) -> Result<Vec<SocketAddr>> {
    let len = u.int_in_range(0..=max)?;
    (0..len).map(|_| address(u)).collect()
}

/// A pacing delay: usually a few hundred milliseconds, sometimes anything.
pub fn delay(u: &mut Unstructured<'_>) -> Result<Duration> {
    Ok(match u.int_in_range(0u8..=7)? {
        0 => Duration::new(u.arbitrary()?, u.int_in_range(0..=999_999_999)?),
        1 => Duration::from_nanos(u.arbitrary::<u32>()?.into()),
        _ => Duration::from_millis(u.int_in_range(0..=1_000)?),
    })
}

/// Options, valid or not.
pub fn options(u: &mut Unstructured<'_>) -> Result<HappyEyeballsOptions> {
    // Drawn in this order so that the committed corpus decodes as before. The DNS
    // knobs keep their defaults here; the resolving race's target draws its own.
    let family_stagger_delay = delay(u)?;
    let attempt_spacing_delay = delay(u)?;
    let max_concurrent_attempts = if u.ratio(1, 8)? {
        u.arbitrary()?
    } else {
        u.int_in_range(0..=8)?
    };
    Ok(HappyEyeballsOptions::default()
        .with_family_stagger_delay(family_stagger_delay)
        .with_attempt_spacing_delay(attempt_spacing_delay)
        .with_max_concurrent_attempts(max_concurrent_attempts)
        .with_prefer_ipv6(u.arbitrary()?)
        .with_enable(!u.ratio(1, 4)?))
}

/// Options that pass validation (what `connect` lets through to the planner).
pub fn valid_options(u: &mut Unstructured<'_>) -> Result<HappyEyeballsOptions> {
    let mut options = options(u)?;
    options.max_concurrent_attempts = options.max_concurrent_attempts.max(2);
    options.family_stagger_delay = options.family_stagger_delay.max(Duration::from_millis(10));
    options.attempt_spacing_delay = options.attempt_spacing_delay.max(Duration::from_millis(10));
    assert_eq!(options.validate(), Ok(()));
    Ok(options)
}

/// `-4`, `-6` or neither.
pub fn family(u: &mut Unstructured<'_>) -> Result<Option<AddressFamily>> {
    Ok(*u.choose(&[None, None, Some(AddressFamily::V4), Some(AddressFamily::V6)])?)
}

/// The key two resolved addresses are duplicates under: the specification's
/// `(Address, Port, Family)`, where an IPv6 address includes its scope (zone) id, as
/// .NET's `IPAddress` does. The flow label is not part of an endpoint's identity.
pub fn endpoint_key(addr: &SocketAddr) -> (IpAddr, u16, u32) {
    let scope = match addr {
        SocketAddr::V4(_) => 0,
        SocketAddr::V6(v6) => v6.scope_id(),
    };
    (addr.ip(), addr.port(), scope)
}

/// How a simulated attempt fails, shared by the race targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    Refused,
    Reset,
    Rejected,
    NoRoute,
}

impl Failure {
    /// Every failure, for `Unstructured::choose`.
    pub const ALL: [Failure; 4] = [
        Failure::Refused,
        Failure::Reset,
        Failure::Rejected,
        Failure::NoRoute,
    ];

    /// The error a dialer would report.
    pub fn error(self) -> AttemptError {
        match self {
            Self::Refused => AttemptError::connect(io::Error::from_raw_os_error(111)),
            Self::Reset => AttemptError::setup(io::Error::from_raw_os_error(104)),
            Self::Rejected => AttemptError::terminal(io::Error::new(
                io::ErrorKind::InvalidData,
                "certificate not valid for this name",
            )),
            Self::NoRoute => AttemptError::connect(io::Error::from(io::ErrorKind::HostUnreachable)),
        }
    }
}
