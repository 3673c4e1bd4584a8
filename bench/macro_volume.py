#!/usr/bin/env python3
"""What the `systemtask_process_events` macro's PowerShell terms cost in events: the share of
Sysmon process creations that its term filter passes to the command, with and without
`powershell*`/`pwsh*`, over OTRF Security-Datasets' Windows host captures (the same files
tools/allowlist/build.py reads).

Splunk matches a search term against the segments of `_raw` (text between breakers), `x*`
against segments that start with x, case-insensitively; this reads each event's field values as
its `_raw` and splits them the same way at every non-alphanumeric character.

    python3 bench/macro_volume.py <Security-Datasets checkout>
"""
import glob
import json
import os
import re
import sys
import zipfile

SEGMENT = re.compile(r"[a-z0-9]+")
TASK_PREFIXES = ("schtasks", "sctasks", "scheduledtask")
TASK_WORDS = {"at"}
POWERSHELL_PREFIXES = ("powershell", "pwsh")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    files = sorted(glob.glob(os.path.join(sys.argv[1], "datasets/atomic/windows/*/host/*.zip")))
    total = task_terms = with_powershell = 0
    for path in files:
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                with archive.open(member) as f:
                    for line in f:
                        if not re.search(rb'"EventID": ?1,', line):
                            continue
                        event = json.loads(line)
                        if "Sysmon" not in str(event.get("SourceName", "")) + str(event.get("Channel", "")):
                            continue
                        total += 1
                        segments = SEGMENT.findall(" ".join(v for v in event.values() if isinstance(v, str)).lower())
                        old = any(s.startswith(TASK_PREFIXES) or s in TASK_WORDS for s in segments)
                        task_terms += old
                        with_powershell += old or any(s.startswith(POWERSHELL_PREFIXES) for s in segments)
    if not total:
        sys.exit("macro_volume.py: no Sysmon process creations found")
    print(f"{len(files)} capture files, {total} Sysmon process creations")
    print(f"scheduled-task terms only:         {task_terms:>6} ({task_terms / total:.1%})")
    print(f"plus powershell*/pwsh* (shipped):  {with_powershell:>6} ({with_powershell / total:.1%}), "
          f"{with_powershell / max(task_terms, 1):.1f}x the events")


if __name__ == "__main__":
    main()
