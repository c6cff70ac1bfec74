"""What customers ask about, grouped into readable topics, offline (no model download).

Two steps. A configurable seed list (setting `analise_topicos`) names the usual topics
with a few word prefixes each; a question takes the seed topic with most matching
prefixes. Questions no seed matches are clustered (TF-IDF over crude stems, spherical
k-means, deterministic), and each cluster is named after its most frequent words, so a
topic nobody listed ("garantia", "agendamento") still surfaces.
"""
from __future__ import annotations

import functools
import math
import random
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from core.review.detection import content_words, normalize

OUTROS = "Outros"


@dataclass(frozen=True)
class SeedTopic:
    rotulo: str
    prefixos: tuple[str, ...]


def parse_topics(spec: str) -> list[SeedTopic]:
    """'Rótulo: prefixo, prefixo; Rótulo: ...' -> seed topics (order breaks ties)."""
    topics = []
    for part in spec.split(";"):
        if ":" not in part:
            continue
        rotulo, words = part.split(":", 1)
        prefixos = tuple(normalize(w) for w in words.split(",") if normalize(w))
        if rotulo.strip() and prefixos:
            topics.append(SeedTopic(rotulo.strip(), prefixos))
    return topics


def match_seed_topic(question: str, seeds: Sequence[SeedTopic]) -> str | None:
    """The seed topic with most distinct matching prefixes, or None."""
    text = normalize(question)
    best, best_score = None, 0
    for topic in seeds:
        score = len({m.group(1) for m in _prefix_pattern(topic.prefixos).finditer(text)})
        if score > best_score:
            best, best_score = topic.rotulo, score
    return best


@functools.lru_cache(maxsize=256)
def _prefix_pattern(prefixos: tuple[str, ...]) -> re.Pattern:
    # Longest first, so that each word is credited to the most specific prefix.
    ordered = sorted(prefixos, key=len, reverse=True)
    return re.compile(r"(?<!\S)(" + "|".join(map(re.escape, ordered)) + ")")


# --- clustering of questions no seed knows --------------------------------------------

def _stems(question: str) -> list[str]:
    # Sorted: content_words is a set, and its order must not depend on the hash seed.
    return [w[:6] for w in sorted(content_words(normalize(question))) if not w.isdigit()]


def _tfidf(docs: list[list[str]]) -> tuple[np.ndarray, list[str]]:
    df = Counter(s for doc in docs for s in set(doc))
    vocab = sorted(s for s, n in df.items() if n >= 2)
    index = {s: i for i, s in enumerate(vocab)}
    matrix = np.zeros((len(docs), len(vocab)), dtype=np.float32)
    for row, doc in enumerate(docs):
        for stem in doc:
            if stem in index:
                matrix[row, index[stem]] += 1.0
    idf = np.array([math.log(len(docs) / df[s]) + 1.0 for s in vocab], dtype=np.float32)
    matrix *= idf
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1, norms), vocab


def _kmeans(x: np.ndarray, k: int, seed: int, iterations: int = 30
            ) -> tuple[np.ndarray, float, np.ndarray]:
    """Spherical k-means with k-means++ seeding: labels, total similarity, per-row similarity."""
    rng = random.Random(seed)
    centers = [x[rng.randrange(len(x))]]
    for _ in range(1, k):
        dist = np.clip(1 - np.max(x @ np.array(centers).T, axis=1), 0, None)
        total = float(dist.sum())
        if total == 0:
            break
        centers.append(x[_weighted_pick(rng, dist / total)])
    c = np.array(centers)
    labels = np.zeros(len(x), dtype=int)
    for _ in range(iterations):
        new = np.argmax(x @ c.T, axis=1)
        if _ and np.array_equal(new, labels):
            break
        labels = new
        for j in range(len(c)):
            members = x[labels == j]
            if len(members):
                v = members.sum(axis=0)
                c[j] = v / (np.linalg.norm(v) or 1)
    similarity = np.max(x @ c.T, axis=1)
    return labels, float(similarity.sum()), similarity


def _weighted_pick(rng: random.Random, p: np.ndarray) -> int:
    r, acc = rng.random(), 0.0
    for i, w in enumerate(p):
        acc += w
        if acc >= r:
            return i
    return len(p) - 1


def _ranked_words(questions: list[str]) -> list[str]:
    """Meaningful words by frequency; ties alphabetical, so labels are reproducible."""
    counts = Counter(w for q in questions for w in content_words(normalize(q)) if not w.isdigit())
    return [w for w, _ in sorted(counts.items(), key=lambda item: (-item[1], item[0]))]


def _top_word(questions: list[str]) -> str:
    ranked = _ranked_words(questions)
    return ranked[0] if ranked else ""


def _name_cluster(questions: list[str]) -> str:
    """'Outros: garantia / conserto': the cluster's two most frequent meaningful words."""
    top = _ranked_words(questions)[:2]
    return f"{OUTROS}: {' / '.join(top)}" if top else OUTROS


def cluster_questions(questions: Sequence[str], k: int = 12, seed: int = 0,
                      min_size: int = 3, min_similarity: float = 0.4) -> list[str]:
    """A readable topic label per question; tiny clusters and empty questions become 'Outros'.

    A question far from every cluster centre (cosine < min_similarity) shares no words
    with its cluster: it stays in 'Outros' instead of blurring a topic's name.
    """
    docs = [_stems(q) for q in questions]
    usable = [i for i, d in enumerate(docs) if d]
    labels = [OUTROS] * len(questions)
    if len(usable) < min_size:
        return labels
    x, vocab = _tfidf([docs[i] for i in usable])
    keep = np.linalg.norm(x, axis=1) > 0
    rows = [i for i, ok in zip(usable, keep) if ok]
    x = x[keep]
    k = max(1, min(k, len(rows) // min_size))
    if not len(rows):
        return labels
    # The matrices are small: BLAS threads only fight each other (4x slower on 2 cores).
    with threadpool_limits(limits=1):
        runs = [_kmeans(x, k, seed + r) for r in range(4)]
    assignment, _total, similarity = max(runs, key=lambda run: run[1])
    assignment = np.where(similarity >= min_similarity, assignment, -1)
    # Clusters led by the same word are one topic split by k-means: merge them.
    groups: dict[str, list[int]] = {}
    for j in set(assignment.tolist()) - {-1}:
        members = [rows[i] for i in np.flatnonzero(assignment == j)]
        groups.setdefault(_top_word([questions[i] for i in members]), []).extend(members)
    for members in groups.values():
        if len(members) < min_size:
            continue
        name = _name_cluster([questions[i] for i in members])
        for i in members:
            labels[i] = name
    return labels


def assign_topics(questions: Sequence[str], seeds: Sequence[SeedTopic], k: int = 12) -> list[str]:
    """Seed topic where one matches, otherwise the question's cluster among the unmatched."""
    labels: list[str | None] = [match_seed_topic(q, seeds) for q in questions]
    rest = [i for i, label in enumerate(labels) if label is None]
    for i, label in zip(rest, cluster_questions([questions[i] for i in rest], k=k)):
        labels[i] = label
    return [label or OUTROS for label in labels]


# --- agreement with a ground truth (tests and reports) ---------------------------------

def _comb2(n: int) -> float:
    return n * (n - 1) / 2


def adjusted_rand_index(truth: Sequence, predicted: Sequence) -> float:
    """Hubert and Arabie's adjusted Rand index: 1 = same partition, ~0 = chance."""
    pairs = Counter(zip(truth, predicted))
    a, b = Counter(truth), Counter(predicted)
    index = sum(_comb2(n) for n in pairs.values())
    sum_a, sum_b = sum(_comb2(n) for n in a.values()), sum(_comb2(n) for n in b.values())
    expected = sum_a * sum_b / _comb2(len(truth))
    maximum = (sum_a + sum_b) / 2
    return 1.0 if maximum == expected else (index - expected) / (maximum - expected)


def purity(truth: Sequence, predicted: Sequence) -> float:
    """Share of items whose cluster's majority true class is their own."""
    by_cluster: dict = {}
    for t, p in zip(truth, predicted):
        by_cluster.setdefault(p, Counter())[t] += 1
    return sum(c.most_common(1)[0][1] for c in by_cluster.values()) / len(truth)
