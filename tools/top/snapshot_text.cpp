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
    return out;
}

}  // namespace scaler
