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

/// Turns transparent huge pages off for this process, as Redis's `disable-thp yes` does: with THP,
/// the allocator's eagerly committed arena is backed by 2 MB pages, so an idle server holds ~9 MB of
/// resident memory it never used, and copy-on-write or a page fault touches 2 MB at a time.
pub fn disable_thp() {
    // SAFETY: PR_SET_THP_DISABLE only sets a flag of the calling process; a kernel without it
    // returns EINVAL, which leaves things as they were.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}
