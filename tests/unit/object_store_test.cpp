// ObjectStore: chunks in order, the memory limit, references outliving a delete, clients leaving.
#include <gtest/gtest.h>

#include "scaler/scheduler/objects/object_store.h"

using namespace scaler::scheduler;

TEST(ObjectStore, ChunksAssembleAnObjectThatTasksCanRead) {
    ObjectStore store(1 << 20);
    EXPECT_EQ(store.put(0, 7, "t", 6, 0, "abc").error, "");
    EXPECT_FALSE(store.find(0, 7)) << "an object still arriving is not usable";
    const auto last = store.put(0, 7, "t", 6, 3, "def");
    EXPECT_TRUE(last.complete);
    EXPECT_EQ(last.receivedBytes, 6u);
    const auto handle = store.find(0, 7);
    ASSERT_TRUE(handle);
    EXPECT_EQ(store.read(*handle, 2, 3)->bytes, "cde");
    EXPECT_EQ(store.read(*handle, 4, 100)->bytes, "ef");
    EXPECT_EQ(store.read(*handle, 0, 10)->totalSize, 6u);
    EXPECT_FALSE(store.find(1, 7)) << "ids are per client";
    EXPECT_EQ(store.bytes(), 6u);
}

TEST(ObjectStore, RefusesPastTheLimitNamingTheObjectAndKeepsNothing) {
    ObjectStore store(300);  // 60 + 5 + 128 fit; another 50 + 6 + 128 do not
    ASSERT_EQ(store.put(0, 1, "first", 60, 0, std::string(60, 'x')).error, "");
    const auto refused = store.put(0, 2, "second", 50, 0, std::string(10, 'y'));
    EXPECT_NE(refused.error.find("object store is full"), std::string::npos) << refused.error;
    EXPECT_NE(refused.error.find("'second'"), std::string::npos) << refused.error;
    EXPECT_EQ(store.count(), 1u);
    EXPECT_EQ(store.bytes(), 60u);
    // its later chunks find nothing
    EXPECT_NE(store.put(0, 2, "second", 50, 10, "z").error, "");
}

TEST(ObjectStore, AChunkOutOfOrderDropsThePartialObject) {
    ObjectStore store(1000);
    store.put(0, 1, "o", 10, 0, "12345");
    EXPECT_NE(store.put(0, 1, "o", 10, 7, "890").error, "");
    EXPECT_EQ(store.count(), 0u);
    EXPECT_EQ(store.bytes(), 0u);
    EXPECT_EQ(store.put(0, 1, "o", 1, 0, "x").error, "") << "the id is free again";
}

TEST(ObjectStore, ADeletedObjectLivesUntilItsLastTaskReleasesIt) {
    ObjectStore store(1000);
    store.put(3, 1, "o", 4, 0, "data");
    const ObjectHandle handle = *store.find(3, 1);
    store.acquire(handle);
    store.acquire(handle);
    EXPECT_TRUE(store.remove(3, 1));
    EXPECT_FALSE(store.find(3, 1)) << "new tasks cannot use it";
    EXPECT_EQ(store.read(handle, 0, 4)->bytes, "data") << "queued tasks still can";
    store.release(handle);
    EXPECT_TRUE(store.read(handle, 0, 4));
    store.release(handle);
    EXPECT_FALSE(store.read(handle, 0, 4));
    EXPECT_EQ(store.bytes(), 0u);
    EXPECT_FALSE(store.remove(3, 1));
}

TEST(ObjectStore, AStaleHandleNeverNamesAReusedSlot) {
    ObjectStore store(1000);
    store.put(0, 1, "a", 1, 0, "a");
    const ObjectHandle old = *store.find(0, 1);
    store.remove(0, 1);
    store.put(0, 2, "b", 1, 0, "b");
    EXPECT_FALSE(store.read(old, 0, 1));
    EXPECT_EQ(store.read(*store.find(0, 2), 0, 1)->bytes, "b");
}

TEST(ObjectStore, ALeavingClientTakesItsObjectsButNotOthers) {
    ObjectStore store(1000);
    store.put(0, 1, "a", 1, 0, "a");
    store.put(0, 2, "b", 1, 0, "b");
    store.put(1, 1, "c", 1, 0, "c");
    EXPECT_EQ(store.removeClient(0), 2u);
    EXPECT_EQ(store.count(), 1u);
    EXPECT_TRUE(store.find(1, 1));
}

TEST(ObjectStore, UnnamedResultsLiveOnReferencesAndKeptResultsOnTheClient) {
    ObjectStore store(1000);
    const ObjectHandle intermediate = store.store(0, 0, "node", "xyz");
    store.acquire(intermediate);
    EXPECT_EQ(store.read(intermediate, 0, 3)->bytes, "xyz");
    store.release(intermediate);
    EXPECT_FALSE(store.read(intermediate, 0, 3));
    const ObjectHandle kept = store.store(0, 9, "result", "kept");
    EXPECT_EQ(store.find(0, 9), kept);
    store.removeClient(0);
    EXPECT_EQ(store.count(), 0u);
}

TEST(ObjectStore, FormatsSizesForPeople) {
    EXPECT_EQ(formatBytes(512), "512 bytes");
    EXPECT_EQ(formatBytes(3u << 20), "3.0 MiB");
    EXPECT_EQ(formatBytes(uint64_t{3} << 30), "3.0 GiB");
}

TEST(ObjectStore, NamesAndRecordsCountAgainstTheLimit) {
    ObjectStore store(100'000);
    size_t stored = 0;
    while (store.put(0, stored + 1, "", 0, 0, "").error.empty()) ++stored;
    EXPECT_EQ(stored, 100'000 / ObjectStore::kObjectOverheadBytes) << "empty objects were free";
    EXPECT_EQ(store.bytes(), 0u);
    EXPECT_LE(store.chargedBytes(), store.limit());
    ObjectStore named(10'000);
    EXPECT_NE(named.put(0, 1, std::string(ObjectStore::kMaxNameBytes + 1, 'n'), 1, 0, "x").error.find("name"),
              std::string::npos);
    EXPECT_EQ(named.count(), 0u);
}

TEST(ObjectStore, ASizeNearTwoToTheSixtyFourIsRefusedNotWrapped) {
    ObjectStore store(1 << 20);
    ASSERT_EQ(store.put(0, 1, "a", 100, 0, std::string(100, 'a')).error, "");
    for (uint64_t size :
         {UINT64_MAX, UINT64_MAX - 100, UINT64_MAX - ObjectStore::kObjectOverheadBytes, uint64_t{1} << 63}) {
        const auto refused = store.put(0, 2, "huge", size, 0, "x");
        EXPECT_NE(refused.error.find("object store is full"), std::string::npos)
            << size << ": " << refused.error;
    }
    EXPECT_EQ(store.count(), 1u);
    EXPECT_EQ(store.bytes(), 100u);
}

TEST(ObjectStore, AnAbandonedUploadExpiresAndGivesItsMemoryBack) {
    ObjectStore store(1 << 20);
    const auto t0 = ObjectStore::Clock::time_point{} + std::chrono::hours(1);
    ASSERT_EQ(store.put(0, 1, "stalled", 1000, 0, std::string(10, 's'), t0).error, "");
    ASSERT_EQ(store.put(0, 2, "moving", 1000, 0, std::string(10, 'm'), t0).error, "");
    ASSERT_EQ(store.put(0, 3, "done", 5, 0, "12345", t0).error, "");
    EXPECT_EQ(store.put(0, 2, "moving", 1000, 10, std::string(10, 'm'), t0 + std::chrono::seconds(50)).error,
              "");
    EXPECT_EQ(store.expireStalledUploads(t0 + std::chrono::seconds(30), std::chrono::seconds(60)), 0u);
    EXPECT_EQ(store.expireStalledUploads(t0 + std::chrono::seconds(70), std::chrono::seconds(60)), 1u);
    EXPECT_FALSE(store.find(0, 1));
    EXPECT_NE(store.put(0, 1, "stalled", 1000, 10, "late").error, "") << "a chunk of an expired upload";
    EXPECT_TRUE(store.find(0, 3)) << "a complete object never expires";
    EXPECT_EQ(store.bytes(), 1005u);
    EXPECT_EQ(store.expireStalledUploads(t0 + std::chrono::hours(2), std::chrono::seconds(60)), 1u);
    EXPECT_EQ(store.bytes(), 5u);
}
