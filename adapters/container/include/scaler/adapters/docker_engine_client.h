#pragma once
// The Docker Engine REST API calls the container adapter makes. The API version is negotiated with the engine
// at the first call as Docker's own client does (GET /_ping and its API-Version header): the lower of the
// engine's newest and the newest we know. Docker 20.10+ and Podman's `podman system service` both serve it.

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scaler/adapters/http_client.h"
#include "scaler/protocol/result.h"

namespace scaler::adapters {

struct DockerResult {
    bool ok = false;
    long status = 0;      // HTTP status; 0 when the engine could not be reached
    std::string error;    // "POST /containers/create: 404 no such image ..." when not ok
    nlohmann::json body;  // the parsed answer, when it is JSON
};

struct ContainerSummary {
    std::string id;
    std::string state;  // created, running, exited, dead, ...
    std::map<std::string, std::string> labels;
};

// The version to use with an engine that serves `engineMax` and accepts no less than `engineMin` ("" when
// the engine does not say); pure, for tests.
std::string negotiateApiVersion(const std::string& engineMax, const std::string& engineMin);
// Whether a unix socket looks usable, and why not (missing, permission denied), naming the fix.
Status checkUnixSocket(const std::string& path);

// The container calls the launcher makes: the Docker Engine API (DockerEngineClient), or a fake in tests.
class ContainerEngine {
public:
    virtual ~ContainerEngine() = default;
    virtual DockerResult createContainer(const std::string& name, const nlohmann::json& spec) = 0;
    virtual DockerResult startContainer(const std::string& id) = 0;
    virtual DockerResult killContainer(const std::string& id, const std::string& signal) = 0;
    virtual DockerResult removeContainer(const std::string& id) = 0;  // forced: also a running one
    virtual DockerResult inspectContainer(const std::string& id) = 0;
    // Every container (running or not) carrying the label `key=value`.
    virtual DockerResult listContainers(const std::string& labelKey, const std::string& labelValue,
                                        std::vector<ContainerSummary>& out) = 0;
    virtual const std::string& host() const = 0;
    // The engine's Server header ("Docker/29.0.0 (linux)", "Libpod/4.3.1 (linux)"), once known; "" before.
    virtual std::string product() const { return ""; }
};

class DockerEngineClient final : public ContainerEngine {
public:
    // dockerHost: unix:///var/run/docker.sock, tcp://host:2375 or http://host:2375.
    // Throws std::invalid_argument for any other form.
    DockerEngineClient(const std::string& dockerHost, std::chrono::milliseconds timeout);

    DockerResult createContainer(const std::string& name, const nlohmann::json& spec) override;
    DockerResult startContainer(const std::string& id) override;
    DockerResult killContainer(const std::string& id, const std::string& signal) override;
    DockerResult removeContainer(const std::string& id) override;
    DockerResult inspectContainer(const std::string& id) override;
    DockerResult listContainers(const std::string& labelKey, const std::string& labelValue,
                                std::vector<ContainerSummary>& out) override;

    const std::string& host() const override { return host_; }
    std::string product() const override { return product_; }

private:
    DockerResult call(const std::string& method, const std::string& path, const std::string& body = {});
    DockerResult send(const std::string& method, const std::string& url, const std::string& what,
                      const std::string& body);
    void negotiate();

    std::string host_;
    std::string apiVersion_ = "1.41";
    bool negotiated_ = false;
    std::string product_;
    std::string baseUrl_;
    HttpClient http_;
};

}  // namespace scaler::adapters
