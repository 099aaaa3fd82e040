#pragma once
// The message of the std::invalid_argument `call` throws, or "no error".

#include <stdexcept>
#include <string>

template <typename Call>
std::string invalidArgumentMessage(Call&& call) {
    try {
        call();
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "no error";
}
