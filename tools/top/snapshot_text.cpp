#include "snapshot_text.h"

#include <cstdio>

#include "scaler/protocol/capabilities.h"

namespace scaler {

std::string snapshotToText(wire::MonitorSnapshot::Reader s) {
    std::string out;
    char line[512];
    const auto t = s.getTasks();
    std::snprintf(line, sizeof line, "scheduler %s  up %.0f s  cpu %.1f%%  rss %.1f MiB  clients %u  policy %s/%s\n",
                  s.getSchedulerAddress().cStr(), s.getUptimeMs() / 1000.0, s.getResource().getCpuPermille() / 10.0,
                  s.getResource().getRssBytes() / 1048576.0, s.getClients(), s.getAllocatePolicy().cStr(),
                  s.getScalingPolicy().cStr());
    out += line;
    std::snprintf(line, sizeof line,
                  "tasks     queued %llu  running %llu  cancelling %llu | succeeded %llu  failed %llu  cancelled %llu"
                  "  worker-died %llu  timed-out %llu  rejected %llu\n",
                  (unsigned long long)t.getQueued(), (unsigned long long)t.getRunning(),
                  (unsigned long long)t.getCancelling(), (unsigned long long)t.getSucceeded(),
                  (unsigned long long)t.getFailed(), (unsigned long long)t.getCancelled(),
                  (unsigned long long)t.getWorkerDied(), (unsigned long long)t.getTimedOut(),
                  (unsigned long long)t.getRejected());
    out += line;
    std::snprintf(line, sizeof line, "%-48s %-16s %8s %7s %7s %10s %6s %9s %6s\n", "WORKER", "CAPABILITIES",
                  "ASSIGNED", "QUEUED", "RUNNING", "DONE", "CPU%", "RSS MiB", "HB ms");
    out += line;
    for (auto w : s.getWorkers()) {
        std::snprintf(line, sizeof line, "%-48.48s %-16.16s %8u %7u %7u %10llu %6.1f %9.1f %6llu\n",
                      w.getWorkerId().cStr(), formatCapabilities(capabilitiesFromWire(w.getCapabilities())).c_str(),
                      w.getAssigned(), w.getQueued(), w.getRunning(), (unsigned long long)w.getCompleted(),
                      w.getResource().getCpuPermille() / 10.0, w.getResource().getRssBytes() / 1048576.0,
                      (unsigned long long)w.getLastHeartbeatAgeMs());
        out += line;
    }
    if (s.getAdapters().size() > 0) {
        std::snprintf(line, sizeof line, "%-24s %-10s %7s %8s %-16s %6s\n", "ADAPTER", "KIND", "GROUPS", "PER-GRP",
                      "CAPABILITIES", "HB ms");
        out += line;
        for (auto a : s.getAdapters()) {
            std::snprintf(line, sizeof line, "%-24.24s %-10.10s %3u/%-3u %8u %-16.16s %6llu\n", a.getAdapterId().cStr(),
                          a.getKind().cStr(), a.getGroupsInUse(), a.getMaxWorkerGroups(), a.getWorkersPerGroup(),
                          formatCapabilities(capabilitiesFromWire(a.getCapabilities())).c_str(),
                          (unsigned long long)a.getLastHeartbeatAgeMs());
            out += line;
        }
    }
    if (s.getWorkerGroups().size() > 0) {
        static const char* kStates[] = {"starting", "running", "draining", "stopping", "failed"};
        std::snprintf(line, sizeof line, "%-24s %-24s %-9s %-16s %7s %7s\n", "GROUP", "ADAPTER", "STATE",
                      "CAPABILITIES", "WORKERS", "AGE s");
        out += line;
        for (auto g : s.getWorkerGroups()) {
            std::snprintf(line, sizeof line, "%-24.24s %-24.24s %-9s %-16.16s %7u %7.0f\n", g.getWorkerGroupId().cStr(),
                          g.getAdapterId().cStr(), kStates[static_cast<int>(g.getState())],
                          formatCapabilities(capabilitiesFromWire(g.getCapabilities())).c_str(), g.getWorkerIds().size(),
                          g.getAgeMs() / 1000.0);
            out += line;
        }
    }
    for (auto caps : s.getUnschedulable()) {
        out += "unschedulable: tasks need {" + std::string(caps.cStr()) + "}; no worker or adapter offers it\n";
    }
    if (s.getScalingEvents().size() > 0) {
        out += "scaling events (oldest first):\n";
        const uint64_t now = s.getTimestampMs();
        for (auto e : s.getScalingEvents()) {
            std::snprintf(line, sizeof line, "  %6.1f s ago  %-12.12s %-10s %-20.20s %s\n",
                          (now > e.getTimestampMs() ? now - e.getTimestampMs() : 0) / 1000.0, e.getAdapterId().cStr(),
                          e.getAction().cStr(), e.getWorkerGroupId().cStr(), e.getReason().cStr());
            out += line;
        }
    }
    return out;
}

}  // namespace scaler
