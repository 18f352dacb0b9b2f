import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../config/index.ts';
import type { ApiComponents } from '../contracts/index.ts';
import { ApiError, createApiClient, ok, type Answered, type ApiClient } from '../contracts/client.ts';
import type { FlowDocument } from '../contracts/flow.ts';
import { parseCommand, UsageError, type Io } from './args.ts';
import type { Command } from './commands.ts';
import {
  diffFlows, draftEtag, FLOW_FILE_SUFFIX, formatFlowFile, keyFromName, readFlowFiles, readState, sameDocument, STATE_FILE, writeFileAtomic,
  writeState, type FlowFile, type SyncState,
} from './flow-files.ts';

/**
 * `cairn flows pull|push|diff <dir>`: a directory of `cairn.flow/v1` files kept in step with a workspace of a running
 * engine, over its HTTP API (CAIRN_URL, CAIRN_API_KEY or --url, --api-key), flow by flow matched by key.
 */

const CONNECTION = `  --url <url>        the engine (default: CAIRN_URL)
  --api-key <key>    an API key of the workspace (default: CAIRN_API_KEY; prefer the variable, a flag shows in ps)`;

const connectionOptions = { url: { type: 'string' }, 'api-key': { type: 'string' } } as const;

type FlowSummary = ApiComponents['schemas']['FlowSummary'];
/** A flow with its draft read as the cairn.flow/v1 document it is (the API types a draft loosely: it may be incomplete). */
type FlowDetail = Omit<ApiComponents['schemas']['Flow'], 'draft'> & { draft: FlowDocument };
const detail = (flow: ApiComponents['schemas']['Flow']): FlowDetail => ({ ...flow, draft: flow.draft as unknown as FlowDocument });

class RemoteError extends Error {
  override name = 'RemoteError';
  constructor(message: string, readonly status: number) {
    super(message);
  }
}

/** The engine's HTTP API (the typed client) with one workspace's key. Messages name the request, never the key. */
class Remote {
  private readonly api: ApiClient;
  constructor(private readonly base: string, apiKey: string) {
    this.api = createApiClient({ baseUrl: base, apiKey });
  }

  /** The answer of one call, or a RemoteError whose message says what to do. */
  private async call<T>(what: string, call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<Answered<T>> {
    try {
      return await ok(call);
    } catch (err) {
      if (err instanceof SyntaxError) {
        // Not the engine answering (a proxy's error page, another service on that port).
        throw new RemoteError(`${what}: the answer is not JSON: is ${this.base} a Cairn engine?`, 0);
      }
      if (!(err instanceof ApiError)) {
        throw new Error(`cannot reach the engine at ${this.base} (${(err as Error).message}); is it running? (CAIRN_URL / --url)`, { cause: err });
      }
      if (err.status === 401) throw new RemoteError(`the engine at ${this.base} refused the API key (401): check CAIRN_API_KEY / --api-key`, 401);
      const items = err.errors.slice(0, 5).map((e) => `\n    ${e.path || '(document)'}: ${e.message}`).join('');
      throw new RemoteError(`${what}: ${err.status} ${err.message}${items}`, err.status);
    }
  }

  async workspace(): Promise<{ id: string; slug: string }> {
    return (await this.call('GET /v1/auth/me', this.api.GET('/v1/auth/me'))).workspace;
  }

  /** Every flow of the workspace but archived ones. */
  async flows(): Promise<FlowSummary[]> {
    const all: FlowSummary[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.call('GET /v1/flows', this.api.GET('/v1/flows', { params: { query: { limit: 500, cursor } } }));
      all.push(...page.items);
      cursor = page.next_cursor ?? undefined;
    } while (cursor);
    return all.filter((f) => f.status !== 'archived');
  }

  async flow(id: string): Promise<FlowDetail> {
    return detail(await this.call(`GET /v1/flows/${id}`, this.api.GET('/v1/flows/{id}', { params: { path: { id } } })));
  }

  async setKey(id: string, key: string): Promise<void> {
    await this.call(`PUT /v1/flows/${id}/key`, this.api.PUT('/v1/flows/{id}/key', { params: { path: { id } }, body: { key } }));
  }

  async create(key: string, doc: FlowDocument): Promise<FlowDetail> {
    return detail(await this.call('POST /v1/flows', this.api.POST('/v1/flows', { params: { query: { key } }, body: doc })));
  }

  /** Replaces the draft; with `etag`, only if it is still that revision (If-Match: a 409 otherwise). */
  async saveDraft(id: string, doc: FlowDocument, etag?: string): Promise<FlowDetail> {
    const headers = etag ? { 'if-match': etag } : {};
    return detail(await this.call(`PUT /v1/flows/${id}/draft`, this.api.PUT('/v1/flows/{id}/draft', { params: { path: { id }, header: headers }, body: doc })));
  }

  async publish(id: string): Promise<number> {
    return (await this.call(`POST /v1/flows/${id}/publish`, this.api.POST('/v1/flows/{id}/publish', { params: { path: { id } }, body: {} }))).version;
  }

  async version(id: string, n: number): Promise<FlowDocument> {
    const v = await this.call(`GET /v1/flows/${id}/versions/${n}`, this.api.GET('/v1/flows/{id}/versions/{n}', { params: { path: { id, n } } }));
    return v.document as FlowDocument;
  }
}

function connect(values: { url?: string; 'api-key'?: string }, config: Readonly<Config>, usage: string): Remote {
  const url = values.url ?? config.remote.url;
  const apiKey = values['api-key'] ?? config.remote.apiKey;
  if (!url) throw new UsageError('the engine is unknown: set CAIRN_URL or pass --url', usage);
  if (!/^https?:\/\/\S+$/.test(url)) throw new UsageError(`--url must be an http(s) URL such as http://127.0.0.1:3000 (got "${url}")`, usage);
  if (!apiKey) throw new UsageError('no API key: set CAIRN_API_KEY or pass --api-key', usage);
  return new Remote(url.replace(/\/+$/, ''), apiKey);
}

function directory(positionals: string[], usage: string): string {
  const dir = positionals[0];
  if (!dir) throw new UsageError('<dir> is required', usage);
  return path.resolve(dir);
}

const fileName = (key: string) => `${key}${FLOW_FILE_SUFFIX}`;

function synced(state: SyncState, ws: { id: string; slug: string }) {
  const entry = (state.workspaces[ws.id] ??= { slug: ws.slug, flows: {} });
  entry.slug = ws.slug;
  return entry.flows;
}

/** Keyed flows of the workspace (giving keyless ones a key when `assign`), by key. */
async function keyedFlows(remote: Remote, io: Io, opts: { assign: boolean; localKeys: Iterable<string> }): Promise<Map<string, FlowSummary>> {
  const flows = await remote.flows();
  const byKey = new Map(flows.filter((f) => f.key).map((f) => [f.key!, f]));
  if (!opts.assign) return byKey;
  const taken = new Set([...byKey.keys(), ...opts.localKeys]);
  for (const f of flows.filter((x) => !x.key)) {
    const key = keyFromName(f.name, taken);
    await remote.setKey(f.id, key);
    taken.add(key);
    byKey.set(key, { ...f, key });
    io.out(`keyed    ${fileName(key)}  (flow "${f.name}" had no key)`);
  }
  return byKey;
}

const pull: Command = {
  summary: 'write the workspace\'s flows into a directory (<key>.flow.json)',
  usage: `Usage: cairn flows pull <dir> [--force] [--url <url>] [--api-key <key>]

Writes each flow's draft to <dir>/<key>.flow.json and records its revision in <dir>/${STATE_FILE}. A flow without
a key gets one made from its name. A file changed locally since the last pull is left alone and reported, unless
--force. Files already holding the workspace's draft are not rewritten.

${CONNECTION}
  --force            overwrite files changed locally`,
  async run(argv, config, io) {
    const { values, positionals, help } = parseCommand(argv, this.usage, { ...connectionOptions, force: { type: 'boolean' } }, { positionals: 1 });
    if (help) return printHelp(io, this.usage);
    const dir = directory(positionals, this.usage);
    const remote = connect(values, config, this.usage);
    const ws = await remote.workspace();
    await mkdir(dir, { recursive: true });
    const [files, state] = await Promise.all([readFlowFiles(dir), readState(dir)]);
    const flows = synced(state, ws);
    const remoteFlows = await keyedFlows(remote, io, { assign: true, localKeys: files.keys() });
    const kept: string[] = [];
    for (const [key, summary] of [...remoteFlows].sort(([a], [b]) => a.localeCompare(b))) {
      const flow = await remote.flow(summary.id);
      const local = files.get(key);
      const record = () => (flows[key] = { id: flow.id, etag: flow.draft_etag });
      if (local && sameDocument(local.doc, flow.draft)) {
        record();
        continue;
      }
      const changedLocally = local && draftEtag(local.doc) !== flows[key]?.etag;
      if (changedLocally && !values.force) {
        kept.push(fileName(key));
        continue;
      }
      await writeFileAtomic(path.join(dir, fileName(key)), formatFlowFile(flow.draft));
      record();
      io.out(`${local ? 'updated' : 'new    '}  ${fileName(key)}`);
    }
    for (const key of files.keys()) if (!remoteFlows.has(key)) io.out(`local    ${fileName(key)}  (not in workspace ${ws.slug}; push creates it)`);
    await writeState(dir, state);
    if (kept.length) {
      io.err(`cairn: not pulled, changed here since the last pull (push them, or pull --force to take the workspace's): ${kept.join(', ')}`);
      return 1;
    }
    io.out(`pulled workspace ${ws.slug} into ${dir}`);
    return 0;
  },
};

interface Planned { file: FlowFile; action: 'create' | 'update' | 'unchanged'; flow?: FlowDetail }

const push: Command = {
  summary: 'create or update the workspace\'s flows from a directory (--publish to publish them)',
  usage: `Usage: cairn flows push <dir> [--publish] [--force] [--url <url>] [--api-key <key>]

For each <dir>/<key>.flow.json: creates the flow with that key, or replaces its draft. Refuses, changing nothing,
when a flow's draft was changed in the workspace since this directory last pulled or pushed it (see
"cairn flows diff"), unless --force. Pushing the same files again changes nothing.

${CONNECTION}
  --publish          then publish every flow whose draft differs from its newest version
  --force            overwrite drafts changed in the workspace`,
  async run(argv, config, io) {
    const { values, positionals, help } = parseCommand(argv, this.usage, { ...connectionOptions, publish: { type: 'boolean' }, force: { type: 'boolean' } }, { positionals: 1 });
    if (help) return printHelp(io, this.usage);
    const dir = directory(positionals, this.usage);
    const remote = connect(values, config, this.usage);
    const files = await readFlowFiles(dir);
    if (!files.size) throw new Error(`no *${FLOW_FILE_SUFFIX} file in ${dir}`);
    const ws = await remote.workspace();
    const state = await readState(dir);
    const flows = synced(state, ws);
    const remoteFlows = await keyedFlows(remote, io, { assign: false, localKeys: [] });

    // Plan everything first: one conflict and nothing is written.
    const plan: Planned[] = [];
    const conflicts: string[] = [];
    for (const file of files.values()) {
      const summary = remoteFlows.get(file.key);
      if (!summary) {
        plan.push({ file, action: 'create' });
        continue;
      }
      const flow = await remote.flow(summary.id);
      if (sameDocument(file.doc, flow.draft)) {
        plan.push({ file, action: 'unchanged', flow });
        continue;
      }
      const base = flows[file.key];
      if (!values.force && base?.etag !== flow.draft_etag) {
        conflicts.push(base
          ? `${fileName(file.key)}: the draft of "${flow.name}" was changed in workspace ${ws.slug} since this directory last pulled or pushed it`
          : `${fileName(file.key)}: workspace ${ws.slug} already has a flow with key "${file.key}" whose draft differs, and this directory never pulled it`);
        continue;
      }
      plan.push({ file, action: 'update', flow });
    }
    if (conflicts.length) {
      io.err(`cairn: push refused, nothing was changed:\n  ${conflicts.join('\n  ')}\nSee the differences with "cairn flows diff ${positionals[0]}", then pull them ("cairn flows pull") or overwrite them ("cairn flows push --force").`);
      return 1;
    }

    let failed = false;
    for (const step of plan) {
      const { file } = step;
      try {
        let flow = step.flow;
        if (step.action === 'create') {
          flow = await remote.create(file.key, file.doc);
          io.out(`created  ${fileName(file.key)}`);
        } else if (step.action === 'update') {
          // If-Match: a save in the builder between our read and this write is refused by the engine (409), not lost.
          flow = await remote.saveDraft(flow!.id, file.doc, values.force ? undefined : flows[file.key]!.etag);
          io.out(`updated  ${fileName(file.key)}`);
        }
        flows[file.key] = { id: flow!.id, etag: flow!.draft_etag };
        if (values.publish && (await needsPublishing(remote, flow!))) {
          const version = await remote.publish(flow!.id);
          io.out(`published ${fileName(file.key)} as version ${version}`);
        }
      } catch (err) {
        if (!(err instanceof RemoteError)) throw err;
        failed = true;
        io.err(`cairn: ${fileName(file.key)}: ${err.status === 409 ? `${err.message}\n  the draft changed in the workspace while pushing; pull and push again` : err.message}`);
      }
    }
    await writeState(dir, state);
    if (failed) return 1;
    const unchanged = plan.filter((p) => p.action === 'unchanged').length;
    io.out(`pushed ${dir} to workspace ${ws.slug}${unchanged ? ` (${unchanged} unchanged)` : ''}`);
    return 0;
  },
};

/** A flow needs publishing when it has no version yet or its draft differs from the newest one. */
async function needsPublishing(remote: Remote, flow: FlowDetail): Promise<boolean> {
  if (flow.published_version === null) return true;
  return !sameDocument(await remote.version(flow.id, flow.published_version), flow.draft);
}

const diff: Command = {
  summary: 'show, node by node, how a directory differs from the workspace\'s flows',
  usage: `Usage: cairn flows diff <dir> [--url <url>] [--api-key <key>]

For each flow: "-" is the workspace's draft, "+" the file; nodes and edges added, removed or changed (with the
config values that differ), name and settings. Exits 0 either way.

${CONNECTION}`,
  async run(argv, config, io) {
    const { values, positionals, help } = parseCommand(argv, this.usage, connectionOptions, { positionals: 1 });
    if (help) return printHelp(io, this.usage);
    const dir = directory(positionals, this.usage);
    const remote = connect(values, config, this.usage);
    const files = await readFlowFiles(dir);
    const ws = await remote.workspace();
    const remoteFlows = await keyedFlows(remote, io, { assign: false, localKeys: [] });
    let differences = 0;
    for (const key of [...new Set([...files.keys(), ...remoteFlows.keys()])].sort()) {
      const file = files.get(key);
      const summary = remoteFlows.get(key);
      if (!summary) {
        io.out(`+ ${fileName(key)}: new flow "${file!.doc.name}" (${file!.doc.nodes?.length ?? 0} nodes); push creates it`);
      } else if (!file) {
        io.out(`- ${fileName(key)}: only in workspace ${ws.slug} ("${summary.name}"); pull writes it`);
      } else {
        const lines = diffFlows((await remote.flow(summary.id)).draft, file.doc);
        if (!lines.length) continue;
        io.out(`~ ${fileName(key)}\n${lines.map((l) => `  ${l}`).join('\n')}`);
      }
      differences++;
    }
    io.out(differences ? `${differences} flow(s) differ from workspace ${ws.slug}` : `no differences with workspace ${ws.slug}`);
    return 0;
  },
};

function printHelp(io: Io, usage: string): number {
  io.out(usage);
  return 0;
}

export const FLOW_COMMANDS: [string, Command][] = [
  ['flows pull', pull],
  ['flows push', push],
  ['flows diff', diff],
];
