//! Scenario 5: building a plan for 10, 1,000 and 100,000 addresses (half IPv6, half
//! IPv4, interleaved as a resolver would answer). The target is linear time and under
//! 1 µs per address.

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use turbohttp::HappyEyeballsOptions;
use turbohttp_proto::plan::Plan;

fn addresses(n: usize) -> Vec<SocketAddr> {
    (0..n)
        .map(|i| {
            let i32 = u32::try_from(i).expect("fewer than 2^32 addresses");
            let ip = if i % 2 == 0 {
                IpAddr::V6(Ipv6Addr::from(0x2001_0db8_u128 << 96 | u128::from(i32)))
            } else {
                IpAddr::V4(Ipv4Addr::from(0x0a00_0000 | i32))
            };
            SocketAddr::new(ip, 443)
        })
        .collect()
}

fn plan(c: &mut Criterion) {
    let options = HappyEyeballsOptions::default();
    let mut group = c.benchmark_group("plan");
    for n in [10, 1_000, 100_000] {
        let addrs = addresses(n);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_with_input(BenchmarkId::from_parameter(n), &addrs, |b, addrs| {
            b.iter(|| Plan::new(black_box(addrs), &options, None).expect("a plan"));
        });
    }
    group.finish();
}

criterion_group!(benches, plan);
criterion_main!(benches);
