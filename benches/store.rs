//! Shard table micro-benchmarks: GET hit and miss, SET of new and existing keys.

use criterion::{black_box, criterion_group, criterion_main, BatchSize, Criterion};
use rustis::store::{Db, StrValue, Value};

fn keys(n: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| format!("key:{i:012}").into_bytes())
        .collect()
}

fn filled(ks: &[Vec<u8>]) -> Db {
    let mut db = Db::default();
    for k in ks {
        db.set(k, Value::Str(StrValue::from_bytes(b"xxx")), 0);
    }
    db
}

fn bench_table(c: &mut Criterion) {
    let n = 1_000_000;
    let ks = keys(n);
    let mut db = filled(&ks);
    let mut i = 0usize;
    c.bench_function("get_hit_1M", |b| {
        b.iter(|| {
            i = (i + 7919) % n;
            black_box(db.get(&ks[i], 1).is_some())
        })
    });
    let misses = (0..n)
        .map(|i| format!("miss:{i:012}").into_bytes())
        .collect::<Vec<_>>();
    c.bench_function("get_miss_1M", |b| {
        b.iter(|| {
            i = (i + 7919) % n;
            black_box(db.get(&misses[i], 1).is_none())
        })
    });
    c.bench_function("set_existing_1M", |b| {
        b.iter(|| {
            i = (i + 7919) % n;
            db.set(&ks[i], Value::Str(StrValue::from_bytes(b"yyy")), 0);
        })
    });
    let small = keys(100_000);
    c.bench_function("set_new_100k", |b| {
        b.iter_batched(
            Db::default,
            |mut db| {
                for k in &small {
                    db.set(k, Value::Str(StrValue::from_bytes(b"xxx")), 0);
                }
                db
            },
            BatchSize::LargeInput,
        )
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20);
    targets = bench_table
}
criterion_main!(benches);
