#pragma once
// The terminal: ncurses set up on construction and always restored on destruction (normal exit, q, or
// SIGINT/SIGTERM, which end the loop rather than the process).

#include <vector>

#include "top_view.h"

namespace scaler::top {

class TopScreen {
public:
    TopScreen();
    ~TopScreen();
    TopScreen(const TopScreen&) = delete;
    TopScreen& operator=(const TopScreen&) = delete;

    void draw(const std::vector<Line>& lines);
    int rows() const;
    int columns() const;
    // The next key pressed, or -1 when none is waiting.
    int nextKey();
};

// Applies one key to the state; returns false when it means quit.
bool applyKey(TopState& state, int key, int pageRows);

}  // namespace scaler::top
