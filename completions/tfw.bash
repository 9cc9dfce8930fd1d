# bash completion for tfw: source it, or put it in ~/.local/share/bash-completion/completions/tfw
_tfw() {
    local IFS=$'\n'
    COMPREPLY=($(tfw __complete -- "${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null))
}
complete -o default -F _tfw tfw
