#include "scaler/adapters/kubernetes_api_client.h"

#include <time.h>

#include <fstream>
#include <random>
#include <sstream>
#include <thread>

namespace scaler::adapters::kubernetes {
namespace {

HttpClientOptions httpOptions(const KubernetesClientOptions& o) {
    HttpClientOptions h;
    h.timeout = o.timeout;
    const KubeCredentials& c = o.credentials;
    h.caFile = c.caFile;
    h.caPem = c.caPem;
    h.insecureSkipTlsVerify = c.insecureSkipTlsVerify;
    h.clientCertFile = c.clientCertFile;
    h.clientKeyFile = c.clientKeyFile;
    h.clientCertPem = c.clientCertPem;
    h.clientKeyPem = c.clientKeyPem;
    return h;
}

bool retryable(const ApiResult& r) {
    return r.status == 0 || r.status == 429 || r.status >= 500;
}

std::optional<std::chrono::system_clock::time_point> parseRfc3339(const std::string& text) {
    std::tm tm{};
    if (text.size() < 19 || strptime(text.substr(0, 19).c_str(), "%Y-%m-%dT%H:%M:%S", &tm) == nullptr) {
        return std::nullopt;
    }
    return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::string readToken(const std::string& path) {
    std::ifstream in(path);
    std::ostringstream text;
    text << in.rdbuf();
    std::string token = text.str();
    while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
    return token;
}

}  // namespace

std::string ApiResult::describe(const std::string& what) const {
    std::string out = what + ": ";
    if (status == 0) return out + "no answer from the API server (" + message + ")";
    out += std::to_string(status);
    if (!reason.empty()) out += " " + reason;
    if (!message.empty()) out += ": " + message;
    if (!causeFields.empty()) {
        out += " (fields:";
        for (const auto& f : causeFields) out += " " + f;
        out += ")";
    }
    return out;
}

ApiResult parseApiAnswer(long status, const std::string& body) {
    ApiResult r;
    r.status = status;
    r.ok = status >= 200 && status < 300;
    try {
        r.body = nlohmann::json::parse(body);
    } catch (const std::exception&) {
        if (!r.ok) r.message = body.substr(0, 300);
        return r;
    }
    if (!r.ok && r.body.is_object()) {
        r.reason = r.body.value("reason", "");
        r.message = r.body.value("message", "");
        if (r.body.contains("details") && r.body["details"].is_object() &&
            r.body["details"].contains("causes") && r.body["details"]["causes"].is_array()) {
            for (const auto& cause : r.body["details"]["causes"]) {
                if (cause.is_object() && cause.contains("field"))
                    r.causeFields.push_back(cause.value("field", ""));
            }
        }
    }
    return r;
}

std::optional<std::chrono::milliseconds> retryAfterWait(const std::string& header, std::chrono::seconds cap) {
    if (header.empty()) return std::nullopt;
    std::chrono::milliseconds wait{};
    if (std::all_of(header.begin(), header.end(), [](unsigned char c) { return std::isdigit(c); })) {
        wait = std::chrono::seconds(std::stoll(header.substr(0, 9)));
    } else {
        std::tm tm{};
        if (strptime(header.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm) == nullptr) return std::nullopt;
        wait = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::system_clock::from_time_t(timegm(&tm)) - std::chrono::system_clock::now());
        if (wait.count() < 0) wait = {};
    }
    return std::min<std::chrono::milliseconds>(wait, cap);
}

std::string percentEncode(const std::string& text) {
    static const char* kHex = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : text) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out.push_back(static_cast<char>(c));
        } else {
            out += '%';
            out += kHex[c >> 4];
            out += kHex[c & 15];
        }
    }
    return out;
}

KubernetesApiClient::KubernetesApiClient(KubernetesClientOptions options)
    : options_(std::move(options)), http_(httpOptions(options_)) {
    token_ = options_.credentials.token;
}

std::string KubernetesApiClient::authorization(bool renew) {
    const KubeCredentials& c = options_.credentials;
    const auto now = std::chrono::steady_clock::now();
    if (!c.tokenFile.empty() &&
        (renew || token_.empty() || now - tokenReadAt_ >= options_.tokenRereadInterval)) {
        token_ = readToken(c.tokenFile);
        tokenReadAt_ = now;
    }
    if (c.exec) {
        const bool expired =
            credentialExpires_ &&
            std::chrono::system_clock::now() + std::chrono::seconds(10) >= *credentialExpires_;
        if (renew || !haveExecCredential_ || expired) {
            const ExecCredential credential = runExecPlugin(*c.exec);
            haveExecCredential_ = true;
            credentialExpires_ = parseRfc3339(credential.expirationTimestamp);
            token_ = credential.token;
            if (!credential.clientCertPem.empty()) {
                http_.options().clientCertPem = credential.clientCertPem;
                http_.options().clientKeyPem = credential.clientKeyPem;
            }
        }
    }
    return token_.empty() ? "" : "Authorization: Bearer " + token_;
}

ApiResult KubernetesApiClient::call(const std::string& method, const std::string& path,
                                    const std::string& body, const std::string& what) {
    static thread_local std::mt19937 random{std::random_device{}()};
    HttpRequest request;
    request.method = method;
    request.url = options_.credentials.server + path;
    request.body = body;
    bool renewed = false;
    ApiResult result;
    for (int attempt = 1;; ++attempt) {
        request.headers = {"Accept: application/json"};
        if (!body.empty()) request.headers.push_back("Content-Type: application/json");
        try {
            const std::string auth = authorization(false);
            if (!auth.empty()) request.headers.push_back(auth);
        } catch (const std::exception& e) {
            result = ApiResult{};
            result.message = std::string("no credentials: ") + e.what();
            return result;
        }
        const HttpResponse response = http_.send(request);
        if (response.answered()) {
            result = parseApiAnswer(response.status, response.body);
        } else {
            result = ApiResult{};
            result.message = response.transportError;
        }
        if (result.status == 401 && !renewed) {
            // bound service account tokens rotate, plugin credentials expire: read them again, once
            renewed = true;
            try {
                authorization(true);
            } catch (const std::exception& e) {
                result.message += std::string(" (and renewing the credentials failed: ") + e.what() + ")";
                return result;
            }
            --attempt;
            continue;
        }
        if (result.ok || !retryable(result) || attempt >= options_.maxAttempts) return result;
        const auto cap = std::min(options_.maxBackoff, options_.baseBackoff * (1 << (attempt - 1)));
        auto wait = std::chrono::milliseconds(
            std::uniform_int_distribution<int64_t>(cap.count() / 2, cap.count())(random));
        if (auto asked = retryAfterWait(response.header("retry-after"), options_.longestRetryAfter))
            wait = *asked;
        if (onRetry) onRetry(what, result, wait);
        std::this_thread::sleep_for(wait);
    }
}

ApiResult KubernetesApiClient::createPod(const std::string& ns, const nlohmann::json& pod) {
    return call("POST", "/api/v1/namespaces/" + ns + "/pods?fieldValidation=Strict", pod.dump(),
                "create Pod " + pod["metadata"].value("name", ""));
}

ApiResult KubernetesApiClient::getPod(const std::string& ns, const std::string& name) {
    return call("GET", "/api/v1/namespaces/" + ns + "/pods/" + name, {}, "get Pod " + name);
}

ApiResult KubernetesApiClient::listPods(const std::string& ns, const std::string& labelSelector,
                                        std::vector<nlohmann::json>& out) {
    for (int listing = 0;; ++listing) {
        out.clear();
        std::string continueToken;
        ApiResult page;
        do {
            std::string path = "/api/v1/namespaces/" + ns +
                               "/pods?labelSelector=" + percentEncode(labelSelector) + "&limit=500";
            if (!continueToken.empty()) path += "&continue=" + percentEncode(continueToken);
            page = call("GET", path, {}, "list Pods");
            if (!page.ok) break;
            if (page.body.contains("items") && page.body["items"].is_array()) {
                for (auto& item : page.body["items"]) out.push_back(std::move(item));
            }
            continueToken = page.body.contains("metadata") && page.body["metadata"].is_object()
                                ? page.body["metadata"].value("continue", "")
                                : "";
        } while (!continueToken.empty());
        // 410 Gone: the continue token outlived the server's history; a fresh list is consistent again
        if (page.status == 410 && listing < 2) continue;
        return page;
    }
}

ApiResult KubernetesApiClient::deletePod(const std::string& ns, const std::string& name,
                                         int64_t gracePeriodSeconds, const std::string& uid) {
    nlohmann::json options = {
        {"apiVersion", "v1"}, {"kind", "DeleteOptions"}, {"gracePeriodSeconds", gracePeriodSeconds}};
    if (!uid.empty()) options["preconditions"] = {{"uid", uid}};
    return call("DELETE", "/api/v1/namespaces/" + ns + "/pods/" + name, options.dump(), "delete Pod " + name);
}

}  // namespace scaler::adapters::kubernetes
