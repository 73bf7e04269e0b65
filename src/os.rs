//! The few process-wide operating-system settings the server adjusts.

/// Descriptors kept aside for listeners, wakers and files beyond one per client (Redis's
/// CONFIG_MIN_RESERVED_FDS).
pub const RESERVED_FDS: u64 = 32;

/// Raises RLIMIT_NOFILE so that `maxclients` clients fit, as far as the hard limit allows; returns
/// how many clients the resulting limit holds.
pub fn raise_fd_limit(maxclients: u64) -> u64 {
    let want = maxclients.saturating_add(RESERVED_FDS) as libc::rlim_t;
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return maxclients;
        }
        if lim.rlim_cur < want {
            let mut new = libc::rlimit {
                rlim_cur: want,
                rlim_max: lim.rlim_max.max(want),
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &new) != 0 {
                new.rlim_cur = lim.rlim_max.min(want);
                new.rlim_max = lim.rlim_max;
                if libc::setrlimit(libc::RLIMIT_NOFILE, &new) != 0 {
                    new.rlim_cur = lim.rlim_cur;
                }
            }
            lim.rlim_cur = new.rlim_cur;
        }
        lim.rlim_cur.saturating_sub(RESERVED_FDS)
    }
}
