//! Differential tests of connection and server commands against a real redis-server.

mod common;
use common::Diff;

#[test]
fn connection_commands() {
    let mut d = Diff::new();
    d.script(
        "
        PING
        PING hello
        PING a b
        ECHO hi
        ECHO
        SELECT 1
        SELECT 16
        SELECT -1
        SELECT x
        SET k v
        SELECT 0
        GET k
        CLIENT SETNAME myname
        CLIENT GETNAME
        CLIENT SETNAME with space
        CLIENT SETNAME
        CLIENT FOO
        CLIENT GETNAME extra
        HELLO 4
        HELLO x
        HELLO 3 FOO
        HELLO 2 AUTH wronguser pass
        NOSUCHCOMMAND a b
        nosuchcommand
        GET
        SET k
        CONFIG GET maxmemory
        CONFIG GET maxmemory-policy
        CONFIG GET hash-max-listpack-entries
        CONFIG SET maxmemory-policy allkeys-lru
        CONFIG GET maxmemory-policy
        CONFIG SET maxmemory-policy nonsense
        CONFIG SET nosuchparam 1
        CONFIG SET hash-max-listpack-entries 64
        CONFIG GET hash-max-listpack-entries
        CONFIG GET hash-max-ziplist-entries
        CONFIG SET maxmemory 10mb
        CONFIG GET maxmemory
        CONFIG SET maxmemory 0
        CONFIG RESETSTAT
        CONFIG FOO
        CONFIG GET
        COMMAND GETKEYS GET k
        COMMAND GETKEYS MSET a 1 b 2
        COMMAND GETKEYS PING
        COMMAND GETKEYS NOSUCH a
        COMMAND GETKEYS GET
        FUNCTION FLUSH
        DBSIZE
        ",
    );
    d.both(&["CLIENT", "SETNAME", "x"]);
    d.check(&["RESET"]);
    d.check(&["CLIENT", "GETNAME"]);
}

#[test]
fn info_and_command_shapes() {
    let d = Diff::new();
    let mut b = common::Conn::new(d.rustis.port);
    let info = String::from_utf8(b.call(&["INFO"])).unwrap();
    for field in [
        "# Server",
        "redis_version:",
        "tcp_port:",
        "# Clients",
        "connected_clients:",
        "# Memory",
        "used_memory:",
        "# Stats",
        "total_commands_processed:",
        "keyspace_hits:",
        "# Keyspace",
    ] {
        assert!(info.contains(field), "INFO lacks {field}");
    }
    b.call(&["SET", "a", "1"]);
    let ks = String::from_utf8(b.call(&["INFO", "keyspace"])).unwrap();
    assert!(ks.contains("db0:keys=1,expires=0"), "{ks}");
    let count = String::from_utf8(b.call(&["COMMAND", "COUNT"])).unwrap();
    assert!(count.starts_with(':') && count.trim()[1..].parse::<i64>().unwrap() > 100);
    let get = String::from_utf8(b.call(&["COMMAND", "INFO", "get"])).unwrap();
    assert!(get.starts_with("*1\r\n*10\r\n$3\r\nget\r\n:2\r\n"), "{get}");
    let docs = String::from_utf8(b.call(&["COMMAND", "DOCS", "set"])).unwrap();
    assert!(docs.contains("summary") && docs.contains("string"));
    let time = String::from_utf8(b.call(&["TIME"])).unwrap();
    assert!(time.starts_with("*2\r\n"));
    let list = String::from_utf8(b.call(&["CLIENT", "LIST"])).unwrap();
    assert!(list.contains("id=") && list.contains("addr=127.0.0.1"));
    let id = String::from_utf8(b.call(&["CLIENT", "ID"])).unwrap();
    assert!(id.starts_with(':'));
    let hello = String::from_utf8(b.call(&["HELLO", "3"])).unwrap();
    assert!(
        hello.starts_with("%7\r\n") && hello.contains("proto\r\n:3"),
        "{hello}"
    );
    let info3 = String::from_utf8(b.call(&["INFO", "server"])).unwrap();
    assert!(info3.starts_with('='), "RESP3 INFO is a verbatim string");
    assert_eq!(
        b.call(&["CLIENT", "SETINFO", "LIB-NAME", "mylib"]),
        b"+OK\r\n"
    );
    let me = String::from_utf8(b.call(&["CLIENT", "INFO"])).unwrap();
    assert!(me.contains("lib-name=mylib"), "{me}");
}

#[test]
fn quit_closes_and_shutdown_stops() {
    let d = Diff::new();
    let mut b = common::Conn::new(d.rustis.port);
    b.send(&[b"QUIT"]);
    assert_eq!(b.read_to_close(), b"+OK\r\n");
    let mut c = common::Conn::new(d.rustis.port);
    assert_eq!(c.call(&["PING"]), b"+PONG\r\n");
}
