import { pino, type Logger } from 'pino';

export type { Logger };

/** The one logger factory. Child loggers carry stable keys: workspaceId, flowId, runId, nodeId, jobId, pluginId. */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino({ level, base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, destination as never);
}
