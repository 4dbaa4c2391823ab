// Health checks for IPVS real servers: HTTP(S), TCP, UDP or custom checks with rise/fall counts and jitter,
// a failed server quiesced (weight 0) or removed and restored when it recovers, a sorry server while
// every real server is down, events and log lines for every transition, and a table kept in line through
// the client. `ipvs health CONFIG` (src/cli/health.ts) runs it from a JSON file. See docs/health.md.

export { HealthChecker, type HealthCheckerOptions, type StopOptions } from './checker.js';
export { normaliseHealthConfig, parseHealthConfig, mergeCheck, DEFAULT_INTERVAL_MS, DEFAULT_TIMEOUT_MS, DEFAULT_RISE, DEFAULT_FALL } from './config.js';
export type { NormalHealthService, NormalRealServer, NormalDestination, NormalCheck, FullDestinationSpec } from './config.js';
export { ManualScheduler, systemScheduler, type HealthScheduler, type Timer } from './clock.js';
export type {
  CheckEvent,
  CheckFunction,
  CheckOverride,
  CheckResult,
  CheckSpec,
  CheckTarget,
  CheckTiming,
  ChangeEvent,
  CustomCheck,
  DestinationHealth,
  FailureAction,
  FailureEvent,
  HealthClient,
  HealthConfig,
  HealthDestination,
  HealthEvents,
  HealthLogger,
  HealthService,
  HealthStatus,
  HttpCheck,
  ServiceHealth,
  SorryEvent,
  TcpCheck,
  TransitionEvent,
  UdpCheck,
  UncheckedEvent,
} from './types.js';
