import { describe, expect, it } from 'vitest';
import { addDuration, isValidDuration, isValidTimezone, nextTimeOfDay, parseDuration, resolveDateProperty } from './duration.ts';

describe('ISO 8601 durations', () => {
  it('accepts the usual forms and a leading minus, refuses what luxon alone would let through', () => {
    for (const ok of ['P3D', 'PT2H', 'P1W', 'P1Y2M3DT4H5M6S', 'PT1.5S', 'P0D']) expect(isValidDuration(ok), ok).toBe(true);
    for (const bad of ['P', 'PT', 'P3DT', 'P-3D', '3D', 'p3d', '', 'PT2H ', 'P1.5D']) expect(isValidDuration(bad), bad).toBe(false);
    expect(isValidDuration('-P30D')).toBe(false);
    expect(isValidDuration('-P30D', { signed: true })).toBe(true);
    expect(parseDuration('-P30D')?.negative).toBe(true);
  });

  it('adds calendar days on the contact wall clock across a DST change (P1D keeps 09:00, PT24H does not)', () => {
    const before = new Date('2026-03-28T08:00:00Z'); // 09:00 in Paris, the day before clocks go forward
    expect(addDuration(before, 'P1D', 'Europe/Paris').toISOString()).toBe('2026-03-29T07:00:00.000Z'); // 09:00 CEST
    expect(addDuration(before, 'PT24H', 'Europe/Paris').toISOString()).toBe('2026-03-29T08:00:00.000Z'); // 10:00 CEST
    expect(addDuration(before, '-P1D', 'Europe/Paris').toISOString()).toBe('2026-03-27T08:00:00.000Z');
    expect(() => addDuration(before, 'soon')).toThrow(/ISO 8601 duration/);
    expect(() => addDuration(before, 'P1D', 'Mars/Base')).toThrow(/IANA timezone/);
  });

  it('finds the next time of day, optionally on given weekdays, in the contact timezone', () => {
    const now = new Date('2026-03-06T10:00:00Z'); // Friday 11:00 in Paris
    expect(nextTimeOfDay(now, '09:00', 'Europe/Paris').toISOString()).toBe('2026-03-07T08:00:00.000Z');
    expect(nextTimeOfDay(now, '12:00', 'Europe/Paris').toISOString()).toBe('2026-03-06T11:00:00.000Z');
    expect(nextTimeOfDay(now, '09:00', 'Europe/Paris', ['mon']).toISOString()).toBe('2026-03-09T08:00:00.000Z');
    expect(nextTimeOfDay(new Date('2026-03-07T08:00:00Z'), '09:00', 'Europe/Paris').toISOString()).toBe('2026-03-08T08:00:00.000Z'); // strictly after
  });

  it('resolves a date property with an offset and a time', () => {
    expect(resolveDateProperty('2026-05-01', { offset: '-P30D', time: '09:00', zone: 'America/New_York' })?.toISOString()).toBe('2026-04-01T13:00:00.000Z');
    expect(resolveDateProperty('not a date')).toBeUndefined();
    expect(resolveDateProperty(undefined)).toBeUndefined();
  });

  it('knows IANA timezones', () => {
    expect(isValidTimezone('Europe/Paris')).toBe(true);
    expect(isValidTimezone('Mars/Base')).toBe(false);
    expect(isValidTimezone(42)).toBe(false);
  });
});
