// Work that costs about the same for one item as for many (a database round trip, a commit), done
// for items that arrive one by one: the first is done at once, and the ones that arrive while it
// runs wait and are done together in the next run (a group commit). No timer: nothing waits
// longer than the run before it.

export interface GroupedOptions {
  /** runs at once, at most */
  parallel?: number;
  /** items in one run, at most */
  size?: number;
}

/**
 * Wraps `run` (which gets a group of items and returns one result per item, in order) into a
 * function of one item. A run that throws rejects every item of its group with its error.
 */
export function grouped<I, O>(run: (items: I[]) => Promise<O[]>, o: GroupedOptions = {}): (item: I) => Promise<O> {
  const parallel = o.parallel ?? 1;
  const size = o.size ?? 100;
  const waiting: Array<{ item: I; resolve(o: O): void; reject(err: unknown): void }> = [];
  let running = 0;

  async function runGroup(group: typeof waiting): Promise<void> {
    try {
      const results = await run(group.map((w) => w.item));
      group.forEach((w, i) => w.resolve(results[i]!));
    } catch (err) {
      for (const w of group) w.reject(err);
    }
  }

  function pump(): void {
    while (running < parallel && waiting.length) {
      running++;
      void runGroup(waiting.splice(0, size)).finally(() => {
        running--;
        pump();
      });
    }
  }

  return (item) =>
    new Promise<O>((resolve, reject) => {
      waiting.push({ item, resolve, reject });
      pump();
    });
}
