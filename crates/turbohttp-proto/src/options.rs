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
/// attempts of one family, at most two attempts in flight, IPv6 first, and an A answer
/// that comes first waits up to 50 ms for the AAAA answer.
///
/// ```
/// use std::time::Duration;
/// use turbohttp_proto::HappyEyeballsOptions;
///
/// let options = HappyEyeballsOptions::default()
///     .with_family_stagger_delay(Duration::from_millis(300))
///     .with_resolution_delay(Duration::from_millis(100));
/// assert!(options.validate().is_ok());
///
/// // Fields can be read, and set one by one, too.
/// let mut broken = options;
/// broken.max_concurrent_attempts = 0;
/// assert_eq!(
///     broken.validate().unwrap_err().to_string(),
///     "max_concurrent_attempts is 0, but a race needs at least 2 attempts in flight \
///      (one per family); set enable = false to dial one address at a time",
/// );
/// ```
///
/// The struct is `#[non_exhaustive]`, so that a knob added later is not a breaking
/// change: start from [`default`](Self::default) (or [`sequential`](Self::sequential))
/// and change what you need with the `with_*` setters or by assigning fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
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
    /// resolver order, exactly like a plain sequential connector: a resolver that
    /// queries each family on its own is waited for until every query has ended, as
    /// `getaddrinfo` does. Default true.
    pub enable: bool,
    /// How long an answer for the other family waits for the preferred family's
    /// answer before its first attempt starts (RFC 8305 §3, "Resolution Delay"). A
    /// failed query for the preferred family ends the wait at once. Default 50 ms.
    pub resolution_delay: Duration,
    /// How many attempts of the preferred family come before the other family's
    /// first (RFC 8305 §4, "First Address Family Count"): the stagger is counted
    /// from the due time of the preferred family's attempt number `count` (or its
    /// last, if it has fewer addresses). Default 1.
    pub first_address_family_count: usize,
    /// Whether the family of the first address the resolver gives leads the race,
    /// whatever `prefer_ipv6` says (what Go and hyper-util do). With a resolver that
    /// queries each family on its own, the first answer with an address leads and no
    /// resolution delay is waited. Default false.
    pub follow_resolver_order: bool,
}

impl Default for HappyEyeballsOptions {
    fn default() -> Self {
        Self {
            family_stagger_delay: Duration::from_millis(250),
            attempt_spacing_delay: Duration::from_millis(125),
            max_concurrent_attempts: 2,
            prefer_ipv6: true,
            enable: true,
            resolution_delay: Duration::from_millis(50),
            first_address_family_count: 1,
            follow_resolver_order: false,
        }
    }
}

impl HappyEyeballsOptions {
    /// Sets the preferred family's head start ([`family_stagger_delay`](Self::family_stagger_delay)).
    #[must_use]
    pub fn with_family_stagger_delay(mut self, value: Duration) -> Self {
        self.family_stagger_delay = value;
        self
    }

    /// Sets the delay between two attempts of one family ([`attempt_spacing_delay`](Self::attempt_spacing_delay)).
    #[must_use]
    pub fn with_attempt_spacing_delay(mut self, value: Duration) -> Self {
        self.attempt_spacing_delay = value;
        self
    }

    /// Sets the most attempts in flight at once ([`max_concurrent_attempts`](Self::max_concurrent_attempts)).
    #[must_use]
    pub fn with_max_concurrent_attempts(mut self, value: usize) -> Self {
        self.max_concurrent_attempts = value;
        self
    }

    /// Sets whether IPv6 is dialed first ([`prefer_ipv6`](Self::prefer_ipv6)).
    #[must_use]
    pub fn with_prefer_ipv6(mut self, value: bool) -> Self {
        self.prefer_ipv6 = value;
        self
    }

    /// Sets whether to race at all (false: one address at a time) ([`enable`](Self::enable)).
    #[must_use]
    pub fn with_enable(mut self, value: bool) -> Self {
        self.enable = value;
        self
    }

    /// Sets how long an early answer waits for the preferred family's ([`resolution_delay`](Self::resolution_delay)).
    #[must_use]
    pub fn with_resolution_delay(mut self, value: Duration) -> Self {
        self.resolution_delay = value;
        self
    }

    /// Sets how many preferred-family attempts come before the other family's first ([`first_address_family_count`](Self::first_address_family_count)).
    #[must_use]
    pub fn with_first_address_family_count(mut self, value: usize) -> Self {
        self.first_address_family_count = value;
        self
    }

    /// Sets whether the resolver's first family leads ([`follow_resolver_order`](Self::follow_resolver_order)).
    #[must_use]
    pub fn with_follow_resolver_order(mut self, value: bool) -> Self {
        self.follow_resolver_order = value;
        self
    }

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
        if self.resolution_delay < MIN_DELAY {
            return Err(OptionsError::DelayTooShort {
                field: "resolution_delay",
                value: self.resolution_delay,
            });
        }
        if self.first_address_family_count == 0 {
            return Err(OptionsError::FirstFamilyCountZero);
        }
        if self.first_address_family_count >= self.max_concurrent_attempts {
            // The last slot is the other family's until it starts (decision 1): the
            // preferred family can only have that many attempts going before it.
            return Err(OptionsError::FirstFamilyCountTooHigh {
                count: self.first_address_family_count,
                max_concurrent_attempts: self.max_concurrent_attempts,
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

    /// The options a connect with `connect_timeout` runs with: when the timeout is
    /// not longer than the stagger, the preferred family's head start is half the
    /// timeout (and so is the spacing, if longer), so that a stalled preferred family
    /// still leaves the other family half of the budget; and the resolution delay is
    /// at most half the timeout. Otherwise unchanged.
    ///
    /// ```
    /// use std::time::Duration;
    /// use turbohttp_proto::HappyEyeballsOptions;
    /// let ms = Duration::from_millis;
    /// let scaled = HappyEyeballsOptions::default().for_timeout(ms(200));
    /// assert_eq!(scaled.family_stagger_delay, ms(100));
    /// assert_eq!(scaled.attempt_spacing_delay, ms(100));
    /// let kept = HappyEyeballsOptions::default().for_timeout(ms(1000));
    /// assert_eq!(kept, HappyEyeballsOptions::default());
    /// ```
    pub fn for_timeout(&self, connect_timeout: Duration) -> Self {
        let half = connect_timeout / 2;
        // An early answer never waits more than half the connect for the other one.
        let resolution_delay = self.resolution_delay.min(half);
        if self.family_stagger_delay < connect_timeout {
            return Self {
                resolution_delay,
                ..*self
            };
        }
        Self {
            family_stagger_delay: half,
            attempt_spacing_delay: self.attempt_spacing_delay.min(half),
            resolution_delay,
            ..*self
        }
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
    /// A first address family count of zero would let the other family go first.
    #[error(
        "first_address_family_count is 0, but at least one attempt of the preferred family \
         must come first; set prefer_ipv6 to choose the other family"
    )]
    FirstFamilyCountZero,
    /// More attempts of the preferred family first than may be in flight beside the
    /// other family's first.
    #[error(
        "first_address_family_count is {count}, but with max_concurrent_attempts {max_concurrent_attempts} \
         at most {} attempts of the preferred family can run before the other family's first; \
         raise max_concurrent_attempts to {} or more",
        max_concurrent_attempts - 1,
        count + 1
    )]
    FirstFamilyCountTooHigh {
        /// The count given.
        count: usize,
        /// The cap given.
        max_concurrent_attempts: usize,
    },
    /// A connect timeout of zero leaves no time to connect.
    #[error("the connect timeout is zero, which leaves no time to connect")]
    ZeroTimeout,
}
