import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CLIENT_TYPES_PATH, generate } from './generate.ts';

/**
 * `pnpm openapi`: regenerates the client types (engine/src/contracts/api.ts) from the routes' schemas.
 * `… --document <file>`: writes the OpenAPI document there instead (`pnpm lint:openapi` lints it with Redocly).
 */
const root = resolve(import.meta.dirname, '../../..');
const { document, clientTypes } = await generate();
const at = process.argv.indexOf('--document');
if (at > 0 && process.argv[at + 1]) {
  writeFileSync(resolve(process.cwd(), process.argv[at + 1]!), `${JSON.stringify(document, null, 2)}\n`);
  process.stdout.write(`wrote ${process.argv[at + 1]}\n`);
} else {
  writeFileSync(resolve(root, CLIENT_TYPES_PATH), clientTypes);
  process.stdout.write(`wrote ${CLIENT_TYPES_PATH}\n`);
}
