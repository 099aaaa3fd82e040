#pragma once
// A Python processor: a child process (`python3 -m scaler_cpp._processor FD`) that runs this worker's Python
// tasks, one at a time, over a Unix socket. A task that ends its process (os._exit, a segfault in C code, the
// OOM killer) costs the processor, not the worker: the worker stays connected, the task fails with the exit
// code or signal (TaskProcessDied, which the scheduler counts against the task's retry limit), and the next
// Python task starts a new processor. Cancel and timeout reach the task as SIGUSR1 and SIGUSR2, which the
// processor turns into InterruptedError and TimeoutError (a time.sleep is interrupted too); a task that
// ignores them is killed after a grace period. docs/python.md#how-it-runs.

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "scaler/worker/function_registry.h"

namespace scaler::worker {

struct PythonProcessorCommand {
    std::string executable;        // the interpreter
    std::string packageDirectory;  // prepended to PYTHONPATH when not empty (the build tree's python/)
    std::string schedulerAddress;  // for Client() inside tasks
};

// Frames between worker and processor, little-endian:
//   to the processor:   'T' (or 'P': profiled, so the processor measures its CPU time and peak memory,
//                       three system calls it otherwise skips and answers 0) u64 task handle,
//                       u32 argument count, then each argument as u8 kind, u64
//                       length and kind 0: the bytes follow; kind 1: the argument is a memfd whole (a
//                       shared ObjectBytes), whose descriptor rides with the frame's first bytes
//                       (SCM_RIGHTS)
//   from the processor: 'W' u8 waiting (a task began or stopped waiting on its nested futures)
//                       'R' u8 ok, u64 cpu microseconds, u64 wall microseconds, u64 peak RSS bytes,
//                       u64 length, bytes
// While a task runs, the next few (TaskContext::nextTasks) are sent too, so the processor goes on to them
// without waiting for the worker. A stop therefore names its task: the stop word, a page both map (u64 task
// handle, u8 kind: 1 cancel, 2 timeout), is written before the signal, and the processor raises only in the
// named task, and does not begin a task named there. The processor holds the result of a short task that
// follows a short one (both under kHeldTaskUs) while it goes on to tasks sent already, to send them in one
// write (one wake-up of this thread for up to 16); it sets byte kHoldingAt of the page meanwhile, and a
// SIGUSR1 sends them at once, which run() asks for when it has waited kAskForHeldAfter after a short task:
// a long task never holds back the results of the short ones before it.
class PythonProcessor {
public:
    explicit PythonProcessor(PythonProcessorCommand command);
    ~PythonProcessor();  // kills and reaps the process
    PythonProcessor(const PythonProcessor&) = delete;
    PythonProcessor& operator=(const PythonProcessor&) = delete;

    struct Result {
        bool ok = false;
        std::string bytes;  // the pickled result, or the encoded exception
        uint64_t cpuTimeUs = 0;
        uint64_t wallTimeUs = 0;  // the task's own, in the processor
        uint64_t peakRssBytes = 0;
    };
    // Runs one task (context.arguments()) on this thread, starting the process if there is none (its
    // WaitListener hears the processor's waiting notices). Throws TaskProcessDied when the process ends
    // before answering; the next run starts another.
    Result run(const TaskContext& context);
    bool alive() const { return pid_ > 0; }
    pid_t pid() const { return pid_; }  // the running process, or -1

    // A processor idle this long is replaced before its next task: it exits by itself after 60 s idle
    // (_processor.py), and a task must never be handed to one that is exiting.
    static constexpr std::chrono::seconds kIdleRestart{50};
    // How long a task asked to stop may take before its processor is killed.
    static constexpr std::chrono::milliseconds kStopGrace{2000};
    // How long run() waits for its result before asking the processor for results it holds.
    static constexpr std::chrono::milliseconds kAskForHeldAfter{1};
    // The processor holds only results of tasks shorter than this (_processor.py's _HOLD_TASK_NS).
    static constexpr uint64_t kHeldTaskUs = 200;

private:
    void start();
    void stop();  // kills and reaps it
    // One frame in as few calls as it takes: small arguments copied into it, shared objects as their
    // descriptor, other large ones sent in place.
    // `sharedFrom` gives the arguments' shared-object descriptors (null: all go as bytes).
    void sendTask(uint64_t handle, bool profiling, const std::vector<std::string_view>& arguments,
                  const TaskContext* sharedFrom);
    // The tasks of `nextTasks` not sent yet, in one write.
    void sendNextTasks(const std::vector<NextTask>& nextTasks);
    void makeStopWord();
    void releaseStopWord();  // with the process: unmapped and closed
    void writeStopWord(uint64_t handle, uint8_t kind);
    uint64_t stopWordHandle() const;
    bool holds(uint64_t handle) const;
    // Reads exactly `size` bytes through the read buffer, signalling and killing on the way as the context
    // asks; false at end of file.
    bool receive(const TaskContext& context, void* data, size_t size);
    // Waits (20 ms at a time, checking the context, and first kAskForHeldAfter when tasks were sent ahead)
    // until the socket has bytes; false when it failed.
    bool awaitReadable(const TaskContext& context);
    // SIGUSR1 when the processor says it holds results (the stop word is left alone: no task stops).
    void askForHeldResults();
    [[noreturn]] void died(const std::string& doing);
    void signalIfStopRequested(const TaskContext& context);
    void followThisThreadsCpu();

    PythonProcessorCommand command_;
    pid_t pid_ = -1;
    int fd_ = -1;
    bool signalled_ = false;
    std::chrono::steady_clock::time_point killAt_{};
    // Bytes read ahead: a result's frame usually arrives in one read, not one per field.
    std::string readBuffer_;
    size_t readStart_ = 0;
    size_t readEnd_ = 0;
    std::string writeBuffer_;  // a small task's frame, sent in one call
    int processorCpu_ = -1;
    static constexpr size_t kStopWordBytes = 4096;
    static constexpr uint64_t kNoTask = ~uint64_t{0};
    static constexpr uint8_t kStopCancel = 1;
    static constexpr uint8_t kStopTimeout = 2;
    static constexpr size_t kHoldingAt = 16;  // the processor's byte: 1 while it holds results
    int stopFd_ = -1;
    void* stopWord_ = nullptr;
    std::deque<uint64_t> held_;  // tasks sent to run after the running one, in order
    bool heldStopWritten_ = false;
    std::chrono::steady_clock::time_point waitingSince_{};  // when run() began waiting for its result
    bool lastTaskShort_ = false;  // the last result's task ran under kHeldTaskUs: the next may be held
    std::chrono::steady_clock::time_point lastUsed_{};
};

// "exit code 3", "killed by signal 11 (SIGSEGV)": a waitpid status in words.
std::string describeExitStatus(int status);

}  // namespace scaler::worker
