// The WebAssembly module's heap: every tensor the engine asks the wasm backend for (its storage
// API, src/backend/wasm/storage.ts) and every scratch buffer of the kernels lives here, in the
// module's linear memory above the static data and the main stack.
//
// Contract: heap_alloc(bytes) returns a 64-byte aligned block of at least `bytes` bytes (contents
// unspecified), or nullptr when the memory cannot grow enough (its maximum is reached: the shared
// memory's declared maximum, or the fixed size of the single-threaded memory); heap_free(p)
// returns a block (nullptr is ignored). Only the calling thread allocates (the thread that calls
// the kernels and the JavaScript side's storage API): helpers never do, so there is no lock.
// Growing the memory never moves a block.
//
// Freestanding (wasm32 -nostdlib).
#pragma once
#include <stddef.h>
#include <stdint.h>

namespace par {

void* heap_alloc(size_t bytes);
void heap_free(void* p);
// Bytes in blocks handed out and not freed (for the storage API's statistics and the tests).
size_t heap_bytes_in_use();
// The memory's size in bytes (it only grows).
size_t heap_memory_bytes();

}  // namespace par
