#!/usr/bin/env python3
"""Checks the manual (man/*.8) against the real command line of a kiln binary.

  check-man.py KILN MANDIR SRCDIR

One result line per check, "ok NAME" or "FAIL NAME: why", then
"N passed, N failed". For every command that `KILN --help` lists there must
be MANDIR/kiln-CMD.8 whose OPTIONS section documents exactly the command's
options (every long and short spelling, with an argument where the option
takes one) plus --help/-h, and whose SYNOPSIS names the command; kiln.8 must
document exactly the global options and list every command. The global
options are also read from the parser in SRCDIR/src/cli/argv.cpp, because
the global help text is written by hand.
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import kiln_cli  # noqa: E402

HELP = kiln_cli.Flag(["help"], ["h"], False, "")
EXTRA_PAGES = {"kiln-km.8"}  # not a command: the KM handler (kiln-km, kiln-km-label)


def roff_text(s):
    """A roff source line as plain text (fonts dropped, escapes resolved)."""
    s = re.sub(r"\\f(\[[^]]*\]|\(..|.)", "", s)
    s = s.replace("\\-", "-").replace("\\&", "").replace("\\e", "\\").replace("\\(dq", '"')
    s = re.sub(r"\\\(..", "", s)
    if s.startswith("."):  # .B word, .BR a b
        s = s.split(None, 1)[1] if " " in s else ""
        s = s.replace('"', "")
    return s


def sections(path):
    """{".SH title": [lines]} of a page."""
    out, cur = {}, None
    with open(path, encoding="utf-8") as f:
        for line in f.read().splitlines():
            if line.startswith(".SH"):
                cur = line[3:].strip().strip('"')
                out[cur] = []
            elif cur is not None:
                out[cur].append(line)
    return out


def tags(lines):
    """The tag lines (the line after each .TP) of a section, as plain text."""
    return [roff_text(lines[i + 1]) for i, l in enumerate(lines[:-1]) if l.strip() == ".TP"]


FLAG_RE = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")


def documented(tag_lines):
    """{spelling: takes_value} from option tag lines like '--bundle, -b dir'."""
    out = {}
    for t in tag_lines:
        names = FLAG_RE.findall(t)
        if not names:
            continue
        rest = FLAG_RE.sub("", t)
        value = bool(re.search(r"\w", rest))
        for n in names:
            out[n] = value
    return out


def compare(flags, doc, where):
    """Problems between real flags and documented ones."""
    problems, want = [], {}
    for f in flags:
        for s in f.spellings():
            want[s] = f.value
    for s, value in want.items():
        if s not in doc:
            problems.append(f"{s} is not documented in {where}")
        elif doc[s] != value:
            problems.append(f"{s} {'takes' if value else 'takes no'} argument but the page says otherwise")
    for s in doc:
        if s not in want:
            problems.append(f"{s} is documented in {where} but the command line has no such option")
    return problems


def global_flags_in_source(srcdir):
    """Names that argv.cpp's global_flag() accepts (n == "name"), and the
    handlers' global flags it asks the handler table for."""
    path = os.path.join(srcdir, "src", "cli", "argv.cpp")
    text = open(path, encoding="utf-8").read()
    m = re.search(r"FlagInfo global_flag\(std::string_view n\) \{(.*?)\n\}", text, re.S)
    if not m:
        return None
    names = set(re.findall(r'n == "([\w-]+)"', m.group(1)))
    # The payload handlers' own global flags (handlers::GlobalFlag tables).
    hdir = os.path.join(srcdir, "src", "handlers")
    for f in sorted(os.listdir(hdir)):
        if f.endswith(".cpp"):
            h = open(os.path.join(hdir, f), encoding="utf-8").read()
            for t in re.findall(r"const GlobalFlag \w+\[\] = \{(.*?)\n\};", h, re.S):
                names |= set(re.findall(r'^\s*\{"([\w-]+)", (?:true|false),', t, re.M))
    return names


class Results:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name, problems):
        if problems:
            self.failed += 1
            print(f"FAIL {name}: " + "; ".join(problems))
        else:
            self.passed += 1
            print(f"ok {name}")


def check_command_page(cmd, mandir):
    path = os.path.join(mandir, f"kiln-{cmd.name}.8")
    if not os.path.exists(path):
        return [f"no page {path}"]
    sec = sections(path)
    problems = []
    if "OPTIONS" not in sec:
        return ["no OPTIONS section"]
    problems += compare(cmd.flags + [HELP], documented(tags(sec["OPTIONS"])), "OPTIONS")
    synopsis = " ".join(roff_text(l) for l in sec.get("SYNOPSIS", []))
    if not re.search(r"\b" + re.escape(cmd.name) + r"\b", synopsis):
        problems.append("SYNOPSIS does not name the command")
    for s in ("NAME", "DESCRIPTION", "EXIT STATUS", "EXAMPLES", "SEE ALSO"):
        if s not in sec:
            problems.append(f"no {s} section")
    return problems


def check_main_page(cli, mandir, srcdir):
    path = os.path.join(mandir, "kiln.8")
    sec = sections(path)
    problems = compare(cli.global_flags, documented(tags(sec.get("GLOBAL OPTIONS", []))), "GLOBAL OPTIONS")
    listed = set()
    for t in tags(sec.get("COMMANDS", [])):
        listed.update(w.strip(",") for w in t.split() if not w.startswith("["))
    for c in cli.commands:
        if c.name not in listed:
            problems.append(f"command {c.name} is not in COMMANDS")
    names = {c.name for c in cli.commands} | {a for c in cli.commands for a in c.aliases}
    for w in listed - names:
        problems.append(f"COMMANDS lists {w}, which kiln does not have")
    see_also = " ".join(roff_text(l) for l in sec.get("SEE ALSO", []))
    for c in cli.commands:
        if c.name != "help" and f"kiln-{c.name}(8)" not in see_also.replace(" (8)", "(8)"):
            problems.append(f"SEE ALSO lacks kiln-{c.name}(8)")
    src = global_flags_in_source(srcdir)
    if src is None:
        problems.append("cannot find global_flag() in src/cli/argv.cpp (update tests/docs/check-man.py)")
    else:
        helped = {n for f in cli.global_flags for n in f.longs + f.shorts} - {"help", "h"}
        for n in sorted(src - helped):
            problems.append(f"global option -{n} is parsed but not in `kiln --help`")
        for n in sorted(helped - src):
            problems.append(f"`kiln --help` lists -{n} but argv.cpp does not parse it")
    return problems


def check_km_page(cli, mandir):
    sec = sections(os.path.join(mandir, "kiln-km.8"))
    doc = documented(tags(sec.get("OPTIONS", [])))
    real = {s: f.value for f in cli.global_flags for s in f.spellings()}
    problems = [f"{s} is not a global option" for s in doc if s not in real]
    problems += [f"{s}: argument mismatch" for s in doc if s in real and real[s] != doc[s]]
    for s in ("--km", "--km-label", "--km-config"):
        if s in real and s not in doc:
            problems.append(f"{s} is not documented")
    return problems


def main():
    kiln, mandir, srcdir = sys.argv[1:4]
    cli = kiln_cli.load(kiln)
    r = Results()
    r.check("kiln.8 global options and commands", check_main_page(cli, mandir, srcdir))
    pages = {"kiln.8"} | EXTRA_PAGES
    for c in cli.commands:
        if c.name == "help":
            continue
        pages.add(f"kiln-{c.name}.8")
        r.check(f"kiln-{c.name}.8 options of `kiln {c.name}`", check_command_page(c, mandir))
    r.check("kiln-km.8 handler options", check_km_page(cli, mandir))
    stale = sorted(set(p for p in os.listdir(mandir) if p.endswith(".8")) - pages)
    r.check("no page for a command kiln does not have", [f"{p} is stale" for p in stale])
    print(f"{r.passed} passed, {r.failed} failed")
    return 1 if r.failed else 0


if __name__ == "__main__":
    sys.exit(main())
