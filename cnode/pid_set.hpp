// A set of pids that never rehashes all of itself in one go: 64 shards by
// the pid's hash, each a std::unordered_set. A Horde registry links every
// process it registers, and so holds (in its own table and in its
// process's links) a set as large as the registry: a single
// std::unordered_set rehashed all of it in the turn of one registration at
// 262 144 and 524 288 entries (one 75 ms turn at 300 000 names, issue 13);
// a shard rehashes 1/64 of them. Iteration goes shard by shard, in no
// particular order (as an unordered_set's).
//
// Not thread-safe. insert / erase / contains: O(1) on average.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <unordered_set>

#include "cnode/hashes.hpp"
#include "interop/term.hpp"

namespace hc::cnode {

class PidSet {
  static constexpr std::size_t kShards = 64;
  using Shard = std::unordered_set<Pid, PidHash>;

 public:
  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = Pid;
    using difference_type = std::ptrdiff_t;
    using pointer = const Pid*;
    using reference = const Pid&;

    const_iterator() = default;
    reference operator*() const { return *it_; }
    pointer operator->() const { return &*it_; }
    const_iterator& operator++() {
      ++it_;
      skip_empty();
      return *this;
    }
    const_iterator operator++(int) {
      const_iterator t = *this;
      ++*this;
      return t;
    }
    bool operator==(const const_iterator& o) const { return shard_ == o.shard_ && (shard_ == kShards || it_ == o.it_); }

   private:
    friend class PidSet;
    const_iterator(const std::array<Shard, kShards>* s, std::size_t shard) : shards_(s), shard_(shard) {
      if (shard_ < kShards) it_ = (*shards_)[shard_].begin();
      skip_empty();
    }
    void skip_empty() {
      while (shard_ < kShards && it_ == (*shards_)[shard_].end()) {
        if (++shard_ < kShards) it_ = (*shards_)[shard_].begin();
      }
    }
    const std::array<Shard, kShards>* shards_ = nullptr;
    std::size_t shard_ = kShards;
    Shard::const_iterator it_{};
  };

  // True when `p` was not in the set.
  bool insert(const Pid& p) {
    if (!shard(p).insert(p).second) return false;
    ++size_;
    return true;
  }
  // 1 when `p` was in the set, else 0.
  std::size_t erase(const Pid& p) {
    const std::size_t n = shard(p).erase(p);
    size_ -= n;
    return n;
  }
  bool contains(const Pid& p) const { return shard(p).count(p) > 0; }
  std::size_t count(const Pid& p) const { return contains(p) ? 1 : 0; }
  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  void clear() {
    for (auto& s : shards_) s.clear();
    size_ = 0;
  }
  const_iterator begin() const { return const_iterator(&shards_, 0); }
  const_iterator end() const { return const_iterator(&shards_, kShards); }

 private:
  static std::size_t shard_of(const Pid& p) noexcept {
    // Bits the shards' own bucket choice (hash modulo a prime) hardly uses.
    const std::uint64_t h = PidHash()(p);
    return static_cast<std::size_t>(((h ^ (h >> 29)) * 0xBF58476D1CE4E5B9ull) >> 58);
  }
  Shard& shard(const Pid& p) { return shards_[shard_of(p)]; }
  const Shard& shard(const Pid& p) const { return shards_[shard_of(p)]; }

  std::array<Shard, kShards> shards_;
  std::size_t size_ = 0;
};

}  // namespace hc::cnode
