import { describe, expect, it } from 'vitest';
import { describeSchedule, formatDuration, parseDuration, parseSchedule, parseTimeOfDay } from './plain.ts';

describe('plain-language durations and times', () => {
  it('reads what an ops admin types as the ISO value the flow stores', () => {
    expect(parseDuration('3 days')).toBe('P3D');
    expect(parseDuration('30 days')).toBe('P30D');
    expect(parseDuration('2 hours')).toBe('PT2H');
    expect(parseDuration('1 day 4 hours')).toBe('P1DT4H');
    expect(parseDuration('1 week and 2 days')).toBe('P1W2D');
    expect(parseDuration('90 min')).toBe('PT90M');
    expect(parseDuration('3d')).toBe('P3D');
    expect(parseDuration('2h30m')).toBe('PT2H30M');
    expect(parseDuration('10 seconds')).toBe('PT10S');
    expect(parseDuration('1 month')).toBe('P1M');
    expect(parseDuration(' P3D ')).toBe('P3D');
    expect(parseDuration('pt2h')).toBe('PT2H');
  });

  it('signs only where allowed: "before" and a leading minus are offsets', () => {
    expect(parseDuration('30 days before', { signed: true })).toBe('-P30D');
    expect(parseDuration('-30 days', { signed: true })).toBe('-P30D');
    expect(parseDuration('2 days after', { signed: true })).toBe('P2D');
    expect(parseDuration('on the day', { signed: true })).toBe('P0D');
    expect(parseDuration('30 days before')).toBeNull();
    expect(parseDuration('-P30D')).toBeNull();
  });

  it('refuses what is not a duration rather than guessing', () => {
    for (const bad of ['', 'soon', '3', 'three days', '3 fortnights', '1.5 days', '2 days 3 days', '3 days later please']) expect(parseDuration(bad), bad).toBeNull();
  });

  it('writes ISO values back in words, and both directions agree', () => {
    expect(formatDuration('P3D')).toBe('3 days');
    expect(formatDuration('PT1H')).toBe('1 hour');
    expect(formatDuration('P1DT4H')).toBe('1 day 4 hours');
    expect(formatDuration('-P30D')).toBe('30 days before');
    expect(formatDuration('P0D')).toBe('no wait');
    expect(formatDuration('nonsense')).toBe('nonsense');
    for (const iso of ['P3D', 'PT2H', 'P1W2D', 'PT90M', 'P1Y2M', 'PT10S', 'P1DT4H30M']) expect(parseDuration(formatDuration(iso))).toBe(iso);
    expect(parseDuration(formatDuration('-P30D'), { signed: true })).toBe('-P30D');
  });

  it('reads times of day', () => {
    expect(parseTimeOfDay('9am')).toBe('09:00');
    expect(parseTimeOfDay('9:30 pm')).toBe('21:30');
    expect(parseTimeOfDay('12am')).toBe('00:00');
    expect(parseTimeOfDay('17:05')).toBe('17:05');
    expect(parseTimeOfDay('9')).toBe('09:00');
    for (const bad of ['25:00', '13pm', 'noonish', '9:75']) expect(parseTimeOfDay(bad), bad).toBeNull();
  });
});

describe('schedules in words', () => {
  it.each([
    ['09:00 on weekdays', '0 9 * * 1-5'],
    ['9am every day', '0 9 * * *'],
    ['Mondays at 08:30', '30 8 * * 1'],
    ['17:45 on monday and friday', '45 17 * * 1,5'],
    ['10:00 on weekends', '0 10 * * 0,6'],
    ['every hour', '0 * * * *'],
    ['7pm', '0 19 * * *'],
    ['0 9 * * 1', '0 9 * * 1'],
  ])('"%s" is stored as %s, and reads back in words', (words, cron) => {
    expect(parseSchedule(words)).toBe(cron);
    expect(parseSchedule(describeSchedule(cron))).toBe(cron);
  });

  it('says the common ones in words and leaves other cron as it is', () => {
    expect(describeSchedule('0 9 * * 1-5')).toBe('09:00 on weekdays');
    expect(describeSchedule('30 8 * * 1,3,5')).toBe('08:30 on Mondays, Wednesdays and Fridays');
    expect(describeSchedule('*/5 * * * *')).toBe('*/5 * * * *');
  });

  it('refuses what is not a schedule', () => {
    for (const bad of ['soon', '25:00 on weekdays', '09:00 on funday', 'weekdays']) expect(parseSchedule(bad), bad).toBeNull();
  });
});
