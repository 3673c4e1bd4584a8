"""Checks of the packaged Splunk app: every .conf parses with AppInspect's own parser, saved
searches and the dashboard reference only the command, macros and lookups that exist, the alert
uses only fields of the command's output contract, versions agree, and AppInspect's cloud checks
pass. Run after ./package.sh (test.sh does both)."""

import csv
import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from splunk_appinspect.configuration_file import ConfigurationFile
from splunk_appinspect.configuration_parser import configuration_lexer, parse

ROOT = Path(__file__).resolve().parents[2]
APP = ROOT / "dist" / "systemtask"


def version():
    return re.search(r'^version = "([^"]+)"', (ROOT / "Cargo.toml").read_text(), re.M).group(1)


def tarball():
    return ROOT / "dist" / f"systemtask-{version()}.tgz"


def conf(name):
    path = APP / "default" / f"{name}.conf"
    with open(path, "rb") as f:
        parsed = parse(f, ConfigurationFile(name=name), configuration_lexer)
    assert not parsed.errors, f"{name}.conf: {parsed.errors}"
    return parsed


def output_contract():
    """The command's output columns, read from the engine's source: one list, no copy."""
    src = (ROOT / "src" / "output.rs").read_text()
    block = re.search(r"pub const COLUMNS: \[&str; \d+\] = \[(.*?)\];", src, re.S).group(1)
    return set(re.findall(r'"([a-z_]+)"', block))


def field_keys():
    src = (ROOT / "src" / "event" / "mod.rs").read_text()
    body = re.search(r"pub fn key\(self\).*?\{(.*?)\n    \}", src, re.S).group(1)
    return set(re.findall(r'=> "([a-z_]+)"', body)) - {"raw"}


STANDARD_FIELDS = {"_time", "host"}


def macros_used(spl):
    return set(re.findall(r"`([A-Za-z0-9_]+)`", spl))


def test_package_layout():
    assert tarball().exists(), "run ./package.sh first"
    with tarfile.open(tarball()) as t:
        names = t.getnames()
        members = t.getmembers()
    assert all(n == "systemtask" or n.startswith("systemtask/") for n in names)
    for m in members:
        base = m.name.rsplit("/", 1)[-1]
        assert not base.startswith("."), m.name
        assert " " not in m.name and "/local/" not in m.name and "__MACOSX" not in m.name, m.name
        assert m.uid == 0 and m.gid == 0, m.name
        if m.isdir():
            assert m.mode & 0o777 == 0o755, m.name
        elif "/bin/" in m.name:
            assert m.mode & 0o777 == 0o755, m.name
        else:
            assert m.mode & 0o777 == 0o644, m.name
    for program in ("systemtask", "systemtask_evtx"):
        for exe in (f"bin/{program}.sh", f"bin/{program}-x86_64", f"bin/{program}-aarch64",
                    f"windows_x86_64/bin/{program}.exe"):
            assert f"systemtask/{exe}" in names, exe


def test_every_conf_parses():
    confs = sorted((APP / "default").glob("*.conf"))
    assert len(confs) >= 6
    for path in confs:
        conf(path.stem)
    with open(APP / "metadata" / "default.meta", "rb") as f:
        meta = parse(f, ConfigurationFile(name="default.meta"), configuration_lexer)
    assert not meta.errors
    assert "admin" in meta.get("", "access") and "sc_admin" in meta.get("", "access")
    for obj in ("commands/systemtask", "macros", "lookups/systemtask_allowlist.csv", "transforms/systemtask_allowlist"):
        assert meta.get(obj, "export") == "system", obj


def test_versions_agree():
    app = conf("app")
    manifest = json.loads((APP / "app.manifest").read_text())
    assert app.get("id", "version") == app.get("launcher", "version") == manifest["info"]["id"]["version"] == version()
    assert int(app.get("install", "build")) > 0
    assert app.get("package", "id") == app.get("id", "name") == "systemtask"


# How splunkd finds a chunked command (no `filename`) or a modular input's program: the stanza
# or scheme name with an extension, in <app>/<platform>/bin first, then <app>/bin
# (commands.conf.spec, [<STANZA_NAME>] and `filename`). The widest extension list the spec names
# is used on every platform, so the check holds whatever order splunkd tries them in.
EXTENSIONS = [".py", ".pl", ".exe", ".bat", ".cmd", ".sh", ".js", ""]
PLATFORM_DIRS = {"linux_x86_64": "linux_x86_64", "linux_aarch64": None, "windows_x86_64": "windows_x86_64"}


def resolve(name, platform):
    """The one program splunkd can start for `name` on `platform`; fails if there are several."""
    folders = [APP / d / "bin" for d in (PLATFORM_DIRS[platform],) if d] + [APP / "bin"]
    for folder in folders:
        found = [folder / (name + ext) for ext in EXTENSIONS if (folder / (name + ext)).is_file()]
        if found:
            assert len(found) == 1, f"{platform}: {name} is ambiguous in {folder}: {found}"
            return found[0]
    raise AssertionError(f"{platform}: no program for {name}")


def pe_machine(path):
    data = path.read_bytes()
    assert data[:2] == b"MZ", path
    pe = int.from_bytes(data[0x3C:0x40], "little")
    assert data[pe:pe + 4] == b"PE\0\0", path
    return int.from_bytes(data[pe + 4:pe + 6], "little")


def elf_machine(path):
    data = path.read_bytes()[:20]
    assert data[:4] == b"\x7fELF", path
    return int.from_bytes(data[18:20], "little")


def test_each_platform_finds_exactly_its_own_build():
    commands = conf("commands")
    assert commands.get("systemtask", "chunked") == "true"
    assert not commands.has_option("systemtask", "filename"), "a filename would pin one platform's program"
    for program in ("systemtask", "systemtask_evtx"):
        windows = resolve(program, "windows_x86_64")
        assert windows == APP / "windows_x86_64" / "bin" / f"{program}.exe"
        assert pe_machine(windows) == 0x8664, "x86-64 Windows program"
        for platform, arch, machine in (("linux_x86_64", "x86_64", 62), ("linux_aarch64", "aarch64", 183)):
            script = resolve(program, platform)
            assert script == APP / "bin" / f"{program}.sh", platform
            assert script.read_bytes().startswith(b"#!/bin/sh\n")
            assert elf_machine(APP / "bin" / f"{program}-{arch}") == machine, platform


def test_searchbnf_documents_every_option():
    bnf = conf("searchbnf")
    syntax = bnf.get("systemtask-command", "syntax") + bnf.get("field-override", "syntax")
    for option in ("mode=", "tag", "alerts", "allowlist="):
        assert option in syntax
    for key in field_keys():
        assert f"{key}_field" in syntax, key


def resolve_macros(spl, macros, seen=()):
    """Expands macros recursively; fails on an unknown or cyclic macro."""
    for name in macros_used(spl):
        assert macros.has_section(name), f"unknown macro `{name}`"
        assert name not in seen, f"macro cycle at {name}"
        spl = spl.replace(f"`{name}`", "(" + resolve_macros(macros.get(name, "definition"), macros, seen + (name,)) + ")")
    return spl


def table_fields(spl):
    fields = set()
    for m in re.finditer(r"\|\s*table\s+([^|]+)", spl):
        fields |= set(m.group(1).split())
    return fields


def test_saved_searches_reference_what_exists():
    saved = conf("savedsearches")
    macros = conf("macros")
    transforms = conf("transforms")
    commands = conf("commands")
    names = list(saved.section_names())
    assert len(names) >= 4
    for name in names:
        spl = saved.get(name, "search")
        expanded = resolve_macros(spl, macros)
        for cmd in re.findall(r"\|\s*systemtask\b", expanded):
            assert commands.has_section("systemtask")
        for lookup in re.findall(r"\|\s*(?:lookup|inputlookup)\s+(\w+)", expanded):
            assert transforms.has_section(lookup), f"{name}: lookup {lookup}"
        if saved.has_option(name, "enableSched") and saved.get(name, "enableSched") == "1":
            assert saved.has_option(name, "dispatch.earliest_time") and saved.has_option(name, "dispatch.latest_time"), name
            assert "rt" not in saved.get(name, "dispatch.earliest_time"), f"{name}: no real-time windows"


def test_alert_uses_only_the_output_contract():
    saved = conf("savedsearches")
    contract = output_contract() | STANDARD_FIELDS
    alert = "SystemTask - Scheduled task created or changed to run as SYSTEM"
    for name in (alert, "SystemTask - Scheduled Task Runs As SYSTEM - Rule"):
        spl = saved.get(name, "search")
        assert "| systemtask mode=alerts" in spl
        fields = table_fields(spl)
        assert fields, name
        assert fields <= contract, f"{name}: {fields - contract}"
        suppress = set(saved.get(name, "alert.suppress.fields").split(","))
        assert suppress <= contract, suppress
        for key in ("action.email.subject", "action.notable.param.rule_title", "action.notable.param.rule_description", "action.risk.param._risk_message"):
            if saved.has_option(name, key):
                tokens = set(re.findall(r"\$(?:result\.)?([A-Za-z_]+)\$", saved.get(name, key)))
                assert tokens <= contract, f"{name} {key}: {tokens - contract}"
    a = {k: saved.get(alert, k) for k in ("alert.severity", "alert.track", "counttype", "relation", "quantity", "alert.suppress", "action.email", "action.webhook")}
    assert a == {"alert.severity": "3", "alert.track": "1", "counttype": "number of events", "relation": "greater than", "quantity": "0", "alert.suppress": "1", "action.email": "0", "action.webhook": "0"}
    # A lagged window: it ends before now so late events are still seen.
    assert saved.get(alert, "dispatch.latest_time") != "now"
    es = "SystemTask - Scheduled Task Runs As SYSTEM - Rule"
    assert saved.get(es, "disabled") == "1" and saved.get(es, "action.notable") == "1" and saved.get(es, "action.risk") == "1"
    json.loads(saved.get(es, "action.risk.param._risk"))


def test_dashboard_is_studio_and_references_what_exists():
    macros = conf("macros")
    xml = (APP / "default" / "data" / "ui" / "views" / "systemtask_triage.xml").read_text()
    assert '<dashboard version="2"' in xml
    definition = json.loads(re.search(r"<definition><!\[CDATA\[(.*?)\]\]></definition>", xml, re.S).group(1))
    contract = output_contract() | STANDARD_FIELDS | {"time", "count", "hosts", "task_names", "commands", "comment", "expires", "status", "last_seen", "minutes_silent", "sourcetype", "source",
                                                      "list", "id", "expires", "command", "arguments", "creator"}
    for ds in definition["dataSources"].values():
        q = ds["options"]["query"]
        resolve_macros(q, macros)
        assert table_fields(q) <= contract, table_fields(q) - contract
    used = {v["dataSources"]["primary"] for v in definition["visualizations"].values() if "dataSources" in v}
    assert used <= set(definition["dataSources"]), used - set(definition["dataSources"])
    placed = {i["item"] for i in definition["layout"]["structure"]}
    assert placed == set(definition["visualizations"])


def test_allowlist_lookup_is_shipped_with_the_required_columns():
    header = (APP / "lookups" / "systemtask_allowlist.csv").read_text().splitlines()[0].split(",")
    assert header == ["id", "task_name", "command", "arguments", "creator", "host", "expires", "comment"]


def test_appinspect_cloud_checks_pass():
    out = ROOT / "dist" / "appinspect.json"
    subprocess.run(
        ["splunk-appinspect", "inspect", str(tarball()), "--mode", "precert", "--included-tags", "cloud",
         "--data-format", "json", "--output-file", str(out)],
        check=True, capture_output=True,
    )
    report = json.loads(out.read_text())
    summary = report["summary"]
    failing = [c["name"] for r in report["reports"] for g in r["groups"] for c in g["checks"] if c["result"] in ("failure", "error")]
    assert summary["failure"] == 0 and summary["error"] == 0, failing
    warnings = {c["name"] for r in report["reports"] for g in r["groups"] for c in g["checks"] if c["result"] == "warning"}
    readme = (ROOT / "README.md").read_text()
    for w in warnings:
        assert w in readme, f"AppInspect warning {w} is not explained in the README"


def saved_searches():
    saved = conf("savedsearches")
    return {name: saved.get(name, "search") for name in saved.sects if saved.has_option(name, "search")}


def balanced(spl):
    """Quotes (outside escapes) and brackets of a search balance."""
    depth, quote, escaped = [], False, False
    pairs = {")": "(", "]": "["}
    for c in spl:
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif c == '"':
            quote = not quote
        elif not quote and c in "([":
            depth.append(c)
        elif not quote and c in ")]":
            if not depth or depth.pop() != pairs[c]:
                return False
    return not quote and not depth


def test_every_search_balances_after_macro_expansion():
    macros = conf("macros")
    searches = dict(saved_searches())
    xml = (APP / "default" / "data" / "ui" / "views" / "systemtask_triage.xml").read_text()
    definition = json.loads(re.search(r"<definition><!\[CDATA\[(.*?)\]\]></definition>", xml, re.S).group(1))
    for name, ds in definition["dataSources"].items():
        searches[f"dashboard {name}"] = ds["options"]["query"]
    for name, spl in searches.items():
        expanded = resolve_macros(spl, macros)
        assert balanced(expanded), f"{name}: unbalanced quotes or brackets: {expanded}"


def test_watchdog_watches_every_detection_search():
    """The watchdog names every saved search that runs the detection, counts only successful
    runs, and covers whichever are enabled (it reads their state with | rest)."""
    searches = saved_searches()
    watchdog = searches["SystemTask - Detection search not running"]
    assert "| rest /servicesNS/" in watchdog and "disabled=0" in watchdog and "status=success" in watchdog
    detections = [n for n, spl in searches.items() if "| systemtask mode=alerts" in spl]
    assert len(detections) >= 3
    for name in detections:
        assert f'title="{name}"' in watchdog, name


def test_pipeline_health_is_per_host_and_channel():
    saved = conf("savedsearches")
    name = "SystemTask - Windows event pipeline health"
    assert "by host source" in saved.get(name, "search")
    assert saved.get(name, "alert.suppress.fields") == "host,source"
    assert saved.get(name, "alert.digest_mode") == "0", "suppressed per result, not as a whole"
    channels = conf("macros").get("systemtask_channels", "definition")
    assert "Security" in channels and "Sysmon/Operational" in channels


def test_process_macro_keeps_powershell():
    definition = conf("macros").get("systemtask_process_events", "definition")
    assert "powershell*" in definition and "pwsh*" in definition


def test_enterprise_security_conventions():
    saved = conf("savedsearches")
    rule = "SystemTask - Scheduled Task Runs As SYSTEM - Rule"
    spl = saved.get(rule, "search")
    assert spl.rstrip().endswith("`systemtask_scheduled_task_runs_as_system_filter`")
    assert conf("macros").has_section("systemtask_scheduled_task_runs_as_system_filter")
    drilldowns = json.loads(saved.get(rule, "action.notable.param.drilldown_searches"))
    assert len(drilldowns) == 2
    assert all(d["earliest_offset"] == "$info_min_time$" and d["latest_offset"] == "$info_max_time$" for d in drilldowns)
    assert "Risk.All_Risk" in drilldowns[1]["search"]
    risk = json.loads(saved.get(rule, "action.risk.param._risk"))
    objects = {(r.get("risk_object_field"), r.get("risk_object_type")) for r in risk}
    assert ("host", "system") in objects and ("task_creator", "user") in objects
    assert any(r.get("threat_object_field") == "task_command" for r in risk)
    annotations = json.loads(saved.get(rule, "action.correlationsearch.annotations"))
    assert annotations["mitre_attack"] == ["T1053.005"]
    meta = (APP / "metadata" / "default.meta").read_text()
    assert re.search(r"\[savedsearches\]\s*\nexport = system", meta), "ES Content Management lists exported searches"


def test_an_upgrade_keeps_the_site_allowlist():
    """Install the tarball, add a site allowlist entry, install the next version over it the
    way `splunk install app -update 1` does (the package extracted over the app directory): the
    site entry is still there and still suppresses, and the tarball never carries a site list."""
    import os
    import tempfile

    with tarfile.open(tarball()) as t:
        names = t.getnames()
    assert "systemtask/lookups/systemtask_allowlist.csv" in names
    assert not any("allowlist_site" in n for n in names), "the site list is never shipped"
    with tempfile.TemporaryDirectory() as apps:
        with tarfile.open(tarball()) as t:
            t.extractall(apps, filter="tar")
        site = Path(apps) / "systemtask" / "lookups" / "systemtask_allowlist_site.csv"
        site.write_text("id,task_name,command,arguments,creator,host,expires,comment\n"
                        "vendor-job,\\Vendor\\Job,C:\\Vendor\\job.exe,,,,,approved by IT (CHG-42)\n")
        with tarfile.open(tarball()) as t:
            t.extractall(apps, filter="tar")
        assert site.exists(), "the upgrade kept the site's list"
        exe = Path(apps) / "systemtask" / "bin" / f"systemtask-{os.uname().machine}"
        body = b"EventCode,CommandLine,User\n1,schtasks /create /tn \\Vendor\\Job /tr C:\\Vendor\\job.exe /ru SYSTEM,CORP\\bob\n"
        getinfo = json.dumps({"action": "getinfo", "searchinfo": {"args": []}}).encode()
        execute = json.dumps({"action": "execute", "finished": True}).encode()
        stream = (b"chunked 1.0,%d,0\n" % len(getinfo) + getinfo
                  + b"chunked 1.0,%d,%d\n" % (len(execute), len(body)) + execute + body)
        out = subprocess.run([str(exe)], input=stream, capture_output=True, check=True).stdout
        assert b"suppressed" in out and b"site:vendor-job" in out, out


def test_searchbnf_uses_only_keys_of_the_current_spec():
    """searchbnf.conf.spec (Splunk 9.2): syntax, simplesyntax, alias, description, shortdesc,
    example<n>, comment<n>, usage, tags, related; maintainer and appears-in are deprecated."""
    bnf = conf("searchbnf")
    allowed = re.compile(r"^(syntax|simplesyntax|alias|description|shortdesc|example\d+|comment\d+|usage|tags|related)$")
    for stanza in bnf.sects:
        for key in bnf.get_section(stanza).options:
            assert allowed.match(key), f"[{stanza}] {key}"


GLIBC_LIBRARIES = {"libc.so.6", "libm.so.6", "libpthread.so.0", "libdl.so.2", "librt.so.1",
                   "ld-linux-x86-64.so.2", "ld-linux-aarch64.so.1"}


def test_linux_builds_need_nothing_newer_than_glibc_2_17():
    """The Linux builds load only glibc's own libraries and no symbol version past 2.17, so they
    run on RHEL/CentOS 7 and every later Linux (readelf reads either architecture)."""
    builds = sorted(p for p in (APP / "bin").iterdir() if p.name.endswith(("-x86_64", "-aarch64")))
    assert len(builds) == 4, builds
    for exe in builds:
        out = subprocess.run(["readelf", "-W", "-d", "--dyn-syms", str(exe)], capture_output=True, check=True, text=True).stdout
        needed = set(re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", out))
        assert needed and needed <= GLIBC_LIBRARIES, (exe.name, needed)
        versions = {tuple(int(x) for x in v.split(".")) for v in re.findall(r"@GLIBC_(\d+(?:\.\d+)+)", out)}
        assert versions and max(versions) <= (2, 17), (exe.name, max(versions))


def test_shipped_allowlist_is_the_generators_output_and_cites_its_sources():
    """The shipped list is tools/allowlist/build.py's output from its reviewed inputs: rebuilt, it
    is the same file. Entries taken from the lab captures pin the exact Windows program seen
    (no wildcard), a machine-account creator and the capture file; every other entry names its
    source in its comment."""
    subprocess.run([sys.executable, str(ROOT / "tools" / "allowlist" / "build.py"), "build", "--check"], check=True)
    with open(ROOT / "splunk_app" / "lookups" / "systemtask_allowlist.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    from_captures = [r for r in rows if "Source: OTRF Security-Datasets" in r["comment"]]
    assert len(from_captures) >= 10
    for r in from_captures:
        assert r["task_name"].startswith("\\Microsoft\\Windows\\") and "*" not in r["task_name"], r["id"]
        assert "*" not in r["command"] and "?" not in r["command"] and "*" not in r["arguments"], r["id"]
        assert r["creator"] == "*$", r["id"]
        assert re.search(r"datasets/atomic/windows/\w+/host/\S+\.zip", r["comment"]), r["id"]
    for r in rows:
        assert len(r["comment"].strip()) >= 20, f"{r['id']}: no source"
    with open(ROOT / "tools" / "allowlist" / "evidence.csv", newline="") as f:
        evidence = list(csv.DictReader(f))
    # The captures' own attacks (tasks made by people) are in the evidence and never shipped.
    people = {r["task_name"] for r in evidence if not all(c.endswith("$") for c in r["creators"].split(";"))}
    assert people and not people & {r["task_name"] for r in rows}
