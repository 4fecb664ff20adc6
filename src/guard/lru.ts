// A bounded key table that hands each key a slot number, reusing the least
// recently used key's slot when full. Callers keep their per-key state in an
// array indexed by slot, so a full table allocates nothing per new key.
//
// Why not a Map alone, with delete + set on touch and the first key evicted:
// V8's ordered hash tables leave deleted entries in place until the next
// rehash, and `map.keys().next()` walks over them, so evicting from the front
// costs O(deletions since the last rehash): about 5 µs per new key at 10,000
// keys, against about 250 ns here (bench/limiter-micro.ts). The recency order
// is a doubly linked list over slot numbers instead; the Map only finds a
// key's slot.

const NONE = -1;

export class LruSlots {
  readonly capacity: number;
  readonly #slots = new Map<string, number>();
  /** Slot → its key, to forget the key when its slot is reused. */
  readonly #keys: string[] = [];
  /** Slot → the next older / next newer slot; grown one slot at a time up to capacity. */
  readonly #older: number[] = [];
  readonly #newer: number[] = [];
  #oldest = NONE;
  #newest = NONE;

  constructor(capacity: number) {
    if (!(capacity >= 1)) throw new RangeError(`capacity must be at least 1, got ${capacity}`);
    this.capacity = capacity;
  }

  get size(): number {
    return this.#slots.size;
  }

  /**
   * The key's slot, now the most recently used. A key not held before gets a
   * free slot, or the least recently used key's, and is returned as
   * `-1 - slot` (that is, `~slot`) so the caller knows to reset its state.
   */
  touch(key: string): number {
    const slot = this.#slots.get(key);
    if (slot !== undefined) {
      if (slot !== this.#newest) {
        this.#unlink(slot);
        this.#append(slot);
      }
      return slot;
    }
    let fresh: number;
    if (this.#keys.length < this.capacity) {
      fresh = this.#keys.length;
      this.#keys.push(key);
      this.#older.push(NONE);
      this.#newer.push(NONE);
    } else {
      fresh = this.#oldest;
      this.#unlink(fresh);
      this.#slots.delete(this.#keys[fresh]);
      this.#keys[fresh] = key;
    }
    this.#slots.set(key, fresh);
    this.#append(fresh);
    return -1 - fresh;
  }

  #unlink(slot: number): void {
    const older = this.#older[slot];
    const newer = this.#newer[slot];
    if (older === NONE) this.#oldest = newer;
    else this.#newer[older] = newer;
    if (newer === NONE) this.#newest = older;
    else this.#older[newer] = older;
  }

  #append(slot: number): void {
    this.#older[slot] = this.#newest;
    this.#newer[slot] = NONE;
    if (this.#newest === NONE) this.#oldest = slot;
    else this.#newer[this.#newest] = slot;
    this.#newest = slot;
  }
}
