#include "scaler/client/result_stream.h"

#include <malloc.h>

#include <algorithm>
#include <cstring>
#include <utility>

namespace scaler {

namespace {
// Freed frames go back to the system every this many bytes. glibc raises its mmap threshold to the size of
// a freed mapped block, so once one part was freed the next parts' frames come from a heap, and a freed heap
// block stays in the process: without this, reading a 1 GiB result into its value after another large one
// held both (3 GiB for a 1 GiB echo instead of 2).
constexpr uint64_t kTrimEvery = 32u << 20;
}  // namespace

void ResultStream::released(size_t bytes) {
    releasedSinceTrim_ += bytes;
    if (releasedSinceTrim_ < kTrimEvery && next_ < parts_.size()) return;
    releasedSinceTrim_ = 0;
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

ResultStream::ResultStream(std::string whole) : whole_(std::move(whole)), remaining_(whole_.size()) {}

ResultStream::ResultStream(std::vector<Part> parts) : parts_(std::move(parts)) {
    for (const Part& part : parts_) remaining_ += part.bytes.size();
}

size_t ResultStream::read(char* into, size_t n) {
    size_t copied = 0;
    if (parts_.empty()) {
        copied = std::min<size_t>(n, whole_.size() - read_);
        std::memcpy(into, whole_.data() + read_, copied);
        read_ += copied;
    }
    while (copied < n && next_ < parts_.size()) {
        Part& part = parts_[next_];
        const size_t take = std::min(n - copied, part.bytes.size() - read_);
        std::memcpy(into + copied, part.bytes.data() + read_, take);
        copied += take;
        read_ += take;
        if (read_ == part.bytes.size()) {
            const size_t size = part.bytes.size();
            part = Part{};  // its buffer goes now, not with the stream
            ++next_;
            read_ = 0;
            released(size);
        }
    }
    remaining_ -= copied;
    return copied;
}

std::string ResultStream::takeAll() {
    std::string all;
    if (parts_.empty()) {
        all = std::move(whole_);
        all.erase(0, read_);
    } else {
        all.reserve(remaining_);  // untouched until written: its pages come as the parts' pages go
        while (next_ < parts_.size()) {
            all.append(parts_[next_].bytes.substr(read_));
            const size_t size = parts_[next_].bytes.size();
            parts_[next_] = Part{};
            ++next_;
            read_ = 0;
            released(size);
        }
        parts_.clear();
    }
    *this = ResultStream();
    return all;
}

std::string ResultStream::copyAll() {
    if (!parts_.empty()) *this = ResultStream(takeAll());
    return whole_.substr(read_);
}

}  // namespace scaler
