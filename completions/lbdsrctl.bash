# bash completion for lbdsrctl. Source it, or install it as
# /usr/share/bash-completion/completions/lbdsrctl. The candidates come from `lbdsrctl __complete WORDS...`,
# which walks the same grammar as the command itself (and asks the daemon for existing names).
_lbdsrctl() {
  local line="${COMP_LINE:0:COMP_POINT}"
  local -a words
  read -ra words <<<"$line"
  local cur=""
  if [[ "$line" != *" " ]]; then
    cur="${words[-1]}"
    unset 'words[-1]'
  fi
  local IFS=$'\n'
  local -a cands
  cands=($(lbdsrctl __complete "${words[@]:1}" 2>/dev/null))
  COMPREPLY=()
  local c
  for c in "${cands[@]}"; do
    [[ "$c" == "$cur"* ]] || continue
    # bash splits words at '=': complete only the part after the last one
    if [[ "$cur" == *=* && "$COMP_WORDBREAKS" == *=* ]]; then
      COMPREPLY+=("${c#"${cur%=*}="}")
    else
      COMPREPLY+=("$c")
    fi
  done
  if [[ ${#COMPREPLY[@]} -eq 1 && "${COMPREPLY[0]}" == *= ]]; then
    compopt -o nospace 2>/dev/null
  fi
}
complete -F _lbdsrctl lbdsrctl
