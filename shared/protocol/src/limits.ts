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
