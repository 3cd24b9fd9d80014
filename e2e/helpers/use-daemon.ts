import { afterAll, beforeAll } from 'vitest';
import { TestDaemon } from './daemon.js';

/**
 * A daemon queen for the describe block this is called in: started in its beforeAll with `args`
 * and ready once `hives` hives have joined, stopped in its afterAll (TestDaemon.stop waits for every
 * process of its home to go, and fails naming any that stay). Read it inside the block's hooks and tests.
 */
export function useDaemon(args: string[], hives = 1): () => TestDaemon {
  let d: TestDaemon | undefined;
  beforeAll(async () => {
    d = await TestDaemon.start(args);
    await d.waitHives(hives);
  });
  afterAll(async () => {
    await d?.stop();
    d = undefined;
  });
  return () => {
    if (!d) throw new Error('useDaemon: read outside its block, or the daemon did not start');
    return d;
  };
}
