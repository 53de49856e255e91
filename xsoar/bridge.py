"""Cortex XSOAR bridge for the ms-management-activity executable (docs/protocol.md).

Hands the engine's call to the executable as one JSON envelope on stdin and maps
its JSON result back. Edit this file, then run `go run ./xsoar/embed` to embed it
into integration.yml as script.script.
"""
import json
import os
import shutil
import subprocess

import demistomock as demisto  # noqa: F401
from CommonServerPython import *  # noqa: F401,F403

NAME = 'ms-management-activity'
FETCH = 'fetch-incidents'


def health(messages):
    if messages and hasattr(demisto, 'updateModuleHealth'):
        demisto.updateModuleHealth('\n'.join(str(m) for m in messages))


def main():
    command = demisto.command()
    envelope = {'command': command, 'params': demisto.params() or {}, 'args': demisto.args() or {},
                'integrationContext': demisto.getIntegrationContext() or {}}
    if command == FETCH:
        envelope['lastRun'] = demisto.getLastRun() or {}
    binary = os.environ.get('MSMA_BINARY') or shutil.which(NAME)
    if not binary or not os.path.isfile(binary) or not os.access(binary, os.X_OK):
        return_error('The %s executable was not found%s: set the MSMA_BINARY environment variable to its path, '
                     'or use the integration\'s docker image, which has it on PATH.'
                     % (NAME, ' at MSMA_BINARY=%s' % binary if os.environ.get('MSMA_BINARY') else ' on PATH'))
    # The executable stops by itself before budget; the kill after grace is a last resort (165 s < XSOAR's 180).
    budget, grace = float(os.environ.get('MSMA_TIMEOUT') or 150), float(os.environ.get('MSMA_GRACE') or 15)
    envelope['budgetSeconds'] = budget
    try:
        proc = subprocess.run([binary], input=json.dumps(envelope).encode('utf-8'),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=budget + grace)
    except subprocess.TimeoutExpired as e:
        demisto.debug((e.stderr or b'').decode('utf-8', 'replace'))
        return_error('%s was killed: %s ran past its %g s budget (MSMA_TIMEOUT) + %g s grace (MSMA_GRACE).'
                     % (NAME, command, budget, grace))
    except OSError as e:
        return_error('Could not run %s (MSMA_BINARY=%s): %s' % (NAME, binary, e))
    stderr = proc.stderr.decode('utf-8', 'replace').strip()
    if stderr:
        demisto.debug(stderr)
    try:
        out = json.loads(proc.stdout.decode('utf-8'))
    except ValueError:
        out = None
    if not isinstance(out, dict):
        return_error('%s exited with code %d without a JSON result. %s'
                     % (NAME, proc.returncode, stderr.splitlines()[-1] if stderr else ''))
    entries = [e for e in out.get('results') or [] if isinstance(e, dict)]
    errors = [e for e in entries if e.get('Type') == 4]
    if isinstance(out.get('integrationContext'), dict):
        demisto.setIntegrationContext(out['integrationContext'])
    notes = [e.get('Contents') for e in entries if e.get('Type') == 11]
    last_run = out.get('lastRun') if isinstance(out.get('lastRun'), dict) else None
    diagnostics = (last_run or {}).get('diagnostics')  # fetch: {"warnings": [...], "error": "...", ...}
    if isinstance(diagnostics, dict):
        notes += [m for m in (diagnostics.get('warnings') or []) + [diagnostics.get('error')] if m and m not in notes]
    health(notes)
    if command != FETCH:
        for entry in entries:
            if entry not in errors:
                demisto.results(entry)
    if errors or proc.returncode != 0:
        return_error(str(errors[0].get('Contents')) if errors else '%s exited with code %d.' % (NAME, proc.returncode))
    if command == FETCH:
        if last_run is not None:
            demisto.setLastRun(last_run)
        demisto.incidents(out.get('incidents') or [])


if __name__ in ('__main__', '__builtin__', 'builtins'):
    main()
