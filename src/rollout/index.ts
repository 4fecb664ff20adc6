export type { ControllerOptions } from './controller.ts';
export { RolloutController } from './controller.ts';
export type { CheckFacts, Decision } from './decide.ts';
export { decide } from './decide.ts';
export type { GateInput, QueryFigure, SideFigures } from './gates.ts';
export { describeGate, evaluateGates } from './gates.ts';
export type { LedgerEntry } from './ledger.ts';
export { Ledger } from './ledger.ts';
export { queryPrometheus } from './prometheus.ts';
export type { RolloutRecord } from './state.ts';
export type {
  RolloutAction,
  RolloutStatus,
  RolloutTarget,
  RouteFigures,
  WindowView,
} from './target.ts';
export { ROLLOUT_ACTIONS } from './target.ts';
export type {
  Actor,
  ConfirmRequest,
  GateResult,
  GateStatus,
  RolloutEvent,
  RolloutStateName,
  ShadowTally,
  WebhookConfig,
  Who,
} from './types.ts';
export type { ConfirmOutcome } from './webhooks.ts';
export { Webhooks } from './webhooks.ts';
