#pragma once
// The one result type inside the components: a value, or why there is none (one line, fit for a log and for
// the peer that asked). Exceptions stay at the edges: flags, files, and a peer's undecodable message where it
// is decoded.
//
//   Result<TaskIndex> createTask(...);          return refuse("duplicate task id 7");
//   Status encodeArguments(...);                return {};  // done
//   if (auto made = createTask(...); !made) log(made.why()); else use(made.value());

#include <string>
#include <utility>
#include <variant>

namespace scaler {

// Why a result has no value.
struct Refusal {
    std::string why;
};
inline Refusal refuse(std::string why) {
    return Refusal{std::move(why)};
}

template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}  // NOLINT: implicit by design
    Result(Refusal refusal) : state_(std::in_place_index<1>, std::move(refusal)) {}  // NOLINT
    bool ok() const { return state_.index() == 0; }
    explicit operator bool() const { return ok(); }
    T& value() { return std::get<0>(state_); }
    const T& value() const { return std::get<0>(state_); }
    const std::string& why() const { return std::get<1>(state_).why; }

private:
    std::variant<T, Refusal> state_;
};

// Done, or why not.
template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Refusal refusal) : why_(std::move(refusal.why)), ok_(false) {}  // NOLINT: implicit by design
    bool ok() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const std::string& why() const { return why_; }

private:
    std::string why_;
    bool ok_ = true;
};
using Status = Result<void>;

}  // namespace scaler
