#include "crdt/block_arena.hpp"

#include <cstring>
#include <new>
#include <utility>

namespace hc::crdt {

namespace {
// glibc's cost of one operator new block: an 8-byte size field, the whole
// rounded up to 16. Used only for the accounting of chunks and large blocks.
constexpr std::size_t heap_block(std::size_t n) noexcept { return (n + 8 + 15) & ~std::size_t{15}; }
}  // namespace

BlockArena::~BlockArena() { release_all(); }

BlockArena::BlockArena(BlockArena&& o) noexcept
    : chunks_(std::move(o.chunks_)),
      free_(std::move(o.free_)),
      cur_(std::exchange(o.cur_, nullptr)),
      end_(std::exchange(o.end_, nullptr)),
      next_chunk_(std::exchange(o.next_chunk_, kFirstChunk)),
      reserved_(std::exchange(o.reserved_, 0)),
      in_use_(std::exchange(o.in_use_, 0)),
      free_bytes_(std::exchange(o.free_bytes_, 0)),
      large_(std::exchange(o.large_, nullptr)) {
  o.chunks_.clear();
  o.free_.clear();
}

BlockArena& BlockArena::operator=(BlockArena&& o) noexcept {
  if (this != &o) {
    release_all();
    chunks_ = std::move(o.chunks_);
    free_ = std::move(o.free_);
    cur_ = std::exchange(o.cur_, nullptr);
    end_ = std::exchange(o.end_, nullptr);
    next_chunk_ = std::exchange(o.next_chunk_, kFirstChunk);
    reserved_ = std::exchange(o.reserved_, 0);
    in_use_ = std::exchange(o.in_use_, 0);
    free_bytes_ = std::exchange(o.free_bytes_, 0);
    large_ = std::exchange(o.large_, nullptr);
    o.chunks_.clear();
    o.free_.clear();
  }
  return *this;
}

void BlockArena::release_all() noexcept {
  for (char* c : chunks_) ::operator delete(c);
  chunks_.clear();
  for (LargeHeader* h = large_; h != nullptr;) {
    LargeHeader* next = h->next;
    ::operator delete(h);
    h = next;
  }
  large_ = nullptr;
  free_.clear();
  cur_ = end_ = nullptr;
  next_chunk_ = kFirstChunk;
  reserved_ = in_use_ = free_bytes_ = 0;
}

void BlockArena::clear() noexcept {
  release_all();
  chunks_.shrink_to_fit();
  free_.shrink_to_fit();
}

void BlockArena::push_free(char* p, std::size_t size) noexcept {
  char* head = free_[size / kGrain];
  std::memcpy(p, &head, sizeof head);
  free_[size / kGrain] = p;
  free_bytes_ += size;
}

void* BlockArena::carve(std::size_t size) {
  if (static_cast<std::size_t>(end_ - cur_) < size) {
    // The old chunk's tail becomes a free block of its own size class, so
    // nothing is lost but a tail under kGrain (there is none: all sizes
    // are multiples of kGrain).
    if (end_ - cur_ >= static_cast<std::ptrdiff_t>(kGrain)) push_free(cur_, static_cast<std::size_t>(end_ - cur_));
    const std::size_t n = next_chunk_;
    cur_ = static_cast<char*>(::operator new(n));
    end_ = cur_ + n;
    chunks_.push_back(cur_);
    reserved_ += heap_block(n);
    if (next_chunk_ < kMaxChunk) next_chunk_ *= 2;
  }
  char* p = cur_;
  cur_ += size;
  return p;
}

void* BlockArena::allocate(std::size_t n) {
  if (n > kMaxSmall) {
    auto* h = static_cast<LargeHeader*>(::operator new(sizeof(LargeHeader) + n));
    h->prev = nullptr;
    h->next = large_;
    if (large_) large_->prev = h;
    large_ = h;
    reserved_ += heap_block(sizeof(LargeHeader) + n);
    in_use_ += n;
    return h + 1;
  }
  const std::size_t size = block_size(n);
  if (free_.empty()) free_.assign(kMaxSmall / kGrain + 1, nullptr);
  in_use_ += size;
  if (char* p = free_[size / kGrain]) {
    char* next;
    std::memcpy(&next, p, sizeof next);
    free_[size / kGrain] = next;
    free_bytes_ -= size;
    return p;
  }
  return carve(size);
}

void BlockArena::deallocate(void* p, std::size_t n) noexcept {
  if (p == nullptr) return;
  if (n > kMaxSmall) {
    auto* h = static_cast<LargeHeader*>(p) - 1;
    if (h->prev) {
      h->prev->next = h->next;
    } else {
      large_ = h->next;
    }
    if (h->next) h->next->prev = h->prev;
    reserved_ -= heap_block(sizeof(LargeHeader) + n);
    in_use_ -= n;
    ::operator delete(h);
    return;
  }
  const std::size_t size = block_size(n);
  in_use_ -= size;
  push_free(static_cast<char*>(p), size);
}

}  // namespace hc::crdt
