#include "scaler/common/command_line.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <iostream>
#include <sstream>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>
#include <toml++/toml.h>

#include "scaler/common/log.h"

namespace scaler {
namespace {

// Every program's TOML section; a file may hold several.
constexpr std::array kKnownSections = {"scheduler",
                                       "worker",
                                       "native_worker_adapter",
                                       "container_worker_adapter",
                                       "ecs_worker_adapter",
                                       "kubernetes_worker_adapter"};

std::string nodeToString(const toml::node& node, const std::string& key) {
    if (auto s = node.as_string()) return s->get();
    if (auto i = node.as_integer()) return std::to_string(i->get());
    if (auto f = node.as_floating_point()) {
        std::ostringstream out;
        out << f->get();
        return out.str();
    }
    if (auto b = node.as_boolean()) return b->get() ? "true" : "false";
    throw CLI::ConversionError("config key '" + key + "' must be a string, number or boolean");
}

}  // namespace

std::string TomlSectionConfig::to_config(const CLI::App*, bool, bool, std::string) const {
    return {};
}

std::vector<CLI::ConfigItem> TomlSectionConfig::from_config(std::istream& input) const {
    toml::table table;
    try {
        table = toml::parse(input);
    } catch (const toml::parse_error& e) {
        std::ostringstream out;
        out << "invalid TOML: " << e.description() << " at line " << e.source().begin.line;
        throw CLI::ConversionError(out.str());
    }
    // One file may configure several programs, each in its own section; anything else is a mistake (a
    // misspelt section would otherwise be ignored without a word).
    for (const auto& [name, node] : table) {
        const std::string key(name.str());
        if (std::find(kKnownSections.begin(), kKnownSections.end(), key) != kKnownSections.end()) continue;
        std::string known;
        for (const char* s : kKnownSections)
            known += (known.empty() ? "" : ", ") + std::string("[") + s + "]";
        throw CLI::ConversionError(std::string(node.is_table() ? "unknown section [" + key + "]"
                                                               : "key '" + key + "' outside any section") +
                                   " in the TOML file (sections: " + known + ")");
    }
    std::vector<CLI::ConfigItem> found;
    const toml::table* section = table[section_].as_table();
    if (section == nullptr) return found;  // a shared file may hold only other programs' sections
    for (const auto& [rawKey, node] : *section) {
        std::string key(rawKey.str());
        std::replace(key.begin(), key.end(), '_', '-');
        CLI::ConfigItem item;
        item.name = key;
        if (const auto* array = node.as_array()) {
            for (const auto& element : *array) item.inputs.push_back(nodeToString(element, key));
        } else {
            item.inputs.push_back(nodeToString(node, key));
        }
        found.push_back(std::move(item));
    }
    return found;
}

void addCommonOptions(CLI::App& app, const std::string& section, std::string& loggingLevel) {
    app.config_formatter(std::make_shared<TomlSectionConfig>(section));
    app.set_config("--config,-c", "",
                   "TOML file; keys of its [" + section + "] section set defaults for the flags");
    app.allow_config_extras(false);
    app.add_option("--logging-level", loggingLevel,
                   "Log level for every component (trace, debug, info, warning, error, critical), or per "
                   "component: \"warning,scaling=debug,tasks=info\" (components: process, tasks, scaling, "
                   "security, transport, adapter, worker, client)")
        ->check(loggingLevelSpec())
        ->capture_default_str();
}

namespace {
CLI::Validator numberAbove(double minimum, bool inclusive, const std::string& description) {
    return CLI::Validator(
        [=](std::string& input) -> std::string {
            try {
                size_t used = 0;
                const double value = std::stod(input, &used);
                if (used == input.size() && (inclusive ? value >= minimum : value > minimum)) return {};
            } catch (const std::exception&) {
            }
            return "'" + input + "' is not " + description;
        },
        "", description);
}
}  // namespace

void addCurveClientOptions(CLI::App& app, CurveKeyFiles& files) {
    app.add_option(
           "--curve-server-key-file", files.serverPublicKeyFile,
           "The scheduler's CURVE public key (.pub from scaler_keygen); with --curve-secret-key-file, "
           "connects encrypted and authenticated")
        ->check(CLI::ExistingFile);
    app.add_option("--curve-secret-key-file", files.secretKeyFile, "This process's CURVE secret key (.key)")
        ->check(CLI::ExistingFile);
}

CLI::Validator positiveNumber() {
    return numberAbove(0, false, "a number greater than 0");
}
CLI::Validator nonNegativeNumber() {
    return numberAbove(0, true, "a number of at least 0");
}

void parseOrExit(CLI::App& app, int argc, char** argv) {
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        std::cout << app.help();
        std::exit(0);
    } catch (const CLI::CallForAllHelp&) {
        std::cout << app.help("", CLI::AppFormatMode::All);
        std::exit(0);
    } catch (const CLI::CallForVersion& e) {
        std::cout << e.what() << "\n";
        std::exit(0);
    } catch (const CLI::ConfigError& e) {
        // CLI11 words an unknown key as "INI was not able to parse KEY"
        std::string what = e.what();
        const std::string prefix = "INI was not able to parse ";
        if (what.rfind(prefix, 0) == 0)
            what = "unknown key '" + what.substr(prefix.size()) + "' in the config file";
        std::cerr << app.get_name() << ": error: " << what << "\n";
        std::exit(2);
    } catch (const CLI::ParseError& e) {
        std::cerr << app.get_name() << ": error: " << e.what() << "\n";
        std::exit(2);
    }
}

CLI::Validator loggingLevelSpec() {
    return CLI::Validator(
        [](std::string& value) -> std::string {
            try {
                (void)log::parseLevelSpec(value);
                return {};
            } catch (const std::invalid_argument& e) {
                return e.what();
            }
        },
        "LEVEL[,COMPONENT=LEVEL...]");
}

void setupLogging(const std::string& processName, const std::string& level) {
    log::configure(processName, log::parseLevelSpec(level));
}

}  // namespace scaler
