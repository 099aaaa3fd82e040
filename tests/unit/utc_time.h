#pragma once
// Unix time of a UTC date and time, for tests of wall-clock rules.

#include <ctime>

namespace scaler::testing {

inline std::time_t utc(int year, int month, int day, int hour, int minute) {
    std::tm t{};
    t.tm_year = year - 1900;
    t.tm_mon = month - 1;
    t.tm_mday = day;
    t.tm_hour = hour;
    t.tm_min = minute;
    return timegm(&t);
}

}  // namespace scaler::testing
