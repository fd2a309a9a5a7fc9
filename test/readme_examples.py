#!/usr/bin/env python3
"""Run every ```sql block of README.md, in order, in one psql session, and
compare what each statement returns with the output the README shows.

Usage: readme_examples.py [--list] README.md
  (psql connects as PGHOST/PGPORT/PGUSER/PGDATABASE say; run it from the
  repository's top folder, where the README's relative paths point.)

Conventions in README.md (see also test/sql_readme.sh):

* Every ```sql block runs, unless the last non-blank line before its fence
  is a marker  <!-- not run: REASON -->  (REASON is required and printed).
  A marker that is not followed by a ```sql block is an error.
* A statement ends at a ';' outside quotes, dollar quotes and comments.
  A line starting with '\\' between statements is a psql meta-command
  (\\set, \\c, \\copy ...) and is run as it is.
* Output shown right after a statement, as comment lines, is compared with
  what the statement returns.  An output line is '-- ' followed by a line of
  psql's aligned output, which always starts with a space, so output lines
  start with '--  ' (two spaces), while '-- text' (one space) is an ordinary
  comment.  In the output:
    - the header line is optional; separator lines (----+----) are ignored;
    - cells are split at '|' (only when the result has several columns, so
      a value holding '|' cannot be shown there) and compared as text,
      value for value, with runs of white space (newlines too) as one space;
    - a line holding only '...' stands for any number of rows (elided);
    - '(N rows)' or '(1 row)' states the number of rows;
    - '-- ERROR:  message' says the statement fails with that message.
* A statement without output shown must succeed; its rows are not checked.
Exit status: 0 all matched, 1 a mismatch or an error, 2 the README could not
be parsed (the message names the line).
"""
import difflib
import os
import re
import subprocess
import sys

FS = '\x1f'   # field separator of psql's unaligned output
RS = '\x1e'   # record separator
MARK = '@@readme@@'

MARKER_RE = re.compile(r'^\s*<!--\s*not run\b(.*?)-->\s*$')
FENCE_RE = re.compile(r'^(```|~~~)\s*([A-Za-z0-9_+-]*)\s*$')
DOLLAR_RE = re.compile(r'\$([A-Za-z_\x80-\uffff][A-Za-z_0-9\x80-\uffff]*)?\$')
ROWS_RE = re.compile(r'^\((\d+) rows?\)$')
SEPARATOR_RE = re.compile(r'^-+(\+-+)*$')


class ParseError(Exception):
    pass


class Statement:
    """One SQL statement or meta-command of a block, with what it shows."""

    def __init__(self, kind, text, line):
        self.kind = kind            # 'sql' or 'meta'
        self.text = text
        self.line = line            # README line where it starts
        self.expected = []          # output lines, '-- ' removed
        self.expected_line = None


def is_output_line(line):
    """'--  x' (psql's aligned output after '-- '), its separator line
    '-- ---+---', '-- ERROR:', '-- (N rows)'."""
    if not line.startswith('-- '):
        return False
    rest = line[3:].rstrip()
    return (rest.startswith(' ') or rest.startswith('ERROR:')
            or SEPARATOR_RE.match(rest) is not None or ROWS_RE.match(rest) is not None)


def split_block(lines, first_line):
    """Split the lines of one sql block into statements with their output.

    A small lexer of PostgreSQL's syntax: quotes ('', E'' with backslash
    escapes, ""), dollar quotes, -- and nested /* */ comments.
    """
    items = []
    buf = []            # text of the statement being read
    start = None        # its first line
    state = None        # None, "'", "E'", '"', ('$', tag), ('/*', depth)
    tail_only = False   # since the last statement: only its line's own comment
    for offset, line in enumerate(lines):
        lineno = first_line + offset
        pending = ''.join(buf).strip()
        if state is None and not strip_comments(pending):
            # between statements: output, a meta-command, comments, blank
            if is_output_line(line):
                if not items:
                    raise ParseError('line %d: output shown before any statement' % lineno)
                if pending and not tail_only:
                    raise ParseError('line %d: output must directly follow its statement '
                                     '(a comment is in between)' % lineno)
                if items[-1].kind != 'sql':
                    raise ParseError('line %d: output shown after a psql meta-command' % lineno)
                if items[-1].expected_line is None:
                    items[-1].expected_line = lineno
                elif lines[offset - 1].strip() == '' or not is_output_line(lines[offset - 1]):
                    raise ParseError('line %d: two separate outputs for the statement of line %d'
                                     % (lineno, items[-1].line))
                items[-1].expected.append(line[3:])
                continue
            if line.startswith('\\'):
                items.append(Statement('meta', line.rstrip('\n'), lineno))
                buf, start = [], None
                continue
        elif state is None and is_output_line(line):
            raise ParseError('line %d: output shown inside an unfinished statement '
                             '(begun on line %d; missing ";"?)' % (lineno, start))
        i = 0
        n = len(line)
        ended_here = False
        while i < n:
            c = line[i]
            if state is None:
                if c == "'":
                    state = "E'" if i > 0 and line[i - 1] in 'eE' and \
                        (i < 2 or not (line[i - 2].isalnum() or line[i - 2] == '_')) else "'"
                elif c == '"':
                    state = '"'
                elif c == '-' and line.startswith('--', i):
                    i = n       # comment to the end of the line
                    continue
                elif c == '/' and line.startswith('/*', i):
                    state = ('/*', 1)
                    i += 1
                elif c == '$' and (i == 0 or not (line[i - 1].isalnum() or line[i - 1] == '_')):
                    m = DOLLAR_RE.match(line, i)
                    if m:
                        state = ('$', m.group(0))
                        i = m.end() - 1
                elif c == ';':
                    if start is None:
                        start = lineno
                    buf.append(line[:i + 1])
                    text = ''.join(buf).strip()
                    items.append(Statement('sql', text, start))
                    buf, start = [], None
                    line = line[i + 1:]
                    n = len(line)
                    i = 0
                    ended_here = True
                    continue
            elif state in ("'", '"'):
                if c == state:
                    if i + 1 < n and line[i + 1] == state:
                        i += 1
                    else:
                        state = None
            elif state == "E'":
                if c == '\\':
                    i += 1
                elif c == "'":
                    if i + 1 < n and line[i + 1] == "'":
                        i += 1
                    else:
                        state = None
            elif state[0] == '$':
                if line.startswith(state[1], i):
                    i += len(state[1]) - 1
                    state = None
            elif state[0] == '/*':
                if line.startswith('*/', i):
                    state = None if state[1] == 1 else ('/*', state[1] - 1)
                    i += 1
                elif line.startswith('/*', i):
                    state = ('/*', state[1] + 1)
                    i += 1
            i += 1
        if line.strip() and start is None and strip_comments(line):
            start = lineno
        if ended_here:
            tail_only = True
        elif line.strip():
            tail_only = False
        buf.append(line + '\n')
    rest = strip_comments(''.join(buf))
    if state is not None:
        raise ParseError('line %d: the block ends inside %s' % (
            start or first_line, {"'": 'a string', "E'": 'a string', '"': 'a quoted name'}.get(
                state, 'a dollar quote' if state[0] == '$' else 'a comment')))
    if rest:
        raise ParseError('line %d: the block ends with a statement without ";"' % (start or first_line))
    return items


def strip_comments(text):
    """Text without -- comments and blank space (enough to see if it is empty)."""
    return re.sub(r'--[^\n]*', '', text).strip()


def parse_readme(path):
    """The README's sql blocks: (blocks to run, skipped blocks with reasons)."""
    with open(path, encoding='utf-8') as f:
        lines = f.read().split('\n')
    blocks, skipped = [], []
    marker = None           # (line, reason) of a pending not-run marker
    last_nonblank = None
    i = 0
    while i < len(lines):
        line = lines[i]
        m = FENCE_RE.match(line)
        if m:
            fence, lang = m.group(1), m.group(2).lower()
            j = i + 1
            while j < len(lines) and not lines[j].startswith(fence):
                j += 1
            if j == len(lines):
                raise ParseError('line %d: the code block never ends' % (i + 1))
            if lang == 'sql':
                if marker is not None and marker[0] == last_nonblank:
                    skipped.append((i + 1, marker[1]))
                else:
                    blocks.append((i + 1, split_block(lines[i + 1:j], i + 2)))
                marker = None
            elif marker is not None and marker[0] == last_nonblank:
                raise ParseError('line %d: a not-run marker before a %s block, not an sql one'
                                 % (marker[0], lang or 'plain'))
            last_nonblank = j + 1
            i = j + 1
            continue
        mm = MARKER_RE.match(line)
        if mm:
            reason = mm.group(1).strip()
            if not reason.startswith(':') or not reason[1:].strip():
                raise ParseError('line %d: write the marker as <!-- not run: REASON -->' % (i + 1))
            marker = (i + 1, reason[1:].strip())
        elif line.strip() and marker is not None and marker[0] == last_nonblank:
            raise ParseError('line %d: the not-run marker is not followed by an sql block'
                             % marker[0])
        if line.strip():
            last_nonblank = i + 1
        i += 1
    if marker is not None and marker[0] == last_nonblank:
        raise ParseError('line %d: the not-run marker is not followed by an sql block' % marker[0])
    return blocks, skipped


def psql_script(statements):
    """The script psql runs: each SQL statement between markers."""
    out = ['\\set VERBOSITY terse',
           '\\pset format unaligned', '\\pset fieldsep ' + FS,
           '\\pset recordsep ' + RS, '\\pset footer off', '\\pset null ""']
    for k, st in enumerate(statements):
        if st.kind == 'meta':
            out.append(st.text)
            continue
        out.append('\\echo %s begin %d' % (MARK, k))
        out.append(st.text)
        out.append('\\echo %s end %d :ERROR' % (MARK, k))
        out.append('\\if :ERROR')
        out.append('\\echo :LAST_ERROR_MESSAGE')
        out.append('\\endif')
    return '\n'.join(out) + '\n'


def parse_results(stdout):
    """{statement index: (rows, error)} from psql's output; rows[0] is the header."""
    results = {}
    pos = 0
    begin_re = re.compile(re.escape(MARK) + r' begin (\d+)\n')
    end_re = re.compile(re.escape(MARK) + r' end (\d+) (true|false)\n')
    while True:
        b = begin_re.search(stdout, pos)
        if not b:
            break
        e = end_re.search(stdout, b.end())
        if not e or e.group(1) != b.group(1):
            raise RuntimeError('psql output lost its markers after statement %s' % b.group(1))
        body = stdout[b.end():e.start()]
        error = None
        pos = e.end()
        if e.group(2) == 'true':
            nl = stdout.find('\n', pos)
            error = stdout[pos:nl]
            pos = nl + 1
        if body.endswith('\n'):
            body = body[:-1]
        rows = [r.split(FS) for r in body.split(RS)] if body else []
        results[int(b.group(1))] = (rows, error)
    return results


def norm(cell):
    return ' '.join(cell.split())


def expected_rows(st, ncols):
    """The README's output of a statement: (rows, wildcard flags, row count or None)."""
    rows, count = [], None
    for raw in st.expected:
        text = raw.strip()
        if not text or SEPARATOR_RE.match(text.replace(' ', '')):
            continue
        m = ROWS_RE.match(text)
        if m:
            count = int(m.group(1))
            continue
        if text == '...':
            rows.append(None)
        elif ncols > 1:
            rows.append([norm(c) for c in text.split('|')])
        else:
            rows.append([norm(text)])
    return rows, count


def match_rows(pattern, actual):
    """Do the rows match, None in pattern standing for any number of rows?"""
    memo = {}

    def go(p, a):
        if (p, a) in memo:
            return memo[(p, a)]
        if p == len(pattern):
            r = a == len(actual)
        elif pattern[p] is None:
            r = go(p + 1, a) or (a < len(actual) and go(p, a + 1))
        else:
            r = a < len(actual) and pattern[p] == actual[a] and go(p + 1, a + 1)
        memo[(p, a)] = r
        return r
    return go(0, 0)


NUMBER_RE = re.compile(r'^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$')


def aligned(rows):
    """rows (header first) laid out as psql's aligned format does (headers
    centred, numbers right-aligned), '-- ' added: ready to paste."""
    if not rows:
        return []
    rows = [[' '.join(c.split('\n')) for c in r] for r in rows]
    ncols = len(rows[0])
    widths = [max(len(r[i]) for r in rows) for i in range(ncols)]
    numeric = [all(NUMBER_RE.match(r[i]) or r[i] == '' for r in rows[1:]) and len(rows) > 1
               for i in range(ncols)]
    out = []
    head = []
    for c, w in zip(rows[0], widths):
        left = (w - len(c)) // 2
        head.append(' ' * left + c + ' ' * (w - len(c) - left))
    out.append(('--  ' + ' | '.join(head)).rstrip())
    for r in rows[1:]:
        cells = [c.rjust(w) if num else c.ljust(w) for c, w, num in zip(r, widths, numeric)]
        out.append(('--  ' + ' | '.join(cells)).rstrip())
    return out


def compare(st, result):
    """An error message if the statement's result does not match the README, else None."""
    rows, error = result
    shown = [l for l in st.expected if l.strip()]
    if error is not None:
        if shown and shown[0].startswith('ERROR:'):
            if norm(shown[0][len('ERROR:'):]) == norm(error):
                return None
            return 'the error differs:\n    README: %s\n    actual: ERROR:  %s' % (shown[0], error)
        return 'fails: ERROR:  %s' % error
    if shown and shown[0].startswith('ERROR:'):
        return 'the README shows an error, but it succeeds'
    if not shown:
        return None
    header = [norm(c) for c in rows[0]] if rows else []
    data = [[norm(c) for c in r] for r in rows[1:]]
    pattern, count = expected_rows(st, len(header))
    if pattern and pattern[0] is not None and pattern[0] == header:
        pattern = pattern[1:]
    problems = []
    if count is not None and count != len(data):
        problems.append('the README says %d rows, the query returns %d' % (count, len(data)))
    if (pattern or count is None) and not match_rows(pattern, data):
        problems.append('the rows differ')
    if not problems:
        return None
    # a diff of the values, one row a line, then the whole result to paste
    flat = lambda r: '...' if r is None else ' | '.join(r)
    had_header = len(pattern) < len(expected_rows(st, len(header))[0])
    diff = difflib.unified_diff([flat(r) for r in expected_rows(st, len(header))[0]],
                                [flat(r) for r in ([header] if had_header else []) + data],
                                'README line %d' % st.expected_line, 'actual',
                                lineterm='', n=100)
    return ('; '.join(problems) + ':\n' + '\n'.join('    ' + d for d in diff)
            + '\n  the actual output, as psql prints it:\n'
            + '\n'.join('    ' + l for l in aligned(rows)))


def main(argv):
    args = [a for a in argv[1:] if not a.startswith('--')]
    readme = args[0] if args else 'README.md'
    try:
        blocks, skipped = parse_readme(readme)
    except ParseError as e:
        print('%s: cannot parse: %s' % (readme, e))
        return 2
    statements = [st for _, items in blocks for st in items]
    n_sql = sum(1 for st in statements if st.kind == 'sql')
    n_shown = sum(1 for st in statements if st.expected)
    if '--list' in argv:
        for first, items in blocks:
            for st in items:
                print('%d: %s%s' % (st.line, st.text.split('\n')[0][:70],
                                    ' [%d output lines]' % len(st.expected) if st.expected else ''))
        return 0
    proc = subprocess.run(['psql', '-X', '-q', '-f', '-'], input=psql_script(statements),
                          capture_output=True, text=True, timeout=300)
    failures = []
    # psql's own messages start with "psql:"; anything else on stderr (a
    # failing `command` of a \set, say) is a failure, and so is a
    # client-side error (\copy, \c).
    for line in proc.stderr.splitlines():
        if not line.startswith('psql:') or re.match(r'^psql:[^:]*:\d+: (error|fatal):', line):
            failures.append('psql: %s' % line)
    results = parse_results(proc.stdout)
    for k, st in enumerate(statements):
        if st.kind != 'sql':
            continue
        if k not in results:
            failures.append('README line %d: no result (psql stopped?)\n  %s' % (st.line, st.text))
            continue
        problem = compare(st, results[k])
        if problem:
            first = [l for l in st.text.split('\n') if strip_comments(l)] or [st.text]
            failures.append('README line %d: %s%s\n  %s' % (
                st.line, first[0][:100], ' ...' if len(first) > 1 else '', problem))
    print('README.md: %d sql blocks run (%d statements, %d with their output shown and compared), '
          '%d blocks not run' % (len(blocks), n_sql, n_shown, len(skipped)))
    for line, reason in skipped:
        print('  not run: line %d: %s' % (line, reason))
    for f in failures:
        print('FAIL ' + f)
    if proc.returncode != 0:
        print('FAIL psql exited with status %d' % proc.returncode)
        failures.append('psql')
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
