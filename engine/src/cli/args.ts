import { parseArgs, type ParseArgsConfig } from 'node:util';

/** Bad command-line input: the CLI prints the message and the command's usage, and exits with code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
  constructor(message: string, readonly usage: string) {
    super(message);
  }
}

/** Where a command writes. stdout carries results (a new key alone on the last line); stderr carries logs. */
export interface Io {
  out(line: string): void;
  err(line: string): void;
}

export const processIo: Io = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * node:util parseArgs in strict mode, with `--help` on every command and its errors turned into UsageErrors
 * (unknown option, missing value) that name the command's usage.
 */
export function parseCommand<O extends Options>(
  argv: string[],
  usage: string,
  options: O,
  opts: { positionals?: number } = {},
): { values: { [K in keyof O]?: O[K]['type'] extends 'boolean' ? boolean : string }; positionals: string[]; help: boolean } {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError((err as Error).message.replace(/^TypeError \[\w+\]: /, ''), usage);
  }
  const help = (parsed.values as Record<string, unknown>).help === true;
  if (!help && parsed.positionals.length > (opts.positionals ?? 0)) {
    throw new UsageError(`unexpected argument "${parsed.positionals[opts.positionals ?? 0]}"`, usage);
  }
  return { values: parsed.values as never, positionals: parsed.positionals, help };
}

export function required(value: string | undefined, flag: string, usage: string): string {
  if (value === undefined || value === '') throw new UsageError(`${flag} is required`, usage);
  return value;
}
