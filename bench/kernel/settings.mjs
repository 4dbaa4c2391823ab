// The sandbox settings every benchmark and lab run shares, spelled once. Why each: glibc's allocator in
// docs/decisions.md and run.mjs (TUNABLES); Node's flags in run.mjs (NODE_FLAGS) and performance.md item 41.

/** glibc keeps freed memory: trim threshold 256 MiB, heap grown 16 MiB at a time, one arena. */
export const KEEP_FREED_MEMORY = 'glibc.malloc.trim_threshold=268435456:glibc.malloc.top_pad=16777216:glibc.malloc.arena_max=1';

/** Node's flags for every timed run: V8's collector on the one CPU, its young generation kept at 1 MiB. */
export const NODE_FLAGS = '--single-threaded-gc --max-semi-space-size=1';
