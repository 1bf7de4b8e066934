# bash completion for haven(1)                           -*- shell-script -*-
# Made by `haven help --completion bash` from haven's table of commands;
# do not edit (tools/gen-docs.sh writes it again).

_haven_commands="init register show list search note history explain due assess plan approve reject act refer conference followup review evaluate close reopen transfer assign consent update workflow rules user audit backup purge export import report gen scenario train repl login logout whoami enrol sync device conflicts help"
_haven_globals="--db --as --purpose --now --json --server --version --help"

# _haven_subcommands COMMAND: its subcommands
_haven_subcommands()
{
    case $1 in
        workflow) echo "show check graph" ;;
        rules) echo "check test reload diff apply" ;;
        user) echo "add list disable enable role enrol map" ;;
        audit) echo "verify checkpoint log" ;;
        scenario) echo "run" ;;
        device) echo "enrol revoke list" ;;
        conflicts) echo "resolve" ;;
    esac
}

# _haven_options "COMMAND [SUBCOMMAND]": its options
_haven_options()
{
    case $1 in
        "init") echo "--agency --workflow --rules --ref-pattern --agency-name --simulated" ;;
        "register") echo "--force --json-in" ;;
        "show") echo "--summary" ;;
        "list") echo "--stage --source --concern --assignee --limit" ;;
        "note") echo "--expect-version" ;;
        "due") echo "--for --team --agency --overdue --within --count" ;;
        "assess") echo "--expect-version --json-in" ;;
        "plan") echo "--expect-version --json-in" ;;
        "approve") echo "--expect-version --json-in" ;;
        "reject") echo "--expect-version --json-in" ;;
        "act") echo "--expect-version --json-in" ;;
        "refer") echo "--expect-version --json-in" ;;
        "conference") echo "--expect-version --json-in" ;;
        "followup") echo "--expect-version --json-in" ;;
        "review") echo "--expect-version --json-in" ;;
        "evaluate") echo "--expect-version --json-in" ;;
        "close") echo "--expect-version --json-in" ;;
        "reopen") echo "--expect-version --json-in" ;;
        "transfer") echo "--expect-version --json-in" ;;
        "assign") echo "--expect-version --json-in" ;;
        "consent") echo "--expect-version --json-in" ;;
        "update") echo "--expect-version --json-in" ;;
        "workflow graph") echo "--dot --mermaid" ;;
        "rules test") echo "--workflow" ;;
        "rules diff") echo "--hooks --full" ;;
        "user add") echo "--role --supervisor" ;;
        "user role") echo "--supervisor" ;;
        "user map") echo "--os-login --oidc" ;;
        "audit verify") echo "--deep --checkpoint" ;;
        "audit checkpoint") echo "--out" ;;
        "audit log") echo "--user --since" ;;
        "export") echo "--format --pseudonymous --since --override --out" ;;
        "import") echo "--format --skip-bad" ;;
        "report") echo "--since --until --caseworker --html" ;;
        "gen") echo "--cases --seed --bulk --batch --span --history --workflow --rules --agency" ;;
        "scenario run") echo "--html --show" ;;
        "repl") echo "--unsafe" ;;
        "login") echo "--password-stdin" ;;
        "enrol") echo "--code --password-stdin" ;;
        "sync") echo "--device --code" ;;
        "device enrol") echo "--user" ;;
        "conflicts resolve") echo "--take --note" ;;
        "conflicts") echo "--all" ;;
        "help") echo "--man --completion" ;;
    esac
}

_haven()
{
    local cur=${COMP_WORDS[COMP_CWORD]} i w cmd= cmdi=0 sub= subs opts
    COMPREPLY=()
    for ((i = 1; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        case $w in
            --db | --as | --now | --purpose | --server) [ -z "$cmd" ] && ((i++)) ;;
            -*) ;;
            *) if [ -z "$cmd" ]; then cmd=$w cmdi=$i
               elif [ -z "$sub" ] && [ "$i" -eq $((cmdi + 1)) ]; then sub=$w; fi ;;
        esac
    done
    if [ -z "$cmd" ]; then
        case $cur in
            -*) COMPREPLY=($(compgen -W "$_haven_globals" -- "$cur")) ;;
            *) COMPREPLY=($(compgen -W "$_haven_commands" -- "$cur")) ;;
        esac
        return 0
    fi
    if [ "$cmd" = help ] && [ "$COMP_CWORD" -eq $((cmdi + 1)) ]; then
        COMPREPLY=($(compgen -W "$_haven_commands --man --completion" -- "$cur"))
        return 0
    fi
    subs=$(_haven_subcommands "$cmd")
    if [ -n "$subs" ] && [ "$COMP_CWORD" -eq $((cmdi + 1)) ] && [[ $cur != -* ]]; then
        COMPREPLY=($(compgen -W "$subs" -- "$cur"))
        return 0
    fi
    if [[ $cur == -* ]]; then
        opts=$(_haven_options "$cmd${sub:+ $sub}")
        [ -n "$opts" ] || opts=$(_haven_options "$cmd")
        COMPREPLY=($(compgen -W "$opts $_haven_globals" -- "$cur"))
    fi
    # anything else: file names (complete -o default)
    return 0
}
complete -o default -F _haven haven
