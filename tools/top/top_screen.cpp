#include "top_screen.h"

#include <curses.h>

namespace scaler::top {

TopScreen::TopScreen() {
    initscr();
    cbreak();
    noecho();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    curs_set(0);
    if (has_colors()) {
        start_color();
        use_default_colors();
        init_pair(1, COLOR_YELLOW, -1);
    }
}

TopScreen::~TopScreen() {
    endwin();
}

int TopScreen::rows() const {
    return LINES;
}
int TopScreen::columns() const {
    return COLS;
}

int TopScreen::nextKey() {
    const int key = getch();
    return key == ERR ? -1 : key;
}

void TopScreen::draw(const std::vector<Line>& lines) {
    erase();
    for (size_t i = 0; i < lines.size() && static_cast<int>(i) < LINES; ++i) {
        attr_t attributes = A_NORMAL;
        switch (lines[i].style) {
            case LineStyle::title:
                attributes = A_REVERSE | A_BOLD;
                break;
            case LineStyle::header:
                attributes = A_BOLD;
                break;
            case LineStyle::warning:
                attributes = A_BOLD | (has_colors() ? COLOR_PAIR(1) : 0);
                break;
            case LineStyle::normal:
                break;
        }
        attron(attributes);
        mvaddnstr(static_cast<int>(i), 0, lines[i].text.c_str(), COLS);
        attroff(attributes);
    }
    refresh();
}

bool applyKey(TopState& state, int key, int pageRows) {
    if (state.showHelp && key != KEY_RESIZE) {
        state.showHelp = false;
        return key != 'q';
    }
    switch (key) {
        case 'q':
        case 'Q':
            return false;
        case '?':
        case 'h':
            state.showHelp = true;
            break;
        case 's':
            state.sortColumn =
                static_cast<WorkerColumn>((static_cast<int>(state.sortColumn) + 1) % kWorkerColumnCount);
            break;
        case 'S':
            state.sortColumn = static_cast<WorkerColumn>(
                (static_cast<int>(state.sortColumn) + kWorkerColumnCount - 1) % kWorkerColumnCount);
            break;
        case 'r':
            state.sortDescending = !state.sortDescending;
            break;
        case KEY_UP:
            --state.scroll;
            break;
        case KEY_DOWN:
            ++state.scroll;
            break;
        case KEY_PPAGE:
            state.scroll -= pageRows;
            break;
        case KEY_NPAGE:
            state.scroll += pageRows;
            break;
        case KEY_HOME:
            state.scroll = 0;
            break;
        case KEY_END:
            state.scroll = 1 << 30;
            break;  // clamped when rendered
        default:
            break;
    }
    if (state.scroll < 0) state.scroll = 0;
    return true;
}

}  // namespace scaler::top
