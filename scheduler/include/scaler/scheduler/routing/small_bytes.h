#pragma once
// A byte string that keeps short contents inline, so typical tasks (a function name and a short payload)
// cost no heap allocation in the scheduler.

#include <cstdint>
#include <cstring>
#include <string_view>

namespace scaler::scheduler {

class SmallBytes {
public:
    static constexpr uint32_t kInlineCapacity = 28;

    SmallBytes() = default;
    SmallBytes(const SmallBytes&) = delete;
    SmallBytes& operator=(const SmallBytes&) = delete;
    ~SmallBytes() { clear(); }

    // Stores a followed by b.
    void assign(std::string_view a, std::string_view b) {
        clear();
        size_ = static_cast<uint32_t>(a.size() + b.size());
        char* out = storage_;
        if (size_ > kInlineCapacity) {
            out = new char[size_];
            std::memcpy(storage_, &out, sizeof out);
        }
        if (!a.empty()) std::memcpy(out, a.data(), a.size());
        if (!b.empty()) std::memcpy(out + a.size(), b.data(), b.size());
    }
    void clear() {
        if (size_ > kInlineCapacity) delete[] heap();
        size_ = 0;
    }
    std::string_view view() const { return {size_ > kInlineCapacity ? heap() : storage_, size_}; }
    uint32_t size() const { return size_; }

private:
    // The heap pointer lives in the inline bytes (copied, so no alignment padding): 32 bytes in all.
    char* heap() const {
        char* p;
        std::memcpy(&p, storage_, sizeof p);
        return p;
    }
    uint32_t size_ = 0;
    char storage_[kInlineCapacity];
};

static_assert(sizeof(SmallBytes) == 32);

}  // namespace scaler::scheduler
