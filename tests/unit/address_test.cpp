#include <gtest/gtest.h>

#include "scaler/protocol/address.h"

TEST(Address, ParsesTcpAndDerivesTheMonitorPort) {
    const auto a = scaler::parseAddress("tcp://127.0.0.1:8516");
    EXPECT_EQ(a.host, "127.0.0.1");
    EXPECT_EQ(a.port, 8516);
    EXPECT_EQ(scaler::defaultMonitorAddress(a).toString(), "tcp://127.0.0.1:8518");
}

TEST(Address, ParsesIpc) {
    const auto a = scaler::parseAddress("ipc:///tmp/s.sock");
    EXPECT_EQ(scaler::defaultMonitorAddress(a).toString(), "ipc:///tmp/s.sock.monitor");
}

TEST(Address, RejectsBadAddressesNamingThem) {
    for (const char* bad :
         {"127.0.0.1:80", "tcp://host", "tcp://host:99999", "tcp://host:8x", "ipc://", "udp://a:1"}) {
        try {
            scaler::parseAddress(bad);
            ADD_FAILURE() << bad << " accepted";
        } catch (const std::invalid_argument& e) {
            EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
        }
    }
}
