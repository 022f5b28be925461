// A slab allocator for the many small, variable-sized blocks one container
// owns (the replica's key records; the registry view's spilled names).
//
// Why: a Horde registry entry's record is ~100 bytes. As one malloc block
// each it costs glibc's 8-byte header plus rounding to 16 (~20 % of the
// record), and the records end up interleaved with the short-lived Term
// trees of every sync message, so freed Terms leave pages that are only
// partly free and stay resident (RSS well above malloc's in-use figure).
// Here blocks are carved from large chunks by bumping a pointer; a freed
// block goes on the free list of its size class (sizes in 8-byte steps up
// to kMaxSmall) and is reused by the next block of that size. Blocks above
// kMaxSmall are plain operator new blocks.
//
// Trade-off: no coalescing and no return of chunks before clear() or
// destruction; memory freed in one size class serves only that class. For
// a replica, a replaced record has nearly always the size of the one it
// replaces, so the free lists stay short (bytes_free() says how much).
//
// Not thread-safe; one owner. allocate/deallocate are O(1) (a new chunk
// costs one operator new).
#pragma once

#include <cstddef>
#include <vector>

namespace hc::crdt {

class BlockArena {
 public:
  static constexpr std::size_t kGrain = 8;         // block sizes round up to this
  static constexpr std::size_t kMaxSmall = 1024;   // larger: operator new per block
  static constexpr std::size_t kFirstChunk = 4096;        // chunks double from here...
  static constexpr std::size_t kMaxChunk = 1024 * 1024;   // ...up to this

  BlockArena() = default;
  ~BlockArena();
  BlockArena(BlockArena&& o) noexcept;
  BlockArena& operator=(BlockArena&& o) noexcept;
  BlockArena(const BlockArena&) = delete;
  BlockArena& operator=(const BlockArena&) = delete;

  // A block of at least `n` bytes, aligned to 8 bytes.
  // `n` must be given again, unchanged, to deallocate.
  void* allocate(std::size_t n);
  void deallocate(void* p, std::size_t n) noexcept;
  // Frees every block and chunk at once.
  void clear() noexcept;

  // Bytes this arena holds from the global heap (chunks and large blocks,
  // with an estimate of malloc's per-block overhead): what the owner's
  // memory accounting reports.
  std::size_t bytes_reserved() const noexcept { return reserved_; }
  // Bytes of live blocks (rounded sizes) and of free-listed blocks.
  std::size_t bytes_in_use() const noexcept { return in_use_; }
  std::size_t bytes_free() const noexcept { return free_bytes_; }

  // The rounded size a request of `n` bytes occupies.
  static constexpr std::size_t block_size(std::size_t n) noexcept {
    return n <= kGrain ? kGrain : (n + kGrain - 1) & ~(kGrain - 1);
  }

 private:
  void* carve(std::size_t size);
  void push_free(char* p, std::size_t size) noexcept;
  void release_all() noexcept;

  std::vector<char*> chunks_;
  std::vector<char*> free_;  // free_[size / kGrain]: head of that class's list
  char* cur_ = nullptr;      // bump region of the newest chunk
  char* end_ = nullptr;
  std::size_t next_chunk_ = kFirstChunk;
  std::size_t reserved_ = 0;
  std::size_t in_use_ = 0;
  std::size_t free_bytes_ = 0;
  struct LargeHeader {  // in front of each large block: a list for clear()
    LargeHeader* prev;
    LargeHeader* next;
  };
  LargeHeader* large_ = nullptr;
};

}  // namespace hc::crdt
