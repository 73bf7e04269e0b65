//! Differential tests of the list family against a real redis-server: identical bytes required.

mod common;
use common::Diff;

#[test]
fn push_pop_range() {
    let mut d = Diff::new();
    d.script(
        "
        LPUSH l a b c
        RPUSH l d e
        LRANGE l 0 -1
        LRANGE l -100 100
        LRANGE l 2 1
        LRANGE l 5 10
        LRANGE nosuch 0 -1
        LLEN l
        LLEN nosuch
        LPOP l
        RPOP l
        LPOP l 2
        LPOP l 0
        RPOP l 10
        EXISTS l
        LPOP nosuch
        LPOP nosuch 2
        LPOP nosuch 0
        RPUSH l x
        LPOP l -1
        LPOP l abc
        LPOP l 1 2
        LPUSHX nosuch a
        RPUSHX l y z
        LPUSHX l w
        LRANGE l 0 -1
        LRANGE l a 1
        SET s v
        LPUSH s a
        LPOP s
        LRANGE s 0 1
        LLEN s
        ",
    );
}

#[test]
fn index_set_rem_trim_insert() {
    let mut d = Diff::new();
    d.script(
        "
        RPUSH l a b c a b c a
        LINDEX l 0
        LINDEX l -1
        LINDEX l 7
        LINDEX l -8
        LINDEX l x
        LINDEX nosuch 0
        LSET l 1 B
        LSET l 10 x
        LSET nosuch 0 x
        LSET l -1 Z
        LRANGE l 0 -1
        LREM l 1 a
        LREM l -1 a
        LREM l 0 c
        LREM l 0 nothere
        LRANGE l 0 -1
        LREM nosuch 0 a
        LREM l x a
        LINSERT l BEFORE B x
        LINSERT l AFTER Z y
        LINSERT l AFTER nothere y
        LINSERT l MIDDLE B y
        LINSERT nosuch BEFORE a b
        LRANGE l 0 -1
        LTRIM l 1 -2
        LRANGE l 0 -1
        LTRIM l 5 1
        EXISTS l
        RPUSH t 1 2 3 4 5 6
        LTRIM t -3 -1
        LRANGE t 0 -1
        LTRIM t x 1
        ",
    );
}

#[test]
fn lpos_variants() {
    let mut d = Diff::new();
    d.script(
        "
        RPUSH l a b c 1 2 3 c c
        LPOS l c
        LPOS l c RANK 2
        LPOS l c RANK -1
        LPOS l c RANK -3
        LPOS l c COUNT 0
        LPOS l c COUNT 2
        LPOS l c RANK 2 COUNT 0
        LPOS l c RANK -1 COUNT 2
        LPOS l c MAXLEN 2
        LPOS l c COUNT 0 MAXLEN 3
        LPOS l zz
        LPOS l zz COUNT 0
        LPOS nosuch a
        LPOS nosuch a COUNT 1
        LPOS l c RANK 0
        LPOS l c COUNT -1
        LPOS l c MAXLEN -1
        LPOS l c FOO 1
        LPOS l c RANK
        LPOS l c RANK x
        ",
    );
}

#[test]
fn moves_across_workers() {
    let mut d = Diff::new();
    // Keys chosen so that pairs live on different workers as well as the same one.
    d.script(
        "
        RPUSH a 1 2 3
        RPUSH b x
        LMOVE a b LEFT RIGHT
        LMOVE a b RIGHT LEFT
        LRANGE a 0 -1
        LRANGE b 0 -1
        RPOPLPUSH b a
        RPOPLPUSH nosuch a
        LMOVE a a LEFT RIGHT
        LRANGE a 0 -1
        LMOVE a b UP DOWN
        SET str v
        LMOVE a str LEFT LEFT
        LMOVE str a LEFT LEFT
        RPOPLPUSH a newlist
        LRANGE newlist 0 -1
        LMPOP 2 nosuch a LEFT
        LMPOP 2 nosuch a RIGHT COUNT 10
        LMPOP 1 nosuch LEFT
        EXISTS a
        LMPOP 0 a LEFT
        LMPOP x a LEFT
        LMPOP 3 a b LEFT
        LMPOP 1 b MIDDLE
        LMPOP 1 b LEFT COUNT 0
        LMPOP 1 b LEFT COUNT 1 COUNT 1
        LMPOP 2 str b LEFT
        LMPOP 1 b LEFT COUNT 1
        ",
    );
}

#[test]
fn resp3_replies() {
    let mut d = Diff::new();
    d.both(&["HELLO", "3"]);
    d.script(
        "
        LPOP nosuch
        LPOP nosuch 1
        RPUSH l a b
        LPOP l 5
        LMPOP 1 nosuch LEFT
        LINDEX l 3
        LPOS l zz
        ",
    );
}
