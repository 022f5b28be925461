// A message written as external format in pieces, one piece per turn of the
// host, so that a sync message of many megabytes never holds the io thread
// for long (issue 13: no handler over ~50 ms). The SyncEngine keeps the
// bytes written so far and sends them when write() says the message is
// complete. Implemented by ContinuationWriter (merkle_map.hpp) and
// SliceWriter (slice_encode.hpp).
//
// Not thread-safe; called on the thread that owns the replica it reads.
#pragma once

#include <cstddef>

namespace hc {
class EtfWriter;
}

namespace hc::crdt {

class StepWriter {
 public:
  virtual ~StepWriter() = default;
  // Writes on until about `budget` more bytes are written (at least some
  // progress is made) or the message is complete; true when it is. Every
  // call appends to the same byte vector, after the previous call's bytes.
  virtual bool write(EtfWriter& w, std::size_t budget) = 0;
};

}  // namespace hc::crdt
