// The backtest thread's entry. The engine is TypeScript run by tsx, and a worker thread does not get the process's
// loader: register it here, then load the thread itself.
import { register } from 'tsx/esm/api';

register();
await import('./thread.ts');
