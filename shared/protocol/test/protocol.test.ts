import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ApiaryError, decode, decodePacket, PacketBatcher, HiveToQueen, QueenToHive, toWireError } from '../src/index.js';

describe('protocol codec', () => {
  it('decodes a valid heartbeat', () => {
    const hb = { type: 'heartbeat', at: 1, bees: [], queued: 0, loadAvg: 0.5, freeMemoryBytes: 1e9 };
    expect(decode(HiveToQueen, JSON.stringify(hb), 'msg')).toEqual(hb);
  });

  it('names the field that breaks the schema', () => {
    const bad = { type: 'task.assign', taskId: 't', attempt: 0, spec: { kind: 'sql', sql: 'SELECT 1' }, limits: {} };
    expect(() => decode(QueenToHive, JSON.stringify(bad), 'queen message')).toThrow(/invalid queen message at attempt/);
  });

  it('rejects unknown message types and non-JSON with BAD_REQUEST', () => {
    for (const text of ['{"type":"bogus"}', 'not json', '[]']) {
      try {
        decode(HiveToQueen, text, 'hive message');
        expect.unreachable();
      } catch (e) {
        expect(e).toBeInstanceOf(ApiaryError);
        expect((e as ApiaryError).code).toBe('BAD_REQUEST');
      }
    }
  });

  it('turns anything thrown into a wire error with a stable code', () => {
    expect(toWireError(new ApiaryError('SQL_ERROR', 'x'))).toEqual({ code: 'SQL_ERROR', message: 'x' });
    expect(toWireError(new Error('boom'), 'TASK_FAILED')).toEqual({ code: 'TASK_FAILED', message: 'boom' });
    expect(toWireError({ code: 'NOT_A_CODE', message: 'm' })).toEqual({ code: 'INTERNAL', message: 'm' });
  });

  it('a packet carries one message or a batch; a batch is validated message by message', async () => {
    const hb = { type: 'heartbeat', at: 1, bees: [], queued: 0, loadAvg: 0, freeMemoryBytes: 1 };
    expect(decodePacket(HiveToQueen, JSON.stringify([hb, hb]), 'f')).toHaveLength(2);
    expect(() => decodePacket(HiveToQueen, JSON.stringify([hb, { type: 'bogus' }]), 'f')).toThrow(/invalid f/);
    expect(() => decodePacket(HiveToQueen, '[]', 'f')).toThrow(/1 to 10000 messages/);
    const packets: string[] = [];
    const b = new PacketBatcher<number>((f) => {
      packets.push(f);
      return true;
    });
    b.push(1);
    b.push(2);
    b.push(3);
    await new Promise((r) => setImmediate(r));
    expect(packets).toEqual(['[1,2,3]']);
    b.push(4);
    await new Promise((r) => setImmediate(r));
    expect(packets).toEqual(['[1,2,3]', '4']);
  });

  it("specs/openapi.json is generated from the queen's live routes (their protocol schemas) and up to date", () => {
    const script = fileURLToPath(new URL('../../../scripts/openapi.mjs', import.meta.url));
    expect(() => execFileSync(process.execPath, [script, '--check'], { stdio: 'pipe' })).not.toThrow();
  });
});
