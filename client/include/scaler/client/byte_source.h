#pragma once
// Bytes an argument or object borrows instead of owning them in a std::string. The client keeps the source
// for as long as it may have to send the bytes again (a scheduler that restarted), and tells it which bytes
// the scheduler has stored, so a source that can read them again (a mapped file) gives their memory back
// meanwhile: a 1 GiB file costs the client its pages only while they are being sent.

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace scaler {

class ByteSource {
public:
    virtual ~ByteSource() = default;
    // Valid, and the same, for the source's lifetime.
    virtual std::string_view bytes() const = 0;
    // The scheduler holds bytes()[0, end): they are needed again only for a resend.
    virtual void stored(uint64_t end) const { (void)end; }
};

// Bytes held in memory.
class StringSource final : public ByteSource {
public:
    explicit StringSource(std::string bytes) : bytes_(std::move(bytes)) {}
    std::string_view bytes() const override { return bytes_; }

private:
    std::string bytes_;
};

// A regular file, mapped read-only. Its pages leave the process's memory once the scheduler stores them and
// come back from the file for a resend, so the file must not change while a task or object uses it. Throws
// std::invalid_argument naming the path for a file that cannot be opened or mapped (a pipe, a directory).
std::shared_ptr<const ByteSource> mapFile(const std::string& path);

}  // namespace scaler
