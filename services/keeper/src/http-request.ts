import { request as plain, type RawResponse, type RequestOptions } from '@apiary/client';
import { agentFor } from './tls-pins.js';

export type { RawResponse };

/** One request to a queen (see @apiary/client's request), on the agent that pins its certificate (tls-pins.ts). */
export function request(url: string, o: Omit<RequestOptions, 'agent'>): Promise<RawResponse> {
  const agent = agentFor(url);
  return plain(url, { ...o, ...(agent ? { agent } : {}) });
}
