import { describe, expect, it } from 'vitest';
import { Settler } from '../../src/billing/settler.js';

const immediates = () => process.getActiveResourcesInfo().filter((r) => r === 'Immediate').length;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('recording answers as they arrive', () => {
  it('records answers of one turn together, and those of a later turn apart', async () => {
    const batches: number[][] = [];
    const settler = new Settler<number>((batch) => batches.push(batch));
    await Promise.all([1, 2, 3].map(async (n) => settler.add(await Promise.resolve(n))));
    await nextTurn();
    settler.add(4);
    await nextTurn();
    expect(batches).toEqual([[1, 2, 3], [4]]);
  });

  it('flush records at once what is waiting and leaves nothing scheduled, so a run that never yields keeps no answers alive', async () => {
    const before = immediates();
    const batches: number[][] = [];
    const settler = new Settler<number>((batch) => batches.push(batch));
    settler.add(1);
    settler.add(2);
    expect(immediates()).toBe(before + 1);
    settler.flush();
    expect(batches).toEqual([[1, 2]]);
    expect(immediates()).toBe(before);
    await nextTurn();
    expect(batches).toEqual([[1, 2]]);
  });

  it('a failure to record is raised by flush, and nothing after it is recorded', async () => {
    let calls = 0;
    const settler = new Settler<number>(() => {
      calls++;
      throw new Error('disk full');
    });
    settler.add(1);
    await nextTurn();
    settler.add(2);
    expect(() => settler.flush()).toThrow('disk full');
    expect(calls).toBe(1);
  });
});
