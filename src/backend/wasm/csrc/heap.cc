// The module's heap (contract: heap.h): a boundary-tag allocator over the linear memory above
// __heap_base, with size-binned free lists.
//
// Layout: blocks tile [start, top) without gaps. A block is a 16-byte header followed by its
// payload; block sizes are multiples of 64 bytes and blocks start 16 bytes before a 64-byte
// boundary, so every payload is 64-byte aligned (whole cache lines, and any SIMD access). A header
// records the block's size, its left neighbour's size (to coalesce to the left) and whether it is
// free. Invariant: no two free blocks are adjacent (a freed block merges with free neighbours).
// Free blocks sit in bin floor(log2(size / 64)), linked through their payload; a bitmap says which
// bins are non-empty. Allocation: first fit in the request's own bin, else the first block of the
// next non-empty bin (every block there is large enough), split when the rest is a whole block;
// when nothing fits, the last block (if free) is extended or a new one appended, growing the
// memory by whole pages.
//
// Freestanding (wasm32 -nostdlib).
#include "heap.h"

extern "C" unsigned char __heap_base;

namespace par {
namespace {

constexpr size_t kWasmPage = 65536;
constexpr size_t kGranule = 64;       // block size unit = payload alignment (a cache line)
constexpr size_t kHeaderBytes = 16;   // a Block header, before the payload
constexpr int kBins = 27;             // 64 B · 2^26 = 4 GiB: the whole wasm32 address space
constexpr uint32_t kMagic = 0x9a7e4b1d;  // marks a header (catches a free of a foreign pointer)

struct Block {
  uint32_t size;       // bytes of the block, header included (a multiple of kGranule)
  uint32_t prev_size;  // size of the block to the left (0 for the first block)
  uint32_t free;       // 1 when on a free list
  uint32_t magic;      // kMagic
  // While free, the payload starts with the list links.
  Block*& next() { return reinterpret_cast<Block**>(this + 1)[0]; }
  Block*& prev() { return reinterpret_cast<Block**>(this + 1)[1]; }
};
static_assert(sizeof(Block) == kHeaderBytes, "the header is 16 bytes");

size_t g_start = 0;       // first block
size_t g_top = 0;         // end of the last block
Block* g_last = nullptr;  // the block that ends at g_top
Block* g_bins[kBins];
uint32_t g_nonempty = 0;  // bit b: g_bins[b] != nullptr
size_t g_in_use = 0;

inline Block* at(size_t addr) { return reinterpret_cast<Block*>(addr); }
inline size_t addr_of(const Block* b) { return reinterpret_cast<size_t>(b); }

int bin_of(size_t size) {
  const size_t units = size / kGranule;  // >= 1
  return int(31 - __builtin_clz(uint32_t(units)));
}

void bin_insert(Block* b) {
  const int i = bin_of(b->size);
  b->free = 1;
  b->prev() = nullptr;
  b->next() = g_bins[i];
  if (g_bins[i]) g_bins[i]->prev() = b;
  g_bins[i] = b;
  g_nonempty |= 1u << i;
}

void bin_remove(Block* b) {
  const int i = bin_of(b->size);
  if (b->prev()) b->prev()->next() = b->next();
  else g_bins[i] = b->next();
  if (b->next()) b->next()->prev() = b->prev();
  if (!g_bins[i]) g_nonempty &= ~(1u << i);
  b->free = 0;
}

Block* right_of(Block* b) { return b == g_last ? nullptr : at(addr_of(b) + b->size); }
Block* left_of(Block* b) { return b->prev_size == 0 ? nullptr : at(addr_of(b) - b->prev_size); }

// Makes [0, end) addressable, growing the memory by whole pages; false when it cannot.
bool ensure_memory(size_t end) {
  const size_t have = __builtin_wasm_memory_size(0) * kWasmPage;
  if (end <= have) return true;
  const size_t pages = (end - have + kWasmPage - 1) / kWasmPage;
  return __builtin_wasm_memory_grow(0, pages) != size_t(-1);
}

void init() {
  // The first payload at the first 64-byte boundary at or above __heap_base + header.
  const size_t base = reinterpret_cast<size_t>(&__heap_base) + kHeaderBytes;
  g_start = (base + kGranule - 1) / kGranule * kGranule - kHeaderBytes;
  g_top = g_start;
}

// Takes `need` bytes (a multiple of kGranule) from the free block b, returning the rest to a bin.
Block* carve(Block* b, size_t need) {
  bin_remove(b);
  const size_t rest = b->size - need;
  if (rest >= kGranule) {
    const bool was_last = b == g_last;
    Block* r = at(addr_of(b) + need);
    r->magic = kMagic;
    r->prev_size = uint32_t(need);
    r->size = uint32_t(rest);
    b->size = uint32_t(need);
    if (was_last) g_last = r;
    else right_of(r)->prev_size = uint32_t(rest);
    bin_insert(r);
  }
  return b;
}

Block* find_free(size_t need) {
  const int first = bin_of(need);
  for (Block* b = g_bins[first]; b; b = b->next())
    if (b->size >= need) return b;
  const uint32_t above = first + 1 < kBins ? g_nonempty & ~((2u << first) - 1) : 0;
  return above ? g_bins[__builtin_ctz(above)] : nullptr;
}

// A block of `need` bytes at the top of the heap: the free last block extended, or a new one.
Block* grow_top(size_t need) {
  if (g_last && g_last->free) {
    const size_t end = addr_of(g_last) + need;
    if (end < addr_of(g_last) || !ensure_memory(end)) return nullptr;
    bin_remove(g_last);
    g_last->size = uint32_t(need);
    g_top = end;
    return g_last;
  }
  const size_t end = g_top + need;
  if (end < g_top || !ensure_memory(end)) return nullptr;
  Block* b = at(g_top);
  b->magic = kMagic;
  b->free = 0;
  b->size = uint32_t(need);
  b->prev_size = g_last ? g_last->size : 0;
  g_last = b;
  g_top = end;
  return b;
}

}  // namespace

void* heap_alloc(size_t bytes) {
  if (g_start == 0) init();
  // Header + payload in whole granules; refuse what cannot be a 32-bit block size.
  if (bytes > (size_t(1) << 31)) return nullptr;
  const size_t need = (bytes + kHeaderBytes + kGranule - 1) / kGranule * kGranule;
  Block* b = find_free(need);
  b = b ? carve(b, need) : grow_top(need);
  if (!b) return nullptr;
  g_in_use += b->size;
  return b + 1;
}

void heap_free(void* p) {
  if (!p) return;
  Block* b = static_cast<Block*>(p) - 1;
  if (b->magic != kMagic || b->free) __builtin_trap();  // not a live block of this heap
  g_in_use -= b->size;
  Block* l = left_of(b);
  if (l && l->free) {  // merge into the left neighbour
    bin_remove(l);
    const bool was_last = b == g_last;
    l->size += b->size;
    b->magic = 0;
    if (was_last) g_last = l;
    else right_of(l)->prev_size = l->size;
    b = l;
  }
  Block* r = right_of(b);
  if (r && r->free) {  // absorb the right neighbour
    bin_remove(r);
    const bool was_last = r == g_last;
    b->size += r->size;
    r->magic = 0;
    if (was_last) g_last = b;
    else right_of(b)->prev_size = b->size;
  }
  bin_insert(b);
}

size_t heap_bytes_in_use() { return g_in_use; }

size_t heap_memory_bytes() { return __builtin_wasm_memory_size(0) * kWasmPage; }

}  // namespace par
