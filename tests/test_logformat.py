"""The progress.log grammar: whatever the writers produce, the reader gives back as the same
event (property test), and text the writers are handed is made safe for one line."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from hypothesis import example, given, settings
from hypothesis import strategies as st

from ralph import logformat as lf

STORY = st.from_regex(r"[A-Za-z][A-Za-z0-9_.-]{0,63}", fullmatch=True)
# Text the writers keep as it is: printable, no line breaks, no surrounding whitespace.
CLEAN = st.text(st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), max_size=80).map(str.strip).filter(
    lambda s: s == lf._clean(s))
ANY_TEXT = st.text(max_size=80)
MOMENT = st.datetimes(min_value=datetime(1971, 1, 2), max_value=datetime(2999, 12, 30),
                      timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=5, minutes=30)),
                                                 timezone(timedelta(hours=-7))]))

# (line written, the event's class, its fields after (line, stamp, at) or after line)
STAMPED = st.one_of(
    st.builds(lambda n: (lf.run_started(n), lf.RunStarted, (n,)), st.integers(0, 10**9)),
    st.builds(lambda r: (lf.run_ended(r), lf.RunEnded, (r or None,)), st.one_of(st.none(), CLEAN)),
    st.builds(lambda n, s, t: (lf.iteration_started(n, s, t), lf.IterationStarted, (n, s, t)),
              st.integers(0, 10**6), STORY, CLEAN),
    st.builds(lambda n, o: (lf.iteration_ended(n, o), lf.IterationEnded, (n, o, None)),
              st.integers(0, 10**6), st.sampled_from(["success", "issues"])),
    st.builds(lambda s: (lf.story_completed(s), lf.StoryCompleted, (s,)), STORY),
    st.builds(lambda t: (lf.note(t), lf.Note, (t,)), CLEAN),
)
PLAIN = st.one_of(
    st.builds(lambda t: (lf.finding(t), lf.Finding, (t,)), CLEAN),
    st.builds(lambda t: (lf.bullet(t), lf.Bullet, (t,)), CLEAN),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.tuples(STAMPED, MOMENT), st.tuples(PLAIN, st.none())), max_size=12))
def test_every_written_event_reads_back_the_same(
        events: list[tuple[tuple[str, Callable[..., lf.Event], tuple[object, ...]], datetime | None]]) -> None:
    lines, expected = [], []
    for number, ((body, kind, fields), at) in enumerate(events, start=1):
        if at is None:
            lines.append(body)
            expected.append(kind(number, *fields))
        else:
            lines.append(lf.stamped(body, at))
            expected.append(kind(number, lf.stamp(at), at, *fields))
    read = list(lf.read_events(line + "\n" for line in lines))
    assert [(type(e), e) for e in read] == [(type(e), e) for e in expected]  # a tuple's == ignores its class


@settings(max_examples=300, deadline=None)
@given(STORY, ANY_TEXT, ANY_TEXT, ANY_TEXT)
def test_any_text_handed_to_a_writer_stays_one_readable_line(story: str, title: str, text: str, reason: str) -> None:
    at = datetime(2026, 1, 24, 19, 46, 14, 687089, tzinfo=timezone.utc)
    lines = [lf.stamped(lf.iteration_started(3, story, title), at), lf.finding(text), lf.bullet(text),
             lf.stamped(lf.run_ended(reason), at)]
    assert all("\n" not in line and "\r" not in line for line in lines)
    started, found, bullet, ended = lf.read_events(line + "\n" for line in lines)
    assert isinstance(started, lf.IterationStarted) and isinstance(found, lf.Finding)
    assert isinstance(bullet, lf.Bullet) and isinstance(ended, lf.RunEnded)
    assert (started.number, started.story, started.title) == (3, story, lf._clean(title))
    assert ended.reason == (lf._clean(reason) or None)
    assert found.text == bullet.text == lf._clean(text)


LINE = st.sampled_from([
    "[2026-01-24T19:46:14.687089] Iteration 1 completed successfully", "[2026-01-24] Iteration 1 completed successfully",
    "[2026-01-24T19:46:14+05:30] Iteration 2: S-1 - Title", "[2026-01-24\x0019:46:14] Iteration 2: S-1 - Title",
    "[2026-01-24T19:46:14\x00] Iteration 2: S-1 - Title", "[not a stamp] Iteration 1 completed successfully",
    "[2026-01-24T19:46:14] Iteration 1 completed successfully\x01", "[2026-01-24T19:46:14] Iteration 1 completed",
    "[2026-01-24T19:46:14] Note: x", "[2026-01-24T19:46:14]  S-1 completed ", "    - a finding", "- a bullet", "-",
    "# comment", "", "   ", "caf\udce9", "\x00\x01", "noise", "[", "[]", "] ", "\ufeff# title",
]) | st.text(max_size=20)


def dispatched(text: list[str]) -> list[lf.Event]:
    """What ``dispatch`` hands its handlers, as events again (its tally checked against them)."""
    events: list[lf.Event] = []
    def collect(kind: type[lf.Event]) -> Callable[..., None]:
        return lambda *head: events.append(kind(*head[:-1], *head[-1]))
    read, expected = lf.dispatch(text, {kind: collect(kind) for kind in lf.EVENTS}), lf.Tally()
    for event in events:
        expected.count(event)
    assert [(t.lines, list(t.styles.items()), t.first, t.last) for t in (read, expected)] == [
        (expected.lines, list(expected.styles.items()), expected.first, expected.last)] * 2
    return events


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(LINE, st.sampled_from(["\n", "\r\n", "\r", ""])), max_size=30))
@example([("[2026-01-24T19:46:14+05:30] Iteration 2: S-1 - Title", "\n"),  # a remembered text after a stamp
          ("[2026-01-24\x0019:46:14] Iteration 2: S-1 - Title", "\n"),  # that fromisoformat reads, NUL and all
          ("[2026-01-24T19:46:14\x00] Iteration 2: S-1 - Title", "\n")])
@example([("\ufeff", "")])  # a BOM alone: one empty line
@example([("\ufeff", "\r"), ("", "\n")])  # a BOM, then \r\n split across pieces
def test_the_reader_remembers_nothing_that_changes_what_a_line_reads_as(lines: list[tuple[str, str]]) -> None:
    """Lines repeat with other stamps, endings and neighbours: what the fast reader (dispatch)
    remembers of a line's text never makes it read otherwise than classify() reads the line alone."""
    text = [line.replace("\r", " ").replace("\n", " ") + ending for line, ending in lines]
    text = [line for line in text[:-1] if line[-1:] in ("\n", "\r")] + text[-1:]  # only the last may lack an ending
    expected = [lf.classify(line.rstrip("\r\n").removeprefix("\ufeff" if n == 1 else ""), n)
                for n, line in enumerate(text, start=1)]
    assert [(type(e), e) for e in lf.read_events(text)] == [(type(e), e) for e in expected]
    # dispatch reads text as a file does ("\r" then "\n" is one ending), in pieces of any size
    joined = "".join(text)
    expected = [lf.classify(line.rstrip("\r\n").removeprefix("\ufeff" if n == 1 else ""), n)
                for n, line in enumerate(io.StringIO(joined, newline=""), start=1)]
    for pieces in (text, [joined], [joined[i:i + 7] for i in range(0, len(joined), 7)], list(joined)):
        assert [(type(e), e) for e in dispatched(pieces)] == [(type(e), e) for e in expected]


def test_the_fast_reader_forgets_when_its_memo_is_full() -> None:
    """More distinct texts than dispatch remembers, each seen twice (remembered, or forgotten
    since): every line still reads as classify() reads it."""
    text = []
    for n in range(2 * (lf._REMEMBERED + 50)):
        story = f"S-{n % (lf._REMEMBERED + 50)}"
        text += [f"[2026-01-24T10:00:{n % 60:02d}] Iteration 1: {story} - title\n", f"    - finding {story}\n"]
    expected = [lf.classify(line.rstrip("\n"), n) for n, line in enumerate(text, start=1)]
    assert [(type(e), e) for e in dispatched(text)] == [(type(e), e) for e in expected]
