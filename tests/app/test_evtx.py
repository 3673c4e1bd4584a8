"""The packaged EVTX modular input on the real samples: every record emitted exactly once
(counted with python-evtx, an independent parser), and the emitted events, given to the packaged
command as bare _raw, get the verdicts of ../shared/samples/labels.csv."""

import csv
import json
import os
import html
import io
import re
import subprocess
import tempfile
from pathlib import Path

import Evtx.Evtx as pyevtx

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "dist" / "systemtask"
SAMPLES = ROOT.parent / "shared" / "samples"
csv.field_size_limit(1 << 30)


def evtx_files():
    return sorted((SAMPLES / "evtx").rglob("*.evtx"))


def run_input(path, checkpoint_dir):
    xml = (f"<input><server_host>sh1</server_host><session_key>K</session_key><checkpoint_dir>{checkpoint_dir}</checkpoint_dir>"
           f"<configuration><stanza name=\"systemtask_evtx://t\"><param name=\"path\">{html.escape(str(path))}</param></stanza></configuration></input>")
    out = subprocess.run([str(APP / "bin" / "systemtask_evtx.sh")], input=xml.encode(), capture_output=True, check=True)
    return [html.unescape(d) for d in re.findall(r"<data>(.*?)</data>", out.stdout.decode(), re.S)]


def python_evtx_count(path):
    with pyevtx.Evtx(str(path)) as log:
        return sum(1 for _ in log.records())


def test_every_record_exactly_once():
    files = evtx_files()
    assert len(files) >= 20
    for f in files:
        with tempfile.TemporaryDirectory() as ck:
            first = run_input(f, ck)
            again = run_input(f, ck)
        ids = [re.search(r"<EventRecordID>(\d+)</EventRecordID>", d).group(1) for d in first]
        assert len(first) == python_evtx_count(f), f.name
        assert len(set(ids)) == len(ids), f"{f.name}: a record was sent twice"
        assert again == [], f"{f.name}: the second run sent records again"


def test_emitted_events_as_bare_raw_get_the_labelled_verdicts():
    labels = {r["case_id"]: r for r in csv.DictReader(open(SAMPLES / "labels.csv", newline=""))}
    events = {r["case_id"]: r for r in csv.DictReader(open(SAMPLES / "events.csv", newline=""))}
    emitted = {}
    for f in evtx_files():
        with tempfile.TemporaryDirectory() as ck:
            for d in run_input(f, ck):
                rid = re.search(r"<EventRecordID>(\d+)</EventRecordID>", d).group(1)
                emitted[(f.name, rid)] = d
    rows = []
    for case, label in labels.items():
        if not label["source_file"].endswith(".evtx") or label["expected"] == "unknown":
            continue
        rid = re.search(r"<EventRecordID>(\d+)</EventRecordID>", events[case]["_raw"]).group(1)
        # The samples folder holds the files under flattened names: folders and spaces became "_".
        base = Path(label["source_file"]).name.replace(" ", "_")
        found = [d for (name, r), d in emitted.items() if r == rid and name.replace(" ", "_").endswith(base)]
        assert found, f"{case}: record {rid} of {base} not emitted"
        rows.append((case, label["expected"], found[0]))
    assert len(rows) >= 30
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["_raw", "case_id"])
    for case, _, raw in rows:
        w.writerow([raw, case])
    with tempfile.NamedTemporaryFile("w", suffix=".csv", delete=False) as tmp:
        tmp.write(buf.getvalue())
    out = subprocess.run([str(APP / "bin" / "systemtask.sh"), "tag", tmp.name], capture_output=True, check=True)
    tagged = {r["case_id"]: r["systemtask_verdict"] for r in csv.DictReader(io.StringIO(out.stdout.decode()))}
    wrong = [(case, want, tagged[case]) for case, want, _ in rows if tagged[case] != want]
    assert not wrong, wrong
    assert sum(1 for _, want, _ in rows if want == "alert") >= 10


def test_dispatcher_without_a_build_speaks_each_programs_terms():
    """On an architecture with no build, the search command answers in the chunked protocol and
    the modular input writes nothing to its XML stream: the reason goes to stderr (splunkd.log)."""
    with tempfile.TemporaryDirectory() as d:
        for name in ("systemtask.sh", "systemtask_evtx.sh"):
            (Path(d) / name).write_bytes((APP / "bin" / name).read_bytes())
            (Path(d) / name).chmod(0o755)
        search = subprocess.run(["sh", str(Path(d) / "systemtask.sh")], capture_output=True)
        assert search.returncode == 1
        header, _, rest = search.stdout.partition(b"\n")
        assert header.startswith(b"chunked 1.0,") and b'"ERROR"' in rest and b"no build for architecture" in rest
        modinput = subprocess.run(["sh", str(Path(d) / "systemtask_evtx.sh")], input=b"<input/>", capture_output=True)
        assert modinput.returncode == 1
        assert modinput.stdout == b"", "nothing in the modular input's event stream"
        assert modinput.stderr.startswith(b"ERROR systemtask_evtx: no build for architecture")


def test_hunt_reports_the_event_record_id_python_evtx_reads():
    """Every hunt report names its record by the EventRecordID in the event itself, checked with
    python-evtx (an independent parser): the record exists, with that event ID and computer."""
    exe = next(p for p in (APP / "bin").glob("systemtask-*") if p.name.endswith(os.uname().machine))
    out = subprocess.run([str(exe), "hunt", "--allowlist", "none", "--format", "json", str(SAMPLES / "evtx")],
                         capture_output=True, check=True)
    hits = [json.loads(line) for line in out.stdout.decode().splitlines()]
    assert len(hits) >= 10
    by_file = {}
    for hit in hits:
        records = by_file.get(hit["file"])
        if records is None:
            records = {}
            with pyevtx.Evtx(hit["file"]) as log:
                for r in log.records():
                    xml = r.xml()
                    rid = re.search(r"<EventRecordID>(\d+)</EventRecordID>", xml)
                    if rid:
                        eid = re.search(r"<EventID[^>]*>(\d+)</EventID>", xml).group(1)
                        comp = re.search(r"<Computer>([^<]*)</Computer>", xml).group(1)
                        records[rid.group(1)] = (eid, comp)
            by_file[hit["file"]] = records
        assert hit["record"] in records, (hit["file"], hit["record"])
        assert records[hit["record"]][1] == hit["computer"], hit
