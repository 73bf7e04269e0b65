//! Replies are never lost, duplicated or reordered when inline, borrowed, forwarded, fanned-out and
//! coordinated execution mix on one connection.
//!
//! Many client threads share one Rustis (2 and 3 workers). Each client owns its keys (prefix
//! `c<id>:`), spread over every worker, two per class with a shared `{hash tag}`, and keeps a model of
//! them, so every reply is known in advance. It sends pipelines (depths 1, 2, 17, 200, 1000), then
//! requests one at a time (those that find a foreign key's owner parked borrow its shard), of mixed
//! commands: single-key ones on local and foreign keys, fan-out ones (MGET, MSET, DEL, EXISTS, TOUCH),
//! coordinated ones whose keys span workers (RENAME, COPY, SMOVE, LMOVE, SINTERSTORE, SUNIONSTORE),
//! connection commands (PING, ECHO of a sequence number, some of them inline, CLIENT SETNAME/GETNAME),
//! SCAN with MATCH on its prefix, errors (WRONGTYPE, not an integer, arity, unknown command) and
//! values of 1 KB and 64 KB. Every reply must equal the model's, in order, byte for byte; a SCAN reply
//! must list only the client's keys that exist when it is sent, and after each pipeline a full SCAN
//! loop must return exactly the client's keys. Variants: some clients write their pipelines in
//! chunks of 1 to 50 bytes with tiny pauses; two clients mostly one request at a time (borrowing
//! most); clients hang up mid-pipeline (FIN or RST) while the others go on, after which
//! connected_clients is back to its value. Each run prints how many commands were borrowed and
//! forwarded (INFO stats).
//!
//! Everything is driven by one seed (MIXED_ORDER_SEED overrides it), printed with the first differing
//! reply; MIXED_ORDER_TRACE=<client id> prints that client's commands as they are sent. The model
//! itself is checked against a real redis-server. Nothing is timed: the amount of work is fixed.
//!
//! Found so far, each fixed since and kept as a minimal reproduction:
//! - SCAN's pages were not ordered with the connection's later commands
//!   (`scan_sees_only_the_commands_before_it`);
//! - the command after a coordinated one borrowed a parked owner's shard before the coordinated
//!   command's write-back reached it (`a_command_after_a_coordinated_one_sees_its_writes`); the
//!   command after a coordinated one often uses one of its keys, to read its effects at once.

mod common;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{owner, start_redis, start_rustis, Conn, Lcg};

/// The seed every client's sequence derives from.
fn seed() -> u64 {
    std::env::var("MIXED_ORDER_SEED")
        .ok()
        .and_then(|s| {
            let s = s.trim();
            match s.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16).ok(),
                None => s.parse().ok(),
            }
        })
        .unwrap_or(0x0007_5eed)
}

const DEPTHS: [usize; 5] = [1, 2, 17, 200, 1000];

/// Key classes: each key only ever holds its class's type (or nothing), so wrong-type errors are
/// asked for on purpose only.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Class {
    Str,
    Num,
    List,
    Hash,
    Set,
    Zset,
}

const CLASSES: [Class; 6] = [
    Class::Str,
    Class::Num,
    Class::List,
    Class::Hash,
    Class::Set,
    Class::Zset,
];

impl Class {
    fn letter(self) -> char {
        match self {
            Class::Str => 's',
            Class::Num => 'n',
            Class::List => 'l',
            Class::Hash => 'h',
            Class::Set => 't',
            Class::Zset => 'z',
        }
    }
}

/// A value of the model.
#[derive(Clone, Debug)]
enum Val {
    Str(Vec<u8>),
    List(VecDeque<Vec<u8>>),
    Hash(BTreeMap<Vec<u8>, Vec<u8>>),
    Set(BTreeSet<Vec<u8>>),
    Zset(BTreeMap<Vec<u8>, i64>),
}

/// What the reply to one command must be.
enum Expect {
    Exact(Vec<u8>),
    /// A SCAN reply listing only keys among these: the client's keys that exist when it is sent
    /// (its later commands must not be seen, see `scan_sees_only_the_commands_before_it`).
    Scan(BTreeSet<String>),
}

struct Cmd {
    args: Vec<Vec<u8>>,
    /// Sent as an inline command (space-separated) rather than a multibulk.
    inline: bool,
    expect: Expect,
}

const OK: &[u8] = b"+OK\r\n";
const NIL: &[u8] = b"$-1\r\n";
const WRONGTYPE: &[u8] = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const NOT_INT: &[u8] = b"-ERR value is not an integer or out of range\r\n";
const NO_SUCH_KEY: &[u8] = b"-ERR no such key\r\n";

fn bulk(b: &[u8]) -> Vec<u8> {
    let mut v = format!("${}\r\n", b.len()).into_bytes();
    v.extend_from_slice(b);
    v.extend_from_slice(b"\r\n");
    v
}

fn int(n: i64) -> Vec<u8> {
    format!(":{n}\r\n").into_bytes()
}

fn array(items: Vec<Vec<u8>>) -> Vec<u8> {
    let mut v = format!("*{}\r\n", items.len()).into_bytes();
    for i in items {
        v.extend_from_slice(&i);
    }
    v
}

fn arity(cmd: &str) -> Vec<u8> {
    format!("-ERR wrong number of arguments for '{cmd}' command\r\n").into_bytes()
}

/// The integer a string holds, as Redis's string2ll reads it (canonical form only).
fn canonical_int(v: &[u8]) -> Option<i64> {
    let s = std::str::from_utf8(v).ok()?;
    let n: i64 = s.parse().ok()?;
    (n.to_string() == s).then_some(n)
}

/// Redis's LRANGE index rules.
fn lrange(list: &VecDeque<Vec<u8>>, start: i64, stop: i64) -> Vec<Vec<u8>> {
    let len = list.len() as i64;
    let mut start = if start < 0 { start + len } else { start };
    let mut stop = if stop < 0 { stop + len } else { stop };
    if start < 0 {
        start = 0;
    }
    if start > stop || start >= len {
        return Vec::new();
    }
    if stop >= len {
        stop = len - 1;
    }
    (start..=stop).map(|i| list[i as usize].clone()).collect()
}

/// One client: its keys, their model, its connection's name, its random sequence.
struct Client {
    id: usize,
    prefix: String,
    /// Per class (in CLASSES order): two keys owned by each worker, then two sharing a hash tag.
    keys: Vec<Vec<String>>,
    /// Every key name of `keys`.
    names: BTreeSet<String>,
    db: BTreeMap<String, Val>,
    name: Option<Vec<u8>>,
    rng: Lcg,
    seq: u64,
    /// A key the last coordinated command named: the next command may use it.
    follow: Option<String>,
}

fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

impl Client {
    fn new(id: usize, workers: usize, seed: u64) -> Client {
        let prefix = format!("c{id}:");
        let keys = CLASSES
            .iter()
            .map(|class| {
                let l = class.letter();
                let mut keys = Vec::new();
                for w in 0..workers {
                    keys.extend(
                        (0..)
                            .map(|j| format!("{prefix}{l}{j}"))
                            .filter(|k| owner(k, workers) == w)
                            .take(2),
                    );
                }
                keys.push(format!("{prefix}{{c{id}{l}}}a"));
                keys.push(format!("{prefix}{{c{id}{l}}}b"));
                keys
            })
            .collect::<Vec<Vec<String>>>();
        Client {
            id,
            prefix,
            names: keys.iter().flatten().cloned().collect(),
            keys,
            db: BTreeMap::new(),
            name: None,
            rng: Lcg(seed ^ (id as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15)),
            seq: 0,
            follow: None,
        }
    }

    fn below(&mut self, n: usize) -> usize {
        self.rng.below(n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.rng.below(100) < percent
    }

    fn key(&mut self, class: Class) -> String {
        let i = CLASSES.iter().position(|&c| c == class).unwrap();
        let n = self.keys[i].len();
        let j = self.below(n);
        self.keys[i][j].clone()
    }

    /// Two different keys of a class.
    fn two_keys(&mut self, class: Class) -> (String, String) {
        let a = self.key(class);
        loop {
            let b = self.key(class);
            if b != a {
                return (a, b);
            }
        }
    }

    fn any_class(&mut self) -> Class {
        CLASSES[self.below(CLASSES.len())]
    }

    fn any_key(&mut self) -> String {
        let c = self.any_class();
        self.key(c)
    }

    /// A string key or a counter.
    fn string_key(&mut self) -> String {
        let c = if self.chance(50) {
            Class::Str
        } else {
            Class::Num
        };
        self.key(c)
    }

    /// A fresh value naming this client and command (never an integer): mostly short, sometimes
    /// 1 KB or more (written zero-copy by the server), rarely 64 KB or more; big ones are binary.
    fn value(&mut self) -> Vec<u8> {
        let mut v = format!("v{}.{}", self.id, self.seq).into_bytes();
        let roll = self.rng.below(1000);
        let len = if roll < 4 {
            65_536 + self.below(4096)
        } else if roll < 40 {
            1024 + self.below(3072)
        } else {
            return v;
        };
        v.push(b':');
        while v.len() < len {
            v.push(self.rng.next() as u8);
        }
        v
    }

    /// A value for `key`: counters get integers.
    fn value_for(&mut self, key: &str) -> Vec<u8> {
        if self.keys[1].iter().any(|k| k == key) {
            b(&(self.rng.below(2001) as i64 - 1000).to_string())
        } else {
            self.value()
        }
    }

    fn member(&mut self) -> Vec<u8> {
        format!("m{}", self.below(16)).into_bytes()
    }

    fn field(&mut self) -> Vec<u8> {
        format!("f{}", self.below(8)).into_bytes()
    }

    // The model: each returns the reply and applies the command.

    fn m_get(&self, k: &str) -> Vec<u8> {
        match self.db.get(k) {
            None => NIL.to_vec(),
            Some(Val::Str(v)) => bulk(v),
            Some(_) => WRONGTYPE.to_vec(),
        }
    }

    fn m_set(&mut self, k: &str, v: &[u8]) -> Vec<u8> {
        self.db.insert(k.to_string(), Val::Str(v.to_vec()));
        OK.to_vec()
    }

    fn m_incr(&mut self, k: &str) -> Vec<u8> {
        let n = match self.db.get(k) {
            None => 1,
            Some(Val::Str(v)) => match canonical_int(v) {
                Some(n) => n + 1,
                None => return NOT_INT.to_vec(),
            },
            Some(_) => return WRONGTYPE.to_vec(),
        };
        self.db.insert(k.to_string(), Val::Str(b(&n.to_string())));
        int(n)
    }

    fn m_append(&mut self, k: &str, v: &[u8]) -> Vec<u8> {
        match self.db.get_mut(k) {
            None => {
                self.db.insert(k.to_string(), Val::Str(v.to_vec()));
                int(v.len() as i64)
            }
            Some(Val::Str(s)) => {
                s.extend_from_slice(v);
                int(s.len() as i64)
            }
            Some(_) => WRONGTYPE.to_vec(),
        }
    }

    fn m_rpush(&mut self, k: &str, vs: &[Vec<u8>]) -> Vec<u8> {
        let list = match self
            .db
            .entry(k.to_string())
            .or_insert_with(|| Val::List(VecDeque::new()))
        {
            Val::List(l) => l,
            _ => return WRONGTYPE.to_vec(),
        };
        list.extend(vs.iter().cloned());
        int(list.len() as i64)
    }

    fn m_lrange(&self, k: &str, start: i64, stop: i64) -> Vec<u8> {
        match self.db.get(k) {
            None => array(Vec::new()),
            Some(Val::List(l)) => array(lrange(l, start, stop).iter().map(|e| bulk(e)).collect()),
            Some(_) => WRONGTYPE.to_vec(),
        }
    }

    fn m_hset(&mut self, k: &str, pairs: &[(Vec<u8>, Vec<u8>)]) -> Vec<u8> {
        let h = match self
            .db
            .entry(k.to_string())
            .or_insert_with(|| Val::Hash(BTreeMap::new()))
        {
            Val::Hash(h) => h,
            _ => return WRONGTYPE.to_vec(),
        };
        let mut added = 0;
        for (f, v) in pairs {
            if h.insert(f.clone(), v.clone()).is_none() {
                added += 1;
            }
        }
        int(added)
    }

    fn m_hget(&self, k: &str, f: &[u8]) -> Vec<u8> {
        match self.db.get(k) {
            None => NIL.to_vec(),
            Some(Val::Hash(h)) => h.get(f).map_or(NIL.to_vec(), |v| bulk(v)),
            Some(_) => WRONGTYPE.to_vec(),
        }
    }

    fn m_sadd(&mut self, k: &str, ms: &[Vec<u8>]) -> Vec<u8> {
        let s = match self
            .db
            .entry(k.to_string())
            .or_insert_with(|| Val::Set(BTreeSet::new()))
        {
            Val::Set(s) => s,
            _ => return WRONGTYPE.to_vec(),
        };
        int(ms.iter().filter(|m| s.insert(m.to_vec())).count() as i64)
    }

    fn m_scard(&self, k: &str) -> Vec<u8> {
        match self.db.get(k) {
            None => int(0),
            Some(Val::Set(s)) => int(s.len() as i64),
            Some(_) => WRONGTYPE.to_vec(),
        }
    }

    fn m_zadd(&mut self, k: &str, score: i64, m: &[u8]) -> Vec<u8> {
        let z = match self
            .db
            .entry(k.to_string())
            .or_insert_with(|| Val::Zset(BTreeMap::new()))
        {
            Val::Zset(z) => z,
            _ => return WRONGTYPE.to_vec(),
        };
        int(z.insert(m.to_vec(), score).is_none() as i64)
    }

    fn m_zscore(&self, k: &str, m: &[u8]) -> Vec<u8> {
        match self.db.get(k) {
            None => NIL.to_vec(),
            Some(Val::Zset(z)) => z
                .get(m)
                .map_or(NIL.to_vec(), |s| bulk(s.to_string().as_bytes())),
            Some(_) => WRONGTYPE.to_vec(),
        }
    }

    fn m_mget(&self, keys: &[String]) -> Vec<u8> {
        array(
            keys.iter()
                .map(|k| match self.db.get(k) {
                    Some(Val::Str(v)) => bulk(v),
                    _ => NIL.to_vec(),
                })
                .collect(),
        )
    }

    fn m_del(&mut self, keys: &[String]) -> Vec<u8> {
        int(keys.iter().filter(|k| self.db.remove(*k).is_some()).count() as i64)
    }

    fn m_exists(&self, keys: &[String]) -> Vec<u8> {
        int(keys.iter().filter(|k| self.db.contains_key(*k)).count() as i64)
    }

    fn m_rename(&mut self, src: &str, dst: &str) -> Vec<u8> {
        match self.db.remove(src) {
            None => NO_SUCH_KEY.to_vec(),
            Some(v) => {
                self.db.insert(dst.to_string(), v);
                OK.to_vec()
            }
        }
    }

    fn m_copy(&mut self, src: &str, dst: &str, replace: bool) -> Vec<u8> {
        match self.db.get(src) {
            None => int(0),
            Some(_) if !replace && self.db.contains_key(dst) => int(0),
            Some(v) => {
                let v = v.clone();
                self.db.insert(dst.to_string(), v);
                int(1)
            }
        }
    }

    fn m_smove(&mut self, src: &str, dst: &str, m: &[u8]) -> Vec<u8> {
        match self.db.get(src) {
            None => return int(0),
            Some(Val::Set(_)) => {}
            Some(_) => return WRONGTYPE.to_vec(),
        }
        if matches!(self.db.get(dst), Some(v) if !matches!(v, Val::Set(_))) {
            return WRONGTYPE.to_vec();
        }
        let Some(Val::Set(s)) = self.db.get_mut(src) else {
            unreachable!()
        };
        if src == dst {
            return int(s.contains(m) as i64);
        }
        if !s.remove(m) {
            return int(0);
        }
        if s.is_empty() {
            self.db.remove(src);
        }
        self.m_sadd(dst, &[m.to_vec()]);
        int(1)
    }

    fn m_lmove(&mut self, src: &str, dst: &str, from_left: bool, to_left: bool) -> Vec<u8> {
        match self.db.get(src) {
            None => return NIL.to_vec(),
            Some(Val::List(_)) => {}
            Some(_) => return WRONGTYPE.to_vec(),
        }
        if matches!(self.db.get(dst), Some(v) if !matches!(v, Val::List(_))) {
            return WRONGTYPE.to_vec();
        }
        let Some(Val::List(l)) = self.db.get_mut(src) else {
            unreachable!()
        };
        let e = if from_left {
            l.pop_front()
        } else {
            l.pop_back()
        }
        .expect("lists in the model are never empty");
        if l.is_empty() {
            self.db.remove(src);
        }
        let Val::List(d) = self
            .db
            .entry(dst.to_string())
            .or_insert_with(|| Val::List(VecDeque::new()))
        else {
            unreachable!()
        };
        if to_left {
            d.push_front(e.clone());
        } else {
            d.push_back(e.clone());
        }
        bulk(&e)
    }

    fn set_of(&self, k: &str) -> BTreeSet<Vec<u8>> {
        match self.db.get(k) {
            Some(Val::Set(s)) => s.clone(),
            None => BTreeSet::new(),
            Some(v) => panic!("set key {k} holds {v:?}"),
        }
    }

    fn m_store(&mut self, dst: &str, result: BTreeSet<Vec<u8>>) -> Vec<u8> {
        let n = result.len() as i64;
        if result.is_empty() {
            self.db.remove(dst);
        } else {
            self.db.insert(dst.to_string(), Val::Set(result));
        }
        int(n)
    }

    fn m_sinterstore(&mut self, dst: &str, keys: &[String]) -> Vec<u8> {
        let result = if keys.iter().any(|k| !self.db.contains_key(k)) {
            BTreeSet::new()
        } else {
            let mut acc = self.set_of(&keys[0]);
            for k in &keys[1..] {
                let s = self.set_of(k);
                acc.retain(|m| s.contains(m));
            }
            acc
        };
        self.m_store(dst, result)
    }

    fn m_sunionstore(&mut self, dst: &str, keys: &[String]) -> Vec<u8> {
        let mut acc = BTreeSet::new();
        for k in keys {
            acc.extend(self.set_of(k));
        }
        self.m_store(dst, acc)
    }

    /// The next command of the sequence, with its expected reply; the model moves on.
    fn command(&mut self) -> Cmd {
        self.seq += 1;
        if let Some(k) = self.follow.take() {
            if self.chance(60) {
                let class = CLASSES[self.keys.iter().position(|ks| ks.contains(&k)).unwrap()];
                let (args, expect) = self.single_key_on(class, k);
                return Cmd {
                    args,
                    inline: false,
                    expect: Expect::Exact(expect),
                };
            }
        }
        let roll = self.rng.below(100);
        let (args, expect) = match roll {
            0..=41 => self.single_key(),
            42..=59 => self.fan_out(),
            60..=73 => {
                let (args, expect) = self.coordinated();
                let keys: Vec<&Vec<u8>> = args[1..]
                    .iter()
                    .filter(|a| self.names.contains(String::from_utf8_lossy(a).as_ref()))
                    .collect();
                self.follow = Some(String::from_utf8_lossy(keys[self.below(keys.len())]).into());
                (args, expect)
            }
            74..=85 => {
                let (args, expect, inline) = self.connection();
                return Cmd {
                    args,
                    inline,
                    expect: Expect::Exact(expect),
                };
            }
            86..=97 => self.error(),
            _ => {
                let count = [10, 100, 1000][self.below(3)];
                let args = vec![
                    b("SCAN"),
                    b("0"),
                    b("MATCH"),
                    format!("{}*", self.prefix).into_bytes(),
                    b("COUNT"),
                    b(&count.to_string()),
                ];
                let keys = self.db.keys().cloned().collect();
                return Cmd {
                    args,
                    inline: false,
                    expect: Expect::Scan(keys),
                };
            }
        };
        Cmd {
            args,
            inline: false,
            expect: Expect::Exact(expect),
        }
    }

    fn single_key(&mut self) -> (Vec<Vec<u8>>, Vec<u8>) {
        let class = self.any_class();
        let k = self.key(class);
        self.single_key_on(class, k)
    }

    /// A single-key command of `class` on `k`.
    fn single_key_on(&mut self, class: Class, k: String) -> (Vec<Vec<u8>>, Vec<u8>) {
        let kb = b(&k);
        match class {
            Class::Str => match self.below(3) {
                0 => {
                    let v = self.value();
                    (vec![b("SET"), kb, v.clone()], self.m_set(&k, &v))
                }
                1 => (vec![b("GET"), kb], self.m_get(&k)),
                _ => {
                    let too_long =
                        matches!(self.db.get(&k), Some(Val::Str(s)) if s.len() > 200_000);
                    let v = self.value();
                    if too_long {
                        (vec![b("SET"), kb, v.clone()], self.m_set(&k, &v))
                    } else {
                        (vec![b("APPEND"), kb, v.clone()], self.m_append(&k, &v))
                    }
                }
            },
            Class::Num => match self.below(4) {
                0 => {
                    let v = self.value_for(&k);
                    (vec![b("SET"), kb, v.clone()], self.m_set(&k, &v))
                }
                1 => (vec![b("GET"), kb], self.m_get(&k)),
                _ => (vec![b("INCR"), kb], self.m_incr(&k)),
            },
            Class::List => {
                let len = match self.db.get(&k) {
                    Some(Val::List(l)) => l.len(),
                    _ => 0,
                };
                if len > 40 {
                    (vec![b("DEL"), kb], self.m_del(&[k]))
                } else if self.chance(50) {
                    let n = 1 + self.below(3);
                    let vs: Vec<Vec<u8>> = (0..n).map(|_| self.value()).collect();
                    let mut args = vec![b("RPUSH"), kb];
                    args.extend(vs.iter().cloned());
                    (args, self.m_rpush(&k, &vs))
                } else {
                    let (start, stop) = if len <= 30 && self.chance(50) {
                        (0, -1)
                    } else {
                        [(0, 2), (-3, -1), (1, 1), (2, 5), (-100, 100), (5, 2)][self.below(6)]
                    };
                    (
                        vec![b("LRANGE"), kb, b(&start.to_string()), b(&stop.to_string())],
                        self.m_lrange(&k, start, stop),
                    )
                }
            }
            Class::Hash => {
                if self.chance(50) {
                    let n = 1 + self.below(2);
                    let pairs: Vec<(Vec<u8>, Vec<u8>)> =
                        (0..n).map(|_| (self.field(), self.value())).collect();
                    let mut args = vec![b("HSET"), kb];
                    for (f, v) in &pairs {
                        args.push(f.clone());
                        args.push(v.clone());
                    }
                    (args, self.m_hset(&k, &pairs))
                } else {
                    let f = self.field();
                    (vec![b("HGET"), kb, f.clone()], self.m_hget(&k, &f))
                }
            }
            Class::Set => {
                if self.chance(50) {
                    let n = 1 + self.below(3);
                    let ms: Vec<Vec<u8>> = (0..n).map(|_| self.member()).collect();
                    let mut args = vec![b("SADD"), kb];
                    args.extend(ms.iter().cloned());
                    (args, self.m_sadd(&k, &ms))
                } else {
                    (vec![b("SCARD"), kb], self.m_scard(&k))
                }
            }
            Class::Zset => {
                let m = self.member();
                if self.chance(50) {
                    let score = self.rng.below(101) as i64 - 50;
                    (
                        vec![b("ZADD"), kb, b(&score.to_string()), m.clone()],
                        self.m_zadd(&k, score, &m),
                    )
                } else {
                    (vec![b("ZSCORE"), kb, m.clone()], self.m_zscore(&k, &m))
                }
            }
        }
    }

    fn fan_out(&mut self) -> (Vec<Vec<u8>>, Vec<u8>) {
        match self.below(10) {
            0..=2 => {
                let n = 2 + self.below(5);
                let keys: Vec<String> = (0..n)
                    .map(|_| {
                        if self.chance(80) {
                            self.string_key()
                        } else {
                            self.any_key()
                        }
                    })
                    .collect();
                let mut args = vec![b("MGET")];
                args.extend(keys.iter().map(|k| b(k)));
                (args, self.m_mget(&keys))
            }
            3..=5 => {
                let n = 1 + self.below(4);
                let mut args = vec![b("MSET")];
                for _ in 0..n {
                    let k = self.string_key();
                    let v = self.value_for(&k);
                    self.m_set(&k, &v);
                    args.push(b(&k));
                    args.push(v);
                }
                (args, OK.to_vec())
            }
            6 => {
                let n = 1 + self.below(4);
                let keys: Vec<String> = (0..n).map(|_| self.any_key()).collect();
                let mut args = vec![b("DEL")];
                args.extend(keys.iter().map(|k| b(k)));
                (args, self.m_del(&keys))
            }
            c => {
                let n = 1 + self.below(5);
                let keys: Vec<String> = (0..n).map(|_| self.any_key()).collect();
                let mut args = vec![b(if c < 9 { "EXISTS" } else { "TOUCH" })];
                args.extend(keys.iter().map(|k| b(k)));
                (args, self.m_exists(&keys))
            }
        }
    }

    fn coordinated(&mut self) -> (Vec<Vec<u8>>, Vec<u8>) {
        match self.below(6) {
            0 => {
                let class = self.any_class();
                let (src, dst) = self.two_keys(class);
                let reply = self.m_rename(&src, &dst);
                (vec![b("RENAME"), b(&src), b(&dst)], reply)
            }
            1 => {
                let class = self.any_class();
                let (src, dst) = self.two_keys(class);
                let replace = self.chance(50);
                let reply = self.m_copy(&src, &dst, replace);
                let mut args = vec![b("COPY"), b(&src), b(&dst)];
                if replace {
                    args.push(b("REPLACE"));
                }
                (args, reply)
            }
            2 => {
                let (src, dst) = if self.chance(90) {
                    self.two_keys(Class::Set)
                } else {
                    let k = self.key(Class::Set);
                    (k.clone(), k)
                };
                let m = self.member();
                let reply = self.m_smove(&src, &dst, &m);
                (vec![b("SMOVE"), b(&src), b(&dst), m], reply)
            }
            3 => {
                let (src, dst) = if self.chance(90) {
                    self.two_keys(Class::List)
                } else {
                    let k = self.key(Class::List);
                    (k.clone(), k)
                };
                let (from_left, to_left) = (self.chance(50), self.chance(50));
                let side = |left: bool| b(if left { "LEFT" } else { "RIGHT" });
                let reply = self.m_lmove(&src, &dst, from_left, to_left);
                (
                    vec![b("LMOVE"), b(&src), b(&dst), side(from_left), side(to_left)],
                    reply,
                )
            }
            c => {
                let dst = self.key(Class::Set);
                let n = 1 + self.below(3);
                let keys: Vec<String> = (0..n).map(|_| self.key(Class::Set)).collect();
                let (name, reply) = if c == 4 {
                    ("SINTERSTORE", self.m_sinterstore(&dst, &keys))
                } else {
                    ("SUNIONSTORE", self.m_sunionstore(&dst, &keys))
                };
                let mut args = vec![b(name), b(&dst)];
                args.extend(keys.iter().map(|k| b(k)));
                (args, reply)
            }
        }
    }

    /// (arguments, reply, inline)
    fn connection(&mut self) -> (Vec<Vec<u8>>, Vec<u8>, bool) {
        let seq = self.seq;
        match self.below(6) {
            0 => (vec![b("PING")], b"+PONG\r\n".to_vec(), self.chance(20)),
            1 => {
                let msg = format!("p{}.{seq}", self.id);
                (vec![b("PING"), b(&msg)], bulk(msg.as_bytes()), false)
            }
            2 | 3 => {
                let msg = seq.to_string();
                (
                    vec![b("ECHO"), b(&msg)],
                    bulk(msg.as_bytes()),
                    self.chance(20),
                )
            }
            4 => {
                let name = if self.chance(15) {
                    Vec::new()
                } else {
                    format!("n{}.{seq}", self.id).into_bytes()
                };
                self.name = (!name.is_empty()).then(|| name.clone());
                (vec![b("CLIENT"), b("SETNAME"), name], OK.to_vec(), false)
            }
            _ => {
                let reply = self.name.as_deref().map_or(NIL.to_vec(), bulk);
                (vec![b("CLIENT"), b("GETNAME")], reply, false)
            }
        }
    }

    fn error(&mut self) -> (Vec<Vec<u8>>, Vec<u8>) {
        match self.below(5) {
            // A command of another type on an existing key.
            0 | 1 => {
                let existing: Vec<(String, &'static str)> = self
                    .db
                    .iter()
                    .map(|(k, v)| {
                        let t = match v {
                            Val::Str(_) => "string",
                            Val::List(_) => "list",
                            Val::Hash(_) => "hash",
                            Val::Set(_) => "set",
                            Val::Zset(_) => "zset",
                        };
                        (k.clone(), t)
                    })
                    .collect();
                if existing.is_empty() {
                    return (vec![b("GET")], arity("get"));
                }
                let (k, t) = existing[self.below(existing.len())].clone();
                let kb = b(&k);
                let cmds: Vec<(&str, Vec<Vec<u8>>)> = vec![
                    ("string", vec![b("GET"), kb.clone()]),
                    ("string", vec![b("INCR"), kb.clone()]),
                    ("string", vec![b("APPEND"), kb.clone(), b("x")]),
                    ("list", vec![b("RPUSH"), kb.clone(), b("x")]),
                    ("list", vec![b("LRANGE"), kb.clone(), b("0"), b("-1")]),
                    ("hash", vec![b("HSET"), kb.clone(), b("f"), b("x")]),
                    ("hash", vec![b("HGET"), kb.clone(), b("f")]),
                    ("set", vec![b("SADD"), kb.clone(), b("x")]),
                    ("set", vec![b("SCARD"), kb.clone()]),
                    ("zset", vec![b("ZADD"), kb.clone(), b("1"), b("x")]),
                    ("zset", vec![b("ZSCORE"), kb, b("x")]),
                ];
                let others: Vec<Vec<Vec<u8>>> = cmds
                    .into_iter()
                    .filter(|(ty, _)| *ty != t)
                    .map(|(_, a)| a)
                    .collect();
                let n = others.len();
                (others[self.below(n)].clone(), WRONGTYPE.to_vec())
            }
            // INCR on a string that is not a number.
            2 => {
                let k = self.key(Class::Str);
                if self.db.contains_key(&k) {
                    let reply = self.m_incr(&k);
                    (vec![b("INCR"), b(&k)], reply)
                } else {
                    (vec![b("INCR"), b(&k), b("extra")], arity("incr"))
                }
            }
            // Wrong number of arguments, single-key, fan-out and coordinated.
            3 => {
                let (k1, k2) = (self.any_key(), self.string_key());
                let cases: Vec<(Vec<Vec<u8>>, &str)> = vec![
                    (vec![b("GET")], "get"),
                    (vec![b("SET"), b(&k1)], "set"),
                    (vec![b("HGET"), b(&k1)], "hget"),
                    (vec![b("LRANGE"), b(&k1), b("0")], "lrange"),
                    (vec![b("MGET")], "mget"),
                    (vec![b("MSET"), b(&k2), b("v"), b(&k1)], "mset"),
                    (vec![b("RENAME"), b(&k1)], "rename"),
                    (vec![b("SINTERSTORE"), b(&k1)], "sinterstore"),
                    (vec![b("ECHO")], "echo"),
                ];
                let (args, name) = cases[self.below(cases.len())].clone();
                (args, arity(name))
            }
            // An unknown command.
            _ => {
                let name = format!("NOSUCH{}", self.seq);
                let arg = format!("a{}", self.id);
                let reply = format!(
                    "-ERR unknown command '{name}', with args beginning with: '{arg}' \r\n"
                );
                (vec![b(&name), b(&arg)], reply.into_bytes())
            }
        }
    }
}

/// The wire form of one command.
fn encode(cmd: &Cmd, out: &mut Vec<u8>) {
    if cmd.inline {
        out.extend_from_slice(&cmd.args.join(&b' '));
        out.extend_from_slice(b"\r\n");
    } else {
        let args: Vec<&[u8]> = cmd.args.iter().map(|a| a.as_slice()).collect();
        out.extend_from_slice(&common::encode(&args));
    }
}

/// A command for a failure message: long arguments abbreviated.
fn describe(args: &[Vec<u8>]) -> String {
    args.iter()
        .map(|a| {
            if a.len() > 40 {
                format!(
                    "{}...({} bytes)",
                    String::from_utf8_lossy(&a[..24]),
                    a.len()
                )
            } else {
                String::from_utf8_lossy(a).into_owned()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A reply for a failure message: long ones abbreviated.
fn show(r: &[u8]) -> String {
    if r.len() > 300 {
        format!(
            "{:?}...({} bytes)",
            String::from_utf8_lossy(&r[..200]),
            r.len()
        )
    } else {
        format!("{:?}", String::from_utf8_lossy(r))
    }
}

/// The cursor and keys of a SCAN reply.
fn parse_scan(r: &[u8]) -> Option<(String, Vec<String>)> {
    let s = std::str::from_utf8(r).ok()?;
    let mut it = s.split("\r\n");
    if it.next()? != "*2" {
        return None;
    }
    it.next()?.strip_prefix('$')?;
    let cursor = it.next()?.to_string();
    let n: usize = it.next()?.strip_prefix('*')?.parse().ok()?;
    let mut keys = Vec::with_capacity(n);
    for _ in 0..n {
        it.next()?.strip_prefix('$')?;
        keys.push(it.next()?.to_string());
    }
    (it.next()?.is_empty() && it.next().is_none()).then_some((cursor, keys))
}

/// Reads one reply; a timeout or a closed connection becomes an error instead of a panic.
fn read_reply(conn: &mut Conn) -> Result<Vec<u8>, String> {
    catch_unwind(AssertUnwindSafe(|| conn.read_reply())).map_err(|e| {
        e.downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "reading a reply failed".into())
    })
}

/// Writes `bytes` at once, or in chunks of 1 to 50 bytes with a pause now and then.
fn write_pipeline(mut s: &TcpStream, bytes: &[u8], chunks: Option<&mut Lcg>) -> Result<(), String> {
    match chunks {
        None => s.write_all(bytes).map_err(|e| e.to_string()),
        Some(rng) => {
            let mut at = 0;
            while at < bytes.len() {
                let n = (1 + rng.below(50) as usize).min(bytes.len() - at);
                s.write_all(&bytes[at..at + n]).map_err(|e| e.to_string())?;
                at += n;
                if rng.below(8) == 0 {
                    std::thread::sleep(Duration::from_micros(20 + rng.below(200)));
                }
            }
            Ok(())
        }
    }
}

/// How one client behaves.
#[derive(Clone, Copy)]
struct Plan {
    /// Rounds over DEPTHS (each round sends one pipeline of every depth, in an order of its own).
    rounds: usize,
    /// Writes its pipelines in small chunks.
    chunked: bool,
    /// Commands per round sent one at a time, each answered before the next is sent: requests
    /// that find the owner of a foreign key parked borrow its shard.
    serial: usize,
}

#[derive(Default, Debug, Clone, Copy)]
struct Stats {
    commands: usize,
    bytes_sent: usize,
    bytes_received: usize,
}

impl std::ops::AddAssign for Stats {
    fn add_assign(&mut self, o: Stats) {
        self.commands += o.commands;
        self.bytes_sent += o.bytes_sent;
        self.bytes_received += o.bytes_received;
    }
}

struct Run<'a> {
    port: u16,
    /// Worker count of the server, for the key layout and the messages.
    workers: usize,
    seed: u64,
    /// Set by the first client that fails, so the others stop early.
    failed: &'a AtomicBool,
}

impl Run<'_> {
    /// Passes `r` on; an error stops the other clients at their next pipeline.
    fn failing<T>(&self, r: Result<T, String>) -> Result<T, String> {
        if r.is_err() {
            self.failed.store(true, Ordering::Relaxed);
        }
        r
    }

    fn context(&self, c: &Client) -> String {
        format!(
            "seed {:#x} (MIXED_ORDER_SEED), {} workers, client {}",
            self.seed, self.workers, c.id
        )
    }

    /// Sends one pipeline of `depth` commands and checks every reply; the writer runs beside the
    /// reader so a deep pipeline of big values never waits on its own replies.
    fn pipeline(
        &self,
        c: &mut Client,
        conn: &mut Conn,
        depth: usize,
        chunks: Option<&mut Lcg>,
        what: &str,
        stats: &mut Stats,
    ) -> Result<(), String> {
        let cmds: Vec<Cmd> = (0..depth).map(|_| c.command()).collect();
        if std::env::var("MIXED_ORDER_TRACE").ok() == Some(c.id.to_string()) {
            for (i, cmd) in cmds.iter().enumerate() {
                eprintln!("TRACE {what} {i}: {}", describe(&cmd.args));
            }
        }
        let mut bytes = Vec::new();
        for cmd in &cmds {
            encode(cmd, &mut bytes);
        }
        let stream = conn.stream();
        stream
            .set_write_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let result = std::thread::scope(|s| {
            let writer = s.spawn(|| write_pipeline(&stream, &bytes, chunks));
            let checked = self.check_replies(c, conn, &cmds, what, stats);
            if checked.is_err() {
                // Unblocks a writer the server no longer reads from.
                let _ = stream.shutdown(Shutdown::Both);
            }
            let written = writer.join().expect("writer thread");
            checked.and(written.map_err(|e| format!("{}, {what}: write: {e}", self.context(c))))
        });
        stats.commands += depth;
        stats.bytes_sent += bytes.len();
        result
    }

    fn check_replies(
        &self,
        c: &Client,
        conn: &mut Conn,
        cmds: &[Cmd],
        what: &str,
        stats: &mut Stats,
    ) -> Result<(), String> {
        for (i, cmd) in cmds.iter().enumerate() {
            let where_ = || {
                format!(
                    "{}, {what} of depth {}, command {i} `{}`",
                    self.context(c),
                    cmds.len(),
                    describe(&cmd.args)
                )
            };
            let got = read_reply(conn).map_err(|e| format!("{}: no reply: {e}", where_()))?;
            stats.bytes_received += got.len();
            match &cmd.expect {
                Expect::Exact(want) if *want == got => {}
                Expect::Exact(want) => {
                    let other = cmds.iter().position(
                        |o| matches!(&o.expect, Expect::Exact(w) if *w == got && w != want),
                    );
                    let hint = other.map_or(String::new(), |j| {
                        format!(
                            "\n  (that is the expected reply of command {j} `{}`)",
                            describe(&cmds[j].args)
                        )
                    });
                    return Err(format!(
                        "{}: first differing reply\n  expected {}\n  got      {}{hint}",
                        where_(),
                        show(want),
                        show(&got)
                    ));
                }
                Expect::Scan(keys) => match parse_scan(&got) {
                    Some((_, found)) => {
                        if let Some(k) = found.iter().find(|k| !keys.contains(*k)) {
                            let what = if c.names.contains(k) {
                                "a key of this client that does not exist at this point"
                            } else {
                                "not a key of this client"
                            };
                            return Err(format!("{}: SCAN returned {k:?}, {what}", where_()));
                        }
                    }
                    None => {
                        return Err(format!("{}: not a SCAN reply: {}", where_(), show(&got)));
                    }
                },
            }
        }
        Ok(())
    }

    /// A whole SCAN loop over the client's prefix must return exactly its keys.
    fn scan_all(&self, c: &mut Client, conn: &mut Conn, what: &str) -> Result<(), String> {
        let pattern = format!("{}*", c.prefix);
        let count = [10, 100, 1000][c.below(3)].to_string();
        let mut found = BTreeSet::new();
        let mut cursor = "0".to_string();
        for _ in 0..100_000 {
            conn.send(&[
                b"SCAN",
                cursor.as_bytes(),
                b"MATCH",
                pattern.as_bytes(),
                b"COUNT",
                count.as_bytes(),
            ]);
            let r = read_reply(conn)
                .map_err(|e| format!("{}, SCAN after {what}: {e}", self.context(c)))?;
            let (next, keys) = parse_scan(&r).ok_or_else(|| {
                format!(
                    "{}, SCAN after {what}: not a SCAN reply: {}",
                    self.context(c),
                    show(&r)
                )
            })?;
            found.extend(keys);
            cursor = next;
            if cursor == "0" {
                let want: BTreeSet<String> = c.db.keys().cloned().collect();
                if found != want {
                    return Err(format!(
                        "{}, SCAN loop after {what}: missing {:?}, unexpected {:?}",
                        self.context(c),
                        want.difference(&found).collect::<Vec<_>>(),
                        found.difference(&want).collect::<Vec<_>>()
                    ));
                }
                return Ok(());
            }
        }
        Err(format!(
            "{}, SCAN after {what}: the cursor never came back to 0",
            self.context(c)
        ))
    }

    /// One client's whole life: `plan.rounds` rounds of pipelines of every depth, checked, each
    /// followed by a SCAN loop.
    fn client(&self, id: usize, plan: Plan) -> Result<Stats, String> {
        let mut c = Client::new(id, self.workers, self.seed);
        let mut chunk_rng = Lcg(self.seed ^ 0xc4u64.wrapping_mul(id as u64 + 7));
        let mut conn = Conn::new(self.port);
        let mut stats = Stats::default();
        for round in 0..plan.rounds {
            // Each client visits the depths in its own rotation, so deep and shallow pipelines
            // of different clients overlap.
            for d in 0..DEPTHS.len() {
                if self.failed.load(Ordering::Relaxed) {
                    return Ok(stats);
                }
                let depth = DEPTHS[(d + id + round) % DEPTHS.len()];
                let what = format!("round {round}, pipeline {d}");
                let chunks = plan.chunked.then_some(&mut chunk_rng);
                let r = self
                    .pipeline(&mut c, &mut conn, depth, chunks, &what, &mut stats)
                    .and_then(|()| self.scan_all(&mut c, &mut conn, &what));
                r?;
            }
            for j in 0..plan.serial {
                let what = format!("round {round}, request {j} sent alone");
                self.pipeline(&mut c, &mut conn, 1, None, &what, &mut stats)?;
            }
            self.scan_all(
                &mut c,
                &mut conn,
                &format!("round {round}, requests sent alone"),
            )?;
        }
        Ok(stats)
    }

    /// A client that leaves mid-pipeline, `times` times, each time with a fresh key prefix: it
    /// sends a deep pipeline cut at a random byte (mid-frame, usually), checks a random number of
    /// the replies it is owed, and closes with FIN or RST.
    fn leaver(&self, id: usize, times: usize) -> Result<Stats, String> {
        let mut stats = Stats::default();
        let mut rng = Lcg(self.seed ^ 0x1eau64.wrapping_mul(id as u64 + 3));
        for t in 0..times {
            if self.failed.load(Ordering::Relaxed) {
                break;
            }
            let mut c = Client::new(id + t, self.workers, self.seed);
            let mut conn = Conn::new(self.port);
            // A first pipeline, answered, so that the connection has replies of every kind behind
            // it and its client has data on every worker.
            self.pipeline(&mut c, &mut conn, 200, None, "warm-up", &mut stats)?;
            let depth = [200, 1000][t % 2];
            let cmds: Vec<Cmd> = (0..depth).map(|_| c.command()).collect();
            let mut bytes = Vec::new();
            let mut ends = Vec::new();
            for cmd in &cmds {
                encode(cmd, &mut bytes);
                ends.push(bytes.len());
            }
            let cut = 1 + rng.below(bytes.len() as u64 - 1) as usize;
            let complete = ends.iter().take_while(|&&e| e <= cut).count();
            let read = rng.below(complete as u64 + 1) as usize;
            let stream = conn.stream();
            stream
                .set_write_timeout(Some(Duration::from_secs(30)))
                .unwrap();
            let what = format!(
                "leaving pipeline {t} (cut at byte {cut} of {})",
                bytes.len()
            );
            std::thread::scope(|s| {
                let writer = s.spawn(|| write_pipeline(&stream, &bytes[..cut], None));
                let checked = self.check_replies(&c, &mut conn, &cmds[..read], &what, &mut stats);
                let written = writer.join().expect("writer thread");
                checked
                    .and(written.map_err(|e| format!("{}, {what}: write: {e}", self.context(&c))))
            })?;
            stats.commands += read;
            stats.bytes_sent += cut;
            drop(conn);
            if t % 2 == 0 {
                drop(stream);
            } else {
                let sock = socket2::Socket::from(stream);
                sock.set_linger(Some(Duration::ZERO)).unwrap();
                drop(sock);
            }
        }
        Ok(stats)
    }
}

fn connected_clients(admin: &mut Conn) -> u64 {
    let reply = admin.call(&["INFO", "clients"]);
    String::from_utf8_lossy(&reply)
        .split("\r\n")
        .find_map(|l| l.strip_prefix("connected_clients:"))
        .and_then(|v| v.parse().ok())
        .expect("connected_clients in INFO")
}

/// Runs `clients` clients following `plan` (every `chunked_every`-th one writing in chunks) and
/// `leavers` leaving clients against the server on `port`; panics with the first failure.
fn run(
    port: u16,
    workers: usize,
    clients: usize,
    plan: Plan,
    chunked_every: Option<usize>,
    leavers: usize,
) {
    let seed = seed();
    let failed = AtomicBool::new(false);
    let run = Run {
        port,
        workers,
        seed,
        failed: &failed,
    };
    let started = Instant::now();
    let results: Vec<Result<Stats, String>> = std::thread::scope(|s| {
        let mut handles = Vec::new();
        for id in 0..clients {
            let chunked = chunked_every.is_some_and(|n| id % n == 0);
            let plan = Plan {
                chunked: plan.chunked || chunked,
                ..plan
            };
            let run = &run;
            handles.push(s.spawn(move || run.failing(run.client(id, plan))));
        }
        for l in 0..leavers {
            let run = &run;
            // Leavers take ids from 1000 up, a fresh prefix for each time they leave.
            handles.push(s.spawn(move || run.failing(run.leaver(1000 + 100 * l, LEAVES))));
        }
        handles
            .into_iter()
            .map(|h| h.join().expect("client thread"))
            .collect()
    });
    let mut total = Stats::default();
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(s) => total += s,
            Err(e) => errors.push(e),
        }
    }
    if let Some(first) = errors.first() {
        panic!("{first}\n({} client(s) failed)", errors.len());
    }
    let mut admin = Conn::new(port);
    let info = String::from_utf8_lossy(&admin.call(&["INFO", "stats"])).into_owned();
    let paths: Vec<&str> = info
        .split("\r\n")
        .filter(|l| l.starts_with("rustis_commands_"))
        .collect();
    println!(
        "seed {seed:#x}, {workers} workers, {clients} clients, {leavers} leavers: {} commands, {} bytes sent, {} bytes received, {:?}, {paths:?}",
        total.commands,
        total.bytes_sent,
        total.bytes_received,
        started.elapsed()
    );
}

const CLIENTS: usize = 16;
/// How many times each leaving client connects, sends part of a pipeline and hangs up.
const LEAVES: usize = 8;

fn mixed(workers: usize) {
    let server = start_rustis(workers);
    run(
        server.port,
        workers,
        CLIENTS,
        Plan {
            rounds: 4,
            chunked: false,
            serial: 30,
        },
        None,
        0,
    );
}

fn chunked(workers: usize) {
    let server = start_rustis(workers);
    run(
        server.port,
        workers,
        CLIENTS,
        Plan {
            rounds: 2,
            chunked: false,
            serial: 30,
        },
        Some(3),
        0,
    );
}

/// Two clients, mostly one request at a time: the owners park between requests, so most
/// requests on foreign keys borrow the owner's shard, between pipelines that are forwarded.
fn one_at_a_time(workers: usize) {
    let server = start_rustis(workers);
    run(
        server.port,
        workers,
        2,
        Plan {
            rounds: 2,
            chunked: false,
            serial: 400,
        },
        None,
        0,
    );
}

fn leaving(workers: usize) {
    let server = start_rustis(workers);
    let mut admin = Conn::new(server.port);
    let before = connected_clients(&mut admin);
    run(
        server.port,
        workers,
        CLIENTS / 2,
        Plan {
            rounds: 2,
            chunked: false,
            serial: 30,
        },
        Some(4),
        2,
    );
    // Every connection is gone: the server must come back to the admin connection alone.
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = connected_clients(&mut admin);
        if now == before {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "seed {:#x}, {workers} workers: connected_clients {now}, was {before} before the clients came",
            seed()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(admin.call(&["PING"]), b"+PONG\r\n");
}

#[test]
fn mixed_pipelines_keep_their_order_on_2_workers() {
    mixed(2);
}

#[test]
fn mixed_pipelines_keep_their_order_on_3_workers() {
    mixed(3);
}

#[test]
fn pipelines_written_in_small_chunks_keep_their_order_on_2_workers() {
    chunked(2);
}

#[test]
fn pipelines_written_in_small_chunks_keep_their_order_on_3_workers() {
    chunked(3);
}

#[test]
fn requests_sent_one_at_a_time_keep_their_order_on_2_workers() {
    one_at_a_time(2);
}

#[test]
fn requests_sent_one_at_a_time_keep_their_order_on_3_workers() {
    one_at_a_time(3);
}

#[test]
fn clients_leaving_mid_pipeline_leave_the_others_unaffected_on_2_workers() {
    leaving(2);
}

#[test]
fn clients_leaving_mid_pipeline_leave_the_others_unaffected_on_3_workers() {
    leaving(3);
}

/// The model is Redis's behaviour: the same clients (keys laid out for 3 workers), chunked ones
/// included, get exactly the replies it predicts from a real redis-server.
#[test]
fn the_model_agrees_with_redis_server() {
    let redis = start_redis();
    run(
        redis.port,
        3,
        4,
        Plan {
            rounds: 1,
            chunked: false,
            serial: 30,
        },
        Some(2),
        0,
    );
}

/// A minimal reproduction of a Rustis bug this file found, fixed since: the connection's later
/// commands now wait for a SCAN's last page.
///
/// SCAN runs as a chain of pages, one shard after another (cursor 0 starts on worker 0), and each
/// next page is sent only once the previous page's reply is back; meanwhile the connection's later
/// commands are not held back. A later command on a key of a shard the chain has not reached yet
/// therefore runs before the SCAN gets there: at once when that shard is the connection's own, or
/// in a batch that leaves before the chain's next hop. With 3 workers and `k` owned by worker 2 it
/// happens wherever the connection is: `SCAN 0 MATCH k COUNT 1000` then `SET k v` in one pipeline
/// answers `[0, [k]]` (the SCAN sees a key written after it), and `SCAN 0 MATCH k COUNT 1000` then
/// `DEL k` answers `[0, []]` (the SCAN misses a key that existed until after it); redis-server
/// answers `[0, []]` and `[0, [k]]`. With 2 workers, on connections of worker 1 and keys of worker
/// 1. The replies stay in order; the effects of the commands do not.
#[test]
fn scan_sees_only_the_commands_before_it() {
    fn check(port: u16, server: &str) {
        // Whichever worker the kernel gives each connection.
        for i in 0..8 {
            let key = (0..)
                .map(|j| format!("later{i}.{j}"))
                .find(|k| owner(k, 3) == 2)
                .unwrap();
            let k = key.as_bytes();
            let scan = common::encode(&[b"SCAN", b"0", b"MATCH", k, b"COUNT", b"1000"]);
            let mut c = Conn::new(port);
            let none = b"*2\r\n$1\r\n0\r\n*0\r\n".to_vec();
            let mut one = format!("*2\r\n$1\r\n0\r\n*1\r\n${}\r\n", k.len()).into_bytes();
            one.extend_from_slice(k);
            one.extend_from_slice(b"\r\n");

            c.send_raw(&[scan.clone(), common::encode(&[b"SET", k, b"v"])].concat());
            let (seen, set) = (c.read_reply(), c.read_reply());
            assert_eq!(set, b"+OK\r\n");
            assert!(
                seen == none,
                "{server}, connection {i}: `SCAN 0 MATCH {key} COUNT 1000` then `SET {key} v` \
                 in one pipeline: the SCAN saw the later SET: {:?}",
                String::from_utf8_lossy(&seen)
            );

            c.send_raw(&[scan, common::encode(&[b"DEL", k])].concat());
            let (seen, del) = (c.read_reply(), c.read_reply());
            assert_eq!(del, b":1\r\n");
            assert!(
                seen == one,
                "{server}, connection {i}: `SCAN 0 MATCH {key} COUNT 1000` then `DEL {key}` \
                 in one pipeline: the SCAN missed a key deleted after it: {:?}",
                String::from_utf8_lossy(&seen)
            );
        }
    }
    let redis = start_redis();
    check(redis.port, "redis-server");
    let rustis = start_rustis(3);
    check(rustis.port, "rustis (3 workers)");
}

/// A minimal reproduction of a Rustis bug this file found (commit 2178214, "Borrow a parked
/// owner's shard"), fixed since (d0df570): a worker no longer borrows an owner's shard while it
/// has anything queued for that owner.
///
/// A coordinated command (keys on several workers) answers its client as soon as its handler has
/// run on the fetched copies; its write-back to the keys' owners waits in this worker's outgoing
/// batch until the end of the iteration. The connection's next command, which then has no reply
/// outstanding, may borrow the parked owner's shard (`try_borrowed` checks the connection's slots
/// and the owner's parked flag, which the unsent batch has not cleared) and so runs before the
/// write-back, which then overwrites what it did. With 2 workers, `a` = `{a}x` (worker 1) holding
/// [x] and `b` = `{b}x` (worker 0), one pipeline `LMOVE a b LEFT RIGHT`, `RPUSH a v1 v2`,
/// `LRANGE a 0 -1` answers `x`, `:3`, `[x, v1, v2]`, and afterwards `a` is empty: the RPUSH ran on
/// the list before the LMOVE took x out of it, and was then lost. redis-server answers `x`, `:2`,
/// `[v1, v2]`, and `a` stays [v1, v2]. It happens on connections of worker 0 when worker 1 is
/// parked: a third of 30 connections or so, here.
#[test]
fn a_command_after_a_coordinated_one_sees_its_writes() {
    fn check(port: u16, server: &str) {
        let (a, b) = ("{a}x", "{b}x");
        for i in 0..40 {
            let mut c = Conn::new(port);
            assert_eq!(c.call(&["DEL", a, b]).len(), 4);
            assert_eq!(c.call(&["RPUSH", a, "x"]), b":1\r\n");
            c.send_raw(
                &[
                    common::encode(&[b"LMOVE", a.as_bytes(), b.as_bytes(), b"LEFT", b"RIGHT"]),
                    common::encode(&[b"RPUSH", a.as_bytes(), b"v1", b"v2"]),
                    common::encode(&[b"LRANGE", a.as_bytes(), b"0", b"-1"]),
                ]
                .concat(),
            );
            let got = [
                c.read_reply(),
                c.read_reply(),
                c.read_reply(),
                c.call(&["LRANGE", a, "0", "-1"]),
                c.call(&["LRANGE", b, "0", "-1"]),
            ];
            let want: [&[u8]; 5] = [
                b"$1\r\nx\r\n",
                b":2\r\n",
                b"*2\r\n$2\r\nv1\r\n$2\r\nv2\r\n",
                b"*2\r\n$2\r\nv1\r\n$2\r\nv2\r\n",
                b"*1\r\n$1\r\nx\r\n",
            ];
            let show = |r: &[Vec<u8>]| {
                r.iter()
                    .map(|r| String::from_utf8_lossy(r).into_owned())
                    .collect::<Vec<_>>()
            };
            assert!(
                got.iter().zip(want).all(|(g, w)| g == w),
                "{server}, connection {i}: `LMOVE {a} {b} LEFT RIGHT`, `RPUSH {a} v1 v2`, \
                 `LRANGE {a} 0 -1` in one pipeline, then `LRANGE {a} 0 -1`, `LRANGE {b} 0 -1`:\n  \
                 got  {:?}\n  want {:?}",
                show(&got),
                show(&want.map(<[u8]>::to_vec))
            );
        }
    }
    // The same with the lone command right behind the coordinated one (the lone one is the
    // command that may borrow): `LMOVE a b`, then `RPUSH a v1` as the last request sent.
    fn check_lone(port: u16, server: &str) {
        let (a, b) = ("{a}x", "{b}x");
        for i in 0..40 {
            let mut c = Conn::new(port);
            assert_eq!(c.call(&["DEL", a, b]).len(), 4);
            assert_eq!(c.call(&["RPUSH", a, "x"]), b":1\r\n");
            c.send_raw(
                &[
                    common::encode(&[b"LMOVE", a.as_bytes(), b.as_bytes(), b"LEFT", b"RIGHT"]),
                    common::encode(&[b"RPUSH", a.as_bytes(), b"v1"]),
                ]
                .concat(),
            );
            let got = [
                c.read_reply(),
                c.read_reply(),
                c.call(&["LRANGE", a, "0", "-1"]),
            ];
            let want: [&[u8]; 3] = [b"$1\r\nx\r\n", b":1\r\n", b"*1\r\n$2\r\nv1\r\n"];
            assert!(
                got.iter().zip(want).all(|(g, w)| g == w),
                "{server}, connection {i}: `LMOVE {a} {b} LEFT RIGHT` then `RPUSH {a} v1`: got {:?}",
                got.iter().map(|r| String::from_utf8_lossy(r).into_owned()).collect::<Vec<_>>()
            );
        }
    }
    assert_eq!((owner("{a}x", 2), owner("{b}x", 2)), (1, 0));
    let redis = start_redis();
    check(redis.port, "redis-server");
    check_lone(redis.port, "redis-server");
    let rustis = start_rustis(2);
    check(rustis.port, "rustis (2 workers)");
    check_lone(rustis.port, "rustis (2 workers)");
}
