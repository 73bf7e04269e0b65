//! Differential tests of the sorted set family against a real redis-server.

mod common;
use common::Diff;

#[test]
fn zadd_flags_and_scores() {
    let mut d = Diff::new();
    d.script(
        "
        ZADD z 1 a 2 b 3 c
        ZADD z 1.1 d
        ZSCORE z d
        ZADD z NX 10 a 4 e
        ZADD z XX 10 a 4 f
        ZADD z XX CH 11 a 11 a
        ZADD z GT 5 b
        ZADD z GT 1 b
        ZADD z LT 0 b
        ZADD z GT CH 100 c 1 c
        ZADD z INCR 5 a
        ZADD z INCR NX 5 a
        ZADD z INCR XX 5 zz
        ZADD z INCR 1 a 2 b
        ZADD z NX XX 1 a
        ZADD z GT LT 1 a
        ZADD z NX GT 1 a
        ZADD z 1 a 2
        ZADD z
        ZADD z abc a
        ZADD z nan a
        ZADD z inf pos -inf neg
        ZADD z +inf pos2
        ZSCORE z pos
        ZSCORE z neg
        ZADD z INCR -inf pos
        ZRANGE z 0 -1 WITHSCORES
        ZADD nosuch XX 1 a
        EXISTS nosuch
        ZCARD z
        ZCARD nosuch
        ZSCORE z nothere
        ZSCORE nosuch a
        ZMSCORE z a nothere b
        ZMSCORE nosuch a
        ZINCRBY z 2.5 b
        ZINCRBY z 1 newm
        ZINCRBY z x b
        ZINCRBY nosuch2 3 m
        ZREM z a nothere
        ZREM nosuch a
        ZRANK z b
        ZREVRANK z b
        ZRANK z nothere
        ZRANK nosuch a
        SET str v
        ZADD str 1 a
        ZSCORE str a
        ZRANGE str 0 1
        OBJECT ENCODING z
        ZADD big 1 0123456789012345678901234567890123456789012345678901234567890123456789
        OBJECT ENCODING big
        ",
    );
}

#[test]
fn ranges() {
    let mut d = Diff::new();
    d.script(
        "
        ZADD z 1 a 2 b 3 c 4 d 5 e 5 f
        ZRANGE z 0 -1
        ZRANGE z 1 2 WITHSCORES
        ZRANGE z -2 -1
        ZRANGE z 3 1
        ZRANGE z 0 100 REV
        ZRANGE z (1 4 BYSCORE
        ZRANGE z -inf +inf BYSCORE LIMIT 1 2
        ZRANGE z 5 (2 BYSCORE REV WITHSCORES
        ZRANGE z 5 2 BYSCORE REV LIMIT 0 1
        ZRANGE z 0 -1 LIMIT 0 1
        ZRANGE z - + BYLEX WITHSCORES
        ZRANGE z x 1 BYSCORE
        ZRANGE z a 1
        ZRANGE z 0 1 FOO
        ZRANGEBYSCORE z 2 4
        ZRANGEBYSCORE z (2 (5 WITHSCORES
        ZRANGEBYSCORE z -inf +inf LIMIT 2 -1
        ZRANGEBYSCORE z 4 2
        ZREVRANGEBYSCORE z 4 2 WITHSCORES
        ZREVRANGEBYSCORE z +inf -inf LIMIT 0 2
        ZREVRANGE z 0 1 WITHSCORES
        ZREVRANGE z 0 -1
        ZCOUNT z 2 4
        ZCOUNT z (2 +inf
        ZCOUNT z x 1
        ZCOUNT nosuch 0 1
        ZRANGE nosuch 0 -1
        ZREMRANGEBYSCORE z 5 5
        ZREMRANGEBYRANK z 0 0
        ZRANGE z 0 -1 WITHSCORES
        ZREMRANGEBYRANK z 0 -1
        EXISTS z
        ZADD l 0 a 0 b 0 c 0 d 0 e
        ZRANGEBYLEX l [b (d
        ZRANGEBYLEX l - +
        ZRANGEBYLEX l - + LIMIT 1 2
        ZREVRANGEBYLEX l + - LIMIT 0 2
        ZRANGE l [c + BYLEX
        ZRANGE l + [c BYLEX REV
        ZLEXCOUNT l - +
        ZLEXCOUNT l (a [c
        ZLEXCOUNT l a c
        ZRANGEBYLEX l a c
        ZREMRANGEBYLEX l [a [b
        ZRANGE l 0 -1
        ",
    );
}

#[test]
fn pops_and_resp3() {
    let mut d = Diff::new();
    d.script(
        "
        ZADD z 1 a 2 b 3 c 4 d
        ZPOPMIN z
        ZPOPMAX z
        ZPOPMIN z 0
        ZPOPMIN z 5
        EXISTS z
        ZPOPMIN nosuch
        ZPOPMIN nosuch 2
        ZPOPMAX z -1
        ZPOPMAX z x
        ZPOPMAX z 1 2
        ",
    );
    d.both(&["HELLO", "3"]);
    d.script(
        "
        ZADD z 1 a 2.5 b 3 c 4 d
        ZSCORE z b
        ZMSCORE z a nothere
        ZRANGE z 0 -1 WITHSCORES
        ZRANGEBYSCORE z 1 3 WITHSCORES
        ZPOPMIN z
        ZPOPMIN z 2
        ZPOPMAX nosuch
        ZPOPMAX nosuch 1
        ZINCRBY z 1 d
        ZADD z INCR 1 d
        ZRANK z d
        ",
    );
}
