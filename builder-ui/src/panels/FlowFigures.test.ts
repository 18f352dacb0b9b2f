import { describe, expect, it } from 'vitest';
import { dropOff } from './FlowFigures.tsx';

describe('drop-off per node', () => {
  it('counts the settled runs of a node that reached none of its next nodes', () => {
    const stats = {
      start: { entered: 100, completed: 100, failed: 0, waiting: 0 },
      cond: { entered: 100, completed: 100, failed: 0, waiting: 0 },
      yes: { entered: 40, completed: 10, failed: 0, waiting: 30 },
      no: { entered: 50, completed: 50, failed: 0, waiting: 0 },
    };
    const edges = [{ source: 'start', target: 'cond' }, { source: 'cond', target: 'yes' }, { source: 'cond', target: 'no' }];
    expect(dropOff(stats, edges)).toEqual({
      start: { entered: 100, left: 0, rate: 0 },
      cond: { entered: 100, left: 10, rate: 0.1 },
      // 30 still waiting are not dropped; the 10 that finished here ended the flow.
      yes: { entered: 40, left: 10, rate: 1 },
      no: { entered: 50, left: 50, rate: 1 },
    });
  });
});
