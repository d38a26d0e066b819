#!/bin/sh
# Run each libFuzzer target for a bounded time over its seed corpus.
#   run.sh SECONDS regress/fuzz/fuzz_NAME...
# New inputs go to work/NAME/corpus (not in git) so that the seed corpus in
# corpus/NAME stays small; a crash lands in work/NAME/ as crash-*, and the
# whole log in work/NAME/log.  One line per target; exits 1 on any crash.
secs=$1
shift
dir=$(dirname "$0")
status=0
for t in "$@"; do
	name=${t##*/fuzz_}
	work=$dir/work/$name
	mkdir -p "$work/corpus"
	set --
	[ -f "$dir/$name.dict" ] && set -- -dict="$dir/$name.dict"
	"$t" -max_total_time="$secs" -timeout=10 -print_final_stats=1 \
	    -artifact_prefix="$work/" "$@" "$work/corpus" "$dir/corpus/$name" \
	    >"$work/log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
	cov=$(grep -Eo 'cov: [0-9]+' "$work/log" | tail -1)
	if [ $rc -eq 0 ]; then
		echo "fuzz_$name: ${secs}s, ${runs:-?} runs, $cov, ok"
	else
		echo "fuzz_$name: FAILED (exit $rc), see $work/log:"
		grep -E '^(==[0-9]+==ERROR|SUMMARY|.*runtime error)' \
		    "$work/log" | head -5
		ls "$work"/crash-* "$work"/leak-* "$work"/timeout-* \
		    "$work"/oom-* 2>/dev/null
		status=1
	fi
done
exit $status
