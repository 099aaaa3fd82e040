#pragma once
// The Docker Engine REST API calls the container adapter makes, pinned to API version 1.41 (Docker 20.10+;
// Podman's `podman system service` serves the same compatible API).

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scaler/adapters/http_client.h"

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

class DockerEngineClient {
public:
    // dockerHost: unix:///var/run/docker.sock, tcp://host:2375 or http://host:2375.
    // Throws std::invalid_argument for any other form.
    DockerEngineClient(const std::string& dockerHost, std::chrono::milliseconds timeout);

    DockerResult version();
    DockerResult createContainer(const std::string& name, const nlohmann::json& spec);
    DockerResult startContainer(const std::string& id);
    DockerResult killContainer(const std::string& id, const std::string& signal);
    DockerResult removeContainer(const std::string& id);  // forced: also a running one
    DockerResult inspectContainer(const std::string& id);
    // Every container (running or not) carrying the label `key=value`.
    DockerResult listContainers(const std::string& labelKey, const std::string& labelValue,
                                std::vector<ContainerSummary>& out);

    const std::string& host() const { return host_; }

private:
    DockerResult call(const std::string& method, const std::string& path, const std::string& body = {});

    std::string host_;
    std::string baseUrl_;
    HttpClient http_;
};

}  // namespace scaler::adapters
