#pragma once
// How every scheduler connection (the scheduler's ROUTER and each peer's DEALER) notices a dead link and
// makes a new one, without waiting on TCP's own back-offs (minutes):
// - ZMTP heartbeats: a connection that hears nothing for kDeadConnectionMs is let go (a pulled cable, a dead
//   NAT entry, a frozen peer);
// - TCP_USER_TIMEOUT (ZMQ_TCP_MAXRT): data left unacknowledged for kDeadConnectionMs ends the connection, so
//   retransmissions backed off during a flapping link cannot hold it for minutes after the link is back;
// - a connect that has had no answer for kConnectAttemptMs is given up and made again (ZMQ_CONNECT_TIMEOUT):
//   the kernel's SYN retries back off to 1, 3, 7, 15, 31 s, so one begun while a link flapped could leave a
//   peer unconnected for a minute after the link healed.

namespace scaler {

inline constexpr int kConnectionPingIntervalMs = 2000;
inline constexpr int kDeadConnectionMs = 10000;
inline constexpr int kConnectAttemptMs = 2000;

}  // namespace scaler
