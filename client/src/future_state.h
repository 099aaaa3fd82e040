#pragma once
// Shared state behind a Future: filled by the client's I/O thread, read by user threads.

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "scaler/client/result_stream.h"

namespace scaler::detail {

enum class Outcome { success, failed, workerDied, cancelled, timedOut, rejected, unreachable };

// What the worker measured (profiling: CPU time and peak memory too).
struct ResultTimings {
    uint64_t durationUs = 0, cpuTimeUs = 0, peakRssBytes = 0;
};

struct FutureState {
    explicit FutureState(uint64_t taskId) : id(taskId) {}
    const uint64_t id;
    mutable std::mutex mutex;
    std::condition_variable changed;
    bool done = false;
    Outcome outcome = Outcome::success;
    ResultStream result;  // a large one in the parts it arrived in, until someone wants it whole
    std::string error;
    uint64_t durationUs = 0;
    uint64_t cpuTimeUs = 0;     // measured only when the task was submitted with profiling
    uint64_t peakRssBytes = 0;  // likewise
    uint32_t cancelFailedAnswers = 0;
    uint64_t keptObjectId = 0;  // SubmitOptions::keepResult: the object the result is kept in
    std::vector<std::function<void()>> callbacks;

    // First completion wins; later ones (a result after a local timeout) are ignored.
    void complete(Outcome how, ResultStream resultBytes, std::string resultError,
                  ResultTimings timings = {}) {
        std::vector<std::function<void()>> run;
        {
            std::lock_guard lock(mutex);
            if (done) return;
            done = true;
            outcome = how;
            result = std::move(resultBytes);
            error = std::move(resultError);
            durationUs = timings.durationUs;
            cpuTimeUs = timings.cpuTimeUs;
            peakRssBytes = timings.peakRssBytes;
            run.swap(callbacks);
        }
        changed.notify_all();
        for (auto& callback : run) callback();
    }
};

}  // namespace scaler::detail
