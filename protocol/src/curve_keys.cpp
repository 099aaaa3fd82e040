#include "scaler/protocol/curve_keys.h"
#include "scaler/protocol/curve_socket.h"

#include <sys/stat.h>

#include <array>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace scaler {
namespace {

std::array<uint8_t, 32> decode(const std::string& z85) {
    std::array<uint8_t, 32> bytes{};
    if (z85.size() != 40 || zmq_z85_decode(bytes.data(), z85.c_str()) == nullptr) {
        throw std::invalid_argument("not a CURVE key (40 Z85 characters)");
    }
    return bytes;
}

std::string trim(const std::string& text) {
    const auto first = text.find_first_not_of(" \t\r");
    if (first == std::string::npos) return {};
    return text.substr(first, text.find_last_not_of(" \t\r") - first + 1);
}

// The key lines of a key file: everything but blank lines and '#' comments.
std::vector<std::string> keyLines(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw std::invalid_argument("cannot read key file '" + path + "'");
    std::vector<std::string> keys;
    for (std::string line; std::getline(in, line);) {
        line = trim(line);
        if (line.empty() || line[0] == '#') continue;
        if (!isCurveKey(line))
            throw std::invalid_argument("key file '" + path + "' holds a line that is not a CURVE key");
        keys.push_back(line);
    }
    return keys;
}

std::string singleKey(const std::string& path) {
    auto keys = keyLines(path);
    if (keys.size() != 1) throw std::invalid_argument("key file '" + path + "' must hold exactly one key");
    return keys.front();
}

void setKey(zmq::socket_t& socket, int option, const std::string& z85) {
    const auto bytes = decode(z85);
    if (zmq_setsockopt(socket.handle(), option, bytes.data(), bytes.size()) != 0) throw zmq::error_t();
}

}  // namespace

bool isCurveKey(const std::string& z85) {
    std::array<uint8_t, 32> bytes{};
    return z85.size() == 40 && zmq_z85_decode(bytes.data(), z85.c_str()) != nullptr;
}

CurveKeyPair generateCurveKeyPair() {
    char publicKey[41] = {}, secretKey[41] = {};
    if (zmq_curve_keypair(publicKey, secretKey) != 0) {
        throw std::runtime_error("this libzmq cannot make CURVE keys (built without libsodium?)");
    }
    return {publicKey, secretKey};
}

std::string curvePublicKeyOf(const std::string& secretKeyZ85) {
    decode(secretKeyZ85);
    char publicKey[41] = {};
    if (zmq_curve_public(publicKey, secretKeyZ85.c_str()) != 0)
        throw std::invalid_argument("bad CURVE secret key");
    return publicKey;
}

std::string readCurvePublicKeyFile(const std::string& path) {
    return singleKey(path);
}

CurveKeyPair readCurveSecretKeyFile(const std::string& path) {
    const std::string secret = singleKey(path);
    return {curvePublicKeyOf(secret), secret};
}

std::vector<std::string> readCurveAllowList(const std::string& path) {
    namespace fs = std::filesystem;
    std::error_code error;
    if (!fs::is_directory(path, error)) {
        auto keys = keyLines(path);
        if (keys.empty()) throw std::invalid_argument("allow-list '" + path + "' holds no keys");
        return keys;
    }
    std::vector<std::string> keys;
    for (const auto& entry : fs::directory_iterator(path)) {
        if (entry.path().extension() == ".pub") keys.push_back(singleKey(entry.path().string()));
    }
    if (keys.empty()) throw std::invalid_argument("allow-list directory '" + path + "' holds no .pub files");
    return keys;
}

void writeCurveKeyFiles(const std::string& directory, const std::string& name, const CurveKeyPair& keys,
                        bool overwrite) {
    std::error_code error;
    // a directory it makes holds secret keys: only the owner may look in (an existing one keeps its mode)
    if (!std::filesystem::exists(directory) && std::filesystem::create_directories(directory, error)) {
        std::filesystem::permissions(directory, std::filesystem::perms::owner_all, error);
    }
    if (!std::filesystem::is_directory(directory)) {
        throw std::invalid_argument("cannot create the directory '" + directory + "'" +
                                    (error ? ": " + error.message() : ""));
    }
    const std::string base = (std::filesystem::path(directory) / name).string();
    for (const char* suffix : {".key", ".pub"}) {
        if (!overwrite && std::filesystem::exists(base + suffix)) {
            throw std::invalid_argument("'" + base + suffix + "' exists (use --force to replace it)");
        }
    }
    const auto write = [](const std::string& path, const std::string& text, mode_t mode) {
        std::filesystem::remove(path);
        {
            std::ofstream out(path);
            if (!out) throw std::invalid_argument("cannot write '" + path + "'");
            chmod(path.c_str(), mode);  // before the secret goes in
            out << text;
            if (!out.flush()) throw std::invalid_argument("cannot write '" + path + "'");
        }
    };
    write(base + ".key",
          "# scaler-cpp CURVE secret key '" + name + "': keep it private\n" + keys.secretKey + "\n", 0600);
    write(base + ".pub", "# scaler-cpp CURVE public key '" + name + "'\n" + keys.publicKey + "\n", 0644);
}

CurveClientKeys loadCurveClientKeys(const std::string& serverPublicKeyFile,
                                    const std::string& secretKeyFile) {
    if (serverPublicKeyFile.empty() && secretKeyFile.empty()) return {};
    if (serverPublicKeyFile.empty() || secretKeyFile.empty()) {
        throw std::invalid_argument(
            "CURVE needs both --curve-server-key-file and --curve-secret-key-file, or neither");
    }
    return {readCurvePublicKeyFile(serverPublicKeyFile), readCurveSecretKeyFile(secretKeyFile)};
}

void applyCurveClient(zmq::socket_t& socket, const CurveClientKeys& keys) {
    if (!keys.enabled()) return;
    setKey(socket, ZMQ_CURVE_SERVERKEY, keys.serverPublicKey);
    setKey(socket, ZMQ_CURVE_PUBLICKEY, keys.own.publicKey);
    setKey(socket, ZMQ_CURVE_SECRETKEY, keys.own.secretKey);
}

void applyCurveServer(zmq::socket_t& socket, const std::string& secretKeyZ85, const std::string& zapDomain) {
    socket.set(zmq::sockopt::curve_server, 1);
    setKey(socket, ZMQ_CURVE_SECRETKEY, secretKeyZ85);
    socket.set(zmq::sockopt::zap_domain, zapDomain);
}

}  // namespace scaler
