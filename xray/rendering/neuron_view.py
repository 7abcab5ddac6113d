"""bertviz's neuron view (the query and key vectors behind one head's attention) as standalone offline HTML.

bertviz re-implements BERT, RoBERTa and GPT-2 so that each attention layer also returns its
queries and keys. :func:`build_neuron_model` builds that re-implementation from the loaded
model's config and copies the loaded weights into it (the shared model is only read), refusing
any model whose weights do not fill it exactly. :func:`neuron_view_html` runs it on a short
input and returns the view with its data escaped and rounded as for the head view.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from transformers import PretrainedConfig, PreTrainedTokenizerBase
from transformers.activations import ACT2FN

from xray.models.loading import LoadedModel
from xray.rendering.bertviz_html import PARAMS_MARKER, make_offline, rewrite_params
from xray.text import prepare_text
from xray.translation import _

DEFAULT_MAX_TOKENS = 32
# bertviz writes its params as '\n<script type="text/javascript">\nwindow.bertviz_params = JSON\n</script>\n'
# directly followed by a second script tag holding neuron_view.js.
_PARAMS_TEMPLATE = f"window.bertviz_params = {PARAMS_MARKER}"
_PARAMS_END = '\n</script>\n\n<script type="text/javascript">\n'
# Special tokens bertviz adds around (sentence A, sentence pair), per model type.
SPECIAL_TOKENS = {"bert": (2, 3), "roberta": (2, 4), "gpt2": (0, 0)}


@dataclass(frozen=True)
class NeuronView:
    """The neuron view of one input.

    html: a standalone page that renders with no network.
    tokens_shown: text tokens drawn (special tokens not counted; both sentences of a pair summed).
    tokens_total: text tokens of the input before the cap.
    """

    html: str
    tokens_shown: int
    tokens_total: int

    @property
    def capped(self) -> bool:
        return self.tokens_shown < self.tokens_total


def neuron_view_height(tokens_shown: int) -> int:
    """Pixels the neuron view needs for ``tokens_shown`` text tokens (bertviz draws 26 px rows)."""
    return 26 * tokens_shown + 205


def neuron_view_support(loaded: LoadedModel) -> str | None:
    """None when bertviz's neuron view can show ``loaded``, else one sentence for the user saying why not (in the
    run's language: the page draws it at once)."""
    kind = loaded.facts.neuron_view
    config = loaded.model.config
    if kind is None:
        return _(
            "bertviz's neuron view exists only for BERT, RoBERTa and GPT-2 models; {model_type} is not one of them."
        ).format(model_type=loaded.model_type)
    if kind != "gpt2" and getattr(config, "is_decoder", False):
        return _(
            "This {model_type} model is set up as a decoder (causal attention); bertviz does not model that."
        ).format(model_type=loaded.model_type)
    if kind == "gpt2" and (
        not getattr(config, "scale_attn_weights", True) or getattr(config, "scale_attn_by_inverse_layer_idx", False)
    ):
        return _("This GPT-2 model scales its attention in a non-standard way, which bertviz does not model.")
    return None


def _activation(name: str) -> torch.nn.Module:
    try:
        return ACT2FN[name]
    except KeyError:
        raise ValueError(
            _("The activation '{name}' is unknown to transformers; the neuron view cannot run it.").format(name=name)
        ) from None


def _skeleton(kind: str, config: PretrainedConfig) -> torch.nn.Module:
    """bertviz's randomly initialised model for ``kind``, sized and configured like ``config``."""
    # bertviz's model classes take 0.25 s to import; only this view needs them, so the Attention page's
    # first paint does not wait for them.
    from bertviz.transformers_neuron_view.modeling_bert import BertConfig, BertModel
    from bertviz.transformers_neuron_view.modeling_gpt2 import GPT2Config, GPT2Model
    from bertviz.transformers_neuron_view.modeling_roberta import RobertaModel

    if kind == "gpt2":
        model = GPT2Model(
            GPT2Config(
                config.vocab_size,
                n_positions=config.n_positions,
                n_ctx=config.n_positions,
                n_embd=config.n_embd,
                n_layer=config.n_layer,
                n_head=config.n_head,
                layer_norm_epsilon=config.layer_norm_epsilon,
            )
        )
        for block in model.h:
            block.mlp.act = _activation(config.activation_function)
        return model
    bert_config = BertConfig(
        config.vocab_size,
        hidden_size=config.hidden_size,
        num_hidden_layers=config.num_hidden_layers,
        num_attention_heads=config.num_attention_heads,
        intermediate_size=config.intermediate_size,
        hidden_act=_activation(config.hidden_act),
        max_position_embeddings=config.max_position_embeddings,
        type_vocab_size=config.type_vocab_size,
        layer_norm_eps=config.layer_norm_eps,
    )
    if kind == "bert":
        return BertModel(bert_config)
    model = RobertaModel(bert_config)
    # bertviz assumes padding index 1; RoBERTa's position ids start after the config's padding index.
    model.embeddings.padding_idx = config.pad_token_id
    return model


def build_neuron_model(loaded: LoadedModel) -> torch.nn.Module:
    """bertviz's BertModel, RobertaModel or GPT2Model holding a copy of ``loaded``'s weights, in eval mode on the CPU.

    Raises ValueError when the family is unsupported or when the loaded weights do not fill
    bertviz's model exactly (a missing parameter would otherwise stay random). Only the pooler,
    which the view never uses, and buffers bertviz computes itself may be absent.
    """
    reason = neuron_view_support(loaded)
    if reason:
        raise ValueError(reason)
    kind = loaded.facts.neuron_view
    model = _skeleton(kind, loaded.model.config)
    try:
        result = model.load_state_dict(loaded.model.base_model.state_dict(), strict=False)
    except RuntimeError as error:
        raise ValueError(
            _("The weights of '{model}' do not fit bertviz's {kind} model: {error}").format(
                model=loaded.name, kind=kind, error=error
            )
        ) from None
    buffers = {name for name, _ in model.named_buffers()}
    missing = [key for key in result.missing_keys if key not in buffers and not key.startswith("pooler.")]
    if missing or result.unexpected_keys:
        raise ValueError(
            _(
                "The weights of '{model}' do not match bertviz's {kind} model, so its neuron view would be wrong. "
                "Missing: {missing}; not used by bertviz: {unused}."
            ).format(
                model=loaded.name,
                kind=kind,
                missing=missing or _("none"),
                unused=result.unexpected_keys or _("none"),
            )
        )
    return model.eval()


def _cap(tokenizer: PreTrainedTokenizerBase, text: str, limit: int) -> tuple[str, int, int]:
    """(text cut to at most ``limit`` tokens, its token count, the full text's token count); no special tokens."""
    offsets = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)["offset_mapping"]
    total = len(offsets)
    if total == 0:
        raise ValueError(_("The text has no tokens this model can read: type a sentence or pick an example."))
    if total <= limit:
        return text, total, total
    # Re-tokenising a cut can merge differently (e.g. bytes of one character); cut earlier until it fits.
    for keep in range(limit, 0, -1):
        cut = text[: offsets[keep - 1][1]]
        shown = len(tokenizer.tokenize(cut))
        if 0 < shown <= limit:
            return cut, shown, total
    raise ValueError(_("The text cannot be cut to {limit} tokens for the neuron view.").format(limit=limit))


def neuron_view_html(
    loaded: LoadedModel,
    neuron_model: torch.nn.Module,
    text: str,
    text_b: str | None = None,
    *,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    layer: int = 0,
    head: int = 0,
) -> NeuronView:
    """bertviz's neuron view of ``text`` (and ``text_b``, a second sentence for BERT and RoBERTa) at ``layer``/``head``.

    neuron_model: from :func:`build_neuron_model` for the same ``loaded``.
    Input over ``max_tokens`` text tokens is cut (``max_tokens // 2`` per sentence of a pair), since
    the page holds queries and keys of every layer and head: (layers, heads, tokens, head size) each.
    Raises ValueError for empty text, a pair on GPT-2, or an out-of-range layer, head or cap.
    """
    kind = loaded.facts.neuron_view
    if kind is None:
        raise ValueError(neuron_view_support(loaded))
    sentence_a = prepare_text(text).text
    sentence_b = prepare_text(text_b, what="second text").text if text_b and text_b.strip() else None
    if sentence_b is not None and kind == "gpt2":
        raise ValueError(_("bertviz's neuron view of GPT-2 shows one text only; clear the second text."))
    if not (0 <= layer < loaded.num_layers and 0 <= head < loaded.num_heads):
        raise ValueError(
            _("layer must be in 0..{last_layer} and head in 0..{last_head}, got layer {layer} and head {head}.").format(
                last_layer=loaded.num_layers - 1, last_head=loaded.num_heads - 1, layer=layer, head=head
            )
        )
    minimum = 1 if sentence_b is None else 2
    maximum = loaded.max_length - SPECIAL_TOKENS[kind][sentence_b is not None]
    if not minimum <= max_tokens <= maximum:
        raise ValueError(
            _("max_tokens must be in {minimum}..{maximum} for this model, got {value}.").format(
                minimum=minimum, maximum=maximum, value=max_tokens
            )
        )
    limit = max_tokens if sentence_b is None else max_tokens // 2
    sentence_a, shown, total = _cap(loaded.tokenizer, sentence_a, limit)
    if sentence_b is not None:
        sentence_b, shown_b, total_b = _cap(loaded.tokenizer, sentence_b, limit)
        shown, total = shown + shown_b, total + total_b
    from bertviz.neuron_view import show  # with the model classes above: only this view imports them

    with torch.inference_mode():
        shown_html = show(
            neuron_model, kind, loaded.tokenizer, sentence_a, sentence_b, layer=layer, head=head, html_action="return"
        )
    return NeuronView(make_offline(rewrite_params(shown_html.data, _PARAMS_TEMPLATE, _PARAMS_END)), shown, total)
