/** How often the page refreshes what task events do not tell it (e2e timing contracts import these). */
/** The colony (bees' memory, states, heartbeats) changes without task events: polled this often. */
export const COLONY_EVERY_MS = 1000;
/** Task lists: refreshed on every task event (at most every EVENT_DEBOUNCE_MS) and this often regardless. */
export const TASKS_EVERY_MS = 2500;
export const EVENT_DEBOUNCE_MS = 250;
/** Frames and the colony history (the queen samples it every 5 s). */
export const SLOW_EVERY_MS = 5000;
