"""Options of `create_pretraining_data` and `run_pretraining`: the original's flags (same names
and defaults) plus a few of ours. Both CLIs generate their flags from these dataclasses.
"""
from __future__ import annotations

import dataclasses

from albert_nb.training.options import TrainingOptions, option

OPTIMIZERS = ("adamw", "lamb")


@dataclasses.dataclass(kw_only=True)
class PretrainingOptions(TrainingOptions):
    """The original run_pretraining flags (same names and defaults) plus a few of ours."""

    input_file: str = option(help="Input TFRecord file(s): comma list and/or globs.")
    output_dir: str = option(help="Where checkpoints and eval results are written.")
    albert_config_file: str = option(help="albert_config.json of the model to train.")
    init_checkpoint: str | None = option(None, "Initial checkpoint (ours or Google's TF1): a "
                                               "prefix, a folder or a release name (albert_base_v2, "
                                               "downloaded into the cache once).")
    max_seq_length: int = option(512, "Sequence length of the TFRecords.")
    max_predictions_per_seq: int = option(20, "Masked LM slots per sequence in the TFRecords.")
    do_train: bool = option(True, "Whether to train.")
    do_eval: bool = option(False, "Whether to evaluate.")
    train_batch_size: int = option(4096, "Training batch size.")
    eval_batch_size: int = option(64, "Evaluation batch size.")
    optimizer: str = option("lamb", "Optimizer.", enum=OPTIMIZERS)
    learning_rate: float = option(0.00176, "Peak learning rate.")
    poly_power: float = option(1.0, "Power of the polynomial decay.")
    num_train_steps: int = option(125000, "Training steps.")
    num_warmup_steps: int = option(3125, "Warm-up steps.")
    start_warmup_step: int = option(0, "Step at which the warm-up starts.")
    save_checkpoints_steps: int = option(5000, "Checkpoint every this many steps.")
    max_eval_steps: int = option(100, "Maximum eval batches.")
    init_from_group0: bool = option(False, "Initialise every group's blocks from group 0 of the "
                                           "init checkpoint.")
    masked_lm_budget: float = option(0.0, "The original's ratio of masked n-grams for online "
                                           "masking; only 0 is supported (it never ran there).")
    # Ours.
    eval_input_file: str | None = option(None, "Held-out TFRecords for --do_eval (default: "
                                               "--input_file, as the original).")
    deterministic: bool = option(False, "Deterministic ops (bit-identical reruns; slower on GPU).")


@dataclasses.dataclass(kw_only=True)
class CreateDataOptions:
    """The original create_pretraining_data flags (same names and defaults)."""

    input_file: str = option(help="Input raw text file(s): comma list and/or globs.")
    output_file: str = option(help="Output TFRecord file(s), comma-separated.")
    vocab_file: str | None = option(None, "WordPiece vocab (ignored with --spm_model_file).")
    spm_model_file: str | None = option(None, "SentencePiece model (e.g. 30k-clean.model).")
    input_file_mode: str = option("r", "How input is read, as the original: 'r' text (bad UTF-8 is an "
                                       "error naming line and byte), 'rb' bytes decoded as UTF-8 "
                                       "with undecodable bytes dropped.")
    do_lower_case: bool = option(True, "Lower-case the input (uncased models).")
    do_whole_word_mask: bool = option(True, "Mask whole words, not single pieces.")
    do_permutation: bool = option(False, "Also permute a second n-gram set.")
    favor_shorter_ngram: bool = option(True, "p(n) proportional to 1/n (else reversed).")
    random_next_sentence: bool = option(False, "BERT NSP (random B) instead of SOP.")
    max_seq_length: int = option(512, "Maximum sequence length.")
    ngram: int = option(3, "Maximum n-gram length to mask.")
    max_predictions_per_seq: int = option(20, "Maximum masked LM predictions per sequence.")
    random_seed: int = option(12345, "Seed for all random choices.")
    dupe_factor: int = option(40, "Passes over the input, each with different masks.")
    masked_lm_prob: float = option(0.15, "Masked LM probability.")
    short_seq_prob: float = option(0.1, "Probability of a shorter-than-maximum target length.")
    # Ours.
    drop_single_sentence_chunks: bool = option(
        False, "A chunk of one sentence makes no instance (the original pairs it with a random "
               "document's text, label 1); every label 1 is then a true swap.")
    word_segmenter: str | None = option(None, "WordPiece only: 'jieba' masks whole Chinese words "
                                              "(albert_zh's option); unset: the original's "
                                              "character-level masking.")

    def instance_kwargs(self) -> dict:
        """The keyword arguments of `pretraining.create.run` (everything but files and tokenizer)."""
        skip = {"input_file", "output_file", "vocab_file", "spm_model_file", "input_file_mode",
                "do_lower_case", "word_segmenter"}
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in skip}
