/**
 * The files `cairn-plugin create` writes: a working plugin with one action and a test against a local server.
 * `sdk` is the dependency spec of the SDK (a version range, or `file:` a packed tarball); the other
 * dependencies are the versions this SDK is tested with.
 */
export function scaffoldFiles(id: string, name: string, sdk: string): Record<string, string> {
  return {
    'package.json': `${JSON.stringify(
      {
        name: `cairn-plugin-${id.replace(/_/g, '-')}`,
        version: '0.1.0',
        private: true,
        type: 'module',
        // Not "publish": that name is npm's and pnpm's own command. The key comes from CAIRN_API_KEY, so npm
        // and pnpm echo no secret when they print the script line.
        scripts: { build: 'cairn-plugin build', test: 'cairn-plugin test', 'cairn:publish': 'cairn-plugin publish' },
        dependencies: { '@cairn/plugin-sdk': sdk },
        devDependencies: { '@types/node': '^20.19.0', typescript: '~5.9.3', vitest: '^4.1.12' },
      },
      null,
      2,
    )}\n`,
    'vitest.config.mjs': `// Plugin tests run in the real isolated-vm sandbox, which needs --no-node-snapshot.
export default { test: { pool: 'forks', execArgv: ['--no-node-snapshot'], include: ['test/**/*.test.ts'], testTimeout: 30000 } };
`,
    'src/index.ts': `import { defineAction, definePlugin, httpError } from '@cairn/plugin-sdk';

/** Posts a message about the contact to your service. */
export const notify = defineAction({
  key: 'notify',
  title: 'Notify',
  description: 'Posts a message about the contact to your service',
  props: {
    type: 'object',
    properties: {
      message: { type: 'string', title: 'Message', minLength: 1 },
      base_url: { type: 'string', title: 'Service URL', default: 'https://api.example.com' },
    },
    required: ['message'],
  },
  run: async (ctx, props) => {
    const res = await ctx.http.fetch(\`\${props.base_url ?? 'https://api.example.com'}/notify\`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: \`Bearer \${ctx.secrets.api_key ?? ''}\`,
        'idempotency-key': ctx.idempotencyKey,
      },
      body: JSON.stringify({ message: props.message, email: ctx.contact.email }),
    });
    if (!res.ok) throw httpError('${id.toUpperCase()}', res.status, await res.text());
    ctx.log.info('notified', { status: res.status });
    const body = (await res.json()) as { id?: string };
    return { id: body.id ?? null, status: res.status };
  },
});

export default definePlugin({
  id: '${id}',
  name: '${name}',
  version: '0.1.0',
  description: '${name} for Cairn flows',
  allowedHosts: ['api.example.com'],
  auth: { type: 'object', properties: { api_key: { type: 'string', title: 'API key', minLength: 1 } }, required: ['api_key'] },
  actions: [notify],
});
`,
    'test/plugin.test.ts': `import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadPlugin, startTestServer, type LoadedPlugin, type TestServer } from '@cairn/plugin-sdk/testing';

// Runs the plugin in the same sandbox the engine uses, against a local server standing in for the real API.
const idempotencyKeys: unknown[] = [];
let server: TestServer;
let plugin: LoadedPlugin;

beforeAll(async () => {
  server = await startTestServer((req, res) => {
    idempotencyKeys.push(req.headers['idempotency-key']);
    res.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ id: 'msg_1' }));
  });
  plugin = await loadPlugin({
    entry: fileURLToPath(new URL('../src/index.ts', import.meta.url)),
    testHosts: [server.host],
    secrets: { api_key: 'test-key' },
  });
});
afterAll(async () => {
  await plugin?.dispose();
  await server?.close();
});

it('posts the message with the API key and the idempotency key', async () => {
  const out = await plugin.run('notify', { message: 'Welcome!', base_url: server.url }, { contact: { email: 'ana@example.com' }, idempotencyKey: 'run-1:notify' });
  expect(out).toEqual({ id: 'msg_1', status: 201 });
  expect(server.requests).toHaveLength(1);
  expect(server.requests[0]).toMatchObject({ method: 'POST', path: '/notify', contentType: 'application/json', authorization: 'Bearer test-key' });
  expect(server.requests[0]!.body).toEqual({ message: 'Welcome!', email: 'ana@example.com' });
  expect(idempotencyKeys).toEqual(['run-1:notify']);
});
`,
    'tsconfig.json': `${JSON.stringify(
      {
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          allowImportingTsExtensions: true,
          skipLibCheck: true,
          types: ['node'],
        },
        include: ['src', 'test'],
      },
      null,
      2,
    )}\n`,
    '.gitignore': 'node_modules\ndist\n',
    'README.md': `# ${name}\n\nA Cairn plugin. \`npx cairn-plugin test\` runs its tests in the sandbox, \`npx cairn-plugin build\` type-checks and writes \`dist/plugin.js\` and \`dist/manifest.json\`, and \`CAIRN_URL=<engine> CAIRN_API_KEY=<admin key> npx cairn-plugin publish\` uploads it.\n`,
  };
}
