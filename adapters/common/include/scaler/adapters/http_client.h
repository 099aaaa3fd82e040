#pragma once
// A small blocking HTTP client over libcurl, for the container adapter (Docker Engine API, often over a
// unix socket), the ECS adapter (AWS JSON API, SigV4-signed by libcurl) and the Kubernetes adapter (TLS with
// the cluster's CA and a client certificate or bearer token).

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace scaler::adapters {

struct HttpClientOptions {
    std::string unixSocketPath;  // when set, every request goes over this socket
    std::chrono::milliseconds timeout{30000};
    std::string awsSigV4;        // e.g. "aws:amz:us-east-1:ecs": sign with SigV4 (curl's CURLOPT_AWS_SIGV4)
    std::string awsAccessKeyId;  // with awsSigV4
    std::string awsSecretAccessKey;
    // TLS (the Kubernetes API): the CA to trust (a file, or PEM text), a client certificate and key (files or
    // PEM text), or no verification at all (kubeconfig's insecure-skip-tls-verify).
    std::string caFile;
    std::string caPem;
    std::string clientCertFile;
    std::string clientKeyFile;
    std::string clientCertPem;
    std::string clientKeyPem;
    bool insecureSkipTlsVerify = false;
};

struct HttpRequest {
    std::string method = "GET";
    std::string url;
    std::vector<std::string> headers;  // "Name: value"
    std::string body;
};

struct HttpResponse {
    long status = 0;
    std::string body;
    std::string transportError;                  // set when no HTTP answer came (unreachable, timeout)
    std::map<std::string, std::string> headers;  // by lowercased name (Retry-After, Docker's API-Version)
    std::string header(const std::string& lowercaseName) const {
        const auto it = headers.find(lowercaseName);
        return it == headers.end() ? "" : it->second;
    }
    bool answered() const { return transportError.empty(); }
};

class HttpClient {
public:
    explicit HttpClient(HttpClientOptions options);
    ~HttpClient();
    HttpClient(const HttpClient&) = delete;
    HttpClient& operator=(const HttpClient&) = delete;

    // Never throws for network or HTTP errors: they come back in the response.
    HttpResponse send(const HttpRequest& request);
    // Credentials that change while it runs (a client certificate from a credential plugin).
    HttpClientOptions& options() { return options_; }

private:
    struct Handle;
    HttpClientOptions options_;
    std::unique_ptr<Handle> handle_;
};

}  // namespace scaler::adapters
