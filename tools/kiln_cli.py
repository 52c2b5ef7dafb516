"""The kiln command line as the built binary describes it.

`kiln --help` lists the commands and the global options, `kiln CMD --help`
the options of one command (printed from its CLI11 definitions), so what is
read here cannot drift from the code. Used by tools/completions.py (shell
completions, generated at build time) and tests/docs/check-man.py (every flag
is in the manual).
"""
import re
import subprocess
from dataclasses import dataclass, field


@dataclass
class Flag:
    longs: list          # names without dashes: ["bundle"]
    shorts: list         # ["b"]
    value: bool          # takes an argument
    help: str

    @property
    def name(self):
        return self.longs[0] if self.longs else self.shorts[0]

    def spellings(self):
        """Every way of writing it: ["--bundle", "-b"]."""
        return ["--" + n for n in self.longs] + ["-" + n for n in self.shorts]


@dataclass
class Command:
    name: str
    summary: str
    usage: str = ""               # after "kiln NAME", e.g. "[command options] <container-id>"
    flags: list = field(default_factory=list)
    aliases: list = field(default_factory=list)

    @property
    def positionals(self):
        """The usage's argument words, e.g. ["<container-id>", "[signal]"]."""
        rest = self.usage.replace("[command options]", "").split("||")[0]
        return rest.split()

    @property
    def stops_at_positional(self):
        """kill, exec, ps: everything after the container id is the payload's."""
        return self.name in ("exec", "kill", "ps")


@dataclass
class Cli:
    global_flags: list
    commands: list          # in `kiln --help` order, "help" last

    def command(self, name):
        return next((c for c in self.commands if c.name == name or name in c.aliases), None)


def _help(kiln, *args):
    r = subprocess.run([kiln, *args, "--help"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, check=False)
    if r.returncode != 0:
        raise RuntimeError(f"{kiln} {' '.join(args)} --help: exit {r.returncode}: {r.stderr.strip()}")
    return r.stdout


def _section(text, title):
    """The indented lines under "TITLE:" up to the next blank line."""
    lines, inside = [], False
    for line in text.splitlines():
        if line.strip() == title + ":":
            inside = True
            continue
        if inside:
            if not line.strip():
                break
            lines.append(line)
    return lines


def parse_flag(line):
    """'   --bundle value, -b value  path to ...' -> Flag."""
    names, _, desc = line.strip().partition("  ")
    longs, shorts, value = [], [], False
    for spelling in names.split(", "):
        word, _, arg = spelling.partition(" ")
        value = value or bool(arg)
        if word.startswith("--"):
            longs.append(word[2:])
        elif word.startswith("-"):
            shorts.append(word[1:])
        else:
            raise ValueError(f"cannot read option line: {line!r}")
    return Flag(longs, shorts, value, desc.strip())


def parse_commands(text):
    cmds = []
    for line in _section(text, "COMMANDS"):
        names, _, summary = line.strip().partition("  ")
        names = names.split(", ")
        cmds.append(Command(names[0], summary.strip(), aliases=names[1:]))
    return cmds


def load(kiln):
    top = _help(kiln)
    cli = Cli([parse_flag(l) for l in _section(top, "GLOBAL OPTIONS")], parse_commands(top))
    if not cli.commands or not cli.global_flags:
        raise RuntimeError(f"{kiln} --help lists no commands or no global options")
    for c in cli.commands:
        if c.name == "help":
            c.usage = "[command]"
            continue
        text = _help(kiln, c.name)
        usage = _section(text, "USAGE")
        m = re.match(r"\s*\S+\s+" + re.escape(c.name) + r"\s*(.*)$", usage[0] if usage else "")
        c.usage = m.group(1).strip() if m else ""
        c.flags = [parse_flag(l) for l in _section(text, "OPTIONS")]
    return cli
