"""Speed of the default offline judge (the learned judge) and coherence over a full basic run.

    python -m benchmarks.bench_judging [--data ../shared/eibench] [--limit N]

Builds one answer of 3 to 8 sentences per basic sample, deterministically: an opening that
names the emotion, paraphrase-like sentences around some of the sample's own triggers,
generic filler, and now and then another sample's trigger. Then times, in one process:
loading the model (imports included), judging every answer with a cold ground-truth cache,
coherence on the same answers (sharing the judge's sentence embeddings), and a re-judge by a
fresh encoder whose trigger cache on disk is warm. Prints a table of the figures.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

OPENINGS = (
    "{Who} appears {feeling}, and several details in the image explain why.",
    "Looking at the picture, {who} seems {feeling}.",
    "{Who} looks {feeling} in this scene, for a few reasons.",
)
TEMPLATES = (
    "One likely reason is {t}.",
    "This could be related to {t}, which often shapes how someone feels.",
    "The image also suggests {t}.",
    "{T} may play an important role here.",
    "Another factor might be {t}, as seen in the scene.",
)
FILLER_START = (
    "Overall,",
    "In general,",
    "At the same time,",
    "Beyond that,",
    "Taken together,",
    "In this moment,",
    "Clearly,",
    "Above all,",
)
FILLER = (
    "the scene around {who} conveys a strong emotional atmosphere.",
    "this feeling is a natural reaction for {who} to what is happening nearby.",
    "it is difficult to know the full context of {who} from a single image.",
    "the lighting and composition draw attention to {who}.",
    "{who} shows the feeling through small details of posture.",
    "the emotion of {who} seems genuine rather than posed.",
    "the moment captured here says a lot about {who}.",
    "the surroundings reinforce the mood of {who}.",
)
FEELINGS = {"happy": "happy", "angry": "angry", "sad": "sad", "excited": "excited"}
_SUBJECT = re.compile(
    r"\b(?:caused|of|to|for)\s+(the\s+(?!formation)[\w' -]{3,60}?)\s+(?:to|in|while|as|so)\b"
)


def _subject(question: str) -> str:
    """'the man sitting on the couch' from the question, else 'the person'."""
    match = _SUBJECT.search(question)
    return match.group(1).lower() if match else "the person"


def _phrase(trigger: str) -> str:
    text = trigger.strip().rstrip(".")
    return text[:1].lower() + text[1:]


def build_answers(samples: list, seed: int = 0) -> list[str]:  # type: ignore[type-arg]
    """One deterministic answer per sample (see the module doc)."""
    answers = []
    for i, sample in enumerate(samples):
        rng = random.Random(seed * 100_003 + i)
        who = _subject(sample.question)
        feeling = FEELINGS.get(sample.emotion, "moved")
        lines = [rng.choice(OPENINGS).format(who=who, Who=who.capitalize(), feeling=feeling)]
        own = rng.sample(sample.triggers, k=rng.randint(1, min(4, len(sample.triggers))))
        for trigger in own:
            t = _phrase(trigger)
            lines.append(rng.choice(TEMPLATES).format(t=t, T=t[:1].upper() + t[1:]))
        if rng.random() < 0.5:
            other = samples[rng.randrange(len(samples))]
            lines.append(f"There may also be {_phrase(rng.choice(other.triggers))}.")
        for body in rng.sample(FILLER, k=rng.randint(1, 2)):
            lines.append(f"{rng.choice(FILLER_START)} {body.format(who=who)}")
        answers.append(" ".join(lines[:8]))
    return answers


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "eibench")
    parser.add_argument("--limit", type=int, default=None, help="judge only the first N samples")
    args = parser.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.path.insert(0, str(REPO / "src"))

    from eibench.data import load_split
    from eibench.embed.encoder import TransformerEncoder, load_encoder
    from eibench.judges.learned import offline_judge
    from eibench.judges.semantic import answer_segments
    from eibench.metrics.coherence import coherence_many, mean_coherence

    samples = load_split(args.data, "basic").samples[: args.limit]
    answers = build_answers(samples)
    items = [(a, s.triggers) for a, s in zip(answers, samples, strict=True)]
    n_sentences = sum(len(answer_segments(a)) for a in answers)
    n_unique = len({s for a in answers for s in answer_segments(a)})
    n_triggers = sum(len(s.triggers) for s in samples)

    with tempfile.TemporaryDirectory() as cache:
        t0 = time.perf_counter()
        encoder = load_encoder(cache_dir=Path(cache))
        assert isinstance(encoder, TransformerEncoder)
        encoder.load()  # read on first need otherwise: timed here, not in the judging
        t_load = time.perf_counter() - t0

        judge = offline_judge(encoder)
        t0 = time.perf_counter()
        verdicts = judge.judge_many(items)
        t_judge = time.perf_counter() - t0
        encoded_judge = encoder.encoded

        t0 = time.perf_counter()
        values = coherence_many(answers, encoder)
        t_coherence = time.perf_counter() - t0
        encoded_coherence = encoder.encoded - encoded_judge

        encoder.clear_memo()  # a re-judge in a new process: only the disk cache survives
        before = encoder.encoded
        t0 = time.perf_counter()
        again = judge.judge_many(items)
        t_warm = time.perf_counter() - t0
        encoded_warm = encoder.encoded - before

    total = t_load + t_judge + t_coherence
    recall = sum(v.recall for v in verdicts) / len(verdicts)
    same = [[e.covered for e in v.triggers] for v in verdicts] == [
        [e.covered for e in v.triggers] for v in again
    ]
    drift = max(
        abs((a.score or 0) - (b.score or 0))
        for v, w in zip(verdicts, again, strict=True)
        for a, b in zip(v.triggers, w.triggers, strict=True)
    )
    rows = [
        ("answers", f"{len(answers)}"),
        ("sentences (judge segments)", f"{n_sentences}"),
        ("  distinct", f"{n_unique}"),
        ("ground-truth triggers", f"{n_triggers}"),
        ("model load (s, imports included)", f"{t_load:.1f}"),
        ("judge, cold trigger cache (s)", f"{t_judge:.1f}"),
        ("  texts encoded", f"{encoded_judge}"),
        ("  texts/s", f"{encoded_judge / t_judge:.0f}"),
        ("coherence, shared embeddings (s)", f"{t_coherence:.2f}"),
        ("  texts encoded", f"{encoded_coherence}"),
        ("total: load + judge + coherence (s)", f"{total:.1f}"),
        ("re-judge, warm trigger cache (s)", f"{t_warm:.1f}"),
        ("  texts encoded", f"{encoded_warm}"),
        ("  sentences/s", f"{encoded_warm / t_warm:.0f}"),
        ("re-judge: same covered flags", f"{same}"),
        ("re-judge: largest score change", f"{drift:.0e}"),
        ("mean recall / mean coherence", f"{recall:.3f} / {mean_coherence(values):.3f}"),
    ]
    width = max(len(k) for k, _ in rows)
    method = judge.config["method"]
    print(f"offline judge benchmark ({judge.name}, {method}, {os.cpu_count()} CPUs)")
    for key, value in rows:
        print(f"  {key:<{width}}  {value:>10}")
    print(f"  {'target: total under 60 s':<{width}}  {'met' if total < 60 else 'MISSED':>10}")


if __name__ == "__main__":
    main()
