import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A real local HTTP server standing in for a vendor's API in a plugin's tests: it records every request and
 * lets the test answer it. Node only, like the rest of `@cairn/plugin-sdk/testing`.
 */

/**
 * One request as {@link startTestServer} records it: what a vendor sees of a call, so that the request a vendor's own
 * library sends and the plugin's for the same operation can be compared with one `toEqual`.
 *
 * @example
 * const [official, ours] = server.requests;
 * expect(ours).toEqual(official);
 */
export interface RecordedRequest {
  method: string;
  /** The URL's path, without the query. */
  path: string;
  query: Record<string, string>;
  /** The media type of `content-type`, without its parameters (`application/json`), or `''`. */
  contentType: string;
  /** Parsed by the media type: JSON as a value, a form as `{ name: value }`, an empty body as `null`, others as text. */
  body: unknown;
  authorization: string | undefined;
}

/**
 * Answers one request of a {@link startTestServer} server; `body` is the whole request body as text. A handler that
 * throws answers 500 with the error's message.
 *
 * @example
 * const handler: TestServerHandler = (req, res, body) => res.writeHead(200, { 'content-type': 'application/json' }).end(body);
 */
export type TestServerHandler = (req: IncomingMessage, res: ServerResponse, body: string) => unknown;

/**
 * A server started by {@link startTestServer}.
 *
 * @example
 * const server = await startTestServer((req, res) => res.writeHead(200).end());
 * const plugin = await loadPlugin({ entry, testHosts: [server.host], secrets: { api_base_url: server.url } });
 */
export interface TestServer {
  /** `http://127.0.0.1:<port>`, to pass as the plugin's base URL. */
  readonly url: string;
  /** `127.0.0.1:<port>`, to pass in {@link LoadPluginOptions.testHosts}. */
  readonly host: string;
  /** Every request received so far, in order. */
  readonly requests: RecordedRequest[];
  /** Drops open connections and stops listening. */
  close(): Promise<void>;
}

function parseBody(contentType: string, text: string): unknown {
  if (!text) return null;
  if (contentType === 'application/x-www-form-urlencoded') return Object.fromEntries(new URLSearchParams(text));
  if (contentType === 'application/json' || contentType.endsWith('+json')) {
    try {
      return JSON.parse(text);
    } catch {
      return text;
    }
  }
  return text;
}

/**
 * Starts a local HTTP server on 127.0.0.1 (a free port) that records each request in `requests` and answers it with
 * `handler`.
 *
 * @example
 * import { loadPlugin, startTestServer } from '@cairn/plugin-sdk/testing';
 * const server = await startTestServer((req, res) => res.writeHead(201, { 'content-type': 'application/json' }).end('{"id":"L-1"}'));
 * const plugin = await loadPlugin({ entry: 'src/index.ts', testHosts: [server.host], secrets: { api_base_url: server.url } });
 * expect(await plugin.run('create_lead', { owner: 'ana@acme.com' })).toEqual({ lead_id: 'L-1' });
 * expect(server.requests[0]).toMatchObject({ method: 'POST', path: '/leads', contentType: 'application/json' });
 * await plugin.dispose();
 * await server.close();
 */
export async function startTestServer(handler: TestServerHandler): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      const url = new URL(req.url!, 'http://localhost');
      const contentType = String(req.headers['content-type'] ?? '').split(';')[0]!.trim();
      requests.push({
        method: req.method!, path: url.pathname, query: Object.fromEntries(url.searchParams), contentType,
        body: parseBody(contentType, body), authorization: req.headers.authorization,
      });
      Promise.resolve()
        .then(() => handler(req, res, body))
        .catch((e: unknown) => {
          if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain' });
          res.end(e instanceof Error ? e.message : String(e));
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const host = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `http://${host}`,
    host,
    requests,
    close: () => new Promise<void>((resolve, reject) => {
      server.closeAllConnections();
      server.close((e) => (e ? reject(e) : resolve()));
    }),
  };
}
