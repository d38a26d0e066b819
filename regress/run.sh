#!/bin/sh
# Run the whole Kyua suite, or the test programs named (dnsdist/t_tcp ...);
# print the report on failure and end with one line "N passed, N failed".
cd "$(dirname "$0")" || exit 1
# A ThreadSanitizer build (make TSAN=1) stops at its first report, so that
# the test that caused it fails.
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=1 detect_deadlocks=0}"
results=$(mktemp -d "${TMPDIR:-/tmp}/dnsdist-kyua.XXXXXX") || exit 1
db="$results/results.db"
kyua test --results-file="$db" "$@" >"$results/test.log" 2>&1
status=$?
cat "$results/test.log"
kyua report --results-file="$db" --verbose --results-filter=broken,failed \
    >"$results/report.txt" 2>&1
if [ $status -ne 0 ]; then
	cat "$results/report.txt"
fi
passed=$(grep -c -E ' ->  *(passed|expected_failure)' "$results/test.log")
skipped=$(grep -c -E ' ->  *skipped' "$results/test.log")
failed=$(grep -c -E ' ->  *(failed|broken)' "$results/test.log")
rm -rf "$results"
if [ "$skipped" -gt 0 ]; then
	echo "$passed passed, $failed failed, $skipped skipped"
else
	echo "$passed passed, $failed failed"
fi
[ $status -eq 0 ] && [ "$failed" -eq 0 ]
