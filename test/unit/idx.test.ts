import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { parseIdx } from '../../ml/data/idx.js';
import { InvalidInputError } from '../../contracts/errors.js';

function idx(shape: number[], data: number[], type = 0x08): Uint8Array {
  const head = Buffer.alloc(4 + 4 * shape.length);
  head[2] = type;
  head[3] = shape.length;
  shape.forEach((d, k) => head.writeUInt32BE(d, 4 + 4 * k));
  return Buffer.concat([head, Buffer.from(data)]);
}

test('parses plain and gzip IDX', () => {
  const raw = idx([2, 2, 2], [1, 2, 3, 4, 5, 6, 7, 8]);
  for (const bytes of [raw, gzipSync(raw)]) {
    const a = parseIdx(bytes, 'x.idx');
    assert.deepEqual(a.shape, [2, 2, 2]);
    assert.deepEqual(Array.from(a.data), [1, 2, 3, 4, 5, 6, 7, 8]);
  }
});

test('malformed files are rejected with an error naming the file and the defect', () => {
  const cases: [Uint8Array, RegExp][] = [
    [idx([2, 3], [1, 2, 3, 4, 5]), /bad\.idx: header declares shape \[2, 3\] = 6 values but the file holds 5/],
    [Buffer.from([1, 0, 8, 1, 0, 0, 0, 0]), /bad\.idx: bad IDX magic/],
    [idx([1], [1], 0x0d), /bad\.idx: unsupported IDX element type 0xd/],
    [Buffer.from([0, 0]), /bad\.idx: too short/],
    [Buffer.from([0x1f, 0x8b, 1, 2, 3]), /bad\.idx: not a valid gzip stream/],
  ];
  for (const [bytes, re] of cases) {
    assert.throws(
      () => parseIdx(bytes, 'bad.idx'),
      (e: Error) => e instanceof InvalidInputError && re.test(e.message) && (e as InvalidInputError).nonRetryable,
    );
  }
});
