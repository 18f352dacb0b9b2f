import { Engine } from 'json-rules-engine';
import { registerCustomOperators, type NowSource } from './operators.ts';

/**
 * A plain json-rules-engine `Engine` holding one rule, with Cairn's custom operators: the reference the
 * compiled evaluator is measured and checked against (tests, W4). Resolves true when the rule holds.
 */
export function createReferenceEngine(rule: unknown, clock: NowSource): { engine: Engine; evaluate: (facts: object) => Promise<boolean> } {
  const engine = new Engine();
  registerCustomOperators(engine, clock);
  engine.addRule({ conditions: structuredClone(rule) as never, event: { type: 'match' } });
  return {
    engine,
    evaluate: async (facts) => (await engine.run(facts as Record<string, unknown>)).results.length > 0,
  };
}
