#!/usr/bin/env bash
# Executes the notebooks headless, as CI does: each one runs top to bottom
# in a fresh Python kernel (jupyter nbconvert --execute). The executed
# copies, with every output and picture, are kept in notebooks/executed/
# (ignored by git; open them with jupyter or any notebook viewer), so the
# committed notebooks stay as they are; the log of a failing one is kept
# next to it. The budget is the short one unless IRESNET_NOTEBOOK_SHORT is
# set otherwise (IRESNET_NOTEBOOK_SHORT=0 for the full budget). Arguments
# name the notebooks to run (default: all). The notebooks' training runs
# write into notebooks/out/ (also ignored by git); the script prints its
# size at the end, and IRESNET_NOTEBOOK_CLEAN=1 deletes it. Exits non-zero
# if any cell of any notebook fails.
#
# Needs: apt-get install -y jupyter-nbconvert python3-ipykernel python3-matplotlib
# (and Go, libopenblas-dev and graphviz, as for the rest of the project).
set -uo pipefail
cd "$(dirname "$0")"

export IRESNET_NOTEBOOK_SHORT="${IRESNET_NOTEBOOK_SHORT-1}"
export PYDEVD_DISABLE_FILE_VALIDATION=1 # quiets the kernel's debugger warning
executed=executed
mkdir -p "$executed"

if [ $# -gt 0 ]; then notebooks=("$@"); else notebooks=([0-9][0-9]-*.ipynb); fi
passed=0 failed=0
for nb in "${notebooks[@]}"; do
	nb=$(basename "$nb")
	start=$SECONDS
	if jupyter nbconvert --to notebook --execute \
		--ExecutePreprocessor.timeout=1200 --ExecutePreprocessor.kernel_name=python3 \
		--output-dir "$executed" "$nb" >"$executed/${nb%.ipynb}.log" 2>&1; then
		passed=$((passed + 1))
		rm -f "$executed/${nb%.ipynb}.log"
		echo "ok    $nb ($((SECONDS - start)) s, IRESNET_NOTEBOOK_SHORT=$IRESNET_NOTEBOOK_SHORT) → notebooks/$executed/$nb"
	else
		failed=$((failed + 1))
		echo "FAIL  $nb ($((SECONDS - start)) s); log: notebooks/$executed/${nb%.ipynb}.log"
		tail -n 60 "$executed/${nb%.ipynb}.log" | sed 's/\x1b\[[0-9;]*m//g' # without the traceback's colours
	fi
done
echo "notebooks: $passed passed, $failed failed; executed copies in notebooks/$executed/"
if [ -d out ]; then
	if [ "${IRESNET_NOTEBOOK_CLEAN-0}" = 1 ]; then
		rm -rf out
		echo "deleted notebooks/out (IRESNET_NOTEBOOK_CLEAN=1)"
	else
		echo "notebooks/out holds $(du -sh out | cut -f1) of training runs; delete it with rm -rf notebooks/out, or run with IRESNET_NOTEBOOK_CLEAN=1"
	fi
fi
[ "$failed" -eq 0 ]
