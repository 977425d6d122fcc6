"""``hf:<path>``: a tiny Hugging Face causal LM built from a config, saved with ``save_pretrained`` and
loaded by path through the models registry — the real loading path, with no network.

The tokeniser is a byte-level BPE (GPT-2's kind) trained in memory on a slice of the training
text, so windows, the observed next token and bits per character go through real subword
tokenisation. ``HF_HUB_OFFLINE`` makes any hub access an error.
"""

from __future__ import annotations

import math

import pytest
import torch

import xaibench
from xaibench.dataset import load_dataset
from xaibench.errors import ModelError, UnknownNameError
from xaibench.registries import models
from xaibench.runner import run_plan
from xaibench.suite import load_suite, resolve

transformers = pytest.importorskip("transformers")
tokenizers = pytest.importorskip("tokenizers")

N = 6


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A 2-layer GPT-2 (width 32) and its 300-token BPE tokeniser in a folder: ``hf:<folder>``."""
    mp = pytest.MonkeyPatch()
    mp.setenv("HF_HUB_OFFLINE", "1")
    folder = tmp_path_factory.mktemp("tiny-gpt2")
    text = load_dataset("tinyshakespeare").meta["text"]["train"][:100_000]
    bpe = tokenizers.ByteLevelBPETokenizer()
    bpe.train_from_iterator([text], vocab_size=300, min_frequency=2, show_progress=False)
    tokenizer = transformers.PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer)
    tokenizer.save_pretrained(folder)
    config = transformers.GPT2Config(vocab_size=len(tokenizer), n_positions=64, n_embd=32, n_layer=2, n_head=2,
                                     bos_token_id=0, eos_token_id=0)
    torch.manual_seed(0)
    transformers.GPT2LMHeadModel(config).save_pretrained(folder)
    yield f"hf:{folder}", folder, tokenizer
    mp.undo()


@pytest.fixture(scope="module")
def task(tiny_model):
    return xaibench.load_task("tinyshakespeare", tiny_model[0], "next_token_logprob", n_instances=N)


def test_loads_by_path_through_the_registry(tiny_model, task):
    name, folder, _ = tiny_model
    spec = models.get(name)
    assert spec is models.get(name) and spec.name == name and name in models
    assert task.meta["weights_source"] == "external" and len(task.meta["weights_sha256"]) == 64
    assert task.kind == "sequence" and task.inputs.shape == (N, 32, 32)  # 32 tokens x width 32
    assert task.groups.shape == (32, 32) and task.players.n == 32
    assert set(task.quality) == {"test_bpc", "next_token_accuracy"}
    # an untrained model over 300 tokens: about log2(300) bits per token, spread over ~3 characters per token
    assert 1.0 < task.quality["test_bpc"] < math.log2(300)


def test_targets_equal_the_models_own_forward_pass(tiny_model, task):
    """f on the embeddings = log-softmax of the model run on the token ids, at the observed next token."""
    name, folder, tokenizer = tiny_model
    model = transformers.AutoModelForCausalLM.from_pretrained(folder).eval()
    spec = models.get(name)()
    ds = load_dataset("tinyshakespeare")
    windows, following = spec.windows(ds, "test")
    ids = windows[:N]
    with torch.no_grad():
        expected = model(input_ids=ids).logits[:, -1].log_softmax(-1)
    bound = task.bind(task.inputs)
    assert torch.equal(bound.selector, following[:N])  # the observed next token, found by decoding the embeddings
    torch.testing.assert_close(bound(task.inputs), expected.gather(1, following[:N, None]).squeeze(1),
                               rtol=1e-4, atol=1e-4)
    # the windows are the test text, tokenised by the model's own tokeniser
    text = ds.meta["text"]["test"]
    assert tokenizer.decode(ids[0].tolist()) in text
    margin = xaibench.load_task("tinyshakespeare", name, "logit_margin", n_instances=N)
    z = model(input_ids=ids).logits[:, -1].detach()
    top2 = z.topk(2, dim=1).values
    torch.testing.assert_close(margin.bind(margin.inputs)(margin.inputs), top2[:, 0] - top2[:, 1], rtol=1e-4, atol=1e-4)


def quick_suite_on(model: str, folder) -> str:
    """The quick suite's file with its tasks replaced by one task of ``model`` on tinyshakespeare."""
    head = load_suite("quick").text.split("[[tasks]]")[0]
    path = folder / "quick_on_hf.toml"
    path.write_text(f'{head}[[tasks]]\ndataset = "tinyshakespeare"\nmodel = "{model}"\ntarget = "next_token_logprob"\n')
    return str(path)


def test_quick_suite_metrics_run_on_it_offline(tiny_model, tmp_path):
    """Every metric of the quick suite, with three methods, through the runner: all ok or not applicable."""
    plan = resolve(load_suite(quick_suite_on(tiny_model[0], tmp_path)), methods=["random", "saliency", "occlusion"],
                   n_instances=4)
    result = run_plan(plan, tmp_path / "run", progress=False)
    by_status = {}
    for r in result.records:
        by_status.setdefault(r["status"], set()).add(r["metric"])
    assert "error" not in by_status, [r["error"] for r in result.records if r["status"] == "error"]
    quality_metrics = {m.label for m in plan.metrics if m.metric.category not in ("cost", "ground_truth")}
    assert quality_metrics <= by_status["ok"]
    assert by_status.get("skipped", set()) <= {m.label for m in plan.metrics if m.metric.category == "ground_truth"}
    assert all(r["weights_sha256"] for r in result.records)


def test_randomized_model_is_the_same_config_with_fresh_weights(task):
    randomized = task.randomized()
    assert randomized.inputs.shape == task.inputs.shape
    x = task.inputs
    assert (randomized.bind(x)(x) - task.bind(x)(x)).abs().max() > 1e-3


def test_a_missing_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match="from_pretrained"):
        xaibench.load_task("tinyshakespeare", f"hf:{tmp_path / 'nowhere'}", "next_token_logprob")
    with pytest.raises(UnknownNameError):
        models.get("hf:")  # no name after the prefix


def test_without_transformers_the_error_names_the_extra(monkeypatch, tmp_path):
    import sys

    from xaibench.models.hf import hf_spec

    monkeypatch.setitem(sys.modules, "transformers", None)  # as if it were not installed
    with pytest.raises(ModelError, match=r'pip install "xaibench\[hf\]"'):
        hf_spec(str(tmp_path / "any"))().fit(load_dataset("tinyshakespeare"))
