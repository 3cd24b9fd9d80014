import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCluster } from '../src/cluster/file/index.js';

const base = '/work/cluster-dir';
const file = (queenExtra: string) => `cluster: t
queen:
  address: 10.0.0.10
${queenExtra}hosts:
  - name: pi1
    address: 10.0.0.11
    user: pi
`;

describe('cluster.yaml queen.tls_cert / tls_key', () => {
  it('both: resolved as local paths (relative to the file) for the queen', () => {
    const c = parseCluster(file('  tls_cert: certs/queen.crt\n  tls_key: /etc/apiary/queen.key\n'), 'cluster.yaml', { baseDir: base });
    expect(c.queen.tlsCert).toBe(path.join(base, 'certs/queen.crt'));
    expect(c.queen.tlsKey).toBe('/etc/apiary/queen.key');
  });

  it('neither: no fields (the queen makes its own certificate)', () => {
    const c = parseCluster(file(''), 'cluster.yaml', { baseDir: base });
    expect('tlsCert' in c.queen || 'tlsKey' in c.queen).toBe(false);
  });

  it('one without the other is CONFIG_INVALID at the one given, saying both go together', () => {
    expect(() => parseCluster(file('  tls_cert: queen.crt\n'), 'cluster.yaml', { baseDir: base })).toThrow(
      expect.objectContaining({
        code: 'CONFIG_INVALID',
        message: expect.stringMatching(/^cluster\.yaml:4:\d+: queen\.tls_cert: tls_cert and tls_key go together/),
      }),
    );
    expect(() => parseCluster(file('  tls_key: queen.key\n'), 'cluster.yaml', { baseDir: base })).toThrow(
      expect.objectContaining({ code: 'CONFIG_INVALID', message: expect.stringContaining('queen.tls_key: tls_cert and tls_key go together') }),
    );
  });

  it('a misspelt key is suggested', () => {
    expect(() => parseCluster(file('  tls_crt: queen.crt\n'), 'cluster.yaml', { baseDir: base })).toThrow(
      expect.objectContaining({ message: expect.stringContaining('did you mean tls_cert') }),
    );
  });
});
