#include "fuzz_harness.h"

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <stdexcept>
#include <string>

#include <kj/string.h>

#include <CLI/CLI.hpp>

#include "fuzz_input.h"
#include "scaler/common/command_line.h"
#include "scaler/common/log.h"
#include "scaler/protocol/address.h"
#include "scaler/protocol/capabilities.h"
#include "scaler/protocol/message_codec.h"
#include "scaler/scheduler/config/policy_content.h"
#include "scaler/scheduler/routing/scheduler_core.h"
#include "scaler/scheduler/scaling/scaling_policy.h"

namespace scaler::fuzz {

using namespace scaler::scheduler;

namespace {

using namespace scaler;
using namespace scaler::scheduler;

const char* const kIdentities[] = {"client-0", "worker-1", "adapter-2", "peer-3"};

// SCALER_FUZZ_TRACE=1 replays an input with every message printed and the scheduler's log on: for triage.
const bool kTrace = std::getenv("SCALER_FUZZ_TRACE") != nullptr;

}  // namespace

void runMessageConversation(const uint8_t* data, size_t size) {
    SchedulerConfig config;
    config.policy = parsePolicyContent("allocate=capability; scaling=capability");
    config.maxMessageBytes = 1u << 20;
    DiscardingOutbox outbox;
    auto now = Clock::now();
    SchedulerCore core(config, outbox, now);
    FrameReader reader(config.maxMessageBytes);
    std::string_view input(reinterpret_cast<const char*>(data), size);
    fuzz::FuzzFrame frame;
    while (fuzz::nextFrame(input, frame)) {
        zmq::message_t message(frame.bytes.data(), frame.bytes.size());
        if (!reader.load(message)) continue;
        const RoleSet roles =
            (frame.sender & 0x80) ? kEveryRole : static_cast<RoleSet>((frame.sender >> 2) & 0x7);
        if (kTrace) {
            std::string text;
            try {
                text = kj::str(reader.root()).cStr();
            } catch (const kj::Exception& e) {
                text = std::string("(malformed: ") + e.getDescription().cStr() + ")";
            }
            std::fprintf(stderr, "-- from %s (roles %u, tick %d): %s\n", kIdentities[frame.sender & 0x3],
                         roles, (frame.sender & 0x40) ? frame.sender & 0x3f : -1, text.c_str());
        }
        core.onMessage(kIdentities[frame.sender & 0x3], reader.root(), roles);
        core.dispatch();
        if (frame.sender & 0x40) {  // let time pass: timeouts, balancing and scaling run
            now += std::chrono::seconds(frame.sender & 0x3f);
            core.setNow(now);
            core.onTick();
            core.dispatch();
        }
    }
}

void setUpFuzzLogging() {
    log::setAll(kTrace ? spdlog::level::debug : spdlog::level::off);
}

void runConfigParsers(const uint8_t* data, size_t size) {
    if (size == 0) return;
    const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
    try {
        switch (data[0] % 4) {
            case 0: {
                const auto policy = parsePolicyContent(text);
                makeScalingPolicy(policy.scaling, policy.parameters);
                // what we print must parse back to the same thing
                if (parsePolicyContent(policy.toString()).toString() != policy.toString()) std::abort();
                break;
            }
            case 1: {
                const CapabilityList parsed = parseCapabilities(text);
                if (parseCapabilities(formatCapabilities(parsed)) != parsed) std::abort();
                break;
            }
            case 2: {
                std::istringstream in(text);
                TomlSectionConfig("scheduler").from_config(in);
                break;
            }
            case 3:
                parseAddress(text);
                break;
        }
    } catch (const std::invalid_argument&) {
    } catch (const CLI::Error&) {
    }
}

}  // namespace scaler::fuzz
