import http from 'node:http';
import https from 'node:https';
import { TERMINAL_STATES, type TaskEvent, type TaskOutputEvent } from '@apiary/protocol';
import { agentFor } from './tls-pins.js';

/**
 * Follow one task on GET /v1/events?task=ID: `onOutput` gets its output as the queen receives it;
 * resolves once the stream reports the task in a terminal state (its last output came before that
 * event on the same stream). Resolves early, without error, if the stream cannot be had or ends
 * first: the caller falls back to polling, and prints the saved output of attempts it did not see.
 */
export function followTask(baseUrl: string, token: string, taskId: string, onOutput: (e: TaskOutputEvent) => void, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const url = `${baseUrl}/v1/events?task=${encodeURIComponent(taskId)}`;
    const mod = url.startsWith('https:') ? https : http;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      req.destroy();
      resolve();
    };
    // A cluster queen's certificate is pinned like every other keeper request (tls-pins.ts).
    const agent = agentFor(url);
    const req = mod.get(url, { headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' }, signal, ...(agent ? { agent } : {}) }, (res) => {
      if (res.statusCode !== 200) return finish();
      res.setEncoding('utf8');
      let buf = '';
      res.on('data', (chunk: string) => {
        buf += chunk;
        // Events end with a blank line; comments (': ping') carry no event.
        for (let end = buf.indexOf('\n\n'); end >= 0 && !done; end = buf.indexOf('\n\n')) {
          const block = buf.slice(0, end);
          buf = buf.slice(end + 2);
          const type = /^event: (.*)$/m.exec(block)?.[1];
          const data = /^data: (.*)$/m.exec(block)?.[1];
          if (!type || data === undefined) continue;
          if (type === 'output') onOutput(JSON.parse(data) as TaskOutputEvent);
          else if (type === 'task' && TERMINAL_STATES.has((JSON.parse(data) as TaskEvent).state)) finish();
        }
      });
      res.on('end', finish);
      res.on('error', finish);
    });
    req.on('error', finish);
  });
}
