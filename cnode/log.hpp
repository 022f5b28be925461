// Minimal leveled logging to stderr: "2026-11-21T01:02:03.456Z warn  [node@host] text".
// Thread-safe (one write per line). The level is process-wide; the
// node-name prefix is the calling thread's (set_thread_node_name: each
// node's io thread sets its own, NodeRunner does) or else the process-wide
// one (set_node_name, sdk/application.cpp).
//
//   HC_LOG(info) << "connected to " << peer;
#pragma once

#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

namespace hc::log {

enum class Level { trace = 0, debug, info, warn, error, off };

void set_level(Level level) noexcept;
Level level() noexcept;
void set_node_name(std::string name);
void set_thread_node_name(std::string name);
std::optional<Level> parse_level(std::string_view text);
std::string_view level_name(Level level);
void write(Level level, std::string_view text);
inline bool enabled(Level l) noexcept { return l >= level(); }
// Also hand every written line (text without the stamp) to `sink`; empty
// function: stderr only. For tests that assert what was logged; the sink runs
// on the logging thread under the log lock, so it must not log itself.
using Sink = std::function<void(Level, std::string_view)>;
void set_sink(Sink sink);

// One log line, written when destroyed.
class Line {
 public:
  explicit Line(Level level) : level_(level) {}
  ~Line() { write(level_, stream_.str()); }
  template <typename T>
  Line& operator<<(const T& value) {
    stream_ << value;
    return *this;
  }

 private:
  Level level_;
  std::ostringstream stream_;
};

}  // namespace hc::log

#define HC_LOG(lvl) \
  if (!::hc::log::enabled(::hc::log::Level::lvl)) {} else ::hc::log::Line(::hc::log::Level::lvl)
