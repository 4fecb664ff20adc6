// The shadow of one route: its settings, whether a request gets a copy (and
// a noise probe), the slots and budget copies take, and the route's one set
// of results (compare's ShadowResults: the counts every reader shares).
import {
  type CompiledCompareRules,
  compileCompareRules,
  type NoiseEntry,
  NoiseTracker,
  type ProtoContext,
  type ProtoMethod,
  ProtoSchema,
  Redactor,
  restoredSamples,
  ShadowResults,
  type ShadowResultsJSON,
  type ShadowSample,
  ShadowView,
  type SkipReason,
} from '../compare/index.ts';
import type { ShadowConfig } from '../config/index.ts';
import type {
  Metrics,
  MinuteShadow,
  RouteShadowMetrics,
  ShadowPairFigures,
} from '../telemetry/index.ts';
import { SAFE_METHODS } from './body.ts';
import type { ShadowMemory } from './shadow-memory.ts';

/** Learned noise as the admin API shows it, with the lines to pin it into the config. */
export interface NoiseReport {
  readonly learning: boolean;
  /** Share of copies asked twice once the fast start is over. */
  readonly sample: number;
  /** Copies asked twice from the start (`learnNoise.first`). */
  readonly first: number;
  /** True until the first `first` probes are back: verdicts are still moving. */
  readonly fastStart: boolean;
  readonly pairs: number;
  readonly fields: readonly NoiseEntry[];
  readonly pin: { readonly compare: { readonly ignore: readonly string[] } };
}

/** What GET /api/routes/NAME/diffs returns. */
export interface RouteDiffs extends ShadowResultsJSON {
  readonly noise: NoiseReport;
}

export type PersistSamples = (samples: readonly ShadowSample[]) => Promise<void>;

/** The shadow settings and results of one route; kept across reloads while its settings do not change. */
export class RouteShadow {
  readonly key: string;
  readonly config: ShadowConfig;
  readonly compiled: CompiledCompareRules;
  readonly results: ShadowResults;
  /** Fields that differ between two legacy answers to the same request (learnNoise). */
  readonly noise: NoiseTracker;
  /** The protobuf types of `shadow.compare.protoset` / `protos`, for gRPC calls. */
  readonly schema: ProtoSchema | undefined;
  readonly #metrics: RouteShadowMetrics;
  /** The report's minute history of this route's pairs. */
  readonly #history: MinuteShadow;
  /** The process-wide budget, shared by every route and kept across reloads. */
  readonly memory: ShadowMemory;
  #inFlight = 0;

  /** Samples kept in the state store before this process started (shown until new ones replace them). */
  readonly restored: readonly ShadowSample[];
  readonly #persist: PersistSamples | undefined;
  #persistTimer: NodeJS.Timeout | undefined;

  /** `restored`: what the state store held for this route (checked here, as it comes from disk). */
  constructor(
    route: string,
    config: ShadowConfig,
    metrics: Metrics,
    memory: ShadowMemory,
    previous?: RouteShadow,
    persist?: PersistSamples,
    restored?: unknown,
  ) {
    this.#persist = persist;
    this.memory = memory;
    this.restored = previous?.restored ?? restoredSamples(restored);
    this.key = JSON.stringify(config);
    this.config = config;
    this.compiled = compileCompareRules(config.compare);
    this.schema = config.proto === undefined ? undefined : new ProtoSchema(config.proto);
    this.noise =
      previous?.noise ?? new NoiseTracker(this.compiled, { learnFirst: config.learnFirst });
    if (previous !== undefined && previous.config.learnFirst !== config.learnFirst) {
      this.noise.startFastPhase(config.learnFirst);
    }
    const view = new ShadowView(
      this.compiled,
      new Redactor({ paths: config.redact.paths, headers: config.redact.headers }),
      this.schema,
    );
    // Results outlive a change of settings: the counts go on; values are shown by the new rules.
    this.results = previous?.results ?? this.#newResults(route, view);
    if (previous) this.results.useView(view);
    const results = this.results;
    this.#history = metrics.history.shadow(route);
    this.#metrics = metrics.forRouteShadow(route, () => {
      const t = results.tally();
      return t.compared === 0 ? 0 : t.mismatched / t.compared;
    });
  }

  #newResults(route: string, view: ShadowView): ShadowResults {
    return new ShadowResults({
      route,
      samples: this.config.samples,
      noise: this.noise,
      view,
    });
  }

  /**
   * Whether this copy also asks legacy a second time: the first
   * `learnNoise.first` copies, then a `learnNoise.sample` of them; safe
   * requests only (never a write twice).
   */
  wantsNoiseProbe(safe: boolean): boolean {
    return (
      this.config.learnNoise > 0 &&
      safe &&
      this.noise.wantsProbe(this.config.learnNoise, Math.random())
    );
  }

  /** The described method of a gRPC path, if the route has descriptors that name it. */
  grpcMethod(path: string): ProtoMethod | undefined {
    return this.schema?.method(path);
  }

  /** How the answers of a gRPC call on `path` are decoded for the comparison. */
  protoContext(path: string): ProtoContext {
    return { schema: this.schema, path };
  }

  /**
   * Whether a request is safe to send twice: a safe HTTP method, or a gRPC
   * call (always a POST) whose method the descriptors mark
   * `idempotency_level = NO_SIDE_EFFECTS`.
   */
  isSafe(method: string, grpcPath: string | undefined): boolean {
    if (grpcPath === undefined) return SAFE_METHODS.has(method);
    return this.grpcMethod(grpcPath)?.sideEffectFree === true;
  }

  noiseReport(): NoiseReport {
    const noisy = [...this.noise.noisyPatterns()].sort();
    return {
      learning: this.config.learnNoise > 0,
      sample: this.config.learnNoise,
      first: this.config.learnFirst,
      fastStart: this.noise.learning,
      pairs: this.noise.pairs,
      fields: this.noise.snapshot(),
      pin: { compare: { ignore: noisy } },
    };
  }

  /**
   * Whether this request gets a shadow copy; counts the ones refused for
   * their method. `grpcPath`: the path of a gRPC call, whose method's
   * descriptors may say it streams (never copied, counted as `streaming`) or
   * that it has no side effects (copied without `writes`).
   */
  wants(method: string, grpcPath?: string): boolean {
    if (this.config.percent < 100 && Math.random() * 100 >= this.config.percent) return false;
    if (grpcPath !== undefined) {
      const described = this.grpcMethod(grpcPath);
      if (described !== undefined && (described.clientStreaming || described.serverStreaming)) {
        this.recordSkip('streaming');
        return false;
      }
    }
    if (!this.config.writes && !this.isSafe(method, grpcPath)) {
      this.recordSkip('method');
      return false;
    }
    return true;
  }

  /**
   * A slot for one more copy in flight, with its kept request body reserved
   * from the shadow memory budget; or false (counted as dropped or memory).
   */
  acquire(bodyBytes: number): boolean {
    if (this.#inFlight >= this.config.maxInFlight) {
      this.recordSkip('dropped');
      return false;
    }
    if (!this.memory.tryReserve(bodyBytes)) {
      this.recordSkip('memory');
      return false;
    }
    this.#inFlight++;
    return true;
  }

  release(): void {
    this.#inFlight--;
  }

  recordSkip(reason: SkipReason): void {
    this.results.recordSkip(reason);
    this.#metrics.skipped(reason);
  }

  /** A pair was recorded in `results`; `pair.match` is its verdict by the noise known at that moment. */
  compared(pair: ShadowPairFigures): void {
    const match = pair.match;
    this.#metrics.compared(match);
    this.#history.pair(pair);
    if (!match) this.#schedulePersist();
  }

  /** The answer of GET /api/routes/NAME/diffs, built once per call. */
  diffs(): RouteDiffs {
    const json = this.results.toJSON();
    return { ...json, samples: this.#withRestored(json.samples), noise: this.noiseReport() };
  }

  /** Live samples first, then those restored from the state store, newest `samples` in all. */
  samples(): ShadowSample[] {
    return this.#withRestored(this.results.samples());
  }

  #withRestored(live: readonly ShadowSample[]): ShadowSample[] {
    return [...live, ...this.restored].slice(0, this.config.samples);
  }

  /** The newest samples go to the state store at most once a second (redacted, bounded). */
  #schedulePersist(): void {
    if (!this.#persist || this.#persistTimer !== undefined) return;
    this.#persistTimer = setTimeout(() => {
      this.#persistTimer = undefined;
      void this.flush();
    }, 1000);
    this.#persistTimer.unref();
  }

  /** Write the current samples now (shutdown). */
  async flush(): Promise<void> {
    clearTimeout(this.#persistTimer);
    this.#persistTimer = undefined;
    const samples = this.results.samples();
    if (this.#persist && samples.length > 0) await this.#persist(samples).catch(() => {});
  }
}
