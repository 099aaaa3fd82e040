#pragma once
// Told when a thread blocks on a Future and when it stops. The worker installs one around each task so a
// task waiting for tasks it submitted lends its slot to another (nested tasks cannot deadlock the cluster).

namespace scaler {

class WaitListener {
public:
    virtual ~WaitListener() = default;
    virtual void waiting(bool nowWaiting) = 0;
};

// For the calling thread; nullptr removes it.
void setThreadWaitListener(WaitListener* listener);
WaitListener* threadWaitListener();

}  // namespace scaler
