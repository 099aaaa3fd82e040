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

ResultStream::ResultStream(std::string whole) : whole_(std::move(whole)) {}

ResultStream::ResultStream(std::vector<Part> parts) : parts_(std::make_unique<Parts>()) {
    parts_->parts = std::move(parts);
    for (const Part& part : parts_->parts) parts_->remaining += part.bytes.size();
}

void ResultStream::released(size_t bytes) {
    parts_->releasedSinceTrim += bytes;
    if (parts_->releasedSinceTrim < kTrimEvery && parts_->next < parts_->parts.size()) return;
    parts_->releasedSinceTrim = 0;
#ifdef __GLIBC__
    malloc_trim(0);
#endif
}

size_t ResultStream::read(char* into, size_t n) {
    if (!parts_) {
        const size_t copied = std::min<size_t>(n, whole_.size() - read_);
        std::memcpy(into, whole_.data() + read_, copied);
        read_ += copied;
        return copied;
    }
    size_t copied = 0;
    while (copied < n && parts_->next < parts_->parts.size()) {
        Part& part = parts_->parts[parts_->next];
        const size_t take = std::min(n - copied, part.bytes.size() - read_);
        std::memcpy(into + copied, part.bytes.data() + read_, take);
        copied += take;
        read_ += take;
        if (read_ == part.bytes.size()) {
            const size_t size = part.bytes.size();
            part = Part{};  // its buffer goes now, not with the stream
            ++parts_->next;
            read_ = 0;
            released(size);
        }
    }
    parts_->remaining -= copied;
    return copied;
}

std::string ResultStream::takeAll() {
    std::string all;
    if (!parts_) {
        all = std::move(whole_);
        all.erase(0, read_);
    } else {
        all.reserve(parts_->remaining);  // untouched until written: its pages come as the parts' pages go
        while (parts_->next < parts_->parts.size()) {
            Part& part = parts_->parts[parts_->next];
            all.append(part.bytes.substr(read_));
            const size_t size = part.bytes.size();
            part = Part{};
            ++parts_->next;
            read_ = 0;
            released(size);
        }
    }
    *this = ResultStream();
    return all;
}

std::string ResultStream::copyAll() {
    if (parts_) *this = ResultStream(takeAll());
    return whole_.substr(read_);
}

}  // namespace scaler
