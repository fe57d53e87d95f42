#!/usr/bin/env bash
# Executes the notebooks headless, as CI does: each one runs top to bottom
# in a fresh Python kernel (jupyter nbconvert --execute) and is written to a
# temporary folder, so the committed notebooks and their outputs stay as
# they are. The budget is the short one unless IRESNET_NOTEBOOK_SHORT is set
# otherwise (IRESNET_NOTEBOOK_SHORT=0 for the full budget). Arguments name
# the notebooks to run (default: all). Exits non-zero if any cell of any
# notebook fails.
#
# Needs: apt-get install -y jupyter-nbconvert python3-ipykernel python3-matplotlib
# (and Go, libopenblas-dev and graphviz, as for the rest of the project).
set -uo pipefail
cd "$(dirname "$0")"

export IRESNET_NOTEBOOK_SHORT="${IRESNET_NOTEBOOK_SHORT-1}"
export PYDEVD_DISABLE_FILE_VALIDATION=1 # quiets the kernel's debugger warning
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ $# -gt 0 ]; then notebooks=("$@"); else notebooks=([0-9][0-9]-*.ipynb); fi
passed=0 failed=0
for nb in "${notebooks[@]}"; do
	nb=$(basename "$nb")
	start=$SECONDS
	if jupyter nbconvert --to notebook --execute \
		--ExecutePreprocessor.timeout=1200 --ExecutePreprocessor.kernel_name=python3 \
		--output-dir "$tmp" "$nb" >"$tmp/log" 2>&1; then
		passed=$((passed + 1))
		echo "ok    $nb ($((SECONDS - start)) s, IRESNET_NOTEBOOK_SHORT=$IRESNET_NOTEBOOK_SHORT)"
	else
		failed=$((failed + 1))
		echo "FAIL  $nb ($((SECONDS - start)) s)"
		tail -n 60 "$tmp/log" | sed 's/\x1b\[[0-9;]*m//g' # without the traceback's colours
	fi
done
echo "notebooks: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
