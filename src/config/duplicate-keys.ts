// YAML 1.2 §3.2.1.1: the keys of a mapping are unique. `yaml` checks this by
// comparing each new key with every earlier key of its mapping (its
// `uniqueKeys` option), so a mapping of n keys cost n² (20,000 keys: 7 s,
// 40,000: 24 s; issue 9). The parser runs with `uniqueKeys: false` and this
// one pass makes the same check with a set per mapping.
import { type Document, isScalar, visit } from 'yaml';

/** The message `yaml` itself gives, so a duplicate reads the same as before. */
export const DUPLICATE_KEY_MESSAGE = 'Map keys must be unique';

/**
 * Source offsets of the keys that repeat an earlier key of the same mapping.
 * Keys are equal as `yaml` compares them: scalars by value (so `1` and `"1"`
 * differ), other keys only by identity.
 */
export function duplicateKeyOffsets(doc: Document.Parsed): number[] {
  const offsets: number[] = [];
  visit(doc, {
    Map(_, map) {
      const seen = new Set<unknown>();
      for (const pair of map.items) {
        const key = pair.key;
        if (!isScalar(key)) continue;
        // NaN never equals itself, so `yaml` never called two .nan keys equal.
        if (typeof key.value === 'number' && Number.isNaN(key.value)) continue;
        if (seen.has(key.value)) offsets.push(key.range?.[0] ?? 0);
        else seen.add(key.value);
      }
    },
  });
  return offsets;
}
