#!/usr/bin/env python3
"""Find pipes that race with SIGPIPE in shell scripts run under pipefail.

Usage: pipelint.py FILE...

`producer | grep -q PATTERN` (also grep -m, grep -l, head) lets the
reader exit as soon as it has seen enough; a producer still writing then
dies of SIGPIPE, and under `set -o pipefail` the whole pipeline fails
although the pattern was found.  Whether that happens depends on
scheduling, so such a test fails now and then on a busy machine.  Write
`grep -q PATTERN <<<"$(producer)"`, `[[ $x == *text* ]]`, a file, or a
reader that consumes all of its input (`sed -n 1p` for `head -n 1`).

Every script is checked (the tests and the helpers they source run
under pipefail), except here-document bodies (scripts for another
shell).  A line may carry `# sigpipe-ok: WHY` when the producer cannot
fail that way.  Prints FILE:LINE: TEXT for each
finding; exits 1 if there is any.
"""
import re
import sys

# a single '|' (not '||') followed by an early-exiting reader
EARLY = re.compile(r'(?<![|>])\|(?!\|)\s*(?:head\b|grep\s+(?:[^\s|]+\s+)*?'
                   r'(?:-[A-Za-z]*[qml]|--quiet\b|--silent\b|--max-count'
                   r'|--files-with))')
HEREDOC = re.compile(r"<<-?\s*(['\"]?)([A-Za-z_][A-Za-z0-9_]*)\1")


def logical_lines(text):
    """(first line number, joined text) with continuations joined and
    here-document bodies left out"""
    lines = text.split('\n')
    i, out = 0, []
    while i < len(lines):
        start, cur = i + 1, lines[i]
        terms = []
        while True:
            code = cur.split(' #')[0] if not cur.lstrip().startswith('#') else ''
            terms += [m.group(2) for m in HEREDOC.finditer(code)]
            stripped = code.rstrip()
            if (stripped.endswith(('\\', '|', '&&')) and i + 1 < len(lines)):
                i += 1
                cur = cur.rstrip().rstrip('\\') + ' ' + lines[i].strip()
                continue
            break
        out.append((start, cur))
        i += 1
        for term in terms:
            while i < len(lines) and lines[i].strip() != term:
                i += 1
            i += 1
    return out


def check(path):
    with open(path, encoding='utf-8', errors='replace') as f:
        text = f.read()
    bad = []
    for num, line in logical_lines(text):
        if line.lstrip().startswith('#') or 'sigpipe-ok:' in line:
            continue
        code = line.split(' #')[0]
        if EARLY.search(code):
            bad.append(f'{path}:{num}: {line.strip()[:160]}')
    return bad


def main():
    bad = []
    for path in sys.argv[1:]:
        bad += check(path)
    for b in bad:
        print(b)
    if bad:
        print(f'pipelint: {len(bad)} pipe(s) that can die of SIGPIPE under '
              'pipefail; see tests/tools/pipelint.py for the fix')
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
