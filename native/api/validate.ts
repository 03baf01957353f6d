/**
 * @file Checks the arguments of API calls that arrive from outside the engine (HTTP, IPC),
 * so a bad request gets a clear 400-style error instead of reaching SQL or crashing.
 */
import { UserError } from '../common/user-error.ts';

export function int(v: unknown, name: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new UserError(`${name} must be a non-negative integer`);
  return v;
}

export function optInt(v: unknown, name: string, fallback: number, max = Number.MAX_SAFE_INTEGER): number {
  return v === undefined || v === null ? fallback : Math.min(int(v, name), max);
}

export function ints(v: unknown, name: string): number[] {
  if (!Array.isArray(v) || v.length === 0 || v.length > 100_000) throw new UserError(`${name} must be a non-empty list of ids`);
  // A list of ids names a set: [1, 1, 1] is one face, not three ("Moved 3 faces").
  return [...new Set(v.map((x, i) => int(x, `${name}[${i}]`)))];
}

export function str(v: unknown, name: string, maxLength = 10_000): string {
  if (typeof v !== 'string' || v.length > maxLength) throw new UserError(`${name} must be a string of at most ${maxLength} characters`);
  return v;
}

export function optStr(v: unknown, name: string): string | undefined {
  return v === undefined || v === null ? undefined : str(v, name);
}

export function bool(v: unknown, name: string, fallback?: boolean): boolean {
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'boolean') throw new UserError(`${name} must be true or false`);
  return v;
}
