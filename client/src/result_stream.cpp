#include "scaler/client/result_stream.h"

#include <algorithm>
#include <cstring>
#include <utility>

namespace scaler {

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
            part = Part{};  // its buffer goes now, not with the stream
            ++next_;
            read_ = 0;
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
        for (; next_ < parts_.size(); ++next_, read_ = 0) {
            all.append(parts_[next_].bytes.substr(read_));
            parts_[next_] = Part{};
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
