import type { Run } from '../api/types.ts';
import { JsonView } from '../ui/common.tsx';

type Step = NonNullable<Run['steps']>[number];

/**
 * A step's error and its plugin log lines, as the run's timeline shows them when the step is opened: the error's
 * fields, its stack (a plugin's, in the plugin's source files when it was published with its source map) as text,
 * and the `ctx.log` / `console` lines kept on the step.
 */
export function StepDiagnostics({ step }: { step: Step }) {
  const { stack, ...error } = (step.error && typeof step.error === 'object' ? step.error : {}) as { stack?: unknown } & Record<string, unknown>;
  const logs = step.logs ?? [];
  return (
    <>
      {step.error ? <><div className="small muted">Error</div><JsonView value={typeof step.error === 'object' ? error : step.error} /></> : null}
      {typeof stack === 'string' && stack ? <><div className="small muted">Stack trace</div><pre className="tl-stack" aria-label="Stack trace">{stack}</pre></> : null}
      {logs.length ? (
        <>
          <div className="small muted">Logs</div>
          <ol className="tl-logs" aria-label="Log lines">
            {logs.map((l, i) => (
              <li key={i} className={`tl-log tl-log-${l.level}`}>
                <span className="muted small">{l.at.slice(11, 23)} {l.level}{l.source === 'console' ? ' (console)' : ''}</span> {l.message}
                {l.fields ? <> <code className="small">{JSON.stringify(l.fields)}</code></> : null}
              </li>
            ))}
          </ol>
        </>
      ) : null}
    </>
  );
}
