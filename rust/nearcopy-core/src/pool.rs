//! Worker pools, one per thread count, never rayon's global pool.
//!
//! Why not the global pool: after `fork()` (multiprocessing, gunicorn workers) the child inherits the
//! pool's bookkeeping but not its threads, and the first parallel call would wait forever. Pools here
//! are keyed by process id, so a forked child quietly builds its own.

use crate::error::{Error, Result};
use rayon::{ThreadPool, ThreadPoolBuilder};
use std::sync::{Arc, Mutex};

/// The most threads one call may ask for.
pub const MAX_THREADS: usize = 1024;

struct CachedPool {
    pid: u32,
    threads: usize,
    pool: Arc<ThreadPool>,
}

static POOLS: Mutex<Vec<CachedPool>> = Mutex::new(Vec::new());

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
    let mut pools = POOLS.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if pools.iter().any(|p| p.pid != pid) {
        // Pools of the parent process: their threads do not exist here. Dropping them would try to
        // signal those threads, so they are leaked on purpose (a few hundred bytes, once per fork).
        for stale in pools.drain(..).filter(|p| p.pid != pid).collect::<Vec<_>>() {
            std::mem::forget(stale);
        }
    }
    if let Some(found) = pools.iter().find(|p| p.threads == threads) {
        return Ok(Arc::clone(&found.pool));
    }
    let pool = ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("nearcopy-{i}"))
        .build()
        .map_err(|e| Error::Resource(format!("could not start {threads} worker threads: {e}")))?;
    let pool = Arc::new(pool);
    pools.push(CachedPool { pid, threads, pool: Arc::clone(&pool) });
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
    fn thread_counts_are_checked() {
        assert!(validate_threads(0).is_err());
        assert!(validate_threads(MAX_THREADS + 1).is_err());
        assert_eq!(validate_threads(4), Ok(4));
    }
}
