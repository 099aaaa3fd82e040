// ObjectCache: bounded by bytes, least recently used first, never evicting what a task holds.
#include <gtest/gtest.h>

#include "scaler/worker/object_cache.h"

using namespace scaler::worker;

namespace {
std::shared_ptr<const ObjectBytes> object(uint64_t size) {
    return std::make_shared<ObjectBytes>(size);
}
}  // namespace

TEST(ObjectCache, EvictsTheLeastRecentlyUsedPastItsCapacity) {
    ObjectCache cache(100);
    cache.insert(1, object(40));
    cache.insert(2, object(40));
    ASSERT_TRUE(cache.find(1));  // 1 is now the most recent
    cache.insert(3, object(40));
    EXPECT_TRUE(cache.find(1));
    EXPECT_FALSE(cache.find(2));
    EXPECT_TRUE(cache.find(3));
    EXPECT_EQ(cache.bytes(), 80u);
}

TEST(ObjectCache, AnObjectATaskHoldsStaysEvenPastCapacity) {
    ObjectCache cache(50);
    auto held = object(40);
    cache.insert(1, held);
    cache.insert(2, object(40));  // over: 1 is held, so the unheld one goes
    EXPECT_TRUE(cache.find(1));
    EXPECT_FALSE(cache.find(2));
    held.reset();
    cache.insert(3, object(20));
    cache.insert(4, object(20));  // over again: 1, now unheld and least recent, goes
    EXPECT_FALSE(cache.find(1));
    EXPECT_EQ(cache.bytes(), 40u);
}

TEST(ObjectCache, InsertingTwiceKeepsOneCopy) {
    ObjectCache cache(100);
    cache.insert(1, object(30));
    cache.insert(1, object(30));
    EXPECT_EQ(cache.bytes(), 30u);
    EXPECT_EQ(cache.size(), 1u);
}
