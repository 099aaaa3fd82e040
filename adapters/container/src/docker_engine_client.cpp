#include "scaler/adapters/docker_engine_client.h"

#include <stdexcept>

#include <curl/curl.h>

namespace scaler::adapters {
namespace {

constexpr const char* kApiVersion = "/v1.41";

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

DockerEngineClient::DockerEngineClient(const std::string& dockerHost, std::chrono::milliseconds timeout)
    : host_(dockerHost), baseUrl_(baseUrlOf(dockerHost)), http_(clientOptions(dockerHost, timeout)) {}

DockerResult DockerEngineClient::call(const std::string& method, const std::string& path,
                                      const std::string& body) {
    HttpRequest request;
    request.method = method;
    request.url = baseUrl_ + kApiVersion + path;
    request.body = body;
    if (!body.empty()) request.headers.push_back("Content-Type: application/json");
    const HttpResponse response = http_.send(request);
    DockerResult result;
    const std::string what = method + " " + path.substr(0, path.find('?'));
    if (!response.answered()) {
        result.error =
            what + ": cannot reach the container engine at " + host_ + ": " + response.transportError;
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

DockerResult DockerEngineClient::version() {
    return call("GET", "/version");
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
    DockerResult result = call("GET", "/containers/json?all=true&filters=" + escape(filters.dump()));
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
