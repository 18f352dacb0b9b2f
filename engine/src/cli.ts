import { pathToFileURL } from 'node:url';
import { compileConfig, ConfigError } from './config/index.ts';
import { processIo, UsageError, type Io } from './cli/args.ts';
import { COMMANDS } from './cli/commands.ts';

/**
 * `cairn <command>`: exit 0 on success, 1 when the command fails, 2 on bad arguments or configuration.
 * Run from the repository root as `pnpm cairn <command>`.
 */
export const ROOT_USAGE = `Usage: cairn <command> [options]

Commands:
${[...COMMANDS].map(([name, c]) => `  ${name.padEnd(20)}${c.summary}`).join('\n')}

Run "cairn <command> --help" for a command's options. Configuration comes from the environment
(DATABASE_URL, PORT, HOST, CAIRN_DATA_DIR, CAIRN_SECRET_KEY, ...): see README.md.`;

export async function main(argv: string[], io: Io = processIo, env?: Record<string, string | undefined>): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    if (argv.length === 0) {
      io.err(ROOT_USAGE);
      return 2;
    }
    io.out(ROOT_USAGE);
    return 0;
  }
  const found = findCommand(argv);
  if (!found) {
    const group = [...COMMANDS.keys()].filter((k) => k.startsWith(`${argv[0]} `));
    if (group.length && (argv.length === 1 || argv[1] === '--help' || argv[1] === '-h')) {
      (argv.length === 1 ? io.err : io.out)(`Usage:\n${group.map((k) => `  cairn ${k}  — ${COMMANDS.get(k)!.summary}`).join('\n')}`);
      return argv.length === 1 ? 2 : 0;
    }
    io.err(`cairn: unknown command "${argv.slice(0, group.length ? 2 : 1).join(' ')}"\n\n${ROOT_USAGE}`);
    return 2;
  }
  try {
    const config = compileConfig(env);
    return await found.command.run(argv.slice(found.words), config, io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`cairn: ${err.message}\n\n${err.usage}`);
      return 2;
    }
    if (err instanceof ConfigError) {
      io.err(`cairn: ${err.message}`);
      return 2;
    }
    io.err(`cairn: ${(err as Error).message ?? String(err)}`);
    return 1;
  }
}

function findCommand(argv: string[]) {
  for (const words of [2, 1]) {
    const command = COMMANDS.get(argv.slice(0, words).join(' '));
    if (command) return { command, words };
  }
  return null;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`cairn: ${String((err as Error)?.stack ?? err)}\n`);
      process.exit(1);
    },
  );
}
