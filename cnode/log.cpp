#include "cnode/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <mutex>

namespace hc::log {
namespace {
std::atomic<Level> g_level{Level::info};
std::mutex g_mutex;
std::string g_node;
Sink g_sink;
thread_local std::string t_node;
}  // namespace

void set_thread_node_name(std::string name) { t_node = std::move(name); }

void set_sink(Sink sink) {
  std::lock_guard lock(g_mutex);
  g_sink = std::move(sink);
}

void set_level(Level l) noexcept { g_level = l; }
Level level() noexcept { return g_level.load(std::memory_order_relaxed); }
void set_node_name(std::string name) {
  std::lock_guard lock(g_mutex);
  g_node = std::move(name);
}

std::optional<Level> parse_level(std::string_view t) {
  if (t == "trace") return Level::trace;
  if (t == "debug") return Level::debug;
  if (t == "info") return Level::info;
  if (t == "warn" || t == "warning") return Level::warn;
  if (t == "error") return Level::error;
  if (t == "off" || t == "none") return Level::off;
  return std::nullopt;
}

std::string_view level_name(Level l) {
  switch (l) {
    case Level::trace: return "trace";
    case Level::debug: return "debug";
    case Level::info: return "info";
    case Level::warn: return "warn";
    case Level::error: return "error";
    case Level::off: return "off";
  }
  return "?";
}

void write(Level l, std::string_view text) {
  auto now = std::chrono::system_clock::now();
  auto secs = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char stamp[32];
  std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
  std::lock_guard lock(g_mutex);
  std::fprintf(stderr, "%s.%03dZ %-5s [%s] %.*s\n", stamp, static_cast<int>(ms),
               level_name(l).data(), t_node.empty() ? g_node.c_str() : t_node.c_str(), static_cast<int>(text.size()), text.data());
  if (g_sink) g_sink(l, text);
}

}  // namespace hc::log
