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
def test_every_written_event_reads_back_the_same(events: list) -> None:  # type: ignore[type-arg]
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
