#pragma once
// Command-line parsing shared by every binary: CLI11 for flags, a TOML file's own section for defaults.
// Precedence: command line > TOML > built-in default (CLI11 applies config items only to options the
// command line left unset).

#include <string>

#include <CLI/CLI.hpp>

namespace scaler {

// Reads one [section] of a TOML file into CLI11 config items. Keys may use '_' or '-'. An unknown key is
// an error naming it (allow_config_extras(false)).
class TomlSectionConfig : public CLI::Config {
public:
    explicit TomlSectionConfig(std::string section) : section_(std::move(section)) {}
    std::string to_config(const CLI::App*, bool, bool, std::string) const override;
    std::vector<CLI::ConfigItem> from_config(std::istream& input) const override;

private:
    std::string section_;
};

// Adds --config/-c FILE reading [section], and --logging-level.
void addCommonOptions(CLI::App& app, const std::string& section, std::string& loggingLevel);

// CURVE key files of a connecting process (client, worker, adapter, scaler_top); loaded with
// loadCurveClientKeys (scaler/protocol/curve_keys.h).
struct CurveKeyFiles {
    std::string serverPublicKeyFile;
    std::string secretKeyFile;
};
// Adds --curve-server-key-file and --curve-secret-key-file.
void addCurveClientOptions(CLI::App& app, CurveKeyFiles& files);

// Validators with one-line messages that name the value.
CLI::Validator positiveNumber();
CLI::Validator nonNegativeNumber();

// Parses; on --help prints help and exits 0; on a bad value prints one line naming it and exits 2.
void parseOrExit(CLI::App& app, int argc, char** argv);

// Accepts what log::parseLevelSpec accepts; the message names the bad item.
CLI::Validator loggingLevelSpec();

// Configures the component loggers (scaler/common/log.h): "[time] [level] [process/component] message" on
// stderr, levels from a --logging-level specification. Throws std::invalid_argument for a bad one.
void setupLogging(const std::string& processName, const std::string& level);

}  // namespace scaler
