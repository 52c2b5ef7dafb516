#!/usr/bin/env python3
"""Shell completions for kiln, generated from the built binary's --help.

  completions.py --kiln build/kiln --shell bash|zsh|fish|fish-alias NAME --output FILE

meson runs this at build time (completions/meson.build), so the completions
always offer exactly the commands and options the binary has. What an
option's argument is (a directory, a file, one of a few words) is not in the
help text: VALUES below says it, by option name; an option not named there
gets no argument completion.
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import kiln_cli  # noqa: E402

NAMES = ["kiln", "kiln-km", "kiln-km-label"]  # the binary and its KM-handler links

DIRS = {"root", "bundle", "image-path", "work-path", "parent-path"}
FILES = {"log", "pid-file", "console-socket", "pidfd-socket", "km-config", "process", "resources"}
CHOICES = {
    "log-format": ["text", "json"],
    "rootless": ["true", "false", "auto"],
    "format": ["table", "json"],
    "manage-cgroups-mode": ["soft", "full", "strict", "ignore"],
    "cpu-idle": ["0", "1"],
}
SIGNALS = ("ABRT ALRM BUS CHLD CONT FPE HUP ILL INT IO KILL PIPE PROF PWR QUIT SEGV STKFLT STOP SYS "
           "TERM TRAP TSTP TTIN TTOU URG USR1 USR2 VTALRM WINCH XCPU XFSZ").split()


def kind(flag):
    """'dir', 'file', 'choice' or '' for an option's argument."""
    if not flag.value:
        return ""
    if flag.name in DIRS:
        return "dir"
    if flag.name in FILES:
        return "file"
    if flag.name in CHOICES:
        return "choice"
    return ""


def takes_id(cmd):
    return bool(cmd.positionals) and cmd.positionals[0] == "<container-id>"


def header(comment):
    return (f"{comment} Completion for kiln, kiln-km and kiln-km-label.\n"
            f"{comment} Generated from `kiln --help` by tools/completions.py; do not edit.\n")


# --------------------------------------------------------------------- bash ---

def bash(cli):
    out = [header("#")]

    def case(fn, rows):
        out.append(f"_kiln_{fn}() {{\n\tcase $1 in")
        for key, words in rows:
            out.append(f"\t{key}) echo '{' '.join(words)}' ;;")
        out.append("\tesac\n}")

    cmds = [c for c in cli.commands]
    case("flags", [("''", [s for f in cli.global_flags for s in f.spellings() if s.startswith("--")])]
         + [(c.name, [s for f in c.flags for s in f.spellings() if s.startswith("--")] + ["--help"])
            for c in cmds if c.name != "help"])
    case("value_flags", [("''", [s for f in cli.global_flags if f.value for s in f.spellings()])]
         + [(c.name, [s for f in c.flags if f.value for s in f.spellings()]) for c in cmds if c.name != "help"])
    kinds = {}
    for f in cli.global_flags + [f for c in cmds for f in c.flags]:
        if kind(f):
            for s in f.spellings():
                kinds[s] = kind(f) if kind(f) != "choice" else "choice:" + " ".join(CHOICES[f.name])
    out.append("_kiln_kind() {\n\tcase $1 in")
    for k in sorted(set(kinds.values())):
        pats = "|".join(sorted(s for s, v in kinds.items() if v == k))
        out.append(f"\t{pats}) echo '{k}' ;;")
    out.append("\tesac\n}")
    out.append("_kiln_commands='" + " ".join(c.name for c in cmds) + "'")
    out.append("_kiln_id_commands=' " + " ".join(c.name for c in cmds if takes_id(c)) + " '")
    out.append("_kiln_stop_commands=' " + " ".join(c.name for c in cmds if c.stops_at_positional) + " '")
    out.append("_kiln_signals='" + " ".join(SIGNALS) + "'")
    out.append(r'''
# A single-dash long option (-bundle) is the same as --bundle.
_kiln_norm() {
	case $1 in
	--* | -?) echo "$1" ;;
	-*) echo "-$1" ;;
	*) echo "$1" ;;
	esac
}

_kiln() {
	local cur=${COMP_WORDS[COMP_CWORD]} prog=${COMP_WORDS[0]} i w cmd= root= npos=0 expect= k
	COMPREPLY=()
	for ((i = 1; i < COMP_CWORD; i++)); do
		w=${COMP_WORDS[i]}
		if [[ $w == = ]]; then
			expect=$(_kiln_norm "${COMP_WORDS[i - 1]}")
			continue
		fi
		if [[ -n $expect ]]; then
			[[ $expect == --root && -z $cmd ]] && root=$w
			expect=
			continue
		fi
		if [[ $w == -* && ($npos == 0 || $_kiln_stop_commands != *" $cmd "*) ]]; then
			w=$(_kiln_norm "$w")
			[[ $w == --root=* && -z $cmd ]] && root=${w#--root=}
			[[ $w == *=* || ${COMP_WORDS[i + 1]} == = ]] && continue
			[[ " $(_kiln_value_flags "$cmd") " == *" $w "* ]] && expect=$w
			continue
		fi
		if [[ -z $cmd ]]; then cmd=$w; else npos=$((npos + 1)); fi
	done
	if [[ $cur == = ]]; then
		expect=$(_kiln_norm "${COMP_WORDS[COMP_CWORD - 1]}")
		cur=
	elif [[ $cur == --*=* ]]; then
		expect=${cur%%=*}
		cur=${cur#*=}
	fi
	if [[ -n $expect ]]; then
		k=$(_kiln_kind "$expect")
		case $k in
		dir) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -d -- "$cur")) ;;
		file) compopt -o filenames 2>/dev/null; COMPREPLY=($(compgen -f -- "$cur")) ;;
		choice:*) COMPREPLY=($(compgen -W "${k#choice:}" -- "$cur")) ;;
		esac
		return 0
	fi
	if [[ $npos -gt 0 && $_kiln_stop_commands == *" $cmd "* ]]; then
		[[ $cmd == kill && $npos == 1 ]] && COMPREPLY=($(compgen -W "$_kiln_signals" -- "${cur#SIG}"))
		[[ $cmd == exec ]] && { compopt -o default 2>/dev/null; COMPREPLY=(); }
		return 0
	fi
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$(_kiln_flags "$cmd")" -- "$cur"))
		return 0
	fi
	if [[ -z $cmd ]]; then
		COMPREPLY=($(compgen -W "$_kiln_commands" -- "$cur"))
	elif [[ $cmd == help || $cmd == h ]]; then
		[[ $npos == 0 ]] && COMPREPLY=($(compgen -W "$_kiln_commands" -- "$cur"))
	elif [[ $npos == 0 && $_kiln_id_commands == *" $cmd "* ]]; then
		COMPREPLY=($(compgen -W "$("$prog" ${root:+--root "$root"} list -q 2>/dev/null)" -- "$cur"))
	fi
	return 0
}
''')
    out.append("complete -F _kiln " + " ".join(NAMES))
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------- zsh ---

def zq(s):
    """Single-quoted zsh word."""
    return "'" + s.replace("'", "'\\''") + "'"


def zdesc(s):
    return s.replace("\\", "\\\\").replace("[", "\\[").replace("]", "\\]").replace(":", "\\:")


def zspec(f):
    """_arguments specs of one option (all its spellings exclude each other)."""
    action = {"dir": "_files -/", "file": "_files",
              "choice": "(" + " ".join(CHOICES.get(f.name, [])) + ")"}.get(kind(f), " ")
    names = f.spellings()
    excl = "(" + " ".join(names) + ")" if len(names) > 1 else ""
    specs = []
    for n in names:
        s = f"{excl}{n}{'=' if f.value else ''}[{zdesc(f.help)}]"
        if f.value:
            s += f":{f.name}:{action}"
        specs.append(zq(s))
    return specs


def zsh(cli):
    out = ["#compdef " + " ".join(NAMES), header("#")]
    globals_ = [s for f in cli.global_flags for s in zspec(f)]
    out.append("_kiln_ids() {\n\tlocal -a ids\n\tlocal root=$_kiln_root\n"
               "\tids=(${(f)\"$(_call_program containers $service ${root:+--root $root} list -q 2>/dev/null)\"})\n"
               "\t_describe -t containers container ids\n}")
    out.append("_kiln_commands() {\n\tlocal -a cmds\n\tcmds=(")
    for c in cli.commands:
        out.append("\t\t" + zq(f"{c.name}:{c.summary.replace(':', chr(92) + ':')}"))
    out.append("\t)\n\t_describe -t commands command cmds\n}")
    for c in cli.commands:
        if c.name == "help":
            continue
        pos = []
        if takes_id(c):
            pos.append(zq("1:container id:_kiln_ids"))
        if c.name == "kill":
            pos.append(zq("2:signal:(" + " ".join(SIGNALS) + ")"))
        if c.name == "exec":
            pos.append(zq("*::command:_normal"))
        if c.name == "ps":
            pos.append(zq("*:ps option: "))
        opts = [s for f in c.flags for s in zspec(f)] + [zq("(- *)--help[show help]")]
        stop = "-A '-*' " if c.stops_at_positional else ""
        out.append(f"_kiln_cmd_{c.name}() {{\n\t_arguments {stop}\\\n\t\t" + " \\\n\t\t".join(opts + pos) + "\n}")
    out.append("_kiln() {\n\tlocal curcontext=$curcontext state line ret=1\n\ttypeset -A opt_args\n"
               "\t_arguments -C -A '-*' \\\n\t\t" + " \\\n\t\t".join(globals_) +
               " \\\n\t\t'1: :_kiln_commands' \\\n\t\t'*:: :->args' && ret=0\n"
               "\t# the global --root, for the container ids (the command's _arguments resets opt_args)\n"
               "\tlocal _kiln_root=${opt_args[--root]}\n"
               "\tcase $state in\n\targs)\n\t\tcase $line[1] in\n\t\thelp|h) _arguments '1: :_kiln_commands' && ret=0 ;;")
    for c in cli.commands:
        if c.name != "help":
            out.append(f"\t\t{c.name}) _kiln_cmd_{c.name} && ret=0 ;;")
    out.append("\t\tesac ;;\n\tesac\n\treturn ret\n}")
    out.append('_kiln "$@"')
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------- fish ---

def fq(s):
    return "'" + s.replace("\\", "\\\\").replace("'", "\\'") + "'"


def fish_opt(f):
    parts = [f"-l {n}" for n in f.longs] + [f"-s {n}" for n in f.shorts]
    k = kind(f)
    if f.value:
        parts.append("-r")
    if k == "dir":
        parts.append("-f -a '(__fish_complete_directories (commandline -ct))'")
    elif k == "file":
        parts.append("-F")
    elif k == "choice":
        parts.append("-f -a " + fq(" ".join(CHOICES[f.name])))
    return " ".join(parts) + " -d " + fq(f.help)


def fish(cli):
    out = [header("#")]
    vals_global = " ".join(s for f in cli.global_flags if f.value for s in f.spellings())
    out.append("# __kiln_values CMD: the options of CMD ('': global) that take an argument.")
    out.append("function __kiln_values --argument-names cmd\n\tswitch $cmd")
    out.append(f"\tcase ''\n\t\tprintf '%s\\n' {vals_global}")
    for c in cli.commands:
        v = " ".join(s for f in c.flags if f.value for s in f.spellings())
        if c.name != "help":
            out.append(f"\tcase {c.name}\n\t\tprintf '%s\\n' {v}")
    out.append("\tend\nend")
    stop = " ".join(c.name for c in cli.commands if c.stops_at_positional)
    out.append(r'''# __kiln_state: the command given so far ('' if none), the number of its
# positional arguments so far, and the --root given, one per line.
function __kiln_state
	set -l tokens (commandline -opc)
	set -e tokens[1]
	set -l cmd ''
	set -l npos 0
	set -l root ''
	set -l skip 0
	set -l prev ''
	for t in $tokens
		if test $skip = 1
			test -z "$cmd"; and test "$prev" = --root -o "$prev" = -root; and set root $t
			set skip 0
			continue
		end
		if string match -q -- '-*' $t; and begin; test $npos = 0; or not contains -- "$cmd" ''' + stop + r'''; end
			set -l name (string replace -r -- '=.*' '' $t)
			if test -z "$cmd"; and string match -q -- '--root=*' $t
				set root (string replace -- '--root=' '' $t)
			end
			if not string match -q -- '*=*' $t; and contains -- $name (__kiln_values "$cmd")
				set skip 1
				set prev $name
			end
			continue
		end
		if test -z "$cmd"
			set cmd $t
		else
			set npos (math $npos + 1)
		end
	end
	printf '%s\n' "$cmd" $npos "$root"
end

function __kiln_using --argument-names want
	set -l s (__kiln_state)
	test "$s[1]" = "$want"
end

function __kiln_at --argument-names want n
	set -l s (__kiln_state)
	test "$s[1]" = "$want" -a "$s[2]" = "$n"
end

function __kiln_ids
	set -l s (__kiln_state)
	set -l prog (commandline -opc)[1]
	if test -n "$s[3]"
		$prog --root $s[3] list -q 2>/dev/null
	else
		$prog list -q 2>/dev/null
	end
end
''')
    out.append("complete -c kiln -f")
    for f in cli.global_flags:
        out.append("complete -c kiln -n '__kiln_using \"\"' " + fish_opt(f))
    for c in cli.commands:
        out.append(f"complete -c kiln -n '__kiln_using \"\"' -a {c.name} -d {fq(c.summary)}")
    for c in cli.commands:
        if c.name == "help":
            out.append("complete -c kiln -n '__kiln_at help 0' -a " +
                       fq(" ".join(x.name for x in cli.commands)))
            continue
        # no options after the container id of kill, exec and ps
        cond = f"__kiln_at {c.name} 0" if c.stops_at_positional else f"__kiln_using {c.name}"
        for f in c.flags:
            out.append(f"complete -c kiln -n '{cond}' " + fish_opt(f))
        out.append(f"complete -c kiln -n '{cond}' -l help -s h -d 'show help'")
        if takes_id(c):
            out.append(f"complete -c kiln -n '__kiln_at {c.name} 0' -a '(__kiln_ids)' -d container")
    out.append("complete -c kiln -n '__kiln_at kill 1' -a " + fq(" ".join(SIGNALS)) + " -d signal")
    out.append("complete -c kiln -n '__kiln_using exec; and not __kiln_at exec 0' -F")
    return "\n".join(out) + "\n"


def fish_alias(name):
    return header("#") + f"complete -c {name} -w kiln\n"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kiln", required=True)
    ap.add_argument("--shell", required=True, choices=["bash", "zsh", "fish", "fish-alias"])
    ap.add_argument("--name", default="kiln-km")
    ap.add_argument("--output", required=True)
    a = ap.parse_args()
    text = fish_alias(a.name) if a.shell == "fish-alias" else {"bash": bash, "zsh": zsh, "fish": fish}[a.shell](
        kiln_cli.load(a.kiln))
    with open(a.output, "w", encoding="utf-8") as f:
        f.write(text)


if __name__ == "__main__":
    main()
