#include "scaler/client/client.h"

#include "client_core.h"

namespace scaler {

Client::Client(const std::string& address, ClientOptions options)
    : core_(std::make_shared<detail::ClientCore>(address, std::move(options))) {
    core_->start();
}

Client::~Client() {
    try {
        core_->close();
    } catch (...) {
        // a destructor must not throw; disconnect() reports errors to callers who want them
    }
}

Future Client::submit(const std::string& function, std::string payload, const SubmitOptions& options) {
    return core_->submit(function, std::move(payload), options);
}

Future Client::submit(const std::string& function, Arguments arguments, const SubmitOptions& options) {
    return core_->submitArguments(function, std::move(arguments), options);
}

std::vector<Future> Client::map(const std::string& function, std::vector<Arguments> arguments,
                                const SubmitOptions& options) {
    return core_->submitArgumentsMany(function, std::move(arguments), options);
}

std::map<std::string, Future> Client::submitGraph(const TaskGraph& graph,
                                                  const std::vector<std::string>& outputs) {
    return core_->submitGraph(graph, outputs);
}

ObjectRef Client::sendObject(std::string bytes, std::string name) {
    return core_->sendObject(std::move(bytes), std::move(name));
}

ObjectRef Client::sendObject(std::shared_ptr<const ByteSource> bytes, std::string name) {
    if (!bytes) throw std::invalid_argument("sendObject of an empty ByteSource");
    return core_->sendObject(std::move(bytes), std::move(name));
}

void Client::deleteObject(const ObjectRef& object) {
    if (object.valid()) core_->deleteObjects({object.id}, false);
}

void Client::clear() {
    core_->deleteObjects({}, true);
}

Future Client::submitExec(const std::vector<std::string>& argv, const SubmitOptions& options) {
    if (argv.empty()) throw std::invalid_argument("exec needs a program to run");
    return core_->submit("exec", encodeExecRequest({argv, {}, {}}), options);
}

std::vector<Future> Client::map(const std::string& function, std::vector<std::string> payloads,
                                const SubmitOptions& options) {
    return core_->submitMany(function, std::move(payloads), options);
}

std::vector<std::string> Client::gather(const std::vector<Future>& futures) {
    std::vector<std::string> results;
    results.reserve(futures.size());
    for (const auto& future : futures) results.push_back(future.get());
    return results;
}

void Client::disconnect() {
    core_->close();
}
void Client::shutdown() {
    core_->shutdown();
}
const std::string& Client::identity() const {
    return core_->identity();
}
size_t Client::pendingTasks() const {
    return core_->pending();
}

bool Client::submitWouldWait(size_t tasks, size_t bytes) const {
    return core_->submitWouldWait(tasks, bytes);
}
uint64_t Client::unmatchedResults() const {
    return core_->unmatchedResults();
}

}  // namespace scaler
