#!/usr/bin/env python3
"""Draws docs/performance.md's plots from chat-bench's JSON results (chat-bench --json-file).

    python3 perf/plot.py OUT_DIR RESULT.json...

Writes, as SVG, whatever the results hold data for:
  throughput.svg   saturation deliveries/s against room size, one line per system
                   (chat-server, chat-server-enc, limit-relay, Mosquitto): chat-bench --max/--sweep --max
  cpu.svg          the server's CPU time per delivery (µs) against room size at the floor's relay
                   load: --sweep (only when no run has a sweep, the saturation points of --max;
                   never both, since a server spends less per delivery the busier it is)
  latency.svg      the latency distribution at the floor load (500 x 10 x 2 msg/s), one curve per
                   system: the fixed-rate phases of --floor (else of the largest fixed-rate shape)

perf/run-all.sh calls it on each run's results. It uses only the standard library and gnuplot
(Debian's gnuplot-nox; scripts/install-deps.sh --perf installs it). Exits non-zero if nothing
could be drawn.
"""
import json
import os
import subprocess
import sys
import tempfile

LABELS = {"chat-server": "chat-server", "chat-server-enc": "chat-server (encrypted)",
          "limit-relay": "limit-relay (the kernel's cost)", "mqtt": "Mosquitto"}
ORDER = ["chat-server", "chat-server-enc", "limit-relay", "mqtt"]
TERMINAL = 'set terminal svg size 760,440 dynamic enhanced font "sans,12" background rgb "white"'


def system_of(record):
    name = record.get("system", "?")
    if name == "chat-server" and record.get("encrypted"):
        return "chat-server-enc"
    return name


def load(paths):
    runs = []
    for path in paths:
        with open(path, encoding="utf-8") as f:
            runs.append(json.load(f))
    return runs


def series(points):
    """{system: {x: [y...]}} -> {system: [(x, median y)]}, sorted."""
    out = {}
    for system, by_x in points.items():
        rows = []
        for x, ys in sorted(by_x.items()):
            ys = sorted(ys)
            rows.append((x, ys[len(ys) // 2]))
        out[system] = rows
    return out


def collect(runs):
    saturation, cpu, sweep_cpu, floor = {}, {}, {}, {}
    for run in runs:
        for s in run.get("saturations", []):
            best = s.get("best") or {}
            system = system_of(best) if best else s.get("system", "?")
            if s.get("delivered_per_s", 0) > 0:
                saturation.setdefault(system, {}).setdefault(s["members"], []).append(s["delivered_per_s"])
            if best.get("server_cpu_us_per_1000_deliveries", 0) > 0:
                cpu.setdefault(system, {}).setdefault(s["members"], []).append(
                    best["server_cpu_us_per_1000_deliveries"] / 1000.0)
        for p in run.get("phases", []):
            system = system_of(p)
            if p.get("mode") == "sweep" and p.get("server_cpu_us_per_1000_deliveries", 0) > 0:
                sweep_cpu.setdefault(system, {}).setdefault(p["members"], []).append(
                    p["server_cpu_us_per_1000_deliveries"] / 1000.0)
            if p.get("mode") == "fixed" and p.get("latency_cdf_ms"):
                floor.setdefault((p["rooms"], p["members"]), {}).setdefault(system, []).append(p)
    # The floor load's shape if it was run, else the largest fixed-rate shape there is.
    shape = (500, 10) if (500, 10) in floor else max(floor, key=lambda k: k[0] * k[1], default=None)
    return series(saturation), series(sweep_cpu or cpu), bool(sweep_cpu), (shape, floor.get(shape, {}))


def ordered(systems):
    return sorted(systems, key=lambda s: (ORDER.index(s) if s in ORDER else len(ORDER), s))


def gnuplot(script):
    subprocess.run(["gnuplot"], input=script, text=True, check=True)


def quoted(text):
    """A gnuplot single-quoted string: a quote inside is written twice."""
    return "'" + str(text).replace("'", "''") + "'"


def by_room_size(out_dir, work, name, data, ylabel, title, logy):
    plots = []
    for i, system in enumerate(ordered(data)):
        path = os.path.join(work, f"{name}-{i}.dat")
        with open(path, "w", encoding="utf-8") as f:
            for x, y in data[system]:
                f.write(f"{x} {y}\n")
        plots.append(f"'{path}' using 1:2 with linespoints lw 2 pt 7 title {quoted(LABELS.get(system, system))}")
    sizes = sorted({x for rows in data.values() for x, _ in rows})
    tics = ", ".join(f'"{x}" {x}' for x in sizes)
    gnuplot("\n".join([
        TERMINAL, f"set output {quoted(os.path.join(out_dir, name + '.svg'))}",
        f"set title {quoted(title)}", "set xlabel 'members per room'", f"set ylabel {quoted(ylabel)}",
        "set logscale x 2", f"set xtics ({tics})", "set logscale y" if logy else "set yrange [0:*]",
        "set grid", "set key outside bottom center horizontal",
        "plot " + ", ".join(plots), ""]))


def latency(out_dir, work, shape, floor):
    plots = []
    for i, system in enumerate(ordered(floor)):
        phases = sorted(floor[system], key=lambda p: p["latency_ms"]["p99"])
        p = phases[len(phases) // 2]  # the median run by p99, when the floor was repeated
        path = os.path.join(work, f"latency-{i}.dat")
        with open(path, "w", encoding="utf-8") as f:
            for fraction, ms in p["latency_cdf_ms"]:
                f.write(f"{ms} {100.0 * fraction}\n")
        plots.append(f"'{path}' using 1:2 with linespoints lw 2 pt 7 title {quoted(LABELS.get(system, system))}")
    gnuplot("\n".join([
        TERMINAL, f"set output {quoted(os.path.join(out_dir, 'latency.svg'))}",
        "set title " + quoted(f"Latency at {shape[0]} rooms x {shape[1]} members" +
                              (" (the floor load)" if shape == (500, 10) else "")),
        "set xlabel 'one-way latency, send to delivery (ms)'", "set ylabel 'deliveries at or below (%)'",
        "set logscale x", "set yrange [0:100]", "set grid", "set key bottom right",
        "plot " + ", ".join(plots), ""]))


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    out_dir, paths = argv[1], argv[2:]
    os.makedirs(out_dir, exist_ok=True)
    saturation, cpu, cpu_at_sweep_load, (shape, floor) = collect(load(paths))
    drawn = []
    with tempfile.TemporaryDirectory() as work:
        if saturation:
            by_room_size(out_dir, work, "throughput", saturation, "deliveries/s at saturation",
                         "Saturation throughput against room size", True)
            drawn.append("throughput.svg")
        if cpu:
            by_room_size(out_dir, work, "cpu", cpu, "server CPU per delivery (µs)",
                         "CPU per delivery against room size, " +
                         ("at the floor's relay load (--sweep)" if cpu_at_sweep_load else "at saturation"), False)
            drawn.append("cpu.svg")
        if floor:
            latency(out_dir, work, shape, floor)
            drawn.append("latency.svg")
    if not drawn:
        print("plot.py: nothing to draw in " + " ".join(paths), file=sys.stderr)
        return 1
    print("plot.py: wrote " + ", ".join(os.path.join(out_dir, d) for d in drawn))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
