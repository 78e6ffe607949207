"""The ALBERT paper's claims, retrained at tiny scale (notebook 09).

Every variant is the tiny model's recipe (`albert_nb.pretraining.tiny`) with one thing
changed, trained for the same number of steps on the same records, and scored on the same
held-out documents by `albert_nb.pretraining.evaluation`:

* **SOP vs NSP** (the paper's Table 5): pretrain once with sentence-order pairs, once with
  BERT's next-sentence pairs (B from a random document), and evaluate each on both tasks: the
  swapped-pair probe (order only) and the random-document probe (topic change only).
* **Cross-layer sharing, trained** (Table 4): all-shared, shared-attention, shared-FFN and
  not-shared at E = H, masked-LM accuracy against parameters.
* **The embedding size E** (Table 3): all-shared models with E from small to H.
* **Embedding transitions** (Figure 1): `transitions.layer_transitions` of the all-shared
  (ALBERT) and the not-shared (BERT-style) model.

The paper trains for 125k steps at batch 4096; here each model gets 100 steps of batch 32, so the
question is only whether the direction of each claim already shows. Numbers carry their
standard errors over held-out positions/pairs (one seed each: that is evaluation noise only).
Runs are saved under `$ALBERT_NB_HOME/paper_claims_v<FORMAT_VERSION>[_smoke]/` and reused when
complete; the version is in the name so a run of an older recipe is never reused for this one.
"""
from __future__ import annotations

import math
from pathlib import Path

from albert_nb.errors import InputError
from albert_nb.interop import checkpoints
from albert_nb.model import params
from albert_nb.model.config import AlbertConfig
from albert_nb.paths import artifact_dir
from albert_nb.pretraining import tiny

# Steps and batch of every variant: seven pretrainings in notebook 09's share of the walkthrough
# (measured alone on 2 cores: 36 s a variant at 150 steps, 1,500 report examples and 20 eval
# batches; 23 s at 100, 1,000 and 8, with SOP-trained vs NSP-trained swapped-pair AUC 0.61 vs
# 0.41, as clear as at 150 steps: 0.65 vs 0.37). Notebook 09's STEPS parameter sets another count:
# at 300 (28 s a variant) masked LM leaves the unigram plateau and the E sweep shows.
STEPS = {False: 100, True: 6}
BATCH = {False: 32, True: 16}
# Held-out records scored per file and model (evenly spaced): the forward passes of the full
# probes cost about as much as the training of a variant.
REPORT_EXAMPLES = {False: 1000, True: None}
# 3: float32 on every CPU (2: 100 steps, 1,000 report examples, 8 eval batches, bf16 where the
# CPU has it; 1: 150, 1,500 and 20).
FORMAT_VERSION = 3


def steps_of(smoke: bool = False, steps: int | None = None) -> int:
    """The pretraining steps of every variant: `steps`, or the default `STEPS` of the mode."""
    if steps is not None and (isinstance(steps, bool) or not isinstance(steps, int) or steps < 1):
        raise InputError(f"STEPS={steps!r}: expected a whole number of pretraining steps >= 1")
    return STEPS[smoke] if steps is None else steps


def base_recipe(smoke: bool = False, steps: int | None = None) -> dict:
    """The tiny recipe at E = H, with the claims' step count and one checkpoint per run."""
    s = tiny.settings(smoke)
    steps = steps_of(smoke, steps)
    model = {**s["model"], "embedding_size": s["model"]["hidden_size"]}
    # dupe_factor only shapes the NSP variant's own records (the SOP variants train on notebook
    # 03's): one cut of the text already holds more pairs than `steps` batches draw.
    return {**s, "model": model, "dupe_factor": 1,
            "num_train_steps": steps, "num_warmup_steps": max(1, steps // 10),
            "train_batch_size": BATCH[smoke], "save_checkpoints_steps": steps,
            "log_every_steps": max(1, steps // 6), "max_eval_steps": 8,
            "max_report_examples": REPORT_EXAMPLES[smoke]}


def variants(smoke: bool = False, steps: int | None = None) -> dict:
    """name -> recipe of every model the claims need (the all-shared SOP model serves three)."""
    base = base_recipe(smoke, steps)
    m = base["model"]
    layers = m["num_hidden_layers"]

    def with_model(**changes):
        return {**base, "model": {**m, **changes}}

    out = {"all-shared": base,
           "NSP": {**base, "objective": "nsp"},
           "shared-attention": with_model(num_hidden_groups=layers, shared_sublayer="attention"),
           "shared-FFN": with_model(num_hidden_groups=layers, shared_sublayer="ffn"),
           "not-shared": with_model(num_hidden_groups=layers)}
    for e in embedding_sizes(smoke)[:-1]:   # the last one is H: the all-shared model itself
        out[f"E={e}"] = with_model(embedding_size=e)
    return out


def embedding_sizes(smoke: bool = False) -> list[int]:
    h = tiny.settings(smoke)["model"]["hidden_size"]
    return [h // 2, h] if smoke else [h // 8, h // 2, h]


def directory(smoke: bool = False, steps: int | None = None) -> Path:
    """Where the runs are kept; another step count gets its own folder (a finished run is reused)."""
    other = "" if steps_of(smoke, steps) == STEPS[smoke] else f"_{steps_of(smoke, steps)}steps"
    return artifact_dir(f"paper_claims_v{FORMAT_VERSION}{other}" + ("_smoke" if smoke else ""))


def run_all(smoke: bool = False, show=print, steps: int | None = None) -> dict:
    """Train (or reuse) every variant; returns {name: summary} (see `tiny.finish`)."""
    sop_data = tiny.prepare_data(tiny.artifact_directory(smoke), smoke)
    root = directory(smoke, steps)
    recipes = variants(smoke, steps)
    nsp_data = tiny.prepare_data(root / "data_nsp", recipe=recipes["NSP"], like=sop_data)
    results = {}
    for name, recipe in recipes.items():
        data = nsp_data if recipe.get("objective") == "nsp" else sop_data
        run_dir = root / name.replace("=", "")
        results[name] = {**tiny.build(run_dir, recipe, smoke=smoke, data=data),
                         "directory": str(run_dir)}
        if show is not None:
            show(f"{name:17s} {one_line(results[name])}")
    return results


def one_line(summary: dict) -> str:
    e = summary["evaluation"]
    return (f"MLM acc {e['mlm']['accuracy']:.3f} (non-trivial {e['mlm']['nontrivial_accuracy']:.3f}), "
            f"swapped-pair AUC {e['sop_swapped']['roc_auc']:.3f}, "
            f"random-document AUC {e['nsp_random']['roc_auc']:.3f}")


def binomial_se(p: float, n: int) -> float:
    return math.sqrt(max(p * (1 - p), 0.0) / max(n, 1))


def parameter_count(recipe: dict, vocab_size: int) -> int:
    """Encoder + pooler parameters (the paper's tables' count), exact from the config."""
    config = AlbertConfig(vocab_size=vocab_size, max_position_embeddings=recipe["max_seq_length"],
                          **recipe["model"])
    return params.count_parameters(config)["total"]


def mlm_rows(results: dict, names, vocab_size: int, smoke: bool = False) -> list[dict]:
    """Rows {name, parameters, accuracy, se, nontrivial...} for the sharing and E charts."""
    recipes = variants(smoke)   # shapes only: the counts do not depend on the steps
    rows = []
    for name in names:
        mlm = results[name]["evaluation"]["mlm"]
        rows.append({"name": name, "parameters": parameter_count(recipes[name], vocab_size),
                     "embedding_size": recipes[name]["model"]["embedding_size"],
                     "accuracy": mlm["accuracy"],
                     "se": binomial_se(mlm["accuracy"], mlm["num_positions"]),
                     "nontrivial_accuracy": mlm["nontrivial_accuracy"],
                     "nontrivial_se": binomial_se(mlm["nontrivial_accuracy"],
                                                  mlm["num_nontrivial_positions"])})
    return rows


def verdict(difference: float, se: float, direction: str) -> str:
    """"shown" when `difference` (the paper's direction taken as positive) exceeds two standard
    errors, else says plainly that this scale does not show it (or shows the opposite)."""
    if difference > 2 * se:
        return f"shown ({direction}: {difference:+.3f} ± {se:.3f})"
    if difference < -2 * se:
        return f"the opposite at this scale ({direction}: {difference:+.3f} ± {se:.3f})"
    return f"not shown at this scale ({direction}: {difference:+.3f} ± {se:.3f}, within 2 s.e.)"


def difference_se(*ses: float) -> float:
    """Standard error of a difference of independent estimates."""
    return math.sqrt(sum(se * se for se in ses))


def sop_nsp_table(results: dict) -> dict:
    """{trained with: {evaluated on: (AUC, s.e.)}} for the Table 5 chart."""
    out = {}
    for trained, name in (("SOP", "all-shared"), ("NSP", "NSP")):
        e = results[name]["evaluation"]
        out[trained] = {"SOP task (swapped pairs)": (e["sop_swapped"]["roc_auc"],
                                                     e["sop_swapped"]["roc_auc_se"]),
                        "NSP task (random-document pairs)": (e["nsp_random"]["roc_auc"],
                                                             e["nsp_random"]["roc_auc_se"])}
    return out


def load_encoder(run_directory):
    """The `AlbertModel` of a finished run (its best checkpoint, float32)."""
    return checkpoints.load_pretrained(run_directory, head="encoder").model
