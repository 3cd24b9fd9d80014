import { afterAll, beforeAll } from 'vitest';
import { makeSales, type Fixture } from './data.js';
import { openDuck, type Duck } from './duck.js';

/**
 * The suite-wide DuckDB and `sales` cells most planner tests share: opened before the suite,
 * removed after it. `set` receives them once they exist.
 */
export function withSalesFixture(set: (duck: Duck, fx: Fixture) => void): void {
  let duck: Duck | undefined;
  let fx: Fixture | undefined;
  beforeAll(async () => {
    duck = await openDuck();
    fx = await makeSales(duck.conn);
    set(duck, fx);
  });
  afterAll(() => {
    fx?.cleanup();
    duck?.close();
  });
}
