import { describe, expect, it } from 'vitest';
import { StartReports } from '../src/start-reports.js';

const start = (taskId: string, attempt = 1) => ({ type: 'task.started' as const, taskId, attempt, token: `1.${attempt}.abcdefabcdef`, bee: 0, at: Date.now() });
const HOLD_MS = 20;
/** Long enough for the hold's timer to have fired on a loaded machine. */
const AFTER_HOLD_MS = HOLD_MS + 500;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('StartReports', () => {
  it('a start settled by its result within the hold is never sent; one still running is sent once, after the hold', async () => {
    const sent: string[] = [];
    const starts = new StartReports((m) => sent.push(m.taskId), HOLD_MS);
    starts.hold(start('tiny'));
    starts.hold(start('long'));
    expect(starts.settle('tiny', 1)).toBe(true);
    expect(sent).toEqual([]);
    await sleep(AFTER_HOLD_MS);
    expect(sent).toEqual(['long']);
    // Its result comes later: nothing held any more, and nothing is sent twice.
    expect(starts.settle('long', 1)).toBe(false);
    await sleep(AFTER_HOLD_MS);
    expect(sent).toEqual(['long']);
  });

  it("a result of another attempt does not settle this attempt's start; drop() forgets every held start", async () => {
    const sent: string[] = [];
    const starts = new StartReports((m) => sent.push(`${m.taskId}#${m.attempt}`), HOLD_MS);
    starts.hold(start('t', 2));
    expect(starts.settle('t', 1)).toBe(false);
    await sleep(AFTER_HOLD_MS);
    expect(sent).toEqual(['t#2']);
    starts.hold(start('u'));
    starts.drop();
    await sleep(AFTER_HOLD_MS);
    expect(sent).toEqual(['t#2']);
  });
});
