import { describe, expect, it } from 'vitest';
import { toCsv } from './csv.ts';
import { cohortTable, conversionTable } from './tables.ts';
import type { Kpis } from '../../api/types.ts';

describe('dashboard CSV', () => {
  it('quotes what needs quoting and leaves an absent figure empty, never 0', () => {
    expect(toCsv(['a', 'b', 'c'], [['x, "y"', null, 0.1234567], [true, undefined, 0]])).toBe('a,b,c\r\n"x, ""y""",,0.1234567\r\ntrue,,0\r\n');
  });

  it('writes the API figures unrounded; a flow without a goal has no conversion figure', () => {
    const k = {
      flows: [
        { flow_id: 'f1', name: 'Nurture', has_goal: true, entered: 3, converted: 1, conversion_rate: 1 / 3, versions: [], splits: [],
          holdout: { entered: 2, converted: 0, conversion_rate: 0 }, lift: { absolute: 1 / 3, ci_low: -0.2, ci_high: 0.8, confidence: 0.95, treated: { entered: 3, converted: 1, conversion_rate: 1 / 3 }, holdout: { entered: 2, converted: 0, conversion_rate: 0 } } },
        { flow_id: 'f2', name: 'Tagging', has_goal: false, entered: 5, converted: null, conversion_rate: null, versions: [], splits: [] },
      ],
      cohorts: [{ cohort: '2026-01', size: 4, retained: [1, 0.5] }, { cohort: '2026-02', size: 2, retained: [1] }],
    } as unknown as Kpis;
    const conv = toCsv(conversionTable(k).header, conversionTable(k).rows).split('\r\n');
    expect(conv[1]).toBe(`f1,Nurture,true,3,1,${1 / 3},2,0,0,${1 / 3},-0.2,0.8`);
    expect(conv[2]).toBe('f2,Tagging,false,5,,,,,,,,');
    expect(cohortTable(k)).toEqual({ header: ['cohort', 'size', 'month_0', 'month_1'], rows: [['2026-01', 4, 1, 0.5], ['2026-02', 2, 1, undefined]] });
  });
});
