import { describe, expect, it } from 'vitest';
import { GroupCommit } from './group-commit.ts';

describe('group commit', () => {
  it('sends the requests of one turn of the event loop in one flush, even with flush slots free', async () => {
    const flushes: number[][] = [];
    const group = new GroupCommit<number, number>(async (_key, items) => {
      flushes.push(items);
      await new Promise((r) => setTimeout(r, 5));
      return items.map((n) => n * 10);
    }, { maxBatch: 100, maxConcurrent: 2 });
    const answers = await Promise.all([group.submit('w', [1]), group.submit('w', [2, 3]), group.submit('w', [4])]);
    expect(flushes).toEqual([[1, 2, 3, 4]]);
    expect(answers).toEqual([[10], [20, 30], [40]]);
  });

  it('groups what arrives while a flush runs into the next one, one flush per key, and answers each caller its own', async () => {
    const flushes: string[] = [];
    const group = new GroupCommit<number, number>(async (key, items) => {
      flushes.push(`${key}:${items.join(',')}`);
      await new Promise((r) => setTimeout(r, 20));
      return items.map((n) => n + 1);
    }, { maxBatch: 3, maxConcurrent: 1 });
    const first = group.submit('a', [1]);
    await new Promise((r) => setTimeout(r, 5)); // the first flush is running
    const later = [group.submit('a', [2]), group.submit('b', [3]), group.submit('a', [4, 5]), group.submit('a', [6])];
    expect(await first).toEqual([2]);
    expect(await Promise.all(later)).toEqual([[3], [4], [5, 6], [7]]);
    // Key a's waiting items up to maxBatch first, then key b, then what was left of a.
    expect(flushes).toEqual(['a:1', 'a:2,4,5', 'b:3', 'a:6']);
    await group.whenIdle();
    expect(group.idle).toBe(true);
  });

  it('rejects every caller of a failed flush and goes on with the next', async () => {
    let calls = 0;
    const group = new GroupCommit<number>(async () => {
      calls++;
      if (calls === 1) throw new Error('boom');
    }, { maxBatch: 10, maxConcurrent: 1 });
    const failed = [group.submit('k', [1]), group.submit('k', [2])];
    await expect(failed[0]).rejects.toThrow('boom');
    await expect(failed[1]).rejects.toThrow('boom');
    await expect(group.submit('k', [3])).resolves.toEqual([]);
  });
});
