import type { FastifyInstance, FastifySchema, FastifyServerOptions, FastifyTypeProvider } from 'fastify';
import { validate } from '@apiary/protocol';
import type { z } from 'zod';

/*
 * Route schemas are the protocol's zod schemas: fastify validates each request part with them before
 * the handler runs (the handler gets the parsed value, defaults applied), and scripts/openapi.mjs
 * reads them back from the live routes to write specs/openapi.json. One schema, one owner.
 */

declare module 'fastify' {
  interface FastifySchema {
    /** One line for the API document. */
    summary?: string;
    /** Responses that are not JSON (files, streams, pages): documented here, never serialised by fastify. */
    produces?: Record<number, { type: string; description: string }>;
    /** A raw (streamed) request body of this media type, not parsed as JSON. */
    accepts?: string;
  }
}

/** How a request part's errors read: "invalid <what> at <path>: <zod message>" with code BAD_REQUEST. */
interface PartSpec {
  what: string;
  /** An absent (or null) part is validated as this value: optional bodies (`req.body ?? {}` before). */
  emptyAs?: unknown;
  /** A part with its own error (e.g. FRAME_NAME_INVALID) instead of BAD_REQUEST. */
  error?: (input: unknown) => Error;
  /**
   * Headers only (checked, never replaced): a direct check that accepts exactly what the schema
   * accepts and throws the part's error otherwise, run instead of a zod parse of every header (the
   * schema stays the documented contract). ~13 µs per request while the code is not yet optimized.
   */
  check?: (input: unknown) => void;
}

const PARTS = new WeakMap<object, PartSpec>();

/**
 * A protocol schema as one route's request part, named for its error messages. A clone, so the same
 * protocol schema can carry another name on another route.
 */
export function part<S extends z.ZodType>(schema: S, spec: string | PartSpec): S {
  const own = schema.clone() as S;
  PARTS.set(own, typeof spec === 'string' ? { what: spec } : spec);
  return own;
}

/** A response schema with the description the API document gives it. */
export function described<S extends z.ZodType>(schema: S, description: string): S {
  return schema.describe(description) as S;
}

/** Types req.body/query/params from the route's zod schemas (what validation hands the handler). */
export interface ZodTypeProvider extends FastifyTypeProvider {
  validator: this['schema'] extends z.ZodType ? z.output<this['schema']> : unknown;
  serializer: this['schema'] extends z.ZodType ? z.input<this['schema']> : unknown;
}

type Compile = { schema: unknown; httpPart?: string };

/**
 * Compiled once per route at startup; per request it is one safeParse (inside `validate`, whose
 * message the clients already know). Headers are only checked: fastify would otherwise replace
 * req.headers with the schema's (stripped) output.
 */
export function validatorCompiler({ schema, httpPart }: Compile): (data: unknown) => { value?: unknown; error?: Error } {
  const zod = schema as z.ZodType;
  const spec = PARTS.get(zod) ?? { what: httpPart ?? 'request' };
  const keep = httpPart !== 'headers';
  const check = spec.check;
  if (!keep && check) {
    return (data: unknown) => {
      try {
        check(data);
        return {};
      } catch (e) {
        return { error: e as Error };
      }
    };
  }
  return (data: unknown) => {
    // fastify hands an absent part over as null.
    const input = data === null ? spec.emptyAs : data;
    try {
      const value = validate(zod, input, spec.what);
      return keep ? { value } : {};
    } catch (e) {
      return { error: spec.error?.(input) ?? (e as Error) };
    }
  };
}

/**
 * Responses are written with JSON.stringify, as without a schema: the response schemas are the
 * contract the client (@apiary/client) checks every answer against, and parsing each answer here
 * too would put a second zod pass on the lone-task hot path for no gain.
 */
function serializerCompiler() {
  return (data: unknown) => JSON.stringify(data);
}

/**
 * Fastify's `schemaController` option: these compilers as its factories too, so fastify never builds
 * its default ones (ajv with its formats, fast-json-stringify) only for setValidatorCompiler and
 * setSerializerCompiler to replace them: ~25 ms of CPU per queen start, paid by every one-shot keeper.
 */
export const ROUTE_SCHEMA_CONTROLLER = {
  compilersFactory: { buildValidator: () => validatorCompiler, buildSerializer: () => serializerCompiler },
  // fastify types the factories for ajv/JTD pools; ours take the same route definition setValidatorCompiler gets.
} as unknown as NonNullable<FastifyServerOptions['schemaController']>;

export interface RouteDoc {
  method: string;
  url: string;
  schema: FastifySchema;
}

const DOCS = new WeakMap<FastifyInstance, RouteDoc[]>();

/** Install the zod compilers and record every route's schema (read by routeDocs). Call before any route. */
export function installRouteSchemas(app: FastifyInstance): void {
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  const docs: RouteDoc[] = [];
  DOCS.set(app, docs);
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) if (method !== 'HEAD') docs.push({ method, url: r.url, schema: r.schema ?? {} });
  });
}

/** Every route the app serves with its schema: the source of specs/openapi.json. */
export function routeDocs(app: FastifyInstance): readonly RouteDoc[] {
  return DOCS.get(app) ?? [];
}
