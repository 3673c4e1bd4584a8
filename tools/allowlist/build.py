#!/usr/bin/env python3
"""Builds the shipped allowlist, splunk_app/lookups/systemtask_allowlist.csv, from two reviewed
inputs in this folder. The CSV is this script's output: edit the inputs, never the CSV.

- evidence.csv: Windows' own tasks as public lab captures show them. One row per task
  definition seen in Security 4698/4700/4702 events whose task runs as LocalSystem (S-1-5-18)
  and that only machine accounts created or changed: task, program, arguments, how many events
  in how many capture files, and which files. `evidence` writes it from a checkout of
  OTRF Security-Datasets (https://github.com/OTRF/Security-Datasets), whose
  datasets/atomic/windows/*/host/*.zip files hold every event the lab's Windows 10 workstations
  and Windows Server domain controllers logged while each technique was recorded, background
  Windows traffic included (647,033 events in the 112 host files read at commit d9d40ef1).
- curated.csv: entries for tasks the captures do not show (Defender, defrag, common updaters),
  each with its source in its comment.

`build` turns every evidence row that passes `admissible` into an entry pinned to the exact
program and arguments seen, created or changed by a machine account (`*$`), and writes the
curated rows after them. `build --check` fails when the shipped CSV differs from what the
inputs give (tests/app runs it).

    python3 tools/allowlist/build.py evidence <Security-Datasets checkout>   # refresh evidence.csv
    python3 tools/allowlist/build.py build [--check]
"""
import argparse
import collections
import csv
import html
import io
import json
import re
import sys
import zipfile
import xml.etree.ElementTree as ET
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SHIPPED = ROOT / "splunk_app" / "lookups" / "systemtask_allowlist.csv"
EVIDENCE = HERE / "evidence.csv"
CURATED = HERE / "curated.csv"
HEADER = ["id", "task_name", "command", "arguments", "creator", "host", "expires", "comment"]
EVIDENCE_HEADER = ["task_name", "command", "arguments", "run_as", "creators", "events", "files", "examples"]
SOURCE = "OTRF Security-Datasets"
TASK_NS = "{http://schemas.microsoft.com/windows/2004/02/mit/task}"
MACHINE_ACCOUNT = re.compile(r"^[^\\]+\$$")
# Programs Windows itself installs: an entry pins one of these, or a COM handler (a CLSID
# registered by Windows; the task cannot name a program then).
WINDOWS_PROGRAM = re.compile(r"^%(windir|systemroot)%\\system32\\[a-z0-9_.-]+\.exe$", re.I)
COM_HANDLER = re.compile(r"^COM handler \{[0-9A-F-]{36}\}$", re.I)
# Ids the entries had before this generator existed, kept so that searches on
# systemtask_suppressed_by keep working.
KNOWN_IDS = {
    r"\Microsoft\Windows\UpdateOrchestrator\Schedule Scan": "win-uso-schedule-scan",
    r"\Microsoft\Windows\UpdateOrchestrator\Schedule Work": "win-uso-schedule-work",
    r"\Microsoft\Windows\UpdateOrchestrator\Schedule Wake To Work": "win-uso-wake-to-work",
    r"\Microsoft\Windows\UpdateOrchestrator\Schedule Maintenance Work": "win-uso-maintenance-work",
    r"\Microsoft\Windows\Application Experience\Microsoft Compatibility Appraiser": "win-compat-appraiser",
    r"\Microsoft\Windows\Flighting\OneSettings\RefreshCache": "win-flighting-refreshcache",
    r"\Microsoft\Windows\Device Information\Device": "win-device-census",
    r"\Microsoft\Windows\WaaSMedic\PerformRemediation": "win-waasmedic",
}


def task_actions(text):
    """(actions, run_as) of a task XML as the events carry it (entity-escaped or not)."""
    if text.lstrip().startswith("&lt;"):
        text = html.unescape(text)
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)
    root = ET.fromstring(text)
    actions = []
    for node in root.iter():
        if node.tag == TASK_NS + "Exec":
            actions.append(((node.findtext(TASK_NS + "Command") or "").strip(),
                            (node.findtext(TASK_NS + "Arguments") or "").strip()))
        elif node.tag == TASK_NS + "ComHandler":
            actions.append(("COM handler " + (node.findtext(TASK_NS + "ClassId") or "").strip(), ""))
    run_as = sorted({(p.findtext(TASK_NS + "UserId") or p.findtext(TASK_NS + "GroupId") or "").strip()
                     for p in root.iter(TASK_NS + "Principal")})
    return actions, ";".join(run_as)


def evidence(checkout):
    """Every task definition in the captures' 4698/4700/4702 events, with where it was seen."""
    zips = sorted((Path(checkout) / "datasets" / "atomic" / "windows").glob("*/host/*.zip"))
    if not zips:
        sys.exit(f"build.py: no datasets/atomic/windows/*/host/*.zip under {checkout}")
    seen = collections.defaultdict(lambda: {"creators": set(), "events": 0, "files": set()})
    events = 0
    for path in zips:
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                with archive.open(member) as f:
                    for line in f:
                        events += 1
                        if not re.search(rb'"EventID": ?(4698|4700|4702)\b', line):
                            continue
                        event = json.loads(line)
                        text = event.get("TaskContentNew") or event.get("TaskContent") or ""
                        try:
                            actions, run_as = task_actions(text)
                        except ET.ParseError:
                            continue  # a truncated definition names nothing to pin
                        key = (event.get("TaskName") or "", tuple(actions), run_as)
                        entry = seen[key]
                        entry["creators"].add(f'{event.get("SubjectDomainName", "")}\\{event.get("SubjectUserName", "")}')
                        entry["events"] += 1
                        entry["files"].add(path.relative_to(checkout).as_posix())
    rows = []
    for (name, actions, run_as), e in sorted(seen.items()):
        for command, arguments in actions or [("", "")]:
            rows.append({
                "task_name": name, "command": command, "arguments": arguments, "run_as": run_as,
                "creators": ";".join(sorted(e["creators"])), "events": e["events"], "files": len(e["files"]),
                "examples": ";".join(sorted(e["files"])[:3]),
            })
            if len(actions) > 1:
                rows[-1]["command"] += f" (action of {len(actions)})"
    out = io.StringIO()
    w = csv.DictWriter(out, EVIDENCE_HEADER, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    EVIDENCE.write_text(out.getvalue())
    print(f"build.py: {len(rows)} task definitions from {events} events in {len(zips)} files -> {EVIDENCE}",
          file=sys.stderr)


def admissible(row):
    """Why an evidence row may become an entry, or None when it may not.

    A Windows task (under \\Microsoft\\Windows\\), running as LocalSystem (what would alert),
    only ever created or changed by machine accounts (never by a person: the captures' own
    attacks are made by user accounts), with one action that is a program in System32 or a
    COM handler."""
    creators = [c.split("\\", 1)[-1] for c in row["creators"].split(";") if c]
    if not row["task_name"].lower().startswith("\\microsoft\\windows\\"):
        return None
    if row["run_as"] != "S-1-5-18":
        return None
    if not creators or not all(MACHINE_ACCOUNT.match(c) for c in creators):
        return None
    if not (WINDOWS_PROGRAM.match(row["command"]) or COM_HANDLER.match(row["command"])):
        return None
    return f"{row['events']} event(s) in {row['files']} capture file(s), changed by machine accounts only"


def entry_id(task_name):
    if task_name in KNOWN_IDS:
        return KNOWN_IDS[task_name]
    tail = task_name[len("\\Microsoft\\Windows\\"):]
    return "win-" + re.sub(r"[^a-z0-9]+", "-", tail.lower()).strip("-")


def build():
    with EVIDENCE.open(newline="") as f:
        evidence_rows = list(csv.DictReader(f))
    with CURATED.open(newline="") as f:
        curated = list(csv.DictReader(f))
    entries = []
    for row in evidence_rows:
        why = admissible(row)
        if why is None:
            continue
        example = row["examples"].split(";")[0]
        entries.append({
            "id": entry_id(row["task_name"]), "task_name": row["task_name"], "command": row["command"],
            "arguments": row["arguments"], "creator": "*$", "host": "", "expires": "",
            "comment": f"Windows' own task, pinned to the action seen: {why}. Source: {SOURCE} "
                       f"(github.com/OTRF/Security-Datasets), e.g. {example}; tools/allowlist/evidence.csv.",
        })
    ids = [e["id"] for e in entries] + [c["id"] for c in curated]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        sys.exit(f"build.py: ids used twice: {', '.join(duplicates)}")
    for c in curated:
        if not c.get("comment", "").strip():
            sys.exit(f"build.py: curated entry {c['id']} has no comment naming its source")
    out = io.StringIO()
    w = csv.DictWriter(out, HEADER, lineterminator="\n")
    w.writeheader()
    w.writerows(entries)
    w.writerows({k: c.get(k, "") for k in HEADER} for c in curated)
    return out.getvalue(), len(entries), len(curated)


def main():
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="what", required=True)
    ev = sub.add_parser("evidence")
    ev.add_argument("checkout")
    b = sub.add_parser("build")
    b.add_argument("--check", action="store_true")
    args = parser.parse_args()
    if args.what == "evidence":
        evidence(Path(args.checkout))
        return
    text, n_evidence, n_curated = build()
    if args.check:
        if SHIPPED.read_text() != text:
            sys.exit(f"build.py: {SHIPPED} differs from what tools/allowlist gives; run build.py build")
        return
    SHIPPED.write_text(text)
    print(f"build.py: {n_evidence} entries from evidence, {n_curated} curated -> {SHIPPED}", file=sys.stderr)


if __name__ == "__main__":
    main()
