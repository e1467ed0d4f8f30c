//! The `dictaflow` binary: parse the command line and hand over to the library.

#[cfg(all(unix, not(target_env = "musl")))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read once at its start (a `_RJEM_MALLOC_CONF` environment variable
/// still overrides them). Freed pages go back to the system after about a second instead
/// of ten: a job's decoded recording (tens of MB for a long dictation) is freed before
/// whisper allocates its buffers through the C allocator, and pages jemalloc still held
/// were counted again on top of them in the server's peak memory.
#[cfg(all(unix, not(target_env = "musl")))]
#[allow(unsafe_code, non_upper_case_globals)]
#[unsafe(export_name = "_rjem_malloc_conf")]
static malloc_conf: MallocConf = MallocConf(c"dirty_decay_ms:1000,muzzy_decay_ms:0".as_ptr());

/// A C string pointer that may live in a `static`.
#[cfg(all(unix, not(target_env = "musl")))]
#[repr(transparent)]
struct MallocConf(*const std::ffi::c_char);

// SAFETY: the pointer is to a string literal, immutable for the whole program.
#[cfg(all(unix, not(target_env = "musl")))]
#[allow(unsafe_code)]
unsafe impl Sync for MallocConf {}

fn main() -> std::process::ExitCode {
    dictaflow::cli::main()
}
