"""The int8 ONNX query encoder against the model itself on torch, on the real model and index.

Queries are ours: what operators ask, a few one-word ones, a few long situations and some off-topic
ones (encoded all the same). On these 36, m3e-small's export measured min cosine 0.9969, mean 0.9982,
top-5 overlap 4.94 of 5 (never under 4), same first hit for 34. The bounds below leave room for other
CPUs' int8 kernels and stay far above what a broken export scores (0.7-0.8 with swapped inputs).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from service.embedder import OnnxEmbedder, SentenceTransformerEmbedder
from service.kb import KnowledgeBase
from service.models import SearchRequest
from service.normalize import normalize_text
from service.settings import Settings

QUERIES = [
    "社群没人说话怎么办",
    "群里全是广告怎么处理",
    "怎么提高社群活跃度",
    "新人进群后应该做什么",
    "社群定位分哪几步",
    "付费社群怎么做转化",
    "群规应该怎么写",
    "社群运营需要哪些角色",
    "群主每天要做哪些事",
    "怎么避免社群变成死群",
    "群成员总是退群是什么原因",
    "社群内容应该发什么",
    "如何设置入群门槛",
    "快闪群适合什么场景",
    "复购群和粉丝群有什么区别",
    "社群SOP怎么制定",
    "发红包能提升活跃吗",
    "要不要每天推送文章",
    "怎么让老用户持续留在群里",
    "群越多越好吗",
    "拉人头有用吗",
    "社群和朋友圈有什么不同",
    "怎样培养群里的意见领袖",
    "社群活动怎么策划",
    "死群",
    "群规",
    "拉新",
    "转化",
    "广告",
    "活跃度",
    "我们公司去年建了三十多个客户群，一开始大家还挺积极，现在每天只有我在群里发产品链接，几乎没人回复，"
    "老板还要求继续扩群，我该从哪里入手改变现状？",
    "我负责一个两百人的付费读书会社群，入群时收了年费，但是大部分人从来不发言，也不参加线上分享，"
    "续费率很低，想知道问题出在定位、内容还是运营方法上。",
    "宝妈团购群里经常有人私下加好友推销别的产品，群主管不过来，群规也只写了禁止发广告，"
    "请问应该怎么设计规则和管理员分工才能既不伤害氛围又能控制广告？",
    "明天北京天气怎么样",
    "红烧肉怎么做",
    "Python 列表怎么排序",
]
MIN_COSINE = 0.99
MIN_MEAN_COSINE = 0.995


@pytest.fixture(scope="module")
def torch_embedder(settings: Settings, kb: KnowledgeBase) -> SentenceTransformerEmbedder:
    """The model the ONNX copy was exported from: the adapted query encoder the index was built with."""
    folder = kb.index.query_model_dir
    return SentenceTransformerEmbedder(str(folder) if folder else settings.model)


@pytest.fixture(scope="module")
def onnx_embedder(kb: KnowledgeBase) -> OnnxEmbedder:
    assert isinstance(kb.encoder.embedder.inner, OnnxEmbedder), "the default query encoder is the ONNX export"
    return kb.encoder.embedder.inner


@pytest.fixture(scope="module")
def torch_kb(
    settings: Settings, kb: KnowledgeBase, torch_embedder: SentenceTransformerEmbedder
) -> KnowledgeBase:
    return KnowledgeBase(settings, kb.index, torch_embedder)


def test_onnx_vectors_match_torch(
    onnx_embedder: OnnxEmbedder, torch_embedder: SentenceTransformerEmbedder
) -> None:
    texts = [normalize_text(q) for q in QUERIES]
    cosines = np.sum(onnx_embedder.encode(texts) * torch_embedder.encode(texts), axis=1)
    worst = QUERIES[int(np.argmin(cosines))]
    assert cosines.min() >= MIN_COSINE, f"{cosines.min():.4f} for {worst!r}"
    assert cosines.mean() >= MIN_MEAN_COSINE


def test_onnx_search_agrees_with_torch(kb: KnowledgeBase, torch_kb: KnowledgeBase) -> None:
    shared, same_first = [], 0
    for q in QUERIES:
        onnx_top = [h.id for h in kb.search(SearchRequest(query=q, k=5)).hits]
        torch_top = [h.id for h in torch_kb.search(SearchRequest(query=q, k=5)).hits]
        shared.append(len(set(onnx_top) & set(torch_top)))
        same_first += onnx_top[0] == torch_top[0]
    assert min(shared) >= 3
    assert np.mean(shared) >= 4.5
    assert same_first >= 0.85 * len(QUERIES)


def test_tokens_match_sentence_transformers(
    onnx_embedder: OnnxEmbedder, torch_embedder: SentenceTransformerEmbedder
) -> None:
    onnx_embedder.encode(["warm"])  # loads the tokenizer
    tokenizer = onnx_embedder._tokenizer
    st = torch_embedder.model
    too_long = "社群运营要先想清楚为谁服务。" * 60  # ~840 tokens: both must cut at the model's 512
    for text in [*QUERIES, too_long]:
        expected = st.tokenizer(text, truncation=True, max_length=st.max_seq_length)["input_ids"]
        assert tokenizer.encode(text).ids == expected
    assert len(tokenizer.encode(too_long).ids) == st.max_seq_length == 512


def test_vector_does_not_depend_on_its_batch(onnx_embedder: OnnxEmbedder) -> None:
    # dynamic quantisation scales a whole input tensor: batched texts would change each other's vectors
    texts = [normalize_text(q) for q in QUERIES[:8]]
    together = onnx_embedder.encode(texts)
    alone = np.stack([onnx_embedder.encode([t])[0] for t in texts])
    assert np.array_equal(together, alone)
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)


def test_empty_batch(onnx_embedder: OnnxEmbedder) -> None:
    assert onnx_embedder.encode([]).shape == (0, 512)


def test_serving_does_not_import_torch() -> None:
    code = (
        "import sys; from service.kb import KnowledgeBase; from service.settings import get_settings; "
        "kb = KnowledgeBase.load(get_settings()); kb.warm_up(); "
        "print(type(kb.encoder.embedder.inner).__name__, 'torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["OnnxEmbedder", "False"]
