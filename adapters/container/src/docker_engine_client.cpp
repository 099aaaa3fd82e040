#include "scaler/adapters/docker_engine_client.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <stdexcept>
#include <utility>

#include <curl/curl.h>

#include "scaler/common/log.h"

namespace scaler::adapters {
namespace {

// Versions the requests were checked against (Docker's Engine API specification 1.41 and 1.44).
constexpr const char* kOldestKnown = "1.41";
constexpr const char* kNewestKnown = "1.44";
constexpr int kListRetries = 3;

// "1.44" -> {1, 44}; {0, 0} for anything else.
std::pair<int, int> versionOf(const std::string& text) {
    int major = 0, minor = 0;
    if (std::sscanf(text.c_str(), "%d.%d", &major, &minor) != 2) return {0, 0};
    return {major, minor};
}

HttpClientOptions clientOptions(const std::string& host, std::chrono::milliseconds timeout) {
    HttpClientOptions options;
    options.timeout = timeout;
    if (host.rfind("unix://", 0) == 0) {
        options.unixSocketPath = host.substr(7);
        if (options.unixSocketPath.empty())
            throw std::invalid_argument("--docker-host: no socket path in '" + host + "'");
    } else if (host.rfind("tcp://", 0) != 0 && host.rfind("http://", 0) != 0) {
        throw std::invalid_argument(
            "--docker-host: expected unix:///path, tcp://host:port or http://host:port, got '" + host + "'");
    }
    return options;
}

std::string baseUrlOf(const std::string& host) {
    if (host.rfind("unix://", 0) == 0) return "http://docker";  // the host name is not used over a socket
    if (host.rfind("tcp://", 0) == 0) return "http://" + host.substr(6);
    return host;
}

std::string escape(const std::string& text) {
    char* escaped = curl_easy_escape(nullptr, text.c_str(), static_cast<int>(text.size()));
    std::string out = escaped ? escaped : "";
    curl_free(escaped);
    return out;
}

}  // namespace

std::string negotiateApiVersion(const std::string& engineMax, const std::string& engineMin) {
    const auto max = versionOf(engineMax);
    if (max == std::pair{0, 0}) return kOldestKnown;  // an engine that does not say: the oldest we know
    std::string chosen = max < versionOf(kNewestKnown) ? engineMax : kNewestKnown;
    if (versionOf(engineMin) != std::pair{0, 0} && versionOf(chosen) < versionOf(engineMin))
        chosen = engineMin;
    return chosen;
}

Status checkUnixSocket(const std::string& path) {
    if (::access(path.c_str(), F_OK) != 0) {
        return refuse("there is no socket at " + path +
                      " (is the engine running? rootless Docker listens on "
                      "$XDG_RUNTIME_DIR/docker.sock, Podman on $XDG_RUNTIME_DIR/podman/podman.sock or "
                      "/run/podman/podman.sock)");
    }
    if (::access(path.c_str(), R_OK | W_OK) != 0 && errno == EACCES) {
        return refuse("permission denied on " + path +
                      ": run the adapter as a user in the socket's group (for "
                      "Docker the docker group, which is as good as root) or point --docker-host at a "
                      "rootless engine's socket");
    }
    return {};
}

DockerEngineClient::DockerEngineClient(const std::string& dockerHost, std::chrono::milliseconds timeout)
    : host_(dockerHost), baseUrl_(baseUrlOf(dockerHost)), http_(clientOptions(dockerHost, timeout)) {}

void DockerEngineClient::negotiate() {
    // as Docker's own client does: GET /_ping (unversioned) and its API-Version header, the newest the engine
    // serves; Docker's specification calls the unversioned /version deprecated
    HttpRequest ping;
    ping.url = baseUrl_ + "/_ping";
    const HttpResponse answer = http_.send(ping);
    if (!answer.answered() || answer.status != 200) return;  // tried again at the next call
    negotiated_ = true;
    const std::string engineMax = answer.header("api-version");
    apiVersion_ = negotiateApiVersion(engineMax, "");
    const std::string server = answer.header("server");
    product_ = server;
    log::adapter().info("container engine at {} ({}) serves API up to {}; using {}", host_,
                        server.empty() ? "engine" : server, engineMax.empty() ? "?" : engineMax, apiVersion_);
}

DockerResult DockerEngineClient::call(const std::string& method, const std::string& path,
                                      const std::string& body) {
    if (!negotiated_) negotiate();
    return send(method, baseUrl_ + "/v" + apiVersion_ + path, method + " " + path.substr(0, path.find('?')),
                body);
}

DockerResult DockerEngineClient::send(const std::string& method, const std::string& url,
                                      const std::string& what, const std::string& body) {
    HttpRequest request;
    request.method = method;
    request.url = url;
    request.body = body;
    if (!body.empty()) request.headers.push_back("Content-Type: application/json");
    const HttpResponse response = http_.send(request);
    DockerResult result;
    if (!response.answered()) {
        std::string why = response.transportError;
        if (host_.rfind("unix://", 0) == 0) {
            if (auto usable = checkUnixSocket(host_.substr(7)); !usable) why = usable.why();
        }
        result.error = what + ": cannot reach the container engine at " + host_ + ": " + why;
        return result;
    }
    result.status = response.status;
    result.body = nlohmann::json::parse(response.body, nullptr, false);
    result.ok = response.status >= 200 && response.status < 300;
    if (!result.ok) {
        std::string message = response.body;
        if (result.body.is_object() && result.body.contains("message") &&
            result.body["message"].is_string()) {
            message = result.body["message"].get<std::string>();
        }
        result.error = what + ": HTTP " + std::to_string(response.status) + ": " + message;
    }
    return result;
}

DockerResult DockerEngineClient::createContainer(const std::string& name, const nlohmann::json& spec) {
    return call("POST", "/containers/create?name=" + escape(name), spec.dump());
}

DockerResult DockerEngineClient::startContainer(const std::string& id) {
    return call("POST", "/containers/" + escape(id) + "/start");
}

DockerResult DockerEngineClient::killContainer(const std::string& id, const std::string& signal) {
    return call("POST", "/containers/" + escape(id) + "/kill?signal=" + escape(signal));
}

DockerResult DockerEngineClient::removeContainer(const std::string& id) {
    return call("DELETE", "/containers/" + escape(id) + "?force=true");
}

DockerResult DockerEngineClient::inspectContainer(const std::string& id) {
    return call("GET", "/containers/" + escape(id) + "/json");
}

DockerResult DockerEngineClient::listContainers(const std::string& labelKey, const std::string& labelValue,
                                                std::vector<ContainerSummary>& out) {
    const nlohmann::json filters = {{"label", {labelKey + "=" + labelValue}}};
    const std::string path = "/containers/json?all=true&filters=" + escape(filters.dump());
    DockerResult result = call("GET", path);
    // Podman answers 500 ("read /proc/N/cgroup: no such process") when a container exits while it is being
    // listed; the list is a read, so asking again at once is safe and usually succeeds.
    for (int retry = 0; retry < kListRetries && !result.ok && result.status == 500; ++retry) {
        log::adapter().debug("{}; listing again", result.error);
        result = call("GET", path);
    }
    out.clear();
    if (!result.ok) return result;
    if (!result.body.is_array()) {
        result.ok = false;
        result.error = "GET /containers/json: the answer is not a JSON array";
        return result;
    }
    for (const auto& item : result.body) {
        if (!item.is_object()) continue;
        ContainerSummary summary;
        summary.id = item.value("Id", "");
        summary.state = item.value("State", "");
        if (item.contains("Labels") && item["Labels"].is_object()) {
            for (const auto& [key, value] : item["Labels"].items()) {
                if (value.is_string()) summary.labels[key] = value.get<std::string>();
            }
        }
        out.push_back(std::move(summary));
    }
    return result;
}

}  // namespace scaler::adapters
