#pragma once
// ZMTP heartbeats on both ends of every scheduler connection (the scheduler's ROUTER and each peer's DEALER):
// a connection that died without closing (a pulled cable, a dead NAT entry, a frozen peer) is let go within
// kDeadConnectionMs instead of waiting on TCP's retransmission back-off.

namespace scaler {

inline constexpr int kConnectionPingIntervalMs = 2000;
inline constexpr int kDeadConnectionMs = 10000;

}  // namespace scaler
