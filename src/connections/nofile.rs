//! The open-file limit. Every connection holds a file descriptor, and the usual soft
//! limit (1,024) let a few hundred idle connections starve the database pool and the
//! audio store ("Too many open files"); the server raises its soft limit to the hard one
//! at start, and sizes its connection cap to leave room for its own files.

/// Descriptors kept back from connections for the database pool, audio files, the
/// model and the logs.
pub const RESERVED: u64 = 128;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the soft limit in force
/// afterwards, or `None` where it cannot be read.
#[cfg(all(unix, not(target_env = "musl")))]
pub fn raise() -> Option<u64> {
    let mut limit = get()?;
    if limit.rlim_cur < limit.rlim_max {
        let wanted = libc::rlimit { rlim_cur: limit.rlim_max, rlim_max: limit.rlim_max };
        if set(&wanted) {
            limit = wanted;
        } else {
            tracing::warn!(soft = limit.rlim_cur, hard = limit.rlim_max, "cannot raise the open-file limit");
        }
    }
    Some(limit.rlim_cur)
}

#[cfg(not(all(unix, not(target_env = "musl"))))]
pub fn raise() -> Option<u64> {
    None
}

#[cfg(all(unix, not(target_env = "musl")))]
#[allow(unsafe_code)]
fn get() -> Option<libc::rlimit> {
    let mut limit = libc::rlimit { rlim_cur: 0, rlim_max: 0 };
    // SAFETY: getrlimit writes one `rlimit` into the valid, exclusively borrowed struct
    // and reads nothing else.
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) };
    (rc == 0).then_some(limit)
}

#[cfg(all(unix, not(target_env = "musl")))]
#[allow(unsafe_code)]
fn set(limit: &libc::rlimit) -> bool {
    // SAFETY: setrlimit only reads the valid `rlimit` it is given.
    unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, limit) == 0 }
}

/// The connection cap that fits `soft_limit` open files: `configured`, lowered to
/// leave [`RESERVED`] descriptors for the server's own files.
pub fn fitted_cap(configured: usize, soft_limit: Option<u64>) -> usize {
    match soft_limit {
        Some(soft) => {
            let room = usize::try_from(soft.saturating_sub(RESERVED)).unwrap_or(usize::MAX);
            configured.min(room).max(1)
        }
        None => configured,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_for_the_servers_own_files() {
        assert_eq!(fitted_cap(4096, Some(1024)), 896);
        assert_eq!(fitted_cap(4096, Some(1_048_576)), 4096);
        assert_eq!(fitted_cap(4096, None), 4096);
        assert_eq!(fitted_cap(4096, Some(100)), 1);
    }

    #[cfg(all(unix, not(target_env = "musl")))]
    #[test]
    fn the_soft_limit_is_raised_to_the_hard_one() {
        let soft = raise().expect("readable on unix");
        let limit = get().unwrap();
        assert_eq!(limit.rlim_cur, limit.rlim_max);
        assert_eq!(soft, limit.rlim_cur);
    }
}
