#!/bin/sh
# Starts a task file: `sh scripts/task.sh tasks/registry.ts [flags]`.
# Node 20 reads `--env-file` anywhere on its command line, even after the script, and ends with
# its own "not found" (exit 9) before our code runs. --env-file is ours (a missing file must be
# exit 2 with its path), so it is handed over as --settings-file, which Node leaves alone.
script=$1
shift
for arg do
  shift
  case $arg in
    --env-file) set -- "$@" --settings-file ;;
    --env-file=*) set -- "$@" "--settings-file=${arg#--env-file=}" ;;
    *) set -- "$@" "$arg" ;;
  esac
done
exec node --import tsx "$script" "$@"
