#include <gtest/gtest.h>

#include <map>
#include <random>

#include "scaler/scheduler/routing/client_task_index.h"

using namespace scaler::scheduler;

TEST(ClientTaskIndex, AgreesWithAMapUnderRandomOperations) {
    ClientTaskIndex index;
    std::map<std::pair<uint32_t, uint64_t>, uint32_t> model;
    std::mt19937_64 random(42);
    for (int step = 0; step < 200000; ++step) {
        const uint32_t client = random() % 4;
        const uint64_t id = random() % 5000;
        const auto key = std::make_pair(client, id);
        switch (random() % 3) {
            case 0: {
                const bool inserted = index.insert(client, id, static_cast<uint32_t>(step));
                EXPECT_EQ(inserted, model.emplace(key, step).second);
                break;
            }
            case 1:
                EXPECT_EQ(index.erase(client, id), model.erase(key) == 1);
                break;
            default: {
                auto it = model.find(key);
                EXPECT_EQ(index.find(client, id), it == model.end() ? kNone : it->second);
            }
        }
    }
    EXPECT_EQ(index.size(), model.size());
    for (const auto& [key, value] : model) EXPECT_EQ(index.find(key.first, key.second), value);
}
