import { parseCluster } from '../src/cluster/file/index.js';
import { describe, expect, it } from 'vitest';
import { hivePort, hostSpecs } from '../src/cluster/hosts.js';

const file = (port: string) =>
  parseCluster(
    `cluster: t
queen:
  address: 10.0.0.10
${port}
defaults:
  user: pi
hosts:
  - name: a
    address: 10.0.0.11
  - name: b
    address: 10.1.0.12
    queen_address: 10.1.0.1
`,
    '/tmp/cluster.yaml',
  );

describe('the queen URL the hives dial', () => {
  it("queen.port 0: the port the running queen bound, on each host's queen address", () => {
    const cfg = file('  port: 0');
    const port = hivePort(cfg, 'http://127.0.0.1:41234');
    expect(port).toBe(41234);
    expect(hostSpecs(cfg, undefined, port).map((h) => h.queenWs)).toEqual(['ws://10.0.0.10:41234/v1/hive', 'ws://10.1.0.1:41234/v1/hive']);
  });

  it('a queen.port as written, whatever port the queen found here listens on (it may be forwarded)', () => {
    const cfg = file('  port: 9000');
    expect(hivePort(cfg, 'http://127.0.0.1:41234')).toBe(9000);
    expect(hostSpecs(cfg).map((h) => h.queenWs)).toEqual(['ws://10.0.0.10:9000/v1/hive', 'ws://10.1.0.1:9000/v1/hive']);
  });

  it('queen.port 0 with a queen URL that names no port is a clear error', () => {
    expect(() => hivePort(file('  port: 0'), 'http://queen.example')).toThrow(/queen\.port is 0, and the queen's URL http:\/\/queen\.example names no port/);
  });
});
