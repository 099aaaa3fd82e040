#pragma once
// The Pod calls the Kubernetes worker launcher makes: the API server (KubernetesApiClient), or a fake in
// tests. Answers keep what a Status object says (reason, message, the fields a 422 names).

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace scaler::adapters::kubernetes {

struct ApiResult {
    bool ok = false;
    long status = 0;                       // HTTP status; 0 when no answer came
    std::string reason;                    // Status.reason: AlreadyExists, Invalid, Forbidden, NotFound, ...
    std::string message;                   // Status.message, or the transport error
    std::vector<std::string> causeFields;  // Status.details.causes[].field (422 Invalid)
    nlohmann::json body;                   // the object, when ok
    // "create Pod scaler-x: 422 Invalid: Pod \"scaler-x\" is invalid: ... (fields: spec.containers[0].image)"
    std::string describe(const std::string& what) const;
};

// An answer of the API server as an ApiResult; pure, for tests.
ApiResult parseApiAnswer(long status, const std::string& body);

class KubernetesApi {
public:
    virtual ~KubernetesApi() = default;
    // POST with fieldValidation=Strict.
    virtual ApiResult createPod(const std::string& ns, const nlohmann::json& pod) = 0;
    virtual ApiResult getPod(const std::string& ns, const std::string& name) = 0;
    // Every Pod matching the label selector, all pages (limit/continue; an expired continue lists again).
    virtual ApiResult listPods(const std::string& ns, const std::string& labelSelector,
                               std::vector<nlohmann::json>& out) = 0;
    // DELETE with a grace period, and the uid as a precondition when given (so a new Pod of the same name is
    // never deleted by mistake).
    virtual ApiResult deletePod(const std::string& ns, const std::string& name, int64_t gracePeriodSeconds,
                                const std::string& uid) = 0;
    virtual std::string server() const = 0;
};

}  // namespace scaler::adapters::kubernetes
