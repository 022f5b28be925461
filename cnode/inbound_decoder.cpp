#include "cnode/inbound_decoder.hpp"

#include "cnode/connection.hpp"

namespace hc::cnode {

InboundDecoder::InboundDecoder(boost::asio::io_context& io, std::size_t max_message, std::size_t offload_bytes,
                               Deliver deliver)
    : max_message_(max_message), offload_bytes_(offload_bytes), deliver_(std::move(deliver)), offload_(io) {}

void InboundDecoder::feed(Connection& c, std::span<const std::uint8_t> frame) {
  auto [it, fresh] = conns_.try_emplace(&c, max_message_);
  PerConnection& pc = it->second;
  if (fresh) pc.generation = next_generation_++;
  if (pc.busy || !pc.waiting.empty()) {
    pc.waiting.emplace_back(frame.begin(), frame.end());
    pc.waiting_bytes += frame.size();
    return;
  }
  process(c, pc, frame);
}

bool InboundDecoder::process(Connection& c, PerConnection& pc, std::span<const std::uint8_t> frame) {
  // `pc` may be gone after deliver_ (the handler can close `c`): nothing
  // below touches it after delivering.
  const bool large = offload_bytes_ > 0 && frame.size() >= offload_bytes_;
  if (frame[0] != 131) {  // pass-through (no distribution header): one frame, one message
    if (large) {
      start(c, pc, {frame.begin(), frame.end()}, true);
      return true;
    }
    auto parsed = parse_dist_frame(frame, decoders());
    deliver_(c, parsed, frame.size());
    return false;
  }
  auto step = pc.assembler.feed(frame);
  if (step.kind == FragmentAssembler::Step::Kind::pending) return false;
  if (step.kind == FragmentAssembler::Step::Kind::error) {
    Result<DistFrame> parsed = Error(step.error, step.what);
    deliver_(c, parsed, frame.size());
    return false;
  }
  if (offload_bytes_ > 0 && step.body.size() >= offload_bytes_) {
    start(c, pc, pc.assembler.take_body(step.body), false);
    return true;
  }
  const std::size_t bytes = step.body.size();
  auto parsed = parse_dist_body(step.body, decoders());
  pc.assembler.release();  // the Terms own their data now
  deliver_(c, parsed, bytes);
  return false;
}

void InboundDecoder::start(Connection& c, PerConnection& pc, std::vector<std::uint8_t> bytes, bool pass_through) {
  pc.busy = true;
  ++offloaded_;
  const std::size_t size = bytes.size();
  offload_.run(
      // On the worker: the decode, and freeing the bytes (a large free, too).
      [bytes = std::move(bytes), pass_through, decoders = decoders_]() mutable {
        std::span<const PayloadDecoder> d;
        if (decoders) d = *decoders;
        Result<DistFrame> parsed = pass_through ? parse_dist_frame(bytes, d) : parse_dist_body(bytes, d);
        std::vector<std::uint8_t>().swap(bytes);
        return parsed;
      },
      [this, conn = c.shared_from_this(), generation = pc.generation, size](Result<DistFrame> parsed) mutable {
        finished(*conn, generation, std::move(parsed), size);
      });
}

void InboundDecoder::finished(Connection& c, std::uint64_t generation, Result<DistFrame> parsed, std::size_t bytes) {
  auto current = [&]() -> PerConnection* {
    auto it = conns_.find(&c);
    return it != conns_.end() && it->second.generation == generation ? &it->second : nullptr;
  };
  PerConnection* pc = current();
  if (!pc) return;  // forgotten: closed while decoding
  pc->busy = false;
  deliver_(c, parsed, bytes);
  // What arrived meanwhile, in order, until the next large one goes to the
  // worker. Looked up again each time: delivering may close `c`.
  while ((pc = current()) && !pc->busy && !pc->waiting.empty()) {
    std::vector<std::uint8_t> frame = std::move(pc->waiting.front());
    pc->waiting.pop_front();
    pc->waiting_bytes -= frame.size();
    process(c, *pc, frame);
  }
}

void InboundDecoder::add_payload_decoder(std::string key, PayloadDecoder decoder) {
  auto next = decoders_ ? std::make_shared<std::vector<PayloadDecoder>>(*decoders_)
                        : std::make_shared<std::vector<PayloadDecoder>>();
  for (std::size_t i = 0; i < decoder_keys_.size(); ++i) {
    if (decoder_keys_[i] == key) {
      (*next)[i] = std::move(decoder);
      decoders_ = std::move(next);
      return;
    }
  }
  decoder_keys_.push_back(std::move(key));
  next->push_back(std::move(decoder));
  decoders_ = std::move(next);
}

void InboundDecoder::forget(const Connection& c) { conns_.erase(&c); }

bool InboundDecoder::decoding(const Connection& c) const {
  auto it = conns_.find(&c);
  return it != conns_.end() && it->second.busy;
}

std::size_t InboundDecoder::bytes_held(const Connection& c) const {
  auto it = conns_.find(&c);
  return it == conns_.end() ? 0 : it->second.assembler.bytes_held() + it->second.waiting_bytes;
}

}  // namespace hc::cnode
