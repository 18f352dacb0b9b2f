#!/usr/bin/env node
// The `cairn` executable. The engine ships as TypeScript run by tsx (there is no build step), and isolated-vm
// needs --no-node-snapshot, a flag that cannot be set from inside a running process: so we start a child node
// with both and pass the arguments, stdio, signals and exit code through.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const cli = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const child = spawn(process.execPath, ['--no-node-snapshot', '--import', import.meta.resolve('tsx'), cli, ...process.argv.slice(2)], {
  stdio: 'inherit',
});
// Ctrl-C reaches the child through the terminal's process group too; the CLI treats a repeated signal as a no-op.
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 128 + ({ SIGINT: 2, SIGTERM: 15 }[signal] ?? 1) : 1)));
