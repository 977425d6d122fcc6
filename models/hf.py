"""``hf:<hub name or local path>``: any Hugging Face causal language model (optional extra ``xaibench[hf]``).

``hf:gpt2`` (or ``hf:openai-community/gpt2``, ``hf:/path/to/checkpoint``) loads
``transformers.AutoModelForCausalLM.from_pretrained(name)`` and its ``AutoTokenizer`` — from the
hub on first use (then from the Hugging Face cache), or from a local folder written by
``save_pretrained`` — and explains it on a ``"text"`` dataset (``tinyshakespeare``)::

    task = xaibench.load_task("tinyshakespeare", "hf:gpt2", "next_token_logprob", n_instances=16)

    [[tasks]]                      # in a suite
    dataset = "tinyshakespeare"
    model = "hf:gpt2"
    target = ["next_token_logprob", "logit_margin"]

The text of each split is tokenised with the model's own tokeniser (no special tokens); the
instances are windows of :attr:`HFCausalLM.context` = 32 tokens of the test split (stride 32,
in a seeded random order, as the dataset's own windows), the background windows of the training
split. The targets are those of every zoo language model (:mod:`._lm`): ``next_token_logprob``
of the observed next token and ``logit_margin``, on the token embeddings (``inputs_embeds``,
players: the 32 positions; baseline: the training text's mean token embedding); position
embeddings are the model's own. Quality: ``test_bpc``, held-out bits per **character** (the
summed token cross-entropy over the test split, in blocks of 33 tokens as for ``char_lm``,
divided by the characters those tokens spell, so tokenisers compare) and
``next_token_accuracy`` after each instance window. The model runs in float32 and evaluation
mode; its weight hash is the SHA-256 of its parameters; nothing is cached by xaibench. The
weight-randomized model (sanity checks) is ``AutoModelForCausalLM.from_config`` of the same
configuration, initialised from the seed. For ``gpt2`` on a CPU, loading and the quality pass
take about a minute (the model has 124 M parameters); ``--device cuda`` is much faster.

``transformers`` is imported only when an ``hf:`` model is loaded; without it the error says
``pip install "xaibench[hf]"``.
"""

from __future__ import annotations

from functools import lru_cache
from typing import ClassVar

import torch
from torch import Tensor, nn

from xaibench.dataset import Dataset
from xaibench.errors import ModelError
from xaibench.model import ModelSpec, TargetSpec, register_model_family

from ._lm import LM_TARGETS, ObservedNextToken, bits, block_nll, lm_target
from ._nets import module_device, seeded
from ._quality import accuracy
from ._train import chunked

SPLIT_SEED = 0
N_BACKGROUND = 1000


def _transformers():
    try:
        import transformers  # noqa: PLC0415
    except ImportError as exc:
        raise ModelError('hf: models need the transformers package: pip install "xaibench[hf]"') from exc
    return transformers


class HFCausalLMNet(nn.Module):
    """A ``transformers`` causal LM behind the zoo's language-model interface (:class:`._lm.CausalLM`)."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def embedding_table(self) -> Tensor:
        return self.model.get_input_embeddings().weight

    def logits(self, embeds: Tensor) -> Tensor:
        return self.model(inputs_embeds=embeds, use_cache=False).logits

    def last_hidden(self, embeds: Tensor) -> Tensor:
        return self.model(inputs_embeds=embeds, use_cache=False, output_hidden_states=True).hidden_states[-1][:, -1]

    def forward(self, ids: Tensor) -> Tensor:
        return self.model(input_ids=ids, use_cache=False).logits


class HFCausalLM(ModelSpec):
    """Base of the ``hf:<name>`` specs; :func:`hf_spec` makes one subclass per name."""

    kinds = frozenset({"text"})
    targets = LM_TARGETS
    cache_weights = False
    context: ClassVar[int] = 32
    name_or_path: ClassVar[str]

    def supports(self, dataset: Dataset) -> bool:
        return dataset.kind == "text" and "text" in dataset.meta

    def _load(self, what: str, **kwargs):
        transformers = _transformers()
        loader = getattr(transformers, what)
        progress = transformers.utils.logging.is_progress_bar_enabled()
        transformers.utils.logging.disable_progress_bar()
        try:
            return loader.from_pretrained(self.name_or_path, **kwargs)
        except OSError as exc:  # not on the hub, no local folder, offline without a cached copy
            raise ModelError(f"model {self.name!r}: {what}.from_pretrained({self.name_or_path!r}) failed: "
                             f"{exc}") from exc
        finally:
            if progress:
                transformers.utils.logging.enable_progress_bar()

    def fit(self, dataset: Dataset, seed: int = 0) -> nn.Module:
        return HFCausalLMNet(self._load("AutoModelForCausalLM").float()).eval()

    def build(self, dataset: Dataset, seed: int = 0) -> nn.Module:
        config = self._load("AutoConfig")
        with seeded(seed):
            model = _transformers().AutoModelForCausalLM.from_config(config)
        return HFCausalLMNet(model.float()).eval()

    def token_ids(self, dataset: Dataset, split: str) -> Tensor:
        return _token_ids(type(self), dataset, split)

    def quality(self, module: nn.Module, dataset: Dataset) -> dict[str, float]:
        ids = self.token_ids(dataset, "test")
        nats, _ = block_nll(module, ids, self.context)
        first = _tokenizer(type(self)).decode(ids[:1].tolist())
        characters = len(dataset.meta["text"]["test"]) - len(first)
        instances, following = self.windows(dataset, "test")
        device, _ = module_device(module)
        predicted = chunked(lambda w: module(w)[:, -1].argmax(-1), instances.to(device), size=64)
        return {"test_bpc": bits(nats / characters), "next_token_accuracy": accuracy(predicted.cpu(), following)}

    def windows(self, dataset: Dataset, split: str) -> tuple[Tensor, Tensor]:
        """``(N, context)`` token windows of a split at stride ``context`` and the token after each;
        test windows in a seeded random order, training windows in a seeded random order too."""
        from xaibench.datasets._text import windows  # noqa: PLC0415 - the text datasets' own windowing

        x, y = windows(self.token_ids(dataset, split), self.context)
        order = torch.randperm(len(x), generator=torch.Generator().manual_seed(SPLIT_SEED))
        return x[order], y[order]

    def target(self, name: str, module: nn.Module, dataset: Dataset) -> TargetSpec:
        test, test_next = self.windows(dataset, "test")
        train, train_next = self.windows(dataset, "train")
        background, background_next = train[:N_BACKGROUND], train_next[:N_BACKGROUND]
        observed = ObservedNextToken(torch.cat([test, background]), torch.cat([test_next, background_next]))
        return lm_target(name, module, instances=test, background=background, observed=observed,
                         token_frequencies_of=self.token_ids(dataset, "train"))


@lru_cache(maxsize=8)
def _tokenizer(spec: type[HFCausalLM]):
    return spec()._load("AutoTokenizer")


@lru_cache(maxsize=16)
def _token_ids(spec: type[HFCausalLM], dataset: Dataset, split: str) -> Tensor:
    encoded = _tokenizer(spec)(dataset.meta["text"][split], add_special_tokens=False, verbose=False)["input_ids"]
    return torch.tensor(encoded, dtype=torch.long)


@lru_cache(maxsize=None)
def hf_spec(name_or_path: str) -> type[HFCausalLM]:
    """The spec class of ``hf:<name_or_path>`` (one per name, so weights and tasks cache per model)."""
    name = f"hf:{name_or_path}"
    return type(f"HFCausalLM[{name_or_path}]", (HFCausalLM,), {
        "name": name, "name_or_path": name_or_path,
        "description": f"Hugging Face causal LM {name_or_path} (transformers AutoModelForCausalLM)",
    })


register_model_family("hf", hf_spec)
