import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type TS from 'typescript';

/**
 * Type-checks a plugin's entry (and everything it imports) before it is bundled: esbuild strips types without
 * checking them, so without this a `props.titel` typo would build and publish. The plugin's own `typescript`
 * and `tsconfig.json` are used when present; the SDK's TypeScript and strict defaults otherwise. Tests are not
 * part of the check (they may use Node types the plugin does not need).
 */

function loadTypeScript(dir: string): typeof TS {
  for (const from of [path.join(dir, 'package.json'), import.meta.url]) {
    try {
      return createRequire(from)('typescript') as typeof TS;
    } catch {
      // next candidate
    }
  }
  throw new Error('typescript is not installed: add it to the plugin\'s devDependencies (npm install -D typescript)');
}

/** Problems as `file:line:col: message` lines (file relative to `dir`); empty when the entry type-checks. */
export function typecheckPlugin(entry: string, dir = path.dirname(path.dirname(entry))): string[] {
  const ts = loadTypeScript(dir);
  const configPath = path.join(dir, 'tsconfig.json');
  let options: TS.CompilerOptions = {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    strict: true,
    skipLibCheck: true,
    allowImportingTsExtensions: true,
  };
  if (existsSync(configPath)) {
    const read = ts.readConfigFile(configPath, ts.sys.readFile);
    if (read.error) return [ts.flattenDiagnosticMessageText(read.error.messageText, '\n')];
    options = ts.parseJsonConfigFileContent(read.config, ts.sys, dir, undefined, configPath).options;
  }
  // Only the plugin's sources: no emit, and no ambient `types` (Node's types belong to its tests).
  const program = ts.createProgram([entry], { ...options, noEmit: true, types: [] });
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const text = ts.flattenDiagnosticMessageText(d.messageText, '\n');
    if (!d.file || d.start === undefined) return `error TS${d.code}: ${text}`;
    const { line, character } = d.file.getLineAndCharacterOfPosition(d.start);
    return `${path.relative(dir, d.file.fileName)}:${line + 1}:${character + 1}: error TS${d.code}: ${text}`;
  });
}
