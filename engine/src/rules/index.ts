export { compileCondition, type CompiledCondition, type ConditionFacts, type CompileConditionOptions } from './compile.ts';
export {
  registerCustomOperators,
  customOperators,
  builtinOperators,
  BUILTIN_OPERATOR_NAMES,
  CUSTOM_OPERATOR_NAMES,
  DECORATOR_NAMES,
  isKnownOperator,
  type NowSource,
} from './operators.ts';
export { checkCondition, SCORING_FACTS, type ConditionProblem } from './check.ts';
export { createReferenceEngine } from './reference.ts';
