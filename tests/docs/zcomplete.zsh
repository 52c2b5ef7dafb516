#!/usr/bin/env zsh
# zcomplete.zsh FPATH_DIR LINE...: types each LINE followed by TAB into an
# interactive zsh (on a pseudoterminal, zsh/zpty) that loads completions
# from FPATH_DIR with compinit, and prints "=== LINE", the list of matches
# the terminal showed (if any) and "BUF<the line after completion>".
emulate -L zsh
zmodload zsh/zpty || exit 2
local dir=$1 line out
shift
zpty z 'TERM=dumb zsh -f -i'
zpty -w z "PS1='%% '; unsetopt beep prompt_sp prompt_cr list_ambiguous; fpath=(${(q)dir} \$fpath); autoload -Uz compinit; compinit -u -D"
zpty -w z "zstyle ':completion:*' list-prompt ''; zstyle ':completion:*' menu no; LISTMAX=100000"
# ^X prints the edit buffer and empties it
zpty -w z 'showbuf() { zle -I; print -r -- "BUF<$BUFFER>"; BUFFER=; }; zle -N showbuf; bindkey "^X" showbuf'
zpty -w z 'print READY'
zpty -r -m z out '*READY*READY*' || { print -u2 'zsh did not start'; exit 2 }
for line in "$@"; do
	zpty -w -n z "$line"$'\t'
	sleep 0.5
	zpty -w -n z $'\C-x'
	sleep 0.2
	zpty -w z 'print DONE'
	out=
	zpty -r -m z out '*DONE*DONE*' || { print -u2 "no answer for: $line"; exit 2 }
	print -r -- "=== $line"
	print -r -- "${out//$'\r'/}" | sed -e 's/\x1b\[[0-9;?]*[A-Za-z]//g' -e 's/[[:cntrl:]]//g' |
		grep -v -e '^% ' -e '^DONE$'
done
zpty -d z
