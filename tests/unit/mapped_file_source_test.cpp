// mapFile: a file's bytes without reading them into memory; stored() gives the pages back, and they come
// back from the file when read again (a resend).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "scaler/client/byte_source.h"

namespace {

std::string tempFile(const std::string& bytes) {
    char path[] = "/tmp/scaler-mapped-XXXXXX";
    const int fd = mkstemp(path);
    EXPECT_GE(fd, 0);
    close(fd);
    std::ofstream(path, std::ios::binary) << bytes;
    return path;
}

// kB of file pages mapped into this process and resident (RssFile in /proc/self/status)
long residentFileKb() {
    std::ifstream status("/proc/self/status");
    std::string key;
    long value = 0;
    while (status >> key) {
        if (key == "RssFile:") {
            status >> value;
            return value;
        }
        status.ignore(1 << 10, '\n');
    }
    return -1;
}

}  // namespace

TEST(MappedFileSource, GivesTheFilesBytesAndTheirPagesBackOnceStored) {
    std::string bytes(32u << 20, '\0');
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<char>(i * 131 % 251);
    const std::string path = tempFile(bytes);
    bytes.shrink_to_fit();
    auto source = scaler::mapFile(path);
    ASSERT_EQ(source->bytes().size(), bytes.size());
    const long before = residentFileKb();
    EXPECT_TRUE(source->bytes() == bytes);  // touches every page
    const long touched = residentFileKb();
    EXPECT_GT(touched - before, 24 * 1024) << before << " " << touched;
    source->stored(bytes.size());
    const long released = residentFileKb();
    EXPECT_LT(released, touched - 24 * 1024) << touched << " " << released;
    EXPECT_TRUE(source->bytes() == bytes);  // read again from the file, as a resend would
    unlink(path.c_str());
}

TEST(MappedFileSource, AnEmptyFileIsEmptyAndWhatCannotBeMappedIsNamed) {
    const std::string empty = tempFile("");
    EXPECT_EQ(scaler::mapFile(empty)->bytes().size(), 0u);
    unlink(empty.c_str());
    try {
        scaler::mapFile("/nonexistent/payload");
        ADD_FAILURE() << "a missing file was mapped";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("'/nonexistent/payload'"), std::string::npos) << e.what();
    }
    EXPECT_THROW(scaler::mapFile("/tmp"), std::invalid_argument);
}
