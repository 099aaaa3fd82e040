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
    uint64_t remaining() const { return parts_ ? parts_->remaining : whole_.size() - read_; }
    // Parts not read yet; at most one for a result that came in one message.
    size_t partCount() const {
        return parts_ ? parts_->parts.size() - parts_->next : (whole_.size() > read_ ? 1 : 0);
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
    // Only a result that came in parts has these: a small one costs its string and a word or two.
    struct Parts {
        std::vector<Part> parts;  // those before `next` are read and released
        size_t next = 0;
        uint64_t remaining = 0;
        uint64_t releasedSinceTrim = 0;
    };
    void released(size_t bytes);  // a part's buffer went

    std::string whole_;  // one piece (every result small enough for one message)
    size_t read_ = 0;    // bytes of whole_, or of the current part, already read
    std::unique_ptr<Parts> parts_;
};

}  // namespace scaler
