// scaler_keygen: makes a CURVE key pair for a scheduler, client, worker or adapter (docs/operations.md).
#include <filesystem>
#include <iostream>
#include <regex>

#include "scaler/common/command_line.h"
#include "scaler/protocol/curve_keys.h"

int main(int argc, char** argv) {
    std::string name, directory = ".";
    bool force = false;
    CLI::App app{"scaler_keygen: writes NAME.key (secret, mode 0600) and NAME.pub (public) for ZeroMQ CURVE",
                 "scaler_keygen"};
    app.add_option("name", name, "Key name, e.g. scheduler, client-alice, workers")->required();
    app.add_option("--out-dir,-o", directory, "Directory to write the files in (made, mode 0700, if missing)")
        ->capture_default_str();
    app.add_flag("--force", force, "Replace existing files");
    app.footer(
        "The scheduler takes its .key with --curve-secret-key-file and allow-lists of .pub keys per role "
        "(--curve-client-keys, --curve-worker-keys, --curve-adapter-keys); every other process takes the "
        "scheduler's .pub with --curve-server-key-file and its own .key with --curve-secret-key-file.");
    scaler::parseOrExit(app, argc, argv);
    if (!std::regex_match(name, std::regex("[A-Za-z0-9._-]+"))) {
        std::cerr << "scaler_keygen: error: name '" << name
                  << "' may hold only letters, digits, '.', '_' and '-'\n";
        return 2;
    }
    try {
        const scaler::CurveKeyPair keys = scaler::generateCurveKeyPair();
        scaler::writeCurveKeyFiles(directory, name, keys, force);
        const auto base = std::filesystem::path(directory) / name;
        std::cout << "wrote " << base.string() << ".key (secret) and " << base.string() << ".pub\n"
                  << "public key: " << keys.publicKey << "\n";
        return 0;
    } catch (const std::invalid_argument& e) {
        std::cerr << "scaler_keygen: error: " << e.what() << "\n";
        return 2;
    } catch (const std::exception& e) {
        std::cerr << "scaler_keygen: error: " << e.what() << "\n";
        return 1;
    }
}
