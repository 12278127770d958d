#!/usr/bin/env bash
# Install inbound-sync from a checkout of its repository at the pinned ref (the workflows'
# tool-repository and tool-ref inputs), then move that checkout out of the workspace, so that a
# config path such as "." never reads the tool's own example files.
#
# Usage: install.sh CHECKOUT_DIR
# Sets INBOUND_SYNC_SCRIPTS, these scripts at the same ref, for the later steps ($GITHUB_ENV).
set -euo pipefail
checkout=$(cd "${1:?usage: install.sh CHECKOUT_DIR}" && pwd)
dest="${RUNNER_TEMP:?RUNNER_TEMP is not set}/inbound-sync-tool"

"${PYTHON:-python}" -m pip install --disable-pip-version-check --no-input --quiet "$checkout"
rm -rf "$dest"
mv "$checkout" "$dest"
echo "INBOUND_SYNC_SCRIPTS=$dest/.github/scripts" >>"${GITHUB_ENV:?GITHUB_ENV is not set}"
inbound-sync --version
