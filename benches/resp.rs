//! RESP parser and reply encoder micro-benchmarks: pipelines of GET/SET, 4 KB values, reply encoding.

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use rustis::resp::{parse_command, Parsed, Reply};

fn pipeline(cmds: usize, value: &[u8]) -> Vec<u8> {
    let mut v = Vec::new();
    for i in 0..cmds {
        let key = format!("key:{i:012}");
        if i % 2 == 0 {
            v.extend_from_slice(
                format!(
                    "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n${}\r\n",
                    key.len(),
                    value.len()
                )
                .as_bytes(),
            );
            v.extend_from_slice(value);
            v.extend_from_slice(b"\r\n");
        } else {
            v.extend_from_slice(
                format!("*2\r\n$3\r\nGET\r\n${}\r\n{key}\r\n", key.len()).as_bytes(),
            );
        }
    }
    v
}

fn parse_all(buf: &[u8]) -> usize {
    let (mut args, mut scratch, mut pos, mut n) = (Vec::new(), Vec::new(), 0, 0);
    while let Ok(Parsed::Command { consumed, .. }) =
        parse_command(&buf[pos..], &mut args, &mut scratch, 512 << 20)
    {
        pos += consumed;
        n += args.len();
    }
    n
}

fn bench_parser(c: &mut Criterion) {
    let mut g = c.benchmark_group("parse");
    for (name, value) in [
        ("pipeline64_get_set_3B", vec![b'x'; 3]),
        ("pipeline64_get_set_4KB", vec![b'x'; 4096]),
    ] {
        let buf = pipeline(64, &value);
        g.throughput(Throughput::Elements(64));
        g.bench_function(name, |b| b.iter(|| parse_all(black_box(&buf))));
    }
    g.finish();
}

fn bench_encoder(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode");
    let value = vec![b'v'; 64];
    g.throughput(Throughput::Elements(64));
    g.bench_function("bulk64x64", |b| {
        let mut out = Vec::with_capacity(8192);
        b.iter(|| {
            out.clear();
            let mut r = Reply::new(&mut out, false);
            for _ in 0..64 {
                r.bulk(black_box(&value));
            }
            out.len()
        })
    });
    g.bench_function("int_and_double", |b| {
        let mut out = Vec::with_capacity(8192);
        b.iter(|| {
            out.clear();
            let mut r = Reply::new(&mut out, true);
            for i in 0..64 {
                r.int(black_box(i * 1_000_003));
                r.double(black_box(i as f64 / 3.0));
            }
            out.len()
        })
    });
    g.finish();
}

/// The owner of a key: CRC16 over the key (hash tag search included), once per request routed.
fn bench_key_slot(c: &mut Criterion) {
    let keys: Vec<String> = (0..64).map(|i| format!("key:{i:012}")).collect();
    let mut g = c.benchmark_group("keyslot");
    g.throughput(Throughput::Elements(keys.len() as u64));
    g.bench_function("key_slot 16-byte keys", |b| {
        b.iter(|| {
            keys.iter()
                .map(|k| rustis::keyslot::key_slot(black_box(k.as_bytes())) as u64)
                .sum::<u64>()
        })
    });
    g.finish();
}

criterion_group!(benches, bench_parser, bench_encoder, bench_key_slot);
criterion_main!(benches);
