import { describe, expect, it } from "vitest";
import { isArborError } from "../../../src/errors.js";
import { ByteBudget, mapLimit, Pool } from "../../../src/io/pool.js";

const tick = (ms = 1) => new Promise((r) => setTimeout(r, ms));

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

/** Tracks how many tasks run at once. */
function gauge() {
  const g = {
    active: 0,
    max: 0,
    started: 0,
    finished: 0,
    async task<T>(value: T, ms = 3): Promise<T> {
      g.active++;
      g.started++;
      g.max = Math.max(g.max, g.active);
      try {
        await tick(ms);
        return value;
      } finally {
        g.active--;
        g.finished++;
      }
    },
  };
  return g;
}

describe("mapLimit()", () => {
  it("never runs more than `limit` at once, reaches the limit, and keeps input order", async () => {
    const g = gauge();
    const items = Array.from({ length: 40 }, (_, i) => i);
    const out = await mapLimit(items, 4, (x) => g.task(x * 2, (x % 5) + 1));
    expect(out).toEqual(items.map((x) => x * 2));
    expect(g.max).toBe(4);
  });

  it("passes the index and handles empty input", async () => {
    expect(await mapLimit(["a", "b"], 8, async (x, i) => `${x}${i}`)).toEqual(["a0", "b1"]);
    expect(await mapLimit([], 3, async () => 1)).toEqual([]);
  });

  it("pulls lazily from an async iterable, at most `limit` items ahead", async () => {
    let pulled = 0;
    const g = gauge();
    async function* source() {
      for (let i = 0; i < 20; i++) {
        pulled++;
        yield i;
      }
    }
    const out = await mapLimit(source(), 3, async (x) => {
      expect(pulled - g.finished).toBeLessThanOrEqual(3);
      return g.task(x);
    });
    expect(out).toEqual(Array.from({ length: 20 }, (_, i) => i));
    expect(g.max).toBe(3);
  });

  it("stops at the first error: nothing new starts, in-flight work finishes first", async () => {
    const g = gauge();
    const items = Array.from({ length: 50 }, (_, i) => i);
    const e = await rejection(
      mapLimit(items, 3, async (x) => {
        if (x === 4) {
          await tick(1);
          throw new Error("boom at 4");
        }
        return g.task(x, 10);
      }),
    );
    expect((e as Error).message).toBe("boom at 4");
    expect(g.active).toBe(0); // nothing still running after the rejection
    expect(g.started).toBeLessThan(10);
  });

  it("propagates an error thrown by the iterable and closes a generator stopped early", async () => {
    let closed = false;
    async function* failing() {
      yield 1;
      throw new Error("source broke");
    }
    expect(((await rejection(mapLimit(failing(), 2, async (x) => x))) as Error).message).toBe("source broke");

    function* endless() {
      try {
        for (let i = 0; ; i++) yield i;
      } finally {
        closed = true;
      }
    }
    await rejection(
      mapLimit(endless(), 2, async (x) => {
        if (x === 3) throw new Error("stop");
        return x;
      }),
    );
    expect(closed).toBe(true);
  });

  it("aborts with ABORTED", async () => {
    const ac = new AbortController();
    const g = gauge();
    const p = mapLimit(
      Array.from({ length: 100 }, (_, i) => i),
      2,
      (x) => g.task(x, 5),
      ac.signal,
    );
    setTimeout(() => ac.abort(), 12);
    expect(isArborError(await rejection(p), "ABORTED")).toBe(true);
    expect(g.started).toBeLessThan(100);
    expect(isArborError(await rejection(mapLimit([1], 1, async (x) => x, ac.signal)), "ABORTED")).toBe(true);
  });

  it("rejects a bad limit", async () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) {
      await expect(mapLimit([1], bad, async (x) => x)).rejects.toThrow(RangeError);
    }
  });
});

describe("Pool", () => {
  it("limits concurrency and applies backpressure to run()", async () => {
    const g = gauge();
    const pool = new Pool(3);
    for (let i = 0; i < 20; i++) {
      await pool.run(() => g.task(i, 2));
      expect(pool.active).toBeLessThanOrEqual(3);
    }
    await pool.drain();
    expect(g.finished).toBe(20);
    expect(g.max).toBe(3);
    expect(pool.active).toBe(0);
  });

  it("drain() throws the first error and run() refuses new work after a failure", async () => {
    const pool = new Pool(2);
    await pool.run(async () => {
      await tick(2);
      throw new Error("first");
    });
    await pool.run(async () => {
      await tick(8);
      throw new Error("second");
    });
    await tick(5);
    expect(((await rejection(pool.run(async () => {}))) as Error).message).toBe("first");
    expect(((await rejection(pool.drain())) as Error).message).toBe("first");
    expect(pool.active).toBe(0);
  });

  it("run() throws an earlier failure or an abort only after every started task has settled", async () => {
    const pool = new Pool(3);
    let slowDone = false;
    await pool.run(async () => {
      await tick(2);
      throw new Error("first");
    });
    await pool.run(async () => {
      await tick(30);
      slowDone = true;
    });
    await tick(5);
    expect(((await rejection(pool.run(async () => {}))) as Error).message).toBe("first");
    expect(slowDone).toBe(true);
    expect(pool.active).toBe(0);

    const ac = new AbortController();
    const aborted = new Pool(2, ac.signal);
    let running = true;
    await aborted.run(async () => {
      await tick(30);
      running = false;
    });
    ac.abort();
    expect(isArborError(await rejection(aborted.run(async () => {})), "ABORTED")).toBe(true);
    expect(running).toBe(false);
  });

  it("aborts with ABORTED", async () => {
    const ac = new AbortController();
    const pool = new Pool(1, ac.signal);
    await pool.run(() => tick(5));
    ac.abort();
    expect(isArborError(await rejection(pool.run(async () => {})), "ABORTED")).toBe(true);
    expect(isArborError(await rejection(pool.drain()), "ABORTED")).toBe(true);
  });

  it("rejects a bad limit", () => {
    expect(() => new Pool(0)).toThrow(RangeError);
  });
});

describe("ByteBudget", () => {
  it("lets takers in while they fit, first come first served, and others in as bytes come back", async () => {
    const b = new ByteBudget(100);
    const order: string[] = [];
    await b.take(60);
    const big = b.take(50).then(() => order.push("big"));
    const small = b.take(10).then(() => order.push("small")); // fits, but waits behind `big`
    await tick();
    expect(order).toEqual([]);
    expect(b.inUse).toBe(60);
    b.give(60);
    await Promise.all([big, small]);
    expect(order).toEqual(["big", "small"]);
    expect(b.inUse).toBe(60);
  });

  it("lets a request larger than the whole budget in alone", async () => {
    const b = new ByteBudget(10);
    await b.take(5);
    let admitted = false;
    const huge = b.take(1000).then(() => {
      admitted = true;
    });
    await tick();
    expect(admitted).toBe(false);
    b.give(5);
    await huge;
    expect(b.inUse).toBe(1000);
    b.give(1000);
    expect(b.inUse).toBe(0);
  });

  it("refuses a limit that is not a positive integer", () => {
    expect(() => new ByteBudget(0)).toThrow(RangeError);
    expect(() => new ByteBudget(1.5)).toThrow(RangeError);
  });
});
