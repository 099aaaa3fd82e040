#pragma once
// ZeroMQ CURVE keys: generation, the key files scaler_keygen writes, allow-lists, and applying keys to a
// socket. Keys travel as Z85 text (40 characters for 32 bytes).
//
// Files: NAME.key holds the secret key, NAME.pub the public key; each is one Z85 line after '#' comments.
// An allow-list is a file of public keys (one per line, '#' comments) or a directory of *.pub files.

#include <string>
#include <vector>

namespace scaler {

struct CurveKeyPair {
    std::string publicKey;  // Z85
    std::string secretKey;  // Z85
};

// What a connecting peer (client, worker, adapter, scaler_top) needs; empty: plain TCP.
struct CurveClientKeys {
    std::string serverPublicKey;
    CurveKeyPair own;
    bool enabled() const { return !serverPublicKey.empty(); }
};

CurveKeyPair generateCurveKeyPair();
// The public key that belongs to a secret key. Throws std::invalid_argument for a malformed key.
std::string curvePublicKeyOf(const std::string& secretKeyZ85);
bool isCurveKey(const std::string& z85);

// Throw std::invalid_argument naming the file and what is wrong with it.
std::string readCurvePublicKeyFile(const std::string& path);
CurveKeyPair readCurveSecretKeyFile(const std::string& path);
std::vector<std::string> readCurveAllowList(const std::string& path);
// Writes DIR/NAME.key (mode 0600) and DIR/NAME.pub, making DIR (mode 0700) if missing; refuses to overwrite
// unless `overwrite`.
void writeCurveKeyFiles(const std::string& directory, const std::string& name, const CurveKeyPair& keys,
                        bool overwrite);
// Both files given: loads them; neither: plain. One without the other throws.
CurveClientKeys loadCurveClientKeys(const std::string& serverPublicKeyFile, const std::string& secretKeyFile);

}  // namespace scaler
