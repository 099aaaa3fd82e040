#include "scaler/adapters/ecs_api_client.h"

#include <random>
#include <thread>

namespace scaler::adapters {
namespace {

HttpClientOptions httpOptions(const EcsClientOptions& o) {
    HttpClientOptions h;
    h.timeout = o.timeout;
    h.awsSigV4 = "aws:amz:" + o.region + ":ecs";
    h.awsAccessKeyId = o.credentials.accessKeyId;
    h.awsSecretAccessKey = o.credentials.secretAccessKey;
    return h;
}

}  // namespace

std::string EcsResult::describe(const std::string& operation) const {
    std::string out = operation + ": ";
    if (status == 0) return out + "no answer from the ECS endpoint: " + message;
    out += errorType.empty() ? "HTTP " + std::to_string(status) : errorType;
    if (!message.empty()) out += ": " + message;
    return out;
}

EcsResult parseEcsAnswer(long status, const std::string& body) {
    EcsResult result;
    result.status = status;
    result.ok = status >= 200 && status < 300;
    result.body = nlohmann::json::parse(body, nullptr, false);
    if (result.ok) return result;
    if (result.body.is_object()) {
        std::string type = result.body.value("__type", "");
        if (const auto hash = type.rfind('#'); hash != std::string::npos) type = type.substr(hash + 1);
        if (const auto colon = type.find(':'); colon != std::string::npos) type = type.substr(0, colon);
        result.errorType = type;
        for (const char* key : {"message", "Message"}) {
            if (result.body.contains(key) && result.body[key].is_string()) result.message = result.body[key];
        }
    } else {
        result.message = body.substr(0, 200);
    }
    return result;
}

bool isRetryable(const EcsResult& result) {
    if (result.ok) return false;
    if (result.status == 0 || result.status >= 500 || result.status == 429) return true;
    return result.errorType == "ThrottlingException" || result.errorType == "ServerException" ||
           result.errorType == "RequestLimitExceeded" || result.errorType == "ServiceUnavailableException";
}

EcsApiClient::EcsApiClient(EcsClientOptions options)
    : options_(std::move(options)), http_(httpOptions(options_)) {}

void EcsApiClient::waitForRunTaskSlot() {
    using Clock = std::chrono::steady_clock;
    const auto now = Clock::now();
    if (nextRunTask_ > now) std::this_thread::sleep_for(nextRunTask_ - now);
    nextRunTask_ = std::max(now, nextRunTask_) +
                   std::chrono::duration_cast<Clock::duration>(
                       std::chrono::duration<double>(1.0 / options_.runTaskCallsPerSecond));
}

EcsResult EcsApiClient::call(const std::string& operation, const nlohmann::json& request) {
    static thread_local std::mt19937 random{std::random_device{}()};
    if (operation == "RunTask") waitForRunTaskSlot();
    HttpRequest http;
    http.method = "POST";
    http.url = options_.endpoint + "/";
    http.body = request.dump();
    http.headers = {"Content-Type: application/x-amz-json-1.1",
                    "X-Amz-Target: AmazonEC2ContainerServiceV20141113." + operation};
    // Must be a signed header; curl signs the headers it is given.
    if (!options_.credentials.sessionToken.empty()) {
        http.headers.push_back("X-Amz-Security-Token: " + options_.credentials.sessionToken);
    }
    EcsResult result;
    for (int attempt = 1;; ++attempt) {
        const HttpResponse response = http_.send(http);
        if (response.answered()) {
            result = parseEcsAnswer(response.status, response.body);
        } else {
            result = EcsResult{};
            result.message = response.transportError;
        }
        if (result.ok || !isRetryable(result) || attempt >= options_.maxAttempts) return result;
        // Equal jitter: between half and all of the exponential cap, so retries of many adapters spread out.
        const auto cap = std::min(options_.maxBackoff, options_.baseBackoff * (1 << (attempt - 1)));
        const auto wait = std::chrono::milliseconds(
            std::uniform_int_distribution<int64_t>(cap.count() / 2, cap.count())(random));
        if (onRetry) onRetry(operation, result, wait);
        std::this_thread::sleep_for(wait);
    }
}

}  // namespace scaler::adapters
