# shellcheck shell=bash
# Shared by plan.sh, apply.sh and drift.sh; sourced, never run.
#
# Environment (all set by the reusable workflows; the tests set the same ones):
#   INBOUND_SYNC_CONFIG    config paths, separated by spaces (default: inbound.yaml)
#   INBOUND_SYNC_OUT_DIR   where reports, plans and logs go (default: $RUNNER_TEMP/inbound-sync)
#   GITHUB_OUTPUT          step outputs (set by GitHub Actions; optional elsewhere)
#   GITHUB_STEP_SUMMARY    the job summary (set by GitHub Actions; optional elsewhere)
# The API key reaches the tool as INBOUND_SYNC_API_KEY and is never read or printed here.

init() {
  read -r -a CONFIG <<<"${INBOUND_SYNC_CONFIG:-inbound.yaml}"
  if [[ ${#CONFIG[@]} -eq 0 ]]; then
    CONFIG=(inbound.yaml)
  fi
  OUT="${INBOUND_SYNC_OUT_DIR:-${RUNNER_TEMP:-${TMPDIR:-/tmp}}/inbound-sync}"
  mkdir -p "$OUT"
  chmod 700 "$OUT"
}

# set_output NAME VALUE: a step output, when running under GitHub Actions.
set_output() {
  if [[ -n "${GITHUB_OUTPUT:-}" ]]; then
    printf '%s=%s\n' "$1" "$2" >>"$GITHUB_OUTPUT"
  fi
}

# summary < FILE: append Markdown to the job summary, when running under GitHub Actions.
summary() {
  if [[ -n "${GITHUB_STEP_SUMMARY:-}" ]]; then
    cat >>"$GITHUB_STEP_SUMMARY"
  else
    cat >/dev/null
  fi
}

# annotate_config_errors < STDERR: "  FILE:LINE: field: message" lines of a config error
# become ::error annotations at that line, so the pull request shows them in the diff.
annotate_config_errors() {
  local line file lineno message
  local pattern='^  ([^: ][^:]*):([0-9]+): (.*)$'
  while IFS= read -r line; do
    if [[ $line =~ $pattern ]]; then
      file=${BASH_REMATCH[1]}
      lineno=${BASH_REMATCH[2]}
      message=${BASH_REMATCH[3]//'%'/'%25'}
      file=${file//'%'/'%25'}
      file=${file//','/'%2C'}
      printf '::error file=%s,line=%s,title=inbound-sync validate::%s\n' "$file" "$lineno" "$message"
    fi
  done
}

# fenced FILE: the file's text in a Markdown code block.
fenced() {
  printf '```text\n'
  cat "$1"
  printf '```\n'
}

# validate_config: the offline check, before any network. On failure its errors are
# shown in the log, annotated at their lines, and kept in $OUT/validate.err.
validate_config() {
  local code=0
  inbound-sync validate "${CONFIG[@]}" 2>"$OUT/validate.err" || code=$?
  cat "$OUT/validate.err" >&2
  if [[ $code -ne 0 ]]; then
    annotate_config_errors <"$OUT/validate.err"
  fi
  return "$code"
}

# invalid_report TITLE: the Markdown shown when the config does not validate.
invalid_report() {
  printf '### %s\n\n**The config is invalid; nothing was planned.**\n\n' "$1"
  fenced "$OUT/validate.err"
}

# failed_report TITLE CODE FILE: the Markdown shown when a command failed with an error.
failed_report() {
  printf '### %s\n\n**inbound-sync failed (exit %s); nothing was written.**\n\n' "$1" "$2"
  fenced "$3"
}

# retitle TITLE FILE: the tool's Markdown report with its "### ..." heading replaced by TITLE.
retitle() {
  local first
  IFS= read -r first <"$2" || true
  if [[ $first == '### '* ]]; then
    printf '### %s\n' "$1"
    tail -n +2 "$2"
  else
    cat "$2"
  fi
}
