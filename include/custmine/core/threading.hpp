// Explicit, fork-safe parallelism.
//
// Every parallel call takes n_threads (joblib's rule: n >= 1 is that many threads,
// -1 all cores, -2 all but one, ...). Workers are plain std::threads started per call
// rather than an OpenMP pool: GNU libgomp's pool does not survive fork(), and Spark and
// Dask workers fork. The per-call start costs tens of microseconds, far below the work
// units we hand out; where steps are shorter (a boosted tree's leaves), a ThreadTeam keeps
// its threads for one call and joins them before returning. The first exception thrown in a worker is rethrown on the caller
// (the idea of LightGBM's ThreadExceptionHelper).
#pragma once

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include "custmine/core/error.hpp"
#include "custmine/core/matrix.hpp"

namespace custmine {

/// Number of hardware threads (at least 1).
inline int hardware_threads() {
  unsigned h = std::thread::hardware_concurrency();
  return h == 0 ? 1 : static_cast<int>(h);
}

/// joblib's rule: n >= 1 -> n; n < 0 -> max(1, cores + 1 + n); 0 is an error.
inline int resolve_threads(int n_threads, std::string_view where = "n_threads") {
  if (n_threads == 0) fail(where, "n_threads must be a non-zero integer (got 0)");
  if (n_threads > 0) return n_threads;
  return std::max(1, hardware_threads() + 1 + n_threads);
}

/// Cooperative interruption: long loops call check() every so often; the Python
/// bindings install a callback that asks the interpreter for pending signals.
class Interrupt {
 public:
  using Callback = bool (*)();  // returns true when the caller asked to stop
  static void set_callback(Callback cb) { callback() = cb; }
  /// Throws custmine::Interrupted if the installed callback reports a request to stop.
  static void check(std::string_view where) {
    if (auto cb = callback(); cb && cb()) fail<Interrupted>(where, "interrupted by the caller");
  }

 private:
  static Callback& callback() {
    static Callback cb = nullptr;
    return cb;
  }
};

/// Captures the first exception thrown by any worker and rethrows it on the caller.
class ExceptionCollector {
 public:
  template <class F>
  void run(F&& f) noexcept {
    if (failed_.load(std::memory_order_relaxed)) return;
    try {
      f();
    } catch (...) {
      std::lock_guard lock(mutex_);
      if (!error_) error_ = std::current_exception();
      failed_.store(true, std::memory_order_relaxed);
    }
  }
  [[nodiscard]] bool failed() const { return failed_.load(std::memory_order_relaxed); }
  void rethrow() {
    if (error_) std::rethrow_exception(error_);
  }

 private:
  std::mutex mutex_;
  std::exception_ptr error_;
  std::atomic<bool> failed_{false};
};

/// A team of threads that lives for one call (one fit), for algorithms made of many short
/// parallel steps, where a thread started per step would cost more than the step (the
/// histograms of a boosted tree's small leaves take a few microseconds). Between steps the
/// workers spin for a few tens of microseconds, then sleep; no thread outlives the team,
/// so the fork-safety above holds. The free functions below are one-step teams.
class ThreadTeam {
 public:
  explicit ThreadTeam(int n_threads) : size_(resolve_threads(n_threads)) {
    workers_.reserve(static_cast<std::size_t>(size_ - 1));
    try {
      for (int t = 1; t < size_; ++t) workers_.emplace_back([this, t] { work(t); });
    } catch (...) {
      stop();
      throw;
    }
  }
  ThreadTeam(const ThreadTeam&) = delete;
  ThreadTeam& operator=(const ThreadTeam&) = delete;
  ~ThreadTeam() { stop(); }
  [[nodiscard]] int size() const { return size_; }

  /// body(i, thread_id) for i in [0, n), indices handed out dynamically (for uneven work
  /// such as trees), on at most `threads` members (the caller is member 0). Results must be
  /// written per index to stay deterministic.
  template <class Body>
  void parallel_for(Index n, int threads, Body&& body) {
    if (n <= 0) return;
    threads = static_cast<int>(std::min<Index>(std::min(threads, size_), n));
    if (threads <= 1) {
      for (Index i = 0; i < n; ++i) body(i, 0);
      return;
    }
    ExceptionCollector errors;
    std::atomic<Index> next{0};
    auto job = [&](int t) {
      if (t >= threads) return;
      errors.run([&] {
        for (Index i; !errors.failed() && (i = next.fetch_add(1, std::memory_order_relaxed)) < n;) body(i, t);
      });
    };
    run(job);
    errors.rethrow();
  }

  /// body(begin, end, thread_id) on contiguous chunks of [0, n). Chunks are fixed by
  /// (n, threads) only, so a body that writes per-index results is deterministic.
  template <class Body>
  void parallel_chunks(Index n, int threads, Body&& body) {
    if (n <= 0) return;
    threads = static_cast<int>(std::min<Index>(std::min(threads, size_), n));
    if (threads <= 1) {
      body(Index{0}, n, 0);
      return;
    }
    ExceptionCollector errors;
    auto job = [&](int t) {
      if (t >= threads) return;
      const Index b = n * t / threads, e = n * (t + 1) / threads;
      errors.run([&] { body(b, e, t); });
    };
    run(job);
    errors.rethrow();
  }

 private:
  static void relax() {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#endif
  }

  template <class Job>
  void run(Job& job) {
    job_ = &job;
    call_ = [](void* j, int t) { (*static_cast<Job*>(j))(t); };
    pending_.store(static_cast<int>(workers_.size()), std::memory_order_relaxed);
    // seq_cst with the workers' sleeping_ / generation_ pair: a worker about to sleep
    // either is counted here or sees the new generation before it sleeps
    generation_.fetch_add(1, std::memory_order_seq_cst);
    if (sleeping_.load(std::memory_order_seq_cst) > 0) generation_.notify_all();
    job(0);
    // the others' shares usually end within microseconds; a long one (a forest's last
    // tree) is waited for asleep, not spinning on a core another thread may need
    for (int spin = 0; spin < kSpin && pending_.load(std::memory_order_acquire) > 0; ++spin) relax();
    for (int left; (left = pending_.load(std::memory_order_acquire)) > 0;) pending_.wait(left, std::memory_order_acquire);
  }

  void stop() {
    stop_ = true;
    generation_.fetch_add(1, std::memory_order_seq_cst);
    generation_.notify_all();
    for (auto& w : workers_) w.join();
  }

  void work(int t) {
    std::uint64_t seen = 0;
    for (;;) {
      // spin first: the next step usually follows within microseconds
      for (int spin = 0; spin < kSpin && generation_.load(std::memory_order_acquire) == seen; ++spin) relax();
      if (generation_.load(std::memory_order_acquire) == seen) {
        sleeping_.fetch_add(1, std::memory_order_seq_cst);
        while (generation_.load(std::memory_order_seq_cst) == seen) generation_.wait(seen, std::memory_order_seq_cst);
        sleeping_.fetch_sub(1, std::memory_order_relaxed);
      }
      seen = generation_.load(std::memory_order_acquire);
      if (stop_) return;
      call_(job_, t);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_all();
    }
  }

  static constexpr int kSpin = 4000;
  int size_;
  std::vector<std::thread> workers_;
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<int> sleeping_{0};
  void* job_ = nullptr;
  void (*call_)(void*, int) = nullptr;
  bool stop_ = false;
};

/// ThreadTeam::parallel_chunks on threads started for this call (see ThreadTeam).
template <class Body>
void parallel_chunks(Index n, int n_threads, Body&& body) {
  if (n <= 0) return;
  const int threads = static_cast<int>(std::min<Index>(resolve_threads(n_threads), n));
  ThreadTeam(threads).parallel_chunks(n, threads, std::forward<Body>(body));
}

/// ThreadTeam::parallel_for on threads started for this call (see ThreadTeam).
template <class Body>
void parallel_for(Index n, int n_threads, Body&& body) {
  if (n <= 0) return;
  const int threads = static_cast<int>(std::min<Index>(resolve_threads(n_threads), n));
  ThreadTeam(threads).parallel_for(n, threads, std::forward<Body>(body));
}

}  // namespace custmine
