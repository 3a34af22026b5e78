/**
 * TensorBoard event files: TFRecords (u64 LE length, masked CRC-32C of the length,
 * data, masked CRC-32C of the data) each holding a `tensorflow.Event` protobuf. The
 * first event names the file version; every other carries one step's scalars as
 * `Summary.Value.simple_value`, which TensorBoard reads as scalar time series.
 */
import protobuf from 'protobufjs';
import { crc32c } from '@aws-crypto/crc32c';

/** The parts of tensorflow/core/util/event.proto and summary.proto a scalar writer needs (same field numbers). */
const PROTO = `
syntax = "proto3";
package tensorflow;
message Summary {
  message Value {
    string tag = 1;
    oneof value { float simple_value = 2; }
  }
  repeated Value value = 1;
}
message Event {
  double wall_time = 1;
  int64 step = 2;
  oneof what { string file_version = 3; Summary summary = 5; }
}
`;

/** The `tensorflow.Event` message type (exported for readers: tests decode with it). */
export const EventType = protobuf.parse(PROTO).root.lookupType('tensorflow.Event');

/** TFRecord's masked CRC-32C: rotate right by 15 and add a constant, so CRCs of CRCs stay well-distributed. */
export function maskedCrc32c(data: Uint8Array): number {
  const c = crc32c(data);
  return (((c >>> 15) | (c << 17)) + 0xa282ead8) >>> 0;
}

/** One TFRecord: length, its masked CRC, the data, its masked CRC. */
export function tfRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length + 4);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(data.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(data, 12);
  view.setUint32(12 + data.length, maskedCrc32c(data), true);
  return out;
}

/** The scalars of one step. */
export interface ScalarStep {
  step: number;
  /** Seconds since the Unix epoch. */
  wallTime: number;
  values: Record<string, number>;
}

/** A whole event file: the version record, then one record per step (non-finite values are left out). */
export function eventFile(steps: ScalarStep[], startWallTime: number): Uint8Array {
  const records = [tfRecord(EventType.encode(EventType.fromObject({ wallTime: startWallTime, fileVersion: 'brain.Event:2' })).finish())];
  for (const s of steps) {
    const value = Object.entries(s.values)
      .filter(([, v]) => Number.isFinite(v))
      .map(([tag, simpleValue]) => ({ tag, simpleValue }));
    records.push(tfRecord(EventType.encode(EventType.fromObject({ wallTime: s.wallTime, step: s.step, summary: { value } })).finish()));
  }
  return new Uint8Array(Buffer.concat(records));
}

/** Splits a file of TFRecords back into their data, checking both CRCs of each (for readers and tests). */
export function readTfRecords(bytes: Uint8Array): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Uint8Array[] = [];
  for (let at = 0; at < bytes.length;) {
    const len = Number(view.getBigUint64(at, true));
    if (view.getUint32(at + 8, true) !== maskedCrc32c(bytes.subarray(at, at + 8))) throw new Error(`TFRecord at byte ${at}: bad length CRC`);
    const data = bytes.subarray(at + 12, at + 12 + len);
    if (view.getUint32(at + 12 + len, true) !== maskedCrc32c(data)) throw new Error(`TFRecord at byte ${at}: bad data CRC`);
    out.push(data);
    at += 16 + len;
  }
  return out;
}
