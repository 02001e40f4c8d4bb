// glibc malloc's settings for the processes that `ab` and bench:parity measure: the same on every
// side, appended to whatever GLIBC_TUNABLES the caller set.

/** malloc madvises its large blocks for transparent huge pages, where ggml keeps the weights */
export const HUGEPAGES_TUNABLE = 'glibc.malloc.hugetlb=1';
/**
 * malloc maps every block over 128 KiB on its own: glibc's starting threshold, held there. glibc
 * otherwise raises it after the first large free (up to 32 MB), so a reloaded model's KV caches and
 * compute buffers come from a heap where they land differently from load to load, and each load
 * draws an encode and decode speed of its own (docs/store.md)
 */
export const FIXED_MMAP_TUNABLE = 'glibc.malloc.mmap_threshold=131072';

export interface MallocSettings {
  hugepages: boolean;
  fixedMmap: boolean;
}

/**
 * GLIBC_TUNABLES for a side's process: `base` (the caller's) with the settings asked for after it,
 * except one the caller set itself (its value stands: glibc would take the last one)
 */
export function sideTunables(base: string | undefined, o: MallocSettings): string | undefined {
  const name = (t: string) => t.split('=')[0];
  const own = new Set((base ?? '').split(':').map(name));
  const add = [...(o.fixedMmap ? [FIXED_MMAP_TUNABLE] : []), ...(o.hugepages ? [HUGEPAGES_TUNABLE] : [])].filter((t) => !own.has(name(t)));
  if (add.length === 0) return base;
  return [...(base ? [base] : []), ...add].join(':');
}
