//! The `rustis` binary: command line -> configuration -> server.

#[global_allocator]
static GLOBAL: rustis::alloc::Counting<mimalloc::MiMalloc> =
    rustis::alloc::Counting(mimalloc::MiMalloc);

/// mimalloc's `mi_option_purge_delay` (v3 option index): milliseconds before freed memory is returned
/// to the OS.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Keeps freed pages for a second before returning them to the OS (mimalloc's default is 10 ms), as
/// jemalloc does for Redis (10 s): a FLUSHALL followed by a reload must not pay a page fault and a
/// page clear for every page again.
fn tune_allocator() {
    // SAFETY: mi_option_get/set only read and write mimalloc's option table. The index is checked by
    // its documented default value (10) before it is changed.
    unsafe {
        if libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) == 10 {
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 1000);
        }
    }
}

/// Returns the calling thread's freed pages to the OS (mimalloc only purges while allocating).
fn collect_freed() {
    // SAFETY: mi_collect may be called from any thread at any time.
    unsafe { libmimalloc_sys::mi_collect(false) }
}

fn main() {
    rustis::os::disable_thp();
    tune_allocator();
    rustis::alloc::activate();
    rustis::alloc::set_collector(collect_freed);
    let cli = match rustis::config::Cli::from_args(std::env::args_os()) {
        Ok(cli) => cli,
        Err(exit) => {
            use std::io::Write;
            for line in &exit.log {
                rustis::log_at!(Warning, "{line}");
            }
            print!("{}", exit.stdout);
            let _ = std::io::stdout().flush();
            let _ = std::io::stderr().write_all(&exit.stderr);
            std::process::exit(exit.status);
        }
    };
    rustis::os::raise_fd_limit(cli.maxclients as u64);
    rustis::server::install_signal_handlers();
    let server = match rustis::server::start(&cli) {
        Ok(s) => s,
        Err(e) if e.kind() == std::io::ErrorKind::InvalidInput => {
            eprintln!(
                "\n*** FATAL CONFIG ERROR (Rustis {}) ***",
                rustis::shared::VERSION
            );
            eprintln!(">>> {e}");
            std::process::exit(1);
        }
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => {
            rustis::log_at!(Warning, "{e}");
            std::process::exit(1);
        }
        Err(e) => {
            // Redis's two lines (its text for a taken port is "bind: Address already in use").
            let why = match e.kind() {
                std::io::ErrorKind::AddrInUse => "bind: Address already in use".to_string(),
                std::io::ErrorKind::AddrNotAvailable => {
                    "bind: Cannot assign requested address".to_string()
                }
                _ => e.to_string(),
            };
            eprintln!(
                "# Warning: Could not create server TCP listening socket {}:{}: {why}",
                cli.bind, cli.port
            );
            eprintln!("# Failed listening on port {} (TCP), aborting.", cli.port);
            std::process::exit(1);
        }
    };
    rustis::alloc::retire_thread();
    let workers = server.shared.workers;
    rustis::log_at!(
        Notice,
        "Rustis {} (Redis {} compatible) pid {} listening on {} with {} worker{}",
        rustis::shared::VERSION,
        rustis::shared::REDIS_VERSION,
        std::process::id(),
        server.addr,
        workers,
        if workers == 1 { "" } else { "s" }
    );
    server.join();
    rustis::log_at!(Notice, "Rustis is now ready to exit, bye bye...");
    std::process::exit(0);
}
