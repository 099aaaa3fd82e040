#pragma once
// The ECS API calls the ECS adapter makes: AWS JSON 1.1 (POST /, X-Amz-Target), SigV4-signed by libcurl,
// with throttling, server errors and lost connections retried with exponential backoff and full jitter.

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scaler/adapters/http_client.h"

namespace scaler::adapters {

struct AwsCredentials {
    std::string accessKeyId;
    std::string secretAccessKey;
    std::string sessionToken;  // temporary credentials only
};

struct EcsClientOptions {
    std::string endpoint;  // https://ecs.<region>.amazonaws.com, or a private / test endpoint
    std::string region;
    AwsCredentials credentials;
    int maxAttempts = 5;
    std::chrono::milliseconds baseBackoff{100};
    std::chrono::milliseconds maxBackoff{2000};
    std::chrono::milliseconds timeout{20000};
    double runTaskCallsPerSecond = 10;  // below Fargate's 20 calls/s RunTask limit
};

struct EcsResult {
    bool ok = false;
    long status = 0;        // HTTP status; 0 when no answer came
    std::string errorType;  // "ThrottlingException", "AccessDeniedException", ... (namespace stripped)
    std::string message;    // AWS's message, or the transport error
    nlohmann::json body;
    std::string describe(const std::string& operation) const;  // "RunTask: AccessDeniedException: ..."
};

// Parses an AWS JSON error answer; pure, for tests.
EcsResult parseEcsAnswer(long status, const std::string& body);
// Whether a failed answer is worth retrying: throttling, server errors, no answer at all.
bool isRetryable(const EcsResult& result);

// The ECS operations the launcher calls: AWS (EcsApiClient), or a fake in tests.
class EcsApi {
public:
    virtual ~EcsApi() = default;
    // One operation, e.g. "RunTask". Never throws for AWS or network errors.
    virtual EcsResult call(const std::string& operation, const nlohmann::json& request) = 0;
};

class EcsApiClient final : public EcsApi {
public:
    explicit EcsApiClient(EcsClientOptions options);

    // With retries, and RunTask held to its rate: this client, at the engine edge, is where the waits are.
    EcsResult call(const std::string& operation, const nlohmann::json& request) override;

    // Tests and logs see retries through this.
    std::function<void(const std::string& operation, const EcsResult& failed, std::chrono::milliseconds wait)>
        onRetry;

private:
    void waitForRunTaskSlot();

    EcsClientOptions options_;
    HttpClient http_;
    std::chrono::steady_clock::time_point nextRunTask_{};
};

}  // namespace scaler::adapters
