import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';

/** A hive's hello resources for a HiveSession under test (one bee; spread to change a field). */
export const HIVE_RESOURCES = {
  name: 'h',
  host: 'x',
  pid: 1,
  arch: 'x64',
  platform: 'linux',
  node: '20',
  cores: 2,
  memoryBytes: 1e9,
  bees: 1,
  memoryPerBeeBytes: 3e8,
  ephemeral: false,
};

/**
 * A real WebSocket over loopback for a HiveSession (the queen's end, `server`) and a stand-in hive
 * (`client`), both open when it resolves. close() terminates the client and closes the server.
 */
export async function hiveSocketPair(): Promise<{ server: WebSocket; client: WebSocket; close(): Promise<void> }> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise((r) => wss.once('listening', r));
  const serverSide = new Promise<WebSocket>((r) => wss.once('connection', r));
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  const server = await serverSide;
  await new Promise((r) => (client.readyState === WebSocket.OPEN ? r(null) : client.once('open', r)));
  return {
    server,
    client,
    close: async () => {
      client.terminate();
      await new Promise((r) => wss.close(r));
    },
  };
}
