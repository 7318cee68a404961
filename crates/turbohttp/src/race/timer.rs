//! The race's one timer: a [`Deadline`] that fires within about 0.1 ms of the
//! instant the race asked for, in real time, and follows tokio's clock exactly when
//! that clock is paused.
//!
//! Why not just `tokio::time::sleep_until`: tokio's timer wheel ticks once a
//! millisecond and rounds every deadline up to the next tick, and its driver sleeps in
//! `epoll_wait`, whose timeout is whole milliseconds too, so a 250 ms family stagger
//! fires 1 to 2 ms late. On Linux a `timerfd` (`CLOCK_MONOTONIC`, set for the time left,
//! a high-resolution kernel timer) registered with tokio's IO driver through
//! [`AsyncFd`](tokio::io::unix::AsyncFd) wakes the task at the deadline itself.
//!
//! Four rules keep that cheap and keep the virtual-time tests honest:
//!
//! * **Real time only.** The race's instants come from tokio's clock
//!   (`tokio::time::Instant::now()`), which a test may pause and advance; a kernel
//!   timer knows nothing of that. Whether tokio's clock is the real one is not public
//!   API, so [`real_time`] checks it the only way that cannot be fooled: read tokio's
//!   clock, the real clock, tokio's clock again. tokio's clock, when not paused and
//!   never advanced, *is* `std::time::Instant::now()`, so the real reading lies
//!   between the two others; a paused clock reads the same instant twice, and one
//!   that was advanced or frozen and then resumed is off by the amount it was moved,
//!   so the real reading falls outside. It is asked only within [`COARSE_MARGIN`]
//!   of a deadline (three clock reads saved on every connect that ends sooner).
//!   Under a paused (or shifted) clock the deadline is tokio's `sleep_until`, in two
//!   steps when it is far (to the margin, then to the deadline), the timer the
//!   virtual-time suites always had. A reading that cannot tell (a clock too coarse
//!   to have moved between the reads) counts as "not real time": the fallback is
//!   tokio's timer, never a kernel timer at a virtual instant.
//! * **Only near the deadline.** Most races end long before their first deadline (a
//!   healthy connect takes tens of microseconds, the stagger is 250 ms), so a timerfd
//!   per race would add half a dozen system calls to every connect for nothing.
//!   Instead tokio's timer waits until [`COARSE_MARGIN`] before the deadline, and
//!   only then is the timerfd made and set for the rest of the wait. It is closed
//!   the moment it fires: the fallback attempt that the deadline usually starts then
//!   opens its socket with the race holding no descriptor beyond its sockets, as
//!   hyper-util's does (10,000 races waiting at their stagger would otherwise need a
//!   third descriptor each, and hit the process's limit sooner).
//! * **Only a few at once.** At most 64 races in the process wait with a precise
//!   timer at a time. A burst of a thousand races due in the same millisecond gains
//!   nothing from precision (their wake-ups queue behind one another for longer than
//!   tokio's tick) and would pay six system calls per race for it (BENCHMARKS.md,
//!   scenario 6b, has the cost). The place among the 64 is taken when the deadline is
//!   armed, if it is at most [`RESERVE_WITHIN`] away (any stagger or attempt delay),
//!   not when the timerfd is made: a race that finds them all in use waits with
//!   tokio's timer from the start, woken once, as hyper-util's, rather than at the
//!   margin and again at the deadline; and a burst makes 64 timerfds, not 64 every
//!   5 ms of its spread.
//! * **Never early.** The timer is set relative to now: the time left is measured on
//!   `std::time::Instant` (`CLOCK_MONOTONIC` on Linux) *before* the kernel reads its
//!   clock to start the timer, so the kernel's deadline can only be later than the
//!   race's, by the few nanoseconds between the two reads. When the timer fires,
//!   tokio's clock (the real one) has passed the deadline and the race sees it due.
//!   (Relative rather than absolute also means no `clock_gettime` through rustix's
//!   vDSO parser, which valgrind's tools cannot run: the burst can be profiled.)
//!
//! Anything the precise path cannot do (not Linux, no IO driver, out of file
//! descriptors) falls back to tokio's timer for that deadline: late by a tick, never
//! wrong.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::time::{Instant, Sleep};

/// How long before a deadline tokio's timer hands over to the precise one. tokio
/// fires up to about 2 ms late on an idle machine (the tick plus `epoll_wait`'s
/// millisecond timeout), so 5 ms leaves room for a busy one; if tokio is later than
/// that, the deadline is due at once and nothing is lost but the precision.
pub(crate) const COARSE_MARGIN: Duration = Duration::from_millis(5);

/// A deadline at most this far away takes its place among the precise timers when it
/// is armed (see the module documentation); a farther one (a connect timeout) asks
/// for one only at the margin, so that no place is held for seconds. 2 s is the
/// longest connection attempt delay RFC 8305 allows.
pub(crate) const RESERVE_WITHIN: Duration = Duration::from_secs(2);

/// What the deadline is waiting with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Wait {
    /// Nothing: no deadline, or it fired.
    Idle,
    /// tokio's timer, until the deadline itself (a paused clock, or no precise timer).
    Tokio,
    /// tokio's timer, until [`COARSE_MARGIN`] before the deadline; then the precise one.
    Coarse,
    /// The precise timer, set to the deadline.
    Precise,
    /// The deadline had passed when it was set: fires at the next poll.
    Due,
}

/// One re-armable deadline in tokio's time: [`reset`](Deadline::reset) to an instant,
/// then await [`expired`](Deadline::expired) (again and again: each reset arms it once).
///
/// It borrows a pinned slot for a tokio [`Sleep`] rather than owning one so that it
/// needs no allocation and no unsafe pin projection: the driver pins the slot on its
/// stack. The sleep is made when a wait first needs it: a race that never waits on
/// tokio's timer makes none.
pub(crate) struct Deadline<'a> {
    /// tokio's timer: the whole wait, or the coarse part of it.
    sleep: Pin<&'a mut Option<Sleep>>,
    /// The instant waited for, while [`Deadline::wait`] is not [`Wait::Idle`].
    at: Instant,
    /// What waits for `at` now.
    wait: Wait,
    /// The precise timer, made when a deadline comes near and closed when it fires.
    precise: Option<precise::Timer>,
    /// This deadline's place among the precise timers: held while the precise timer
    /// exists, and from the arming of a deadline within [`RESERVE_WITHIN`] until then.
    permit: Option<precise::Permit>,
}

impl<'a> Deadline<'a> {
    /// A deadline that waits with a sleep it makes in `sleep` (an empty slot), armed
    /// for nothing yet; `start` is any instant (the race's start: no clock read).
    pub(crate) fn new(sleep: Pin<&'a mut Option<Sleep>>, start: Instant) -> Self {
        Self {
            sleep,
            at: start,
            wait: Wait::Idle,
            precise: None,
            permit: None,
        }
    }

    /// tokio's timer set for `at`: the sleep re-armed, or made.
    fn sleep_until(&mut self, at: Instant) {
        match self.sleep.as_mut().as_pin_mut() {
            Some(sleep) => sleep.reset(at),
            None => self.sleep.set(Some(tokio::time::sleep_until(at))),
        }
    }

    /// Polls tokio's timer (ready if none was set: nothing to wait for).
    fn poll_sleep(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        match self.sleep.as_mut().as_pin_mut() {
            Some(sleep) => sleep.poll(cx),
            None => Poll::Ready(()),
        }
    }

    /// Arms the deadline for `at`. Re-arming for the instant it already waits for
    /// does nothing (the race asks after every event, and the deadline rarely moves);
    /// after it fired, the same instant arms it again.
    pub(crate) fn reset(&mut self, at: Instant) {
        if self.wait != Wait::Idle && self.at == at {
            return;
        }
        self.at = at;
        let left = at.saturating_duration_since(Instant::now());
        if precise::AVAILABLE && left > COARSE_MARGIN {
            // Far: tokio's timer until the margin, whatever the clock (whether it is the
            // real one is asked when the margin is reached); no descriptor is held
            // through the wait, only the place for one if the deadline is near enough.
            self.precise = None;
            if left > RESERVE_WITHIN {
                self.permit = None;
            } else if self.permit.is_none() {
                self.permit = precise::Permit::take();
                if self.permit.is_none() {
                    // All in use: tokio's timer for the whole wait, one wake-up.
                    self.sleep_until(at);
                    self.wait = Wait::Tokio;
                    return;
                }
            }
            self.sleep_until(at - COARSE_MARGIN);
            self.wait = Wait::Coarse;
        } else if !precise::AVAILABLE || !real_time() {
            self.release();
            self.sleep_until(at);
            self.wait = Wait::Tokio;
        } else if left.is_zero() {
            self.release();
            self.wait = Wait::Due;
        } else {
            // Near: the precise timer (the one already made, if any, re-set).
            self.arm_precise();
        }
    }

    /// Completes once the armed instant has passed (in tokio's time); pending forever
    /// while nothing is armed.
    #[cfg(test)]
    pub(crate) async fn expired(&mut self) {
        std::future::poll_fn(|cx| self.poll_expired(cx)).await;
    }

    /// [`Deadline::expired`] as a poll function.
    pub(crate) fn poll_expired(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            match self.wait {
                Wait::Idle => return Poll::Pending,
                Wait::Due => {}
                Wait::Tokio => {
                    if self.poll_sleep(cx).is_pending() {
                        return Poll::Pending;
                    }
                }
                Wait::Coarse => {
                    if self.poll_sleep(cx).is_pending() {
                        return Poll::Pending;
                    }
                    // Near the deadline: hand over (or, if the clock was paused since,
                    // wait for the rest with tokio's timer), then poll what now waits.
                    if real_time() {
                        self.arm_precise();
                    } else {
                        self.release();
                        let at = self.at;
                        self.sleep_until(at);
                        self.wait = Wait::Tokio;
                    }
                    continue;
                }
                Wait::Precise => {
                    let fired = match &self.precise {
                        Some(timer) => timer.poll_fired(cx),
                        None => Poll::Ready(Err(std::io::ErrorKind::NotFound.into())),
                    };
                    match fired {
                        Poll::Pending => return Poll::Pending,
                        // Closed now, before the race opens the attempt it fires for.
                        Poll::Ready(Ok(())) => self.release(),
                        Poll::Ready(Err(error)) => {
                            self.fall_back(&error);
                            continue;
                        }
                    }
                }
            }
            self.wait = Wait::Idle;
            return Poll::Ready(());
        }
    }

    /// Sets the precise timer (made now if need be, in the place this deadline holds
    /// or takes now) for `self.at`, or falls back.
    fn arm_precise(&mut self) {
        let at = self.at.into_std();
        if self.permit.is_none() {
            self.permit = precise::Permit::take();
        }
        let set = match (&self.precise, &self.permit) {
            (Some(timer), _) => timer.set(at),
            (None, Some(_)) => precise::Timer::new().and_then(|timer| {
                timer.set(at)?;
                self.precise = Some(timer);
                Ok(())
            }),
            // All in use: not an error worth a word, tokio's timer waits.
            (None, None) => {
                self.sleep_until(self.at);
                self.wait = Wait::Tokio;
                return;
            }
        };
        match set {
            Ok(()) => self.wait = Wait::Precise,
            Err(error) => self.fall_back(&error),
        }
    }

    /// The precise timer failed: drop it and wait with tokio's for the rest.
    fn fall_back(&mut self, error: &std::io::Error) {
        tracing::debug!(%error, "precise timer unavailable, using tokio's");
        self.release();
        let at = self.at;
        self.sleep_until(at);
        self.wait = Wait::Tokio;
    }

    /// Closes the precise timer, if any, and gives its place back.
    fn release(&mut self) {
        self.precise = None;
        self.permit = None;
    }
}

/// Whether tokio's clock is the real monotonic clock now: not paused, not shifted by
/// `advance`. See the module documentation for why this sandwich is exact.
pub(crate) fn real_time() -> bool {
    let before = Instant::now().into_std();
    let real = std::time::Instant::now();
    let after = Instant::now().into_std();
    // Strictly later at the end: a paused clock reads the same instant twice.
    before <= real && real <= after && before < after
}

#[cfg(target_os = "linux")]
mod precise {
    //! The Linux `timerfd`, through rustix's safe wrappers.

    use std::io;
    use std::os::fd::OwnedFd;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Context, Poll};

    use rustix::time::{
        Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, Timespec, timerfd_create,
        timerfd_settime,
    };
    use tokio::io::Interest;
    use tokio::io::unix::AsyncFd;

    /// There is a precise timer on this platform.
    pub(super) const AVAILABLE: bool = true;

    /// How many deadlines may hold a place for a precise timer (or the timer) at once
    /// in the process. The precision is for the race someone waits on; a burst of
    /// thousands of races due in the same millisecond gains nothing from it (their
    /// wake-ups queue behind each other for longer than tokio's tick) and would pay
    /// six system calls and a descriptor per race for it, so past this many the
    /// others keep tokio's timer.
    const MAX_AT_ONCE: usize = 64;

    /// The places held now.
    static AT_ONCE: Quota = Quota::new(MAX_AT_ONCE);

    /// A count of things in use, up to a maximum, given out as [`Permit`]s.
    pub(super) struct Quota {
        used: AtomicUsize,
        max: usize,
    }

    impl Quota {
        pub(super) const fn new(max: usize) -> Self {
            Self {
                used: AtomicUsize::new(0),
                max,
            }
        }

        /// One permit, if fewer than the maximum are out; it is given back when dropped.
        pub(super) fn take(&'static self) -> Option<Permit> {
            self.used
                .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                    (used < self.max).then_some(used + 1)
                })
                .ok()
                .map(|_| Permit(self))
        }
    }

    /// One thing in use under a [`Quota`].
    pub(super) struct Permit(&'static Quota);

    impl Permit {
        /// A place among the [`MAX_AT_ONCE`], if one is free.
        pub(super) fn take() -> Option<Permit> {
            AT_ONCE.take()
        }
    }

    impl Drop for Permit {
        fn drop(&mut self) {
            self.0.used.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// A one-shot `CLOCK_MONOTONIC` timerfd, readable once its deadline passed. Its
    /// owner holds a [`Permit`] while it exists.
    pub(super) struct Timer {
        fd: AsyncFd<OwnedFd>,
    }

    impl Timer {
        /// A disarmed timer registered with the current runtime's IO driver (an error
        /// without one).
        pub(super) fn new() -> io::Result<Self> {
            let fd = timerfd_create(
                TimerfdClockId::Monotonic,
                TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
            )?;
            // `AsyncFd::new` is deprecated since tokio 1.54 in favour of the `unsafe`
            // `AsyncFd::register`, whose contract is that the inner value's raw fd stays
            // open and the same while registered: an `OwnedFd`, owned by the `AsyncFd`
            // and never handed out mutably, meets it by construction. The workspace
            // forbids `unsafe`, so the safe (deprecated) constructor it is.
            #[allow(deprecated)]
            let fd = AsyncFd::with_interest(fd, Interest::READABLE)?;
            Ok(Self { fd })
        }

        /// Arms the timer for `at`, replacing any earlier setting (and clearing an
        /// expiry not yet read).
        pub(super) fn set(&self, at: std::time::Instant) -> io::Result<()> {
            // Relative: the time left, read before the kernel reads its clock, so that
            // the time between the two only makes the deadline later. At least 1 ns: a
            // zero value would disarm the timer instead of firing it.
            let left = at
                .saturating_duration_since(std::time::Instant::now())
                .max(std::time::Duration::from_nanos(1));
            let value = Timespec {
                tv_sec: i64::try_from(left.as_secs()).unwrap_or(i64::MAX),
                tv_nsec: i64::from(left.subsec_nanos()),
            };
            let zero = Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            };
            timerfd_settime(
                self.fd.get_ref(),
                TimerfdTimerFlags::empty(),
                &Itimerspec {
                    it_interval: zero,
                    it_value: value,
                },
            )?;
            Ok(())
        }

        /// Ready once the deadline set last has passed; consumes the expiry.
        pub(super) fn poll_fired(&self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            loop {
                let mut guard = match self.fd.poll_read_ready(cx) {
                    Poll::Ready(Ok(guard)) => guard,
                    Poll::Ready(Err(error)) => return Poll::Ready(Err(error)),
                    Poll::Pending => return Poll::Pending,
                };
                // The readiness may be stale (an expiry that a later `set` cleared):
                // only a successful read of the expiry count says the timer fired.
                let mut count = [0u8; 8];
                match guard.try_io(|fd| Ok(rustix::io::read(fd.get_ref(), &mut count)?)) {
                    Ok(result) => return Poll::Ready(result.map(drop)),
                    Err(_would_block) => continue,
                }
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn a_quota_gives_out_its_maximum_and_takes_back_what_is_dropped() {
            static QUOTA: Quota = Quota::new(2);
            let first = QUOTA.take().expect("one of two");
            let second = QUOTA.take().expect("two of two");
            assert!(QUOTA.take().is_none(), "a third past a maximum of two");
            assert!(QUOTA.take().is_none(), "a refusal does not use one up");
            drop(first);
            let third = QUOTA.take().expect("one given back is there again");
            assert!(QUOTA.take().is_none());
            drop((second, third));
            assert_eq!(QUOTA.used.load(Ordering::Relaxed), 0);
        }
    }
}

#[cfg(not(target_os = "linux"))]
mod precise {
    //! No precise timer here: tokio's serves every deadline.

    use std::io;
    use std::task::{Context, Poll};

    /// There is no precise timer on this platform.
    pub(super) const AVAILABLE: bool = false;

    /// Uninhabited: never made.
    pub(super) enum Timer {}

    /// Uninhabited: there is no place to hold.
    pub(super) enum Permit {}

    impl Permit {
        /// Never one: no deadline waits with a precise timer.
        pub(super) fn take() -> Option<Permit> {
            None
        }
    }

    impl Timer {
        /// Always unsupported, so the deadline falls back to tokio's timer.
        pub(super) fn new() -> io::Result<Self> {
            Err(io::ErrorKind::Unsupported.into())
        }

        /// Unreachable: there is no timer to set.
        pub(super) fn set(&self, _at: std::time::Instant) -> io::Result<()> {
            match *self {}
        }

        /// Unreachable: there is no timer to poll.
        pub(super) fn poll_fired(&self, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
            match *self {}
        }
    }
}

#[cfg(test)]
mod tests {
    use std::pin::pin;

    use super::*;

    /// Held by the tests that take places among the precise timers or expect one: the
    /// places are the process's, and these tests run at once.
    static PLACES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

    #[tokio::test(start_paused = true)]
    async fn a_paused_clock_is_not_real_time_and_gets_tokios_timer() {
        assert!(!real_time());
        let start = Instant::now();
        let sleep = pin!(None);
        let mut deadline = Deadline::new(sleep, start);
        deadline.reset(start + Duration::from_millis(3));
        // Near the deadline, but virtual: never the kernel's timer.
        assert_eq!(deadline.wait, Wait::Tokio);
        deadline.expired().await;
        assert_eq!(Instant::now(), start + Duration::from_millis(3));
        assert_eq!(deadline.wait, Wait::Idle);
        assert!(deadline.precise.is_none());
    }

    #[tokio::test(start_paused = true)]
    async fn resetting_moves_the_deadline_and_the_same_instant_is_a_no_op() {
        let start = Instant::now();
        let sleep = pin!(None);
        let mut deadline = Deadline::new(sleep, start);
        // Nothing armed: pending forever (auto-advance would otherwise fire it).
        let idle = tokio::time::timeout(Duration::from_secs(60), deadline.expired()).await;
        assert!(idle.is_err());
        let start = Instant::now();
        deadline.reset(start + Duration::from_millis(250));
        deadline.reset(start + Duration::from_millis(100));
        // The same instant again does not re-arm (nor move) it.
        deadline.reset(start + Duration::from_millis(100));
        deadline.expired().await;
        assert_eq!(Instant::now(), start + Duration::from_millis(100));
        // Fired: the same instant, now past, arms it again and it is due at once.
        deadline.reset(start + Duration::from_millis(100));
        deadline.expired().await;
        assert_eq!(Instant::now(), start + Duration::from_millis(100));
        // Later, then earlier before it fires.
        deadline.reset(start + Duration::from_millis(400));
        deadline.reset(start + Duration::from_millis(300));
        deadline.expired().await;
        assert_eq!(Instant::now(), start + Duration::from_millis(300));
    }

    #[tokio::test]
    async fn an_advanced_clock_is_not_real_time() {
        assert!(real_time());
        tokio::time::pause();
        tokio::time::advance(Duration::from_millis(10)).await;
        tokio::time::resume();
        // Running again, but 10 ms ahead of the real clock.
        assert!(!real_time());
    }

    #[tokio::test]
    async fn a_deadline_moved_away_or_past_gives_its_descriptor_back() {
        if !precise::AVAILABLE {
            return;
        }
        let _places = PLACES.lock().await;
        assert!(real_time());
        let sleep = pin!(None);
        let mut deadline = Deadline::new(sleep, Instant::now());
        deadline.reset(Instant::now() + COARSE_MARGIN / 2);
        assert_eq!(deadline.wait, Wait::Precise);
        assert!(deadline.precise.is_some());
        // Moved a second away: tokio's timer waits, holding no descriptor meanwhile.
        deadline.reset(Instant::now() + Duration::from_secs(1));
        assert_eq!(deadline.wait, Wait::Coarse);
        assert!(deadline.precise.is_none());
        // Near again, then moved into the past: due at once, nothing held.
        deadline.reset(Instant::now() + COARSE_MARGIN / 2);
        assert!(deadline.precise.is_some());
        deadline.reset(Instant::now() - Duration::from_millis(1));
        assert_eq!(deadline.wait, Wait::Due);
        assert!(deadline.precise.is_none());
        deadline.expired().await;
        assert_eq!(deadline.wait, Wait::Idle);
    }

    #[tokio::test]
    async fn in_real_time_it_fires_not_before_the_deadline() {
        let _places = PLACES.lock().await;
        assert!(real_time());
        let sleep = pin!(None);
        let mut deadline = Deadline::new(sleep, Instant::now());
        for wait in [Duration::from_millis(20), COARSE_MARGIN / 2] {
            let at = Instant::now() + wait;
            deadline.reset(at);
            if precise::AVAILABLE {
                // Far: tokio's timer first; near: the precise one at once.
                let expected = if wait <= COARSE_MARGIN {
                    Wait::Precise
                } else {
                    Wait::Coarse
                };
                assert_eq!(deadline.wait, expected);
                assert_eq!(deadline.precise.is_some(), wait <= COARSE_MARGIN);
            }
            deadline.expired().await;
            // The only safe timed assertion: a lower bound, in both clocks.
            assert!(Instant::now() >= at);
            assert!(std::time::Instant::now() >= at.into_std());
            // Its descriptor is closed once it fired.
            assert!(deadline.precise.is_none());
        }
        // A deadline already past is due at once.
        deadline.reset(Instant::now() - Duration::from_millis(1));
        deadline.expired().await;
    }

    #[tokio::test]
    async fn a_near_deadline_holds_its_place_from_the_arming_or_waits_on_tokio_at_once() {
        if !precise::AVAILABLE {
            return;
        }
        let _places = PLACES.lock().await;
        let sleep = pin!(None);
        let mut first = Deadline::new(sleep, Instant::now());
        let first_at = Instant::now() + Duration::from_millis(20);
        first.reset(first_at);
        // Far from the margin, but within RESERVE_WITHIN: the place is held, no descriptor.
        assert_eq!(first.wait, Wait::Coarse);
        assert!(first.permit.is_some() && first.precise.is_none());
        // Every other place taken: the next deadline waits on tokio's timer from the start.
        let taken: Vec<_> = std::iter::from_fn(precise::Permit::take).collect();
        let sleep = pin!(None);
        let mut second = Deadline::new(sleep, Instant::now());
        let second_at = Instant::now() + Duration::from_millis(20);
        second.reset(second_at);
        assert_eq!(second.wait, Wait::Tokio);
        assert!(second.permit.is_none());
        // The first still gets its precise timer at the margin, then gives the place back.
        first.expired().await;
        assert!(Instant::now() >= first_at);
        assert!(first.permit.is_none() && first.precise.is_none());
        second.expired().await;
        assert!(Instant::now() >= second_at);
        drop(taken);
        // A deadline past RESERVE_WITHIN holds no place while it waits.
        first.reset(Instant::now() + RESERVE_WITHIN + Duration::from_secs(1));
        assert_eq!(first.wait, Wait::Coarse);
        assert!(first.permit.is_none());
    }
}
