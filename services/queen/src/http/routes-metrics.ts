import type { FastifyInstance } from 'fastify';

export interface MetricsRouteDeps {
  metrics: { contentType: string; text(): Promise<string> };
}

/** GET /metrics: Prometheus text format, behind the bearer token like every route (scope read). */
export function registerMetricsRoutes(app: FastifyInstance, deps: MetricsRouteDeps): void {
  const schema = {
    summary: 'Prometheus metrics (text exposition format)',
    produces: { 200: { type: 'text/plain; version=0.0.4', description: 'the metrics' } },
  };
  app.get('/metrics', { schema }, async (_req, reply) => reply.type(deps.metrics.contentType).send(await deps.metrics.text()));
}
