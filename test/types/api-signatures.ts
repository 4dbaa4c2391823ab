// Compiled by the project's typecheck: the signatures and shapes docs/api.md writes out in its code blocks and
// tables are those the package declares (what a method takes and returns, the option interfaces, the result
// shapes), so the reference cannot drift from the declarations unnoticed.
import type {
  AbortError, ApplyOptions, ApplyResult, BoundService, ClosedError, CurrentService, Daemon, DaemonSpec, DesiredEntry, DesiredService,
  DesiredState, Destination, DestinationKey, DestinationSpec, DrainState, ExecuteOptions, ExportStateOptions, FamilyNotFoundError,
  Info, Ipvs, IpvsError, KernelError, OpenOptions, OperationBatch, OperationInput, OperationResult, Plan, PlanOptions, PlanStep,
  ReadBackDestinationSpec, ReadBackServiceSpec, ReadOptions, RequestOptions, Service, ServiceKey, ServiceSpec, Stats,
  StepFailure, StepNotAttempted, TimeoutError, Timeouts, Transport, ValidationError, WithoutStats,
} from '../../src/index.js';
import type { ExchangeResult, TransportReceiver } from '../../src/index.js';
import type { FakeInterface, FakeKernel, FakeKernelOptions, FakeTransportOptions, FaultTarget } from '../../src/testing/index.js';
import type {
  checkDesiredState, desiredDestinationOf, desiredServiceOf, normaliseDesiredState, parseDesiredState, planAgainst, readCurrent,
} from '../../src/index.js';

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
type Expect<T extends true> = T;
type Params<K extends keyof Ipvs> = Ipvs[K] extends (...args: infer P) => unknown ? P : never;
type Returns<K extends keyof Ipvs> = Ipvs[K] extends (...args: infer _P) => infer R ? R : never;

// Opening and closing.
export type OpenOptionsShape = Expect<Equal<keyof OpenOptions, 'netns' | 'transport' | 'timeoutMs' | 'receiveBufferSize'>>;
export type OpenNetns = Expect<Equal<OpenOptions['netns'], string | undefined>>;
export type OpenTransport = Expect<Equal<OpenOptions['transport'], Transport | undefined>>;
export type Closing = Expect<Equal<Returns<'close'>, Promise<void>>>;
export type RequestOptionsShape = Expect<Equal<RequestOptions, { timeoutMs?: number; signal?: AbortSignal }>>;
export type ReadOptionsShape = Expect<Equal<keyof ReadOptions, 'timeoutMs' | 'signal' | 'stats'>>;
export type ReadStats = Expect<Equal<ReadOptions['stats'], boolean | undefined>>;

// Services.
export type AddService = Expect<Equal<Params<'addService'>[0], ServiceSpec | ReadBackServiceSpec>>;
export type UpdateService = Expect<Equal<Params<'updateService'>[0], ServiceSpec | ReadBackServiceSpec>>;
export type AddServiceResult = Expect<Equal<Returns<'addService'>, Promise<void>>>;
export type DeleteService = Expect<Equal<Params<'deleteService'>[0], ServiceKey>>;
export type GetService = Expect<Equal<Returns<'service'>, Promise<BoundService>>>;
export type HasService = Expect<Equal<Returns<'hasService'>, Promise<boolean>>>;
export type OneServiceOptions = Expect<Equal<[Params<'service'>[1], Params<'hasService'>[1]], [RequestOptions | undefined, RequestOptions | undefined]>>;
export type ServiceKeyForms = Expect<Equal<Extract<ServiceKey, { fwmark: number }>['family'], 'ipv4' | 'ipv6' | undefined>>;
export type ServiceKeyProtocol = Expect<Equal<Extract<ServiceKey, { address: string }>['protocol'], 'tcp' | 'udp' | 'sctp' | number>>;
export type ServiceRawFlags = Expect<Equal<Service['rawFlags'], number>>;
export type ServiceScheduler = Expect<Equal<Service['scheduler'], string>>;
export type ServiceStats = Expect<Equal<Service['stats'], Stats>>;

// Destinations.
export type AddDestination = Expect<Equal<Params<'addDestination'>, [key: ServiceKey, dest: DestinationSpec | ReadBackDestinationSpec, options?: RequestOptions]>>;
export type UpdateDestination = Expect<Equal<Params<'updateDestination'>[1], DestinationSpec | ReadBackDestinationSpec>>;
export type DeleteDestination = Expect<Equal<Params<'deleteDestination'>[1], DestinationKey>>;
export type DestinationKeyShape = Expect<Equal<keyof DestinationKey, 'address' | 'port'>>;
declare const ipvs: Ipvs;
const KEY = { protocol: 'tcp', address: '10.0.0.1', port: 80 } as const;
export type DestinationsRead = Expect<Equal<Awaited<ReturnType<typeof ipvs.destinations<{}>>>, Destination[]>>;
export type DestinationsWithoutStats = Expect<Equal<Awaited<ReturnType<typeof ipvs.destinations<{ stats: false }>>>, WithoutStats<Destination>[]>>;
export type ServicesRead = Expect<Equal<Awaited<ReturnType<typeof ipvs.services<{}>>>, BoundService[]>>;
export async function eachRun(): Promise<Destination[]> {
  for await (const run of ipvs.destinationsOfEach([KEY], { runLength: 8 })) for (const { service, destinations } of run) if (service === KEY) return destinations;
  return [];
}
export type DestinationNumbers = Expect<Equal<Destination['forwarding'], 'masq' | 'route' | 'tunnel' | 'local' | 'bypass' | number>>;
export type DestinationConns = Expect<Equal<Pick<Destination, 'activeConns' | 'inactiveConns' | 'persistentConns'>, { activeConns: number; inactiveConns: number; persistentConns: number }>>;
export type WithoutStatsHasNone = Expect<Equal<'stats' extends keyof WithoutStats<Destination> ? true : false, false>>;

// Timeouts, sync daemons, info, zero, flush.
export type TimeoutsShape = Expect<Equal<Timeouts, { tcp: number; tcpFin: number; udp: number }>>;
export type SetTimeouts = Expect<Equal<Params<'setTimeouts'>[0], Partial<Timeouts>>>;
export type Daemons = Expect<Equal<Returns<'daemons'>, Promise<Daemon[]>>>;
export type StartDaemon = Expect<Equal<Params<'startDaemon'>[0], DaemonSpec>>;
export type DaemonSpecShape = Expect<Equal<keyof DaemonSpec, 'state' | 'interface' | 'syncId' | 'syncMaxLen' | 'mcastGroup' | 'mcastPort' | 'mcastTtl'>>;
export type StopDaemon = Expect<Equal<Params<'stopDaemon'>[0], 'master' | 'backup'>>;
export type InfoShape = Expect<Equal<keyof Info, 'version' | 'versionCode' | 'connectionTableSize'>>;
export type InfoResult = Expect<Equal<Returns<'info'>, Promise<Info>>>;
export type Zero = Expect<Equal<Params<'zero'>[0], ServiceKey | undefined>>;
export type Flush = Expect<Equal<Returns<'flush'>, Promise<void>>>;

// Bulk.
export type ExecuteInput = Expect<Equal<Params<'execute'>[0], readonly OperationInput[] | OperationBatch>>;
export type ExecuteResult = Expect<Equal<Returns<'execute'>, Promise<OperationResult[]>>>;
export type ExecuteOptionsShape = Expect<Equal<ExecuteOptions, { stopOnError?: boolean; signal?: AbortSignal; timeoutMs?: number; window?: number }>>;
export type OperationResultShape = Expect<Equal<OperationResult, { readonly ok: true } | { readonly ok: false; readonly error: IpvsError } | { readonly skipped: true }>>;

// Declarative state.
export type PlanCall = Expect<Equal<Params<'plan'>, [desired: DesiredState, options?: PlanOptions]>>;
export type PlanResult = Expect<Equal<Returns<'plan'>, Promise<Plan>>>;
export type ApplyCall = Expect<Equal<Params<'apply'>, [desired: DesiredState, options?: ApplyOptions]>>;
export type ApplyReturn = Expect<Equal<Returns<'apply'>, Promise<ApplyResult>>>;
export type ExportCall = Expect<Equal<Params<'exportState'>, [options?: ExportStateOptions]>>;
export type ExportReturn = Expect<Equal<Returns<'exportState'>, Promise<DesiredState>>>;
export type PlanOptionsShape = Expect<Equal<keyof PlanOptions, 'prune' | 'drain' | 'now' | 'signal'>>;
export type Prune = Expect<Equal<PlanOptions['prune'], boolean | ((s: Service) => boolean) | undefined>>;
export type ApplyOptionsShape = Expect<Equal<Exclude<keyof ApplyOptions, keyof PlanOptions>, 'dryRun' | 'stopOnError'>>;
export type ExportOptionsShape = Expect<Equal<ExportStateOptions, { signal?: AbortSignal }>>;
export type ApplyResultShape = Expect<Equal<keyof ApplyResult, 'plan' | 'dryRun' | 'ok' | 'drainState' | 'applied' | 'failed' | 'notAttempted'>>;
export type ApplyResultLists = Expect<Equal<[ApplyResult['applied'], ApplyResult['failed'], ApplyResult['notAttempted'], ApplyResult['drainState']], [PlanStep[], StepFailure[], StepNotAttempted[], DrainState]>>;
export type StepFailureShape = Expect<Equal<StepFailure, { step: PlanStep; error: IpvsError }>>;
export type StepNotAttemptedShape = Expect<Equal<StepNotAttempted, { step: PlanStep; reason: string }>>;
export type DesiredStateShape = Expect<Equal<DesiredState['services'], readonly DesiredService[]>>;
export type DesiredServiceDestinations = Expect<Equal<DesiredService['destinations'], readonly DestinationSpec[] | undefined>>;
export type ParseDesiredStateInput = Expect<Equal<Parameters<typeof parseDesiredState>[0], string | Uint8Array>>;
export type CheckDesiredState = Expect<Equal<Parameters<typeof checkDesiredState>, [value: unknown]>>;
export type NormaliseDesiredState = Expect<Equal<ReturnType<typeof normaliseDesiredState>, Map<string, DesiredEntry>>>;
export type ReadCurrent = Expect<Equal<Awaited<ReturnType<typeof readCurrent>>, Map<string, CurrentService>>>;
export type PlanAgainst = Expect<Equal<ReturnType<typeof planAgainst>, Plan>>;
export type DesiredServiceOf = Expect<Equal<ReturnType<typeof desiredServiceOf>, DesiredService>>;
export type DesiredDestinationOf = Expect<Equal<ReturnType<typeof desiredDestinationOf>, DestinationSpec>>;
export type CurrentServiceShape = Expect<Equal<keyof CurrentService, 'service' | 'norm' | 'destinations' | 'inSync'>>;

// Stats: counters bigint, rates number.
export type StatsCounters = Expect<Equal<Stats['conns'] | Stats['inPackets'] | Stats['outPackets'] | Stats['inBytes'] | Stats['outBytes'], bigint>>;
export type StatsRates = Expect<Equal<Stats['cps'] | Stats['inPps'] | Stats['outPps'] | Stats['inBps'] | Stats['outBps'], number>>;

// Errors: the classes' codes and fields as the table gives them.
export type ValidationCode = Expect<Equal<ValidationError['code'], 'EINVALIDARG'>>;
export type TimeoutCode = Expect<Equal<TimeoutError['code'], 'ETIMEDOUT'>>;
export type AbortCode = Expect<Equal<AbortError['code'], 'ABORT_ERR'>>;
export type ClosedCode = Expect<Equal<ClosedError['code'], 'ECLOSED'>>;
export type FamilyCode = Expect<Equal<FamilyNotFoundError['code'], 'ENOFAMILY'>>;
export type TimeoutSent = Expect<Equal<TimeoutError['sent'], boolean | undefined>>;
export type KernelFields = Expect<Equal<Pick<KernelError, 'errno' | 'operation'>, { readonly errno: number; readonly operation: string }>>;

// Transport: the members the block in docs/api.md lists, optional ones optional.
export type TransportShape = Expect<Equal<Transport, {
  readonly portId: number;
  readonly receiveBufferSize: number;
  attach(receiver: TransportReceiver): void;
  send(datagram: Uint8Array): Promise<void>;
  hold?(busy: boolean): void;
  close(): Promise<void>;
  receive?(): boolean;
  readonly answersInOrder?: boolean;
  readonly maxDatagramSize?: number;
  exchange?(datagram: Uint8Array, take: (view: Buffer) => boolean): ExchangeResult;
  drain?(): void;
}>>;

// Fake kernel: the options, the transport's options, an interface and a fault's target, as listed.
export type FakeOptionsShape = Expect<Equal<keyof FakeKernelOptions,
  'interfaces' | 'ipv4LocalTable' | 'schedulers' | 'persistenceEngines' | 'ipv6' | 'hz' | 'connTableSize' | 'familyId' | 'dumpBudget'
  | 'shuffleDumps' | 'random' | 'u64Padding' | 'idleDaemonThreads'>>;
export type FakeTransportShape = Expect<Equal<keyof FakeTransportOptions, 'receiveBufferSize' | 'capAck' | 'extendedAck'>>;
export type FakeInterfaceShape = Expect<Equal<keyof FakeInterface, 'name' | 'mtu' | 'addresses' | 'up' | 'linkLocal'>>;
export type FaultTargetShape = Expect<Equal<keyof FaultTarget, 'command' | 'after' | 'transport' | 'where'>>;
export type FakeTransportCall = Expect<Equal<Parameters<FakeKernel['transport']>, [options?: FakeTransportOptions]>>;
export type FakeFaults = Expect<Equal<
  Extract<keyof FakeKernel, 'failNext' | 'dropReplies' | 'delayReplies' | 'overflowReplies' | 'overflowReceiveBuffer' | 'interruptNextDumps'
    | 'setUnprivileged' | 'setFamilyMissing' | 'unloadIpvs' | 'loadIpvs' | 'reloadIpvs' | 'clearFaults' | 'reset' | 'state' | 'requests'
    | 'requestLog' | 'setStats' | 'bumpStats' | 'familyId' | 'pendingFaults' | 'openTransports'>,
  'failNext' | 'dropReplies' | 'delayReplies' | 'overflowReplies' | 'overflowReceiveBuffer' | 'interruptNextDumps' | 'setUnprivileged'
  | 'setFamilyMissing' | 'unloadIpvs' | 'loadIpvs' | 'reloadIpvs' | 'clearFaults' | 'reset' | 'state' | 'requests' | 'requestLog' | 'setStats'
  | 'bumpStats' | 'familyId' | 'pendingFaults' | 'openTransports'>>;
