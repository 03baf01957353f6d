/**
 * @file Float32 vectors in and out of SQLite BLOBs. Copies on the way out because
 * better-sqlite3 may hand back Buffers that share memory and need not be 4-byte aligned.
 */
export function toBlob(v: Float32Array): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

export function fromBlob(b: Buffer): Float32Array {
  const out = new Float32Array(b.byteLength / 4);
  new Uint8Array(out.buffer).set(b);
  return out;
}
