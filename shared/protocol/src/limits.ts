/**
 * Size limits on what a task returns. Results travel as JSON: bee → hive (IPC), hive → queen (one
 * WebSocket frame), queen → client (one response). The bee checks them before sending anything,
 * because a large result blocks the hive's event loop (validation, serialisation) long enough to
 * miss heartbeats, and the queen would then count the whole hive as lost.
 */

/** The largest result, as JSON, a task may return. */
export const MAX_RESULT_BYTES = 64 * 1024 * 1024;

/** The most rows a SQL result may hold (each becomes a JS object on the hive and the queen). */
export const MAX_RESULT_ROWS = 1_000_000;

/**
 * A map step's partial small enough to travel in its task result instead of a Parquet file (issue 11:
 * for a short query the file, its checksum and the merge's read of it cost more than the work). Rows
 * and the bytes of their text; a bigger partial is written to its file as before. The merge task
 * carries the inline rows, so these also bound what a merge spec holds per map step.
 */
export const INLINE_PARTIAL_ROWS = 1000;
export const INLINE_PARTIAL_BYTES = 64 * 1024;
