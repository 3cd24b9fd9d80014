import { ColonyView, type BeeStatus } from '@apiary/protocol';
import { describe, expect, it } from 'vitest';
import { renderColony } from '../src/status-view.js';

const MiB = 1024 * 1024;
const bee = (id: number, extra: Partial<BeeStatus> = {}): BeeStatus => ({
  id,
  pid: 1000 + id,
  state: 'idle',
  taskId: null,
  rssBytes: 0,
  budgetBytes: 256 * MiB,
  cpuPercent: 0,
  tasksRun: 0,
  restarts: 0,
  ...extra,
});

/** A colony view as the queen serves it (parsed with its schema, so a field the schema drops fails here). */
const colony = (bees: BeeStatus[]) =>
  ColonyView.parse({
    queen: { pid: 1, state: 'running', ephemeral: false, startedAt: 0 },
    temperature: { value: 0, level: 'cold', cpu: 0, memoryPressure: 0, queuePressure: 0, regulation: '' },
    hives: [
      {
        id: 'pi1#1',
        state: 'ready',
        resources: {
          name: 'pi1',
          host: 'pi1',
          pid: 5,
          arch: 'arm64',
          platform: 'linux',
          node: 'v20',
          cores: 4,
          memoryBytes: 4096 * MiB,
          bees: 2,
          memoryPerBeeBytes: 256 * MiB,
          ephemeral: false,
        },
        lastHeartbeatAt: 0,
        bees,
        queued: 0,
        inFlight: 0,
      },
    ],
    queued: 0,
    running: 0,
  });

describe('renderColony', () => {
  it('shows a bee whose memory cannot be read as MEMORY_READING_INVALID, not as an empty bar of 0 B', () => {
    const out = renderColony(
      colony([
        bee(0, { rssBytes: 60 * MiB }),
        bee(1, { memoryError: { code: 'MEMORY_READING_INVALID', message: 'bee 1 (pid 1001) reads 0 bytes of memory' } }),
      ]),
      0,
    );
    const rows = out.split('\n').filter((l) => l.startsWith('pi1#1 '));
    const beeRows = rows.slice(-2);
    expect(beeRows[0], out).toMatch(/60(\.0)? MiB \/ 256(\.0)? MiB/);
    expect(beeRows[1]).toContain('MEMORY_READING_INVALID (budget 256');
    expect(beeRows[1]).toContain('not enforced');
    expect(beeRows[1]).not.toMatch(/\b0 B \//);
  });
});
