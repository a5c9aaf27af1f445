// Tensor allocation for a backend: its storage (backend.ts `BackendStorage`) when it has one,
// plain zero-filled Float32Arrays otherwise. Every place where the engine creates a tensor that
// kernels will touch goes through here (autograd's Graph, BufferPool, ParameterStore, AdamW, the
// cached decoder), so that a backend with its own memory (wasm) gets every tensor in it.

import type { Backend, BackendStorage } from "./backend.js";

/** A zero-filled Float32Array of n elements for `backend` (in its storage when it has one). */
export function allocFloat32(backend: Pick<Backend, "storage"> | null | undefined, n: number): Float32Array {
  const s = backend?.storage;
  return s === undefined ? new Float32Array(n) : s.allocFloat32(n);
}

/** `data` in `backend`'s storage: `data` itself without storage or when already there, else a copy. */
export function inStorage(backend: Pick<Backend, "storage"> | null | undefined, data: Float32Array): Float32Array {
  const s = backend?.storage;
  if (s === undefined || s.owns(data)) return data;
  const a = s.allocFloat32(data.length);
  a.set(data);
  return a;
}

/** Frees `a` when it came from `storage` (a plain array is left to the garbage collector). */
export function releaseFloat32(storage: BackendStorage | undefined, a: Float32Array): void {
  if (storage !== undefined && storage.owns(a)) storage.free(a);
}
