"""The progress.log grammar: whatever the writers produce, the reader gives back as the same
event (property test), and text the writers are handed is made safe for one line."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import given, settings
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

STAMPED = st.one_of(
    st.builds(lambda n: (lf.run_started(n), (lf.RUN_START, n, None)), st.integers(0, 10**9)),
    st.builds(lambda r: (lf.run_ended(r), (lf.RUN_END, r or None, None)), st.one_of(st.none(), CLEAN)),
    st.builds(lambda n, s, t: (lf.iteration_started(n, s, t), (lf.ITER_START, (n, s), t)),
              st.integers(0, 10**6), STORY, CLEAN),
    st.builds(lambda n, o: (lf.iteration_ended(n, o), (lf.ITER_END, (n, o), None)),
              st.integers(0, 10**6), st.sampled_from(["success", "issues"])),
    st.builds(lambda s: (lf.story_completed(s), (lf.STORY_COMPLETED, s, None)), STORY),
    st.builds(lambda t: (lf.note(t), (lf.NOTE, t, None)), CLEAN),
)
PLAIN = st.one_of(
    st.builds(lambda t: (lf.finding(t), (lf.FINDING, t, None)), CLEAN),
    st.builds(lambda t: (lf.bullet(t), (lf.BULLET, t, None)), CLEAN),
)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.one_of(st.tuples(STAMPED, MOMENT), st.tuples(PLAIN, st.none())), max_size=12))
def test_every_written_event_reads_back_the_same(events: list[tuple[tuple[str, tuple[object, ...]], datetime | None]]) -> None:
    lines, expected = [], []
    for (body, event), at in events:
        lines.append(lf.stamped(body, at) if at is not None else body)
        expected.append((*event, at))
    read = list(lf.read_events(line + "\n" for line in lines))
    assert [(e.kind, e.a, e.b, e.at) for e in read] == expected
    assert [e.line for e in read] == list(range(1, len(lines) + 1))


@settings(max_examples=300, deadline=None)
@given(STORY, ANY_TEXT, ANY_TEXT, ANY_TEXT)
def test_any_text_handed_to_a_writer_stays_one_readable_line(story: str, title: str, text: str, reason: str) -> None:
    at = datetime(2026, 1, 24, 19, 46, 14, 687089, tzinfo=timezone.utc)
    lines = [lf.stamped(lf.iteration_started(3, story, title), at), lf.finding(text), lf.bullet(text),
             lf.stamped(lf.run_ended(reason), at)]
    assert all("\n" not in line and "\r" not in line for line in lines)
    read = list(lf.read_events(line + "\n" for line in lines))
    assert [e.kind for e in read] == [lf.ITER_START, lf.FINDING, lf.BULLET, lf.RUN_END]
    assert read[0].a == (3, story) and read[0].b == lf._clean(title)
    assert read[3].a == (lf._clean(reason) or None)
    assert read[1].a == read[2].a == lf._clean(text)
