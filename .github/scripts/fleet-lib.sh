# shellcheck shell=bash
# Shared by the fleet step scripts (fleet-*.sh) with lib.sh; sourced, never run.
#
# Environment (set by the fleet workflows; the tests set the same ones):
#   INBOUND_SYNC_FLEET      the fleet file (default: fleet.yaml)
#   INBOUND_SYNC_TARGETS    the job's targets, separated by spaces (empty: every target)
#   INBOUND_SYNC_KEY_NAMES  their key variables (api_key_env), separated by spaces; "*" for all
# Keys reach the tool through fleet_keys.py, which this shell never reads them from.

# shellcheck source=SCRIPTDIR/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

fleet_init() {
  init
  FLEET="${INBOUND_SYNC_FLEET:-fleet.yaml}"
  local target
  # CONFIG is what lib.sh's validate_config passes to `inbound-sync validate`.
  CONFIG=(--fleet "$FLEET")
  read -r -a TARGETS <<<"${INBOUND_SYNC_TARGETS:-}"
  for target in "${TARGETS[@]}"; do
    CONFIG+=(--target "$target")
  done
  KEYS="${INBOUND_SYNC_KEY_NAMES:-*}"
}

# with_keys COMMAND...: COMMAND with the keys of this job's targets, and no others.
with_keys() {
  python "$(dirname "${BASH_SOURCE[0]}")/fleet_keys.py" "$KEYS" -- "$@"
}

# on_branch TITLE: false (with an annotation) unless GITHUB_REF is INBOUND_SYNC_BRANCH.
on_branch() {
  if [[ -n "${INBOUND_SYNC_BRANCH:-}" && "${GITHUB_REF:-}" != "refs/heads/$INBOUND_SYNC_BRANCH" ]]; then
    echo "::error title=$1::apply runs only on $INBOUND_SYNC_BRANCH, not ${GITHUB_REF:-an unknown ref}; nothing was written"
    return 1
  fi
}
