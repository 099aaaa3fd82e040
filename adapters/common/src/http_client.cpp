#include "scaler/adapters/http_client.h"

#include <cctype>
#include <stdexcept>
#include <string_view>

#include <curl/curl.h>

namespace scaler::adapters {
namespace {

struct CurlGlobal {
    CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

size_t appendBody(char* data, size_t size, size_t count, void* out) {
    static_cast<std::string*>(out)->append(data, size * count);
    return size * count;
}

size_t readHeader(char* data, size_t size, size_t count, void* out) {
    const std::string_view line(data, size * count);
    const size_t colon = line.find(':');
    if (colon != std::string_view::npos && colon > 0) {
        std::string name(line.substr(0, colon));
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        std::string value(line.substr(colon + 1));
        while (!value.empty() && std::isspace(static_cast<unsigned char>(value.back()))) value.pop_back();
        size_t start = 0;
        while (start < value.size() && std::isspace(static_cast<unsigned char>(value[start]))) ++start;
        static_cast<HttpResponse*>(out)->headers[name] = value.substr(start);
    }
    return size * count;
}

void setBlob(CURL* curl, CURLoption option, const std::string& pem) {
    curl_blob blob{const_cast<char*>(pem.data()), pem.size(), CURL_BLOB_COPY};
    curl_easy_setopt(curl, option, &blob);
}

}  // namespace

struct HttpClient::Handle {
    CURL* curl = nullptr;
    ~Handle() {
        if (curl) curl_easy_cleanup(curl);
    }
};

HttpClient::HttpClient(HttpClientOptions options)
    : options_(std::move(options)), handle_(std::make_unique<Handle>()) {
    static CurlGlobal global;
    handle_->curl = curl_easy_init();
    if (!handle_->curl) throw std::runtime_error("libcurl could not create a handle");
}

HttpClient::~HttpClient() = default;

HttpResponse HttpClient::send(const HttpRequest& request) {
    CURL* curl = handle_->curl;
    curl_easy_reset(curl);  // keeps the connection cache: the handle is reused for keep-alive
    HttpResponse response;
    char errorBuffer[CURL_ERROR_SIZE] = {0};
    curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(options_.timeout.count()));
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
                     std::min(5000L, static_cast<long>(options_.timeout.count())));
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errorBuffer);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, appendBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response.body);
    if (!options_.unixSocketPath.empty()) {
        curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, options_.unixSocketPath.c_str());
    }
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, readHeader);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &response);
    if (!options_.caFile.empty()) curl_easy_setopt(curl, CURLOPT_CAINFO, options_.caFile.c_str());
    if (!options_.caPem.empty()) setBlob(curl, CURLOPT_CAINFO_BLOB, options_.caPem);
    if (!options_.clientCertFile.empty())
        curl_easy_setopt(curl, CURLOPT_SSLCERT, options_.clientCertFile.c_str());
    if (!options_.clientKeyFile.empty())
        curl_easy_setopt(curl, CURLOPT_SSLKEY, options_.clientKeyFile.c_str());
    if (!options_.clientCertPem.empty()) setBlob(curl, CURLOPT_SSLCERT_BLOB, options_.clientCertPem);
    if (!options_.clientKeyPem.empty()) setBlob(curl, CURLOPT_SSLKEY_BLOB, options_.clientKeyPem);
    if (options_.insecureSkipTlsVerify) {
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (!options_.awsSigV4.empty()) {
        curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, options_.awsSigV4.c_str());
        curl_easy_setopt(curl, CURLOPT_USERNAME, options_.awsAccessKeyId.c_str());
        curl_easy_setopt(curl, CURLOPT_PASSWORD, options_.awsSecretAccessKey.c_str());
    }
    if (request.method != "GET" && (request.method != "DELETE" || !request.body.empty())) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.data());
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
    }
    curl_slist* headers = nullptr;
    for (const auto& h : request.headers) headers = curl_slist_append(headers, h.c_str());
    // No "Expect:" override: with SigV4, curl would sign the empty header it then leaves out (AWS rejects
    // that); bodies here are far below the 1 MiB at which curl starts using 100-continue.
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    const CURLcode code = curl_easy_perform(curl);
    curl_slist_free_all(headers);
    if (code != CURLE_OK) {
        response.transportError = errorBuffer[0] ? errorBuffer : curl_easy_strerror(code);
        return response;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &response.status);
    return response;
}

}  // namespace scaler::adapters
