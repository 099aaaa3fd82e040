#pragma once
// A task's result as it arrived: one piece, or, for a result too large for one message, the parts it
// travelled in, each still in the buffer it was received into. Reading in order hands each part's memory back
// once it is used up, so a decoder that reads the result front to back (pickle.load) never holds a copy of
// the whole result beside its own output.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace scaler {

class ResultStream {
public:
    // Bytes kept alive by `owner` (a received frame, a string).
    struct Part {
        std::shared_ptr<const void> owner;
        std::string_view bytes;
    };

    ResultStream() = default;
    explicit ResultStream(std::string whole);
    explicit ResultStream(std::vector<Part> parts);

    // Bytes not read yet.
    uint64_t remaining() const { return remaining_; }
    // Parts not read yet; at most one for a result that came in one message.
    size_t partCount() const {
        return parts_.empty() ? (whole_.size() > read_ ? 1 : 0) : parts_.size() - next_;
    }
    // Copies up to `n` bytes into `into`, releasing the parts it uses up; returns how many it copied.
    size_t read(char* into, size_t n);
    // What is left, in one string: moved out when it is one string already, else gathered part by part (a
    // part's memory goes as soon as it is copied, so this needs the result's size once, not twice).
    std::string takeAll();
    // The unread bytes, copied, leaving the stream as it is; a stream of parts is gathered into one string
    // first (kept, so the next copy is cheap).
    std::string copyAll();

private:
    void released(size_t bytes);  // a part's buffer went

    std::string whole_;  // one piece (every result small enough for one message): no allocation beside it
    std::vector<Part> parts_;  // or the parts; those before next_ are read and released
    size_t next_ = 0;
    size_t read_ = 0;  // bytes of whole_, or of parts_[next_], already read
    uint64_t remaining_ = 0;
    uint64_t releasedSinceTrim_ = 0;
};

}  // namespace scaler
