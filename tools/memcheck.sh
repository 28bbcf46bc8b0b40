#!/usr/bin/env bash
# memcheck.sh: leak and memory-error check of kiln's programs (item 9 of
# RELIABILITY.md).
#
# Runs every example of kiln (kiln/examples), every example of kiln-rt
# (rt/examples, rt_1 to rt_14) and the quick version of every kiln-stress
# scenario, each under a memory checker, and prints a table: program, tool,
# how the program ended, bytes definitely lost (valgrind) or leaked directly
# (LeakSanitizer), bytes possibly lost (valgrind) or leaked indirectly
# (LSan), and memory errors. Examples that serve for ever are started,
# talked to like rt/tests/ do (tools/memcheck/drive.py), then stopped with
# SIGINT or SIGTERM, so that they end normally and the checker reports.
# Exits 1 if any program leaked a byte (definitely lost, or an LSan leak),
# had a memory error, ended without a report, or failed; 0 otherwise.
#
# Tools (--tool, default valgrind):
#   valgrind  memcheck of valgrind >= 3.23, --leak-check=full. Valgrind 3.19
#             (Debian bookworm) hangs on every io_uring program: it treats
#             io_uring_enter as a syscall that does not block, so a worker
#             waiting in it keeps valgrind's global lock and no other thread
#             runs (fixed in 3.23, bug 428364; tools/memcheck/uring_block.c
#             shows it in 30 lines). tools/memcheck/install-valgrind.sh
#             unpacks Debian trixie's 3.24 into /opt/valgrind-new without
#             installing anything; this script looks there, then at $VALGRIND
#             (a valgrind launcher), then at `valgrind` on PATH.
#             Valgrind does not see what the kernel writes into buffers through
#             io_uring (received bytes, accepted addresses, signal records), so
#             it reports them as uninitialised: for the programs that receive
#             data that way, uninitialised-value checking is off
#             (--undef-value-errors=no; column "undef" is "off"); leaks and
#             invalid reads, writes and frees are still checked. Memory
#             written by the kernel, and the kernel's accesses to user memory,
#             are not checked by any tool here.
#   asan      AddressSanitizer with LeakSanitizer (nightly Rust,
#             -Zsanitizer=address, target x86_64-unknown-linux-gnu).
#   all       both.
#
# Usage:
#   tools/memcheck.sh [--tool valgrind|asan|all] [--only REGEX] [--no-build]
#                     [--jobs N]
#   --only REGEX  only the programs whose name matches (e.g. 'rt_1[0-4]|chaos')
#   --no-build    use the binaries built by an earlier run
#   --jobs N      cargo's -j (default: cargo's own)
#
# Builds go to target/memcheck* (examples in the dev profile, with
# debug assertions; kiln-stress in release with line tables, as the quick
# scenarios are large). Logs (each program's output, each checker report) go
# to target/memcheck/logs/<tool>/; the table is also written there as
# summary.tsv. Stress scenarios whose pass/fail measures time or resident
# memory (overload, starvation, tcp_abuse) fail under a checker, which slows
# programs 20-50 times and adds its own memory: their exit status is shown
# but does not fail the run; their leak and error figures do.
# Environment: MEMCHECK_TIMEOUT (seconds per program, default 900),
# MEMCHECK_STEP_TIMEOUT (per wait for the program, default 120).

set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

tool=valgrind
only=
build=1
jobs=()
while [ $# -gt 0 ]; do
    case $1 in
        --tool) tool=${2:?--tool needs a value}; shift 2 ;;
        --tool=*) tool=${1#--tool=}; shift ;;
        --only) only=${2:?--only needs a value}; shift 2 ;;
        --only=*) only=${1#--only=}; shift ;;
        --no-build) build=0; shift ;;
        --jobs) jobs=(-j "${2:?--jobs needs a value}"); shift 2 ;;
        -h|--help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
        *) echo "memcheck.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
    esac
done
case $tool in
    valgrind) tools=(valgrind) ;;
    asan) tools=(asan) ;;
    all) tools=(valgrind asan) ;;
    *) echo "memcheck.sh: --tool is valgrind, asan or all" >&2; exit 2 ;;
esac

driver=$root/tools/memcheck/drive.py
logroot=$root/target/memcheck/logs
host=x86_64-unknown-linux-gnu

# The programs: name, kind (kiln, rt, stress), undef (valgrind's
# uninitialised-value checks: on, or off where io_uring fills buffers), and
# allow_fail (1: the exit status does not fail the run, see above).
programs=(
    "1_hello_world          kiln   on  0"
    "2_rpc                  kiln   on  0"
    "3_sync_actor           kiln   on  0"
    "4_restart_supervisor   kiln   on  0"
    "rt_1_hello_world       rt     on  0"
    "rt_2_spawning_actors   rt     on  0"
    "rt_3_rpc               rt     on  0"
    "rt_4_process_signals   rt     off 0"
    "rt_5_timers            rt     on  0"
    "rt_6_restart_supervisor rt    on  0"
    "rt_7_runtime_setup     rt     on  0"
    "rt_8_tcp_echo_server   rt     off 0"
    "rt_9_my_ip             rt     off 0"
    "rt_10_udp_echo         rt     off 0"
    "rt_11_redis_lite       rt     off 0"
    "rt_12_systemd          rt     off 0"
    "rt_13_tracing          rt     on  0"
    "rt_14_metrics          rt     off 0"
    "chaos                  stress on  0"
    "intensity              stress on  0"
    "overload               stress on  1"
    "rpc                    stress on  0"
    "signals                stress off 0"
    "tcp_abuse              stress off 1"
    "starvation             stress on  1"
    "timers                 stress on  0"
    "fault_injection        stress on  0"
)

selected() {
    [ -z "$only" ] || [[ $1 =~ $only ]]
}
wanted() { # kind: is any program of this kind selected?
    local p name kind
    for p in "${programs[@]}"; do
        read -r name kind _ <<<"$p"
        [ "$kind" = "$1" ] && selected "$name" && return 0
    done
    return 1
}

# --- finding valgrind -------------------------------------------------------

valgrind_cmd=()
find_valgrind() {
    local candidates=() c version
    if [ -x /opt/valgrind-new/usr/bin/valgrind.bin ]; then
        candidates+=("/opt/valgrind-new/usr/bin/valgrind.bin|/opt/valgrind-new/usr/libexec/valgrind")
    fi
    [ -n "${VALGRIND:-}" ] && candidates+=("$VALGRIND|${VALGRIND_LIB:-}")
    command -v valgrind >/dev/null && candidates+=("$(command -v valgrind)|")
    for c in "${candidates[@]}"; do
        local bin=${c%%|*} lib=${c#*|}
        version=$( ( [ -n "$lib" ] && export VALGRIND_LIB=$lib; "$bin" --version ) 2>/dev/null)
        version=${version#valgrind-}
        local major=${version%%.*} minor=${version#*.}
        minor=${minor%%.*}
        if [[ $major =~ ^[0-9]+$ && $minor =~ ^[0-9]+$ ]] &&
            { [ "$major" -gt 3 ] || { [ "$major" -eq 3 ] && [ "$minor" -ge 23 ]; }; }; then
            if [ -n "$lib" ]; then
                valgrind_cmd=(env "VALGRIND_LIB=$lib" "$bin")
            else
                valgrind_cmd=("$bin")
            fi
            echo "valgrind: $bin ($version)"
            return 0
        fi
        echo "valgrind: $bin is $version; io_uring programs need 3.23 or later" >&2
    done
    echo "memcheck.sh: no valgrind >= 3.23; run tools/memcheck/install-valgrind.sh" >&2
    return 1
}

# --- building ---------------------------------------------------------------

# Target directories and the binaries' paths, per tool.
target_dir() { # tool kind
    case $1/$2 in
        valgrind/stress) echo "$root/target/memcheck-stress" ;;
        valgrind/*) echo "$root/target/memcheck" ;;
        asan/stress) echo "$root/target/memcheck-asan-stress" ;;
        asan/*) echo "$root/target/memcheck-asan" ;;
    esac
}
binary() { # tool kind name
    local dir sub=
    dir=$(target_dir "$1" "$2")
    [ "$1" = asan ] && sub=$host/
    case $2 in
        stress) echo "$dir/${sub}release/kiln-stress" ;;
        *) echo "$dir/${sub}debug/examples/$3" ;;
    esac
}

build_for() { # tool
    local t=$1 cargo=(cargo) flags=() env=()
    if [ "$t" = asan ]; then
        cargo=(cargo +nightly)
        flags=(--target "$host")
        env=(RUSTFLAGS="-Zsanitizer=address" RUSTDOCFLAGS="-Zsanitizer=address")
    fi
    local ok=0
    if wanted kiln; then
        echo "building kiln's examples for $t"
        env "${env[@]}" "${cargo[@]}" build "${jobs[@]}" --quiet -p kiln --examples "${flags[@]}" \
            --target-dir "$(target_dir "$t" kiln)" || ok=1
    fi
    if wanted rt; then
        echo "building kiln-rt's examples for $t"
        env "${env[@]}" "${cargo[@]}" build "${jobs[@]}" --quiet -p kiln-rt --examples "${flags[@]}" \
            --target-dir "$(target_dir "$t" rt)" || ok=1
    fi
    if wanted stress; then
        echo "building kiln-stress (release, line tables) for $t"
        env "${env[@]}" CARGO_PROFILE_RELEASE_DEBUG=line-tables-only \
            "${cargo[@]}" build "${jobs[@]}" --quiet --release -p kiln-stress "${flags[@]}" \
            --target-dir "$(target_dir "$t" stress)" || ok=1
    fi
    return $ok
}

# --- running ----------------------------------------------------------------

# Runs one program under tool $1; sets `status` (the driver's last line).
run_one() { # tool name kind undef logdir
    local t=$1 name=$2 kind=$3 undef=$4 dir=$5 bin cmd=() drive=run
    bin=$(binary "$t" "$kind" "$name")
    rm -f "$dir/$name".*
    if [ ! -x "$bin" ]; then
        status="not built: $bin"
        return
    fi
    case $kind in
        stress) cmd=("$bin" --quick --only "$name") ;;
        *) cmd=("$bin"); drive=$name ;;
    esac
    case $t in
        valgrind)
            cmd=("${valgrind_cmd[@]}" --leak-check=full --show-leak-kinds=definite,possible
                --errors-for-leak-kinds=none "--undef-value-errors=$([ "$undef" = on ] && echo yes || echo no)"
                --trace-children=yes --child-silent-after-fork=yes --num-callers=40
                "--log-file=$dir/$name.%p.vg" "${cmd[@]}")
            status=$(python3 "$driver" "$drive" "$dir/$name.out" -- "${cmd[@]}" | tail -n 1)
            ;;
        asan)
            status=$(ASAN_OPTIONS="detect_leaks=1:log_path=$dir/$name.asan:abort_on_error=0:detect_stack_use_after_return=1" \
                LSAN_OPTIONS="report_objects=0" \
                python3 "$driver" "$drive" "$dir/$name.out" -- "${cmd[@]}" | tail -n 1)
            ;;
    esac
    status=${status#status: }
}

# Reads the reports of program $2 under tool $1 into: procs, reports,
# lost (definitely lost / LSan direct), maybe (possibly lost / LSan indirect),
# errors.
parse_reports() { # tool name dir
    local t=$1 name=$2 dir=$3 f
    procs=0 reports=0 lost=0 maybe=0 errors=0
    shopt -s nullglob
    case $t in
        valgrind)
            for f in "$dir/$name".*.vg; do
                procs=$((procs + 1))
                read -r r l m e < <(awk '
                    /ERROR SUMMARY:/ { r = 1; for (i = 1; i < NF; i++) if ($i == "SUMMARY:") e += $(i+1) }
                    /definitely lost:/ { gsub(",", "", $0); for (i = 1; i <= NF; i++) if ($i == "lost:") l += $(i+1) }
                    /possibly lost:/ { gsub(",", "", $0); for (i = 1; i <= NF; i++) if ($i == "lost:") m += $(i+1) }
                    END { printf "%d %d %d %d\n", r, l, m, e }' "$f")
                reports=$((reports + r)) lost=$((lost + l)) maybe=$((maybe + m)) errors=$((errors + e))
            done
            ;;
        asan)
            # ASan writes a file only when it has something to say.
            for f in "$dir/$name".asan.*; do
                read -r l m e < <(awk '
                    /^Direct leak of/ { l += $4 }
                    /^Indirect leak of/ { m += $4 }
                    /ERROR: AddressSanitizer:/ { e += 1 }
                    END { printf "%d %d %d\n", l, m, e }' "$f")
                lost=$((lost + l)) maybe=$((maybe + m)) errors=$((errors + e))
            done
            ;;
    esac
    shopt -u nullglob
}

failed=0
rows=()
for t in "${tools[@]}"; do
    if [ "$t" = valgrind ]; then
        find_valgrind || { failed=1; continue; }
    fi
    if [ "$build" = 1 ] && ! build_for "$t"; then
        echo "memcheck.sh: building for $t failed" >&2
        failed=1
        continue
    fi
    dir=$logroot/$t
    mkdir -p "$dir"
    for p in "${programs[@]}"; do
        read -r name kind undef allow_fail <<<"$p"
        selected "$name" || continue
        printf '%-10s %-24s ' "$t" "$name"
        start=$SECONDS
        run_one "$t" "$name" "$kind" "$undef" "$dir"
        parse_reports "$t" "$name" "$dir"
        took=$((SECONDS - start))
        verdict=ok
        if [ "$lost" -gt 0 ] || [ "$errors" -gt 0 ]; then
            verdict=FAIL
        elif [ "$t" = valgrind ] && [ "$reports" -lt "$procs" -o "$procs" -eq 0 ]; then
            verdict=FAIL
            status="$status; $((procs - reports)) of $procs processes wrote no report"
        elif [ "$status" != ok ] && [ "$allow_fail" = 0 ]; then
            verdict=FAIL
        elif [ "$status" != ok ]; then
            status="$status (not counted: see --help)"
        fi
        [ "$t" = valgrind ] || { undef=-; procs=-; }
        [ "$verdict" = FAIL ] && failed=1
        echo "$verdict in ${took}s: $status"
        rows+=("$name	$t	$undef	$procs	$lost	$maybe	$errors	$verdict	$status")
    done
done

[ ${#rows[@]} -gt 0 ] || exit "$((failed ? 1 : 0))"
mkdir -p "$logroot"
{
    printf 'program\ttool\tundef\tprocesses\tdefinitely_lost_or_lsan_direct\tpossibly_lost_or_lsan_indirect\terrors\tverdict\tstatus\n'
    printf '%s\n' "${rows[@]}"
} >"$logroot/summary.tsv"
echo
echo "definitely lost: valgrind's 'definitely lost' bytes, or LSan's direct leaks; possibly: valgrind's"
echo "'possibly lost' or LSan's indirect leaks; errors: memory errors (leaks not counted);"
echo "undef: valgrind's uninitialised-value checks; procs: processes checked (children included)"
echo
printf '%-24s %-9s %-5s %5s %15s %9s %6s  %-7s %s\n' program tool undef procs "definitely lost" possibly errors verdict "program status"
for r in "${rows[@]}"; do
    IFS=$'\t' read -r name t undef procs lost maybe errors verdict status <<<"$r"
    printf '%-24s %-9s %-5s %5s %15s %9s %6s  %-7s %s\n' "$name" "$t" "$undef" "$procs" "$lost B" "$maybe B" "$errors" "$verdict" "$status"
done
echo
echo "logs: $logroot/<tool>/ (NAME.out: the program's output; NAME.PID.vg, NAME.asan.PID: reports)"
exit "$failed"
