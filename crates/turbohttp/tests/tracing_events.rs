//! The race tells its story through `tracing`: every attempt's start and end, and the winner.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use turbohttp::ConnectParams;

use turbohttp::HappyEyeballs;
use turbohttp::sim::{Behavior, SimNetwork};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test(start_paused = true)]
async fn attempts_and_the_winner_are_traced() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_ansi(false)
        .without_time()
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let net = SimNetwork::new([
        (
            "[2001:db8::1]:443".parse().unwrap(),
            Behavior::Refuse(Duration::from_millis(5)),
        ),
        (
            "192.0.2.1:443".parse().unwrap(),
            Behavior::Connect(Duration::from_millis(10)),
        ),
    ]);
    HappyEyeballs::default()
        .with_resolver(net.clone())
        .with_dialer(net.clone())
        .connect_with(
            "dual.test",
            443,
            ConnectParams::default().with_timeout(Duration::from_secs(1)),
        )
        .await
        .unwrap();

    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let lines: Vec<&str> = log.lines().collect();
    let find = |needle: &str| {
        lines
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no {needle:?} in\n{log}"))
    };
    let started_v6 = find("attempt started attempt=0 addr=[2001:db8::1]:443");
    let failed_v6 = find("attempt failed attempt=0");
    let started_v4 = find("attempt started attempt=1 addr=192.0.2.1:443");
    let connected_v4 = find("attempt connected attempt=1");
    let won = find("race won attempt=1 endpoint=192.0.2.1:443");
    assert!(
        started_v6 < failed_v6
            && failed_v6 < started_v4
            && started_v4 < connected_v4
            && connected_v4 < won
    );
}
