//! Differential tests of SORT and SORT_RO against a real redis-server: ordering, BY and GET
//! patterns (whose keys live on both workers), LIMIT windows, ALPHA, STORE, errors.

mod common;
use common::{Diff, Lcg};

/// A list, a set, an intset and a sorted set of ids, with weights and hashes named after them.
/// Keys spread over both workers (weight_1, weight_2, ... hash to different workers).
fn load(d: &mut Diff) {
    d.script(
        "
        RPUSH tosort 3 1 10 2 5 7 4 6 9 8
        SADD setsort 3 1 10 2 5 7 4 6 9 8
        SADD words banana apple cherry date elder fig grape
        ZADD zsort 5 a 3 b 9 c 1 d 7 e
        RPUSH wl banana apple cherry date elder fig grape
        ",
    );
    for i in 1..=10 {
        let w = ((i * 37) % 11).to_string();
        d.check_owned(&["SET".into(), format!("weight_{i}"), w]);
        d.check_owned(&[
            "HSET".into(),
            format!("obj_{i}"),
            "name".into(),
            format!("n{}", 100 - i),
            "rank".into(),
            ((i * 7) % 13).to_string(),
        ]);
        d.check_owned(&["SET".into(), format!("val_{i}"), format!("v{i}")]);
    }
    for (i, w) in ["banana", "apple", "cherry", "date", "elder", "fig", "grape"]
        .iter()
        .enumerate()
    {
        d.check_owned(&["SET".into(), format!("w_{w}"), format!("{}", 7 - i)]);
        d.check_owned(&[
            "SET".into(),
            format!("s_{w}"),
            format!("str{}", (i * 3) % 7),
        ]);
    }
}

#[test]
fn numeric_alpha_desc_limit() {
    let mut d = Diff::new();
    load(&mut d);
    d.script(
        "
        SORT tosort
        SORT tosort DESC
        SORT setsort
        SORT setsort DESC
        SORT zsort ALPHA
        SORT wl ALPHA
        SORT wl ALPHA DESC
        SORT words ALPHA
        SORT tosort LIMIT 0 3
        SORT tosort LIMIT 2 4
        SORT tosort LIMIT 8 10
        SORT tosort LIMIT 10 1
        SORT tosort LIMIT 100 1
        SORT tosort LIMIT -5 3
        SORT tosort LIMIT 0 -1
        SORT tosort LIMIT 0 0
        SORT tosort LIMIT 3 -7
        SORT tosort DESC LIMIT 1 3
        SORT tosort ASC DESC ASC
        SORT nosuchkey
        SORT nosuchkey BY nosort
        SORT nosuchkey STORE dst_empty
        SORT_RO tosort
        SORT_RO tosort LIMIT 1 2 DESC
        ",
    );
}

#[test]
fn by_and_get_patterns_across_workers() {
    let mut d = Diff::new();
    load(&mut d);
    d.script(
        "
        SORT tosort BY weight_*
        SORT tosort BY weight_* DESC
        SORT tosort BY weight_* LIMIT 2 3
        SORT tosort BY weight_* GET #
        SORT tosort BY weight_* GET val_* GET #
        SORT tosort GET val_*
        SORT tosort GET obj_*->name
        SORT tosort GET obj_*->name GET obj_*->rank GET # GET nosuch_*
        SORT tosort BY obj_*->rank
        SORT tosort BY obj_*->rank DESC GET obj_*->name
        SORT tosort BY obj_*->nofield
        SORT tosort BY nokey_*
        SORT tosort BY obj_*->
        SORT tosort GET obj_*->
        SORT tosort GET constant
        SORT tosort BY nosort
        SORT tosort BY nosort DESC
        SORT tosort BY nosort LIMIT 2 3
        SORT tosort BY nosort DESC LIMIT 2 3
        SORT tosort BY nosort GET val_*
        SORT zsort BY nosort
        SORT zsort BY nosort DESC LIMIT 1 2
        SORT zsort BY nosort LIMIT 3 10
        SORT wl BY w_*
        SORT wl BY s_* ALPHA
        SORT wl BY s_* ALPHA DESC GET # GET w_*
        SORT words BY w_*
        SORT_RO tosort BY weight_* GET val_*
        ",
    );
}

#[test]
fn store_and_events() {
    let mut d = Diff::new();
    load(&mut d);
    d.script(
        "
        SORT tosort STORE out
        LRANGE out 0 -1
        TYPE out
        SORT tosort BY weight_* GET val_* GET nosuch_* STORE d
        LRANGE d 0 -1
        SET e astring
        EXPIRE e 100
        SORT tosort DESC LIMIT 0 3 STORE e
        LRANGE e 0 -1
        TTL e
        SORT setsort BY nosort STORE s
        LRANGE s 0 -1
        SORT nosuchkey STORE e
        EXISTS e
        SORT tosort LIMIT 100 1 STORE d
        EXISTS d
        SORT tosort STORE tosort
        LRANGE tosort 0 -1
        SORT_RO tosort STORE x
        SORT tosort STORE
        ",
    );
}

#[test]
fn errors_and_types() {
    let mut d = Diff::new();
    load(&mut d);
    d.script(
        "
        SET str 1
        SORT str
        HSET h f v
        SORT h
        SORT
        SORT tosort LIMIT
        SORT tosort LIMIT 1
        SORT tosort LIMIT x 1
        SORT tosort LIMIT 1 x
        SORT tosort BY
        SORT tosort GET
        SORT tosort FOO
        SORT tosort ALPHA FOO
        SORT str LIMIT x 1
        RPUSH mixed 1 2 x 3
        SORT mixed
        SORT mixed ALPHA
        SORT mixed LIMIT 0 1
        SORT mixed STORE dst
        EXISTS dst
        RPUSH floats 1.5 -2e3 0x10 inf -inf 3
        SORT floats
        RPUSH nanlist nan 1
        SORT nanlist
        SET weight_1 notanumber
        SORT tosort BY weight_*
        SET weight_1 1e400
        SORT tosort BY weight_*
        SET weight_1 {sp}5
        RPUSH dup 3 3 1 1 2 2
        SORT dup
        SORT dup DESC
        SORT dup ALPHA
        ",
    );
}

#[test]
fn random_differential() {
    let mut d = Diff::new();
    let mut r = Lcg(0x5eed_50e7);
    let mut n = 0;
    for round in 0..40 {
        let key = format!("L{round}");
        let len = 1 + r.below(30);
        let mut push = vec!["RPUSH".to_string(), key.clone()];
        for _ in 0..len {
            push.push(format!("{}", r.below(1000) as i64 - 500));
        }
        d.check_owned(&push);
        for _ in 0..len {
            let e = r.below(1000) as i64 - 500;
            d.check_owned(&["SET".into(), format!("wt_{e}"), format!("{}", r.below(100))]);
        }
        for _ in 0..10 {
            let mut c = vec!["SORT".to_string(), key.clone()];
            if r.below(2) == 0 {
                c.extend(["BY".into(), "wt_*".into()]);
            }
            if r.below(3) == 0 {
                c.extend([
                    "LIMIT".into(),
                    format!("{}", r.below(40) as i64 - 5),
                    format!("{}", r.below(40) as i64 - 5),
                ]);
            }
            if r.below(2) == 0 {
                c.push("DESC".into());
            }
            if r.below(3) == 0 {
                c.extend(["GET".into(), "#".into(), "GET".into(), "wt_*".into()]);
            }
            d.check_owned(&c);
            n += 1;
        }
    }
    assert_eq!(n, 400);
}
