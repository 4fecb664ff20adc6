// The schema of `modules.yaml` (docs/plan.md, "modules.yaml"): what traces
// cannot show — which services form a module, which remote services are data
// stores, shared columns and two-phase commits the spans do not carry, and the
// inputs of the cost model. Every field is optional: without the file each
// service is a module and data stores are recognised from span attributes.
import { z } from 'zod';

const name = z.string().min(1);

/** `service` or `service:operation` (the operation is the span name, matched exactly). */
const selector = z.string().regex(/^[^:\s][^:]*(:.+)?$/, {
  message: 'expected `service` or `service:operation`',
});

const dataStore = z.union([
  name,
  z.strictObject({
    name,
    /** Free text shown beside the store: `database`, `cache`, `queue` … */
    kind: z.string().min(1).optional(),
  }),
]);

const sharedEntry = z.strictObject({
  /** Two or more modules; every pair among them shares the columns. */
  modules: z.array(name).min(2),
  /** `database.table.column`, as the traces would name them (docs/plan.md). */
  columns: z.array(z.string().min(1)).min(1),
});

const twoPhaseEntry = z.strictObject({
  modules: z.array(name).length(2),
  /** Share of the two modules' transactions that commit in two phases (0..1). */
  share: z.number().min(0).max(1),
});

/** Cost inputs default to "no language gap" (skillFactor 1) and one team (teamSize 1). */
export const COST_DEFAULTS = { skillFactor: 1, teamSize: 1 } as const;

const costSchema = z.strictObject({
  /** People working on the migration at once; divides person-days into calendar days. */
  teamSize: z.number().int().min(1).default(COST_DEFAULTS.teamSize),
  /** Multiplier for the skill conversion, e.g. 1.8 for a large language gap (issue 13). */
  skillFactor: z.number().positive().default(COST_DEFAULTS.skillFactor),
  /** Person-days to rewrite one module before the skill factor. */
  baseDays: z.number().positive(),
  perModule: z.record(name, z.strictObject({ baseDays: z.number().positive() })).optional(),
});

export const modulesFileSchema = z.strictObject({
  modules: z.record(name, z.array(selector).min(1)).optional(),
  dataStores: z.array(dataStore).optional(),
  shared: z.array(sharedEntry).optional(),
  twoPhase: z.array(twoPhaseEntry).optional(),
  cost: costSchema.optional(),
});

export interface ModulesFile {
  /** Module name → its selectors; empty when the file names none (each service is a module). */
  readonly modules: Readonly<Record<string, readonly string[]>>;
  readonly dataStores: readonly { readonly name: string; readonly kind: string | undefined }[];
  readonly shared: readonly {
    readonly modules: readonly string[];
    readonly columns: readonly string[];
  }[];
  readonly twoPhase: readonly {
    readonly modules: readonly [string, string];
    readonly share: number;
  }[];
  readonly cost: CostInputs | undefined;
  /** Where it was read from, for messages. */
  readonly source: string;
}

export interface CostInputs {
  readonly teamSize: number;
  readonly skillFactor: number;
  readonly baseDays: number;
  readonly perModule: Readonly<Record<string, { readonly baseDays: number }>>;
}
