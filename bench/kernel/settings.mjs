// The settings every benchmark and lab run shares, spelled once. The benchmark's defaults set nothing: both
// contenders run as an operator would run them (docs/decisions.md). The sandbox settings below are measured beside
// them: the save once more with KEEP_FREED_MEMORY for both contenders (run.mjs, TUNABLES), and any run can take
// either with BENCH_GLIBC_TUNABLES / BENCH_NODE_FLAGS. Why each helps under UML: run.mjs and performance.md items
// 27 and 41.

/** The benchmark's defaults: glibc's allocator and Node's flags as they come. */
export const DEFAULT_TUNABLES = '';
export const DEFAULT_NODE_FLAGS = '';

/** glibc keeps freed memory: trim threshold 256 MiB, heap grown 16 MiB at a time, one arena. */
export const KEEP_FREED_MEMORY = 'glibc.malloc.trim_threshold=268435456:glibc.malloc.top_pad=16777216:glibc.malloc.arena_max=1';

/** Node's flags for the one-CPU guest: V8's collector on that CPU, its young generation kept at 1 MiB. */
export const SANDBOX_NODE_FLAGS = '--single-threaded-gc --max-semi-space-size=1';
