#pragma once
// KubernetesApi over HTTPS (libcurl): the cluster's CA, a client certificate or a bearer token (re-read from
// its file every minute and after a 401; an exec plugin's credential renewed before it expires). 429 and 5xx
// answers and lost connections are retried with backoff, honouring Retry-After. This client, at the engine
// edge, is where the waits are. Tokens are never logged.

#include <chrono>
#include <functional>
#include <optional>

#include "scaler/adapters/http_client.h"
#include "scaler/adapters/kubernetes_api.h"
#include "scaler/adapters/kubernetes_credentials.h"

namespace scaler::adapters::kubernetes {

struct KubernetesClientOptions {
    KubeCredentials credentials;
    std::chrono::milliseconds timeout{30000};
    int maxAttempts = 5;
    std::chrono::milliseconds baseBackoff{200};
    std::chrono::milliseconds maxBackoff{10000};
    std::chrono::seconds longestRetryAfter{60};
    std::chrono::seconds tokenRereadInterval{60};
};

// The wait a Retry-After value asks for (seconds, or an HTTP date), capped; nullopt when absent or
// unreadable.
std::optional<std::chrono::milliseconds> retryAfterWait(const std::string& header, std::chrono::seconds cap);
std::string percentEncode(const std::string& text);

class KubernetesApiClient final : public KubernetesApi {
public:
    explicit KubernetesApiClient(KubernetesClientOptions options);

    ApiResult createPod(const std::string& ns, const nlohmann::json& pod) override;
    ApiResult getPod(const std::string& ns, const std::string& name) override;
    ApiResult listPods(const std::string& ns, const std::string& labelSelector,
                       std::vector<nlohmann::json>& out) override;
    ApiResult deletePod(const std::string& ns, const std::string& name, int64_t gracePeriodSeconds,
                        const std::string& uid) override;
    std::string server() const override { return options_.credentials.server; }

    // A request, with the retries above; `what` names it in errors.
    ApiResult call(const std::string& method, const std::string& path, const std::string& body,
                   const std::string& what);

    std::function<void(const std::string& what, const ApiResult& failed, std::chrono::milliseconds wait)>
        onRetry;

private:
    // The Authorization header, or "" for certificate-only credentials. `renew`: after a 401.
    std::string authorization(bool renew);

    KubernetesClientOptions options_;
    HttpClient http_;
    std::string token_;
    std::chrono::steady_clock::time_point tokenReadAt_{};
    std::optional<std::chrono::system_clock::time_point> credentialExpires_;
    bool haveExecCredential_ = false;
};

}  // namespace scaler::adapters::kubernetes
