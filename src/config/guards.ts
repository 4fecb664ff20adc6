// The one resolver of guard blocks (guard-blocks.ts): a block's fields are
// taken field by field from the route's (or backend's) block, then the
// `defaults:` block, then the built-in defaults. `false` at either level
// turns the block off; a block that is not on by default is off unless
// configured at one of the two levels.
import { type BlockFields, GUARD_BLOCKS, type GuardName } from './guard-blocks.ts';
import type { RawConfig } from './schema.ts';

type Entry<N extends GuardName> = (typeof GUARD_BLOCKS)[N];
/** A block as written in the file: its mapping, `false`, or absent. */
export type GuardInput<N extends GuardName> = BlockFields<Entry<N>['schema']> | false | undefined;
/** What the rest of Cutover reads for the block. */
export type GuardOutput<N extends GuardName> = ReturnType<Entry<N>['finish']>;

/** What the resolver needs of any entry. */
interface MergeView {
  readonly defaults: object;
  readonly finish: (merged: Record<string, unknown>) => object;
}

export function resolveGuard<N extends GuardName>(
  name: N,
  own: GuardInput<N>,
  shared: GuardInput<N>,
  onByDefault: boolean = GUARD_BLOCKS[name].onByDefault,
): GuardOutput<N> | undefined {
  if (own === false) return undefined;
  if (own === undefined && shared === false) return undefined;
  if (own === undefined && shared === undefined && !onByDefault) return undefined;
  // Entries differ in type; merged below has exactly the fields this entry's finish expects.
  const entry = GUARD_BLOCKS[name] as unknown as MergeView;
  const merged: Record<string, unknown> = { ...entry.defaults };
  for (const level of [shared, own]) {
    if (!level) continue;
    for (const [field, value] of Object.entries(level)) {
      if (value !== undefined) merged[field] = value;
    }
  }
  return Object.freeze(entry.finish(merged)) as GuardOutput<N>;
}

type Route = RawConfig['routes'][number];

/**
 * Shadow copies are on with the defaults, unless configured, for a rollout
 * with a shadow phase: that phase needs them.
 */
export function shadowOnByDefault(route: Route, rolloutShadowFor: number): boolean {
  return route.rollout !== undefined && (route.rollout.shadowFor ?? rolloutShadowFor) > 0;
}
