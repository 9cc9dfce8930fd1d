# fish completion for tfw: put it in ~/.config/fish/completions/tfw.fish
function __tfw_complete
    set -l tokens (commandline -opc)
    set -e tokens[1]
    tfw __complete -- $tokens (commandline -ct) 2>/dev/null
end
complete -c tfw -f -a '(__tfw_complete)'
