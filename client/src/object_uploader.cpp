#include "object_uploader.h"

#include <algorithm>
#include <unordered_set>

#include <capnp/message.h>

#include "scaler/protocol/wire_bytes.h"

namespace scaler::detail {

void ObjectUploader::add(ObjectUpload upload) {
    queue_.push_back(std::move(upload));
}

void ObjectUploader::pump(uint64_t schedulerMessageLimit) {
    while (!queue_.empty()) {
        const ObjectUpload& upload = queue_.front();
        const uint64_t size = upload.bytes->bytes().size();
        // well under the scheduler's message limit, whatever it is
        const uint64_t chunk = std::max<uint64_t>(
            1, std::min(kChunkBytes, schedulerMessageLimit > 0 ? schedulerMessageLimit / 2 : kChunkBytes));
        if ((firstSent_ && sent_ >= size) || sent_ - acknowledged_ >= chunk * kChunksAhead) return;
        const uint64_t n = std::min(chunk, size - sent_);
        capnp::MallocMessageBuilder builder;
        auto put = builder.initRoot<wire::Message>().initObjectPut();
        put.setObjectId(upload.id);
        if (sent_ == 0) put.setName(upload.name);
        put.setTotalSize(size);
        put.setOffset(sent_);
        if (n > 0) {  // an empty external segment would make a frame the receiver refuses
            put.adoptData(builder.getOrphanage().referenceExternalData(capnp::Data::Reader(
                reinterpret_cast<const kj::byte*>(upload.bytes->bytes().data()) + sent_, n)));
        }
        if (!out_.send(builder)) {
            upload.state->finish("the scheduler is not reachable", true);
            refused_.push_back(upload.id);
            queue_.pop_front();
            sent_ = acknowledged_ = 0;
            firstSent_ = false;
            continue;
        }
        sent_ += n;
        firstSent_ = true;
    }
}

void ObjectUploader::onAck(wire::ObjectPutAck::Reader ack) {
    if (queue_.empty() || queue_.front().id != ack.getObjectId()) return;  // an upload already failed
    ObjectUpload& upload = queue_.front();
    std::string error(asStringView(ack.getError()));
    if (error.empty()) upload.bytes->stored(ack.getReceivedBytes());
    if (error.empty() && ack.getReceivedBytes() < upload.bytes->bytes().size()) {
        acknowledged_ = ack.getReceivedBytes();
        return;
    }
    if (!error.empty()) refused_.push_back(upload.id);
    upload.state->finish(error);
    queue_.pop_front();
    sent_ = acknowledged_ = 0;
    firstSent_ = false;
}

void ObjectUploader::restart(std::vector<ObjectUpload> uploads) {
    std::deque<ObjectUpload> queue(std::make_move_iterator(uploads.begin()),
                                   std::make_move_iterator(uploads.end()));
    std::unordered_set<uint64_t> resent;
    for (const ObjectUpload& upload : queue) resent.insert(upload.id);
    for (ObjectUpload& waiting : queue_) {
        if (resent.count(waiting.id) == 0) waiting.state->finish("the object was deleted");
    }
    queue_ = std::move(queue);
    sent_ = acknowledged_ = 0;
    firstSent_ = false;
}

void ObjectUploader::fail(uint64_t id, const std::string& why) {
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
        if (it->id != id) continue;
        it->state->finish(why, true);
        refused_.push_back(id);
        if (it == queue_.begin()) {
            sent_ = acknowledged_ = 0;
            firstSent_ = false;
        }
        queue_.erase(it);
        return;
    }
}

void ObjectUploader::failAll(const std::string& why) {
    for (ObjectUpload& upload : queue_) {
        upload.state->finish(why, true);
        refused_.push_back(upload.id);
    }
    queue_.clear();
    sent_ = acknowledged_ = 0;
    firstSent_ = false;
}

}  // namespace scaler::detail
