//! A port held by a running Rustis cannot be taken by a second process: the listeners of one
//! process share it (SO_REUSEPORT), another process must never join them.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::Conn;

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn second_process_on_a_taken_port_exits_with_redis_message() {
    let port = free_port();
    let bin = env!("CARGO_BIN_EXE_rustis");
    let dir = common::test_dir("port-taken");
    let mut first = Command::new(bin)
        .args(["--save", "", "--dir", &dir])
        .args(["--port", &port.to_string(), "--threads", "2"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start the first server");
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "first server did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut c = Conn::new(port);
    assert_eq!(c.call(&["SET", "k", "v"]), b"+OK\r\n");

    let second = Command::new(bin)
        .args(["--save", "", "--dir", &dir])
        .args(["--port", &port.to_string(), "--threads", "2"])
        .output()
        .expect("run the second server");
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert_eq!(second.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stderr.contains(&format!(
            "Could not create server TCP listening socket 127.0.0.1:{port}: bind: Address already in use"
        )),
        "stderr: {stderr}"
    );
    assert!(
        stderr.contains(&format!("Failed listening on port {port} (TCP), aborting.")),
        "stderr: {stderr}"
    );

    // Every new connection still reaches the one server that holds the key.
    for _ in 0..20 {
        let mut c = Conn::new(port);
        assert_eq!(c.call(&["GET", "k"]), b"$1\r\nv\r\n");
    }
    let _ = first.kill();
    let _ = first.wait();
}
