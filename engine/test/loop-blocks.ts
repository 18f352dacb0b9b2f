import { readFileSync } from 'node:fs';

/**
 * How long this process's main thread computes without letting its event loop turn, in CPU time: the engine's
 * own blocking, apart from the time the machine's scheduler takes the CPU away (which `monitorEventLoopDelay`
 * counts too, and which other processes on a shared machine control). Linux only: it reads the thread's run
 * time from /proc/thread-self/schedstat (nanoseconds) on a 1 ms timer; the largest run time between two ticks
 * is the longest block. Returns null where that file does not exist.
 */
export interface LoopBlockMonitor {
  stop(): { maxMs: number; p99Ms: number; ticks: number };
}

const runNs = (): number => Number(readFileSync('/proc/thread-self/schedstat', 'utf8').split(' ')[0]);

/** CPU time of this thread spent in `fn`, in ms; null where /proc/thread-self/schedstat does not exist. */
export function threadCpuMs(fn: () => unknown): number | null {
  let before: number;
  try {
    before = runNs();
  } catch {
    return null;
  }
  fn();
  return (runNs() - before) / 1e6;
}

export function monitorLoopBlocks(): LoopBlockMonitor | null {
  try {
    runNs();
  } catch {
    return null;
  }
  const blocks: number[] = [];
  let last = runNs();
  let timer = setTimeout(function tick() {
    const now = runNs();
    blocks.push((now - last) / 1e6);
    last = now;
    timer = setTimeout(tick, 1);
  }, 1);
  return {
    stop() {
      clearTimeout(timer);
      const sorted = [...blocks].sort((a, b) => a - b);
      return { maxMs: sorted.at(-1) ?? 0, p99Ms: sorted[Math.floor(sorted.length * 0.99)] ?? 0, ticks: sorted.length };
    },
  };
}
