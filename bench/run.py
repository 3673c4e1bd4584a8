#!/usr/bin/env python3
"""Process-level benchmark, one run on one machine, figures as ratios:
- the real `systemtask` binary (glibc build, and the shipped static musl build) over a recorded
  style session of realistic mixed events, against the official Python SDK's minimal streaming
  command on the same input;
- peak memory (max RSS) against 2 x the largest frame + 32 MB;
- a getinfo-only session (start, getinfo, one empty final execute, exit), median wall time.
Run from the repository root after `cargo bench --bench throughput` (which writes the sessions)
and `./package.sh`. Installs splunk-sdk if missing."""
import os
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "bench", "out")


def run(cmd, stdin_path):
    """Wall time and max RSS (bytes) of one run, stdout discarded."""
    with open(stdin_path, "rb") as stdin, open(os.devnull, "wb") as devnull:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdin=stdin, stdout=devnull, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - start
        err = proc.stderr.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{cmd} exited {code}: {err}")
    return elapsed, usage.ru_maxrss * 1024


def frames(path):
    """(metadata length, body length) of every frame in a session file, read by seeking past
    the bodies: the parent stays small, so the children's peak memory is their own (a child
    inherits its parent's high-water mark at fork)."""
    out = []
    with open(path, "rb") as f:
        while True:
            header = f.readline()
            if not header:
                break
            m, b = (int(x) for x in header.split(b",")[1:])
            out.append((m, b, 0))
            f.seek(m + b, os.SEEK_CUR)
    return out


def records_in(path):
    # Records, not lines: bodies hold multi-line values. The generator writes 50,000 a chunk.
    return sum(50_000 for m, b, _ in frames(path) if b > 0)


def best(cmd, path, rounds):
    results = [run(cmd, path) for _ in range(rounds)]
    return min(r[0] for r in results), max(r[1] for r in results)


def main():
    try:
        import splunklib  # noqa: F401
    except ImportError:
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "splunk-sdk==2.1.1"], check=True)
    glibc = os.path.join(ROOT, "target", "release", "systemtask")
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "systemtask"], cwd=ROOT, check=True)
    musl = os.path.join(ROOT, "dist", "systemtask", "bin", "systemtask-x86_64")
    sdk = [sys.executable, os.path.join(ROOT, "bench", "sdk_tag.py")]
    big = os.path.join(OUT, "session_4x50k.bin")
    one = os.path.join(OUT, "session_1x50k.bin")
    getinfo = os.path.join(OUT, "session_getinfo_only.bin")

    n_big, n_one = records_in(big), records_in(one)
    largest_frame = max(m + b for m, b, _ in frames(big))
    print(f"session: {n_big} records in {len(frames(big)) - 1} execute frames; largest frame {largest_frame / 1e6:.1f} MB")

    rows = []
    for name, exe in [("systemtask (glibc build)", glibc), ("systemtask (shipped static musl build)", musl)]:
        if not os.path.exists(exe):
            continue
        t, rss = best([exe], big, 3)
        t1, _ = best([exe], one, 3)
        rows.append((name, n_big / t, rss, t1))
    t_sdk, rss_sdk = best(sdk, one, 1)
    print(f"{'command':<42} {'records/s':>12} {'max RSS MB':>11}")
    for name, rate, rss, _ in rows:
        print(f"{name:<42} {rate:>12.0f} {rss / 1e6:>11.1f}")
    print(f"{'Python SDK StreamingCommand (1 chunk)':<42} {n_one / t_sdk:>12.0f} {rss_sdk / 1e6:>11.1f}")
    sdk_rate = n_one / t_sdk
    for name, rate, rss, t1 in rows:
        print(f"ratio {name} / Python SDK on the same 50,000 records (one chunk, start-up included): {t_sdk / t1:.1f}x")
        print(f"ratio {name} / Python SDK, records/s (4 chunks vs the SDK's one): {rate / sdk_rate:.1f}x")
        limit = 2 * largest_frame + 32 * 2**20
        print(f"peak memory {name}: {rss / 1e6:.1f} MB, limit 2 x {largest_frame / 1e6:.1f} MB + 32 MiB = {limit / 1e6:.1f} MB: {'ok' if rss <= limit else 'OVER'}")

    for name, exe in [("glibc", glibc), ("musl", musl)]:
        if not os.path.exists(exe):
            continue
        times = [run([exe], getinfo)[0] for _ in range(50)]
        print(f"getinfo-only session ({name}): median {statistics.median(times) * 1000:.2f} ms, max {max(times) * 1000:.2f} ms over 50 runs")
    evtx_memory()


def evtx_memory():
    """Peak memory of the modular input on the largest sample and on a file 64 times larger."""
    import tempfile
    exe = os.path.join(ROOT, "dist", "systemtask", "bin", "systemtask_evtx.sh")
    if not os.path.exists(exe):
        return
    sample = os.path.join(ROOT, "..", "shared", "samples", "evtx", "sbousseaden_EVTX-ATTACK-SAMPLES",
                          "AutomatedTestingTools_PanacheSysmon_vs_AtomicRedTeam01.evtx")
    with tempfile.TemporaryDirectory() as tmp:
        big = os.path.join(tmp, "big.evtx")
        subprocess.run([sys.executable, os.path.join(ROOT, "bench", "make_big_evtx.py"), sample, "64", big], check=True)
        for path in (sample, big):
            ck = tempfile.mkdtemp(dir=tmp)
            xml = (f"<input><checkpoint_dir>{ck}</checkpoint_dir><configuration><stanza name=\"systemtask_evtx://m\">"
                   f"<param name=\"path\">{path}</param></stanza></configuration></input>")
            xml_path = os.path.join(tmp, "input.xml")
            with open(xml_path, "w") as f:
                f.write(xml)
            t, rss = run([exe], xml_path)
            print(f"systemtask_evtx on {os.path.getsize(path) / 1e6:.1f} MB EVTX: {t:.2f} s, max RSS {rss / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
