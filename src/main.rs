//! The `rustis` binary: command line -> configuration -> server.

use clap::Parser;

#[global_allocator]
static GLOBAL: rustis::alloc::Counting<mimalloc::MiMalloc> = rustis::alloc::Counting(mimalloc::MiMalloc);

fn main() {
    rustis::alloc::activate();
    let cli = rustis::config::Cli::parse();
    rustis::server::raise_fd_limit(cli.maxclients);
    rustis::server::install_signal_handlers();
    let server = match rustis::server::start(&cli) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("rustis: cannot start on {}:{}: {e}", cli.bind, cli.port);
            std::process::exit(1);
        }
    };
    rustis::alloc::retire_thread();
    if cli.loglevel != "nothing" {
        println!(
            "Rustis {} (Redis {} compatible) pid {} listening on {} with {} workers",
            rustis::server::VERSION,
            rustis::server::REDIS_VERSION,
            std::process::id(),
            server.addr,
            server.shared.workers
        );
    }
    server.join();
    if cli.loglevel != "nothing" && cli.loglevel != "warning" {
        println!("Rustis is now ready to exit, bye bye...");
    }
    std::process::exit(0);
}
