//! Differential tests of the geo family (src/command/geo.rs, src/store/geohash.rs) against a real
//! redis-server 7.0.15: scores, coordinates, distances, geohash strings, search results and their
//! order (ties included), error texts in Redis's order, RESP3, keyspace events, and the STORE forms
//! with source and destination on different workers (with the harness's two workers, keys x, y, a,
//! d, e, t are on worker 1 and z, b, c, w, s on worker 0).

mod common;
use common::notify::NotifyDiff;
use common::{Diff, Lcg};

/// Places all over the world: poles (as far as the projection goes), both sides of the
/// antimeridian, the equator and the prime meridian, and ordinary cities.
const PLACES: &str = "
    GEOADD w 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
    GEOADD w 2.3522 48.8566 Paris -0.1276 51.5072 London -74.0060 40.7128 NewYork
    GEOADD w 139.6917 35.6895 Tokyo 151.2093 -33.8688 Sydney -58.3816 -34.6037 BuenosAires
    GEOADD w 179.9999 0 AntiE -179.9999 0 AntiW 180 10 Edge180 -180 -10 EdgeM180
    GEOADD w 0 0 Origin 0.0001 0.0001 NearOrigin -0.0001 -0.0001 NearOrigin2
    GEOADD w 0 85.05112878 NorthMax 0 -85.05112878 SouthMax 45 85 North85 -135 -85 South85
    GEOADD w 179.5 84.9 NE 179.5 -84.9 SE -179.5 84.9 NW -179.5 -84.9 SW
    GEOADD w -0 -0 NegZero 90 0 E90 -90 0 W90 100.5 1.5 Equator
";

#[test]
fn geoadd_options_and_errors() {
    let mut d = Diff::new();
    d.script(
        "
        GEOADD z 13.361389 38.115556 Palermo
        GEOADD z 13.361389 38.115556 Palermo
        GEOADD z 13.361389 38.115557 Palermo
        GEOADD z CH 13.361389 38.115556 Palermo 15 37 Catania
        GEOADD z NX 1 1 Palermo 2 2 New
        GEOADD z NX CH 1 1 Palermo 2 2 New2
        GEOADD z XX 1 1 Palermo 2 2 NoSuch
        GEOADD z XX CH 1 1 Palermo 2 2 NoSuch
        GEOADD z CH XX 3 3 Palermo
        GEOADD z ch nx 3 3 Palermo
        GEOADD z xx nx 1 1 a
        GEOADD z nx xx 1 1 a
        GEOADD z gt 1 1 a
        GEOADD z lt 1 1 a
        GEOADD z incr 1 1 a
        GEOADD z 1 1 a 2
        GEOADD z 1 1 a 2 2
        GEOADD z ch ch ch
        GEOADD z nx nx nx
        GEOADD z 1 1
        GEOADD z x 1 a
        GEOADD z 1 x a
        GEOADD z 1 1 a x 1 b
        GEOADD z 200 100 a
        GEOADD z 180.0000001 0 a
        GEOADD z -180.0000001 0 a
        GEOADD z 0 85.05112879 a
        GEOADD z 0 -85.05112879 a
        GEOADD z 0 90 a
        GEOADD z 1e300 -1e300 a
        GEOADD z inf 0 a
        GEOADD z -inf 0 a
        GEOADD z 0 nan a
        GEOADD z 1e400 0 a
        GEOADD z 0x10 0x10 hex
        GEOADD z 1e-310 0 tiny
        GEOADD z 1 1 ok 500 1 bad
        ZRANGE z 0 -1 WITHSCORES
        GEOADD z 1 1 a 1 1 a
        GEOADD z CH 1 1 dup 2 2 dup
        ZSCORE z dup
        GEOADD nosuch XX 1 1 a
        EXISTS nosuch
        SET str x
        GEOADD str 1 1 a
        GEOADD str 1 x a
        GEOADD str xx nx 1 1 a
        GEOADD
        GEOADD z
        GEOADD z 1 1
        OBJECT ENCODING z
        ",
    );
    // A first member too long for a listpack makes a skiplist.
    d.check(&["config", "set", "zset-max-listpack-value", "8"]);
    d.script(
        "
        GEOADD long 1 1 averyveryverylongmember
        OBJECT ENCODING long
        GEOADD short 1 1 a
        OBJECT ENCODING short
        GEOADD short 1 1 averyveryverylongmember
        OBJECT ENCODING short
        ",
    );
}

#[test]
fn positions_hashes_and_distances_around_the_world() {
    let mut d = Diff::new();
    d.script(PLACES);
    d.check(&["ZRANGE", "w", "0", "-1", "WITHSCORES"]);
    let names: Vec<String> = common::bulks(d.check(&["ZRANGE", "w", "0", "-1"]).as_bytes());
    let mut all = vec!["GEOPOS".to_string(), "w".to_string()];
    all.extend(names.iter().cloned());
    all.push("missing".into());
    d.check_owned(&all);
    all[0] = "GEOHASH".into();
    d.check_owned(&all);
    for a in &names {
        for b in &names {
            d.check(&["GEODIST", "w", a, b]);
        }
        d.check(&["GEODIST", "w", a, "Palermo", "km"]);
        d.check(&["GEODIST", "w", a, "Tokyo", "MI"]);
        d.check(&["GEODIST", "w", a, "SW", "ft"]);
    }
    d.script(
        "
        GEODIST w Palermo Catania
        GEODIST w Palermo Catania m
        GEODIST w Palermo Catania Km
        GEODIST w Palermo Catania yards
        GEODIST w Palermo Catania km extra
        GEODIST w Palermo missing
        GEODIST w missing Palermo
        GEODIST nosuch a b
        GEODIST nosuch a b parsec
        GEODIST w Palermo Palermo
        GEOPOS w
        GEOPOS nosuch a b
        GEOHASH w
        GEOHASH nosuch a
        SET str x
        GEOPOS str a
        GEOHASH str a
        GEODIST str a b
        GEODIST str a b parsec
        GEODIST w a
        GEOPOS
        ",
    );
    // Scores no GEOADD would store decode as Redis decodes them.
    d.script(
        "
        ZADD odd -1 neg 0 zero 1.5 frac 4503599627370496 big 18014398509481984 bigger 1e300 huge inf inf -inf ninf
        GEOPOS odd neg zero frac big bigger huge inf ninf
        GEOHASH odd neg zero frac big bigger huge inf ninf
        GEODIST odd neg huge
        GEODIST odd zero frac km
        GEORADIUS odd 0 0 100 km WITHHASH WITHCOORD WITHDIST
        ",
    );
    d.resp3();
    d.check_owned(&all);
    all[0] = "GEOPOS".into();
    d.check_owned(&all);
    d.script(
        "
        GEODIST w Palermo Catania
        GEODIST w Palermo missing
        GEOPOS nosuch a
        GEOHASH nosuch a
        ",
    );
}

#[test]
fn search_options_and_errors() {
    let mut d = Diff::new();
    d.script(PLACES);
    d.script(
        "
        GEORADIUS w 15 37 200 km
        GEORADIUS w 15 37 200 km ASC
        GEORADIUS w 15 37 200 km DESC
        GEORADIUS w 15 37 200 km WITHDIST
        GEORADIUS w 15 37 200 km WITHCOORD
        GEORADIUS w 15 37 200 km WITHHASH
        GEORADIUS w 15 37 200 km WITHDIST WITHHASH WITHCOORD
        GEORADIUS w 15 37 200 km withcoord withdist withhash desc count 1
        GEORADIUS w 15 37 20000 km COUNT 3
        GEORADIUS w 15 37 20000 km COUNT 3 DESC
        GEORADIUS w 15 37 20000 km COUNT 3 ANY
        GEORADIUS w 15 37 20000 km COUNT 3 ANY ASC
        GEORADIUS w 15 37 20000 km COUNT 3 ANY DESC WITHDIST
        GEORADIUS w 15 37 20000 km COUNT 1000
        GEORADIUS w 15 37 20000 km ANY
        GEORADIUS w 15 37 20000 km COUNT 0
        GEORADIUS w 15 37 20000 km COUNT -5
        GEORADIUS w 15 37 20000 km COUNT x
        GEORADIUS w 15 37 20000 km COUNT
        GEORADIUS w 15 37 20000 km COUNT 99999999999999999999
        GEORADIUS w 15 37 inf km
        GEORADIUS w 15 37 1e308 mi COUNT 5
        GEORADIUS w 15 37 0 km
        GEORADIUS w 13.361389 38.115556 0 m WITHDIST
        GEORADIUS w 15 37 -1 km
        GEORADIUS w 15 37 -0 km
        GEORADIUS w 15 37 x km
        GEORADIUS w 15 37 200 parsec
        GEORADIUS w 15 37 200 KM
        GEORADIUS w 15 37 200 Mi WITHDIST
        GEORADIUS w 15 37 200000 Ft WITHDIST
        GEORADIUS w 200 37 200 km
        GEORADIUS w x 37 200 km
        GEORADIUS w 15 37 200 km bogus
        GEORADIUS w 15 37 200 km STORE
        GEORADIUS w 15 37 200 km WITHDIST STORE dst
        GEORADIUS w 15 37 200 km WITHCOORD STOREDIST dst
        GEORADIUS w 15 37 200 km FROMMEMBER Palermo
        GEORADIUS_RO w 15 37 200 km WITHDIST
        GEORADIUS_RO w 15 37 200 km STORE dst
        GEORADIUS_RO w 15 37 200 km STOREDIST dst
        GEORADIUSBYMEMBER w Palermo 200 km WITHDIST
        GEORADIUSBYMEMBER w Palermo 20000 km COUNT 4 DESC WITHCOORD
        GEORADIUSBYMEMBER w missing 200 km
        GEORADIUSBYMEMBER w missing x km
        GEORADIUSBYMEMBER w Palermo x km
        GEORADIUSBYMEMBER w Palermo 200 parsec
        GEORADIUSBYMEMBER_RO w NorthMax 1000 km WITHDIST
        GEORADIUSBYMEMBER_RO w NorthMax 1000 km STORE x
        GEORADIUSBYMEMBER nosuch m x parsec
        GEORADIUSBYMEMBER nosuch m 1 km bogus
        GEORADIUSBYMEMBER nosuch m 1 km STORE dst
        GEORADIUS nosuch 1 1 1 km
        GEORADIUS nosuch 1 1 1 km WITHDIST STORE x
        GEORADIUS nosuch 1 1 1 km ANY
        GEOSEARCH w FROMLONLAT 15 37 BYRADIUS 200 km
        GEOSEARCH w FROMLONLAT 15 37 BYRADIUS 200 km ASC WITHDIST WITHCOORD WITHHASH
        GEOSEARCH w FROMMEMBER Palermo BYBOX 400 400 km DESC WITHDIST
        GEOSEARCH w FROMMEMBER Palermo BYBOX 400 400 km COUNT 1
        GEOSEARCH w FROMMEMBER Palermo FROMMEMBER Catania BYRADIUS 1 km
        GEOSEARCH w FROMMEMBER Palermo FROMLONLAT 1 1 BYRADIUS 1 km
        GEOSEARCH w FROMLONLAT 1 1 FROMMEMBER Palermo BYRADIUS 1 km
        GEOSEARCH w FROMLONLAT 1 1 FROMLONLAT 15 37 BYRADIUS 200 km
        GEOSEARCH w FROMLONLAT 15 37 BYRADIUS 200 km BYBOX 1 1 km
        GEOSEARCH w FROMLONLAT 15 37 BYBOX 1 1 km BYRADIUS 200 km
        GEOSEARCH w FROMLONLAT 15 37 BYBOX 1 1 km BYBOX 400 400 km
        GEOSEARCH w FROMLONLAT 15 37 BYRADIUS 1 km BYRADIUS 200 km
        GEOSEARCH w BYRADIUS 200 km ASC
        GEOSEARCH w FROMLONLAT 15 37 ASC COUNT 2
        geosearch w BYRADIUS 200 km ASC
        GeoSearch w FROMLONLAT 15 37 ASC
        GEOSEARCH w FROMMEMBER missing BYRADIUS 200 km
        GEOSEARCH w FROMMEMBER Palermo BYRADIUS x km
        GEOSEARCH w FROMMEMBER Palermo BYRADIUS -1 km
        GEOSEARCH w FROMMEMBER Palermo BYBOX x 1 km
        GEOSEARCH w FROMMEMBER Palermo BYBOX 1 x km
        GEOSEARCH w FROMMEMBER Palermo BYBOX -1 x km
        GEOSEARCH w FROMMEMBER Palermo BYBOX -1 1 km
        GEOSEARCH w FROMMEMBER Palermo BYBOX 1 -1 parsec
        GEOSEARCH w FROMMEMBER Palermo BYBOX 1 1 parsec
        GEOSEARCH w FROMMEMBER Palermo BYBOX 1 1
        GEOSEARCH w FROMMEMBER Palermo BYRADIUS 1
        GEOSEARCH w FROMLONLAT 15 BYRADIUS 1 km
        GEOSEARCH w FROMLONLAT 15 100 BYRADIUS 1 km
        GEOSEARCH w FROMLONLAT x 1 BYRADIUS 1 km
        GEOSEARCH w FROMMEMBER Palermo BYRADIUS 200 km STORE dst
        GEOSEARCH w FROMMEMBER Palermo BYRADIUS 200 km STOREDIST
        GEOSEARCH w FROMMEMBER Palermo BYRADIUS 200 km ANY
        GEOSEARCH w FROMMEMBER Palermo BYRADIUS 200 km COUNT 1 ANY
        GEOSEARCH w FROMMEMBER Palermo BYRADIUS 200 km COUNT 0
        GEOSEARCH nosuch FROMMEMBER m BYRADIUS 200 km
        GEOSEARCH nosuch FROMMEMBER m BYRADIUS x km
        GEOSEARCH nosuch FROMMEMBER m
        GEOSEARCH nosuch FROMLONLAT 1 1 BYRADIUS 1 km ANY
        GEOSEARCH w FROMLONLAT 0 0 BYRADIUS 20 m WITHDIST
        GEOSEARCH w FROMLONLAT 0 0 BYBOX 50 50 m WITHDIST
        GEOSEARCH w FROMLONLAT 179.99 0 BYBOX 100 100 km WITHDIST
        GEOSEARCH w FROMLONLAT -179.99 0 BYRADIUS 50 km WITHDIST WITHCOORD
        GEOSEARCH w FROMLONLAT 180 0 BYRADIUS 50 km WITHDIST
        GEOSEARCH w FROMMEMBER NorthMax BYRADIUS 3000 km WITHDIST
        GEOSEARCH w FROMMEMBER SouthMax BYBOX 8000 8000 km WITHDIST
        GEOSEARCH w FROMMEMBER NE BYRADIUS 500 km WITHDIST
        GEOSEARCH w FROMMEMBER SW BYBOX 10000 300 km WITHDIST
        GEOSEARCH w FROMLONLAT 0 0 BYBOX 40000 40000 km
        GEOSEARCH w FROMLONLAT 0 0 BYBOX 0 0 km
        GEOSEARCH w FROMLONLAT 0 0 BYBOX inf inf km
        GEOSEARCH w FROMLONLAT 0 0 BYRADIUS 1e-300 m WITHDIST
        GEOSEARCH w FROMMEMBER Origin BYRADIUS 0 m WITHDIST
        SET str x
        GEOSEARCH str FROMLONLAT 1 1 BYRADIUS 1 km
        GEOSEARCH str FROMLONLAT 1 x BYRADIUS 1 km
        GEORADIUS str 1 1 1 km
        GEORADIUS str 1 x 1 km
        GEORADIUSBYMEMBER str m 1 km
        GEOSEARCHSTORE dst str FROMLONLAT 1 1 BYRADIUS 1 km
        GEOSEARCH w FROMLONLAT 1 1 BYRADIUS 1
        GEORADIUS w 1 1 1
        GEORADIUSBYMEMBER w m 1
        GEOSEARCHSTORE dst w FROMLONLAT 1 1 BYRADIUS
        ",
    );
    d.resp3();
    d.script(
        "
        GEORADIUS w 15 37 200 km WITHDIST WITHHASH WITHCOORD
        GEOSEARCH w FROMMEMBER Palermo BYBOX 400 400 km ASC WITHCOORD
        GEOSEARCH w FROMMEMBER Palermo BYBOX 400 400 km ASC
        GEORADIUS nosuch 1 1 1 km
        GEOSEARCH w FROMLONLAT 0 0 BYRADIUS 1 m
        ",
    );
}

#[test]
fn ties_keep_redis_order() {
    let mut d = Diff::new();
    // Many members at the same few positions: equal distances, so the order of ties is the sort's
    // (glibc's merge sort for a full sort, Redis's partial quicksort under COUNT).
    let mut cmd = vec!["GEOADD".to_string(), "t".to_string()];
    for i in 0..150 {
        let (lon, lat) = match i % 3 {
            0 => ("10", "10"),
            1 => ("10.01", "10"),
            _ => ("10", "10.01"),
        };
        cmd.push(lon.into());
        cmd.push(lat.into());
        cmd.push(format!("m{:03}", (i * 37) % 150));
    }
    d.check_owned(&cmd);
    for count in [
        "1", "2", "5", "6", "7", "8", "40", "41", "42", "49", "50", "51", "99", "149",
    ] {
        for order in ["ASC", "DESC"] {
            d.check(&[
                "GEOSEARCH",
                "t",
                "FROMLONLAT",
                "10",
                "10",
                "BYRADIUS",
                "10",
                "km",
                "COUNT",
                count,
                order,
            ]);
            d.check(&[
                "GEORADIUS",
                "t",
                "10.003",
                "10",
                "10",
                "km",
                "COUNT",
                count,
                order,
            ]);
            d.check(&[
                "GEOSEARCHSTORE",
                "x",
                "t",
                "FROMLONLAT",
                "10",
                "10",
                "BYRADIUS",
                "10",
                "km",
                "COUNT",
                count,
                order,
                "STOREDIST",
            ]);
            d.check(&["ZRANGE", "x", "0", "-1", "WITHSCORES"]);
            d.check(&["OBJECT", "ENCODING", "x"]);
        }
    }
    d.script(
        "
        GEOSEARCH t FROMLONLAT 10 10 BYRADIUS 10 km ASC
        GEOSEARCH t FROMLONLAT 10 10 BYRADIUS 10 km DESC
        GEOSEARCH t FROMLONLAT 10 10 BYRADIUS 10 km
        GEOSEARCH t FROMLONLAT 10 10 BYRADIUS 10 km COUNT 7 ANY
        GEOSEARCH t FROMLONLAT 10 10 BYRADIUS 10 km COUNT 7 ANY DESC
        ",
    );
}

#[test]
fn store_forms_across_workers() {
    let mut d = Diff::new();
    // z (the source) is on worker 0, x, y and a on worker 1.
    d.script(PLACES.replace("GEOADD w", "GEOADD z").as_str());
    d.script(
        "
        GEORADIUS z 15 37 200 km STORE x
        ZRANGE x 0 -1 WITHSCORES
        GEORADIUS z 15 37 200 km STOREDIST y
        ZRANGE y 0 -1 WITHSCORES
        GEORADIUS z 15 37 20000 km COUNT 3 DESC STOREDIST y
        ZRANGE y 0 -1 WITHSCORES
        GEORADIUS z 15 37 200 km STORE x STOREDIST y
        ZRANGE x 0 -1 WITHSCORES
        ZRANGE y 0 -1 WITHSCORES
        GEORADIUS z 15 37 200 mi STOREDIST y STORE a
        ZRANGE a 0 -1 WITHSCORES
        GEORADIUS z 15 37 200 km STORE x STORE a
        ZRANGE a 0 -1 WITHSCORES
        GEORADIUSBYMEMBER z Palermo 300 km STORE a
        ZRANGE a 0 -1 WITHSCORES
        GEORADIUSBYMEMBER z Palermo 300 km STOREDIST a COUNT 1
        ZRANGE a 0 -1 WITHSCORES
        GEOSEARCHSTORE x z FROMMEMBER Palermo BYBOX 1000 1000 km
        ZRANGE x 0 -1 WITHSCORES
        GEOSEARCHSTORE x z FROMMEMBER Palermo BYBOX 1000 1000 km STOREDIST ASC
        ZRANGE x 0 -1 WITHSCORES
        OBJECT ENCODING x
        GEOSEARCHSTORE x z FROMMEMBER Palermo BYBOX 1000 1000 km WITHDIST
        GEOSEARCHSTORE x z FROMMEMBER Palermo BYBOX 1000 1000 km STORE a
        GEOSEARCHSTORE x z FROMMEMBER Palermo BYBOX 1000 1000 km STOREDIST x
        GEOSEARCHSTORE z z FROMMEMBER Palermo BYRADIUS 10000 km COUNT 4
        ZRANGE z 0 -1 WITHSCORES
        GEOADD z 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
        SET a str
        EXPIRE a 1000
        GEORADIUS z 15 37 200 km STORE a
        TTL a
        TYPE a
        GEORADIUS z 0 0 1 m STORE a
        EXISTS a
        SET a str
        GEOSEARCHSTORE a z FROMLONLAT 0 0 BYRADIUS 1 m
        EXISTS a
        SET a str
        GEORADIUS nosuch 0 0 1 m STORE a
        EXISTS a
        SET a str
        GEORADIUSBYMEMBER nosuch m x parsec STORE a
        EXISTS a
        GEORADIUSBYMEMBER nosuch m 1 km STORE a
        EXISTS a
        SET a str
        GEOSEARCHSTORE a nosuch FROMMEMBER m BYRADIUS 1 km
        EXISTS a
        SET b str
        GEOSEARCHSTORE x b FROMLONLAT 0 0 BYRADIUS 1 m
        GEORADIUS b 0 0 1 m STORE x
        EXISTS x
        GEOSEARCHSTORE dst{t} z FROMLONLAT 15 37 BYRADIUS 200 km
        ",
    );
    d.script(
        "
        COMMAND GETKEYS GEORADIUS z 15 37 200 km STORE x
        COMMAND GETKEYS GEORADIUS z 15 37 200 km STOREDIST x
        COMMAND GETKEYS GEORADIUS z 15 37 200 km STOREDIST x STORE y
        COMMAND GETKEYS GEORADIUS z 15 37 200 km STORE x STOREDIST y
        COMMAND GETKEYS GEORADIUS z 15 37 200 km WITHDIST
        COMMAND GETKEYS GEORADIUSBYMEMBER z m 200 km STORE x
        COMMAND GETKEYS GEORADIUSBYMEMBER z m 200 km COUNT 1 STOREDIST x
        COMMAND GETKEYS GEORADIUS_RO z 15 37 200 km
        COMMAND GETKEYS GEOSEARCHSTORE x z FROMLONLAT 1 1 BYRADIUS 1 km
        COMMAND INFO GEORADIUS GEORADIUSBYMEMBER GEORADIUS_RO GEOSEARCHSTORE GEOADD
        ",
    );
}

#[test]
fn keyspace_events() {
    let mut n = NotifyDiff::new("KEA");
    n.events(
        "
        GEOADD z 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
        GEOADD z 13.361389 38.115556 Palermo
        GEOADD z NX 1 1 Palermo
        GEOADD z XX 1 1 nosuch
        GEOADD z XX 1 1 Palermo
        GEOADD z 1 x bad
        GEOADD nosuch XX 1 1 a
        GEORADIUS z 15 37 200 km STORE x
        GEORADIUS z 15 37 200 km STOREDIST x
        GEORADIUSBYMEMBER z Catania 1 km STORE y
        GEOSEARCHSTORE a z FROMLONLAT 15 37 BYRADIUS 2000 km
        GEOSEARCHSTORE a z FROMLONLAT 0 0 BYRADIUS 1 m
        GEOSEARCHSTORE a z FROMLONLAT 0 0 BYRADIUS 1 m
        GEORADIUS nosuch 0 0 1 m STORE x
        GEORADIUS nosuch 0 0 1 m STORE x
        GEOSEARCH z FROMLONLAT 0 0 BYRADIUS 1 m
        GEOPOS nosuch a
        GEODIST nosuch a b
        ",
    );
}

#[test]
fn new_key_events_multi_and_scripts() {
    let mut n = NotifyDiff::new("KEglszxn");
    n.events(
        "
        GEOADD z 13.361389 38.115556 Palermo 15.087269 37.502669 Catania
        GEOADD z 1 1 other
        GEORADIUS z 15 37 200 km STORE x
        GEORADIUS z 15 37 200 km STORE x
        GEOSEARCHSTORE a z FROMLONLAT 15 37 BYRADIUS 200 km
        SET y v PX 1
        ",
    );
    std::thread::sleep(std::time::Duration::from_millis(20));
    n.events(
        "
        GEORADIUS z 15 37 200 km STOREDIST y
        MULTI
        GEORADIUS z 15 37 200 km STORE t
        GEOSEARCHSTORE b t FROMLONLAT 15 37 BYRADIUS 200 km STOREDIST
        GEOADD t XX 15 37 Catania
        GEOPOS t Catania
        ZRANGE b 0 -1 WITHSCORES
        EXEC
        ",
    );
    n.d.check(&[
        "EVAL",
        "return redis.call('georadius', KEYS[1], 15, 37, 200, 'km', 'storedist', KEYS[2])",
        "2",
        "z",
        "e",
    ]);
    n.d.check(&[
        "EVAL",
        "return redis.call('georadius', KEYS[1], 15, 37, 200, 'km', 'withdist', 'withcoord', 'withhash')",
        "1",
        "z",
    ]);
    n.d.check(&[
        "EVAL",
        "return redis.call('geosearchstore', KEYS[2], KEYS[1], 'frommember', 'Palermo', 'bybox', 500, 500, 'km')",
        "2",
        "z",
        "c",
    ]);
    n.d.script(
        "
        ZRANGE e 0 -1 WITHSCORES
        ZRANGE c 0 -1 WITHSCORES
        ",
    );
    n.events_unordered();
}

/// Random points and random searches, fixed seeds: every reply byte for byte.
#[test]
fn fuzz_searches() {
    let mut d = Diff::new();
    let mut rng = Lcg(0x9e0_2026);
    let coord = |rng: &mut Lcg, span: f64| (rng.below(2_000_001) as f64 / 1_000_000.0 - 1.0) * span;
    let units = ["m", "km", "mi", "ft"];
    // How many searches found something, and how many answered an error: the fuzz must mostly
    // search, and find.
    let (mut found, mut errors, mut total) = (0, 0, 0);
    for round in 0..6 {
        let key = if round % 2 == 0 { "z" } else { "x" };
        d.check(&["DEL", key]);
        // A cluster somewhere (sometimes near a pole or the antimeridian) plus worldwide points.
        let (clon, clat) = match round {
            0 => (0.0, 0.0),
            1 => (179.5, 20.0),
            2 => (-30.0, 84.0),
            3 => (120.0, -83.0),
            _ => (coord(&mut rng, 170.0), coord(&mut rng, 80.0)),
        };
        let mut cmd = vec!["GEOADD".to_string(), key.to_string()];
        for i in 0..400 {
            let (lon, lat) = if i % 4 == 0 {
                (coord(&mut rng, 180.0), coord(&mut rng, 85.0))
            } else {
                (
                    (clon + coord(&mut rng, 3.0)).clamp(-180.0, 180.0),
                    (clat + coord(&mut rng, 3.0)).clamp(-85.0, 85.0),
                )
            };
            cmd.push(format!("{lon:.6}"));
            cmd.push(format!("{lat:.6}"));
            cmd.push(format!("p{i}"));
        }
        d.check_owned(&cmd);
        for _ in 0..60 {
            let (lon, lat) = (
                (clon + coord(&mut rng, 4.0)).clamp(-180.0, 180.0),
                (clat + coord(&mut rng, 4.0)).clamp(-85.0, 85.0),
            );
            let unit = units[rng.below(4) as usize];
            let scale = match unit {
                "m" => 1000.0,
                "ft" => 3280.0,
                _ => 1.0,
            };
            let size = |rng: &mut Lcg| {
                let pick = rng.below(10);
                let v = if pick == 0 {
                    rng.below(20000) as f64
                } else {
                    rng.below(500_000) as f64 / 1000.0
                };
                format!("{}", v * scale)
            };
            let mut args: Vec<String> = Vec::new();
            let form = rng.below(4);
            let from_member = rng.below(3) == 0;
            let member = format!("p{}", rng.below(400));
            match form {
                0 => {
                    args.extend(["GEOSEARCH".into(), key.into()]);
                    if from_member {
                        args.extend(["FROMMEMBER".into(), member.clone()]);
                    } else {
                        args.extend([
                            "FROMLONLAT".into(),
                            format!("{lon:.5}"),
                            format!("{lat:.5}"),
                        ]);
                    }
                    if rng.below(2) == 0 {
                        args.extend(["BYRADIUS".into(), size(&mut rng), unit.into()]);
                    } else {
                        args.extend(["BYBOX".into(), size(&mut rng), size(&mut rng), unit.into()]);
                    }
                }
                1 => {
                    args.extend([
                        "GEORADIUS".into(),
                        key.into(),
                        format!("{lon:.5}"),
                        format!("{lat:.5}"),
                        size(&mut rng),
                        unit.into(),
                    ]);
                }
                2 => {
                    args.extend([
                        "GEORADIUSBYMEMBER".into(),
                        key.into(),
                        member.clone(),
                        size(&mut rng),
                        unit.into(),
                    ]);
                }
                _ => {
                    args.extend(["GEOSEARCHSTORE".into(), "dst".into(), key.into()]);
                    args.extend([
                        "FROMLONLAT".into(),
                        format!("{lon:.5}"),
                        format!("{lat:.5}"),
                    ]);
                    args.extend(["BYBOX".into(), size(&mut rng), size(&mut rng), unit.into()]);
                }
            }
            if form != 3 {
                for opt in ["WITHDIST", "WITHCOORD", "WITHHASH"] {
                    if rng.below(2) == 0 {
                        args.push(opt.into());
                    }
                }
            }
            match rng.below(4) {
                0 => args.push("ASC".into()),
                1 => args.push("DESC".into()),
                _ => {}
            }
            if rng.below(3) == 0 {
                args.extend(["COUNT".into(), format!("{}", 1 + rng.below(30))]);
                if rng.below(4) == 0 {
                    args.push("ANY".into());
                }
            }
            if form == 3 && rng.below(2) == 0 {
                args.push("STOREDIST".into());
            }
            let reply = d.check_owned(&args);
            total += 1;
            if reply.starts_with('-') {
                errors += 1;
            } else if reply != "*0\r\n" && reply != ":0\r\n" {
                found += 1;
            }
            if form == 3 {
                d.check(&["ZRANGE", "dst", "0", "-1", "WITHSCORES"]);
            }
        }
    }
    assert!(
        found * 2 > total && errors * 10 < total,
        "{found} {errors} {total}"
    );
}
