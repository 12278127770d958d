#!/usr/bin/env bash
# The drift step of inbound-drift.yml: validate, then compare the account with git.
# The Markdown report goes to the job summary and to $OUT/drift-issue.md, the body of the
# drift issue that github_report.py opens, updates or closes. When $OUT/baseline.json holds
# the previous check's report (github_report.py drift-baseline wrote it from the open issue),
# each drift is marked new or already reported; this check's report goes to $OUT/drift.json,
# which the issue keeps for the next one.
#
# Exit: 0 when the comparison ran (in sync or drifted), 1 invalid config or error.
# Outputs: status (clean | drift | error), exit-code (the drift command's: 0, 2, or 1),
#          body-file, report-file.
set -euo pipefail
# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
init

title="inbound-sync drift${INBOUND_SYNC_INSTANCE:+ ($INBOUND_SYNC_INSTANCE)}"
body="$OUT/drift-issue.md"
set_output body-file "$body"

if ! validate_config; then
  invalid_report "$title" | summary
  set_output status error
  set_output exit-code 1
  exit 1
fi

baseline=()
if [[ -s "$OUT/baseline.json" ]]; then
  baseline=(--baseline "$OUT/baseline.json")
fi
report="$OUT/drift.json"
rm -f "$report"
code=0
inbound-sync drift "${CONFIG[@]}" --format markdown "${baseline[@]}" --out "$report" \
  >"$OUT/drift.md" 2>"$OUT/drift.err" || code=$?
cat "$OUT/drift.err" >&2
set_output exit-code "$code"
case $code in
  0) status=clean ;;
  2) status=drift ;;
  *)
    failed_report "$title" "$code" "$OUT/drift.err" | summary
    set_output status error
    exit 1
    ;;
esac

retitle "$title" "$OUT/drift.md" >"$body"
summary <"$body"
set_output report-file "$report"
set_output status "$status"
if [[ $status == drift ]]; then
  echo "::warning title=$title::the account has drifted from git; see the job summary"
else
  echo "$title: in sync"
fi
