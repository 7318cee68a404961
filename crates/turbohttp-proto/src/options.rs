//! The five knobs of the race, and the rules a valid set of them obeys.

use std::time::Duration;

/// The smallest stagger or spacing delay accepted: RFC 8305 §5 says a connection
/// attempt delay "MUST NOT be less than 10 milliseconds", so that a fast path never
/// degenerates into a burst of parallel SYNs.
pub const MIN_DELAY: Duration = Duration::from_millis(10);

/// How a Happy Eyeballs race is paced.
///
/// The defaults are the ones of the specification (and close to RFC 8305's
/// recommendations): a 250 ms head start for the preferred family, 125 ms between
/// attempts of one family, at most two attempts in flight, IPv6 first.
///
/// ```
/// use std::time::Duration;
/// use turbohttp_proto::HappyEyeballsOptions;
///
/// let options = HappyEyeballsOptions {
///     family_stagger_delay: Duration::from_millis(300),
///     ..HappyEyeballsOptions::default()
/// };
/// assert!(options.validate().is_ok());
///
/// let broken = HappyEyeballsOptions { max_concurrent_attempts: 0, ..options };
/// assert_eq!(
///     broken.validate().unwrap_err().to_string(),
///     "max_concurrent_attempts is 0, but a race needs at least 2 attempts in flight \
///      (one per family); set enable = false to dial one address at a time",
/// );
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HappyEyeballsOptions {
    /// How long the preferred family runs alone before the first attempt of the
    /// other family starts (unless the preferred family fails first). Default 250 ms.
    pub family_stagger_delay: Duration,
    /// The delay between two attempts of the same family. Default 125 ms.
    pub attempt_spacing_delay: Duration,
    /// The most connection attempts in flight at once. Default 2. At least 2 when
    /// racing; ignored when `enable` is false (then exactly one is in flight).
    pub max_concurrent_attempts: usize,
    /// Whether IPv6 is the preferred family (dialed first). Default true.
    pub prefer_ipv6: bool,
    /// Whether to race at all. When false, addresses are dialed one after another in
    /// resolver order, exactly like a plain sequential connector. Default true.
    pub enable: bool,
}

impl Default for HappyEyeballsOptions {
    fn default() -> Self {
        Self {
            family_stagger_delay: Duration::from_millis(250),
            attempt_spacing_delay: Duration::from_millis(125),
            max_concurrent_attempts: 2,
            prefer_ipv6: true,
            enable: true,
        }
    }
}

impl HappyEyeballsOptions {
    /// Options that turn racing off: one address at a time, in resolver order.
    pub fn sequential() -> Self {
        Self {
            enable: false,
            ..Self::default()
        }
    }

    /// The family dialed first.
    pub fn preferred_family(&self) -> crate::AddressFamily {
        if self.prefer_ipv6 {
            crate::AddressFamily::V6
        } else {
            crate::AddressFamily::V4
        }
    }

    /// Checks the options on their own. the connector also checks them
    /// against the connect timeout, before any socket is opened.
    pub fn validate(&self) -> Result<(), OptionsError> {
        if !self.enable {
            // Sequential dialing uses none of the pacing knobs.
            return Ok(());
        }
        if self.max_concurrent_attempts < 2 {
            return Err(OptionsError::ConcurrencyTooLow {
                value: self.max_concurrent_attempts,
            });
        }
        if self.family_stagger_delay < MIN_DELAY {
            return Err(OptionsError::DelayTooShort {
                field: "family_stagger_delay",
                value: self.family_stagger_delay,
            });
        }
        if self.attempt_spacing_delay < MIN_DELAY {
            return Err(OptionsError::DelayTooShort {
                field: "attempt_spacing_delay",
                value: self.attempt_spacing_delay,
            });
        }
        Ok(())
    }

    /// Checks the options together with the total connect timeout of one call.
    pub fn validate_with_timeout(&self, connect_timeout: Duration) -> Result<(), OptionsError> {
        self.validate()?;
        if connect_timeout.is_zero() {
            return Err(OptionsError::ZeroTimeout);
        }
        Ok(())
    }

    /// Checks that the second family can get its turn within the connect timeout. Only
    /// a race of two families needs this, so the connector checks it once
    /// the addresses are known (still before any socket is opened): a short timeout to
    /// a single address is fine. It is checked against the whole timeout, not what
    /// resolution left of it: a slow resolver is not a configuration error, though it
    /// can leave the fallback no time.
    pub fn validate_race(&self, connect_timeout: Duration) -> Result<(), OptionsError> {
        if self.enable && self.family_stagger_delay >= connect_timeout {
            return Err(OptionsError::StaggerExceedsTimeout {
                stagger: self.family_stagger_delay,
                timeout: connect_timeout,
            });
        }
        Ok(())
    }
}

/// Why a set of [`HappyEyeballsOptions`] (or a connect timeout) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OptionsError {
    /// Fewer than two attempts in flight cannot race two families.
    #[error(
        "max_concurrent_attempts is {value}, but a race needs at least 2 attempts in flight \
         (one per family); set enable = false to dial one address at a time"
    )]
    ConcurrencyTooLow {
        /// The value given.
        value: usize,
    },
    /// A pacing delay below RFC 8305's 10 ms floor.
    #[error("{field} is {value:?}, below the 10ms minimum of RFC 8305")]
    DelayTooShort {
        /// The option's name.
        field: &'static str,
        /// The value given.
        value: Duration,
    },
    /// A connect timeout of zero leaves no time to connect.
    #[error("the connect timeout is zero, which leaves no time to connect")]
    ZeroTimeout,
    /// The other family would never get its turn before the race times out.
    #[error(
        "family_stagger_delay ({stagger:?}) is not shorter than the connect timeout ({timeout:?}), \
         so the second family could never be tried"
    )]
    StaggerExceedsTimeout {
        /// The stagger delay given.
        stagger: Duration,
        /// The connect timeout given.
        timeout: Duration,
    },
}
