/**
 * Deterministic mutations of an object's bytes, for checking a native reader against the JS one
 * on malformed input: each copy has 1 to 3 bytes flipped (mostly one bit: framing and names) or
 * replaced, and one in ten is also cut short.
 */
export function* mutations(base: Uint8Array, count: number, seed: number): Generator<Buffer> {
  let s = seed;
  const rand = (n: number) => {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0;
    return s % n;
  };
  for (let i = 0; i < count; i++) {
    const b = Buffer.from(base);
    for (let k = 1 + rand(3); k > 0; k--) {
      const at = rand(b.length);
      b[at] = rand(4) === 0 ? rand(256) : b[at]! ^ (1 << rand(8));
    }
    yield rand(10) === 0 ? b.subarray(0, rand(b.length)) : b;
  }
}
