// scaler_cpp._native: the C++ client for the Python package. Completions are queued by the client's I/O
// thread without the GIL and collected in batches by one Python thread (Client's dispatcher), so a result
// costs no GIL hand-off of its own.

#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "scaler/client/client.h"
#include "scaler/client/task_graph.h"
#include "scaler/client/wait_listener.h"

namespace py = pybind11;

namespace {

// A large result's bytes, handed to Python without a copy: Python sees memoryview(ResultBytes), which keeps
// this alive; pickle.loads reads it in place.
struct ResultBytes {
    std::string bytes;
};
constexpr size_t kResultBytesInPlace = 1u << 20;  // smaller results are plain bytes: cheaper to make

// A result that came in parts, read by pickle.load as a file: each part's memory goes as it is read, so a
// 1 GiB bytes result costs its own size plus one part, not twice its size. Used by one thread at a time
// (the dispatcher); whole() gives the rest in one buffer for readers that need that (a serializer).
class ResultReader {
public:
    explicit ResultReader(scaler::ResultStream stream) : stream_(std::move(stream)) {}

    py::bytes read(py::ssize_t n) {
        const size_t want = n < 0 ? stream_.remaining() : std::min<uint64_t>(n, stream_.remaining());
        py::bytes out(nullptr, want);  // filled in place: no second buffer
        stream_.read(PyBytes_AS_STRING(out.ptr()), want);
        return out;
    }
    size_t readinto(const py::buffer& into) {
        py::buffer_info info = into.request(true);
        return stream_.read(static_cast<char*>(info.ptr), static_cast<size_t>(info.size * info.itemsize));
    }
    py::bytes readline() {  // pickle asks for it only for protocol 0 opcodes
        std::string line;
        char c = 0;
        while (stream_.read(&c, 1) == 1) {
            line.push_back(c);
            if (c == '\n') break;
        }
        return py::bytes(line);
    }
    uint64_t remaining() const { return stream_.remaining(); }
    py::memoryview whole() { return py::memoryview(py::cast(ResultBytes{stream_.takeAll()})); }

private:
    scaler::ResultStream stream_;
};

struct Completion {
    uint64_t taskId = 0;
    std::string status;  // success, failed, cancelled, worker_died, timed_out, rejected, unreachable
    scaler::ResultStream payload;
    std::string error;
};

std::string statusOf(const scaler::Future& future, scaler::ResultStream& payload, std::string& error) {
    try {
        payload = future.takeStream();  // the callback is the result's only reader: no copy of a large one
        return "success";
    } catch (const scaler::TaskFailedError& e) {
        error = e.what();
        return "failed";
    } catch (const scaler::WorkerDiedError& e) {
        error = e.what();
        return "worker_died";
    } catch (const scaler::TaskCancelledError& e) {
        error = e.what();
        return "cancelled";
    } catch (const scaler::TaskTimeoutError& e) {
        error = e.what();
        return "timed_out";
    } catch (const scaler::TaskRejectedError& e) {
        error = e.what();
        return "rejected";
    } catch (const std::exception& e) {
        error = e.what();
        return "unreachable";
    }
}

// Past this many argument bytes a submission lets go of the GIL: it may upload objects.
constexpr size_t kReleaseGilBytes = 1u << 20;

scaler::SubmitOptions options(const std::string& capabilities, bool profiling, int priority) {
    scaler::SubmitOptions out;
    out.capabilities = capabilities;
    out.profiling = profiling;
    out.priority = priority;
    return out;
}

// Python objects whose last reference went on a thread without the GIL (the client's I/O thread), let go of
// by the next call that holds it (at the latest the dispatcher's, every half second).
std::mutex releasedMutex;
std::vector<PyObject*> released;

void releaseQueued() {
    std::vector<PyObject*> batch;
    {
        std::lock_guard lock(releasedMutex);
        if (released.empty()) return;
        batch.swap(released);
    }
    for (PyObject* object : batch) Py_DECREF(object);
}

// Python bytes lent to the client instead of copied: bytes are immutable, so a reference keeps them as they
// were for as long as the client may send them (again, after a scheduler restart).
class PyBytesSource final : public scaler::ByteSource {
public:
    explicit PyBytesSource(const py::bytes& bytes) : object_(bytes.inc_ref().ptr()) {
        char* data = nullptr;
        Py_ssize_t size = 0;
        PyBytes_AsStringAndSize(object_, &data, &size);
        view_ = std::string_view(data, static_cast<size_t>(size));
    }
    ~PyBytesSource() override {
        if (PyGILState_Check()) {
            Py_DECREF(object_);
            return;
        }
        std::lock_guard lock(releasedMutex);
        released.push_back(object_);
    }
    PyBytesSource(const PyBytesSource&) = delete;
    PyBytesSource& operator=(const PyBytesSource&) = delete;
    std::string_view bytes() const override { return view_; }

private:
    PyObject* object_;
    std::string_view view_;
};

// Bytes this large are lent (PyBytesSource), smaller ones copied: a copy is cheaper than the bookkeeping.
constexpr size_t kLendBytes = 1u << 20;

// An argument from Python: bytes, or an object id (int), or a graph key (str). Adds the bytes to `bytes`.
scaler::Arguments toArguments(const py::list& args, size_t& bytes) {
    scaler::Arguments out;
    out.items.reserve(args.size());
    for (const py::handle& item : args) {
        if (py::isinstance<py::bytes>(item)) {
            const auto data = py::reinterpret_borrow<py::bytes>(item);
            const auto size = static_cast<size_t>(PyBytes_GET_SIZE(item.ptr()));
            bytes += size;
            if (size >= kLendBytes) {
                out.items.emplace_back(std::shared_ptr<const scaler::ByteSource>(new PyBytesSource(data)));
            } else {
                out.items.emplace_back(std::string(data));
            }
        } else if (py::isinstance<py::int_>(item)) {
            out.items.emplace_back(scaler::ObjectRef{item.cast<uint64_t>(), 0, {}});
        } else if (py::isinstance<py::str>(item)) {
            out.items.emplace_back(scaler::GraphKey{item.cast<std::string>()});
        } else {
            throw py::type_error("a task argument is bytes, an object id or a graph key");
        }
    }
    return out;
}

class NativeClient {
public:
    NativeClient(const std::string& address, const std::string& name, double timeoutSeconds,
                 double heartbeatIntervalSeconds, double connectTimeoutSeconds,
                 const std::string& curveServerKeyFile, const std::string& curveSecretKeyFile,
                 double submitTimeoutSeconds) {
        scaler::ClientOptions options;
        options.curve = scaler::loadCurveClientKeys(curveServerKeyFile, curveSecretKeyFile);  // ValueError
        options.name = name;
        options.timeoutSeconds = timeoutSeconds;
        options.heartbeatIntervalSeconds = heartbeatIntervalSeconds;
        options.connectTimeoutSeconds = connectTimeoutSeconds;
        options.submitTimeoutSeconds = submitTimeoutSeconds;
        py::gil_scoped_release release;
        client_ = std::make_unique<scaler::Client>(address, options);
    }

    uint64_t submit(const std::string& function, const py::list& args, const std::string& capabilities,
                    bool profiling, int priority) {
        size_t bytes = 0;
        scaler::Arguments arguments = toArguments(args, bytes);
        scaler::Future future;
        // a submit that will wait for room in the client's share lets other Python threads run meanwhile
        if (bytes > kReleaseGilBytes || client_->submitWouldWait(1, bytes)) {
            py::gil_scoped_release release;  // a large argument is uploaded first
            future =
                client_->submit(function, std::move(arguments), options(capabilities, profiling, priority));
        } else {
            // microseconds: keeping the GIL beats handing it to the result thread and waiting to get it back
            future =
                client_->submit(function, std::move(arguments), options(capabilities, profiling, priority));
        }
        track(future);
        return future.id();
    }

    // Many tasks of one function in one hand-over; returns their ids in order.
    std::vector<uint64_t> submitMany(const std::string& function, const py::list& argumentLists,
                                     const std::string& capabilities, bool profiling) {
        std::vector<scaler::Arguments> all;
        all.reserve(argumentLists.size());
        size_t bytes = 0;
        for (const py::handle& args : argumentLists) all.push_back(toArguments(args.cast<py::list>(), bytes));
        std::vector<scaler::Future> futures;
        if (bytes > kReleaseGilBytes || client_->submitWouldWait(all.size(), bytes)) {
            py::gil_scoped_release release;  // large, or may wait for room in the client's share
            futures = client_->map(function, std::move(all), options(capabilities, profiling, 0));
        } else {
            futures = client_->map(function, std::move(all), options(capabilities, profiling, 0));
        }
        std::vector<uint64_t> ids;
        ids.reserve(futures.size());
        for (scaler::Future& future : futures) {
            track(future);
            ids.push_back(future.id());
        }
        return ids;
    }

    // nodes: (key, function, args, capabilities); returns {key: task id}
    std::unordered_map<std::string, uint64_t> submitGraph(const py::list& nodes,
                                                          const std::vector<std::string>& outputs,
                                                          bool profiling) {
        scaler::TaskGraph graph;
        for (const py::handle& node : nodes) {
            const auto t = node.cast<py::tuple>();
            scaler::SubmitOptions options;
            options.capabilities = t[3].cast<std::string>();
            options.profiling = profiling;
            size_t bytes = 0;
            graph.add(t[0].cast<std::string>(), t[1].cast<std::string>(),
                      toArguments(t[2].cast<py::list>(), bytes), options);
        }
        std::map<std::string, scaler::Future> futures;
        {
            py::gil_scoped_release release;
            futures = client_->submitGraph(graph, outputs);
        }
        std::unordered_map<std::string, uint64_t> ids;
        for (auto& [key, future] : futures) {
            track(future);
            ids[key] = future.id();
        }
        return ids;
    }

    py::tuple sendObject(const py::bytes& bytes, const std::string& name) {
        releaseQueued();
        std::shared_ptr<const scaler::ByteSource> data(new PyBytesSource(bytes));  // kept, not copied
        scaler::ObjectRef ref;
        {
            py::gil_scoped_release release;
            ref = client_->sendObject(std::move(data), name);
        }
        return py::make_tuple(ref.id, ref.size);
    }

    void deleteObject(uint64_t id) { client_->deleteObject(scaler::ObjectRef{id, 0, {}}); }
    void clear() { client_->clear(); }

    bool cancel(uint64_t taskId) {
        scaler::Future future;
        {
            std::lock_guard lock(mutex_);
            auto found = live_.find(taskId);
            if (found == live_.end()) return false;
            future = found->second;
        }
        py::gil_scoped_release release;
        return future.cancel();
    }

    // (duration_s, memory_peak, cpu_time_s) of a finished task that asked for profiling
    py::tuple profile(uint64_t taskId) {
        std::lock_guard lock(mutex_);
        auto found = profiles_.find(taskId);
        if (found == profiles_.end()) return py::make_tuple(0.0, 0, 0.0);
        return py::make_tuple(found->second.duration.count() / 1e6, found->second.peakMemoryBytes,
                              found->second.cpuTime.count() / 1e6);
    }

    // The dispatcher's: blocks (without the GIL) until completions arrive or the timeout passes; returns them
    // all. Being called again means the batch before is delivered.
    py::list waitCompletions(double timeoutSeconds) {
        std::deque<Completion> batch;
        {
            py::gil_scoped_release release;
            std::unique_lock lock(mutex_);
            ++deliveries_;
            delivering_ = false;
            changed_.wait_for(lock, std::chrono::duration<double>(timeoutSeconds),
                              [&] { return !completions_.empty() || closed_; });
            batch.swap(completions_);
            delivering_ = !batch.empty();
        }
        releaseQueued();
        py::list out;
        for (Completion& c : batch) out.append(toPython(c));
        return out;
    }

    // How many batches the dispatcher has delivered: read before a caller sees its future unfinished.
    uint64_t deliveries() {
        std::lock_guard lock(mutex_);
        return deliveries_;
    }

    // For a caller waiting for one task's result (the only waiter): that task's completion, taken here
    // instead of through the dispatcher (one thread woken where the dispatcher's hop wakes two). An empty
    // tuple when the timeout passed or the client closed; None when the dispatcher may hold it (it took a
    // batch since `deliveriesSeen`, unfinished then) or another caller waits so: wait for the future then.
    py::object takeCompletion(uint64_t taskId, uint64_t deliveriesSeen, double timeoutSeconds) {
        std::optional<Completion> taken;
        bool toDispatcher = false;
        {
            py::gil_scoped_release release;
            std::unique_lock lock(mutex_);
            toDispatcher = waitedTask_ != 0 || delivering_ || deliveries_ != deliveriesSeen;
            if (!toDispatcher) taken = takeQueued(taskId);
            if (!toDispatcher && !taken) {
                waitedTask_ = taskId;
                waiterChanged_.wait_for(lock, std::chrono::duration<double>(timeoutSeconds),
                                        [&] { return waited_.has_value() || closed_; });
                waitedTask_ = 0;
                taken.swap(waited_);
            }
        }
        if (toDispatcher) return py::none();
        if (!taken) return py::tuple();
        if (PyErr_CheckSignals() != 0) {  // a Ctrl-C would lose it on the way out: the dispatcher delivers it
            {
                std::lock_guard lock(mutex_);
                completions_.push_front(std::move(*taken));
            }
            changed_.notify_one();
            throw py::error_already_set();
        }
        releaseQueued();
        return toPython(*taken);
    }

    static py::tuple toPython(Completion& c) {
        py::object payload;
        if (c.payload.partCount() > 1) {
            payload = py::cast(ResultReader(std::move(c.payload)));
        } else if (c.payload.remaining() >= kResultBytesInPlace) {
            payload = py::memoryview(py::cast(ResultBytes{c.payload.takeAll()}));
        } else {
            std::string bytes = c.payload.takeAll();
            payload = py::bytes(bytes);
        }
        return py::make_tuple(c.taskId, c.status, std::move(payload), c.error);
    }

    size_t pending() const { return client_->pendingTasks(); }
    std::string identity() const { return client_->identity(); }

    void disconnect() {
        {
            py::gil_scoped_release release;
            client_->disconnect();
        }
        wakeDispatcher();
    }

    // False when the scheduler refused (protected): the client goes on as before.
    bool shutdown() {
        bool accepted = true;
        {
            py::gil_scoped_release release;
            try {
                client_->shutdown();
            } catch (const scaler::SchedulerUnreachableError&) {
                throw;
            } catch (const scaler::Error&) {
                accepted = false;
            }
        }
        if (accepted) wakeDispatcher();
        return accepted;
    }

    void wakeDispatcher() {
        {
            std::lock_guard lock(mutex_);
            closed_ = true;
        }
        changed_.notify_all();
        waiterChanged_.notify_all();
    }

private:
    // The task's completion, out of the dispatcher's queue (it is short: the dispatcher empties it).
    std::optional<Completion> takeQueued(uint64_t taskId) {
        for (auto it = completions_.begin(); it != completions_.end(); ++it) {
            if (it->taskId != taskId) continue;
            std::optional<Completion> found(std::move(*it));
            completions_.erase(it);
            return found;
        }
        return std::nullopt;
    }

    void track(scaler::Future& future) {
        {
            std::lock_guard lock(mutex_);
            live_.emplace(future.id(), future);
        }
        // on the client's I/O thread (or here, if it is already done): no GIL needed
        future.then([this](const scaler::Future& done) {
            Completion c;
            c.taskId = done.id();
            c.status = statusOf(done, c.payload, c.error);
            const scaler::TaskProfile profile = done.profile();
            bool toWaiter = false;
            {
                std::lock_guard lock(mutex_);
                live_.erase(c.taskId);
                if (profile.cpuTime.count() > 0 || profile.peakMemoryBytes > 0) profiles_[c.taskId] = profile;
                toWaiter = c.taskId == waitedTask_ && !waited_;
                if (toWaiter) {
                    waited_ = std::move(c);
                } else {
                    completions_.push_back(std::move(c));
                }
            }
            (toWaiter ? waiterChanged_ : changed_).notify_one();
        });
    }

    std::mutex mutex_;
    std::condition_variable changed_;        // the dispatcher's
    std::condition_variable waiterChanged_;  // a waiting caller's (takeCompletion)
    uint64_t waitedTask_ = 0;                // its task; 0: none
    std::optional<Completion> waited_;       // its completion, come while it waited
    uint64_t deliveries_ = 0;                // batches the dispatcher has delivered
    bool delivering_ = false;                // it is delivering one
    std::deque<Completion> completions_;
    std::unordered_map<uint64_t, scaler::Future> live_;
    std::unordered_map<uint64_t, scaler::TaskProfile> profiles_;
    bool closed_ = false;
    // last, so it is destroyed first: its I/O thread's final callbacks still find the members above
    std::unique_ptr<scaler::Client> client_;
};

}  // namespace

PYBIND11_MODULE(_native, m) {
    m.doc() = "scaler_cpp's C++ client (internal: use scaler_cpp.Client)";
    py::register_exception<scaler::SchedulerUnreachableError>(m, "SchedulerUnreachableError",
                                                              PyExc_ConnectionError);
    py::register_exception<scaler::ObjectStoreError>(m, "ObjectStoreError", PyExc_MemoryError);
    py::register_exception<scaler::SubmitTimeoutError>(m, "SubmitTimeoutError", PyExc_TimeoutError);
    py::register_exception<scaler::GraphError>(m, "GraphError", PyExc_KeyError);
    py::class_<ResultBytes>(m, "ResultBytes", py::buffer_protocol())
        .def_buffer([](ResultBytes& r) {
            return py::buffer_info(r.bytes.data(), 1, py::format_descriptor<uint8_t>::format(), 1,
                                   {static_cast<py::ssize_t>(r.bytes.size())}, {1}, true);
        })
        .def("__len__", [](const ResultBytes& r) { return r.bytes.size(); });
    py::class_<ResultReader>(m, "ResultReader")
        .def("read", &ResultReader::read, py::arg("n") = -1)
        .def("readinto", &ResultReader::readinto)
        .def("readline", &ResultReader::readline)
        .def("whole", &ResultReader::whole)
        .def("__len__", &ResultReader::remaining);
    py::class_<NativeClient>(m, "NativeClient")
        .def(py::init<const std::string&, const std::string&, double, double, double, const std::string&,
                      const std::string&, double>())
        .def("submit", &NativeClient::submit)
        .def("submit_many", &NativeClient::submitMany)
        .def("submit_graph", &NativeClient::submitGraph)
        .def("send_object", &NativeClient::sendObject)
        .def("delete_object", &NativeClient::deleteObject)
        .def("clear", &NativeClient::clear)
        .def("cancel", &NativeClient::cancel)
        .def("profile", &NativeClient::profile)
        .def("wait_completions", &NativeClient::waitCompletions)
        .def("deliveries", &NativeClient::deliveries)
        .def("take_completion", &NativeClient::takeCompletion)
        .def("pending", &NativeClient::pending)
        .def("identity", &NativeClient::identity)
        .def("disconnect", &NativeClient::disconnect)
        .def("shutdown", &NativeClient::shutdown)
        .def("wake_dispatcher", &NativeClient::wakeDispatcher);
}
