import type { HiveToQueen } from '@apiary/protocol';

type Hello = Extract<HiveToQueen, { type: 'hello' }>;

/**
 * A `hello` frame as a hive sends it, for tests that speak the hive protocol by hand (auth, limits,
 * a fake hive). `hive` overrides the resources of a small ephemeral one-bee hive.
 */
export function helloFrame(token: string, name: string, hive: Partial<Hello['hive']> = {}): Hello {
  return {
    type: 'hello',
    protocol: 1,
    token,
    running: [],
    hive: {
      name,
      host: 'x',
      pid: 1,
      arch: 'x64',
      platform: 'linux',
      node: '20',
      cores: 1,
      memoryBytes: 1e9,
      bees: 1,
      memoryPerBeeBytes: 3e8,
      ephemeral: true,
      ...hive,
    },
  };
}
