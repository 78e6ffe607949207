"""Options of run_squad_v1, run_squad_v2 and run_race: the original's flags (same names and
defaults) plus a few of ours. The absl flags are generated from these fields
(`albert_nb.cli.define_flags`); no TensorFlow is imported here.
"""
from __future__ import annotations

import dataclasses
import math

from albert_nb.finetuning.options import FineTuningOptions
from albert_nb.training.options import option


@dataclasses.dataclass(kw_only=True)
class SquadOptions(FineTuningOptions):
    """run_squad_v1.py's flags (v2 adds its own below)."""

    train_file: str | None = option(None, "SQuAD JSON for training, e.g. train-v1.1.json.")
    predict_file: str | None = option(None, "SQuAD JSON to predict, e.g. dev-v1.1.json; with gold "
                                            "answers it is also evaluated (and selects the best "
                                            "checkpoint).")
    train_feature_file: str | None = option(None, "TFRecord cache of the training features "
                                                  "(default: <output_dir>/train.tf_record).")
    predict_feature_file: str | None = option(None, "TFRecord cache of the prediction features "
                                                    "(default: <output_dir>/predict.tf_record).")
    predict_feature_left_file: str | None = option(
        None, "JSON with what decoding needs per window (the original pickled it; default: "
              "<output_dir>/predict_left.json).")
    max_seq_length: int = option(384, "Tokens per window: [CLS] query [SEP] doc [SEP].")
    doc_stride: int = option(128, "Tokens between the starts of consecutive windows of a paragraph.")
    max_query_length: int = option(64, "Question pieces kept; longer questions are truncated.")
    do_predict: bool = option(False, "Whether to predict (and evaluate) --predict_file.")
    learning_rate: float = option(5e-5, "Peak learning rate (AdamW).")
    num_train_epochs: float = option(3.0, "Epochs; steps = int(#questions / batch * epochs).")
    warmup_proportion: float = option(0.1, "Fraction of the steps with linear warm-up.")
    save_checkpoints_steps: int = option(1000, "Checkpoint (and evaluate) every this many steps.")
    n_best_size: int = option(20, "Answers kept per question in nbest_predictions.json.")
    max_answer_length: int = option(30, "Longest answer, in tokens.")

    version = "v1.1"


@dataclasses.dataclass(kw_only=True)
class SquadV1Options(SquadOptions):
    use_einsum: bool = option(True, "Accepted for the original's commands; the Keras layers pick "
                                    "their own kernels (TFLite conversion works either way).")
    export_dir: str | None = option(None, "Export the best model here: a SavedModel with a serving "
                                          "signature and albert_model.tflite.")


@dataclasses.dataclass(kw_only=True)
class SquadV2Options(SquadOptions):
    start_n_top: int = option(5, "Beam size over answer starts.")
    end_n_top: int = option(5, "Beam size over answer ends, per start.")
    dropout_prob: float = option(0.1, "Dropout of the answerability classifier.")
    # Ours.
    null_score_diff_threshold: float = option(
        math.nan, "No-answer threshold for --predict_file; NaN (default) tunes it on --predict_file "
                  "itself for best F1, as the original (on dev). Pass the dev-tuned value to score "
                  "a held-out file.")

    version = "v2.0"


@dataclasses.dataclass(kw_only=True)
class RaceOptions(FineTuningOptions):
    """run_race.py's flags."""

    data_dir: str = option(help="Folder holding RACE/{train,dev,test}/{middle,high}/.")
    task_name: str = option("race", "Task name (the original's only one is race).")
    train_file: str | None = option(None, "TFRecord cache of the training features "
                                          "(default: <output_dir>/train.tf_record; built if missing).")
    eval_file: str | None = option(None, "TFRecord cache of the dev features (default: "
                                         "<output_dir>/eval.tf_record).")
    predict_file: str | None = option(None, "TFRecord cache of the test features (default: "
                                            "<output_dir>/predict.tf_record).")
    dropout_prob: float = option(0.1, "Dropout on the pooled output before the option score.")
    max_seq_length: int = option(512, "Tokens per option: [CLS] article [SEP] question+option [SEP].")
    max_qa_length: int = option(128, "Question+option pieces kept (the last ones).")
    num_keep_checkpoint: int = option(5, "Accepted for the original's commands (it was unused); "
                                         "retention is --keep_checkpoint_max.")
    high_only: bool = option(False, "Use only the high-school part.")
    middle_only: bool = option(False, "Use only the middle-school part.")
    do_train: bool = option(True, "Whether to train.")
    do_eval: bool = option(True, "Whether to evaluate every checkpoint on dev.")
    do_predict: bool = option(False, "Whether to evaluate the best checkpoint on test.")
    eval_batch_size: int = option(8, "Evaluation batch size.")
    learning_rate: float = option(1e-5, "Peak learning rate (AdamW).")
    train_step: int = option(12000, "Total training steps.")
    warmup_step: int = option(1000, "Linear warm-up steps.")
    save_checkpoints_steps: int = option(100, "Checkpoint (and evaluate) every this many steps.")
