// A growable array of T addressed by 32-bit index, stored in fixed chunks
// of kChunk elements: elements never move (no copy on growth, no 2x peak as
// with std::vector), and the chunks are large, so the many entries of a
// view do not end up as thousands of small heap blocks among short-lived
// ones (std::deque's 512-byte nodes would).
//
// Not thread-safe; one owner. operator[] is O(1); emplace_back allocates
// one chunk every kChunk elements.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace hc::horde {

template <typename T, std::size_t kChunk = 1024>
class Slab {
 public:
  T& operator[](std::uint32_t i) noexcept { return chunks_[i / kChunk][i % kChunk]; }
  const T& operator[](std::uint32_t i) const noexcept { return chunks_[i / kChunk][i % kChunk]; }
  std::uint32_t size() const noexcept { return size_; }
  // Appends a value-initialised element and returns its index.
  std::uint32_t emplace_back() {
    if (size_ % kChunk == 0 && size_ / kChunk == chunks_.size()) chunks_.push_back(std::make_unique<T[]>(kChunk));
    (*this)[size_] = T{};
    return size_++;
  }
  // Heap bytes held (chunks as malloc holds them, and the chunk table).
  std::size_t bytes() const noexcept {
    return chunks_.size() * ((kChunk * sizeof(T) + 8 + 15) & ~std::size_t{15}) +
           chunks_.capacity() * sizeof(std::unique_ptr<T[]>);
  }

 private:
  std::vector<std::unique_ptr<T[]>> chunks_;
  std::uint32_t size_ = 0;
};

}  // namespace hc::horde
