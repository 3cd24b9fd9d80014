import { z } from 'zod';

/*
 * Scoped API tokens and the route table (admin-only routes under /v1/admin; see specs/security.md).
 * A token is `apy_<id>_<secret>`: the id is public (lists, logs), the secret is shown once at creation
 * and the queen keeps only its sha256.
 */

export const TokenScope = z.enum(['admin', 'submit', 'read']);
export type TokenScope = z.infer<typeof TokenScope>;

/** A token's name: a label for people (printable, no control characters: it reaches logs). */
export const TokenName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[\x20-\x7e]+$/, 'printable ASCII only');

/** POST /v1/admin/tokens */
export const CreateTokenRequest = z.object({ scope: TokenScope, name: TokenName.optional() });
export type CreateTokenRequest = z.infer<typeof CreateTokenRequest>;

/** A token as listed: never its secret. */
export const TokenInfo = z.object({
  id: z.string(),
  name: z.string(),
  scope: TokenScope,
  createdAt: z.number(),
  lastUsedAt: z.number().nullable(),
});
export type TokenInfo = z.infer<typeof TokenInfo>;

/** The answer to a create: the only time the secret is sent. */
export const CreatedToken = TokenInfo.extend({ token: z.string() });
export type CreatedToken = z.infer<typeof CreatedToken>;

/** GET /v1/admin/tokens: tokens not revoked, oldest first. */
export const TokenList = z.object({ tokens: z.array(TokenInfo) });
export type TokenList = z.infer<typeof TokenList>;

/** What a route needs: a scope, the join token (`hive`), or nothing (`public`). */
export const RouteNeed = z.enum(['public', 'hive', 'read', 'submit', 'admin']);

/** GET /v1/admin/routes: every route the queen serves and what it needs (`null`: not classified, so refused). */
export const RouteTable = z.object({
  routes: z.array(z.object({ method: z.string(), url: z.string(), need: RouteNeed.nullable() })),
});
export type RouteTable = z.infer<typeof RouteTable>;

/**
 * The Idempotency-Key header on POST /v1/tasks and /v1/tasks/batch: 1–255 printable ASCII characters
 * (a UUID is typical). A retry with the same key and body within the retention window gets the same tasks.
 */
export const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;
export const IDEMPOTENCY_HEADER = 'idempotency-key';
/** How long a key is remembered: a retry after this creates new tasks. */
export const IDEMPOTENCY_RETENTION_MS = 24 * 60 * 60 * 1000;

/** The submission routes' headers (the rest of the headers pass unchecked). */
export const IdempotencyHeaders = z.object({
  [IDEMPOTENCY_HEADER]: z
    .string()
    .regex(IDEMPOTENCY_KEY)
    .optional()
    .describe(
      `a retry with the same key and body (same token, within ${IDEMPOTENCY_RETENTION_MS / 3_600_000} h) gets the first request's task(s), with header Idempotent-Replayed: true`,
    ),
});
