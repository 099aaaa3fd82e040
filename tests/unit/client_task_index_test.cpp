#include <gtest/gtest.h>

#include <map>
#include <random>

#include "scaler/scheduler/routing/client_task_index.h"

using namespace scaler::scheduler;

TEST(ClientTaskIndex, AgreesWithAMapUnderRandomOperations) {
    TaskTable tasks;
    ClientTaskIndex index(tasks);
    std::map<std::pair<uint32_t, uint64_t>, uint32_t> model;
    std::mt19937_64 random(42);
    for (int step = 0; step < 200000; ++step) {
        const uint32_t client = random() % 4;
        const uint64_t id = random() % 5000;
        const auto key = std::make_pair(client, id);
        switch (random() % 3) {
            case 0: {
                const TaskIndex task = tasks.allocate();
                tasks[task].client = client;
                tasks[task].clientTaskId = id;
                const bool inserted = index.insert(task);
                EXPECT_EQ(inserted, model.emplace(key, task).second);
                if (!inserted) tasks.release(task);
                break;
            }
            case 1: {
                auto it = model.find(key);
                EXPECT_EQ(index.erase(client, id), it != model.end());
                if (it != model.end()) {
                    tasks.release(it->second);
                    model.erase(it);
                }
                break;
            }
            default: {
                auto it = model.find(key);
                EXPECT_EQ(index.find(client, id), it == model.end() ? kNone : it->second);
            }
        }
    }
    EXPECT_EQ(index.size(), model.size());
    for (const auto& [key, value] : model) EXPECT_EQ(index.find(key.first, key.second), value);
}
