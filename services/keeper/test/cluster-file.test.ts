import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { ApiaryError } from '@apiary/protocol';
import { CLUSTER_HOST_DEFAULTS, loadClusterFile, parseCluster, type ClusterFileIssue } from '../src/cluster/file/index.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'apiary-cluster-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The error parseCluster throws for `text`, as ApiaryError. */
function errorOf(text: string, source = 'cluster.yaml'): ApiaryError {
  try {
    parseCluster(text, source, { baseDir: tmp });
  } catch (e) {
    expect(e).toBeInstanceOf(ApiaryError);
    expect((e as ApiaryError).code).toBe('CONFIG_INVALID');
    return e as ApiaryError;
  }
  throw new Error(`expected an error for:\n${text}`);
}

/** Asserts the FIRST reported problem is at line:col for `field`, with a message matching `re`. */
function expectRejected(text: string, field: string, line: number, col: number | null, re?: RegExp): void {
  const e = errorOf(text);
  const first = e.message.split('\n')[0]!;
  const where = col === null ? `cluster.yaml:${line}:\\d+` : `cluster.yaml:${line}:${col}`;
  const named = field === '' ? '' : `${field.replace(/[[\].$^()*+?"]/g, '\\$&')}: `;
  expect(first).toMatch(new RegExp(`^${where}: ${named}`));
  if (re) expect(first).toMatch(re);
}

// Line numbers below count from `cluster: t` = line 1.
const head = (host: string, extra = '') => `cluster: t
queen:
  address: 10.0.0.10
hosts:
  - name: pi1
    address: 10.0.0.11
    user: pi
${host}${extra}`;
// A second host starts at line 8: `  - name: …` with its address on line 9.
const second = (lines: string) => `  - name: pi2\n${lines}`;

describe('the example file', () => {
  it('parses, fully resolved and frozen', () => {
    const c = loadClusterFile(path.join(repoRoot, 'cluster.example.yaml'));
    expect(c.name).toBe('pis');
    expect(c.queen).toEqual({ address: '10.0.0.10', port: 7474, listen: '0.0.0.0', hiveUrl: 'ws://10.0.0.10:7474/v1/hive', flags: {} });
    expect(c.hosts.map((h) => h.name)).toEqual(['pi1', 'pi2']);
    expect(c.hosts[0]).toEqual({
      name: 'pi1',
      address: '10.0.0.11',
      port: 22,
      user: 'pi',
      key: path.join(os.homedir(), '.ssh/id_ed25519'),
      knownHosts: path.join(os.homedir(), '.ssh/known_hosts'),
      installDir: '/opt/apiary',
      home: '~/.apiary',
      bees: 4,
      memoryPerBeeBytes: 800e6,
      labels: { site: 'home', rack: 'a', gpu: 'no' },
    });
    expect(c.hosts[1]).toMatchObject({ address: 'pi2.local', bees: 2, labels: { site: 'home', rack: 'b' } });
    expect(c.setupCommands).toEqual(['mkdir -p /opt/apiary/data']);
    expect(c.fileMounts).toEqual([{ remote: '/opt/apiary/data/lookup.csv', local: path.join(repoRoot, 'lookup.csv') }]);
    expect(c.hive).toEqual({ taskTimeoutMs: 30_000, graceMs: 5000, heartbeatMs: 1000 });
    expect(Object.isFrozen(c)).toBe(true);
    expect(Object.isFrozen(c.hosts)).toBe(true);
    expect(Object.isFrozen(c.hosts[0])).toBe(true);
    expect(Object.isFrozen(c.hosts[0]!.labels)).toBe(true);
    expect(Object.isFrozen(c.fileMounts[0])).toBe(true);
  });
});

describe('defaults and overrides', () => {
  it('applies built-in defaults when nothing is set', () => {
    const c = parseCluster(head(''), path.join(tmp, 'c.yaml'));
    expect(c.hosts[0]).toEqual({
      name: 'pi1',
      address: '10.0.0.11',
      user: 'pi',
      port: CLUSTER_HOST_DEFAULTS.port,
      key: path.join(os.homedir(), '.ssh/id_ed25519'),
      knownHosts: path.join(os.homedir(), '.ssh/known_hosts'),
      installDir: '~/apiary',
      home: '~/.apiary',
      labels: {},
    });
    expect(c.hosts[0]).not.toHaveProperty('bees');
    expect(c.hosts[0]).not.toHaveProperty('memoryPerBeeBytes');
    expect(c.queen).toEqual({ address: '10.0.0.10', port: 7474, listen: '10.0.0.10', hiveUrl: 'ws://10.0.0.10:7474/v1/hive', flags: {} });
    expect(c.setupCommands).toEqual([]);
    expect(c.fileMounts).toEqual([]);
    expect(c.hive).toEqual({});
  });

  it('merges defaults under each host, the host winning field by field and label by label', () => {
    const c = parseCluster(
      `cluster: t
queen: { address: "fd00::10", port: 9000 }
defaults:
  user: pi
  port: 2222
  key: /keys/default
  install_dir: /opt/apiary
  home: /var/lib/apiary
  bees: 4
  memory_per_bee: 1GiB
  labels: { rack: a, zone: z1 }
hosts:
  - name: a
    address: 10.0.0.1
  - name: b
    address: b.example.com
    user: ubuntu
    port: 22
    key: /keys/b
    known_hosts: /kh/b
    install_dir: ~/apiary
    home: ~/.apiary
    bees: 2
    memory_per_bee: 512m
    labels: { rack: b, gpu: "yes" }
hive:
  task_timeout: 2m
  grace: 500ms
  heartbeat_ms: 250
  memory_poll_ms: 50
  reserve_memory: 1GB
`,
      'c.yaml',
      { baseDir: tmp },
    );
    expect(c.queen.hiveUrl).toBe('ws://[fd00::10]:9000/v1/hive');
    expect(c.hosts[0]).toEqual({
      name: 'a',
      address: '10.0.0.1',
      user: 'pi',
      port: 2222,
      key: '/keys/default',
      knownHosts: path.join(os.homedir(), '.ssh/known_hosts'),
      installDir: '/opt/apiary',
      home: '/var/lib/apiary',
      bees: 4,
      memoryPerBeeBytes: 1024 ** 3,
      labels: { rack: 'a', zone: 'z1' },
    });
    expect(c.hosts[1]).toEqual({
      name: 'b',
      address: 'b.example.com',
      user: 'ubuntu',
      port: 22,
      key: '/keys/b',
      knownHosts: '/kh/b',
      installDir: '~/apiary',
      home: '~/.apiary',
      bees: 2,
      memoryPerBeeBytes: 512 * 1024 ** 2,
      labels: { rack: 'b', zone: 'z1', gpu: 'yes' },
    });
    expect(c.hive).toEqual({ taskTimeoutMs: 120_000, graceMs: 500, heartbeatMs: 250, memoryPollMs: 50, reserveMemoryBytes: 1e9 });
  });

  it('treats an empty section as absent and follows YAML anchors and merge keys', () => {
    const c = parseCluster(
      `cluster: t
queen: { address: q.local }
defaults:
hosts:
  - &base
    name: a
    address: 10.0.0.1
    user: pi
    labels: { rack: r1 }
  - <<: *base
    name: b
    address: 10.0.0.2
setup_commands:
file_mounts:
hive:
`,
      'c.yaml',
      { baseDir: tmp },
    );
    expect(c.hosts.map((h) => [h.name, h.address, h.user, h.labels.rack])).toEqual([
      ['a', '10.0.0.1', 'pi', 'r1'],
      ['b', '10.0.0.2', 'pi', 'r1'],
    ]);
    expect(c.setupCommands).toEqual([]);
  });
});

describe('paths', () => {
  it('resolves relative local paths against the cluster file, expands local ~, keeps remote ~', () => {
    const dir = path.join(tmp, 'proj', 'conf');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'cluster.yaml');
    writeFileSync(
      file,
      `cluster: t
queen: { address: 10.0.0.10 }
defaults:
  user: pi
  key: keys/id_ed25519
  known_hosts: ../known_hosts
hosts:
  - name: a
    address: 10.0.0.1
    install_dir: ~/apiary
    home: ~/.apiary
  - name: b
    address: 10.0.0.2
    key: ~/.ssh/pi_b
    known_hosts: /etc/ssh/ssh_known_hosts
    install_dir: /opt/apiary
file_mounts:
  "~/data/lookup.csv": ./lookup.csv
  /opt/apiary/data/big.parquet: ~/datasets/big.parquet
  /opt/apiary/data/abs.csv: /srv/abs.csv
`,
    );
    // a relative file name resolves from the process cwd, and the file's directory from that
    const rel = path.relative(process.cwd(), file);
    for (const c of [loadClusterFile(file), loadClusterFile(rel)]) {
      expect(c.baseDir).toBe(dir);
      expect(c.hosts[0]).toMatchObject({
        key: path.join(dir, 'keys/id_ed25519'),
        knownHosts: path.join(tmp, 'proj', 'known_hosts'),
        installDir: '~/apiary',
        home: '~/.apiary',
      });
      expect(c.hosts[1]).toMatchObject({
        key: path.join(os.homedir(), '.ssh/pi_b'),
        knownHosts: '/etc/ssh/ssh_known_hosts',
        installDir: '/opt/apiary',
      });
      expect(c.fileMounts).toEqual([
        { remote: '~/data/lookup.csv', local: path.join(dir, 'lookup.csv') },
        { remote: '/opt/apiary/data/big.parquet', local: path.join(os.homedir(), 'datasets/big.parquet') },
        { remote: '/opt/apiary/data/abs.csv', local: '/srv/abs.csv' },
      ]);
    }
    expect(loadClusterFile(rel).source).toBe(rel);
  });

  it('takes the home directory and base directory from options', () => {
    const c = parseCluster(head('    key: ~/k\n    known_hosts: kh\n'), 'whatever.yaml', { baseDir: '/base', homeDir: '/home/me' });
    expect(c.hosts[0]).toMatchObject({ key: '/home/me/k', knownHosts: '/base/kh' });
  });

  it('reports a missing or unreadable file', () => {
    expect(() => loadClusterFile(path.join(tmp, 'nope.yaml'))).toThrow(/nope\.yaml: cannot read the cluster file: no such file/);
    expect(() => loadClusterFile(tmp)).toThrow(/is a directory/);
  });
});

describe('errors name the file, the line and column, the field and what was expected', () => {
  it('formats one problem exactly', () => {
    const e = errorOf(head(second('    address: 10.0.0.12\n    port: twenty-two\n')));
    expect(e.message).toBe('cluster.yaml:10:11: hosts[1].port: expected an integer from 1 to 65535, got "twenty-two"');
    expect(e.details).toEqual({
      file: 'cluster.yaml',
      errors: [{ path: 'hosts[1].port', line: 10, column: 11, message: 'expected an integer from 1 to 65535, got "twenty-two"' }] satisfies ClusterFileIssue[],
    });
  });

  it('uses the source name given', () => {
    expect(errorOf('cluster: [', 'conf/pis.yaml').message).toMatch(/^conf\/pis\.yaml:1:\d+: /);
  });

  it('reports every problem, in file order', () => {
    const e = errorOf(`cluster: "bad name"
queen: { address: 10.0.0.10, port: 70000 }
hosts:
  - name: pi1
    adress: 10.0.0.11
    user: Pi
`);
    const lines = e.message.split('\n');
    expect(lines).toEqual([
      expect.stringMatching(/^cluster\.yaml:1:10: cluster: expected a cluster name.*, got "bad name"$/),
      expect.stringMatching(/^cluster\.yaml:2:36: queen\.port: expected an integer from 0 to 65535 .*, got 70000$/),
      expect.stringMatching(/^cluster\.yaml:4:5: hosts\[0\]\.address: required; expected an IPv4 or IPv6 address/),
      'cluster.yaml:5:5: hosts[0].adress: unknown key; did you mean address?',
      expect.stringMatching(/^cluster\.yaml:6:11: hosts\[0\]\.user: expected a user name matching .*, got "Pi"$/),
    ]);
  });

  describe('YAML syntax', () => {
    it('reports the line of a syntax error', () => {
      expect(errorOf(head('   bees: 2\n')).message).toBe('cluster.yaml:8:1: invalid YAML: Sequence item without - indicator');
      expect(errorOf(head('    bees: 2: x\n')).message).toBe('cluster.yaml:8:11: invalid YAML: Nested mappings are not allowed in compact mappings');
      expect(errorOf(head('\tbees: 2\n')).message).toMatch(/^cluster\.yaml:8:1: invalid YAML: Tabs are not allowed/);
    });
    it('names where an unclosed quote or bracket was opened', () => {
      expect(errorOf(head('    key: "~/.ssh/id\n    bees: 2\n')).message).toBe(
        'cluster.yaml:10:1: invalid YAML: Missing closing "quote (the quote opened at line 8, column 10)',
      );
      expect(errorOf(head('    labels: { rack: a\n    bees: 2\n')).message).toMatch(
        /^cluster\.yaml:9:5: invalid YAML: Flow map .* \(the \{ opened at line 8, column 13\)$/,
      );
      expect(errorOf(head('    labels: [a\n')).message).toMatch(/\(the \[ opened at line 8, column 13\)$/);
    });
    it('reports a duplicate key at its second occurrence', () => {
      const e = errorOf(head('    port: 22\n    port: 23\n'));
      expect(e.message).toMatch(/^cluster\.yaml:9:5: invalid YAML: Map keys must be unique/);
    });
    it('reports an unknown tag rather than reading it as a string', () => {
      expect(errorOf(head('    bees: !int 4\n')).message).toMatch(/^cluster\.yaml:8:11: invalid YAML: Unresolved tag/);
    });
    it('reports more than one document', () => {
      expect(errorOf(`${head('')}---\ncluster: u\n`).message).toMatch(/^cluster\.yaml:8:1: invalid YAML: /);
    });
    it('reports an empty file and a file that is not a mapping', () => {
      expectRejected('', '', 1, 1);
      expect(errorOf('').message).toBe('cluster.yaml:1:1: expected a mapping with cluster, queen and hosts, got nothing');
      expect(errorOf('- a\n- b\n').message).toMatch(/^cluster\.yaml:1:1: expected a mapping with cluster, queen and hosts, got a list$/);
    });
  });

  describe('unknown keys (typos)', () => {
    it.each([
      ['top level', `clustr: t\n`, 'clustr', 1, 1, /did you mean cluster\?/],
      ['queen', `cluster: t\nqueen:\n  address: 10.0.0.10\n  prot: 7474\nhosts: []\n`, 'queen.prot', 4, 3, /did you mean port\?/],
      ['defaults', `cluster: t\nqueen: { address: q }\ndefaults:\n  usr: pi\n`, 'defaults.usr', 4, 3, /did you mean user\?/],
      ['host', head('    adress: 10.0.0.12\n'), 'hosts[0].adress', 8, 5, /did you mean address\?/],
      ['host, far from any key', head('    colour: blue\n'), 'hosts[0].colour', 8, 5, /expected one of name, address, queen_address, user/],
      ['hive', head('', 'hive:\n  timeout: 30s\n'), 'hive.timeout', 9, 3, /expected one of task_timeout/],
    ])('%s', (_what, text, field, line, col, re) => {
      expect(errorOf(text).message).toMatch(new RegExp(`cluster\\.yaml:${line}:${col}: ${field.replace(/[[\].]/g, '\\$&')}: unknown key; `));
      expect(errorOf(text).message).toMatch(re);
    });
  });

  describe('required fields', () => {
    it('cluster, queen, hosts', () => {
      expectRejected(`queen: { address: q }\nhosts: []\n`, 'cluster', 1, 1, /cluster: required; expected a cluster name/);
      expect(errorOf(`cluster: t\nhosts:\n  - { name: a, address: b, user: pi }\n`).message).toMatch(/^cluster\.yaml:1:1: queen: required; /);
      expect(errorOf(`cluster: t\nqueen: { address: q }\n`).message).toMatch(/^cluster\.yaml:1:1: hosts: required; expected a list of at least one host/);
    });
    it('queen.address is reported at the queen key', () => {
      expectRejected(`cluster: t\nqueen:\n  port: 7474\nhosts: []\n`, 'queen.address', 2, 1, /required; expected an IPv4/);
    });
    it('an empty queen section', () => {
      expectRejected(`cluster: t\nqueen:\nhosts: []\n`, 'queen', 2, 1, /expected a mapping with the queen's address and port, got nothing/);
    });
    it('at least one host', () => {
      expectRejected(`cluster: t\nqueen: { address: q }\nhosts: []\n`, 'hosts', 3, 8, /expected a list of at least one host, got an empty list/);
      expectRejected(`cluster: t\nqueen: { address: q }\nhosts:\n`, 'hosts', 3, 1, /got nothing/);
    });
    it('a host name and address, reported at the host', () => {
      expectRejected(head(second('    user: pi\n')), 'hosts[1].address', 8, 5, /required/);
      expectRejected(head('  - address: 10.0.0.12\n    user: pi\n'), 'hosts[1].name', 8, 5, /required; expected a host name/);
    });
    it('a user, on the host or in defaults', () => {
      expectRejected(head(second('    address: 10.0.0.12\n')), 'hosts[1].user', 8, 5, /required; set it on the host or in defaults/);
    });
  });

  describe('names', () => {
    it('host names are unique', () => {
      expectRejected(head('  - name: pi1\n    address: 10.0.0.12\n    user: pi\n'), 'hosts[1].name', 8, 11, /duplicate host name "pi1"; hosts\[0\] \(line 5\)/);
    });
    it.each(['-pi', '.pi', 'pi 1', 'pi$1', 'pi;rm', 'p/i', 'π', 'x'.repeat(65)])('refuses host name %j', (name) => {
      expectRejected(head(second('    address: 10.0.0.12\n').replace('pi2', JSON.stringify(name))), 'hosts[1].name', 8, 11, /expected a host name/);
    });
    it('accepts host names with dots, dashes and underscores', () => {
      expect(parseCluster(head(second('    address: 10.0.0.12\n    user: pi\n').replace('pi2', 'pi-2.rack_a')), 'c.yaml').hosts[1]!.name).toBe('pi-2.rack_a');
    });
    it('refuses a bad cluster name', () => {
      expectRejected(head('').replace('cluster: t', 'cluster: my cluster'), 'cluster', 1, 10, /got "my cluster"/);
    });
  });

  describe('addresses (they reach ssh and remote shells)', () => {
    const bad = [
      '10.0.0.11; rm -rf /',
      '$(reboot)',
      '`id`',
      'host|nc',
      'a&b',
      '(x)',
      '<x>',
      'two words',
      '"quoted"',
      "it's",
      'host\nname',
      '-oProxyCommand=sh',
      'host_name',
      '10.0.0.300',
      '1.2.3',
      'fe80::1%$(id)',
      'pi.local.-x',
      'user@host',
      'http://host',
      '',
    ];
    it.each(bad)('refuses host address %j', (a) => {
      expectRejected(
        head(second(`    address: ${JSON.stringify(a)}\n    user: pi\n`)),
        'hosts[1].address',
        9,
        14,
        /expected an IPv4 or IPv6 address, or a hostname/,
      );
    });
    it.each(['10.0.0.12', '::1', 'fe80::1%eth0', '2001:db8::7', 'pi2', 'pi2.local', 'node-7.cluster.example.com', 'PI2.LAN'])(
      'accepts host address %j',
      (a) => {
        expect(parseCluster(head(second(`    address: ${JSON.stringify(a)}\n    user: pi\n`)), 'c.yaml').hosts[1]!.address).toBe(a);
      },
    );
    it('checks the queen address and listen address too', () => {
      expectRejected(`cluster: t\nqueen:\n  address: "q;id"\nhosts: []\n`, 'queen.address', 3, 12);
      expectRejected(`cluster: t\nqueen:\n  address: q\n  listen: "0.0.0.0 "\nhosts: []\n`, 'queen.listen', 4, 11);
    });
    it('refuses a number where an address is expected', () => {
      expectRejected(head(second('    address: 10.5\n    user: pi\n')), 'hosts[1].address', 9, 14, /got 10\.5$/);
    });
  });

  describe('users and ports', () => {
    it.each(['Pi', '1pi', 'pi;id', 'pi user', '$USER', 'root@x', '-l'])('refuses user %j', (u) => {
      expectRejected(head(second(`    address: 10.0.0.12\n    user: ${JSON.stringify(u)}\n`)), 'hosts[1].user', 10, 11, /expected a user name/);
    });
    it('refuses a bad user in defaults', () => {
      expectRejected(`cluster: t\nqueen: { address: q }\ndefaults:\n  user: "x y"\nhosts: []\n`, 'defaults.user', 4, 9);
    });
    it.each(['0', '65536', '22.5', '"22"', 'twenty-two', '-1'])('refuses port %s', (p) => {
      expectRejected(head(`    port: ${p}\n`), 'hosts[0].port', 8, 11, /expected an integer from 1 to 65535/);
    });
    it('refuses a bad port in defaults and on the queen', () => {
      expectRejected(`cluster: t\nqueen: { address: q }\ndefaults:\n  port: 70000\nhosts: []\n`, 'defaults.port', 4, 9);
      expectRejected(`cluster: t\nqueen: { address: q, port: x }\nhosts: []\n`, 'queen.port', 2, 28, /expected an integer from 0 to 65535 \(0: any free port/);
      expectRejected(`cluster: t\nqueen: { address: q, port: -1 }\nhosts: []\n`, 'queen.port', 2, 28);
    });
    it('takes queen port 0 (any free port: the keeper tells the hives the port the queen bound)', () => {
      const c = parseCluster(head('').replace('  address: 10.0.0.10\n', '  address: 10.0.0.10\n  port: 0\n'), path.join(tmp, 'c.yaml'));
      expect(c.queen.port).toBe(0);
    });
  });

  describe('remote paths (they reach remote shells)', () => {
    const bad = [
      'opt/apiary',
      'apiary',
      '~',
      '~bob/apiary',
      '/opt/my apiary',
      '/opt/$HOME',
      '/opt/`id`',
      '/opt/a;b',
      '/opt/a|b',
      "/opt/it's",
      '/opt/"x"',
      '/opt/a*',
      '/opt/a\nb',
      '/opt/../etc',
      '$HOME/apiary',
      '/opt/é',
    ];
    it.each(bad)('refuses install_dir %j', (p) => {
      expectRejected(head(`    install_dir: ${JSON.stringify(p)}\n`), 'hosts[0].install_dir', 8, 18, /expected an absolute path or one starting with ~\//);
    });
    it('refuses a bad home, on a host and in defaults', () => {
      expectRejected(head('    home: .apiary\n'), 'hosts[0].home', 8, 11);
      expectRejected(`cluster: t\nqueen: { address: q }\ndefaults:\n  home: "~/my home"\nhosts: []\n`, 'defaults.home', 4, 9);
    });
    it('refuses a bad file_mounts target, at the key', () => {
      expectRejected(head('', 'file_mounts:\n  /ok/a.csv: ./a.csv\n  "data/b.csv": ./b.csv\n'), 'file_mounts["data/b.csv"]', 10, 3, /got key "data\/b\.csv"/);
      expectRejected(head('', 'file_mounts:\n  "/opt/x; rm -rf ~": ./b.csv\n'), 'file_mounts["/opt/x; rm -rf ~"]', 9, 3);
    });
    it('accepts the characters it promises', () => {
      const c = parseCluster(head('    install_dir: /opt/apiary-2.0_x+y/~z\n    home: ~/.apiary\n'), 'c.yaml');
      expect(c.hosts[0]).toMatchObject({ installDir: '/opt/apiary-2.0_x+y/~z', home: '~/.apiary' });
    });
  });

  describe('local paths', () => {
    it('refuses ~user and empty paths', () => {
      expectRejected(head('    key: ~bob/.ssh/id\n'), 'hosts[0].key', 8, 10, /~user\/ is not supported/);
      expectRejected(head('    known_hosts: ""\n'), 'hosts[0].known_hosts', 8, 18);
      expectRejected(head('', 'file_mounts:\n  /opt/a: ""\n'), 'file_mounts["/opt/a"]', 9, 11, /expected a path on this machine/);
    });
    it('allows spaces in local paths (no shell involved)', () => {
      const c = parseCluster(head('    key: "my keys/id"\n'), 'c.yaml', { baseDir: '/b' });
      expect(c.hosts[0]!.key).toBe('/b/my keys/id');
    });
  });

  describe('labels', () => {
    it('values are strings', () => {
      expectRejected(head('    labels: { rack: a, gpu: no, n: 1 }\n'), 'hosts[0].labels.n', 8, 36, /quote numbers and booleans.*got 1$/);
      expectRejected(head('    labels:\n      on: true\n'), 'hosts[0].labels.on', 9, 11, /got true$/);
      expectRejected(head('    labels:\n      note: "a\\nb"\n'), 'hosts[0].labels.note', 9, 13, /control characters/);
    });
    it('keys are safe', () => {
      expectRejected(head('    labels:\n      ok: a\n      "bad key": b\n'), 'hosts[0].labels["bad key"]', 10, 7, /expected a label name.*got key "bad key"/);
      expectRejected(head('    labels: { "$(id)": b }\n'), 'hosts[0].labels["$(id)"]', 8, 15);
      expectRejected(`cluster: t\nqueen: { address: q }\ndefaults:\n  labels: { "-x": y }\nhosts: []\n`, 'defaults.labels["-x"]', 4, 13);
    });
    it('labels are a mapping', () => {
      expectRejected(head('    labels: [a, b]\n'), 'hosts[0].labels', 8, 13, /expected a mapping of label names to strings.*, got a list$/);
    });
  });

  describe('setup commands', () => {
    it('are free-form one-line strings', () => {
      const c = parseCluster(
        head('', `setup_commands:\n  - "echo $HOME && ls | wc -l > /tmp/n; test -d /opt || sudo mkdir /opt"\n  - 'echo "it''s fine"'\n`),
        'c.yaml',
      );
      expect(c.setupCommands).toEqual(['echo $HOME && ls | wc -l > /tmp/n; test -d /opt || sudo mkdir /opt', `echo "it's fine"`]);
    });
    it.each([
      ['a newline', '"line1\\nline2"', /without newlines/],
      ['a carriage return', '"a\\rb"', /without newlines/],
      ['a NUL', '"a\\0b"', /NUL/],
      ['a block scalar', '|\n    a\n    b', /got "a\\nb\\n"/],
      ['a number', '42', /got 42$/],
      ['nothing', '', /got nothing$/],
      ['blank', '"  "', /one-line shell command/],
    ])('refuse %s', (_what, value, re) => {
      expectRejected(head('', `setup_commands:\n  - echo ok\n  - ${value}\n`), 'setup_commands[1]', 10, 5, re);
    });
    it('must be a list', () => {
      expectRejected(head('', 'setup_commands: mkdir -p /x\n'), 'setup_commands', 8, 17, /expected a list of shell commands/);
    });
  });

  describe('sizes, durations, counts', () => {
    it.each([
      ['memory_per_bee: lots', 'hosts[0].memory_per_bee', 21, /expected a size of at least 192 MiB.*got "lots"$/],
      ['memory_per_bee: 100MB', 'hosts[0].memory_per_bee', 21, /at least 192 MiB/],
      ['memory_per_bee: true', 'hosts[0].memory_per_bee', 21, /got true$/],
      ['bees: 0', 'hosts[0].bees', 11, /expected an integer from 1 to 256, got 0$/],
      ['bees: 1.5', 'hosts[0].bees', 11, /got 1\.5$/],
      ['bees: 257', 'hosts[0].bees', 11, /from 1 to 256/],
      ['bees: four', 'hosts[0].bees', 11, /got "four"$/],
    ])('refuses %s', (line, field, col, re) => {
      expectRejected(head(`    ${line}\n`), field, 8, col, re);
    });
    it.each([
      ['task_timeout: forever', 'hive.task_timeout', 17, /expected a duration from 10ms to 24h.*got "forever"$/],
      ['task_timeout: 2d', 'hive.task_timeout', 17, /duration/],
      ['task_timeout: 25h', 'hive.task_timeout', 17, /duration/],
      ['grace: 11m', 'hive.grace', 10, /at most 10m/],
      ['heartbeat_ms: 1s', 'hive.heartbeat_ms', 17, /integer number of milliseconds from 50 to 60000, got "1s"$/],
      ['memory_poll_ms: 5', 'hive.memory_poll_ms', 19, /from 10 to 10000/],
      ['reserve_memory: much', 'hive.reserve_memory', 19, /expected a size/],
    ])('refuses hive %s', (line, field, col, re) => {
      expectRejected(head('', `hive:\n  ${line}\n`), field, 9, col, re);
    });
    it('accepts plain numbers as bytes and milliseconds', () => {
      const c = parseCluster(head('    memory_per_bee: 268435456\n', 'hive:\n  task_timeout: 1500\n'), 'c.yaml');
      expect(c.hosts[0]!.memoryPerBeeBytes).toBe(268435456);
      expect(c.hive.taskTimeoutMs).toBe(1500);
    });
  });

  it('locates a problem in a value that came through a merge key at the anchor', () => {
    const text = `cluster: t
queen: { address: q }
x-base: &base
  user: pi
hosts:
  - <<: *base
    name: a
    address: 10.0.0.1
`;
    // x-base is an unknown top-level key; the merged host itself is fine
    expectRejected(text, 'x-base', 3, 1, /unknown key/);
    const e = errorOf(`cluster: t
queen: { address: q }
hosts:
  - &base
    name: a
    address: 10.0.0.1
    user: "Pi"
  - <<: *base
    name: b
    address: 10.0.0.2
`);
    expect(e.message.split('\n')).toEqual([
      expect.stringMatching(/^cluster\.yaml:7:11: hosts\[0\]\.user: /),
      expect.stringMatching(/^cluster\.yaml:7:11: hosts\[1\]\.user: /),
    ]);
  });
});
