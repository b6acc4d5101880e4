"""helpers.tokens.token_labels: one label per ColBERT vector, in the vectors' order."""

import itertools
import string

import numpy as np
import pytest

from helpers import models
from helpers.embedding import embed_documents
from helpers.embedding_cache import cached_unless_off
from helpers.tokens import token_labels


@pytest.fixture(scope="module")
def colbert():
    import helpers

    helpers.setup(quiet=True)
    from fastembed import LateInteractionTextEmbedding

    return LateInteractionTextEmbedding(models.COLBERT_MODEL)


# ------------------------------------------------------------------------------ the corpus

HANDWRITTEN = [
    # the lessons' kind of text
    "What is Qdrant?",
    "Qdrant is an AI-native vector database and a semantic search engine",
    "Relational databases are not well-suited for search",
    "apple computer",
    "Apple makes the MacBook laptop",
    "Hello, world! It is 5 p.m. (approx.)",
    # punctuation runs
    "Wait... what?!?! No way!!!",
    "--- *** ### ~~~ ^^^ ___ +++",
    "(((nested))) [[brackets]] {{braces}} <<angles>>",
    "'single' \"double\" `back` quotes; colons: semi;colons",
    "a,b;c:d.e!f?g",
    "....................................................................",
    "?!",
    "!!! ??? ...",
    "#$%&'()*+,-./:;<=>?@[\\]^_`{|}~",
    # numbers
    "3.14159 2.71828 1,000,000 -42 +7 1e-9 0x1F 0b1010",
    "Call 555-0100 before 12:30 on 2024-01-31, ref #A-17/B.",
    "Version 1.2.3-rc.4+build.5 costs $19.99 (15% off).",
    "100 200 300 400 500 600 700 800 900 1000",
    # URLs, e-mail, paths
    "https://qdrant.tech/documentation/concepts/vectors/#multivectors",
    "http://example.com/a?b=1&c=2#frag and ftp://files.example.org/pub/",
    "Write to jane.doe+news@example.co.uk or visit www.example.com.",
    "C:\\Users\\me\\Documents\\file.txt and /usr/local/bin/python3",
    # code
    "def maxsim(q, d): return (q @ d.T).max(axis=1).sum()",
    "for (int i = 0; i < n; ++i) { sum += a[i] * b[i]; }",
    "SELECT id, name FROM users WHERE age >= 18 ORDER BY name;",
    '{"key": [1, 2, 3], "nested": {"a": null, "b": true}}',
    "x = f(a[1]) + 2**3 // 4 % 5 != 6 and not y",
    "<div class=\"row\"><a href=\"/\">home</a></div>",
    "async with pool.acquire() as conn: await conn.fetch('SELECT 1')",
    # accented and non-Latin characters
    "café naïve résumé façade coöperate Ærø São Paulo Zürich",
    "Ångström, Øresund, Łódź, Dvořák, İstanbul, straße",
    "中文检索 東京タワー 한국어 텍스트",
    "北京是中国的首都。東京は日本の首都です。",
    "مرحبا بالعالم، هذا نص عربي.",
    "Привет, мир! Это тест на кириллице.",
    "Γειά σου Κόσμε, אני אוהב שלום, नमस्ते दुनिया",
    "ภาษาไทย ไม่มีช่องว่าง and tiếng Việt có dấu",
    "€100 — ≈ ½ ∑ ™ ° ¿¡ “quoted” ‘x’ … •",
    # emoji
    "I love 🍕🚀 and ❤️",
    "👍🏽 👨‍👩‍👧‍👦 🇫🇷 🤖🤖🤖",
    "Deploy done ✅, tests ❌, coffee ☕",
    # empty, whitespace, control characters
    "",
    " ",
    "   \t\n  ",
    "\n",
    "tab\tseparated\tvalues\nand\nnew lines\r\n",
    "zero\u200bwidth\u00a0nbsp\u2028line",
    # special-token strings written as text
    "[CLS] [SEP] [MASK] [PAD] [UNK]",
    "the [MASK] sat on the [PAD] mat",
    "[unused0] [unused1] [Q] [D]",
    # casing and word pieces
    "UNBELIEVABLY antidisestablishmentarianism pneumonoultramicroscopicsilicovolcanoconiosis",
    "camelCaseIdentifier snake_case_name kebab-case-name SCREAMING_CASE",
    "a",
    "A.",
    "I",
]

WORDS = [
    "vector", "search", "token", "query", "document", "late", "interaction", "ColBERT",
    "MaxSim", "embedding", "index", "Qdrant", "BERT", "retrieval", "ranking", "score",
    "python", "async", "pool", "connection",
]
SEPARATORS = [" ", ", ", ". ", "! ", "? ", " - ", "; ", ": ", "... ", " (", ") ", " / ", " & "]
EXTRAS = ["", "42", "3.5", "#1", "naïve", "中", "🙂", "https://x.io", "a_b", "'s"]


def generated_texts():
    """Deterministic mixes of words, punctuation, numbers and symbols (no randomness)."""
    texts = []
    for n, (i, j) in enumerate(itertools.product(range(len(WORDS)), range(0, len(WORDS), 3))):
        if len(texts) >= 120:
            break
        length = 2 + (i * 7 + j * 3) % 15
        pieces = []
        for k in range(length):
            pieces.append(WORDS[(i + j * k + k * k) % len(WORDS)])
            pieces.append(SEPARATORS[(n + k) % len(SEPARATORS)])
        pieces.append(EXTRAS[n % len(EXTRAS)])
        texts.append("".join(pieces))
    # every punctuation character alone, and glued to a word
    texts += [ch for ch in string.punctuation]
    texts += [f"word{ch}word {ch}{ch}{ch}" for ch in string.punctuation[::2]]
    return texts


LONG_TEXTS = [
    " ".join(WORDS * 40),  # 800 words, well past 512 tokens
    "a, " * 400,  # punctuation past the truncation point: truncation comes before skipping
    ", " * 600,  # only punctuation, past 512 tokens
    "supercalifragilisticexpialidocious " * 60,  # many word pieces per word
    "中文" * 400,  # one token per character
    "1.2.3.4.5.6.7.8.9. " * 80,
    " ".join(f"token{i}" for i in range(300)),
]

LONG_QUERIES = [
    "How do I prevent connection pool exhaustion in an async Python web app, and what happens "
    "when every request holds a connection for the whole length of a slow external call?",
    " ".join(WORDS),  # 20 words, > 32 tokens with the word pieces
    " ".join(WORDS * 3),
    " ".join(reversed(WORDS * 30)),  # past the 512-token truncation
    "? " * 40,  # a long query made only of punctuation
]

CORPUS = HANDWRITTEN + generated_texts() + LONG_TEXTS + LONG_QUERIES


def test_the_corpus_covers_what_it_should(colbert):
    assert len(CORPUS) >= 200
    assert len(set(CORPUS)) == len(CORPUS)
    from tokenizers import Tokenizer

    untruncated = Tokenizer.from_str(colbert.model.tokenizer.to_str())
    untruncated.no_truncation()
    lengths = [len(untruncated.encode(t, add_special_tokens=False)) for t in CORPUS]
    assert sum(length > 512 for length in lengths) >= 6
    assert any(t == "" for t in CORPUS) and any(t and not t.strip() for t in CORPUS)
    assert sum(length > 32 for length in lengths) >= 15


# ------------------------------------------------------------------------------ counts


def test_one_label_per_document_vector(colbert):
    # Batched (padding rows must not count), in batches of similar lengths: one batch of 200+
    # texts padded to 512 tokens takes minutes. Through the project's embedding cache, as the
    # notebooks embed: the model runs on the first run only.
    vectors = embed_documents(colbert, CORPUS, batch_size=16)
    for text, matrix in zip(CORPUS, vectors, strict=True):
        assert len(token_labels(colbert, text, "document")) == len(matrix), repr(text)


def test_batch_padding_does_not_change_the_labels(colbert):
    texts = ["", "a, b", "Hello, world! It is 5 p.m. (approx.)", " ".join(WORDS * 3), "?!"]
    for text, matrix in zip(texts, colbert.embed(texts), strict=True):
        assert len(token_labels(colbert, text, "document")) == len(matrix), repr(text)


def test_one_label_per_query_vector(colbert):
    # one query per call, as a search embeds it; kept in the embedding cache like the documents
    matrices = cached_unless_off(colbert, CORPUS, {"method": "query_embed", "one text per call": True},
                                 lambda positions: [next(colbert.query_embed(CORPUS[i])) for i in positions])
    for text, matrix in zip(CORPUS, matrices, strict=True):
        labels = token_labels(colbert, text, "query")
        assert len(labels) == len(matrix), repr(text)
        assert len(labels) >= 32


def test_truncation_matches_the_model(colbert):
    long_doc = " ".join(WORDS * 40)
    labels = token_labels(colbert, long_doc, "document")
    assert len(labels) == 512 and labels[:2] == ["[CLS]", "[D]"] and labels[-1] == "[SEP]"
    query = token_labels(colbert, long_doc, "query")
    assert len(query) == 512 and "[MASK]" not in query and query[-1] == "[SEP]"
    # truncation happens first, punctuation is dropped afterwards
    labels = token_labels(colbert, "a, " * 400, "document")
    assert labels == ["[CLS]", "[D]"] + ["a"] * 255 + ["[SEP]"]
    assert len(next(colbert.embed(["a, " * 400]))) == len(labels)


# ------------------------------------------------------------------------------ worked examples


def test_query_apple_computer(colbert):
    labels = token_labels(colbert, "apple computer", "query")
    assert labels == ["[CLS]", "[Q]", "apple", "computer", "[SEP]"] + ["[MASK]"] * 27
    assert next(colbert.query_embed("apple computer")).shape[0] == 32


def test_document_apple_macbook(colbert):
    text = "Apple makes the MacBook laptop"
    labels = token_labels(colbert, text, "document")
    # "MacBook" is not in the vocabulary: it splits into "mac" + "##book"
    assert labels == ["[CLS]", "[D]", "apple", "makes", "the", "mac", "##book", "laptop", "[SEP]"]
    assert next(colbert.embed([text])).shape[0] == 9


def test_document_with_punctuation(colbert):
    text = "Hello, world! It is 5 p.m. (approx.)"
    labels = token_labels(colbert, text, "document")
    assert labels == ["[CLS]", "[D]", "hello", "world", "it", "is", "5", "p", "m", "approx", "[SEP]"]
    assert next(colbert.embed([text])).shape[0] == 11
    # the same text as a query keeps its punctuation and gets [MASK] rows
    query = token_labels(colbert, text, "query")
    assert query[:18] == ["[CLS]", "[Q]", "hello", ",", "world", "!", "it", "is", "5", "p", ".",
                          "m", ".", "(", "approx", ".", ")", "[SEP]"]
    assert query[18:] == ["[MASK]"] * 14


def test_edge_cases(colbert):
    assert token_labels(colbert, "", "document") == ["[CLS]", "[D]", "[SEP]"]
    assert token_labels(colbert, " \t\n ", "document") == ["[CLS]", "[D]", "[SEP]"]
    assert token_labels(colbert, "?!", "query") == ["[CLS]", "[Q]", "?", "!", "[SEP]"] + ["[MASK]"] * 27
    assert token_labels(colbert, "?!", "document") == ["[CLS]", "[D]", "[SEP]"]
    # "[PAD]" written in a text becomes the pad token, which fastembed drops from documents
    assert token_labels(colbert, "the [MASK] sat on the [PAD] mat", "document") == [
        "[CLS]", "[D]", "the", "[MASK]", "sat", "on", "the", "mat", "[SEP]"]
    assert token_labels(colbert, "I love 🍕", "document") == ["[CLS]", "[D]", "i", "love", "[UNK]", "[SEP]"]


def test_naive_pairing_is_wrong(colbert):
    """What the helper exists for: the tokenizer's tokens do not line up with the vectors."""
    text = "Hello, world! It is 5 p.m. (approx.)"
    naive = colbert.model.tokenize([text])[0].tokens
    assert len(naive) == 17 != len(next(colbert.embed([text])))
    naive_query = colbert.model.tokenize(["apple computer"])[0].tokens
    assert len(naive_query) == 4 != len(next(colbert.query_embed("apple computer")))


# ------------------------------------------------------------------------------ alignment


def _raw_output(colbert, text, is_doc):
    """fastembed's model output for every input position, before any row is dropped."""
    context = colbert.model.onnx_embed([text], is_doc=is_doc)
    return np.asarray(context.model_output[0], dtype=np.float64), list(context.input_ids[0])


ALIGNMENT_TEXTS = [
    "Hello, world! It is 5 p.m. (approx.)",
    "Apple makes the MacBook laptop",
    "Wait... what?!?! No way!!!",
    "https://qdrant.tech/documentation/concepts/vectors/#multivectors",
    "def maxsim(q, d): return (q @ d.T).max(axis=1).sum()",
    "Привет, мир! Это тест на кириллице.",
    "a, " * 400,
]


@pytest.mark.parametrize("text", ALIGNMENT_TEXTS)
def test_each_document_vector_belongs_to_its_label(colbert, text):
    """Row k of fastembed's document matrix is the model's output at the token labels[k] names.

    The ONNX model sees every input position (punctuation included); fastembed then drops the
    punctuation rows and normalizes. Walk the raw positions in order, match them to the labels,
    and compare vectors: an off-by-one or a missing/extra label makes the vectors differ.
    """
    labels = token_labels(colbert, text, "document")
    vectors = next(colbert.embed([text]))
    raw, ids = _raw_output(colbert, text, is_doc=True)
    tokenizer = colbert.model.tokenizer
    raw_tokens = ["[D]" if p == 1 else tokenizer.id_to_token(int(i)) for p, i in enumerate(ids)]
    assert ids[1] == 2  # the document marker, inserted at position 1

    positions, k = [], 0
    for p, token in enumerate(raw_tokens):
        if k < len(labels) and token == labels[k]:
            positions.append(p)
            k += 1
        else:  # a position fastembed drops: must be punctuation (judged by its text)
            assert token and all(ch in string.punctuation for ch in token), (p, token)
    assert k == len(labels) == len(vectors)

    expected = raw[positions] / np.linalg.norm(raw[positions], axis=1, keepdims=True)
    np.testing.assert_allclose(vectors, expected, atol=1e-5)
    # the check discriminates: neighbouring positions hold clearly different vectors
    shifted = raw[[min(p + 1, len(raw) - 1) for p in positions]]
    shifted /= np.linalg.norm(shifted, axis=1, keepdims=True)
    assert not np.allclose(vectors, shifted, atol=1e-3)


@pytest.mark.parametrize("text", ["apple computer", "Hello, world! It is 5 p.m. (approx.)", "?!"])
def test_each_query_vector_belongs_to_its_label(colbert, text):
    labels = token_labels(colbert, text, "query")
    vectors = next(colbert.query_embed(text))
    raw, ids = _raw_output(colbert, text, is_doc=False)
    tokenizer = colbert.model.tokenizer
    assert ids[1] == 1  # the query marker
    fed = ["[Q]" if p == 1 else tokenizer.id_to_token(int(i)) for p, i in enumerate(ids)]
    assert fed == labels
    np.testing.assert_allclose(vectors, raw, atol=1e-5)


# ------------------------------------------------------------------------------ other inputs


def test_the_inner_colbert_object_and_lazy_loading(colbert):
    from fastembed import LateInteractionTextEmbedding

    text = "Hello, world! It is 5 p.m. (approx.)"
    assert token_labels(colbert.model, text, "document") == token_labels(colbert, text, "document")
    lazy = LateInteractionTextEmbedding(models.COLBERT_MODEL, lazy_load=True)
    assert token_labels(lazy, text, "query") == token_labels(colbert, text, "query")
    assert token_labels(lazy, text, "document") == token_labels(colbert, text, "document")


def test_a_dense_model_is_refused(colbert):
    from fastembed import TextEmbedding

    dense = TextEmbedding(models.DENSE_MODEL)
    with pytest.raises(ValueError, match="cannot align"):
        token_labels(dense, "apple computer", "query")
    with pytest.raises(ValueError, match="cannot align"):
        token_labels(dense.model, "apple computer", "document")
    with pytest.raises(ValueError, match="cannot align"):
        token_labels("colbert-ir/colbertv2.0", "apple computer", "query")


def test_unverified_colbert_family_models_are_refused():
    from fastembed.late_interaction.colbert import Colbert
    from fastembed.late_interaction.jina_colbert import JinaColbert

    jina = JinaColbert.__new__(JinaColbert)  # not loaded: the check happens before any use
    jina.model_name = "jinaai/jina-colbert-v2"
    with pytest.raises(ValueError, match="cannot align.*JinaColbert"):
        token_labels(jina, "apple computer", "query")
    other = Colbert.__new__(Colbert)
    other.model_name = "answerdotai/answerai-colbert-small-v1"
    with pytest.raises(ValueError, match="answerai-colbert-small-v1"):
        token_labels(other, "apple computer", "document")


def test_bad_kind_and_bad_text(colbert):
    with pytest.raises(ValueError, match="'query', 'document'"):
        token_labels(colbert, "apple computer", "passage")
    with pytest.raises(ValueError, match="kind"):
        token_labels(colbert, "apple computer", "Query")
    with pytest.raises(TypeError, match="must be a str"):
        token_labels(colbert, ["apple", "computer"], "query")
    with pytest.raises(TypeError, match="must be a str"):
        token_labels(colbert, None, "document")
