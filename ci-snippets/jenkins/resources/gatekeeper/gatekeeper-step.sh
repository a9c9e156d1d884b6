#!/usr/bin/env bash
# gatekeeper-step.sh: run the quality gate once and turn its exit code into a Jenkins build result.
#
# The shared-library step vars/gatekeeper.groovy writes this script into the workspace and runs it; it
# also runs on its own (any shell CI, or by hand):
#
#   GATEKEEPER_POLICY=gatekeeper.yaml bash gatekeeper-step.sh build/test-results/ coverage.xml bandit.json
#
# Arguments are the reports (and any further `gatekeeper check` options). Environment:
#   GATEKEEPER_POLICY               the policy file (required; `gatekeeper check` reads it from here)
#   GATEKEEPER_OUT                  where the outputs go (default: gatekeeper-out)
#   GATEKEEPER                      the gatekeeper command (default: gatekeeper on PATH)
#   GATEKEEPER_PYTHON               a python to read the verdict with (default: python3)
#   GATEKEEPER_WARN_EXIT_CODE       the exit code a warning gives (default: 10; never 1-4 or 130)
#   GATEKEEPER_URL, GATEKEEPER_TOKEN  upload the verdict to a store server (token: a Jenkins credential)
#   GATEKEEPER_REQUIRE_UPLOAD=true  a failed upload marks the build UNSTABLE (exit 4) instead of a warning line
#   GATEKEEPER_PIPELINE_STARTED_AT  the build's start (Jenkins: currentBuild.startTimeInMillis)
#   GATEKEEPER_PART=NAME            record the reports as this part of the build (e.g. `test 2/3`, in a
#                                   parallel stage) instead of deciding: SUCCESS once recorded
#   GATEKEEPER_PIPELINE_FINAL=true  decide once on every part of the build, waiting GATEKEEPER_WAIT seconds
#                                   (default 300) for GATEKEEPER_EXPECT_PARTS of them; a part still missing
#                                   is FAILURE (could not decide), naming it
#
# It writes $GATEKEEPER_OUT/verdict.json, gate-junit.xml (for the junit step), gate.md, and `result`:
# line 1 SUCCESS, UNSTABLE or FAILURE, line 2 why (a part: `result` only). It exits 0 when it could decide
# a result (the caller applies it), and 2 only on a usage problem of its own.
set -uo pipefail

# gatekeeper_result EXIT_CODE VERDICT_JSON -> prints "RESULT<newline>why" (the verdict gives the why).
gatekeeper_result() {
    local code="$1" verdict="$2" warn_code="${GATEKEEPER_WARN_EXIT_CODE:-10}" status="" reason=""
    if [ -s "$verdict" ]; then
        status="$("${GATEKEEPER_PYTHON:-python3}" -c 'import json, sys; print(json.load(open(sys.argv[1]))["status"])' "$verdict" 2>/dev/null)"
        reason="$("${GATEKEEPER_PYTHON:-python3}" -c 'import json, sys; print(" ".join(json.load(open(sys.argv[1]))["reason"].split()))' "$verdict" 2>/dev/null)"
    fi
    if [ "$code" = "$warn_code" ] && [ "$code" != 0 ]; then
        printf 'UNSTABLE\nquality gate warns: %s\n' "$reason"
        return 0
    fi
    case "$code" in
        0) printf 'SUCCESS\nquality gate passed: %s\n' "${reason:-every gate holds}" ;;
        1) printf 'FAILURE\nquality gate failed: %s\n' "${reason:-a blocking gate failed}" ;;
        2) printf 'FAILURE\nquality gate could not decide (bad or missing report, bad policy or usage): %s\n' \
               "${reason:-see the gatekeeper error above}" ;;
        3) printf 'FAILURE\ngatekeeper internal error (a bug: run with --debug for the traceback and report it)\n' ;;
        4) printf 'UNSTABLE\nthe quality gate decided %s, but the verdict could not be uploaded (spooled for the next run)\n' \
               "${status:-its verdict}" ;;
        130) printf 'FAILURE\ngatekeeper was interrupted\n' ;;
        *) printf 'FAILURE\ngatekeeper exited with unexpected code %s\n' "$code" ;;
    esac
}

# gatekeeper_part_result EXIT_CODE PART -> prints "RESULT<newline>why" for `check --part`, which decides nothing.
gatekeeper_part_result() {
    local code="$1" part="$2"
    case "$code" in
        0) printf 'SUCCESS\npart %s recorded: the final stage decides on every part\n' "$part" ;;
        2) printf 'FAILURE\npart %s not recorded (bad or missing report, bad policy or usage): see the gatekeeper error above\n' "$part" ;;
        4) printf 'FAILURE\npart %s could not be stored (the store or the server is unreachable): the final stage will miss it\n' "$part" ;;
        *) gatekeeper_result "$code" "" ;;
    esac
}

gatekeeper_step() {
    local out="${GATEKEEPER_OUT:-gatekeeper-out}" code extra=()
    if [ -z "${GATEKEEPER_POLICY:-}" ]; then
        echo "gatekeeper-step.sh: error: set GATEKEEPER_POLICY to the policy file" >&2
        return 2
    fi
    mkdir -p "$out" || return 2
    rm -f "$out/verdict.json" "$out/gate-junit.xml" "$out/gate.md" "$out/result"
    if [ -n "${GATEKEEPER_PART:-}" ]; then
        "${GATEKEEPER:-gatekeeper}" check --part "$GATEKEEPER_PART" "$@"
        code=$?
        gatekeeper_part_result "$code" "$GATEKEEPER_PART" > "$out/result"
        echo "gatekeeper: exit code $code -> $(head -n 1 "$out/result"): $(tail -n 1 "$out/result")"
        return 0
    fi
    if [ "${GATEKEEPER_PIPELINE_FINAL:-false}" = true ]; then
        extra+=(--pipeline-final --wait "${GATEKEEPER_WAIT:-300}")
    fi
    if [ "${GATEKEEPER_REQUIRE_UPLOAD:-false}" = true ]; then extra+=(--require-upload); fi
    if [ -n "${GATEKEEPER_PIPELINE_STARTED_AT:-}" ]; then
        extra+=(--pipeline-started-at "$GATEKEEPER_PIPELINE_STARTED_AT")
    fi
    "${GATEKEEPER:-gatekeeper}" check \
        --output "junit=$out/gate-junit.xml" --output "json=$out/verdict.json" --output "markdown=$out/gate.md" \
        --warn-exit-code "${GATEKEEPER_WARN_EXIT_CODE:-10}" "${extra[@]}" "$@"
    code=$?
    gatekeeper_result "$code" "$out/verdict.json" > "$out/result"
    echo "gatekeeper: exit code $code -> $(head -n 1 "$out/result"): $(tail -n 1 "$out/result")"
    return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    gatekeeper_step "$@"
fi
