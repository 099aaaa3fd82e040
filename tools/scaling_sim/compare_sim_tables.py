#!/usr/bin/python3
"""Merges two scaler_scaling_sim tables (an older build's and this one's) into one with "before / after"
cells beside the ideal, and marks every row that got worse by more than 5 % on makespan, wait p95 or
group-seconds. Usage: compare_sim_tables.py BEFORE.md AFTER.md (tables as scaler_scaling_sim prints them;
an older build without the ideal columns is read too)."""
import sys

WORSE = 1.05


def load(path):
    rows, order = {}, []
    for line in open(path, encoding="utf-8"):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 9 or cells[0] in ("workload",) or cells[0].startswith("---"):
            continue
        key = (cells[0], cells[1], cells[2])
        if len(cells) >= 11:  # with the ideal columns
            row = dict(makespan=cells[3], p50=cells[5], p95=cells[6], gs=cells[7], starts=cells[9],
                       stops=cells[10], ideal_m=cells[4], ideal_gs=cells[8])
        else:
            row = dict(makespan=cells[3], p50=cells[4], p95=cells[5], gs=cells[6], starts=cells[7],
                       stops=cells[8], ideal_m="", ideal_gs="")
        row["incomplete"] = "INCOMPLETE" in line
        rows[key] = row
        order.append(key)
    return rows, order


def worse(before, after):
    try:
        b, a = float(before), float(after)
    except ValueError:
        return False
    return b > 0 and a > b * WORSE and a - b > 0.05


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: compare_sim_tables.py BEFORE.md AFTER.md")
    before, _ = load(sys.argv[1])
    after, order = load(sys.argv[2])
    print("| workload | start-up | policy | makespan s | x ideal | wait p95 s | group-seconds | x ideal | "
          "starts | worse > 5 % |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for key in order:
        a = after[key]
        if key[2] == "ideal (lower bound)":
            print(f"| {key[0]} | {key[1]} | **ideal** | {a['makespan']} | 1.00 | | {a['gs']} | 1.00 | | |")
            continue
        b = before.get(key)
        pair = lambda f: f"{b[f]} / {a[f]}" if b else f"- / {a[f]}"
        flags = [name for f, name in (("makespan", "makespan"), ("p95", "p95"), ("gs", "group-s"))
                 if b and worse(b[f], a[f])]
        note = ", ".join(flags) + (" INCOMPLETE" if a["incomplete"] else "")
        print(f"| {key[0]} | {key[1]} | {key[2]} | {pair('makespan')} | {a['ideal_m']} | {pair('p95')} | "
              f"{pair('gs')} | {a['ideal_gs']} | {pair('starts')} | {note.strip()} |")


if __name__ == "__main__":
    main()
