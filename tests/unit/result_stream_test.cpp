// ResultStream: a result read in order, each part released once read; whole results moved, not copied.
#include "scaler/client/result_stream.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

using scaler::ResultStream;

namespace {

ResultStream::Part part(const std::shared_ptr<const std::string>& bytes) {
    return {bytes, std::string_view(*bytes)};
}

}  // namespace

TEST(ResultStream, ReadsAcrossPartsAndReleasesEachOnceItIsUsedUp) {
    auto a = std::make_shared<const std::string>("abc");
    auto b = std::make_shared<const std::string>("defg");
    std::weak_ptr<const std::string> aGone = a, bGone = b;
    ResultStream stream(std::vector<ResultStream::Part>{part(a), part(b)});
    a.reset();
    b.reset();
    EXPECT_EQ(stream.remaining(), 7u);
    EXPECT_EQ(stream.partCount(), 2u);
    char buffer[8] = {};
    ASSERT_EQ(stream.read(buffer, 2), 2u);
    EXPECT_EQ(std::string(buffer, 2), "ab");
    EXPECT_FALSE(aGone.expired());  // one byte of it is still to read
    ASSERT_EQ(stream.read(buffer, 3), 3u);
    EXPECT_EQ(std::string(buffer, 3), "cde");
    EXPECT_TRUE(aGone.expired());
    EXPECT_FALSE(bGone.expired());
    EXPECT_EQ(stream.read(buffer, 8), 2u);
    EXPECT_EQ(std::string(buffer, 2), "fg");
    EXPECT_TRUE(bGone.expired());
    EXPECT_EQ(stream.remaining(), 0u);
    EXPECT_EQ(stream.read(buffer, 8), 0u);
}

TEST(ResultStream, TakeAllGathersPartsAndMovesAWholeStringOut) {
    auto a = std::make_shared<const std::string>("12");
    auto b = std::make_shared<const std::string>("345");
    ResultStream parts(std::vector<ResultStream::Part>{part(a), part(b)});
    char first = 0;
    parts.read(&first, 1);
    EXPECT_EQ(parts.takeAll(), "2345");
    EXPECT_EQ(parts.remaining(), 0u);

    std::string big(1 << 20, 'x');
    const char* where = big.data();
    ResultStream whole(std::move(big));
    EXPECT_EQ(whole.partCount(), 1u);
    const std::string back = whole.takeAll();
    EXPECT_EQ(back.data(), where);  // moved, not copied
    EXPECT_EQ(back.size(), 1u << 20);
}

TEST(ResultStream, CopyAllLeavesTheStreamReadableAgain) {
    auto a = std::make_shared<const std::string>("he");
    auto b = std::make_shared<const std::string>("llo");
    ResultStream stream(std::vector<ResultStream::Part>{part(a), part(b)});
    EXPECT_EQ(stream.copyAll(), "hello");
    EXPECT_EQ(stream.copyAll(), "hello");
    EXPECT_EQ(stream.partCount(), 1u);  // gathered once
    EXPECT_EQ(stream.takeAll(), "hello");
    EXPECT_EQ(stream.copyAll(), "");
}
