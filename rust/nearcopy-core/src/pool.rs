//! Worker pools, one per thread count, never rayon's global pool.
//!
//! Why not the global pool: after `fork()` (multiprocessing, gunicorn workers) the child inherits the
//! pool's bookkeeping but not its threads, and the first parallel call would wait forever. Pools here
//! are keyed by process id, so a forked child quietly builds its own.
//!
//! The registry of pools is itself per process: a `fork()` while another thread of the parent held
//! the registry's lock (looking up or starting a pool) would leave the child a lock that no thread
//! of its own will ever release. So the lock lives in a registry stamped with its process id, behind
//! an atomic pointer; a process that finds another process's registry installs a fresh one (and
//! leaks the inherited one, locked or not) instead of touching its lock. No `pthread_atfork` needed.

use crate::error::{Error, Result};
use rayon::{ThreadPool, ThreadPoolBuilder};
use std::sync::atomic::{AtomicPtr, Ordering};
use std::sync::{Arc, Mutex};

/// The most threads one call may ask for.
pub const MAX_THREADS: usize = 1024;

struct CachedPool {
    threads: usize,
    pool: Arc<ThreadPool>,
}

struct Registry {
    pid: u32,
    pools: Mutex<Vec<CachedPool>>,
}

static REGISTRY: AtomicPtr<Registry> = AtomicPtr::new(std::ptr::null_mut());

/// This process's registry, installed on first use (and first use after a fork).
fn registry(pid: u32) -> &'static Registry {
    let current = REGISTRY.load(Ordering::Acquire);
    // SAFETY: a non-null pointer in REGISTRY came from `Box::leak` below and is never freed.
    if let Some(found) = unsafe { current.as_ref() } {
        if found.pid == pid {
            return found;
        }
    }
    let fresh: *mut Registry = Box::leak(Box::new(Registry { pid, pools: Mutex::new(Vec::new()) }));
    match REGISTRY.compare_exchange(current, fresh, Ordering::AcqRel, Ordering::Acquire) {
        Ok(_) => {
            // SAFETY: just leaked, never freed.
            unsafe { &*fresh }
        }
        Err(_) => {
            // Another thread of this process installed one first: use it, free ours (never shared).
            // SAFETY: `fresh` was leaked above and published nowhere.
            drop(unsafe { Box::from_raw(fresh) });
            registry(pid)
        }
    }
}

/// The number of threads a call uses when none is given: the cores this process may run on.
pub fn default_threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// Checks a user-given thread count.
pub fn validate_threads(threads: usize) -> Result<usize> {
    if threads == 0 || threads > MAX_THREADS {
        return Err(Error::InvalidArgument(format!(
            "num_threads must be between 1 and {MAX_THREADS}, got {threads}"
        )));
    }
    Ok(threads)
}

/// A pool of `threads` workers belonging to this process.
pub fn pool(threads: usize) -> Result<Arc<ThreadPool>> {
    let pid = std::process::id();
    // A panic while the lock was held cannot leave the list inconsistent, so poisoning is ignored.
    // The pools of a parent process stay in the parent's registry, leaked on purpose: their threads
    // do not exist here, and dropping them would try to signal those threads.
    let mut pools = registry(pid).pools.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(found) = pools.iter().find(|p| p.threads == threads) {
        return Ok(Arc::clone(&found.pool));
    }
    let pool = ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("nearcopy-{i}"))
        .build()
        .map_err(|e| Error::Resource(format!("could not start {threads} worker threads: {e}")))?;
    let pool = Arc::new(pool);
    pools.push(CachedPool { threads, pool: Arc::clone(&pool) });
    Ok(pool)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pools_are_cached_per_thread_count() {
        let a = pool(2).unwrap();
        let b = pool(2).unwrap();
        assert!(Arc::ptr_eq(&a, &b));
        assert_eq!(a.current_num_threads(), 2);
        assert_eq!(pool(3).unwrap().current_num_threads(), 3);
    }

    #[test]
    fn a_child_forked_while_the_registry_was_locked_still_gets_a_pool() {
        let _ = pool(2).unwrap();
        // Hold the registry's lock across the fork, as another thread of a process may at any time:
        // the child inherits it locked, with no thread of its own to release it.
        let guard = registry(std::process::id()).pools.lock().unwrap();
        // SAFETY: the child only starts a pool, runs one job on it and leaves with `_exit`.
        let child = unsafe { libc::fork() };
        assert!(child >= 0, "fork failed");
        if child == 0 {
            let ok = pool(2).map(|p| p.install(|| 40 + 2) == 42).unwrap_or(false);
            // SAFETY: ends the child without running the parent's atexit handlers or test harness.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        drop(guard);
        let mut status = 0;
        for _ in 0..200 {
            // SAFETY: waits for our own child without blocking.
            if unsafe { libc::waitpid(child, &mut status, libc::WNOHANG) } == child {
                assert!(libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0, "child failed");
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        // SAFETY: our own child, stuck: end it before failing.
        unsafe { libc::kill(child, libc::SIGKILL) };
        panic!("the forked child deadlocked on the inherited registry lock");
    }

    #[test]
    fn thread_counts_are_checked() {
        assert!(validate_threads(0).is_err());
        assert!(validate_threads(MAX_THREADS + 1).is_err());
        assert_eq!(validate_threads(4), Ok(4));
    }
}
