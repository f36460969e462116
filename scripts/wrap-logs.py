#!/usr/bin/env python3
"""Wrap real PostgreSQL log captures the way other carriers deliver them.

Reads the captures of scripts/capture-logs.sh in DIR and writes, following each carrier's
documented line format:

  syslog-bsd.log       rsyslog's traditional format: `Dec  3 01:52:07 host postgres[pid]: [n-m] ...`
  syslog-iso.log       rsyslog's RFC 3339 template: `2026-12-03T01:52:07.123456+00:00 host postgres[pid]: ...`
  syslog-rfc5424.log   RFC 5424: `<134>1 2026-12-03T01:52:07.123Z host postgres pid - - [n-m] ...`
                       (PostgreSQL's syslog_sequence_numbers `[n-m]`, one syslog line per message
                       line, control characters escaped as `#ooo` as rsyslog writes them)
  heroku.log           Heroku logplex: `2026-...+00:00 app[postgres.pid]: [DATABASE] [n-m] sql_error_code = ...`
  cloudsql.json        Cloud Logging LogEntry JSON lines with the whole entry in `textPayload`
  azure.json           Azure diagnostic JSON lines (category PostgreSQLLogs, `properties.message`)
  cloudnativepg.json   CloudNativePG instance logs: the record (csvlog column names) under
                       `record`, `logger: postgres`, among the instance manager's own lines
  one-space.log        the Debian capture with one space after `LOG:` and before `statement:`
  spaces.log           the Debian capture with continuation lines indented by spaces
  debian.log.bz2, debian.log.xz   the Debian capture compressed

usage: wrap-logs.py DIR
"""
import bz2
import datetime
import json
import lzma
import os
import re
import sys

HEAD = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}) UTC \[(\d+)\] (.*)$", re.S)
LEVEL = re.compile(r"\b(LOG|ERROR|STATEMENT|DETAIL|HINT|CONTEXT|FATAL|WARNING|NOTICE|INFO):  ")


def entries(path):
    """The entries of a stderr capture: lists of lines (continuations start with a TAB)."""
    out = []
    with open(path, encoding="utf-8", newline="\n") as f:
        for line in f.read().split("\n"):
            if not line:
                continue
            if line.startswith("\t") and out:
                out[-1].append(line)
            else:
                out.append([line])
    return out


def head(entry):
    m = HEAD.match(entry[0])
    if not m:
        raise SystemExit(f"not a '%m [%p] ' line: {entry[0]!r}")
    ts = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").replace(
        tzinfo=datetime.timezone.utc)
    return ts, m.group(2), [m.group(3)] + entry[1:]


def escape(s):
    return "".join(f"#{ord(c):03o}" if ord(c) < 32 or ord(c) == 127 else c for c in s)


def syslog(src, dst, form):
    seq = {}
    with open(dst, "w", encoding="utf-8", newline="\n") as f:
        for entry in entries(src):
            ts, pid, lines = head(entry)
            n = seq[pid] = seq.get(pid, 0) + 1
            for i, text in enumerate(lines, 1):
                body = f"[{n}-{i}] {escape(text)}"
                if form == "bsd":
                    stamp = f"{ts:%b} {ts.day:>2} {ts:%H:%M:%S}"
                    f.write(f"{stamp} db1 postgres[{pid}]: {body}\n")
                elif form == "iso":
                    f.write(f"{ts.isoformat(timespec='microseconds')} db1 postgres[{pid}]: {body}\n")
                elif form == "rfc5424":
                    stamp = ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ts.microsecond // 1000:03d}Z"
                    f.write(f"<134>1 {stamp} db1 postgres {pid} - - {body}\n")
                else:  # heroku
                    f.write(f"{ts.isoformat(timespec='microseconds')} app[postgres.{pid}]: "
                            f"[DATABASE] {body}\n")


def level_of(line):
    m = LEVEL.search(line)
    return m.group(1) if m else "LOG"


def cloudsql(src, dst):
    with open(dst, "w", encoding="utf-8", newline="\n") as f:
        for i, entry in enumerate(entries(src)):
            ts = datetime.datetime.strptime(entry[0][:23], "%Y-%m-%d %H:%M:%S.%f")
            lvl = level_of(entry[0])
            rec = {
                "insertId": f"s={i:08x}",
                "logName": "projects/demo/logs/cloudsql.googleapis.com%2Fpostgres.log",
                "receiveTimestamp": ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
                "resource": {"labels": {"database_id": "demo:db1", "project_id": "demo",
                                        "region": "europe-west1"},
                             "type": "cloudsql_database"},
                "severity": {"LOG": "INFO", "ERROR": "ERROR", "FATAL": "CRITICAL"}.get(lvl, "INFO"),
                "textPayload": "\n".join(entry),
                "timestamp": ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            }
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")


def azure(src, dst):
    with open(dst, "w", encoding="utf-8", newline="\n") as f:
        for entry in entries(src):
            ts = datetime.datetime.strptime(entry[0][:19], "%Y-%m-%d %H:%M:%S")
            session = entry[0][24:].split("-", 1)[0]
            rec = {
                "time": ts.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                "resourceId": "/SUBSCRIPTIONS/0000/RESOURCEGROUPS/DEMO/PROVIDERS/"
                              "MICROSOFT.DBFORPOSTGRESQL/FLEXIBLESERVERS/DB1",
                "category": "PostgreSQLLogs",
                "operationName": "LogEvent",
                "properties": {
                    "timestamp": ts.strftime("%Y-%m-%d %H:%M:%S.000 UTC"),
                    "processId": int(session.split(".")[1], 16) if "." in session else 0,
                    "errorLevel": level_of(entry[0]),
                    "sqlerrcode": "00000",
                    "message": "\n".join(entry),
                },
            }
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")


CSV_NAMES = {
    "timestamp": "log_time", "user": "user_name", "dbname": "database_name",
    "pid": "process_id", "remote_host": "connection_from", "line_num": "session_line_num",
    "ps": "command_tag", "session_start": "session_start_time",
    "vxid": "virtual_transaction_id", "txid": "transaction_id", "state_code": "sql_state_code",
    "statement": "query", "func_name": "location",
}


def cloudnativepg(src, dst):
    with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8", newline="\n") as o:
        first = True
        for line in f:
            if not line.strip():
                continue
            rec = json.loads(line)
            ts = datetime.datetime.strptime(rec["timestamp"][:23], "%Y-%m-%d %H:%M:%S.%f")
            epoch = ts.replace(tzinfo=datetime.timezone.utc).timestamp()
            if first:
                o.write(json.dumps({"level": "info", "ts": epoch, "logger": "setup",
                                    "msg": "Starting CloudNativePG Instance Manager",
                                    "logging_pod": "cluster-example-1", "version": "1.24.1"}) + "\n")
                first = False
            record = {CSV_NAMES.get(k, k): (str(v) if isinstance(v, int) else v)
                      for k, v in rec.items()}
            o.write(json.dumps({"level": "info", "ts": epoch, "logger": "postgres",
                                "msg": "record", "logging_pod": "cluster-example-1",
                                "record": record}, ensure_ascii=False) + "\n")


def rewrite(src, dst, fn):
    with open(src, encoding="utf-8", newline="\n") as f, \
            open(dst, "w", encoding="utf-8", newline="\n") as o:
        for line in f.read().split("\n")[:-1]:
            o.write(fn(line) + "\n")


def main():
    d = sys.argv[1]
    p = lambda n: os.path.join(d, n)
    for form in ("bsd", "iso", "rfc5424"):
        syslog(p("syslog-src.log"), p(f"syslog-{form}.log"), form)
    syslog(p("heroku-src.log"), p("heroku.log"), "heroku")
    cloudsql(p("cloudsql.log"), p("cloudsql.json"))
    azure(p("azure.log"), p("azure.json"))
    cloudnativepg(p("jsonlog.json"), p("cloudnativepg.json"))
    rewrite(p("debian.log"), p("one-space.log"),
            lambda l: re.sub(r"(LOG|ERROR|STATEMENT|DETAIL|HINT|CONTEXT):  ", r"\1: ",
                             l.replace(" ms  statement:", " ms statement:")))
    rewrite(p("debian.log"), p("spaces.log"),
            lambda l: "    " + l[1:] if l.startswith("\t") else l)
    with open(p("debian.log"), "rb") as f:
        raw = f.read()
    with open(p("debian.log.bz2"), "wb") as f:
        f.write(bz2.compress(raw))
    with open(p("debian.log.xz"), "wb") as f:
        f.write(lzma.compress(raw, format=lzma.FORMAT_XZ))


if __name__ == "__main__":
    main()
