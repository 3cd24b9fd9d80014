import { z } from 'zod';
import { TemperatureView } from './http.js';

/*
 * The web dashboard's routes (specs/dashboard.md). `keeper dashboard` mints a one-time code with its
 * bearer token; the page exchanges the code for an HttpOnly session cookie, so the client token never
 * reaches the browser, a URL or a log.
 */

/** POST /v1/dashboard/codes (bearer token): a one-time login code for the page. */
export const DashboardCode = z.object({
  code: z.string(),
  /** Path + fragment to open on the queen's URL: the code rides in the fragment, which browsers never send. */
  path: z.string(),
  expiresAt: z.number(),
});
export type DashboardCode = z.infer<typeof DashboardCode>;

/** POST /v1/dashboard/session: exchange a one-time code for the session cookie. */
export const DashboardLogin = z.object({ code: z.string().min(1).max(128) });
export type DashboardLogin = z.infer<typeof DashboardLogin>;

/** What a dashboard session may do: always read; cancel when the code was minted with submit or admin. */
export const DashboardSessionView = z.object({
  scope: z.literal('read'),
  canCancel: z.boolean(),
  expiresAt: z.number(),
});
export type DashboardSessionView = z.infer<typeof DashboardSessionView>;

/** One sample of the colony, taken every few seconds by the queen (GET /v1/colony/history). */
export const ColonySample = z.object({
  at: z.number(),
  queued: z.number().int().nonnegative(),
  running: z.number().int().nonnegative(),
  /** Tasks that reached a terminal state since the previous sample. */
  finished: z.number().int().nonnegative(),
  failed: z.number().int().nonnegative(),
  temperature: TemperatureView,
});
export type ColonySample = z.infer<typeof ColonySample>;

export const ColonyHistoryView = z.object({
  intervalMs: z.number().int().positive(),
  samples: z.array(ColonySample),
});
export type ColonyHistoryView = z.infer<typeof ColonyHistoryView>;
