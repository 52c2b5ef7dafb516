#!/usr/bin/env python3
"""Checks that generated completion files offer every command and option.

  check-completions.py KILN BASH_FILE ZSH_FILE FISH_FILE

One "ok"/"FAIL" line per shell, then "N passed, N failed". The files are
generated from the binary at build time; this catches a generator that
drops something, or files left from an older build.
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
import kiln_cli  # noqa: E402


def bash_problems(cli, text):
    out = []
    m = re.search(r"^_kiln_commands='([^']*)'", text, re.M)
    offered = set(m.group(1).split()) if m else set()
    out += [f"command {c.name}" for c in cli.commands if c.name not in offered]
    flags = dict(re.findall(r"^\t(\S+)\) echo '([^']*)' ;;", text[text.find("_kiln_flags()"):text.find("_kiln_value_flags()")], re.M))
    want = {"''": cli.global_flags}
    want.update({c.name: c.flags for c in cli.commands if c.name != "help"})
    for key, fl in want.items():
        have = set(flags.get(key, "").split())
        out += [f"{key}: {s}" for f in fl for s in f.spellings() if s.startswith("--") and s not in have]
    return out


def zsh_problems(cli, text):
    out = [f"command {c.name}" for c in cli.commands if f"'{c.name}:" not in text]
    for c in cli.commands:
        if c.name == "help":
            continue
        m = re.search(r"^_kiln_cmd_" + re.escape(c.name) + r"\(\) \{\n(.*?)^\}", text, re.M | re.S)
        body = m.group(1) if m else ""
        for f in c.flags:
            for s in f.spellings():
                if not re.search(r"\)?" + re.escape(s) + r"=?\[", body):
                    out.append(f"{c.name}: {s}")
    for f in cli.global_flags:
        for s in f.spellings():
            if not re.search(re.escape(s) + r"=?\[", text):
                out.append(f"global {s}")
    return out


def fish_problems(cli, text):
    out = [f"command {c.name}" for c in cli.commands if not re.search(r"-a " + re.escape(c.name) + r" -d", text)]
    lines = text.splitlines()
    for owner, flags in [("\"\"", cli.global_flags)] + [(c.name, c.flags) for c in cli.commands]:
        mine = [l for l in lines if f"'__kiln_using {owner}'" in l or f"'__kiln_at {owner} 0'" in l]
        for f in flags:
            for n in f.longs:
                if not any(f" -l {n} " in l for l in mine):
                    out.append(f"{owner}: --{n}")
            for n in f.shorts:
                if not any(f" -s {n} " in l for l in mine):
                    out.append(f"{owner}: -{n}")
    return out


def main():
    kiln, bash, zsh, fish = sys.argv[1:5]
    cli = kiln_cli.load(kiln)
    passed = failed = 0
    for shell, path, fn in (("bash", bash, bash_problems), ("zsh", zsh, zsh_problems), ("fish", fish, fish_problems)):
        try:
            problems = fn(cli, open(path, encoding="utf-8").read())
        except OSError as e:
            problems = [str(e)]
        if problems:
            failed += 1
            print(f"FAIL {shell} completion offers every command and option: missing " + ", ".join(problems))
        else:
            passed += 1
            print(f"ok {shell} completion offers every command and option")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
