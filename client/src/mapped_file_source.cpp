#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "scaler/client/byte_source.h"

namespace scaler {

namespace {

class MappedFileSource final : public ByteSource {
public:
    MappedFileSource(void* base, size_t size) : base_(base), size_(size) {}
    ~MappedFileSource() override {
        if (size_ > 0) munmap(base_, size_);
    }
    MappedFileSource(const MappedFileSource&) = delete;
    MappedFileSource& operator=(const MappedFileSource&) = delete;

    std::string_view bytes() const override { return {static_cast<const char*>(base_), size_}; }

    void stored(uint64_t end) const override {
        // whole pages only; clean pages of a file mapping are read from the file again if touched
        const uint64_t page = static_cast<uint64_t>(sysconf(_SC_PAGESIZE));
        const uint64_t length = end >= size_ ? size_ : end / page * page;
        // from where the last call stopped (a resend starts again from 0, so the end can also go back)
        const uint64_t from = released_.exchange(length);
        if (length > from) (void)madvise(static_cast<char*>(base_) + from, length - from, MADV_DONTNEED);
    }

private:
    void* base_;
    size_t size_;
    mutable std::atomic<uint64_t> released_{0};
};

std::invalid_argument cannotMap(const std::string& path, const std::string& why) {
    return std::invalid_argument("'" + path + "' cannot be mapped: " + why);
}

}  // namespace

std::shared_ptr<const ByteSource> mapFile(const std::string& path) {
    const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw cannotMap(path, std::strerror(errno));
    struct stat info {};
    if (fstat(fd, &info) != 0 || !S_ISREG(info.st_mode)) {
        close(fd);
        throw cannotMap(path, "not a regular file");
    }
    const auto size = static_cast<size_t>(info.st_size);
    void* base = nullptr;
    if (size > 0) {
        base = mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (base == MAP_FAILED) {
            const int error = errno;
            close(fd);
            throw cannotMap(path, std::strerror(error));
        }
    }
    close(fd);  // the mapping keeps the file
    return std::make_shared<MappedFileSource>(base, size);
}

}  // namespace scaler
